/* train_kernel.c: forward and backward passes of a SIREN over a batch of
 * pixels, layer by layer, vectorised across pixels. Built once per
 * instruction set (Makefile.am, INRF_TILE_SUFFIX); encode.c picks one. */
#include <string.h>

#include "inrf/siren_math.h"
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
 *   (sine layers) or the error and the loss (output layer); the backward
 *   block with the chain rule, so none of these makes a pass of its own.
 * - the weight gradient: a DJ x DK block of dW held as vectors over pixels
 *   for the whole batch and summed across lanes once at the end, each
 *   loaded vector serving DK or DJ FMAs.
 * Blocks of 5 tile the widths that matter (15, 40) with no remainder;
 * other widths end with one smaller block. Rows of the work memory are
 * inrf_train_row_stride(n) floats apart (train.h). */
#include "simd.h"
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

/* The cosine polynomial of inrf_sincos() times omega, coefficients of
 * r^8, r^6, r^4, r^2, 1: the derivative omega cos(omega z) without a
 * multiply of its own. */
static void omega_cos_poly(float omega, float cq[5])
{
    static const float c[5] = {2.319437408e-05f, -1.385592623e-03f, 4.166398942e-02f,
                               -4.999993145e-01f, 1.0f};
    for (int i = 0; i < 5; i++)
        cq[i] = omega * c[i];
}

/* inrf_sincos(omega z) as siren_math.h computes it, lane by lane: s the
 * sine, and dc = omega times the cosine (cq: omega_cos_poly). */
static ALWAYS_INLINE void vsincos(vf z, vf omega, const float *cq, vf *s, vf *dc)
{
    const vf round_magic = vset1(12582912.0f);
    vf x = vclamp(vmul(omega, z), 4194304.0f);
    /* t = 1.5 2^23 + k: k, the nearest integer to x / pi, sits in the low
     * bits of t's significand (|k| < 2^21), so bit 0 of t is bit 0 of
     * (int32_t)k, the parity inrf_sincos() takes, without a conversion */
    vf t = vfma(x, vset1(0.318309886183790672f), round_magic);
    vf k = vsub(t, round_magic);
    vf r = vfnma(k, vset1(3.140625f), x);
    r = vfnma(k, vset1(9.67653589793e-4f), r);
    vf r2 = vmul(r, r);
    vf p = vfma(r2, vset1(2.590487838e-06f), vset1(-1.980089728e-04f));
    p = vfma(p, r2, vset1(8.332899772e-03f));
    p = vfma(p, r2, vset1(-1.666664779e-01f));
    p = vfma(vmul(p, r2), r, r);
    vf q = vfma(r2, vset1(cq[0]), vset1(cq[1]));
    q = vfma(q, r2, vset1(cq[2]));
    q = vfma(q, r2, vset1(cq[3]));
    q = vfma(q, r2, vset1(cq[4]));
    *s = vflip(p, vbits(t));
    *dc = vflip(q, vbits(t));
}

/* What a forward block does with its pre-activations: the sine layers
 * store h = sin(omega z) and d = omega cos(omega z); the output layer
 * stores the output gradient 2 scale (o - y) over the valid pixels (0
 * beyond), sums the squared errors, and sums the gradient for db. */
typedef struct fwd_out {
    float *h, *d;          /* sine layers: [out][s] */
    float *o;              /* output layer: [C][s] */
    const float *y;        /* [C][ny], the targets */
    size_t ny;
    float *db;             /* output layer: its bias gradient, added to */
    float omega, two_scale;
    float cq[5];           /* omega_cos_poly(omega) */
} fwd_out;

/* Neurons j .. j+jb-1 over nv vectors of pixels from p:
 * z[j][p] = b[j] + sum_k W[j][k] h[k][p], then the sine or the error.
 * Returns the block's squared errors (output layer), lane-wise, and adds
 * the output gradients to rs[r], for the bias gradient. jb, nv and
 * sine are constants at every call, so the accumulators live in
 * registers. */
static ALWAYS_INLINE vf fwd_block(const float *W, const float *b, unsigned in, unsigned j, int jb,
                                  int nv, const float *h, size_t s, size_t p, size_t valid,
                                  const fwd_out *f, int sine, vf *rs)
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
    vf sse = vzero();
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++) {
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            size_t at = (size_t)(j + r) * s + p + (size_t)v * VL;
            if (sine) {
                vf sn, dc;
                vsincos(acc[r][v], vset1(f->omega), f->cq, &sn, &dc);
                vstore(f->h + at, sn);
                vstore(f->d + at, dc);
            } else {
                size_t q = p + (size_t)v * VL;
                vf yv = vloadu(f->y + (size_t)(j + r) * f->ny + q); /* y: any alignment */
                vf e = vkeep(vsub(acc[r][v], yv), valid > q ? valid - q : 0);
                sse = vfma(e, e, sse);
                vf dv = vmul(vset1(f->two_scale), e);
                vstore(f->o + at, dv);
                rs[r] = vadd(rs[r], dv);
            }
        }
    }
    return sse;
}

/* Neurons j .. j+jb-1 over all n pixels. Rows outside, pixels inside:
 * the block's outputs go out as jb x 2 sequential streams that the
 * prefetcher follows, and its input rows are read again from L2. */
static ALWAYS_INLINE vf fwd_rows(const float *W, const float *b, unsigned in, unsigned j, int jb,
                                 const float *h, size_t s, size_t n, size_t valid,
                                 const fwd_out *f, int sine)
{
    vf sse = vzero(), rs[JB];
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++)
        rs[r] = vzero();
    size_t p = 0;
    for (; p + NV * VL <= n; p += NV * VL)
        sse = vadd(sse, fwd_block(W, b, in, j, jb, NV, h, s, p, valid, f, sine, rs));
    for (; p < n; p += VL)
        sse = vadd(sse, fwd_block(W, b, in, j, jb, 1, h, s, p, valid, f, sine, rs));
    if (!sine)
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++)
            f->db[j + r] += vhsum(rs[r]);
    return sse;
}

/* One layer over all n pixels, blocks of JB neurons then one of the rest;
 * returns the sum of squared errors of the output layer (0 for a sine
 * layer). */
static ALWAYS_INLINE double fwd_layer(const float *W, const float *b, unsigned in, unsigned out,
                                      const float *h, size_t s, size_t n, size_t valid,
                                      const fwd_out *f, int sine)
{
    vf sse = vzero();
    unsigned j = 0;
    for (; j + JB <= out; j += JB)
        sse = vadd(sse, fwd_rows(W, b, in, j, JB, h, s, n, valid, f, sine));
    switch (out - j) {
#if JB > 4
    case 4: sse = vadd(sse, fwd_rows(W, b, in, j, 4, h, s, n, valid, f, sine)); break;
#endif
#if JB > 3
    case 3: sse = vadd(sse, fwd_rows(W, b, in, j, 3, h, s, n, valid, f, sine)); break;
#endif
    case 2: sse = vadd(sse, fwd_rows(W, b, in, j, 2, h, s, n, valid, f, sine)); break;
    case 1: sse = vadd(sse, fwd_rows(W, b, in, j, 1, h, s, n, valid, f, sine)); break;
    default: break;
    }
    return vhsum(sse);
}

static void forward_sine(const float *W, const float *b, unsigned in, unsigned out,
                         const float *h, float *hout, float *d, size_t s, size_t n, float omega)
{
    fwd_out f = {.h = hout, .d = d, .omega = omega};
    omega_cos_poly(omega, f.cq);
    fwd_layer(W, b, in, out, h, s, n, n, &f, 1);
}

static double forward_output(const float *W, const float *b, unsigned in, unsigned out,
                             const float *h, float *o, const float *y, size_t ny, size_t s,
                             size_t n, size_t valid, float scale, float *db)
{
    fwd_out f = {.o = o, .y = y, .ny = ny, .db = db, .two_scale = 2.0f * scale};
    return fwd_layer(W, b, in, out, h, s, n, valid, &f, 0);
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

/* dW[j][k] += sum_p delta[j][p] h[k][p] for a jb x kb block, whole rows of
 * n pixels at a time; one sum across lanes per weight at the end. */
static ALWAYS_INLINE void dw_block(unsigned in, unsigned j, int jb, unsigned k, int kb,
                                   const float *delta, const float *h, float *dW, size_t s,
                                   size_t n)
{
    vf acc[DJ][DK];
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++)
#pragma GCC unroll 8
        for (int c = 0; c < kb; c++)
            acc[r][c] = vzero();
    for (size_t p = 0; p < n; p += VL) {
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
            dW[(size_t)(j + r) * in + k + c] += vhsum(acc[r][c]);
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

/* db[j] += sum_p delta[j][p] for rows j .. j+jb-1. (Kept apart from
 * dw_block and bwd_block: their accumulators fill the registers.) */
static ALWAYS_INLINE void db_rows(unsigned j, int jb, const float *delta, float *db, size_t s,
                                  size_t n)
{
    vf acc[DJ];
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++)
        acc[r] = vzero();
    for (size_t p = 0; p < n; p += VL)
#pragma GCC unroll 8
        for (int r = 0; r < jb; r++)
            acc[r] = vadd(acc[r], vload(delta + (size_t)(j + r) * s + p));
#pragma GCC unroll 8
    for (int r = 0; r < jb; r++)
        db[j + r] += vhsum(acc[r]);
}

static ALWAYS_INLINE void dwb_rows(unsigned in, unsigned j, int jb, const float *delta,
                                   const float *h, float *dW, float *db, size_t s, size_t n)
{
    if (db)
        db_rows(j, jb, delta, db, s, n);
    dw_rows(in, j, jb, delta, h, dW, s, n);
}

/* dW[j][k] += sum_p delta[j][p] h[k][p]; db[j] += sum_p delta[j][p] unless
 * db is NULL (the output layer's is summed by forward_output). */
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

/* The pass over n pixels whose coordinates and targets start at xy and y,
 * rows ny floats apart. */
static double pass_part(const inrf_train_net *net, const float *params, const float *xy,
                        const float *y, size_t ny, size_t n, size_t n_valid, float scale,
                        float *grad, float *work)
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
    memcpy(x + s, xy + ny, n * sizeof(float));

    const float *h = x;
    for (unsigned l = 0; l < L; l++) {
        forward_sine(params + net->woff[l], params + net->boff[l], net->in[l], net->out[l], h,
                     hs[l], ds[l], s, n, l == 0 ? net->omega_first : net->omega_hidden);
        h = hs[l];
    }
    /* the output, its error, the loss and the output gradient 2 scale (o - y) */
    double sse = forward_output(params + net->woff[L], params + net->boff[L], net->in[L], C, h, o,
                                y, ny, s, n, n_valid, scale, grad + net->boff[L]);

    /* output layer, then the sine layers from the top */
    const float *delta = o;
    for (unsigned l = L + 1; l-- > 0;) {
        const float *hin = l == 0 ? x : hs[l - 1];
        backward_weights(net->in[l], net->out[l], delta, hin, grad + net->woff[l],
                         l == L ? NULL : grad + net->boff[l], s, n);
        if (l == 0)
            break;
        float *g = (l & 1) ? g0 : g1;
        backward_input(params + net->woff[l], net->in[l], net->out[l], delta, ds[l - 1], g, s, n);
        delta = g;
    }
    return sse;
}

/* Floats of one [width][pixels] array that keep a layer's inputs, outputs
 * and derivatives within a 1 MiB L2 (Zen 4): 10 x 40 runs about 20 %
 * faster per pixel in parts of 1,024 to 2,048 pixels than in one of 4,096. */
#define PART_FLOATS 65536

double PASS_FN(const inrf_train_net *net, const float *params, const float *xy, const float *y,
               size_t n, size_t n_valid, float scale, float *grad, float *work)
{
    /* equal parts, multiples of INRF_TRAIN_ALIGN, fixed by n and the net
     * alone: the same inputs give the same bits */
    size_t parts = ((size_t)net->max_width * n + PART_FLOATS - 1) / PART_FLOATS;
    size_t groups = n / INRF_TRAIN_ALIGN;
    parts = parts < 1 ? 1 : (parts > groups ? groups : parts);
    size_t len = (groups + parts - 1) / parts * INRF_TRAIN_ALIGN;
    double sse = 0.0;
    for (size_t p0 = 0; p0 < n; p0 += len) {
        size_t m = n - p0 < len ? n - p0 : len;
        size_t v = n_valid > p0 ? (n_valid - p0 < m ? n_valid - p0 : m) : 0;
        sse += pass_part(net, params, xy + p0, y + p0, n, m, v, scale, grad, work);
    }
    return sse;
}
#else /* portable C: GCC vector extensions, the layers one after another */
/* 16 floats: one AVX-512 register, two AVX2 ones, four SSE ones. */
typedef float v16 __attribute__((vector_size(64)));
#define VL 16

static inline v16 ld(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void st(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline v16 splat(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
static inline float hsum(v16 v)
{
    float s = 0.0f;
    for (int i = 0; i < VL; i++)
        s += v[i];
    return s;
}

/* z[j][p] = b[j] + sum_k W[j][k] h[k][p]; rows of n floats. */
static void forward(const float *W, const float *b, unsigned in, unsigned out, const float *h,
                    float *z, size_t n)
{
    for (size_t p = 0; p < n; p += VL) {
        unsigned j = 0;
        for (; j + 4 <= out; j += 4) {
            v16 a0 = splat(b[j]), a1 = splat(b[j + 1]), a2 = splat(b[j + 2]), a3 = splat(b[j + 3]);
            const float *w0 = W + (size_t)j * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
            for (unsigned k = 0; k < in; k++) {
                v16 hv = ld(h + (size_t)k * n + p);
                a0 += w0[k] * hv;
                a1 += w1[k] * hv;
                a2 += w2[k] * hv;
                a3 += w3[k] * hv;
            }
            st(z + (size_t)j * n + p, a0);
            st(z + (size_t)(j + 1) * n + p, a1);
            st(z + (size_t)(j + 2) * n + p, a2);
            st(z + (size_t)(j + 3) * n + p, a3);
        }
        for (; j < out; j++) {
            v16 a = splat(b[j]);
            const float *w = W + (size_t)j * in;
            for (unsigned k = 0; k < in; k++)
                a += w[k] * ld(h + (size_t)k * n + p);
            st(z + (size_t)j * n + p, a);
        }
    }
}

/* g[k][p] = sum_j W[j][k] delta[j][p]: the gradient reaching the inputs. */
static void backward_input(const float *W, unsigned in, unsigned out, const float *delta, float *g,
                           size_t n)
{
    for (size_t p = 0; p < n; p += VL) {
        unsigned k = 0;
        for (; k + 4 <= in; k += 4) {
            v16 a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0);
            for (unsigned j = 0; j < out; j++) {
                v16 dv = ld(delta + (size_t)j * n + p);
                const float *w = W + (size_t)j * in + k;
                a0 += w[0] * dv;
                a1 += w[1] * dv;
                a2 += w[2] * dv;
                a3 += w[3] * dv;
            }
            st(g + (size_t)k * n + p, a0);
            st(g + (size_t)(k + 1) * n + p, a1);
            st(g + (size_t)(k + 2) * n + p, a2);
            st(g + (size_t)(k + 3) * n + p, a3);
        }
        for (; k < in; k++) {
            v16 a = splat(0);
            for (unsigned j = 0; j < out; j++)
                a += W[(size_t)j * in + k] * ld(delta + (size_t)j * n + p);
            st(g + (size_t)k * n + p, a);
        }
    }
}

/* dW[j][k] += sum_p delta[j][p] h[k][p]; db[j] += sum_p delta[j][p]. */
static void backward_weights(unsigned in, unsigned out, const float *delta, const float *h,
                             float *dW, float *db, size_t n)
{
    for (unsigned j = 0; j < out; j++) {
        const float *dj = delta + (size_t)j * n;
        v16 sb = splat(0);
        for (size_t p = 0; p < n; p += VL)
            sb += ld(dj + p);
        db[j] += hsum(sb);
        unsigned k = 0;
        for (; k + 4 <= in; k += 4) {
            v16 a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0);
            const float *h0 = h + (size_t)k * n, *h1 = h0 + n, *h2 = h1 + n, *h3 = h2 + n;
            for (size_t p = 0; p < n; p += VL) {
                v16 dv = ld(dj + p);
                a0 += dv * ld(h0 + p);
                a1 += dv * ld(h1 + p);
                a2 += dv * ld(h2 + p);
                a3 += dv * ld(h3 + p);
            }
            dW[(size_t)j * in + k] += hsum(a0);
            dW[(size_t)j * in + k + 1] += hsum(a1);
            dW[(size_t)j * in + k + 2] += hsum(a2);
            dW[(size_t)j * in + k + 3] += hsum(a3);
        }
        for (; k < in; k++) {
            v16 a = splat(0);
            const float *hk = h + (size_t)k * n;
            for (size_t p = 0; p < n; p += VL)
                a += ld(dj + p) * ld(hk + p);
            dW[(size_t)j * in + k] += hsum(a);
        }
    }
}

/* h = sin(w0 z) in place of z; d = w0 cos(w0 z), the derivative. Not
 * inlined: the restrict pointers are what let the compiler vectorise it. */
static __attribute__((noinline)) void activate(float *restrict zh, float *restrict d, size_t count, float omega)
{
    for (size_t i = 0; i < count; i++) {
        float s, c;
        inrf_sincos(omega * zh[i], &s, &c);
        zh[i] = s;
        d[i] = omega * c;
    }
}

/* g *= d, element-wise: the chain rule through the sine. */
static __attribute__((noinline)) void chain(float *restrict g, const float *restrict d, size_t count)
{
    for (size_t i = 0; i < count; i++)
        g[i] *= d[i];
}

/* e = o - y over the valid pixels (0 beyond); o becomes 2 scale e; returns
 * the sum of e^2. */
static double output_error(float *o, const float *y, size_t n, size_t n_valid, float scale)
{
    v16 acc = splat(0);
    size_t p = 0;
    for (; p + VL <= n_valid; p += VL) {
        v16 e = ld(o + p) - ld(y + p);
        acc += e * e;
        st(o + p, (2.0f * scale) * e);
    }
    double sse = hsum(acc);
    for (; p < n_valid; p++) {
        float e = o[p] - y[p];
        sse += (double)e * e;
        o[p] = 2.0f * scale * e;
    }
    for (; p < n; p++)
        o[p] = 0.0f;
    return sse;
}

double PASS_FN(const inrf_train_net *net, const float *params, const float *xy, const float *y,
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

    /* error, loss and the output gradient 2 * scale * (o - y) */
    double sse = 0.0;
    for (unsigned c = 0; c < C; c++)
        sse += output_error(o + (size_t)c * n, y + (size_t)c * n, n, n_valid, scale);

    /* output layer, then the sine layers from the top */
    const float *delta = o;
    for (unsigned l = L + 1; l-- > 0;) {
        const float *hin = l == 0 ? xy : hs[l - 1];
        backward_weights(net->in[l], net->out[l], delta, hin, grad + net->woff[l], grad + net->boff[l], n);
        if (l == 0)
            break;
        float *g = (l & 1) ? g0 : g1;
        backward_input(params + net->woff[l], net->in[l], net->out[l], delta, g, n);
        chain(g, ds[l - 1], (size_t)net->in[l] * n);
        delta = g;
    }
    return sse;
}
#endif
