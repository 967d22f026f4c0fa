/* simd.h: the thin wrappers over AVX-512 and AVX2 intrinsics that the SIMD
 * kernels (decode_tile.c, train_kernel.c) share. VL is defined only when
 * the file is built for one of those instruction sets. Private. */
#ifndef INRF_SIMD_H
#define INRF_SIMD_H

#include <stddef.h>

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

#endif /* INRF_SIMD_H */
