/* Calls the synth-compiled module (app.wat) and prints every call and its result on the
 * board's UART, one line each: `name(arg, ...) = result`. Integers print in decimal, floats as
 * their IEEE bits (`f32:0x...`, `f64:0x...`) so the output compares exactly with wasmtime.
 * The last call divides by zero on purpose: the module traps and synth_trap reports it. */
#include <stdint.h>

#include "app.h"
#include "board.h"

static void put_str(const char *s)
{
    while (*s) {
        uart_putc(*s++);
    }
}

static void put_u64(uint64_t v)
{
    char digits[21];
    int i = 20;
    digits[i] = 0;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_str(&digits[i]);
}

static void put_i64(int64_t v)
{
    if (v < 0) {
        uart_putc('-');
        put_u64(-(uint64_t)v);
    } else {
        put_u64((uint64_t)v);
    }
}

static void put_hex(uint64_t v, int digits)
{
    while (digits--) {
        uart_putc("0123456789abcdef"[(v >> (4 * digits)) & 15]);
    }
}

static void put_f32(float f)
{
    union { float f; uint32_t bits; } u;
    u.f = f;
    put_str("f32:0x");
    put_hex(u.bits, 8);
}

static void put_f64(double d)
{
    union { double d; uint64_t bits; } u;
    u.d = d;
    put_str("f64:0x");
    put_hex(u.bits, 16);
}

/* One line: the call as text, then its result. The module's namespace is `app` (from app.wat),
 * so its export `fib` is the C function `app_fib` (docs/ABI.md, "Symbols"). */
static int first_arg;
static void call(const char *name) { put_str(name); uart_putc('('); first_arg = 1; }
static void sep(void) { if (!first_arg) put_str(", "); first_arg = 0; }
static void arg_int(int64_t v) { sep(); put_i64(v); }
static void arg_f32(float v) { sep(); put_f32(v); }
static void arg_f64(double v) { sep(); put_f64(v); }
static void equals(void) { put_str(") = "); }
static void result_int(int64_t v) { put_i64(v); uart_putc('\n'); }
static void result_f32(float v) { put_f32(v); uart_putc('\n'); }
static void result_f64(double v) { put_f64(v); uart_putc('\n'); }

#define INT1(f, a) (call(#f), arg_int(a), equals(), result_int(app_##f(a)))
#define INT2(f, a, b) (call(#f), arg_int(a), arg_int(b), equals(), result_int(app_##f(a, b)))
#define F32_1(f, a) (call(#f), arg_f32(a), equals(), result_int(app_##f(a)))
#define F32_2(f, a, b) (call(#f), arg_f32(a), arg_f32(b), equals(), result_f32(app_##f(a, b)))
#define F32_3(f, a, b, c) \
    (call(#f), arg_f32(a), arg_f32(b), arg_f32(c), equals(), result_f32(app_##f(a, b, c)))
#define F64_2(f, a, b) (call(#f), arg_f64(a), arg_f64(b), equals(), result_f64(app_##f(a, b)))

/* The stack the module may use: checked in every prologue that calls (docs/ABI.md). */
extern char __stack_bottom[];
uintptr_t __synth_stack_limit = (uintptr_t)&__stack_bottom[256];

void synth_trap(uint32_t code)
{
    put_str("trap ");
    put_u64(code);
    put_str("\ndone\n");
    board_exit(0);
}

int main(void)
{
    uart_init();
    put_str("synth firmware on " BOARD_NAME " (" APP_TARGET ")\n");
    app_init();
    INT1(fib, 10);
    INT1(fib, 47);
    INT2(gcd, 1071, 462);
    INT2(gcd, -6, 4);
    INT1(isqrt, 1000000);
    INT1(isqrt, -1);
    INT2(fnv1a64, 0, 0);
    INT2(fnv1a64, -2, 3);
    F32_3(lerp, 1.0f, 3.0f, 0.25f);
    F32_3(lerp, -0.0f, 1e30f, 1e10f);
    F32_2(hypot, 3.0f, 4.0f);
    F32_2(hypot, 1e-30f, 1e-30f);
    F32_1(to_fixed, 1.5f);
    F32_1(to_fixed, -40000.0f);
    F64_2(mean, 1.0, 2.0);
    F64_2(mean, 1e308, 1e308);
    call("calls"), equals(), result_int(app_calls());
    INT2(safe_div, -7, 2);
    INT2(safe_div, 1, 0);
    put_str("the division by zero returned\n");
    board_exit(1);
}
