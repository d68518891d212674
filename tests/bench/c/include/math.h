/* Freestanding stand-in for <math.h> (tests/bench/c). sqrt and fabs are the compiler builtins:
 * wasm instructions on the synth side; natively an FPU instruction where the core has one,
 * otherwise a call of tests/bench/float/libm.c (C ports of synth's own runtime, native side
 * only). exp and pow are C in bench_shim.c, compiled by both sides. */
#ifndef BENCH_MATH_H
#define BENCH_MATH_H
#define sqrt(x) __builtin_sqrt(x)
#define sqrtf(x) __builtin_sqrtf(x)
#define fabs(x) __builtin_fabs(x)
#define fabsf(x) __builtin_fabsf(x)
double exp(double x);
double pow(double x, double y);
float expf(float x);
float powf(float x, float y);
#define HUGE_VAL __builtin_huge_val()
#endif
