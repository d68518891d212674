/* fixtures/matmul_f64.wat in C: f64 n x n matrices filled from an i64 LCG, C = A B in the
 * dot-product order, then GEMM C = alpha A B + beta C in the row-update order, checksum of
 * the bit patterns, and the f32 trace. */
#include "bench.h"

static double A[144], B[144], C[144];

static uint64_t fill(uint64_t seed, uint32_t count, double *m) {
    for (uint32_t i = 0; i < count; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        m[i] = (double)((int64_t)seed >> 11) * 0x1p-49;
    }
    return seed;
}

static __attribute__((noinline)) void mul_ijk(uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            double acc = 0;
            for (uint32_t k = 0; k < n; k++) acc += A[i * n + k] * B[k * n + j];
            C[i * n + j] = acc;
        }
}

static __attribute__((noinline)) void gemm_ikj(uint32_t n, double alpha, double beta) {
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) C[i * n + j] = beta * C[i * n + j];
        for (uint32_t k = 0; k < n; k++) {
            double a = alpha * A[i * n + k];
            for (uint32_t j = 0; j < n; j++) C[i * n + j] = C[i * n + j] + a * B[k * n + j];
        }
    }
}

static uint64_t checksum(uint32_t n) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n * n; i++) sum = rotl64(sum, 13) ^ bits_f64(C[i]);
    return sum;
}

static uint64_t gemm(uint64_t seed, uint32_t n, double alpha, double beta) {
    fill(fill(seed, n * n, A), n * n, B);
    mul_ijk(n);
    gemm_ikj(n, alpha, beta);
    float t = 0;
    for (uint32_t i = 0; i < n; i++) t += (float)C[i * n + i];
    return checksum(n) ^ bits_f32(t);
}

uint32_t bench(uint32_t seed) {
    double one = (double)seed;
    uint64_t h = gemm(seed, 12, one, 0);
    h = rotl64(h, 7) ^ gemm(seed + 1, 12, 0.5 * one, 2);
    h = rotl64(h, 7) ^ gemm(seed + 2, 8, -one, 1);
    return fold64(h);
}
