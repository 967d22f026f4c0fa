/* siren_math.h: the per-pixel SIREN math of spec/inrf.md "Decoding", as
 * static inline functions shared by the CPU decoder, the encoder and the
 * CUDA kernels, so that CPU tests cover what the GPU computes.
 *
 * Every multiply-add is an explicit fmaf() and the library is built with
 * -ffp-contract=off (CUDA: --fmad=false), so the CPU (any SIMD width) and
 * the GPU give bit-identical results. */
#ifndef INRF_SIREN_MATH_H
#define INRF_SIREN_MATH_H

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define INRF_HD __host__ __device__ __forceinline__
#else
#define INRF_HD static inline
#endif

/* Sample coordinate of pixel i of n along an axis whose window runs from
 * lo to hi: the pixel centre lo + (i + 1/2) (hi - lo) / n, evaluated in
 * binary64 and rounded once to binary32. With the default window [-1, 1]
 * this is (2i + 1) / n - 1; binary64 makes a crop window's samples the
 * same floats as the full decode's (see inrf_window_from_pixels). */
INRF_HD float inrf_coord(uint32_t i, uint32_t n, double lo, double hi)
{
    return (float)(lo + ((double)i + 0.5) * (hi - lo) / (double)n);
}

/* The constants of the sine: the one definition that inrf_sincos below
 * and its vector copies (libinrf/simd.h, one a vector width) are built
 * from. Range reduction by pi with a two-part constant (Cody-Waite):
 * pi_hi has 8 significant bits, so k * pi_hi is exact. */
#define INRF_SIN_INV_PI 0.318309886183790672f
#define INRF_SIN_PI_HI 3.140625f
#define INRF_SIN_PI_LO 9.67653589793e-4f /* pi - pi_hi */
#define INRF_SIN_ROUND 12582912.0f       /* 1.5 * 2^23: adding it rounds to an integer */
#define INRF_SIN_LIMIT 4194304.0f        /* 2^22: |k| < 2^21, exact as float and int */
/* sin(r) = r + r^3 (S3 + r^2 (S5 + r^2 (S7 + r^2 S9))) on [-pi/2, pi/2] */
#define INRF_SIN_S9 2.590487838e-06f
#define INRF_SIN_S7 -1.980089728e-04f
#define INRF_SIN_S5 8.332899772e-03f
#define INRF_SIN_S3 -1.666664779e-01f
/* cos(r) = 1 + r^2 (C2 + r^2 (C4 + r^2 (C6 + r^2 C8))) */
#define INRF_COS_C8 2.319437408e-05f
#define INRF_COS_C6 -1.385592623e-03f
#define INRF_COS_C4 4.166398942e-02f
#define INRF_COS_C2 -4.999993145e-01f

/* Fast sine and cosine. Range reduction by pi, then an odd degree-9
 * minimax polynomial for the sine (maximum absolute error 2.5e-7 for
 * |x| <= 8192: tests/test_math.c measures it; 1.6e-7 seen) and an even
 * degree-8 one for the cosine (error 6e-8 on [-pi/2, pi/2]); the
 * derivative of sin(w0 z) is w0 cos(w0 z), for training. Arguments are
 * first clamped to +-2^22 and NaN becomes 0, so every input gives values
 * in [-1, 1] without undefined behaviour. Branch-free, so that loops over
 * pixels vectorise. The vector copies (simd.h) do these operations in this
 * order, lane by lane; tests/test_math.c compares their bits. */
INRF_HD void inrf_sincos(float x, float *s, float *c)
{
    x = x > INRF_SIN_LIMIT ? INRF_SIN_LIMIT : x;
    x = x < -INRF_SIN_LIMIT ? -INRF_SIN_LIMIT : x;
    x = x == x ? x : 0.0f;                      /* NaN */
    float k = fmaf(x, INRF_SIN_INV_PI, INRF_SIN_ROUND) - INRF_SIN_ROUND; /* nearest integer */
    float r = fmaf(-k, INRF_SIN_PI_HI, x);
    r = fmaf(-k, INRF_SIN_PI_LO, r);            /* r in [-pi/2, pi/2] */
    float r2 = r * r;
    float p = fmaf(r2, INRF_SIN_S9, INRF_SIN_S7);
    p = fmaf(p, r2, INRF_SIN_S5);
    p = fmaf(p, r2, INRF_SIN_S3);
    p = fmaf(p * r2, r, r);                     /* sin(r) */
    float q = fmaf(r2, INRF_COS_C8, INRF_COS_C6);
    q = fmaf(q, r2, INRF_COS_C4);
    q = fmaf(q, r2, INRF_COS_C2);
    q = fmaf(q, r2, 1.0f);                      /* cos(r) */
    int32_t odd = (int32_t)k & 1;               /* sin(r + k pi) = (-1)^k sin(r), cos too */
    *s = odd ? -p : p;
    *c = odd ? -q : q;
}

/* The sine alone: inrf_sincos's (the compiler drops the cosine). */
INRF_HD float inrf_sin(float x)
{
    float s, c;
    inrf_sincos(x, &s, &c);
    return s;
}

/* The network output mapped to [0, 1] and clamped (spec "Output"); NaN,
 * possible only when weights overflow binary32, becomes 0. */
INRF_HD float inrf_output_unit(float v, int signed_output)
{
    /* v * 0.5 is exact, so this is fmaf(v, 0.5, 0.5) without a call */
    float u = signed_output ? v * 0.5f + 0.5f : v;
    return u > 0.0f ? (u < 1.0f ? u : 1.0f) : 0.0f;
}

/* A [0, 1] value to an 8-bit sample: floor(fma(u, 255, 0.5)), the fused
 * form of floor(u * 255 + 1/2) that spec "Reference algorithm" fixes. */
INRF_HD uint8_t inrf_unit_to_u8(float u)
{
    /* u * 255 + 0.5 is exact in binary64 (24 + 8 bits), so rounding it once
     * to binary32 is fmaf(u, 255, 0.5), without a libm call on CPUs built
     * without FMA */
    return (uint8_t)(int)(float)((double)u * 255.0 + 0.5);
}

/* One neuron before the activation: bias + sum_k w[k] * h[k], accumulated
 * in order k = 0, 1, ... with one rounding per step (fmaf). Every decoder
 * of this library sums in exactly this order. */
INRF_HD float inrf_neuron(const float *w, const float *h, unsigned in, float bias)
{
    float acc = bias;
    for (unsigned k = 0; k < in; k++)
        acc = fmaf(w[k], h[k], acc);
    return acc;
}

/* Sine activation of a neuron: sin(w0 * z). */
INRF_HD float inrf_activate(float z, float omega)
{
    return inrf_sin(omega * z);
}

/* IEEE binary16 bits to float (exact; the spec forbids Inf and NaN). */
INRF_HD float inrf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    float mag;
    if (exp == 0) {
        mag = (float)man * 5.9604644775390625e-8f; /* subnormal: man * 2^-24 */
    } else {
        union { uint32_t u; float f; } v;
        v.u = ((exp + 112u) << 23) | (man << 13);
        mag = v.f;
    }
    return sign ? -mag : mag;
}

/* Float to IEEE binary16 bits, round to nearest even, as IEEE 754 and
 * CUDA's __float2half_rn convert: values from 65520 up become infinity,
 * NaN the quiet NaN 0x7fff (CUDA's). What the batch decoders' f16 output
 * holds. */
INRF_HD uint16_t inrf_f32_to_f16_rn(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    uint32_t sign = (v.u >> 16) & 0x8000u;
    uint32_t ax = v.u & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN */
        return 0x7fffu;
    if (ax >= 0x477ff000u) /* >= 65520: rounds to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below 2^-14: subnormal or zero */
        if (ax < 0x33000000u) /* below 2^-25: rounds to 0 */
            return (uint16_t)sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((ax - 0x38000000u) >> 13); /* rebias exponent */
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

/* Float to IEEE binary16 bits, round to nearest even; values beyond the
 * binary16 range saturate to +-65504 and NaN becomes 65504 (the spec
 * forbids Inf and NaN). Host and device alike, so that the GPU encoder's
 * fake quantisation rounds exactly as the writer (write.c) does. */
INRF_HD uint16_t inrf_f32_to_f16(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    if ((v.u & 0x7fffffffu) >= 0x477fe000u) /* >= 65504: saturate (and NaN) */
        return (uint16_t)(((v.u >> 16) & 0x8000u) | 0x7bffu);
    return inrf_f32_to_f16_rn(f);
}

#endif /* INRF_SIREN_MATH_H */
