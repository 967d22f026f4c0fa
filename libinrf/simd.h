/* simd.h: the thin wrappers over AVX-512 and AVX2 intrinsics that the SIMD
 * kernels (decode_tile.c, train_kernel.c) share, and the vector sine built
 * on them. VL is defined only when the file is built for one of those
 * instruction sets. Private. */
#ifndef INRF_SIMD_H
#define INRF_SIMD_H

#include <stddef.h>

#include "inrf/siren_math.h"

/* The sum of 16 floats in one fixed order, a tree of halves: lanes i and
 * i + 8, then i and i + 4, i and i + 2, the last two. Every training
 * kernel reduces its 16 logical lanes (one zmm, two ymm, 16 scalars) with
 * it, so that a gradient has the same bits on every instruction set. */
static inline float inrf_sum16(const float *a)
{
    float s8[8], s4[4];
    for (int i = 0; i < 8; i++)
        s8[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++)
        s4[i] = s8[i] + s8[i + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 vf;
typedef __m512i vi;
#define VL 16
static inline vf vset1(float x) { return _mm512_set1_ps(x); }
static inline vf vzero(void) { return _mm512_setzero_ps(); }
static inline vf vload(const float *p) { return _mm512_load_ps(p); }
static inline vf vloadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void vstore(float *p, vf v) { _mm512_store_ps(p, v); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vfnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
static inline float vhsum(vf a) { return _mm512_reduce_add_ps(a); }
static inline vi vtrunc(vf a) { return _mm512_cvttps_epi32(a); }
static inline vi vbits(vf a) { return _mm512_castps_si512(a); }
/* NaN to +0 (fixupimm table: the two NaN classes answer 8 = +0, the six
 * others 1 = the input), then sign(x) min(|x|, lim): x > lim ? lim : x,
 * x < -lim ? -lim : x, x == x ? x : 0, in two instructions. */
static inline vf vclamp(vf x, float lim)
{
    x = _mm512_fixupimm_ps(x, x, _mm512_set1_epi32(0x11111188), 0);
    return _mm512_range_ps(x, vset1(lim), 0x02);
}
/* a with its sign flipped in the lanes where bit 0 of t is set */
static inline vf vflip(vf a, vi t)
{
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_slli_epi32(t, 31)));
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 vf;
typedef __m256i vi;
#define VL 8
static inline vf vset1(float x) { return _mm256_set1_ps(x); }
static inline vf vzero(void) { return _mm256_setzero_ps(); }
static inline vf vload(const float *p) { return _mm256_load_ps(p); }
static inline vf vloadu(const float *p) { return _mm256_loadu_ps(p); }
static inline void vstore(float *p, vf v) { _mm256_store_ps(p, v); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf vfnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
static inline float vhsum(vf a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline vi vtrunc(vf a) { return _mm256_cvttps_epi32(a); }
static inline vi vbits(vf a) { return _mm256_castps_si256(a); }
/* x > lim ? lim : x, x < -lim ? -lim : x, x == x ? x : 0: minps and maxps
 * answer their second operand when one is NaN, so NaN survives to the
 * ordered compare that clears it. */
static inline vf vclamp(vf x, float lim)
{
    x = _mm256_min_ps(vset1(lim), x);
    x = _mm256_max_ps(vset1(-lim), x);
    return _mm256_and_ps(x, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
}
static inline vf vflip(vf a, vi t)
{
    return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(a), _mm256_slli_epi32(t, 31)));
}
#endif

#ifdef VL
static inline void vstoreu(float *p, vf v)
{
#if VL == 16
    _mm512_storeu_ps(p, v);
#else
    _mm256_storeu_ps(p, v);
#endif
}

/* inrf_sincos (siren_math.h) lane by lane, operation for operation, so
 * that every lane has the bits of the scalar code: the same clamp of the
 * argument, fmaf(-k, c, x) as fnmadd(k, c, x) (the same exact value,
 * rounded once), and the sign flip of odd k as an exclusive-or of the sign
 * bit with the parity of k, read from bit 0 of t = 1.5 2^23 + k (|k| <
 * 2^21 sits in the low bits of t's significand) without a conversion. The
 * one vector copy for every width; tests/test_math.c compares its bits
 * with the scalar code's. */
static inline __attribute__((always_inline)) void vsincos(vf x, vf *s, vf *c)
{
    const vf round_magic = vset1(INRF_SIN_ROUND);
    x = vclamp(x, INRF_SIN_LIMIT);
    vf t = vfma(x, vset1(INRF_SIN_INV_PI), round_magic);
    vf k = vsub(t, round_magic);
    vf r = vfnma(k, vset1(INRF_SIN_PI_HI), x);
    r = vfnma(k, vset1(INRF_SIN_PI_LO), r);
    vf r2 = vmul(r, r);
    vf p = vfma(r2, vset1(INRF_SIN_S9), vset1(INRF_SIN_S7));
    p = vfma(p, r2, vset1(INRF_SIN_S5));
    p = vfma(p, r2, vset1(INRF_SIN_S3));
    p = vfma(vmul(p, r2), r, r);
    vf q = vfma(r2, vset1(INRF_COS_C8), vset1(INRF_COS_C6));
    q = vfma(q, r2, vset1(INRF_COS_C4));
    q = vfma(q, r2, vset1(INRF_COS_C2));
    q = vfma(q, r2, vset1(1.0f));
    *s = vflip(p, vbits(t));
    *c = vflip(q, vbits(t));
}

/* inrf_sin lane by lane: vsincos's sine (the cosine's operations are dead
 * code once inlined). */
static inline __attribute__((always_inline)) vf vsin(vf x)
{
    vf s, c;
    vsincos(x, &s, &c);
    return s;
}
#endif /* VL */

#endif /* INRF_SIMD_H */
