/* fixtures/fft_f32.wat in C: radix-2 DIT FFT in f32 (bit reversal, log2 N butterfly stages,
 * twiddles from a 32-entry table), the noise spectrum, forward/inverse round trip and the
 * Parseval ratio accumulated in f64. */
#include "bench.h"

static const float tw[64] = {
    0x1p+0f, 0x0p+0f, 0x1.fd88dap-1f, 0x1.917a6cp-4f, 0x1.f6297cp-1f, 0x1.8f8b84p-3f,
    0x1.e9f416p-1f, 0x1.294062p-2f, 0x1.d906bcp-1f, 0x1.87de2ap-2f, 0x1.c38b3p-1f,
    0x1.e2b5d4p-2f, 0x1.a9b662p-1f, 0x1.1c73b4p-1f, 0x1.8bc806p-1f, 0x1.44cf32p-1f,
    0x1.6a09e6p-1f, 0x1.6a09e6p-1f, 0x1.44cf32p-1f, 0x1.8bc806p-1f, 0x1.1c73b4p-1f,
    0x1.a9b662p-1f, 0x1.e2b5d4p-2f, 0x1.c38b3p-1f, 0x1.87de2ap-2f, 0x1.d906bcp-1f,
    0x1.294062p-2f, 0x1.e9f416p-1f, 0x1.8f8b84p-3f, 0x1.f6297cp-1f, 0x1.917a6cp-4f,
    0x1.fd88dap-1f, 0x1.1a6264p-54f, 0x1p+0f, -0x1.917a6cp-4f, 0x1.fd88dap-1f,
    -0x1.8f8b84p-3f, 0x1.f6297cp-1f, -0x1.294062p-2f, 0x1.e9f416p-1f, -0x1.87de2ap-2f,
    0x1.d906bcp-1f, -0x1.e2b5d4p-2f, 0x1.c38b3p-1f, -0x1.1c73b4p-1f, 0x1.a9b662p-1f,
    -0x1.44cf32p-1f, 0x1.8bc806p-1f, -0x1.6a09e6p-1f, 0x1.6a09e6p-1f, -0x1.8bc806p-1f,
    0x1.44cf32p-1f, -0x1.a9b662p-1f, 0x1.1c73b4p-1f, -0x1.c38b3p-1f, 0x1.e2b5d4p-2f,
    -0x1.d906bcp-1f, 0x1.87de2ap-2f, -0x1.e9f416p-1f, 0x1.294062p-2f, -0x1.f6297cp-1f,
    0x1.8f8b84p-3f, -0x1.fd88dap-1f, 0x1.917a6cp-4f,
};
static float data[128];
static float saved[128];

static uint32_t clamp_log2(int32_t l) { return l < 1 ? 1 : (l > 6 ? 6 : (uint32_t)l); }

static void fill(uint32_t seed, uint32_t n) {
    for (uint32_t i = 0; i < 2 * n; i++) {
        seed = seed * 1103515245u + 12345u;
        float v = (float)((int32_t)seed >> 7) * 0x1p-24f;
        data[i] = v;
        saved[i] = v;
    }
}

static uint32_t bitrev(uint32_t i, uint32_t bits) {
    uint32_t r = 0;
    for (; bits; bits--) {
        r = (r << 1) | (i & 1);
        i >>= 1;
    }
    return r;
}

static __attribute__((noinline)) void fft(uint32_t log2n, float dir) {
    uint32_t n = 1u << log2n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = bitrev(i, log2n);
        if (i < j) {
            float t = data[2 * i];
            data[2 * i] = data[2 * j];
            data[2 * j] = t;
            t = data[2 * i + 1];
            data[2 * i + 1] = data[2 * j + 1];
            data[2 * j + 1] = t;
        }
    }
    for (uint32_t size = 2; size <= n; size <<= 1) {
        uint32_t half = size >> 1, step = 64 / size;
        for (uint32_t start = 0; start < n; start += size) {
            for (uint32_t k = 0; k < half; k++) {
                float wr = tw[2 * (k * step)];
                float wi = dir * tw[2 * (k * step) + 1];
                float *a = data + 2 * (start + k);
                float *b = a + 2 * half;
                float xr = b[0], xi = b[1];
                float tr = wr * xr + wi * xi;
                float ti = wr * xi - wi * xr;
                xr = a[0];
                xi = a[1];
                b[0] = xr - tr;
                b[1] = xi - ti;
                a[0] = xr + tr;
                a[1] = xi + ti;
            }
        }
    }
}

static float power(uint32_t k) { return data[2 * k] * data[2 * k] + data[2 * k + 1] * data[2 * k + 1]; }

static uint32_t spectrum(uint32_t seed, int32_t log2n) {
    uint32_t l = clamp_log2(log2n), n = 1u << l, sum = 0;
    float energy = 0;
    fill(seed, n);
    fft(l, 1.0f);
    for (uint32_t i = 0; i < n; i++) {
        energy += power(i);
        sum = rotl32(sum, 7) + (uint32_t)sat_i32_f32(data[i] * 0x1p20f);
    }
    return bits_f32(energy) ^ sum;
}

static uint32_t roundtrip(uint32_t seed, int32_t log2n) {
    uint32_t l = clamp_log2(log2n), n = 1u << l;
    fill(seed, n);
    fft(l, 1.0f);
    fft(l, -1.0f);
    float scale = 1.0f / (float)n, err = 0;
    for (uint32_t i = 0; i < 2 * n; i++) {
        float v = data[i] * scale;
        data[i] = v;
        err = maxf(err, B_FABSF(v - saved[i]));
    }
    return sat_u32_f32(err * 0x1p40f) ^ bits_f32(err);
}

static uint32_t parseval(uint32_t seed, int32_t log2n) {
    uint32_t l = clamp_log2(log2n), n = 1u << l;
    double time = 0, freq = 0;
    fill(seed, n);
    for (uint32_t i = 0; i < 2 * n; i++) {
        double v = (double)data[i];
        time += v * v;
    }
    fft(l, 1.0f);
    for (uint32_t i = 0; i < n; i++) freq += (double)power(i);
    return bits_f32((float)((time * (double)n) / freq));
}

uint32_t bench(uint32_t seed) {
    uint32_t h = 0;
    for (uint32_t r = 0; r < 4; r++) {
        h = rotl32(h, 9) ^ spectrum(seed + r, 6);
        h = rotl32(h, 9) ^ roundtrip(seed * 3u + r, 6);
        h = rotl32(h, 9) ^ parseval(seed * 5u + r, 6);
    }
    return h;
}
