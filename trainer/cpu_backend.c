/* cpu_backend.c: the CPU backend: NHWC kernels in plain C with OpenMP, and
 * cblas_sgemm for the convolutions (im2col here, Winograd in winograd.c)
 * and the classifier. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_backend.h"
#include "cpu_internal.h"
#include "error.h"
#include "winograd.h"


static cpu_backend *cpu(trn_backend *be) { return (cpu_backend *)be; }

static void cpu_fail(cpu_backend *cb, inrf_status st, const char *fmt, ...) TRN_PRINTF(3, 4);
static void cpu_fail(cpu_backend *cb, inrf_status st, const char *fmt, ...)
{
    if (cb->err != INRF_OK)
        return;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cb->err = trn_fail(st, "cpu backend: %s", what);
}

/* "(N,H,W,C)" of t, for messages; b holds 64 characters. */
static const char *dims(const trn_tensor *t, char *b)
{
    if (!t)
        return "none";
    snprintf(b, 64, "(%d,%d,%d,%d)", t->n, t->h, t->w, t->c);
    return b;
}

/* A shape mismatch of op between tensors a, b (and c, when given). */
static void shape_fail(cpu_backend *cb, const char *op, const char *na, const trn_tensor *a,
                       const char *nb, const trn_tensor *b, const char *nc, const trn_tensor *c)
{
    char ba[64], bb[64], bc[64];
    cpu_fail(cb, INRF_E_INVALID_ARG, "%s: %s %s, %s %s%s%s%s: shapes do not match", op, na,
             dims(a, ba), nb, dims(b, bb), c ? ", " : "", c ? nc : "", c ? dims(c, bc) : "");
}

/* ---------------------------------------------------------------- memory */

static inrf_status cpu_alloc(trn_backend *be, size_t bytes, void **out)
{
    (void)be;
    /* Rounded up to the alignment, as aligned_alloc requires. */
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        return trn_fail(INRF_E_NOMEM, "cpu backend: %zu bytes", bytes);
    *out = aligned_alloc(64, rounded ? rounded : 64);
    if (*out == NULL)
        return trn_fail(INRF_E_NOMEM, "cpu backend: cannot allocate %zu bytes", bytes);
    return INRF_OK;
}

static void cpu_release(trn_backend *be, void *p)
{
    (void)be;
    free(p);
}

static void cpu_copy(trn_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_zero(trn_backend *be, void *p, size_t bytes)
{
    (void)be;
    if (bytes)
        memset(p, 0, bytes);
}

static inrf_status cpu_sync(trn_backend *be)
{
    inrf_status st = cpu(be)->err;
    cpu(be)->err = INRF_OK;
    return st;
}

static void cpu_destroy(trn_backend *be)
{
    if (be == NULL)
        return;
    free(cpu(be)->col);
    free(cpu(be)->red);
    free(be);
}

float *cpu_col(cpu_backend *cb, size_t n)
{
    if (n > cb->col_cap) {
        free(cb->col);
        cb->col = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
        cb->col_cap = cb->col ? n : 0;
        if (cb->col == NULL) {
            cpu_fail(cb, INRF_E_NOMEM, "cannot allocate the im2col workspace");
            return NULL;
        }
    }
    return cb->col;
}

/* Zeroed per-thread reduction scratch of n doubles per thread. */
static double *cpu_red(cpu_backend *cb, size_t n)
{
    size_t total = n * (size_t)cb->threads;
    if (total > cb->red_cap) {
        free(cb->red);
        cb->red = malloc(total * sizeof(double));
        cb->red_cap = cb->red ? total : 0;
        if (cb->red == NULL) {
            cpu_fail(cb, INRF_E_NOMEM, "cannot allocate reduction scratch");
            return NULL;
        }
    }
    memset(cb->red, 0, total * sizeof(double));
    return cb->red;
}


/* ----------------------------------------------------------- convolution */

/* Work is split over the batch: each thread runs im2col and a single-
 * threaded GEMM on its own groups of images. Two single-threaded GEMMs beat
 * one two-threaded GEMM on these skinny shapes (measured on 2 cores: 170-200
 * vs 80-160 GFLOP/s), the columns stay in the thread's cache, and no
 * OpenBLAS worker is left spinning against the OpenMP team. */

/* A GEMM below this many rows runs well below peak (measured: M = 16 at
 * about half speed), so small feature maps take several images at once. */
#define GEMM_MIN_ROWS 256

static int conv_shape_ok(const trn_window *win, const trn_tensor *x, const trn_tensor *w,
                         const trn_tensor *y)
{
    return win->stride >= 1 && win->pad >= 0 && w->h == win->kh && w->w == win->kw &&
           w->c == x->c && y->c == w->n && y->n == x->n &&
           y->h == trn_window_out(x->h, win->kh, win) &&
           y->w == trn_window_out(x->w, win->kw, win) && y->h > 0 && y->w > 0;
}

/* A 1x1 stride-1 unpadded convolution needs no im2col: x is the columns. */
static int conv_pointwise(const trn_window *win)
{
    return win->kh == 1 && win->kw == 1 && win->stride == 1 && win->pad == 0;
}

/* The work split of one convolution. */
typedef struct conv_plan {
    int group;      /* images per GEMM */
    int groups;     /* GEMMs in all */
    size_t rows;    /* output pixels per image */
    size_t K;       /* KH*KW*Cin */
    int cout;
    float *col;     /* threads x group*rows*K floats (NULL when pointwise) */
} conv_plan;

static int conv_plan_make(cpu_backend *cb, const trn_window *win, const trn_tensor *x,
                          const trn_tensor *w, const trn_tensor *y, conv_plan *p)
{
    p->rows = (size_t)y->h * y->w;
    p->K = (size_t)win->kh * win->kw * x->c;
    p->cout = w->n;
    size_t g = (GEMM_MIN_ROWS + p->rows - 1) / p->rows;
    size_t share = ((size_t)x->n + cb->threads - 1) / cb->threads; /* keep every thread busy */
    p->group = (int)(g < share ? g : share);
    if (p->group < 1)
        p->group = 1;
    p->groups = (x->n + p->group - 1) / p->group;
    p->col = NULL;
    if (conv_pointwise(win))
        return 1;
    p->col = cpu_col(cb, (size_t)cb->threads * p->group * p->rows * p->K);
    return p->col != NULL;
}

/* This thread's column buffer. */
static float *plan_col(const conv_plan *p)
{
    return p->col + (size_t)thread_id() * p->group * p->rows * p->K;
}

// col is (nb*OH*OW, KH*KW*Cin): row (n,oh,ow) holds the window at that
// output pixel in (kh,kw,ci) order, zeros where it hangs over the border.
static void im2col(const trn_window *win, const trn_tensor *x, int n0, int nb, int oh_n,
                   int ow_n, float *col)
{
    const int H = x->h, W = x->w, C = x->c, KH = win->kh, KW = win->kw;
    const size_t K = (size_t)KH * KW * C, run = (size_t)KW * C * sizeof(float);
    const float *xd = x->data + (size_t)n0 * H * W * C;
    for (int n = 0; n < nb; n++)
        for (int oh = 0; oh < oh_n; oh++)
            for (int ow = 0; ow < ow_n; ow++) {
                float *dst = col + (((size_t)n * oh_n + oh) * ow_n + ow) * K;
                int iw0 = ow * win->stride - win->pad;
                for (int kh = 0; kh < KH; kh++, dst += (size_t)KW * C) {
                    int ih = oh * win->stride - win->pad + kh;
                    const float *src = xd + (((size_t)n * H + ih) * W + iw0) * C;
                    if (ih < 0 || ih >= H) {
                        memset(dst, 0, run);
                    } else if (iw0 >= 0 && iw0 + KW <= W) {
                        memcpy(dst, src, run); /* the kernel row is inside: one run */
                    } else {
                        for (int kw = 0; kw < KW; kw++) {
                            int iw = iw0 + kw;
                            if (iw < 0 || iw >= W)
                                memset(dst + (size_t)kw * C, 0, (size_t)C * sizeof(float));
                            else
                                memcpy(dst + (size_t)kw * C, src + (size_t)kw * C,
                                       (size_t)C * sizeof(float));
                        }
                    }
                }
            }
}

/* Sums into one input pixel every column entry that im2col copied from it. */
static void col2im_pixel(const trn_window *win, const float *col, int ih, int iw, int oh_n,
                         int ow_n, int C, float *restrict dst)
{
    const int S = win->stride, KH = win->kh, KW = win->kw;
    const size_t K = (size_t)KH * KW * C;
    for (int c = 0; c < C; c++)
        dst[c] = 0.0f;
    for (int kh = 0; kh < KH; kh++) {
        int t = ih + win->pad - kh; /* = oh * S */
        if (t < 0 || t % S != 0 || t / S >= oh_n)
            continue;
        int oh = t / S;
        for (int kw = 0; kw < KW; kw++) {
            int u = iw + win->pad - kw;
            if (u < 0 || u % S != 0 || u / S >= ow_n)
                continue;
            const float *restrict src =
                col + ((size_t)oh * ow_n + (size_t)(u / S)) * K + ((size_t)kh * KW + kw) * C;
            for (int c = 0; c < C; c++)
                dst[c] += src[c];
        }
    }
}

// dx (nb,H,W,Cin) of images n0.. from dcol (nb*OH*OW, KH*KW*Cin), gathered
// per input pixel (a scatter would add into the same pixel many times).
TRN_SIMD static void col2im(const trn_window *win, const float *dcol, int n0, int nb, int oh_n,
                   int ow_n, const trn_tensor *dx)
{
    const int H = dx->h, W = dx->w, C = dx->c;
    const size_t K = (size_t)win->kh * win->kw * C, rows = (size_t)oh_n * ow_n;
    float *dxd = dx->data + (size_t)n0 * H * W * C;
    for (int n = 0; n < nb; n++)
        for (int ih = 0; ih < H; ih++)
            for (int iw = 0; iw < W; iw++)
                col2im_pixel(win, dcol + (size_t)n * rows * K, ih, iw, oh_n, ow_n, C,
                             dxd + (((size_t)n * H + ih) * W + iw) * C);
}

/* The columns of group gi: im2col into the thread's buffer, or x itself. */
static const float *group_columns(const conv_plan *p, const trn_window *win,
                                  const trn_tensor *x, int n0, int nb, int oh_n, int ow_n)
{
    if (p->col == NULL)
        return x->data + (size_t)n0 * p->rows * p->K;
    float *col = plan_col(p);
    im2col(win, x, n0, nb, oh_n, ow_n, col);
    return col;
}

// y (N,OH,OW,Cout) = im2col(x) (N*OH*OW, K) . w^T (K, Cout), a group of
// images per GEMM
static void cpu_conv_forward(trn_backend *be, const trn_window *win, const trn_tensor *x,
                             const trn_tensor *w, const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (!conv_shape_ok(win, x, w, y)) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "conv_forward: shapes do not agree");
        return;
    }
    if (conv_winograd(win) && x->c >= WINO_MIN_CIN) {
        wino_run(cb, x, w, y, 0);
        return;
    }
    conv_plan p;
    if (!conv_plan_make(cb, win, x, w, y, &p))
        return;
    const int K = (int)p.K;
#pragma omp parallel for num_threads(cb->threads) schedule(static)
    for (int gi = 0; gi < p.groups; gi++) {
        int n0 = gi * p.group, nb = x->n - n0 < p.group ? x->n - n0 : p.group;
        const float *col = group_columns(&p, win, x, n0, nb, y->h, y->w);
        gemm(0, 1, (int)(p.rows * nb), p.cout, K, col, K, w->data, K, 0,
             y->data + (size_t)n0 * p.rows * p.cout, p.cout);
    }
}

/* Per-thread partial weight gradients (threads x Cout*K floats, after the
 * columns in the workspace); NULL when one thread writes dw directly. */
static float *cpu_wpart(cpu_backend *cb, const conv_plan *p, size_t *col_floats)
{
    *col_floats = p->col ? (size_t)cb->threads * p->group * p->rows * p->K : 0;
    if (cb->threads == 1)
        return NULL;
    size_t need = *col_floats + (size_t)cb->threads * p->cout * p->K;
    float *ws = cpu_col(cb, need); /* may move the columns: refreshed by the caller */
    return ws ? ws + *col_floats : NULL;
}

/* One thread's share of the backward: its groups' dw (summed into dwp) and dx. */
static void conv_backward_groups(const conv_plan *p, const trn_window *win,
                                 const trn_tensor *x, const trn_tensor *w,
                                 const trn_tensor *dy, const trn_tensor *dx, float *dwp)
{
    const int K = (int)p->K, cout = p->cout;
    int first = 1;
#pragma omp for schedule(static) nowait
    for (int gi = 0; gi < p->groups; gi++) {
        int n0 = gi * p->group, nb = x->n - n0 < p->group ? x->n - n0 : p->group;
        int m = (int)(p->rows * nb);
        const float *dyg = dy->data + (size_t)n0 * p->rows * cout;
        const float *col = group_columns(p, win, x, n0, nb, dy->h, dy->w);
        // dw (Cout,K) += dy^T (Cout,m) . col (m,K)
        gemm(1, 0, cout, K, m, dyg, cout, col, K, !first, dwp, K);
        first = 0;
        if (dx == NULL)
            continue;
        // dcol (m,K) = dy (m,Cout) . w (Cout,K), then folded back into dx
        if (p->col == NULL) {
            gemm(0, 0, m, K, cout, dyg, cout, w->data, K, 0, dx->data + (size_t)n0 * p->rows * K, K);
        } else {
            float *dcol = plan_col(p); /* the columns are spent */
            gemm(0, 0, m, K, cout, dyg, cout, w->data, K, 0, dcol, K);
            col2im(win, dcol, n0, nb, dy->h, dy->w, dx);
        }
    }
    if (first) /* no group came to this thread */
        memset(dwp, 0, (size_t)cout * K * sizeof(float));
#pragma omp barrier
}

// dw (Cout, K) = dy^T (Cout, N*OH*OW) . im2col(x) (N*OH*OW, K), summed over
// the threads' partials; dx = col2im(dy (N*OH*OW, Cout) . w (Cout, K)); both
// by Winograd for a 3x3 stride-1 pad-1 layer
static void cpu_conv_backward(trn_backend *be, const trn_window *win, const trn_tensor *x,
                              const trn_tensor *w, const trn_tensor *dy, const trn_tensor *dx,
                              const trn_tensor *dw)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (!conv_shape_ok(win, x, w, dy) || trn_numel(dw) != trn_numel(w) ||
        (dx && trn_numel(dx) != trn_numel(x))) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "conv_backward: shapes do not agree");
        return;
    }
    if (conv_winograd(win)) {
        wino_dweights(cb, x, dy, dw);
        if (dx)
            wino_run(cb, dy, w, dx, 1);
        return;
    }
    conv_plan p;
    size_t col_floats;
    if (!conv_plan_make(cb, win, x, w, dy, &p))
        return;
    float *wpart = cpu_wpart(cb, &p, &col_floats);
    if (cb->err)
        return;
    if (p.col)
        p.col = cb->col;
    const size_t wsize = (size_t)p.cout * p.K;
    const int T = cb->threads;
#pragma omp parallel num_threads(T)
    {
        float *dwp = wpart ? wpart + (size_t)thread_id() * wsize : dw->data;
        conv_backward_groups(&p, win, x, w, dy, dx, dwp);
        if (wpart) {
            /* the team may be smaller than asked (OMP_THREAD_LIMIT): only
             * its members wrote partials */
            const int nt = thread_count();
#pragma omp for schedule(static)
            for (size_t i = 0; i < wsize; i++) {
                float s = 0.0f;
                for (int t = 0; t < nt; t++)
                    s += wpart[(size_t)t * wsize + i];
                dw->data[i] = s;
            }
        }
    }
}

/* ------------------------------------------------------------ batch-norm */

/* Rows summed in float before a double takes the block's sum: float keeps
 * the loops at full vector width, the double keeps long sums exact enough. */
#define BN_BLOCK 32
#define BN_MAX_C 4096

static int same_shape(const trn_tensor *a, const trn_tensor *b)
{
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

// s += sum over rows r0..r1 of (x - k), q += sum of (x - k)^2, per channel;
// the shift k (the first row) keeps E[d^2] - E[d]^2 free of cancellation
TRN_SIMD static void moments_rows(const float *restrict x, size_t r0, size_t r1, int C,
                                  const float *restrict k, double *restrict s,
                                  double *restrict q)
{
    float fs[BN_MAX_C], fq[BN_MAX_C];
    for (size_t r = r0; r < r1; r += BN_BLOCK) {
        size_t end = r + BN_BLOCK < r1 ? r + BN_BLOCK : r1;
        for (int c = 0; c < C; c++)
            fs[c] = fq[c] = 0.0f;
        for (size_t i = r; i < end; i++)
            for (int c = 0; c < C; c++) {
                float d = x[i * C + c] - k[c];
                fs[c] += d;
                fq[c] += d * d;
            }
        for (int c = 0; c < C; c++) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

/* Sums the per-thread partials (2C doubles each) into s and q. */
static void reduce_partials(const double *part, int threads, int C, double *s, double *q)
{
    for (int c = 0; c < C; c++) {
        s[c] = q[c] = 0.0;
        for (int t = 0; t < threads; t++) {
            s[c] += part[2 * (size_t)C * t + c];
            q[c] += part[2 * (size_t)C * t + C + c];
        }
    }
}

/* Per-channel mean and biased variance of x (rows, C). */
static int channel_moments(cpu_backend *cb, const float *x, size_t rows, int C, double *mean,
                           double *var)
{
    double *part = cpu_red(cb, 2 * (size_t)C);
    if (part == NULL)
        return 0;
#pragma omp parallel num_threads(cb->threads)
    {
        size_t r0, r1;
        thread_range(rows, thread_id(), thread_count(), &r0, &r1);
        double *s = part + 2 * (size_t)C * thread_id();
        moments_rows(x, r0, r1, C, x, s, s + C);
    }
    reduce_partials(part, cb->threads, C, mean, var);
    for (int c = 0; c < C; c++) {
        double m = mean[c] / (double)rows;
        var[c] = var[c] / (double)rows - m * m;
        var[c] = var[c] > 0.0 ? var[c] : 0.0;
        mean[c] = m + x[c];
    }
    return 1;
}

// y = act(x*scale + shift [+ z]) per channel; x, z, y (rows, C)
TRN_SIMD static void apply_rows(const float *restrict x, const float *restrict z,
                                float *restrict y, size_t r0, size_t r1, int C,
                                const float *restrict scale, const float *restrict shift,
                                int relu)
{
    for (size_t r = r0; r < r1; r++)
        for (int c = 0; c < C; c++) {
            size_t i = r * C + c;
            float v = x[i] * scale[c] + shift[c];
            if (z)
                v += z[i];
            y[i] = relu && v < 0.0f ? 0.0f : v;
        }
}

static void bn_apply(cpu_backend *cb, const float *x, const float *z, float *y, size_t rows,
                     int C, const float *scale, const float *shift, int relu)
{
#pragma omp parallel num_threads(cb->threads)
    {
        size_t r0, r1;
        thread_range(rows, thread_id(), thread_count(), &r0, &r1);
        apply_rows(x, z, y, r0, r1, C, scale, shift, relu);
    }
}

static void cpu_bn_forward(trn_backend *be, const trn_bn *bn, int flags, const trn_tensor *x,
                           const trn_tensor *z, const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    const int C = x->c;
    const size_t rows = (size_t)x->n * x->h * x->w;
    if (!same_shape(x, y) || (z && !same_shape(x, z))) {
        shape_fail(cb, "bn_forward", "x", x, "y", y, "z", z);
        return;
    }
    if (C > BN_MAX_C) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "bn_forward: %d channels, at most %d", C, BN_MAX_C);
        return;
    }
    if ((flags & TRN_BN_TRAIN) && rows < 2) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "bn_forward: batch statistics over %zu value a "
                 "channel, at least 2", rows);
        return;
    }
    float scale[BN_MAX_C], shift[BN_MAX_C];
    if (flags & TRN_BN_TRAIN) {
        double mean[BN_MAX_C], var[BN_MAX_C];
        if (!channel_moments(cb, x->data, rows, C, mean, var))
            return;
        const float m = bn->momentum;
        for (int c = 0; c < C; c++) {
            float invstd = (float)(1.0 / sqrt(var[c] + bn->eps));
            bn->save_mean[c] = (float)mean[c];
            bn->save_invstd[c] = invstd;
            /* PyTorch keeps the unbiased variance in the running estimate */
            double unbiased = var[c] * (double)rows / (double)(rows - 1);
            bn->running_mean[c] = (1.0f - m) * bn->running_mean[c] + m * (float)mean[c];
            bn->running_var[c] = (1.0f - m) * bn->running_var[c] + m * (float)unbiased;
            scale[c] = bn->gamma[c] * invstd;
            shift[c] = bn->beta[c] - (float)mean[c] * scale[c];
        }
    } else {
        for (int c = 0; c < C; c++) {
            float invstd = 1.0f / sqrtf(bn->running_var[c] + bn->eps);
            scale[c] = bn->gamma[c] * invstd;
            shift[c] = bn->beta[c] - bn->running_mean[c] * scale[c];
        }
    }
    bn_apply(cb, x->data, z ? z->data : NULL, y->data, rows, C, scale, shift,
             (flags & TRN_BN_RELU) != 0);
}

// s += sum of g, q += sum of g*(x - mean) over rows r0..r1, per channel,
// g = dy masked by y > 0 under relu; g also goes to dz when asked
TRN_SIMD static void grad_sums_rows(const float *restrict x, const float *restrict y,
                                    const float *restrict dy, float *restrict dz, size_t r0,
                                    size_t r1, int C, const float *restrict mean, int relu,
                                    double *restrict s, double *restrict q)
{
    float fs[BN_MAX_C], fq[BN_MAX_C];
    for (size_t r = r0; r < r1; r += BN_BLOCK) {
        size_t end = r + BN_BLOCK < r1 ? r + BN_BLOCK : r1;
        for (int c = 0; c < C; c++)
            fs[c] = fq[c] = 0.0f;
        for (size_t i = r; i < end; i++)
            for (int c = 0; c < C; c++) {
                size_t j = i * C + c;
                float g = relu && !(y[j] > 0.0f) ? 0.0f : dy[j];
                if (dz)
                    dz[j] = g;
                fs[c] += g;
                fq[c] += g * (x[j] - mean[c]);
            }
        for (int c = 0; c < C; c++) {
            s[c] += fs[c];
            q[c] += fq[c];
        }
    }
}

// dx = a*g - b*x + k per channel, g as above
TRN_SIMD static void grad_dx_rows(const float *restrict x, const float *restrict y,
                                  const float *restrict dy, float *restrict dx, size_t r0,
                                  size_t r1, int C, const float *restrict a,
                                  const float *restrict b, const float *restrict k, int relu)
{
    for (size_t r = r0; r < r1; r++)
        for (int c = 0; c < C; c++) {
            size_t j = r * C + c;
            float g = relu && !(y[j] > 0.0f) ? 0.0f : dy[j];
            dx[j] = a[c] * g - b[c] * x[j] + k[c];
        }
}

// dx = gamma*invstd * (g - mean(g) - xhat * mean(g*xhat)), written as
// dx = a*g - b*x + k per channel so that the last pass is one multiply-add.
static void cpu_bn_backward(trn_backend *be, const trn_bn *bn, int flags, const trn_tensor *x,
                            const trn_tensor *y, const trn_tensor *dy, const trn_tensor *dx,
                            const trn_tensor *dz)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    const int C = x->c, relu = (flags & TRN_BN_RELU) != 0;
    const size_t rows = (size_t)x->n * x->h * x->w;
    if (!same_shape(x, y) || !same_shape(x, dy)) {
        shape_fail(cb, "bn_backward", "x", x, "y", y, "dy", dy);
        return;
    }
    if (!same_shape(x, dx) || (dz && !same_shape(x, dz))) {
        shape_fail(cb, "bn_backward", "x", x, "dx", dx, "dz", dz);
        return;
    }
    if (C > BN_MAX_C) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "bn_backward: %d channels, at most %d", C, BN_MAX_C);
        return;
    }
    double *part = cpu_red(cb, 2 * (size_t)C);
    if (part == NULL)
        return;
    const float *xd = x->data, *yd = y->data, *dyd = dy->data;
    float *dzd = dz ? dz->data : NULL;
#pragma omp parallel num_threads(cb->threads)
    {
        size_t r0, r1;
        thread_range(rows, thread_id(), thread_count(), &r0, &r1);
        double *s = part + 2 * (size_t)C * thread_id();
        grad_sums_rows(xd, yd, dyd, dzd, r0, r1, C, bn->save_mean, relu, s, s + C);
    }
    double sg[BN_MAX_C], sgx[BN_MAX_C];
    reduce_partials(part, cb->threads, C, sg, sgx);
    float a[BN_MAX_C], b[BN_MAX_C], k[BN_MAX_C];
    for (int c = 0; c < C; c++) {
        double invstd = bn->save_invstd[c];
        bn->dbeta[c] = (float)sg[c];
        bn->dgamma[c] = (float)(sgx[c] * invstd);
        double ad = bn->gamma[c] * invstd;
        double bd = ad * sgx[c] * invstd * invstd / (double)rows;
        a[c] = (float)ad;
        b[c] = (float)bd;
        k[c] = (float)(bd * bn->save_mean[c] - ad * sg[c] / (double)rows);
    }
#pragma omp parallel num_threads(cb->threads)
    {
        size_t r0, r1;
        thread_range(rows, thread_id(), thread_count(), &r0, &r1);
        grad_dx_rows(xd, yd, dyd, dx->data, r0, r1, C, a, b, k, relu);
    }
}

/* ----------------------------------------------------------- element-wise */

static void cpu_relu_forward(trn_backend *be, const trn_tensor *x, const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    size_t n = trn_numel(x);
    if (trn_numel(y) != n) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "relu_forward: sizes differ");
        return;
    }
    const float *xd = x->data;
    float *yd = y->data;
#pragma omp parallel for simd num_threads(cb->threads) schedule(static)
    for (size_t i = 0; i < n; i++)
        yd[i] = xd[i] > 0.0f ? xd[i] : 0.0f;
}

static void cpu_relu_backward(trn_backend *be, const trn_tensor *y, const trn_tensor *dy,
                              const trn_tensor *dx)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    size_t n = trn_numel(y);
    if (trn_numel(dy) != n || trn_numel(dx) != n) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "relu_backward: sizes differ");
        return;
    }
    const float *yd = y->data, *dyd = dy->data;
    float *dxd = dx->data;
#pragma omp parallel for simd num_threads(cb->threads) schedule(static)
    for (size_t i = 0; i < n; i++)
        dxd[i] = yd[i] > 0.0f ? dyd[i] : 0.0f;
}

static void cpu_add(trn_backend *be, const trn_tensor *a, const trn_tensor *b,
                    const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    size_t n = trn_numel(a);
    if (trn_numel(b) != n || trn_numel(y) != n) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "add: sizes differ");
        return;
    }
    const float *ad = a->data, *bd = b->data;
    float *yd = y->data;
#pragma omp parallel for simd num_threads(cb->threads) schedule(static)
    for (size_t i = 0; i < n; i++)
        yd[i] = ad[i] + bd[i];
}

/* --------------------------------------------------------------- pooling */

static int pool_shape_ok(const trn_window *win, const trn_tensor *x, const trn_tensor *y)
{
    return win->stride >= 1 && win->pad >= 0 && win->pad < win->kh && win->pad < win->kw &&
           y->n == x->n && y->c == x->c && y->h == trn_window_out(x->h, win->kh, win) &&
           y->w == trn_window_out(x->w, win->kw, win) && y->h > 0 && y->w > 0;
}

static void pool_fail(cpu_backend *cb, const char *op, const trn_window *win,
                      const trn_tensor *x, const trn_tensor *y)
{
    char bx[64], by[64];
    cpu_fail(cb, INRF_E_INVALID_ARG, "%s: x %s, y %s: not the output of a %dx%d window, "
             "stride %d, padding %d", op, dims(x, bx), dims(y, by), win->kh, win->kw,
             win->stride, win->pad);
}

/* Clips a window start..start+k to 0..size. */
static void window_clip(int start, int k, int size, int *lo, int *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

// y (N,OH,OW,C) = max over the window of x (N,H,W,C)
static void cpu_maxpool_forward(trn_backend *be, const trn_window *win, const trn_tensor *x,
                                const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (!pool_shape_ok(win, x, y)) {
        pool_fail(cb, "maxpool_forward", win, x, y);
        return;
    }
    const int H = x->h, W = x->w, C = x->c, OH = y->h, OW = y->w;
#pragma omp parallel for collapse(2) num_threads(cb->threads) schedule(static)
    for (int n = 0; n < x->n; n++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float *restrict out = y->data + (((size_t)n * OH + oh) * OW + ow) * C;
                int h0, h1, w0, w1;
                window_clip(oh * win->stride - win->pad, win->kh, H, &h0, &h1);
                window_clip(ow * win->stride - win->pad, win->kw, W, &w0, &w1);
                for (int c = 0; c < C; c++)
                    out[c] = -INFINITY;
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++) {
                        const float *restrict in = x->data + (((size_t)n * H + ih) * W + iw) * C;
                        for (int c = 0; c < C; c++)
                            out[c] = in[c] > out[c] ? in[c] : out[c];
                    }
            }
}

/* One image: each output's gradient goes to the first input in window
 * order that equals the output (PyTorch's choice among ties). */
static void maxpool_backward_image(const trn_window *win, const float *x, const float *y,
                                   const float *dy, float *dx, int H, int W, int C, int OH,
                                   int OW)
{
    memset(dx, 0, (size_t)H * W * C * sizeof(float));
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            size_t o = ((size_t)oh * OW + ow) * C;
            int h0, h1, w0, w1;
            window_clip(oh * win->stride - win->pad, win->kh, H, &h0, &h1);
            window_clip(ow * win->stride - win->pad, win->kw, W, &w0, &w1);
            for (int c = 0; c < C; c++) {
                int done = 0;
                for (int ih = h0; ih < h1 && !done; ih++)
                    for (int iw = w0; iw < w1; iw++) {
                        size_t i = ((size_t)ih * W + iw) * C + c;
                        if (x[i] == y[o + c]) {
                            dx[i] += dy[o + c];
                            done = 1;
                            break;
                        }
                    }
            }
        }
}

static void cpu_maxpool_backward(trn_backend *be, const trn_window *win, const trn_tensor *x,
                                 const trn_tensor *y, const trn_tensor *dy, const trn_tensor *dx)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (!pool_shape_ok(win, x, y)) {
        pool_fail(cb, "maxpool_backward", win, x, y);
        return;
    }
    if (!same_shape(y, dy) || !same_shape(x, dx)) {
        char b[4][64];
        cpu_fail(cb, INRF_E_INVALID_ARG, "maxpool_backward: dy %s against y %s, dx %s against "
                 "x %s: shapes do not match", dims(dy, b[0]), dims(y, b[1]), dims(dx, b[2]),
                 dims(x, b[3]));
        return;
    }
    const int H = x->h, W = x->w, C = x->c, OH = y->h, OW = y->w;
    const size_t in_sz = (size_t)H * W * C, out_sz = (size_t)OH * OW * C;
    /* windows overlap, so threads split the batch: no two write one image */
#pragma omp parallel for num_threads(cb->threads) schedule(static)
    for (int n = 0; n < x->n; n++)
        maxpool_backward_image(win, x->data + n * in_sz, y->data + n * out_sz,
                               dy->data + n * out_sz, dx->data + n * in_sz, H, W, C, OH, OW);
}

// y (N,1,1,C) = mean of x (N,H,W,C) over H,W
static void cpu_avgpool_forward(trn_backend *be, const trn_tensor *x, const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (y->n != x->n || y->c != x->c || y->h * y->w != 1) {
        char bx[64], by[64];
        cpu_fail(cb, INRF_E_INVALID_ARG, "avgpool_forward: x %s, y %s: y must be (N,1,1,C) "
                 "of x", dims(x, bx), dims(y, by));
        return;
    }
    const int C = x->c;
    const size_t hw = (size_t)x->h * x->w;
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for num_threads(cb->threads) schedule(static)
    for (int n = 0; n < x->n; n++) {
        float *restrict out = y->data + (size_t)n * C;
        for (int c = 0; c < C; c++)
            out[c] = 0.0f;
        for (size_t p = 0; p < hw; p++) {
            const float *restrict in = x->data + ((size_t)n * hw + p) * C;
            for (int c = 0; c < C; c++)
                out[c] += in[c];
        }
        for (int c = 0; c < C; c++)
            out[c] *= inv;
    }
}

static void cpu_avgpool_backward(trn_backend *be, const trn_tensor *dy, const trn_tensor *dx)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (dy->n != dx->n || dy->c != dx->c || dy->h * dy->w != 1) {
        char bx[64], by[64];
        cpu_fail(cb, INRF_E_INVALID_ARG, "avgpool_backward: dx %s, dy %s: dy must be (N,1,1,C) "
                 "of dx", dims(dx, bx), dims(dy, by));
        return;
    }
    const int C = dx->c;
    const size_t hw = (size_t)dx->h * dx->w;
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for collapse(2) num_threads(cb->threads) schedule(static)
    for (int n = 0; n < dx->n; n++)
        for (size_t p = 0; p < hw; p++) {
            const float *restrict g = dy->data + (size_t)n * C;
            float *restrict out = dx->data + ((size_t)n * hw + p) * C;
            for (int c = 0; c < C; c++)
                out[c] = g[c] * inv;
        }
}

/* ---------------------------------------------------------------- linear */

static int linear_shape_ok(const trn_tensor *x, const trn_tensor *w, const trn_tensor *y)
{
    return (size_t)x->h * x->w * x->c == (size_t)w->c && w->h == 1 && w->w == 1 &&
           y->n == x->n && y->h == 1 && y->w == 1 && y->c == w->n;
}

static void linear_fail(cpu_backend *cb, const char *op, const trn_tensor *x,
                        const trn_tensor *w, const trn_tensor *y)
{
    char bx[64], bw[64], by[64];
    cpu_fail(cb, INRF_E_INVALID_ARG, "%s: x %s, w %s, y %s: expected x (N,In), w (Out,1,1,In), "
             "y (N,1,1,Out)", op, dims(x, bx), dims(w, bw), dims(y, by));
}

// y (N,Out) = x (N,In) . w^T (In,Out) + b
static void cpu_linear_forward(trn_backend *be, const trn_tensor *x, const trn_tensor *w,
                               const float *b, const trn_tensor *y)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (!linear_shape_ok(x, w, y)) {
        linear_fail(cb, "linear_forward", x, w, y);
        return;
    }
    const int in = w->c, out = w->n;
    for (int n = 0; n < x->n; n++)
        memcpy(y->data + (size_t)n * out, b, (size_t)out * sizeof(float));
    gemm(0, 1, x->n, out, in, x->data, in, w->data, in, 1, y->data, out);
}

// dx (N,In) = dy (N,Out) . w (Out,In); dw (Out,In) = dy^T . x; db = sum_n dy
static void cpu_linear_backward(trn_backend *be, const trn_tensor *x, const trn_tensor *w,
                                const trn_tensor *dy, const trn_tensor *dx,
                                const trn_tensor *dw, float *db)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    if (!linear_shape_ok(x, w, dy)) {
        linear_fail(cb, "linear_backward", x, w, dy);
        return;
    }
    if (trn_numel(dw) != trn_numel(w) || (dx && trn_numel(dx) != trn_numel(x))) {
        shape_fail(cb, "linear_backward", "dw", dw, "w", w, "dx", dx);
        return;
    }
    const int in = w->c, out = w->n;
    if (dx)
        gemm(0, 0, x->n, in, out, dy->data, out, w->data, in, 0, dx->data, in);
    gemm(1, 0, out, in, x->n, dy->data, out, x->data, in, 0, dw->data, in);
    for (int o = 0; o < out; o++) {
        double s = 0.0;
        for (int n = 0; n < x->n; n++)
            s += dy->data[(size_t)n * out + o];
        db[o] = (float)s;
    }
}

/* ------------------------------------------------------------------ loss */

/* One sample: returns its loss and writes (softmax - target) / N. */
static double xent_row(const float *logit, int label, int K, double smoothing, double inv_n,
                       float *dlogit)
{
    double mx = -INFINITY, sum = 0.0, mean_logit = 0.0;
    for (int k = 0; k < K; k++)
        mx = logit[k] > mx ? logit[k] : mx;
    for (int k = 0; k < K; k++) {
        sum += exp((double)logit[k] - mx);
        mean_logit += logit[k];
    }
    mean_logit /= K;
    double lse = mx + log(sum);
    for (int k = 0; k < K; k++) {
        double target = smoothing / K + (k == label ? 1.0 - smoothing : 0.0);
        dlogit[k] = (float)((exp((double)logit[k] - lse) - target) * inv_n);
    }
    /* -sum_k target_k log p_k, with log p_k = logit_k - lse */
    return (1.0 - smoothing) * (lse - logit[label]) + smoothing * (lse - mean_logit);
}

static void cpu_xent(trn_backend *be, const trn_tensor *logits, const int32_t *labels,
                     float smoothing, const trn_tensor *dlogits, float *loss)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
    const int N = logits->n, K = logits->h * logits->w * logits->c;
    if (trn_numel(dlogits) != trn_numel(logits) || N < 1) {
        char bl[64], bd[64];
        cpu_fail(cb, INRF_E_INVALID_ARG, "xent: logits %s, dlogits %s: not one shape of at "
                 "least one sample", dims(logits, bl), dims(dlogits, bd));
        return;
    }
    if (!(smoothing >= 0.0f) || !(smoothing < 1.0f)) {
        cpu_fail(cb, INRF_E_INVALID_ARG, "xent: label smoothing %g out of range 0..1 "
                 "(1 excluded)", (double)smoothing);
        return;
    }
    double total = 0.0;
    for (int n = 0; n < N; n++) {
        if (labels[n] < 0 || labels[n] >= K) {
            cpu_fail(cb, INRF_E_INVALID_ARG, "xent: label out of range");
            return;
        }
        total += xent_row(logits->data + (size_t)n * K, labels[n], K, smoothing, 1.0 / N,
                          dlogits->data + (size_t)n * K);
    }
    *loss = (float)(total / N);
}

/* ------------------------------------------------------------- optimiser */

static void cpu_sgd_step(trn_backend *be, float *p, const float *g, float *buf, size_t count,
                         float lr, float momentum, float weight_decay)
{
    cpu_backend *cb = cpu(be);
    if (cb->err)
        return;
#pragma omp parallel for simd num_threads(cb->threads) schedule(static)
    for (size_t i = 0; i < count; i++) {
        float d = g[i] + weight_decay * p[i];
        buf[i] = momentum * buf[i] + d;
        p[i] -= lr * buf[i];
    }
}

/* ----------------------------------------------------------------- setup */

static const trn_backend cpu_table = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_copy,
    .download = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .destroy = cpu_destroy,
    .conv_forward = cpu_conv_forward,
    .conv_backward = cpu_conv_backward,
    .bn_forward = cpu_bn_forward,
    .bn_backward = cpu_bn_backward,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .add = cpu_add,
    .maxpool_forward = cpu_maxpool_forward,
    .maxpool_backward = cpu_maxpool_backward,
    .avgpool_forward = cpu_avgpool_forward,
    .avgpool_backward = cpu_avgpool_backward,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .xent = cpu_xent,
    .sgd_step = cpu_sgd_step,
};

inrf_status trn_cpu_backend_create(int threads, trn_backend **out)
{
    *out = NULL;
    if (threads <= 0) {
#ifdef _OPENMP
        threads = omp_get_max_threads();
#else
        threads = 1;
#endif
    }
    if (threads > 1024)
        return trn_fail(INRF_E_INVALID_ARG, "cpu backend: %d threads", threads);
    cpu_backend *cb = calloc(1, sizeof *cb);
    if (cb == NULL)
        return trn_fail(INRF_E_NOMEM, "cpu backend: out of memory");
    cb->base = cpu_table;
    cb->threads = threads;
#ifdef OPENBLAS_VERSION
    /* every GEMM runs single-threaded inside our OpenMP team (see
     * "convolution"); OpenBLAS's own pool (Debian's build is the pthread
     * one) would only compete with it */
    openblas_set_num_threads(1);
#endif
    *out = &cb->base;
    return INRF_OK;
}

double trn_cpu_backend_workspace(int threads, int max_channels, size_t image_floats)
{
#ifdef _OPENMP
    if (threads <= 0)
        threads = omp_get_max_threads();
#endif
    if (threads <= 0)
        threads = 1;
    const double c = max_channels, img = (double)image_floats;
    /* conv_plan_make: group x rows x K columns, K = 9 Cin, group x rows
     * at least GEMM_MIN_ROWS; cpu_wpart: Cout x K more; wino_dweights: a
     * 16 Cin x Cout transform and 16 T (Cin + Cout) tiles; wino_workspace:
     * the shared 16 Cin x Cout filter transform */
    const double cols = 9.0 * (img > GEMM_MIN_ROWS * c ? img : GEMM_MIN_ROWS * c);
    const double per_thread = cols + 16.0 * c * c + 32.0 * WINO_TILES * c + c + 16;
    return 4.0 * (threads * per_thread + 16.0 * c * c);
}

int trn_cpu_backend_threads(const trn_backend *be)
{
    return ((const cpu_backend *)be)->threads;
}
