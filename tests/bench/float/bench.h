/* Shared helpers of the float benchmark programs (tests/bench/float). Freestanding: no libc.
 *
 * Every program defines `uint32_t bench(uint32_t seed)`, called by the driver with seed = 1
 * read from a volatile, so nothing folds at compile time; it returns a checksum of everything
 * it computed. The same C is compiled to wasm32 (then by synth) and natively by clang.
 *
 * sqrt and rounding are the compiler builtins: on wasm32 they are f32.sqrt / f64.sqrt /
 * f32.nearest / f64.floor ..., natively an FPU instruction where the target has one and
 * otherwise a call of `sqrtf`, `rint`, ... which libm.c provides (native side only) as C ports
 * of synth's own integer-only runtime (compiler-component/src/softfloat/runtime.wat), so both
 * sides run the same algorithm where no FPU instruction exists. */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

#define B_SQRTF(x) __builtin_sqrtf(x)
#define B_SQRT(x) __builtin_sqrt(x)
#define B_RINTF(x) __builtin_rintf(x)
#define B_RINT(x) __builtin_rint(x)
#define B_FLOORF(x) __builtin_floorf(x)
#define B_FLOOR(x) __builtin_floor(x)
#define B_CEIL(x) __builtin_ceil(x)
#define B_FABSF(x) __builtin_fabsf(x)
#define B_FABS(x) __builtin_fabs(x)

uint32_t bench(uint32_t seed);

static inline uint32_t bits_f32(float f) {
    union { float f; uint32_t u; } x = { .f = f };
    return x.u;
}
static inline uint64_t bits_f64(double f) {
    union { double f; uint64_t u; } x = { .f = f };
    return x.u;
}
static inline float f32_of(uint32_t b) {
    union { uint32_t u; float f; } x = { .u = b };
    return x.f;
}
static inline double f64_of(uint64_t b) {
    union { uint64_t u; double f; } x = { .u = b };
    return x.f;
}
static inline uint32_t rotl32(uint32_t x, unsigned k) {
    return (x << (k & 31)) | (x >> ((32 - k) & 31));
}
static inline uint64_t rotl64(uint64_t x, unsigned k) {
    return (x << (k & 63)) | (x >> ((64 - k) & 63));
}
static inline uint32_t fold64(uint64_t x) { return (uint32_t)x ^ (uint32_t)(x >> 32); }

/* Saturating float -> int conversions (wasm trunc_sat semantics, NaN -> 0), written in C. */
static inline int32_t sat_i32_f32(float x) {
    if (!(x == x)) return 0;
    if (x >= 2147483648.0f) return INT32_MAX;
    if (x < -2147483648.0f) return INT32_MIN;
    return (int32_t)x;
}
static inline uint32_t sat_u32_f32(float x) {
    if (!(x > -1.0f)) return 0;
    if (x >= 4294967296.0f) return UINT32_MAX;
    return (uint32_t)x;
}
static inline int32_t sat_i32_f64(double x) {
    if (!(x == x)) return 0;
    if (x >= 2147483648.0) return INT32_MAX;
    if (x <= -2147483649.0) return INT32_MIN;
    return (int32_t)x;
}
static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }
static inline double mind(double a, double b) { return a < b ? a : b; }
static inline double maxd(double a, double b) { return a > b ? a : b; }

#endif
