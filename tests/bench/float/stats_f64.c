/* fixtures/stats_f64.wat in C: Welford mean/variance with min/max, insertion sort with
 * f64 <, median and nearest-rank percentile (ceil), a 16-bin histogram with a z-score outlier
 * count (sqrt), and the order-preserving integer key sort cross-checked with the float sort. */
#include "bench.h"

static double samples[160], sorted[160];
static uint64_t keys[160];
static int32_t hist[16];

static void fill(uint64_t seed, uint32_t n, double center, double spread) {
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1;
        double u = (double)(seed >> 11) * 0x1p-53;
        seed = seed * 6364136223846793005ull + 1;
        double v = (double)(seed >> 11) * 0x1p-53;
        samples[i] = center + spread * (((u + v) - 1.0) + (i % 37 == 0 ? 8.0 : 0.0));
    }
}

struct summary { double mean, var, min, max; };

static __attribute__((noinline)) struct summary welford(uint32_t n) {
    double mean = 0, m2 = 0, min = __builtin_inf(), max = -__builtin_inf();
    for (uint32_t i = 0; i < n;) {
        double x = samples[i];
        i++;
        double delta = x - mean;
        mean = mean + delta / (double)i;
        m2 = m2 + delta * (x - mean);
        min = mind(min, x);
        max = maxd(max, x);
    }
    struct summary s = { mean, n > 1 ? m2 / (double)(n - 1) : 0.0, min, max };
    return s;
}

static __attribute__((noinline)) void sort(uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        double x = samples[i];
        uint32_t j = i;
        while (j && x < sorted[j - 1]) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = x;
    }
}

static uint64_t quantiles(uint64_t seed, uint32_t n, double p) {
    fill(seed, n, 20, 2.5);
    sort(n);
    double median = (n & 1) ? sorted[n >> 1] : 0.5 * (sorted[n >> 1] + sorted[(n >> 1) - 1]);
    int32_t rank = sat_i32_f64(B_CEIL((p / 100.0) * (double)n));
    rank = rank < 1 ? 1 : rank;
    rank = rank > (int32_t)n ? (int32_t)n : rank;
    return bits_f64(median) ^ rotl64(bits_f64(sorted[rank - 1]), 32);
}

static uint32_t histogram(uint64_t seed, uint32_t n, double lo, double hi) {
    uint32_t outliers = 0, sum = 0;
    fill(seed, n, 0, 1);
    struct summary s = welford(n);
    double sd = B_SQRT(s.var);
    for (uint32_t b = 0; b < 16; b++) hist[b] = 0;
    for (uint32_t i = 0; i < n; i++) {
        double x = samples[i];
        int32_t bin = sat_i32_f64(((x - lo) / (hi - lo)) * 16.0);
        bin = bin < 0 ? 0 : (bin > 15 ? 15 : bin);
        hist[bin]++;
        outliers += B_FABS((x - s.mean) / sd) > 3.0;
    }
    for (uint32_t b = 0; b < 16; b++) sum = sum * 257 + (uint32_t)hist[b];
    return sum ^ (outliers << 24) ^ fold64(bits_f64(s.mean) ^ bits_f64(s.min) ^ bits_f64(s.max));
}

static inline uint64_t key(double x) {
    if (x != x) return UINT64_MAX;
    uint64_t b = bits_f64(x);
    return (int64_t)b < 0 ? ~b : b ^ 0x8000000000000000ull;
}

static uint64_t key_sort(uint64_t seed, uint32_t n, double center) {
    uint32_t bad = 0;
    uint64_t sum = 0;
    fill(seed, n, center, 3);
    sort(n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t k = key(samples[i]);
        uint32_t j = i;
        while (j && k < keys[j - 1]) {
            keys[j] = keys[j - 1];
            j--;
        }
        keys[j] = k;
    }
    for (uint32_t i = 0; i < n; i++) {
        bad += key(sorted[i]) != keys[i];
        sum = rotl64(sum, 7) + bits_f64(sorted[i]);
    }
    return sum ^ bad;
}

uint32_t bench(uint32_t seed) {
    double one = (double)seed;
    uint64_t h = quantiles(seed, 160, 90.0 * one);
    h = rotl64(h, 9) ^ histogram(seed + 1, 160, -one, 1);
    h = rotl64(h, 9) ^ histogram(seed + 2, 160, -0.25 * one, 0.25);
    h = rotl64(h, 9) ^ key_sort(seed + 3, 160, 0.5 * one);
    return fold64(h);
}
