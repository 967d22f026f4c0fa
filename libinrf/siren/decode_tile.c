/* decode_tile.c: the SIREN forward pass over a tile of pixels, vectorised
 * across pixels. Built once per instruction set (Makefile.am) with
 * INRF_TILE_SUFFIX naming the copy; decode.c picks one at run time. */
#include <stddef.h>

#include "decode_tile.h"
#include "inrf/siren_math.h"

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define TILE_FN PASTE(inrf_tile_forward_, INRF_TILE_SUFFIX)

/* Register blocking of the SIMD kernels: a block is JB output neurons by
 * NV vectors of pixels, JB x NV accumulators that stay in registers while
 * the fan-in is walked; each weight is broadcast once and used NV times,
 * each input vector loaded once and used JB times. JB x NV must cover the
 * FMA latency times its throughput (4 cycles x 1 zmm or x 2 ymm per cycle
 * on Zen 4) and, with the NV inputs and a broadcast weight, fit in the
 * register file (32 zmm, 16 ymm) so that nothing spills. Within those
 * bounds the choice hardly matters (bench/RESULTS.md): the FMA port is the
 * limit, and the sine costs about 10 of its slots per 16 or 8 pixels. */
#include "../simd.h"
#if defined(VL) && VL == 16
#define NV 2  /* the whole 32-pixel tile */
#define JB 8  /* 16 accumulators + 2 inputs + 1 weight of 32 zmm; 40 = 5 x 8 */
#elif defined(VL)
#define NV 2 /* half a tile per block: NV = 4 leaves room for JB = 2 only */
#define JB 5 /* 10 accumulators + 2 inputs + 1 weight of 16 ymm; 40 = 8 x 5 */
#endif

#ifdef VL
#define PB (NV * VL) /* pixels of a block */
#if INRF_TILE % PB != 0
#error "INRF_TILE must be a multiple of NV * VL"
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* inrf_activate(z, omega) = inrf_sin(omega * z), lane by lane (simd.h's
 * vsin, which the bit-exactness tests compare with the scalar code). */
static ALWAYS_INLINE vf vactivate(vf z, vf omega) { return vsin(vmul(omega, z)); }

/* Neurons j .. j+jb-1 over the PB pixels at h and z (columns of a tile):
 * z[j][p] = b[j] + sum_k W[j][k] h[k][p], in the order of inrf_neuron(),
 * then the sine when act. jb and act are constants at every call, so the
 * loops over r and v unroll and the accumulators live in registers. */
static ALWAYS_INLINE void block(const float *W, const float *b, unsigned in, unsigned j, int jb,
                                const float *h, float *z, int act, float omega)
{
    vf acc[JB][NV];
    const float *wr[JB];
#pragma GCC unroll 16
    for (int r = 0; r < jb; r++) {
        wr[r] = W + (size_t)(j + r) * in;
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[r][v] = vset1(b[j + r]);
    }
    for (unsigned k = 0; k < in; k++) {
        vf hv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            hv[v] = vload(h + (size_t)k * INRF_TILE + v * VL);
#pragma GCC unroll 16
        for (int r = 0; r < jb; r++) {
            vf wv = vset1(wr[r][k]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[r][v] = vfma(wv, hv[v], acc[r][v]);
        }
    }
    const vf om = vset1(omega);
#pragma GCC unroll 16
    for (int r = 0; r < jb; r++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            vstore(z + (size_t)(j + r) * INRF_TILE + v * VL,
                   act ? vactivate(acc[r][v], om) : acc[r][v]);
}

/* One layer over the tile: blocks of JB neurons, the rest in blocks of 4,
 * 2 and 1 (the 3-channel output layer is a 2 and a 1). */
static ALWAYS_INLINE void layer(const float *W, const float *b, unsigned in, unsigned out,
                                const float *h, float *z, int act, float omega)
{
    for (unsigned p0 = 0; p0 < INRF_TILE; p0 += PB) {
        unsigned j = 0;
        for (; j + JB <= out; j += JB)
            block(W, b, in, j, JB, h + p0, z + p0, act, omega);
        for (; j + 4 <= out; j += 4)
            block(W, b, in, j, 4, h + p0, z + p0, act, omega);
        if (j + 2 <= out) {
            block(W, b, in, j, 2, h + p0, z + p0, act, omega);
            j += 2;
        }
        if (j < out)
            block(W, b, in, j, 1, h + p0, z + p0, act, omega);
    }
}

static void sine_layer(const float *W, const float *b, unsigned in, unsigned out,
                       const float *h, float *z, float omega)
{
    layer(W, b, in, out, h, z, 1, omega);
}

static void linear_layer(const float *W, const float *b, unsigned in, unsigned out,
                         const float *h, float *z)
{
    layer(W, b, in, out, h, z, 0, 0.0f);
}
#else
/* z[j][p] = b[j] + sum_k W[j][k] h[k][p], in the order of inrf_neuron(). */
static void linear_layer(const float *W, const float *b, unsigned in, unsigned out,
                         const float *h, float *z)
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

/* The same, then z = sin(omega * z) in place. */
static void sine_layer(const float *W, const float *b, unsigned in, unsigned out,
                       const float *h, float *z, float omega)
{
    linear_layer(W, b, in, out, h, z);
    for (size_t i = 0; i < (size_t)out * INRF_TILE; i++)
        z[i] = inrf_activate(z[i], omega);
}
#endif

void TILE_FN(const inrf_tile_net *net, const float *xy, float *out, float *scratch)
{
    const float *h = xy;
    size_t half = inrf_tile_scratch_floats(net) / 2;
    float *bufs[2] = {scratch, scratch + half};
    for (unsigned l = 0; l < net->layers; l++) {
        float *z = bufs[l & 1];
        sine_layer(net->w[l], net->b[l], net->in[l], net->out[l], h, z,
                   l == 0 ? net->omega_first : net->omega_hidden);
        h = z;
    }
    unsigned L = net->layers;
    linear_layer(net->w[L], net->b[L], net->in[L], net->out[L], h, out);
}
