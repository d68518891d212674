/* fixtures/sensor_calibration.wat in C: ADC counts to physical units (i32 -> f32, f64 Horner
 * temperature compensation, sqrtf magnitude, min/max, mean/sd in f64 with sqrt), the batch
 * checksum with round-to-nearest, and the DAC/PWM output conversions. */
#include "bench.h"

static const float offsets[3] = { 0x1.9p+3f, -0x1.f4p+4f, 0x1p+2f };
static const float scales[3] = { 0x1.051eb8p-10f, 0x1.f851ecp-11f, 0x1.00418ap-10f };
static const double poly[4] = { -0x1.2cp+7, 0x1.9p+3, -0x1.6666666666666p-2, 0x1.13404ea4a8c15p-9 };
static int16_t raw[256 * 3];
static float calibrated[256 * 3];

static inline float axis(int32_t r, uint32_t a) { return ((float)r - offsets[a]) * scales[a]; }

static inline double ppm(double t) { return poly[0] + t * (poly[1] + t * (poly[2] + t * poly[3])); }

struct stats { double mean, sd; float min, max; };

static __attribute__((noinline)) struct stats acquire(uint32_t seed, uint32_t n, double temp) {
    double sum = 0, sq = 0;
    float min = __builtin_inff(), max = -__builtin_inff();
    if (n > 256) n = 256;
    double gain = 1.0 - ppm(temp) * 1e-6;
    for (uint32_t i = 0; i < n; i++) {
        float m = 0;
        for (uint32_t a = 0; a < 3; a++) {
            seed = seed * 22695477u + 1u;
            int32_t r = (int32_t)seed >> 22;
            if (a == 2) r += 1024;
            uint32_t p = i * 3 + a;
            raw[p] = (int16_t)r;
            float v = (float)((double)axis(raw[p], a) * gain);
            calibrated[p] = v;
            m += v * v;
        }
        m = B_SQRTF(m);
        min = minf(min, m);
        max = maxf(max, m);
        sum += (double)m;
        sq += (double)m * (double)m;
    }
    struct stats s;
    s.mean = sum / (double)n;
    s.sd = B_SQRT(maxd(0.0, sq / (double)n - s.mean * s.mean));
    s.min = min;
    s.max = max;
    return s;
}

static uint32_t batch(uint32_t seed, uint32_t n, double temp) {
    struct stats s = acquire(seed, n, temp);
    uint32_t sum = 0;
    if (n > 256) n = 256;
    for (uint32_t i = 0; i < 3 * n; i++)
        sum = rotl32(sum, 3) + (uint32_t)sat_i32_f32(B_RINTF(calibrated[i] * 1e6f));
    return sum ^ (uint32_t)sat_i32_f64(B_RINT(s.mean * 1000.0)) ^
           (uint32_t)sat_i32_f64(B_RINT(s.sd * 1e6)) ^ rotl32(bits_f32(s.min), 11) ^
           rotl32(bits_f32(s.max), 21);
}

static uint32_t outputs(uint32_t seed) {
    uint32_t h = 0;
    for (uint32_t i = 0; i < 256; i++) {
        seed = seed * 22695477u + 1u;
        float v = (float)(int32_t)seed * 0x1p-29f; /* [-4, 4) volts */
        float clamped = minf(maxf(v, 0.0f), 3.3f);
        uint32_t dac = (uint32_t)B_RINTF(clamped / 3.3f * 4095.0f);
        double duty = (double)v * 30.0;
        int32_t c = sat_i32_f64(duty * 10.0);
        c = c < 0 ? 0 : (c > 1000 ? 1000 : c);
        float volts = (float)(seed & 0xfff) * 3.3f / 4095.0f;
        h = rotl32(h, 5) ^ dac ^ ((uint32_t)c << 12) ^ bits_f32(volts);
    }
    return h;
}

uint32_t bench(uint32_t seed) {
    uint32_t h = batch(seed, 256, 25.0);
    h = rotl32(h, 13) ^ batch(seed * 2u, 256, -40.0);
    h = rotl32(h, 13) ^ batch(seed * 3u, 256, 125.0);
    h = rotl32(h, 13) ^ outputs(seed);
    return h;
}
