/* train_kernel.c: forward and backward passes of a SIREN over a chunk of
 * pixels, layer by layer, vectorised across pixels. Built once per
 * instruction set (Makefile.am, INRF_TILE_SUFFIX); cpu.c picks one, and
 * every copy gives the same bits (train.h). */
#include <string.h>

#include "inrf/siren_math.h"
#include "simd.h"
#include "train.h"

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define PASS_FN PASTE(inrf_train_pass_, INRF_TILE_SUFFIX)

/* The SIMD copies (AVX-512, AVX2) are register blocked like decode_tile.c
 * and run near the FMA port's limit (the sine is about a third of the
 * slots for 3 x 15):
 * - forward and backward-to-input passes: blocks of JB neurons by NV
 *   vectors of pixels, JB x NV accumulators held while the fan-in is
 *   walked, so that each broadcast weight serves NV FMAs and each loaded
 *   vector JB. The forward block ends with the sine and its derivative
 *   (sine layers); the backward block with the chain rule, so neither
 *   makes a pass of its own.
 * - the weight gradient: a DJ x DK block of dW held as vectors over pixels
 *   for the whole batch and summed across lanes once at the end, each
 *   loaded vector serving DK or DJ FMAs.
 * Blocks of 5 tile the widths that matter (15, 40) with no remainder;
 * other widths end with one smaller block. Rows of the work memory are
 * inrf_train_row_stride(n) floats apart (train.h).
 * Same bits on every copy: what is computed per pixel (forward, chain
 * rule) is a chain of FMAs in a fixed order in each lane, and each sum over
 * pixels is taken over 16 logical lanes (pixel p in lane p mod 16) that
 * inrf_sum16 reduces: AVX-512 holds them in one register, AVX2 walks the
 * pixels twice (lanes 0-7, then 8-15), the portable copy in 16 floats. */

/* The error of the output rows o (rows s apart) against y (rows n apart)
 * over the valid pixels: o becomes two_scale (o - y), 0 beyond; returns the
 * sum of the squared errors, in double, channel by channel and pixel by
 * pixel (scalar in every copy: a sum in one order). */
static double output_error(float *o, size_t s, const float *y, size_t n, size_t valid,
                           unsigned C, float two_scale)
{
    double sse = 0.0;
    for (unsigned c = 0; c < C; c++) {
        float *oc = o + (size_t)c * s;
        const float *yc = y + (size_t)c * n;
        for (size_t p = 0; p < valid; p++) {
            float e = oc[p] - yc[p];
            sse += (double)e * e;
            oc[p] = two_scale * e;
        }
        for (size_t p = valid; p < n; p++)
            oc[p] = 0.0f;
    }
    return sse;
}

#if defined(VL) && VL == 16
#define NV 4 /* 20 accumulators + 4 inputs + 1 weight of 32 zmm */
#define JB 5
#define DJ 5 /* 25 accumulators + 5 inputs + 1 delta */
#define DK 5
/* x in its first count lanes, 0 in the others */
static inline vf vkeep(vf x, size_t count)
{
    return count >= VL ? x : _mm512_maskz_mov_ps((__mmask16)((1u << count) - 1u), x);
}
#elif defined(VL)
#define NV 2 /* 10 accumulators + 2 inputs + 1 weight of 16 ymm */
#define JB 5
#define DJ 4 /* 12 accumulators + 3 inputs + 1 delta */
#define DK 3
static inline vf vkeep(vf x, size_t count)
{
    if (count >= VL)
        return x;
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lane);
    return _mm256_and_ps(x, _mm256_castsi256_ps(m));
}
#endif /* else VL stays undefined: the portable path below */

#ifdef VL
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define PARTS (16 / VL) /* passes over the pixels of a 16-lane sum */

/* What a forward block does with its pre-activations: the sine layers
 * store h = sin(omega z) and d = omega cos(omega z); the output layer
 * stores the outputs. */
typedef struct fwd_out {
    float *h, *d;          /* sine layers: [out][s]; the output layer: h only */
    float omega;
} fwd_out;

/* Neurons j .. j+jb-1 over nv vectors of pixels from p:
 * z[j][p] = b[j] + sum_k W[j][k] h[k][p], then the sine. jb, nv and sine
 * are constants at every call, so the accumulators live in registers. */
static ALWAYS_INLINE void fwd_block(const float *W, const float *b, unsigned in, unsigned j,
                                    int jb, int nv, const float *h, size_t s, size_t p,
                                    const fwd_out *f, int sine)
{
    vf acc[JB][NV];
    const float *wr[JB];
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++) {
        wr[r] = W + (size_t)(j + r) * in;
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            acc[r][v] = vset1(b[j + r]);
    }
    for (unsigned k = 0; k < in; k++) {
        vf hv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            hv[v] = vload(h + (size_t)k * s + p + (size_t)v * VL);
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++) {
            vf wv = vset1(wr[r][k]);
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++)
                acc[r][v] = vfma(wv, hv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++) {
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            size_t at = (size_t)(j + r) * s + p + (size_t)v * VL;
            if (sine) {
                vf sn, cs;
                vsincos(vmul(vset1(f->omega), acc[r][v]), &sn, &cs);
                vstore(f->h + at, sn);
                vstore(f->d + at, vmul(vset1(f->omega), cs));
            } else {
                vstore(f->h + at, acc[r][v]);
            }
        }
    }
}

/* Neurons j .. j+jb-1 over all n pixels. Rows outside, pixels inside:
 * the block's outputs go out as jb x 2 sequential streams that the
 * prefetcher follows, and its input rows are read again from L2. */
static ALWAYS_INLINE void fwd_rows(const float *W, const float *b, unsigned in, unsigned j,
                                   int jb, const float *h, size_t s, size_t n, const fwd_out *f,
                                   int sine)
{
    size_t p = 0;
    for (; p + NV * VL <= n; p += NV * VL)
        fwd_block(W, b, in, j, jb, NV, h, s, p, f, sine);
    for (; p < n; p += VL)
        fwd_block(W, b, in, j, jb, 1, h, s, p, f, sine);
}

/* One layer over all n pixels, blocks of JB neurons then one of the rest. */
static ALWAYS_INLINE void fwd_layer(const float *W, const float *b, unsigned in, unsigned out,
                                    const float *h, size_t s, size_t n, const fwd_out *f,
                                    int sine)
{
    unsigned j = 0;
    for (; j + JB <= out; j += JB)
        fwd_rows(W, b, in, j, JB, h, s, n, f, sine);
    switch (out - j) {
#if JB > 4
    case 4: fwd_rows(W, b, in, j, 4, h, s, n, f, sine); break;
#endif
#if JB > 3
    case 3: fwd_rows(W, b, in, j, 3, h, s, n, f, sine); break;
#endif
    case 2: fwd_rows(W, b, in, j, 2, h, s, n, f, sine); break;
    case 1: fwd_rows(W, b, in, j, 1, h, s, n, f, sine); break;
    default: break;
    }
}

static void forward_sine(const float *W, const float *b, unsigned in, unsigned out,
                         const float *h, float *hout, float *d, size_t s, size_t n, float omega)
{
    fwd_out f = {.h = hout, .d = d, .omega = omega};
    fwd_layer(W, b, in, out, h, s, n, &f, 1);
}

static void forward_linear(const float *W, const float *b, unsigned in, unsigned out,
                           const float *h, float *o, size_t s, size_t n)
{
    fwd_out f = {.h = o};
    fwd_layer(W, b, in, out, h, s, n, &f, 0);
}

/* Inputs k .. k+kb-1 over nv vectors of pixels from p: the gradient
 * reaching them, sum_j W[j][k] delta[j][p], times the derivative of their
 * sine d[k][p] (the chain rule): the next layer down's delta. */
static ALWAYS_INLINE void bwd_block(const float *W, unsigned in, unsigned out, unsigned k, int kb,
                                    int nv, const float *delta, const float *d, float *g,
                                    size_t s, size_t p)
{
    vf acc[JB][NV];
#pragma GCC unroll 8
    for (int r = 0; r < kb; r++)
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            acc[r][v] = vzero();
    for (unsigned j = 0; j < out; j++) {
        vf dv[NV];
        const float *w = W + (size_t)j * in + k;
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            dv[v] = vload(delta + (size_t)j * s + p + (size_t)v * VL);
#pragma GCC unroll 8
        for (int r = 0; r < kb; r++) {
            vf wv = vset1(w[r]);
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++)
                acc[r][v] = vfma(wv, dv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < kb; r++)
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            size_t at = (size_t)(k + r) * s + p + (size_t)v * VL;
            vstore(g + at, vmul(acc[r][v], vload(d + at)));
        }
}

/* Inputs k .. k+kb-1 over all n pixels (rows outside, as fwd_rows). */
static ALWAYS_INLINE void bwd_rows(const float *W, unsigned in, unsigned out, unsigned k, int kb,
                                   const float *delta, const float *d, float *g, size_t s,
                                   size_t n)
{
    size_t p = 0;
    for (; p + NV * VL <= n; p += NV * VL)
        bwd_block(W, in, out, k, kb, NV, delta, d, g, s, p);
    for (; p < n; p += VL)
        bwd_block(W, in, out, k, kb, 1, delta, d, g, s, p);
}

/* g[k][p] = d[k][p] sum_j W[j][k] delta[j][p] over all n pixels. */
static void backward_input(const float *W, unsigned in, unsigned out, const float *delta,
                           const float *d, float *g, size_t s, size_t n)
{
    unsigned k = 0;
    for (; k + JB <= in; k += JB)
        bwd_rows(W, in, out, k, JB, delta, d, g, s, n);
    switch (in - k) {
#if JB > 4
    case 4: bwd_rows(W, in, out, k, 4, delta, d, g, s, n); break;
#endif
#if JB > 3
    case 3: bwd_rows(W, in, out, k, 3, delta, d, g, s, n); break;
#endif
    case 2: bwd_rows(W, in, out, k, 2, delta, d, g, s, n); break;
    case 1: bwd_rows(W, in, out, k, 1, delta, d, g, s, n); break;
    default: break;
    }
}

/* dW[j][k] += sum_p delta[j][p] h[k][p] for a jb x kb block: the 16
 * logical lanes of each sum held in registers (PARTS passes over the
 * pixels, VL lanes each), then reduced by inrf_sum16. */
static ALWAYS_INLINE void dw_block(unsigned in, unsigned j, int jb, unsigned k, int kb,
                                   const float *delta, const float *h, float *dW, size_t s,
                                   size_t n)
{
    float lanes[DJ][DK][16] __attribute__((aligned(64)));
    for (int part = 0; part < PARTS; part++) {
        vf acc[DJ][DK];
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++)
#pragma GCC unroll 8
            for (int c = 0; c < kb; c++)
                acc[r][c] = vzero();
        for (size_t p = (size_t)part * VL; p < n; p += 16) {
            vf hv[DK];
#pragma GCC unroll 8
            for (int c = 0; c < kb; c++)
                hv[c] = vload(h + (size_t)(k + c) * s + p);
#pragma GCC unroll 8
            for (int r = 0; r < jb; r++) {
                vf dv = vload(delta + (size_t)(j + r) * s + p);
#pragma GCC unroll 8
                for (int c = 0; c < kb; c++)
                    acc[r][c] = vfma(dv, hv[c], acc[r][c]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++)
#pragma GCC unroll 8
            for (int c = 0; c < kb; c++)
                vstore(lanes[r][c] + part * VL, acc[r][c]);
    }
    for (int r = 0; r < jb; r++)
        for (int c = 0; c < kb; c++)
            dW[(size_t)(j + r) * in + k + c] += inrf_sum16(lanes[r][c]);
}

/* Rows j .. j+jb-1 of dW: blocks of DK inputs, then one of the rest. */
static ALWAYS_INLINE void dw_rows(unsigned in, unsigned j, int jb, const float *delta,
                                  const float *h, float *dW, size_t s, size_t n)
{
    unsigned k = 0;
    for (; k + DK <= in; k += DK)
        dw_block(in, j, jb, k, DK, delta, h, dW, s, n);
    switch (in - k) {
#if DK > 4
    case 4: dw_block(in, j, jb, k, 4, delta, h, dW, s, n); break;
#endif
#if DK > 3
    case 3: dw_block(in, j, jb, k, 3, delta, h, dW, s, n); break;
#endif
    case 2: dw_block(in, j, jb, k, 2, delta, h, dW, s, n); break;
    case 1: dw_block(in, j, jb, k, 1, delta, h, dW, s, n); break;
    default: break;
    }
}

/* db[j] += sum_p delta[j][p] for rows j .. j+jb-1, over 16 lanes as
 * dw_block. (Kept apart from dw_block and bwd_block: their accumulators
 * fill the registers.) */
static ALWAYS_INLINE void db_rows(unsigned j, int jb, const float *delta, float *db, size_t s,
                                  size_t n)
{
    float lanes[DJ][16] __attribute__((aligned(64)));
    for (int part = 0; part < PARTS; part++) {
        vf acc[DJ];
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++)
            acc[r] = vzero();
        for (size_t p = (size_t)part * VL; p < n; p += 16)
#pragma GCC unroll 8
            for (int r = 0; r < jb; r++)
                acc[r] = vadd(acc[r], vload(delta + (size_t)(j + r) * s + p));
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++)
            vstore(lanes[r] + part * VL, acc[r]);
    }
    for (int r = 0; r < jb; r++)
        db[j + r] += inrf_sum16(lanes[r]);
}

static ALWAYS_INLINE void dwb_rows(unsigned in, unsigned j, int jb, const float *delta,
                                   const float *h, float *dW, float *db, size_t s, size_t n)
{
    db_rows(j, jb, delta, db, s, n);
    dw_rows(in, j, jb, delta, h, dW, s, n);
}

/* dW[j][k] += sum_p delta[j][p] h[k][p]; db[j] += sum_p delta[j][p]. */
static void backward_weights(unsigned in, unsigned out, const float *delta, const float *h,
                             float *dW, float *db, size_t s, size_t n)
{
    unsigned j = 0;
    for (; j + DJ <= out; j += DJ)
        dwb_rows(in, j, DJ, delta, h, dW, db, s, n);
    switch (out - j) {
#if DJ > 4
    case 4: dwb_rows(in, j, 4, delta, h, dW, db, s, n); break;
#endif
#if DJ > 3
    case 3: dwb_rows(in, j, 3, delta, h, dW, db, s, n); break;
#endif
    case 2: dwb_rows(in, j, 2, delta, h, dW, db, s, n); break;
    case 1: dwb_rows(in, j, 1, delta, h, dW, db, s, n); break;
    default: break;
    }
}

double PASS_FN(const inrf_tm_net *net, const float *params, const float *xy, const float *y,
               size_t n, size_t n_valid, float scale, float *grad, float *work)
{
    const unsigned L = net->layers, C = net->out[L];
    /* work: rows of s floats (train.h): xy, h and d of every sine layer,
     * the output, two gradient rows */
    const size_t s = inrf_train_row_stride(n);
    float *hs[INRF_MAX_SINE_LAYERS], *ds[INRF_MAX_SINE_LAYERS];
    float *w = work;
    float *x = w;
    w += 2 * s;
    for (unsigned l = 0; l < L; l++) {
        hs[l] = w, w += (size_t)net->out[l] * s;
        ds[l] = w, w += (size_t)net->out[l] * s;
    }
    float *o = w;
    w += (size_t)C * s;
    float *g0 = w, *g1 = w + (size_t)net->max_width * s;
    /* the coordinates too, so that every row the blocks read is s apart */
    memcpy(x, xy, n * sizeof(float));
    memcpy(x + s, xy + n, n * sizeof(float));

    const float *h = x;
    for (unsigned l = 0; l < L; l++) {
        forward_sine(params + net->woff[l], params + net->boff[l], net->in[l], net->out[l], h,
                     hs[l], ds[l], s, n, l == 0 ? net->omega_first : net->omega_hidden);
        h = hs[l];
    }
    forward_linear(params + net->woff[L], params + net->boff[L], net->in[L], C, h, o, s, n);
    /* the error, the loss and the output gradient 2 scale (o - y) */
    double sse = output_error(o, s, y, n, n_valid, C, 2.0f * scale);

    /* output layer, then the sine layers from the top */
    const float *delta = o;
    for (unsigned l = L + 1; l-- > 0;) {
        const float *hin = l == 0 ? x : hs[l - 1];
        backward_weights(net->in[l], net->out[l], delta, hin, grad + net->woff[l],
                         grad + net->boff[l], s, n);
        if (l == 0)
            break;
        float *g = (l & 1) ? g0 : g1;
        backward_input(params + net->woff[l], net->in[l], net->out[l], delta, ds[l - 1], g, s, n);
        delta = g;
    }
    return sse;
}
#else /* portable C: the layers one after another, scalar fmaf in the same orders */
/* z[j][p] = b[j] + sum_k W[j][k] h[k][p], in order k = 0, 1, ...; rows
 * of n floats. */
static void forward(const float *W, const float *b, unsigned in, unsigned out, const float *h,
                    float *z, size_t n)
{
    for (unsigned j = 0; j < out; j++) {
        float *zj = z + (size_t)j * n;
        for (size_t p = 0; p < n; p++)
            zj[p] = b[j];
        for (unsigned k = 0; k < in; k++) {
            const float wk = W[(size_t)j * in + k], *hk = h + (size_t)k * n;
            for (size_t p = 0; p < n; p++)
                zj[p] = fmaf(wk, hk[p], zj[p]);
        }
    }
}

/* g[k][p] = d[k][p] sum_j W[j][k] delta[j][p], in order j = 0, 1, ... */
static void backward_input(const float *W, unsigned in, unsigned out, const float *delta,
                           const float *d, float *g, size_t n)
{
    for (unsigned k = 0; k < in; k++) {
        float *gk = g + (size_t)k * n;
        for (size_t p = 0; p < n; p++)
            gk[p] = 0.0f;
        for (unsigned j = 0; j < out; j++) {
            const float wj = W[(size_t)j * in + k], *dj = delta + (size_t)j * n;
            for (size_t p = 0; p < n; p++)
                gk[p] = fmaf(wj, dj[p], gk[p]);
        }
        for (size_t p = 0; p < n; p++)
            gk[p] = gk[p] * d[(size_t)k * n + p];
    }
}

/* dW[j][k] += sum_p delta[j][p] h[k][p]; db[j] += sum_p delta[j][p]: 16
 * lanes, then inrf_sum16, as the SIMD copies. */
static void backward_weights(unsigned in, unsigned out, const float *delta, const float *h,
                             float *dW, float *db, size_t n)
{
    float acc[16];
    for (unsigned j = 0; j < out; j++) {
        const float *dj = delta + (size_t)j * n;
        for (int l = 0; l < 16; l++)
            acc[l] = 0.0f;
        for (size_t p = 0; p < n; p += 16)
            for (int l = 0; l < 16; l++)
                acc[l] = acc[l] + dj[p + l];
        db[j] += inrf_sum16(acc);
        for (unsigned k = 0; k < in; k++) {
            const float *hk = h + (size_t)k * n;
            for (int l = 0; l < 16; l++)
                acc[l] = 0.0f;
            for (size_t p = 0; p < n; p += 16)
                for (int l = 0; l < 16; l++)
                    acc[l] = fmaf(dj[p + l], hk[p + l], acc[l]);
            dW[(size_t)j * in + k] += inrf_sum16(acc);
        }
    }
}

/* h = sin(w0 z) in place of z; d = w0 cos(w0 z), the derivative. */
static void activate(float *zh, float *d, size_t count, float omega)
{
    for (size_t i = 0; i < count; i++) {
        float s, c;
        inrf_sincos(omega * zh[i], &s, &c);
        zh[i] = s;
        d[i] = omega * c;
    }
}

double PASS_FN(const inrf_tm_net *net, const float *params, const float *xy, const float *y,
               size_t n, size_t n_valid, float scale, float *grad, float *work)
{
    const unsigned L = net->layers, C = net->out[L];
    /* work: h and d of every sine layer, the output, two gradient rows */
    float *hs[INRF_MAX_SINE_LAYERS], *ds[INRF_MAX_SINE_LAYERS];
    float *w = work;
    for (unsigned l = 0; l < L; l++) {
        hs[l] = w, w += (size_t)net->out[l] * n;
        ds[l] = w, w += (size_t)net->out[l] * n;
    }
    float *o = w;
    w += (size_t)C * n;
    float *g0 = w, *g1 = w + (size_t)net->max_width * n;

    const float *h = xy;
    for (unsigned l = 0; l < L; l++) {
        forward(params + net->woff[l], params + net->boff[l], net->in[l], net->out[l], h, hs[l], n);
        activate(hs[l], ds[l], (size_t)net->out[l] * n, l == 0 ? net->omega_first : net->omega_hidden);
        h = hs[l];
    }
    forward(params + net->woff[L], params + net->boff[L], net->in[L], C, h, o, n);
    /* the error, the loss and the output gradient 2 scale (o - y) */
    double sse = output_error(o, n, y, n, n_valid, C, 2.0f * scale);

    /* output layer, then the sine layers from the top */
    const float *delta = o;
    for (unsigned l = L + 1; l-- > 0;) {
        const float *hin = l == 0 ? xy : hs[l - 1];
        backward_weights(net->in[l], net->out[l], delta, hin, grad + net->woff[l], grad + net->boff[l], n);
        if (l == 0)
            break;
        float *g = (l & 1) ? g0 : g1;
        backward_input(params + net->woff[l], net->in[l], net->out[l], delta, ds[l - 1], g, n);
        delta = g;
    }
    return sse;
}
#endif
