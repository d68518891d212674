/* fixtures/biquad_f32.wat in C: DF2T biquad sections over f32 buffers with a fault guard,
 * a 2-section Butterworth cascade, a step response and the checksum of the output. */
#include "bench.h"

static const float coeffs[10] = {
    0x1.faf6aap-5f, 0x1.faf6aap-4f, 0x1.faf6aap-5f, -0x1.0c7106p+0f, 0x1.2f3f6ap-2f,
    0x1.3f4f26p-4f, 0x1.3f4f26p-3f, 0x1.3f4f26p-4f, -0x1.522762p+0f, 0x1.43f658p-1f,
};
static float xin[256];
static float yout[256];
static int32_t faults;

static uint32_t clamp_n(uint32_t n) { return n > 256 ? 256 : n; }

static void fill(uint32_t seed, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        float x = (float)((int32_t)seed >> 8) * 0x1p-25f;
        xin[i] = x + ((i & 16) ? 0.5f : -0.5f);
    }
}

static __attribute__((noinline)) void section(const float *in, float *out, uint32_t n, float b0,
                                              float b1, float b2, float a1, float a2) {
    float z1 = 0, z2 = 0;
    for (uint32_t i = 0; i < n; i++) {
        float x = in[i];
        float y = b0 * x + z1;
        if (!(B_FABSF(y) <= 1e6f)) {
            y = 0;
            z1 = 0;
            z2 = 0;
            faults++;
        } else {
            z1 = (b1 * x - a1 * y) + z2;
            z2 = b2 * x - a2 * y;
        }
        out[i] = y;
    }
}

static uint32_t checksum(uint32_t n) {
    float sum = 0;
    double energy = 0;
    for (uint32_t i = 0; i < n; i++) {
        float y = yout[i];
        sum += y;
        energy += (double)y * (double)y;
    }
    return bits_f32(sum) ^ rotl32((uint32_t)bits_f64(energy), 7) ^ ((uint32_t)faults * 0x9e3779b9u);
}

static uint32_t run(float b0, float b1, float b2, float a1, float a2, uint32_t seed, uint32_t n) {
    n = clamp_n(n);
    fill(seed, n);
    section(xin, yout, n, b0, b1, b2, a1, a2);
    return checksum(n);
}

static uint32_t cascade(uint32_t seed, uint32_t n) {
    n = clamp_n(n);
    fill(seed, n);
    for (int s = 0; s < 2; s++) {
        const float *c = coeffs + 5 * s;
        section(s == 0 ? xin : yout, yout, n, c[0], c[1], c[2], c[3], c[4]);
    }
    return checksum(n);
}

static float step_response(float b0, float b1, float b2, float a1, float a2, uint32_t n) {
    n = n == 0 ? 1 : clamp_n(n);
    for (uint32_t i = 0; i < n; i++) xin[i] = 1.0f;
    section(xin, yout, n, b0, b1, b2, a1, a2);
    return yout[n - 1];
}

uint32_t bench(uint32_t seed) {
    float one = (float)seed;
    uint32_t h = run(coeffs[0] * one, coeffs[1], coeffs[2], coeffs[3], coeffs[4], seed, 256);
    h = rotl32(h, 5) ^ run(0.0675f * one, 0, -0.0675f, -1.9f, 0.98f, seed * 12345u, 200);
    h = rotl32(h, 5) ^ run(one, -2, 1, -2.1f, 1.2f, seed * 7u, 256);
    h = rotl32(h, 5) ^ cascade(seed, 256);
    h = rotl32(h, 5) ^ cascade(seed + 41u, 256);
    h = rotl32(h, 5) ^ bits_f32(step_response(0.1f * one, 0, 0, -0.9f, 0, 256));
    h = rotl32(h, 5) ^ bits_f32(step_response(one, 1, 1, -1.999f, 0.9995f, 256));
    return h;
}
