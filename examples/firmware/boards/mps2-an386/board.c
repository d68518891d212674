/* Arm MPS2 with the AN386 image (Cortex-M4 with FPU): UART0, a CMSDK APB UART. */
#include <stdint.h>

#include "board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define UART0 0x40004000u
#define UART_DATA REG(UART0 + 0x00)
#define UART_STATE REG(UART0 + 0x04)
#define UART_CTRL REG(UART0 + 0x08)
#define UART_BAUDDIV REG(UART0 + 0x10)
#define UART_STATE_TX_FULL 1u
#define UART_CTRL_TX_EN 1u

void uart_init(void)
{
    UART_BAUDDIV = 217;          /* 115200 baud from the 25 MHz peripheral clock */
    UART_CTRL = UART_CTRL_TX_EN;
}

void uart_putc(char c)
{
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)c;
}
