/* fixtures/newton_sqrt.wat in C: Newton square roots in f64 and f32 against sqrt/sqrtf, the
 * fast inverse square root with Newton refinement, cube roots and f32 bisection. */
#include "bench.h"

struct root64 { double y; uint32_t n; };
struct root32 { float y; uint32_t n; };

static __attribute__((noinline)) struct root64 newton64(double x) {
    struct root64 r = { x, 0 };
    if (x < 0) { r.y = __builtin_nan(""); return r; }
    if (x == 0) return r;
    double y = maxd(x, 1.0);
    uint32_t n = 0;
    while (n < 1100) {
        double next = (y + x / y) * 0.5;
        n++;
        if (!(next < y)) break;
        y = next;
    }
    r.y = y;
    r.n = n;
    return r;
}

static __attribute__((noinline)) struct root32 newton32(float x) {
    struct root32 r = { x, 0 };
    if (x < 0) { r.y = __builtin_nanf(""); return r; }
    if (x == 0) return r;
    float y = maxf(x, 1.0f);
    uint32_t n = 0;
    while (n < 200) {
        float next = (y + x / y) * 0.5f;
        n++;
        if (next >= y) break;
        y = next;
    }
    r.y = y;
    r.n = n;
    return r;
}

static float rsqrt(float x, uint32_t steps) {
    float half = x * 0.5f;
    float y = f32_of(0x5f3759dfu - (bits_f32(x) >> 1));
    for (steps &= 3; steps; steps--) y = y * (1.5f - half * (y * y));
    return y;
}

static uint64_t sweep(uint32_t n) {
    uint32_t mismatch = 0, total = 0;
    double sum = 0;
    if (n > 1000) n = 1000;
    for (uint32_t i = 1; i <= n; i++) {
        double x = (double)i;
        struct root64 r = newton64(x);
        total += r.n;
        mismatch += r.y != B_SQRT(x);
        sum += r.y;
    }
    return bits_f64(sum) ^ ((uint64_t)mismatch << 32) ^ total;
}

static uint32_t sweep32(uint32_t n, float one) {
    uint32_t h = 0;
    for (uint32_t i = 1; i <= n; i++) {
        float x = (float)i * 0.37f * one;
        struct root32 r = newton32(x);
        h = rotl32(h, 5) ^ (bits_f32(r.y) - bits_f32(B_SQRTF(x))) ^ r.n ^ bits_f32(rsqrt(x, 2));
    }
    return h;
}

static uint64_t cbrt_sum(uint32_t n, double one) {
    uint64_t h = 0;
    for (uint32_t i = 1; i <= n; i++) {
        double x = ((double)i - 20.5) * 3.75 * one, y = 1, step;
        uint32_t k = 0;
        do {
            step = (y * (y * y) - x) / (3.0 * (y * y));
            y = y - step;
            k++;
        } while (k < 200 && B_FABS(step) > B_FABS(y) * 1e-15);
        h = rotl64(h, 3) ^ bits_f64(y) ^ k;
    }
    return h;
}

static uint32_t bisect(float x, float lo, float hi) {
    uint32_t n = 0;
    while (n < 100) {
        float mid = (lo + hi) * 0.5f;
        if (!(mid > lo && mid < hi)) break;
        n++;
        if (mid * mid <= x) lo = mid;
        else hi = mid;
    }
    return bits_f32(lo) ^ rotl32(bits_f32(hi), 13) ^ n;
}

uint32_t bench(uint32_t seed) {
    float one = (float)seed;
    uint64_t h = sweep(1000);
    h = rotl64(h, 5) ^ sweep32(400, one);
    h = rotl64(h, 5) ^ cbrt_sum(40, (double)one);
    for (uint32_t i = 1; i <= 32; i++) h = rotl64(h, 5) ^ bisect((float)i * one, 0, 100);
    return fold64(h);
}
