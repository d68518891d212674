/* fixtures/quaternion_f32.wat in C: Hamilton product, normalisation with sqrtf, vector
 * rotation q v q*, and gyro integration with renormalisation every step. */
#include "bench.h"

struct quat { float w, x, y, z; };
static float trajectory[500 * 4];

static struct quat qmul(struct quat a, struct quat b) {
    struct quat r;
    r.w = ((a.w * b.w - a.x * b.x) - a.y * b.y) - a.z * b.z;
    r.x = ((a.w * b.x + a.x * b.w) + a.y * b.z) - a.z * b.y;
    r.y = ((a.w * b.y - a.x * b.z) + a.y * b.w) + a.z * b.x;
    r.z = ((a.w * b.z + a.x * b.y) - a.y * b.x) + a.z * b.w;
    return r;
}

static struct quat normalize(struct quat q) {
    float n = B_SQRTF((q.w * q.w + q.x * q.x) + (q.y * q.y + q.z * q.z));
    struct quat r = { 1, 0, 0, 0 };
    if (n > 0 && n < __builtin_inff()) {
        float inv = 1.0f / n;
        r.w = q.w * inv;
        r.x = q.x * inv;
        r.y = q.y * inv;
        r.z = q.z * inv;
    }
    return r;
}

static __attribute__((noinline)) uint32_t rotate(struct quat q, float vx, float vy, float vz) {
    q = normalize(q);
    struct quat v = { 0, vx, vy, vz };
    struct quat t = qmul(q, v);
    struct quat c = { q.w, -q.x, -q.y, -q.z };
    struct quat r = qmul(t, c);
    return bits_f32(r.x) ^ rotl32(bits_f32(r.y), 11) ^ rotl32(bits_f32(r.z), 22);
}

static __attribute__((noinline)) uint32_t integrate(float wx, float wy, float wz, float dt,
                                                    uint32_t steps) {
    struct quat q = { 1, 0, 0, 0 };
    struct quat rate = { 0, wx, wy, wz };
    uint32_t sum = 0;
    if (steps > 500) steps = 500;
    for (uint32_t k = 0; k < steps; k++) {
        struct quat d = qmul(q, rate);
        struct quat n = { q.w + (0.5f * dt) * d.w, q.x + (0.5f * dt) * d.x,
                          q.y + (0.5f * dt) * d.y, q.z + (0.5f * dt) * d.z };
        q = normalize(n);
        float *p = trajectory + 4 * k;
        p[0] = q.w;
        p[1] = q.x;
        p[2] = q.y;
        p[3] = q.z;
        sum = rotl32(sum, 3) +
              ((uint32_t)sat_i32_f32(q.w * 0x1p30f) ^
               ((uint32_t)sat_i32_f32(q.x * 0x1p30f) +
                ((uint32_t)sat_i32_f32(q.y * 0x1p30f) - (uint32_t)sat_i32_f32(q.z * 0x1p30f))));
    }
    return sum ^ bits_f32(q.w);
}

uint32_t bench(uint32_t seed) {
    float one = (float)seed;
    uint32_t h = integrate(0, 0, one, 0.01f, 500);
    h = rotl32(h, 7) ^ integrate(0.3f * one, -0.2f, 0.9f, 0.005f, 500);
    h = rotl32(h, 7) ^ integrate(10 * one, 20, 30, 0.001f, 250);
    for (uint32_t i = 0; i < 64; i++) {
        float a = (float)i * 0.125f * one;
        struct quat q = { 0.5f + a, 0.5f, 0.5f - a, 0.25f * a };
        h = rotl32(h, 7) ^ rotate(q, 1.0f, 2.0f - a, 3.0f);
    }
    return h;
}
