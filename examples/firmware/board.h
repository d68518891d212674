/* The UART comes from boards/BOARD/board.c, board_exit from the start-up code of the
 * architecture (arm/startup.c, riscv/startup.c). */
#ifndef BOARD_H
#define BOARD_H

void uart_init(void);
void uart_putc(char c);
/* Ends the program: QEMU exits with 0 for status 0, non-zero otherwise (semihosting). */
void board_exit(int status) __attribute__((noreturn));

#endif
