/* SiFive E (FE310, RV32IMAC): UART0. */
#include <stdint.h>

#include "board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define UART0 0x10013000u
#define UART_TXDATA REG(UART0 + 0x00)
#define UART_TXCTRL REG(UART0 + 0x08)
#define UART_DIV REG(UART0 + 0x18)
#define UART_TXDATA_FULL (1u << 31)

void uart_init(void)
{
    UART_DIV = 138;              /* 115200 baud from the 16 MHz clock */
    UART_TXCTRL = 1u;            /* txen, one stop bit */
}

void uart_putc(char c)
{
    while (UART_TXDATA & UART_TXDATA_FULL) {
    }
    UART_TXDATA = (uint8_t)c;
}
