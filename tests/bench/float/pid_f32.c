/* fixtures/pid_f32.wat in C: an f32 PID controller (derivative on measurement, clamped
 * output, clamp or conditional anti-windup, NaN guards) closing the loop around a first-order
 * plant with a load disturbance, and the settling-time search. */
#include "bench.h"

static float integral, prev_meas, output;
static const float dt = 0.01f;

static inline float nan_to_zero(float x) { return x == x ? x : 0.0f; }
static inline float clamp(float x, float lo, float hi) { return minf(maxf(x, lo), hi); }

static __attribute__((noinline)) float step(float sp, float meas, float kp, float ki, float kd,
                                            float lo, float hi, int conditional) {
    float e = nan_to_zero(sp - meas);
    float p = kp * e;
    float i = integral + (ki * e) * dt;
    if (conditional) {
        float u = p + i;
        if ((u > hi && e > 0) || (u < lo && e < 0)) i = integral;
    } else {
        i = clamp(i, lo, hi);
    }
    integral = nan_to_zero(i);
    float d = -(kd * (meas - prev_meas)) / dt;
    prev_meas = nan_to_zero(meas);
    float u = (p + integral) + d;
    u = nan_to_zero(clamp(u, lo, hi));
    output = u;
    return u;
}

static uint32_t control_loop(float sp, float kp, float ki, float kd, float lo, float hi,
                             uint32_t steps, int conditional) {
    float y = 0;
    uint32_t sum = 0;
    integral = 0;
    prev_meas = 0;
    if (steps > 1000) steps = 1000;
    for (uint32_t k = 0; k < steps; k++) {
        float u = step(sp, y, kp, ki, kd, lo, hi, conditional);
        y = y + (u - y) * 0.05f;
        if (k >= 100) y = y - 0.003f;
        y = nan_to_zero(y);
        sum = rotl32(sum, 5) + (uint32_t)sat_i32_f32(u * 1000.0f);
    }
    return sum ^ bits_f32(y);
}

static uint32_t settle(float sp, float kp, float ki, float kd, uint32_t steps) {
    float y = 0;
    int32_t settled = -1;
    integral = 0;
    prev_meas = 0;
    if (steps > 1000) steps = 1000;
    for (uint32_t k = 0; k < steps; k++) {
        y = y + (step(sp, y, kp, ki, kd, -10.0f, 10.0f, 0) - y) * 0.05f;
        y = nan_to_zero(y);
        if (B_FABSF(sp - y) < B_FABSF(sp) * 0.02f) {
            if (settled < 0) settled = (int32_t)k;
        } else {
            settled = -1;
        }
    }
    return bits_f32(y) ^ (uint32_t)settled;
}

uint32_t bench(uint32_t seed) {
    float one = (float)seed;
    uint32_t h = control_loop(one, 2, 5, 0.01f, -10, 10, 500, 0);
    h = rotl32(h, 3) ^ control_loop(5 * one, 20, 50, 0, -1, 1, 1000, 0);
    h = rotl32(h, 3) ^ control_loop(-3 * one, 0.5f, 0.2f, 0.5f, -2, 2, 300, 0);
    h = rotl32(h, 3) ^ control_loop(one, 2, 5, 0.01f, -10, 10, 500, 1);
    h = rotl32(h, 3) ^ control_loop(5 * one, 20, 50, 0, -1, 1, 1000, 1);
    h = rotl32(h, 3) ^ settle(one, 2, 5, 0.01f, 1000);
    h = rotl32(h, 3) ^ settle(-4 * one, 3, 8, 0.05f, 800);
    return h ^ bits_f32(output);
}
