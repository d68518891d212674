/* fixtures/mandelbrot_f64.wat in C: escape-time iteration z = z^2 + c in f64 over a grid
 * (counts stored as bytes) and the same points in f32. */
#include "bench.h"

static uint8_t counts[32 * 32];

static __attribute__((noinline)) uint32_t escape64(double cr, double ci, uint32_t max) {
    double zr = 0, zi = 0;
    uint32_t n = 0;
    max &= 1023;
    while (n < max) {
        double zr2 = zr * zr, zi2 = zi * zi;
        if (zr2 + zi2 > 4.0) break;
        zi = (2.0 * zr) * zi + ci;
        zr = (zr2 - zi2) + cr;
        n++;
    }
    return n;
}

static __attribute__((noinline)) uint32_t escape32(float cr, float ci, uint32_t max) {
    float zr = 0, zi = 0;
    uint32_t n = 0;
    max &= 1023;
    while (n < max) {
        if (!(zr * zr + zi * zi <= 4.0f)) break;
        float t = (zr * zr - zi * zi) + cr;
        zi = (zr + zr) * zi + ci;
        zr = t;
        n++;
    }
    return n;
}

static uint32_t grid(double x0, double y0, double step, int32_t w, int32_t h, uint32_t max,
                     int single) {
    uint32_t sum = 0, hash = 0;
    for (int32_t j = 0; j < h; j++) {
        for (int32_t i = 0; i < w; i++) {
            double cr = x0 + (double)i * step, ci = y0 + (double)j * step;
            uint32_t n = single ? escape32((float)cr, (float)ci, max) : escape64(cr, ci, max);
            counts[j * w + i] = (uint8_t)n;
            sum += n;
            hash = hash * 31 + n;
        }
    }
    return sum ^ rotl32(hash, 16);
}

uint32_t bench(uint32_t seed) {
    double one = (double)seed;
    uint32_t h = grid(-2.0 * one, -1.25, 0.125, 24, 20, 64, 0);
    h = rotl32(h, 7) ^ grid(-0.8 * one, 0, 0.02, 16, 16, 40, 0);
    h = rotl32(h, 7) ^ grid(-2.0 * one, -1.25, 0.125, 24, 20, 64, 1);
    h = rotl32(h, 7) ^ grid(-0.8 * one, 0, 0.02, 16, 16, 40, 1);
    return h;
}
