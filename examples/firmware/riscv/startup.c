/* RV32 start-up: .data/.bss set-up, main, semihosting exit. */
#include <stdint.h>

#include "board.h"

int main(void);

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];

/* Semihosting SYS_EXIT: QEMU (with -semihosting) exits 0 for ApplicationExit, 1 otherwise.
 * The trap sequence must be exactly these three uncompressed instructions. */
void board_exit(int status)
{
    register uint32_t op __asm__("a0") = 0x18;
    register uint32_t reason __asm__("a1") = status == 0 ? 0x20026 : 0x20023;
    for (;;) {
        __asm__ volatile(".option push\n\t.option norvc\n\t.balign 16\n\t"
                         "slli zero, zero, 0x1f\n\tebreak\n\tsrai zero, zero, 7\n\t"
                         ".option pop"
                         : : "r"(op), "r"(reason) : "memory");
    }
}

void c_start(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    board_exit(main());
}
