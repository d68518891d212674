/* fixtures/kalman_f64.wat in C: a constant-velocity 2-state Kalman filter and a scalar level
 * filter in f64 over generated measurements (i64 LCG), and the steady-state Riccati gain. */
#include "bench.h"

static double z[500];
static double est1[500];
static double est2[1000];

static uint32_t clamp_n(uint32_t n) { return n > 500 ? 500 : n; }

static void measure(uint64_t seed, uint32_t n, double v, double noise) {
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(seed >> 11) * 0x1p-53;
        z[i] = (10.0 + v * ((double)i * 0.1)) + noise * (u * 2.0 - 1.0);
    }
}

struct track_result { double x0, x1; uint32_t updates; };

static __attribute__((noinline)) struct track_result track(double q, double r, uint32_t n) {
    double dt = 0.1, x0 = z[0], x1 = 0, p00 = 1000, p01 = 0, p11 = 1000;
    uint32_t updates = 0;
    for (uint32_t i = 0; i < n; i++) {
        x0 = x0 + dt * x1;
        double t00 = (p00 + dt * p01) + dt * (p01 + dt * p11);
        double t01 = p01 + dt * p11;
        double t11 = p11;
        p00 = t00 + q * ((dt * (dt * dt)) / 3.0);
        p01 = t01 + q * (0.5 * (dt * dt));
        p11 = t11 + q * dt;
        double s = p00 + r;
        if (s > 0 && s < 1e300) {
            double k0 = p00 / s, k1 = p01 / s;
            double y = z[i] - x0;
            x0 = x0 + k0 * y;
            x1 = x1 + k1 * y;
            p11 = p11 - k1 * p01;
            p01 = (1.0 - k0) * p01;
            p00 = (1.0 - k0) * p00;
            updates++;
        }
        est2[2 * i] = x0;
        est2[2 * i + 1] = x1;
    }
    struct track_result result = { x0, x1, updates };
    return result;
}

static uint64_t track_checksum(double q, double r, uint64_t seed, uint32_t n) {
    n = clamp_n(n);
    measure(seed, n, 2.5, 0.5);
    struct track_result t = track(q, r, n);
    uint64_t sum = bits_f64(t.x0) ^ bits_f64(t.x1) ^ t.updates;
    for (uint32_t i = 0; i < 2 * n; i++) sum = rotl64(sum, 9) ^ bits_f64(est2[i]);
    return sum;
}

static uint64_t level(double q, double r, uint64_t seed, uint32_t n) {
    double x = 0, p = 1, k = 0;
    n = clamp_n(n);
    measure(seed, n, 0, 2);
    for (uint32_t i = 0; i < n; i++) {
        double s = p + r;
        if (s > 0 && s < __builtin_inf()) {
            k = p / s;
            x = x + k * (z[i] - x);
            p = (1.0 - k) * p + q;
        }
        est1[i] = x;
    }
    return bits_f64(x) ^ rotl64(bits_f64(k), 17);
}

static uint64_t steady_gain(double q, double r) {
    double p = 1, next;
    uint32_t iter = 0;
    for (;;) {
        next = (p * r) / (p + r) + q;
        iter++;
        if (iter >= 200) break;
        if (B_FABS(next - p) <= B_FABS(next) * 1e-15) break;
        p = next;
        if (!(next == next)) break;
    }
    return bits_f64(next / (next + r)) + iter;
}

uint32_t bench(uint32_t seed) {
    double one = (double)seed;
    uint64_t h = track_checksum(0.01 * one, 0.25, seed, 500);
    h = rotl64(h, 11) ^ track_checksum(one, 4, seed * 99u, 400);
    h = rotl64(h, 11) ^ level(0.0001 * one, 4, seed, 500);
    h = rotl64(h, 11) ^ level(0.5 * one, 0.01, seed + 2, 300);
    h = rotl64(h, 11) ^ steady_gain(0.01 * one, 0.25);
    h = rotl64(h, 11) ^ steady_gain(1e-6 * one, 100);
    return fold64(h);
}
