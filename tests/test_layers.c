/* test_layers.c: every CPU backend layer against a naive double-precision
 * reference: the forward values, and the backward against central
 * differences of that reference.
 *
 * Tolerances. The reference runs in double and is differentiated with
 * h = 1e-5: truncation (h^2 f''') and rounding (1e-16 |L| / h) stay below
 * 1e-9, so what is measured is the backend's own float error. Each tensor
 * is compared against its largest reference magnitude S: forward values
 * and gradients within 2e-5 S. Float sums of at most a few hundred terms
 * give about 1e-7 S; the worst measured here is 3e-7 S (conv dw), so the
 * bound leaves a margin of 50 for other compilers and BLAS kernels, while a
 * wrong index, sign or missing term moves an element by O(S). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../trainer/cpu_backend.h"
#include "../trainer/error.h"

#define FWD_TOL 2e-5
#define GRAD_TOL 2e-5
#define FD_H 1e-5

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 42;

/* Uniform in [lo, hi), from a fixed LCG: the same data on every run. */
static double urand(double lo, double hi)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

static float *rand_floats(size_t n, double lo, double hi)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)urand(lo, hi);
    return p;
}

static double *to_double(const float *f, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof(double));
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static float *zeros(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

static double max_abs(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* got within tol * max|want| of want, element by element; also asserts
 * that the reference is not trivially zero (the check could not fail). */
static void expect_close(const char *what, const float *got, const double *want, size_t n,
                         double tol)
{
    double scale = max_abs(want, n), worst = 0.0;
    if (!(scale > 1e-3)) {
        fprintf(stderr, "%s: reference is all but zero (%g)\n", what, scale);
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        worst = e > worst ? e : worst;
        if (!(e <= tol * scale)) {
            fprintf(stderr, "%s[%zu]: got %.8g, want %.8g (scale %.3g)\n", what, i,
                    (double)got[i], want[i], scale);
            fail();
        }
    }
}

/* A reference loss, evaluated after its inputs change. */
typedef double (*ref_loss_fn)(const void *ctx);

/* The gradient of f with respect to every element of v by central
 * differences, compared with the backend's grad. */
static void expect_grad(const char *what, double *v, size_t n, const float *grad,
                        ref_loss_fn f, const void *ctx)
{
    double *fd = malloc(n * sizeof(double));
    assert_non_null(fd);
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + FD_H;
        double lp = f(ctx);
        v[i] = keep - FD_H;
        double lm = f(ctx);
        v[i] = keep;
        fd[i] = (lp - lm) / (2.0 * FD_H);
    }
    expect_close(what, grad, fd, n, GRAD_TOL);
    free(fd);
}

static trn_backend *new_backend(int threads)
{
    trn_backend *be = NULL;
    assert_int_equal(trn_cpu_backend_create(threads, &be), INRF_OK);
    return be;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* -------------------------------------------------------- convolution */

typedef struct conv_case {
    int n, h, w, cin, cout, k, stride, pad;
} conv_case;

typedef struct conv_ref {
    conv_case s;
    int oh, ow;
    double *x, *w, *r, *y; /* r: the loss weights, L = sum r*y */
} conv_ref;

// y (N,OH,OW,Cout) = sum over (kh,kw,ci) of x (N,H,W,Cin) * w (Cout,KH,KW,Cin)
static void conv_ref_forward(const conv_ref *c, double *y)
{
    const conv_case *s = &c->s;
    for (int n = 0; n < s->n; n++)
        for (int oh = 0; oh < c->oh; oh++)
            for (int ow = 0; ow < c->ow; ow++)
                for (int co = 0; co < s->cout; co++) {
                    double acc = 0.0;
                    for (int kh = 0; kh < s->k; kh++)
                        for (int kw = 0; kw < s->k; kw++) {
                            int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                            if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w)
                                continue;
                            for (int ci = 0; ci < s->cin; ci++)
                                acc += c->x[(((size_t)n * s->h + ih) * s->w + iw) * s->cin + ci] *
                                       c->w[(((size_t)co * s->k + kh) * s->k + kw) * s->cin + ci];
                        }
                    y[(((size_t)n * c->oh + oh) * c->ow + ow) * s->cout + co] = acc;
                }
}

static double conv_ref_loss(const void *ctx)
{
    const conv_ref *c = ctx;
    size_t ny = (size_t)c->s.n * c->oh * c->ow * c->s.cout;
    conv_ref_forward(c, c->y);
    return dot(c->r, c->y, ny);
}

static void check_conv(int threads, conv_case s)
{
    trn_backend *be = new_backend(threads);
    trn_window win = {s.k, s.k, s.stride, s.pad};
    int oh = trn_window_out(s.h, s.k, &win), ow = trn_window_out(s.w, s.k, &win);
    size_t nx = (size_t)s.n * s.h * s.w * s.cin, nw = (size_t)s.cout * s.k * s.k * s.cin;
    size_t ny = (size_t)s.n * oh * ow * s.cout;
    float *x = rand_floats(nx, -1, 1), *w = rand_floats(nw, -1, 1), *r = rand_floats(ny, -1, 1);
    float *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw);
    trn_tensor tx = trn_tensor4(x, s.n, s.h, s.w, s.cin), tw = trn_tensor4(w, s.cout, s.k, s.k, s.cin);
    trn_tensor ty = trn_tensor4(y, s.n, oh, ow, s.cout), tr = trn_tensor4(r, s.n, oh, ow, s.cout);
    trn_tensor tdx = trn_tensor4(dx, s.n, s.h, s.w, s.cin), tdw = trn_tensor4(dw, s.cout, s.k, s.k, s.cin);
    be->conv_forward(be, &win, &tx, &tw, &ty);
    be->conv_backward(be, &win, &tx, &tw, &tr, &tdx, &tdw);
    assert_int_equal(be->sync(be), INRF_OK);

    conv_ref ref = {s, oh, ow, to_double(x, nx), to_double(w, nw), to_double(r, ny),
                    malloc(ny * sizeof(double))};
    conv_ref_forward(&ref, ref.y);
    expect_close("conv y", y, ref.y, ny, FWD_TOL);
    expect_grad("conv dx", ref.x, nx, dx, conv_ref_loss, &ref);
    expect_grad("conv dw", ref.w, nw, dw, conv_ref_loss, &ref);

    /* without dx, dw must be the same */
    float *dw2 = zeros(nw);
    trn_tensor tdw2 = trn_tensor4(dw2, s.cout, s.k, s.k, s.cin);
    be->conv_backward(be, &win, &tx, &tw, &tr, NULL, &tdw2);
    assert_int_equal(be->sync(be), INRF_OK);
    assert_memory_equal(dw, dw2, nw * sizeof(float));

    free(ref.x), free(ref.w), free(ref.r), free(ref.y);
    free(x), free(w), free(r), free(y), free(dx), free(dw), free(dw2);
    be->destroy(be);
}

static const conv_case conv_cases[] = {
    {2, 6, 5, 3, 4, 3, 1, 1},  /* 3x3 stride 1, non-square */
    {3, 7, 7, 4, 5, 3, 2, 1},  /* 3x3 stride 2, odd size */
    {2, 4, 4, 5, 3, 1, 1, 0},  /* 1x1 stride 1: no im2col */
    {2, 6, 6, 4, 6, 1, 2, 0},  /* 1x1 stride 2: the downsample */
    {2, 9, 9, 3, 4, 7, 2, 3},  /* 7x7 stride 2: the large stem */
    {5, 4, 4, 3, 4, 3, 1, 1},  /* several images per GEMM, uneven over threads */
    {1, 3, 3, 2, 3, 3, 1, 0},  /* one output pixel */
};

static void test_conv(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        check_conv(1, conv_cases[i]);
        check_conv(3, conv_cases[i]);
    }
}

static void test_conv_bad_shape(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    float buf[256] = {0};
    trn_window win = {3, 3, 1, 1};
    trn_tensor x = trn_tensor4(buf, 1, 4, 4, 2), w = trn_tensor4(buf, 3, 3, 3, 2);
    trn_tensor y = trn_tensor4(buf, 1, 3, 4, 3); /* should be 4x4 */
    be->conv_forward(be, &win, &x, &w, &y);
    assert_int_equal(be->sync(be), INRF_E_INVALID_ARG);
    assert_int_equal(be->sync(be), INRF_OK); /* the failure is reported once */
    be->destroy(be);
}

/* --------------------------------------------------------- batch-norm */

typedef struct bn_ref {
    size_t rows;
    int C, relu, has_z;
    double *x, *z, *gamma, *beta, *r, *y;
    double *mean, *var; /* batch statistics (biased variance) */
} bn_ref;

// y (rows,C) = act(gamma * (x - mean) / sqrt(var + eps) + beta [+ z])
static void bn_ref_forward(const bn_ref *b, double *y)
{
    for (int c = 0; c < b->C; c++) {
        double m = 0.0, v = 0.0;
        for (size_t r = 0; r < b->rows; r++)
            m += b->x[r * b->C + c];
        m /= (double)b->rows;
        for (size_t r = 0; r < b->rows; r++)
            v += (b->x[r * b->C + c] - m) * (b->x[r * b->C + c] - m);
        v /= (double)b->rows;
        b->mean[c] = m;
        b->var[c] = v;
        for (size_t r = 0; r < b->rows; r++) {
            size_t i = r * b->C + c;
            double o = b->gamma[c] * (b->x[i] - m) / sqrt(v + 1e-5) + b->beta[c];
            if (b->has_z)
                o += b->z[i];
            y[i] = b->relu && o < 0.0 ? 0.0 : o;
        }
    }
}

static double bn_ref_loss(const void *ctx)
{
    const bn_ref *b = ctx;
    bn_ref_forward(b, b->y);
    return dot(b->r, b->y, b->rows * b->C);
}

static void check_bn(int relu, int has_z)
{
    trn_backend *be = new_backend(2);
    const int N = 3, H = 3, W = 2, C = 4;
    const size_t rows = (size_t)N * H * W, n = rows * C;
    float *x = rand_floats(n, -1.5, 2.5), *z = rand_floats(n, -1, 1), *r = rand_floats(n, -1, 1);
    float *gamma = rand_floats(C, 0.5, 1.5), *beta = rand_floats(C, -0.5, 0.5);
    float rm[4] = {0.1f, -0.2f, 0.3f, 0.0f}, rv[4] = {1.0f, 2.0f, 0.5f, 1.5f};
    float rm0[4], rv0[4], save_mean[4], save_invstd[4], dgamma[4], dbeta[4];
    memcpy(rm0, rm, sizeof rm), memcpy(rv0, rv, sizeof rv);
    float *y = zeros(n), *dx = zeros(n), *dz = zeros(n);
    trn_bn bn = {gamma, beta, dgamma, dbeta, rm, rv, save_mean, save_invstd, 0.1f, 1e-5f};
    trn_tensor tx = trn_tensor4(x, N, H, W, C), tz = trn_tensor4(z, N, H, W, C);
    trn_tensor ty = trn_tensor4(y, N, H, W, C), tr = trn_tensor4(r, N, H, W, C);
    trn_tensor tdx = trn_tensor4(dx, N, H, W, C), tdz = trn_tensor4(dz, N, H, W, C);
    int flags = TRN_BN_TRAIN | (relu ? TRN_BN_RELU : 0);
    be->bn_forward(be, &bn, flags, &tx, has_z ? &tz : NULL, &ty);
    be->bn_backward(be, &bn, flags, &tx, &ty, &tr, &tdx, has_z ? &tdz : NULL);
    assert_int_equal(be->sync(be), INRF_OK);

    double mean[4], var[4];
    bn_ref ref = {rows, C, relu, has_z, to_double(x, n), to_double(z, n), to_double(gamma, C),
                  to_double(beta, C), to_double(r, n), malloc(n * sizeof(double)), mean, var};
    bn_ref_forward(&ref, ref.y);
    expect_close("bn y", y, ref.y, n, FWD_TOL);
    /* running statistics: momentum 0.1, unbiased variance (PyTorch) */
    for (int c = 0; c < C; c++) {
        double want_m = 0.9 * rm0[c] + 0.1 * mean[c];
        double want_v = 0.9 * rv0[c] + 0.1 * var[c] * (double)rows / (double)(rows - 1);
        assert_true(fabs(rm[c] - want_m) <= 1e-6);
        assert_true(fabs(rv[c] - want_v) <= 1e-6 * want_v);
    }
    expect_grad("bn dx", ref.x, n, dx, bn_ref_loss, &ref);
    expect_grad("bn dgamma", ref.gamma, C, dgamma, bn_ref_loss, &ref);
    expect_grad("bn dbeta", ref.beta, C, dbeta, bn_ref_loss, &ref);
    if (has_z)
        expect_grad("bn dz", ref.z, n, dz, bn_ref_loss, &ref);

    /* eval mode: the running statistics, nothing updated */
    float rm1[4], rv1[4];
    memcpy(rm1, rm, sizeof rm), memcpy(rv1, rv, sizeof rv);
    be->bn_forward(be, &bn, relu ? TRN_BN_RELU : 0, &tx, has_z ? &tz : NULL, &ty);
    assert_int_equal(be->sync(be), INRF_OK);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % C);
        double o = gamma[c] * (x[i] - rm[c]) / sqrt(rv[c] + 1e-5) + beta[c] + (has_z ? z[i] : 0.0);
        ref.y[i] = relu && o < 0.0 ? 0.0 : o;
    }
    expect_close("bn eval y", y, ref.y, n, FWD_TOL);
    assert_memory_equal(rm, rm1, sizeof rm);
    assert_memory_equal(rv, rv1, sizeof rv);

    free(ref.x), free(ref.z), free(ref.gamma), free(ref.beta), free(ref.r), free(ref.y);
    free(x), free(z), free(r), free(gamma), free(beta), free(y), free(dx), free(dz);
    be->destroy(be);
}

static void test_bn(void **state)
{
    (void)state;
    check_bn(0, 0);
    check_bn(1, 0);
    check_bn(1, 1);
    check_bn(0, 1);
}

/* ------------------------------------------------- relu, add, pooling */

typedef struct unary_ref {
    void (*fwd)(const struct unary_ref *u, double *y);
    double *x, *r, *y;
    size_t nx, ny;
    int n, h, w, c, oh, ow; /* pooling shapes */
} unary_ref;

static double unary_ref_loss(const void *ctx)
{
    const unary_ref *u = ctx;
    u->fwd(u, u->y);
    return dot(u->r, u->y, u->ny);
}

static void relu_ref(const unary_ref *u, double *y)
{
    for (size_t i = 0; i < u->nx; i++)
        y[i] = u->x[i] > 0.0 ? u->x[i] : 0.0;
}

static void test_relu(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    const size_t n = 2 * 3 * 3 * 5;
    float *x = rand_floats(n, -1, 1), *r = rand_floats(n, -1, 1), *y = zeros(n), *dx = zeros(n);
    for (size_t i = 0; i < n; i++) /* keep clear of the kink by far more than h */
        x[i] += x[i] < 0 ? -0.01f : 0.01f;
    trn_tensor tx = trn_tensor4(x, 2, 3, 3, 5), ty = trn_tensor4(y, 2, 3, 3, 5);
    trn_tensor tr = trn_tensor4(r, 2, 3, 3, 5), tdx = trn_tensor4(dx, 2, 3, 3, 5);
    be->relu_forward(be, &tx, &ty);
    be->relu_backward(be, &ty, &tr, &tdx);
    assert_int_equal(be->sync(be), INRF_OK);
    unary_ref u = {relu_ref, to_double(x, n), to_double(r, n), malloc(n * sizeof(double)), n, n,
                   0, 0, 0, 0, 0, 0};
    relu_ref(&u, u.y);
    expect_close("relu y", y, u.y, n, 0.0);
    expect_grad("relu dx", u.x, n, dx, unary_ref_loss, &u);
    /* in place */
    be->relu_forward(be, &tx, &tx);
    assert_int_equal(be->sync(be), INRF_OK);
    assert_memory_equal(x, y, n * sizeof(float));
    free(u.x), free(u.r), free(u.y), free(x), free(r), free(y), free(dx);
    be->destroy(be);
}

static void test_add(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    const size_t n = 1000;
    float *a = rand_floats(n, -1, 1), *b = rand_floats(n, -1, 1), *y = zeros(n);
    trn_tensor ta = trn_tensor4(a, 10, 10, 10, 1), tb = trn_tensor4(b, 1, 1, 1, 1000);
    trn_tensor ty = trn_tensor4(y, 1, 10, 10, 10);
    be->add(be, &ta, &tb, &ty);
    assert_int_equal(be->sync(be), INRF_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(y[i] == a[i] + b[i]); /* one rounding, like any float add */
    be->add(be, &ta, &tb, &tb); /* in place */
    assert_int_equal(be->sync(be), INRF_OK);
    assert_memory_equal(b, y, n * sizeof(float));
    trn_tensor short_t = trn_tensor4(y, 1, 1, 1, 999);
    be->add(be, &ta, &tb, &short_t);
    assert_int_equal(be->sync(be), INRF_E_INVALID_ARG);
    free(a), free(b), free(y);
    be->destroy(be);
}

// y (N,OH,OW,C) = max of x (N,H,W,C) over the 3x3/2 window, padding 1
static void maxpool_ref(const unary_ref *u, double *y)
{
    for (int n = 0; n < u->n; n++)
        for (int oh = 0; oh < u->oh; oh++)
            for (int ow = 0; ow < u->ow; ow++)
                for (int c = 0; c < u->c; c++) {
                    double m = -INFINITY;
                    for (int ih = 2 * oh - 1; ih <= 2 * oh + 1; ih++)
                        for (int iw = 2 * ow - 1; iw <= 2 * ow + 1; iw++)
                            if (ih >= 0 && ih < u->h && iw >= 0 && iw < u->w) {
                                double v = u->x[(((size_t)n * u->h + ih) * u->w + iw) * u->c + c];
                                m = v > m ? v : m;
                            }
                    y[(((size_t)n * u->oh + oh) * u->ow + ow) * u->c + c] = m;
                }
}

static void check_maxpool(int N, int H, int W, int C)
{
    trn_backend *be = new_backend(2);
    trn_window win = {3, 3, 2, 1};
    int OH = trn_window_out(H, 3, &win), OW = trn_window_out(W, 3, &win);
    size_t nx = (size_t)N * H * W * C, ny = (size_t)N * OH * OW * C;
    float *x = rand_floats(nx, -1, 1), *r = rand_floats(ny, -1, 1), *y = zeros(ny), *dx = zeros(nx);
    trn_tensor tx = trn_tensor4(x, N, H, W, C), ty = trn_tensor4(y, N, OH, OW, C);
    trn_tensor tr = trn_tensor4(r, N, OH, OW, C), tdx = trn_tensor4(dx, N, H, W, C);
    be->maxpool_forward(be, &win, &tx, &ty);
    be->maxpool_backward(be, &win, &tx, &ty, &tr, &tdx);
    assert_int_equal(be->sync(be), INRF_OK);
    unary_ref u = {maxpool_ref, to_double(x, nx), to_double(r, ny), malloc(ny * sizeof(double)),
                   nx, ny, N, H, W, C, OH, OW};
    maxpool_ref(&u, u.y);
    expect_close("maxpool y", y, u.y, ny, 0.0);
    expect_grad("maxpool dx", u.x, nx, dx, unary_ref_loss, &u);
    free(u.x), free(u.r), free(u.y), free(x), free(r), free(y), free(dx);
    be->destroy(be);
}

static void test_maxpool(void **state)
{
    (void)state;
    check_maxpool(2, 7, 7, 3);
    check_maxpool(3, 8, 6, 2);
}

/* Ties: the whole gradient goes to the first maximum in window order, as
 * in PyTorch; never split, never to the padding. */
static void test_maxpool_ties(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    trn_window win = {3, 3, 2, 1};
    float x[16], y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    for (int i = 0; i < 16; i++)
        x[i] = -5.0f; /* all equal and negative: -inf padding must not win */
    trn_tensor tx = trn_tensor4(x, 1, 4, 4, 1), ty = trn_tensor4(y, 1, 2, 2, 1);
    trn_tensor tdy = trn_tensor4(dy, 1, 2, 2, 1), tdx = trn_tensor4(dx, 1, 4, 4, 1);
    be->maxpool_forward(be, &win, &tx, &ty);
    be->maxpool_backward(be, &win, &tx, &ty, &tdy, &tdx);
    assert_int_equal(be->sync(be), INRF_OK);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == -5.0f);
    /* windows start at rows/cols -1, 1: first valid inputs (0,0), (0,1), (1,0), (1,1) */
    float want[16] = {1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(dx, want, sizeof want);
    be->destroy(be);
}

// y (N,1,1,C) = mean of x (N,H,W,C) over H,W
static void avgpool_ref(const unary_ref *u, double *y)
{
    for (int n = 0; n < u->n; n++)
        for (int c = 0; c < u->c; c++) {
            double s = 0.0;
            for (int p = 0; p < u->h * u->w; p++)
                s += u->x[((size_t)n * u->h * u->w + p) * u->c + c];
            y[(size_t)n * u->c + c] = s / (u->h * u->w);
        }
}

static void test_avgpool(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    const int N = 2, H = 3, W = 5, C = 4;
    size_t nx = (size_t)N * H * W * C, ny = (size_t)N * C;
    float *x = rand_floats(nx, -1, 1), *r = rand_floats(ny, -1, 1), *y = zeros(ny), *dx = zeros(nx);
    trn_tensor tx = trn_tensor4(x, N, H, W, C), ty = trn_tensor4(y, N, 1, 1, C);
    trn_tensor tr = trn_tensor4(r, N, 1, 1, C), tdx = trn_tensor4(dx, N, H, W, C);
    be->avgpool_forward(be, &tx, &ty);
    be->avgpool_backward(be, &tr, &tdx);
    assert_int_equal(be->sync(be), INRF_OK);
    unary_ref u = {avgpool_ref, to_double(x, nx), to_double(r, ny), malloc(ny * sizeof(double)),
                   nx, ny, N, H, W, C, 1, 1};
    avgpool_ref(&u, u.y);
    expect_close("avgpool y", y, u.y, ny, FWD_TOL);
    expect_grad("avgpool dx", u.x, nx, dx, unary_ref_loss, &u);
    free(u.x), free(u.r), free(u.y), free(x), free(r), free(y), free(dx);
    be->destroy(be);
}

/* ------------------------------------------------------------- linear */

typedef struct linear_ref {
    int n, in, out;
    double *x, *w, *b, *r, *y;
} linear_ref;

// y (N,Out) = x (N,In) . w^T + b
static double linear_ref_loss(const void *ctx)
{
    const linear_ref *l = ctx;
    for (int n = 0; n < l->n; n++)
        for (int o = 0; o < l->out; o++)
            l->y[n * l->out + o] = l->b[o] + dot(l->x + (size_t)n * l->in, l->w + (size_t)o * l->in, (size_t)l->in);
    return dot(l->r, l->y, (size_t)l->n * l->out);
}

static void test_linear(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    const int N = 3, IN = 6, OUT = 4;
    float *x = rand_floats(N * IN, -1, 1), *w = rand_floats(OUT * IN, -1, 1);
    float *b = rand_floats(OUT, -1, 1), *r = rand_floats(N * OUT, -1, 1), *y = zeros(N * OUT);
    float *dx = zeros(N * IN), *dw = zeros(OUT * IN), *db = zeros(OUT);
    /* x as (N,1,2,3): the layer flattens H,W,C */
    trn_tensor tx = trn_tensor4(x, N, 1, 2, 3), tw = trn_tensor4(w, OUT, 1, 1, IN);
    trn_tensor ty = trn_tensor4(y, N, 1, 1, OUT), tr = trn_tensor4(r, N, 1, 1, OUT);
    trn_tensor tdx = trn_tensor4(dx, N, 1, 2, 3), tdw = trn_tensor4(dw, OUT, 1, 1, IN);
    be->linear_forward(be, &tx, &tw, b, &ty);
    be->linear_backward(be, &tx, &tw, &tr, &tdx, &tdw, db);
    assert_int_equal(be->sync(be), INRF_OK);
    linear_ref l = {N, IN, OUT, to_double(x, N * IN), to_double(w, OUT * IN), to_double(b, OUT),
                    to_double(r, N * OUT), malloc(N * OUT * sizeof(double))};
    linear_ref_loss(&l);
    expect_close("linear y", y, l.y, N * OUT, FWD_TOL);
    expect_grad("linear dx", l.x, N * IN, dx, linear_ref_loss, &l);
    expect_grad("linear dw", l.w, OUT * IN, dw, linear_ref_loss, &l);
    expect_grad("linear db", l.b, OUT, db, linear_ref_loss, &l);
    free(l.x), free(l.w), free(l.b), free(l.r), free(l.y);
    free(x), free(w), free(b), free(r), free(y), free(dx), free(dw), free(db);
    be->destroy(be);
}

/* ---------------------------------------------------------------- loss */

typedef struct xent_ref {
    int n, k;
    double *logits, smoothing;
    const int32_t *labels;
} xent_ref;

/* mean over n of -sum_k q_k log softmax_k, q = (1-s) onehot + s/K */
static double xent_ref_loss(const void *ctx)
{
    const xent_ref *x = ctx;
    double total = 0.0;
    for (int n = 0; n < x->n; n++) {
        const double *l = x->logits + (size_t)n * x->k;
        double z = 0.0;
        for (int k = 0; k < x->k; k++)
            z += exp(l[k]);
        for (int k = 0; k < x->k; k++) {
            double q = x->smoothing / x->k + (k == x->labels[n] ? 1.0 - x->smoothing : 0.0);
            total -= q * (l[k] - log(z));
        }
    }
    return total / x->n;
}

static void check_xent(float smoothing)
{
    trn_backend *be = new_backend(2);
    const int N = 4, K = 5;
    int32_t labels[4] = {0, 4, 2, 2};
    float *logits = rand_floats(N * K, -3, 3), *dl = zeros(N * K), loss = 0.0f;
    trn_tensor tl = trn_tensor4(logits, N, 1, 1, K), tdl = trn_tensor4(dl, N, 1, 1, K);
    be->xent(be, &tl, labels, smoothing, &tdl, &loss);
    assert_int_equal(be->sync(be), INRF_OK);
    xent_ref x = {N, K, to_double(logits, N * K), smoothing, labels};
    double want = xent_ref_loss(&x);
    assert_true(fabs(loss - want) <= 1e-6 * want);
    expect_grad("xent dlogits", x.logits, N * K, dl, xent_ref_loss, &x);
    /* a label outside 0..K-1 is refused */
    labels[1] = K;
    be->xent(be, &tl, labels, smoothing, &tdl, &loss);
    assert_int_equal(be->sync(be), INRF_E_INVALID_ARG);
    free(x.logits), free(logits), free(dl);
    be->destroy(be);
}

static void test_xent(void **state)
{
    (void)state;
    check_xent(0.0f);
    check_xent(0.1f);
}

/* Each refusal says which operation, which tensors and what is wrong. */
static void test_messages(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    float buf[512] = {0}, loss;
    int32_t labels[2] = {0, 1};
    trn_bn bn = {0};
    trn_tensor x = trn_tensor4(buf, 2, 4, 4, 3), y = trn_tensor4(buf, 2, 4, 4, 2);
    trn_tensor one = trn_tensor4(buf, 1, 1, 1, 3), g = trn_tensor4(buf, 2, 1, 1, 3);
    trn_tensor lg = trn_tensor4(buf, 2, 1, 1, 4), dl = trn_tensor4(buf, 2, 1, 1, 5);
    trn_window win = {3, 3, 2, 1};
    struct {
        int op;
        const char *want;
    } cases[] = {
        {0, "bn_forward: x (2,4,4,3), y (2,4,4,2): shapes do not match"},
        {1, "bn_forward: batch statistics over 1 value a channel, at least 2"},
        {2, "maxpool_forward: x (2,4,4,3), y (2,4,4,2): not the output of a 3x3 window, "
            "stride 2, padding 1"},
        {3, "avgpool_forward: x (2,4,4,3), y (2,4,4,2): y must be (N,1,1,C)"},
        {4, "linear_forward: x (2,1,1,3), w (2,4,4,2), y (2,4,4,2): expected"},
        {5, "xent: logits (2,1,1,4), dlogits (2,1,1,5): not one shape"},
        {6, "xent: label smoothing 1 out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        switch (cases[i].op) {
        case 0: be->bn_forward(be, &bn, TRN_BN_TRAIN, &x, NULL, &y); break;
        case 1: be->bn_forward(be, &bn, TRN_BN_TRAIN, &one, NULL, &one); break;
        case 2: be->maxpool_forward(be, &win, &x, &y); break;
        case 3: be->avgpool_forward(be, &x, &y); break;
        case 4: be->linear_forward(be, &g, &y, NULL, &y); break;
        case 5: be->xent(be, &lg, labels, 0.0f, &dl, &loss); break;
        case 6: be->xent(be, &lg, labels, 1.0f, &lg, &loss); break;
        }
        assert_int_equal(be->sync(be), INRF_E_INVALID_ARG);
        if (!strstr(trn_last_error(), cases[i].want))
            fprintf(stderr, "case %zu: \"%s\"\n", i, trn_last_error());
        assert_non_null(strstr(trn_last_error(), cases[i].want));
    }
    be->destroy(be);
}

/* ----------------------------------------------------------------- SGD */

/* Dyadic values keep every product and sum exact, so the result must be
 * exactly PyTorch's formula: g' = g + wd p; buf = m buf + g'; p -= lr buf. */
static void test_sgd_exact(void **state)
{
    (void)state;
    trn_backend *be = new_backend(2);
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, 0.25f, -1.0f}, buf[3] = {0, 0, 0};
    /* step 1: g' = g + p/4; buf = g'; p -= buf/2 */
    be->sgd_step(be, p, g, buf, 3, 0.5f, 0.5f, 0.25f);
    assert_int_equal(be->sync(be), INRF_OK);
    float buf1[3] = {0.75f, -0.25f, -0.875f}, p1[3] = {0.625f, -1.875f, 0.9375f};
    assert_memory_equal(buf, buf1, sizeof buf);
    assert_memory_equal(p, p1, sizeof p);
    /* step 2, the same gradient: buf = buf/2 + g + p/4 */
    be->sgd_step(be, p, g, buf, 3, 0.5f, 0.5f, 0.25f);
    assert_int_equal(be->sync(be), INRF_OK);
    float buf2[3] = {0.375f + 0.5f + 0.15625f, -0.125f + 0.25f - 0.46875f,
                     -0.4375f - 1.0f + 0.234375f};
    for (int i = 0; i < 3; i++) {
        assert_true(buf[i] == buf2[i]);
        assert_true(p[i] == p1[i] - 0.5f * buf2[i]);
    }
    /* no weight decay: plain momentum */
    float q[1] = {1.0f}, gq[1] = {2.0f}, bq[1] = {4.0f};
    be->sgd_step(be, q, gq, bq, 1, 0.125f, 0.75f, 0.0f);
    assert_int_equal(be->sync(be), INRF_OK);
    assert_true(bq[0] == 5.0f && q[0] == 0.375f);
    be->destroy(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_bad_shape),
        cmocka_unit_test(test_bn),
        cmocka_unit_test(test_relu),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_maxpool_ties),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_xent),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_sgd_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
