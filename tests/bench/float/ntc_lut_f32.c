/* fixtures/ntc_lut_f32.wat in C: NTC thermistor table (binary search over descending f32
 * keys, linear interpolation), the inverse lookup (floorf), and the Beta equation in f64 with
 * a hand-written ln (exponent split through the bits, atanh series). */
#include "bench.h"

static const float ratios[33] = {
    0x1.f3918ep-1f, 0x1.ee70b8p-1f, 0x1.e7a488p-1f, 0x1.ded25p-1f, 0x1.d3a07p-1f, 0x1.c5c03p-1f,
    0x1.b4fa1ap-1f, 0x1.a13b1cp-1f, 0x1.8a9fdp-1f, 0x1.717aa8p-1f, 0x1.56521cp-1f, 0x1.39d5f2p-1f,
    0x1.1ccd18p-1f, 0x1p-1f, 0x1.c84854p-2f, 0x1.939a16p-2f, 0x1.62c87ap-2f, 0x1.365188p-2f,
    0x1.0e676cp-2f, 0x1.d5ff72p-3f, 0x1.97c8dap-3f, 0x1.618792p-3f, 0x1.327ab2p-3f,
    0x1.09d768p-3f, 0x1.cdacf4p-4f, 0x1.917932p-4f, 0x1.5dbdf6p-4f, 0x1.314a84p-4f,
    0x1.0b1338p-4f, 0x1.d45f78p-5f, 0x1.9bb01p-5f, 0x1.6ac1e6p-5f, 0x1.40713ap-5f,
};
static float temps[33];
static float table_out[512];

static uint32_t find(float r) {
    uint32_t lo = 0, hi = 32;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) >> 1;
        if (ratios[mid] >= r) lo = mid;
        else hi = mid;
    }
    return lo;
}

static __attribute__((noinline)) float ratio_to_temp(float r) {
    if (r >= ratios[0]) return temps[0];
    if (r <= ratios[32]) return temps[32];
    uint32_t i = find(r);
    float k0 = ratios[i], k1 = ratios[i + 1];
    return temps[i] + (5.0f * (k0 - r)) / (k0 - k1);
}

static float temp_to_ratio(float t) {
    float u = (t + 40.0f) / 5.0f;
    int32_t i = sat_i32_f32(B_FLOORF(u));
    i = i < 0 ? 0 : (i > 31 ? 31 : i);
    float frac = minf(1.0f, maxf(0.0f, u - (float)i));
    return ratios[i] + frac * (ratios[i + 1] - ratios[i]);
}

static __attribute__((noinline)) double ln(double x) {
    if (x != x) return x;
    if (x < 0) return __builtin_nan("");
    if (x == 0) return -__builtin_inf();
    if (x == __builtin_inf()) return x;
    int32_t e = 0;
    if (x < 0x1p-1022) {
        x = x * 0x1p54;
        e = -54;
    }
    uint64_t bits = bits_f64(x);
    e += (int32_t)(bits >> 52) - 1023;
    double m = f64_of((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > 0x1.6a09e667f3bcdp0) {
        m = m * 0.5;
        e++;
    }
    double s = (m - 1.0) / (m + 1.0), s2 = s * s, sum = 0;
    for (int32_t k = 21; k > 0; k -= 2) sum = 1.0 / (double)k + s2 * sum;
    return (double)e * 0x1.62e42fefa39efp-1 + (2.0 * s) * sum;
}

static double beta_temp(double r) {
    return 1.0 / (1.0 / 298.15 + ln(r / 10000.0) / 3950.0) - 273.15;
}

static uint32_t sweep(uint32_t n) {
    uint32_t sum = 0;
    float err = 0;
    if (n > 512) n = 512;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t code = (i * 4095u) / n;
        float ratio = (float)code / 4095.0f;
        float t = ratio_to_temp(ratio);
        table_out[i] = t;
        sum = rotl32(sum, 9) + (uint32_t)sat_i32_f32(B_RINTF(t * 100.0f));
        if (ratio < ratios[0] && ratio > ratios[32]) {
            double exact = beta_temp(((double)ratio * 10000.0) / (1.0 - (double)ratio));
            err = maxf(err, B_FABSF(t - (float)exact));
        }
    }
    return sum ^ bits_f32(err);
}

uint32_t bench(uint32_t seed) {
    for (int32_t i = 0; i < 33; i++) temps[i] = (float)(i * 5 - 40) * (float)seed;
    uint32_t h = sweep(512);
    for (uint32_t i = 0; i < 256; i++)
        h = rotl32(h, 3) ^ bits_f32(temp_to_ratio((float)i * 0.7f - 45.0f));
    return h;
}
