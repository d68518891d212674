/* fixtures/poly_eval.wat in C: Horner in f32 and f64, a coefficient table with a run-time
 * degree, Clenshaw Chebyshev series (exp in f64, sin(pi t) in f32), range-reduced sin (f32,
 * rintf) and cos/exp (f64, rint, 2^k from the exponent bits), a sine table and the largest
 * f32-vs-f64 error over an interval. */
#include "bench.h"

static const double cheb_exp_c[12] = {
    0x1.441ce4b386c2fp+1, 0x1.215c88b95e68p+0, 0x1.1602dfd142d77p-2, 0x1.6b351d03720eep-5,
    0x1.66c283ab52d92p-8, 0x1.1ca65607cc61p-11, 0x1.794c10c986cp-15, 0x1.ad4970a618p-19,
    0x1.abce382bbp-23, 0x1.7b387803p-27, 0x1.2eb09a6p-31, 0x1.b7729ap-36,
};
static const float sinpi_c[12] = {
    0, 0x1.237234p-1f, 0, -0x1.55761ap-1f, 0, 0x1.ab23fep-4f, 0, -0x1.c04ecap-8f, 0, 0x1.0626b6p-12f,
    0, -0x1.889a8p-18f,
};
static const double ln_table[16] = {
    0x1p+0, -0x1p-1, 0x1.5555555555555p-2, -0x1p-2, 0x1.999999999999ap-3, -0x1.5555555555555p-3,
    0x1.2492492492492p-3, -0x1p-3, 0x1.c71c71c71c71cp-4, -0x1.999999999999ap-4,
    0x1.745d1745d1746p-4, -0x1.5555555555555p-4, 0x1.3b13b13b13b14p-4, -0x1.2492492492492p-4,
    0x1.1111111111111p-4, -0x1p-4,
};
static float sine[256];

static float horner_f32(float x) {
    return 1.0f + x * (1.0f + x * (0.5f + x * (0x1.555556p-3f + x * (0x1.555556p-5f + x * 0x1.111112p-7f))));
}

static double horner_f64(double x) {
    return -3.5 + x * (1e3 + x * (-0.125 + x * (0x1.8p-40 + x * (7 + x * (-1e-10 + x * (2 + x * -0x1.fffffffffffffp-2))))));
}

static double poly_table(double x, uint32_t degree) {
    if (degree > 15) degree = 15;
    double acc = ln_table[degree];
    while (degree) {
        degree--;
        acc = acc * x + ln_table[degree];
    }
    return acc;
}

static double clenshaw64(double x, int32_t terms) {
    double b1 = 0, b2 = 0;
    for (int32_t k = terms - 1; k >= 1; k--) {
        double t = ((2.0 * x) * b1 - b2) + cheb_exp_c[k];
        b2 = b1;
        b1 = t;
    }
    return (x * b1 - b2) + 0.5 * cheb_exp_c[0];
}

static float cheb_sinpi(float t) {
    float b1 = 0, b2 = 0;
    for (int32_t k = 11; k >= 1; k--) {
        float tmp = ((2.0f * t) * b1 - b2) + sinpi_c[k];
        b2 = b1;
        b1 = tmp;
    }
    return t * b1 - b2;
}

static __attribute__((noinline)) float sin32(float x) {
    float t = x * 0x1.45f306p-2f;
    t = t - 2.0f * B_RINTF(t * 0.5f);
    return cheb_sinpi(t);
}

static __attribute__((noinline)) double cos64(double x) {
    double k = B_RINT(x * 0x1.45f306dc9c883p-1);
    double r = (x - k * 0x1.921fb544p0) - k * 0x1.0b4611a626331p-34;
    double r2 = r * r;
    double s = r * (1 + r2 * (-0x1.5555555555555p-3 + r2 * (0x1.1111111111111p-7 +
               r2 * (-0x1.a01a01a01a01ap-13 + r2 * (0x1.71de3a556c734p-19 + r2 * -0x1.ae64567f544e4p-26)))));
    double c = 1 + r2 * (-0.5 + r2 * (0x1.5555555555555p-5 + r2 * (-0x1.6c16c16c16c17p-10 +
               r2 * (0x1.a01a01a01a01ap-16 + r2 * -0x1.27e4fb7789f5cp-22))));
    switch (sat_i32_f64(k) & 3) {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
    }
}

static __attribute__((noinline)) double exp64(double x) {
    if (x > 709.78) return __builtin_inf();
    if (x < -708) return 0;
    double k = B_RINT(x * 0x1.71547652b82fep0);
    double r = (x - k * 0x1.62e42feep-1) - k * 0x1.a39ef35793c76p-33;
    double p = 1;
    for (int32_t i = 11; i > 0; i--) p = 1 + (r * p) / (double)i;
    int32_t ki = sat_i32_f64(k);
    return (p * f64_of((uint64_t)(int64_t)((ki >> 1) + 1023) << 52)) *
           f64_of((uint64_t)(int64_t)((ki - (ki >> 1)) + 1023) << 52);
}

static uint32_t sine_table(uint32_t n) {
    uint32_t sum = 0, bad = 0;
    if (n > 256) n = 256;
    for (uint32_t i = 0; i < n; i++) {
        float x = ((float)i * 0x1.921fb6p2f) / (float)n;
        float s = sin32(x), c = sin32(x + 0x1.921fb6p0f);
        sine[i] = s;
        sum = rotl32(sum, 7) ^ (uint32_t)sat_i32_f32(B_RINTF(s * 32767.0f));
        bad += B_FABSF(1.0f - (s * s + c * c)) > 0x1p-18f;
    }
    return sum ^ (bad << 24);
}

static double max_error(double lo, double hi, uint32_t n) {
    double err = 0;
    if (n > 400) n = 400;
    for (uint32_t i = 0; i < n; i++) {
        double x = lo + ((hi - lo) * (double)i) / (double)n;
        err = maxd(err, B_FABS((double)sin32((float)x) - cos64(x - 0x1.921fb54442d18p0)));
    }
    return err;
}

uint32_t bench(uint32_t seed) {
    double one = (double)seed;
    uint32_t h = sine_table(256);
    h = rotl32(h, 3) ^ fold64(bits_f64(max_error(-10.0 * one, 10.0, 400)));
    uint64_t acc = 0;
    for (uint32_t i = 0; i < 200; i++) {
        double x = ((double)i - 100.0) * 0.01 * one;
        acc = rotl64(acc, 5) ^ bits_f64(clenshaw64(x, 12)) ^ bits_f64(poly_table(x * 0.5, 15)) ^
              bits_f64(horner_f64(x)) ^ bits_f32(horner_f32((float)x)) ^ bits_f64(exp64(x * 50.0));
    }
    return h ^ fold64(acc);
}
