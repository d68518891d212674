/* The libm subset that clang calls natively where the target has no instruction for a builtin
 * of bench.h (soft-float targets; rint/floor/ceil on FPv4-SP and RV32F): C ports of synth's
 * integer-only runtime (compiler-component/src/softfloat/runtime.wat), so the native side runs
 * the same algorithms as synth's objects. Linked on the native side only; compiled with
 * -fno-builtin so clang does not turn them back into calls of themselves. */
#include <stdint.h>

static inline uint32_t b32(float f) { union { float f; uint32_t u; } x = { .f = f }; return x.u; }
static inline float f32(uint32_t b) { union { uint32_t u; float f; } x = { .u = b }; return x.f; }
static inline uint64_t b64(double f) { union { double f; uint64_t u; } x = { .f = f }; return x.u; }
static inline double f64(uint64_t b) { union { uint64_t u; double f; } x = { .u = b }; return x.f; }

float sqrtf(float f) {
    uint32_t x = b32(f);
    if (x >= 0x7f800000u) {
        if ((x & 0x7fffffffu) > 0x7f800000u) return f32(x | 0x00400000u);
        return f32((x == 0x7f800000u || x == 0x80000000u) ? x : 0x7fc00000u);
    }
    if (x == 0) return f;
    int32_t e = (int32_t)(x >> 23);
    uint32_t m = x & 0x007fffffu;
    if (e == 0) {
        int sh = __builtin_clz(m) - 8;
        m <<= sh;
        e = 1 - sh;
    } else {
        m |= 0x00800000u;
    }
    e -= 127;
    m <<= 1 + (e & 1);
    e >>= 1;
    uint32_t s = 0, r = 0x01000000u;
    do {
        uint32_t t = s + r;
        uint32_t mask = 0u - (uint32_t)(t <= m);
        s += mask & (r << 1);
        m -= mask & t;
        m <<= 1;
        r >>= 1;
    } while (r);
    s >>= 1;
    return f32((s >> 1) + (s & 1) + 0x3f000000u + ((uint32_t)e << 23));
}

double sqrt(double f) {
    uint64_t x = b64(f);
    if (x >= 0x7ff0000000000000ull) {
        if ((x & 0x7fffffffffffffffull) > 0x7ff0000000000000ull) return f64(x | 0x0008000000000000ull);
        return f64((x == 0x7ff0000000000000ull || x == 0x8000000000000000ull) ? x : 0x7ff8000000000000ull);
    }
    if (x == 0) return f;
    int64_t e = (int64_t)(x >> 52);
    uint64_t m = x & 0x000fffffffffffffull;
    if (e == 0) {
        int sh = __builtin_clzll(m) - 11;
        m <<= sh;
        e = 1 - sh;
    } else {
        m |= 0x0010000000000000ull;
    }
    e -= 1023;
    m <<= 1 + (e & 1);
    e >>= 1;
    uint64_t s = 0, r = 0x0020000000000000ull;
    do {
        uint64_t t = s + r;
        uint64_t mask = 0ull - (uint64_t)(t <= m);
        s += mask & (r << 1);
        m -= mask & t;
        m <<= 1;
        r >>= 1;
    } while (r);
    s >>= 1;
    return f64((s >> 1) + (s & 1) + 0x3fe0000000000000ull + ((uint64_t)e << 52));
}

static inline uint32_t nan_bit32(uint32_t x) { return (uint32_t)((x & 0x7fffffffu) > 0x7f800000u) << 22; }
static inline uint64_t nan_bit64(uint64_t x) { return (uint64_t)((x & 0x7fffffffffffffffull) > 0x7ff0000000000000ull) << 51; }

float rintf(float f) {
    uint32_t x = b32(f);
    int32_t s = (int32_t)((x >> 23) & 0xff) - 127;
    uint32_t m = (uint32_t)s < 23 ? 0x007fffffu >> s : 0;
    uint32_t r = s < 0 ? (x & 0x80000000u) | ((x & 0x7fffffffu) > 0x3f000000u ? 0x3f800000u : 0)
                       : (x + (m >> 1) + ((x & (m + 1) & (m << 1)) != 0)) & ~m;
    return f32(r | nan_bit32(x));
}
float nearbyintf(float f) { return rintf(f); }

float floorf(float f) {
    uint32_t x = b32(f);
    int32_t s = (int32_t)((x >> 23) & 0xff) - 127;
    uint32_t m = (uint32_t)s < 23 ? 0x007fffffu >> s : 0;
    uint32_t r = s < 0 ? (x > 0x80000000u ? 0xbf800000u : (x & 0x80000000u))
                       : (x + (m & (uint32_t)((int32_t)x >> 31))) & ~m;
    return f32(r | nan_bit32(x));
}

float ceilf(float f) {
    uint32_t x = b32(f);
    int32_t s = (int32_t)((x >> 23) & 0xff) - 127;
    uint32_t m = (uint32_t)s < 23 ? 0x007fffffu >> s : 0;
    uint32_t r = s < 0 ? ((int32_t)x > 0 ? 0x3f800000u : (x & 0x80000000u))
                       : (x + (m & ((x >> 31) - 1))) & ~m;
    return f32(r | nan_bit32(x));
}

double rint(double f) {
    uint64_t x = b64(f);
    int64_t s = (int64_t)((x >> 52) & 0x7ff) - 1023;
    uint64_t m = (uint64_t)s < 52 ? 0x000fffffffffffffull >> s : 0;
    uint64_t r = s < 0 ? (x & 0x8000000000000000ull) |
                             ((x & 0x7fffffffffffffffull) > 0x3fe0000000000000ull ? 0x3ff0000000000000ull : 0)
                       : (x + (m >> 1) + (uint64_t)((x & (m + 1) & (m << 1)) != 0)) & ~m;
    return f64(r | nan_bit64(x));
}
double nearbyint(double f) { return rint(f); }

double floor(double f) {
    uint64_t x = b64(f);
    int64_t s = (int64_t)((x >> 52) & 0x7ff) - 1023;
    uint64_t m = (uint64_t)s < 52 ? 0x000fffffffffffffull >> s : 0;
    uint64_t r = s < 0 ? (x > 0x8000000000000000ull ? 0xbff0000000000000ull : (x & 0x8000000000000000ull))
                       : (x + (m & (uint64_t)((int64_t)x >> 63))) & ~m;
    return f64(r | nan_bit64(x));
}

double ceil(double f) {
    uint64_t x = b64(f);
    int64_t s = (int64_t)((x >> 52) & 0x7ff) - 1023;
    uint64_t m = (uint64_t)s < 52 ? 0x000fffffffffffffull >> s : 0;
    uint64_t r = s < 0 ? ((int64_t)x > 0 ? 0x3ff0000000000000ull : (x & 0x8000000000000000ull))
                       : (x + (m & ((x >> 63) - 1))) & ~m;
    return f64(r | nan_bit64(x));
}
