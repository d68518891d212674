/* TI Stellaris LM3S6965 (Cortex-M3): UART0, a PL011, on PA0/PA1. */
#include <stdint.h>

#include "board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SYSCTL_RCGC1 REG(0x400FE104)
#define SYSCTL_RCGC2 REG(0x400FE108)
#define GPIOA_AFSEL REG(0x40004420)
#define GPIOA_DEN REG(0x4000451C)
#define UART0 0x4000C000u
#define UART_DR REG(UART0 + 0x000)
#define UART_FR REG(UART0 + 0x018)
#define UART_IBRD REG(UART0 + 0x024)
#define UART_FBRD REG(UART0 + 0x028)
#define UART_LCRH REG(UART0 + 0x02C)
#define UART_CTL REG(UART0 + 0x030)
#define UART_FR_TXFF (1u << 5)

void uart_init(void)
{
    SYSCTL_RCGC1 |= 1u;          /* UART0 clock */
    SYSCTL_RCGC2 |= 1u;          /* GPIOA clock */
    GPIOA_AFSEL |= 3u;           /* PA0/PA1 to the UART */
    GPIOA_DEN |= 3u;
    UART_CTL = 0;
    UART_IBRD = 27;              /* 115200 baud from the 50 MHz PLL clock */
    UART_FBRD = 8;
    UART_LCRH = 0x70;            /* 8N1, FIFOs on */
    UART_CTL = 0x301;            /* UARTEN, TXE, RXE */
}

void uart_putc(char c)
{
    while (UART_FR & UART_FR_TXFF) {
    }
    UART_DR = (uint8_t)c;
}
