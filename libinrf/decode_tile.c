/* decode_tile.c: the SIREN forward pass over a tile of pixels, vectorised
 * across pixels. Built once per instruction set (Makefile.am) with
 * INRF_TILE_SUFFIX naming the copy; decode.c picks one at run time. */
#include <stddef.h>

#include "decode_tile.h"
#include "inrf/siren_math.h"

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define TILE_FN PASTE(inrf_tile_forward_, INRF_TILE_SUFFIX)

#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 vf;
#define VL 16
#define JB 4 /* output neurons per block: JB x NV accumulators in registers */
static inline vf vset1(float x) { return _mm512_set1_ps(x); }
static inline vf vload(const float *p) { return _mm512_load_ps(p); }
static inline void vstore(float *p, vf v) { _mm512_store_ps(p, v); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 vf;
#define VL 8
#define JB 2
static inline vf vset1(float x) { return _mm256_set1_ps(x); }
static inline vf vload(const float *p) { return _mm256_load_ps(p); }
static inline void vstore(float *p, vf v) { _mm256_store_ps(p, v); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
#else
#define VL 0 /* portable scalar path with fmaf() */
#endif

#if VL
#define NV (INRF_TILE / VL)

/* z[j][p] = b[j] + sum_k W[j][k] h[k][p], in the order of inrf_neuron(). */
static void affine(const float *W, const float *b, unsigned in, unsigned out, const float *h,
                   float *z)
{
    unsigned j = 0;
    for (; j + JB <= out; j += JB) {
        vf acc[JB][NV];
        for (int r = 0; r < JB; r++)
            for (int v = 0; v < NV; v++)
                acc[r][v] = vset1(b[j + r]);
        const float *wr = W + (size_t)j * in;
        for (unsigned k = 0; k < in; k++) {
            vf hv[NV];
            for (int v = 0; v < NV; v++)
                hv[v] = vload(h + (size_t)k * INRF_TILE + v * VL);
            for (int r = 0; r < JB; r++) {
                vf wv = vset1(wr[(size_t)r * in + k]);
                for (int v = 0; v < NV; v++)
                    acc[r][v] = vfma(wv, hv[v], acc[r][v]);
            }
        }
        for (int r = 0; r < JB; r++)
            for (int v = 0; v < NV; v++)
                vstore(z + (size_t)(j + r) * INRF_TILE + v * VL, acc[r][v]);
    }
    for (; j < out; j++) {
        vf acc[NV];
        for (int v = 0; v < NV; v++)
            acc[v] = vset1(b[j]);
        const float *wr = W + (size_t)j * in;
        for (unsigned k = 0; k < in; k++) {
            vf wv = vset1(wr[k]);
            for (int v = 0; v < NV; v++)
                acc[v] = vfma(wv, vload(h + (size_t)k * INRF_TILE + v * VL), acc[v]);
        }
        for (int v = 0; v < NV; v++)
            vstore(z + (size_t)j * INRF_TILE + v * VL, acc[v]);
    }
}
#else
static void affine(const float *W, const float *b, unsigned in, unsigned out, const float *h,
                   float *z)
{
    for (unsigned j = 0; j < out; j++) {
        float *zj = z + (size_t)j * INRF_TILE;
        for (int p = 0; p < INRF_TILE; p++)
            zj[p] = b[j];
        for (unsigned k = 0; k < in; k++) {
            float w = W[(size_t)j * in + k];
            const float *hk = h + (size_t)k * INRF_TILE;
            for (int p = 0; p < INRF_TILE; p++)
                zj[p] = fmaf(w, hk[p], zj[p]);
        }
    }
}
#endif

/* h = sin(omega * z), in place; the compiler vectorises inrf_activate. */
static void activate(float *restrict z, size_t n, float omega)
{
    for (size_t i = 0; i < n; i++)
        z[i] = inrf_activate(z[i], omega);
}

void TILE_FN(const inrf_tile_net *net, const float *xy, float *out, float *scratch)
{
    const float *h = xy;
    size_t half = inrf_tile_scratch_floats(net) / 2;
    float *bufs[2] = {scratch, scratch + half};
    for (unsigned l = 0; l < net->layers; l++) {
        float *z = bufs[l & 1];
        affine(net->w[l], net->b[l], net->in[l], net->out[l], h, z);
        activate(z, (size_t)net->out[l] * INRF_TILE, l == 0 ? net->omega_first : net->omega_hidden);
        h = z;
    }
    unsigned L = net->layers;
    affine(net->w[L], net->b[L], net->in[L], net->out[L], h, out);
}
