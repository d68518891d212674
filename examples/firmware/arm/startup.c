/* Cortex-M start-up: vector table, .data/.bss set-up, FPU enable, main, semihosting exit. */
#include <stdint.h>

#include "board.h"

int main(void);

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern char __stack_top[];

/* Semihosting SYS_EXIT: QEMU (with -semihosting) exits 0 for ApplicationExit, 1 otherwise. */
void board_exit(int status)
{
    register uint32_t op __asm__("r0") = 0x18;
    register uint32_t reason __asm__("r1") = status == 0 ? 0x20026 : 0x20023;
    for (;;) {
        __asm__ volatile("bkpt 0xab" : : "r"(op), "r"(reason) : "memory");
    }
}

void reset_handler(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11 before the first VFP instruction. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    board_exit(main());
}

static void fault_handler(void)
{
    static const char message[] = "fault\n";
    for (const char *p = message; *p; p++) {
        uart_putc(*p);
    }
    board_exit(2);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, reset_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0,
    fault_handler, fault_handler, 0, fault_handler, fault_handler,
};
