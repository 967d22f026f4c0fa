/* test_train_math.c: train_math.h, the training math the GPU encoder runs,
 * against libinrf's CPU training pass (every instruction set's copy, which
 * must agree to the bit) and encoder formulas, and libinrf's CPU batch
 * trainer driving the batch schedule. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "inrf/inrf.h"
#include "inrf/train_math.h"
#include "../libinrf/train.h" /* the CPU passes, linked into this test (Makefile.am) */

static uint64_t rng_state = 42;
static double uniform(double lo, double hi)
{
    rng_state = inrf_tm_mix64(rng_state);
    return lo + (hi - lo) * (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static inrf_arch arch_of(unsigned layers, unsigned width, unsigned channels)
{
    inrf_arch a;
    inrf_arch_siren(&a, 32, 32, (uint8_t)channels, (uint8_t)layers, (uint16_t)width);
    a.omega_first = 15.0f;
    return a;
}

/* SIREN-like random weights: a trained net's magnitudes, not zeros. */
static void random_params(const inrf_tm_net *n, float *p)
{
    for (unsigned l = 0; l <= n->layers; l++) {
        double a = l == 0 ? 1.0 / n->in[l] : sqrt(6.0 / n->in[l]) / n->omega_hidden;
        for (unsigned k = 0; k < n->in[l] * n->out[l]; k++)
            p[n->woff[l] + k] = (float)uniform(-2 * a, 2 * a);
        for (unsigned j = 0; j < n->out[l]; j++)
            p[n->boff[l] + j] = (float)uniform(-0.5, 0.5);
    }
}

/* ------------------------------------------------------- gradients */

/* Gradients of scale * SSE over npix pixels (of which valid count) by
 * train_math.h in chunks of T pixels, as the GPU kernel sums them. */
static double tm_gradient(const inrf_tm_net *n, const float *w, const float *xy,
                          const uint8_t *target, size_t npix, size_t valid, unsigned T,
                          float scale, float *grad)
{
    const size_t S = T + 1;
    const unsigned C = n->out[n->layers];
    float *cols = calloc((size_t)n->rows * S, sizeof(float));
    double sse = 0;
    memset(grad, 0, n->nparams * sizeof(float));
    for (size_t c0 = 0; c0 < valid; c0 += T) {
        unsigned cnt = (unsigned)(valid - c0 < T ? valid - c0 : T);
        for (unsigned t = 0; t < cnt; t++)
            sse += inrf_tm_pixel(n, w, cols + t, S, xy[c0 + t], xy[npix + c0 + t],
                                 target + (c0 + t) * C, 2.0f * scale);
        for (unsigned k = 0; k < n->nparams; k++) {
            unsigned dr, hr;
            inrf_tm_param_rows(n, k, &dr, &hr);
            grad[k] = inrf_tm_param_sum(cols, S, dr, hr, cnt, grad[k]);
        }
    }
    free(cols);
    return sse;
}

static void check_gradients(unsigned layers, unsigned width, unsigned C)
{
    inrf_arch a = arch_of(layers, width, C);
    inrf_tm_net n;
    inrf_tm_net_init(&n, &a);
    const size_t npix = 320, valid = 300, P = n.nparams;
    float *w = malloc(P * sizeof(float)), *g_tm = malloc(P * sizeof(float));
    float *g_cpu = calloc(P, sizeof(float)), *xy = malloc(2 * npix * sizeof(float));
    float *y = malloc(C * npix * sizeof(float));
    uint8_t *target = malloc(C * npix);
    float *work = aligned_alloc(64, inrf_train_work_floats(&n, npix) * sizeof(float));
    random_params(&n, w);
    for (size_t p = 0; p < npix; p++) {
        inrf_tm_pixel_xy(p * 7 % 1024, 32, 32, &xy[p], &xy[npix + p]);
        for (unsigned c = 0; c < C; c++) {
            target[p * C + c] = (uint8_t)(uniform(0, 256));
            y[c * npix + p] = target[p * C + c] * (1.0f / 255.0f);
        }
    }
    const float scale = 1.0f / (float)(valid * C);
    double sse_cpu = inrf_train_pass_generic(&n, w, xy, y, npix, valid, scale, g_cpu, work);
    double sse_tm = tm_gradient(&n, w, xy, target, npix, valid, 64, scale, g_tm);
    /* Float sums of a few hundred terms in other orders: atol relative to
     * the largest component, rtol to each (measured: differences below
     * 6e-7 of max |g| + |g|, so the tolerance leaves a factor 30). */
    float gmax = 0;
    for (size_t k = 0; k < P; k++)
        gmax = fmaxf(gmax, fabsf(g_cpu[k]));
    assert_true(gmax > 0);
    double worst = 0;
    for (size_t k = 0; k < P; k++) {
        double err = fabs(g_tm[k] - g_cpu[k]);
        worst = fmax(worst, err / (gmax + fabs(g_cpu[k])));
        if (err > 2e-5 * gmax + 1e-4 * fabs(g_cpu[k]))
            fail_msg("%ux%u C%u: parameter %zu: train_math %g, CPU pass %g", layers, width, C, k,
                     g_tm[k], g_cpu[k]);
    }
    print_message("%ux%u C%u: worst |difference| / (max |g| + |g|) %.2g\n", layers, width, C,
                  worst);
    assert_true(fabs(sse_tm - sse_cpu) <= 1e-5 * sse_cpu);
    free(w), free(g_tm), free(g_cpu), free(xy), free(y), free(target), free(work);
}

static void test_gradients(void **state)
{
    (void)state;
    check_gradients(2, 5, 1);
    check_gradients(2, 5, 3);
    check_gradients(3, 15, 3);
    check_gradients(3, 15, 1);
    check_gradients(1, 7, 3);
}

/* Every instruction set's copy of the CPU pass that this CPU runs gives
 * the portable copy's bits: the gradient and the loss, on networks whose
 * widths leave remainders to every block size, with padding pixels. */
static void test_pass_same_bits(void **state)
{
    (void)state;
    struct {
        const char *name;
        inrf_train_fn fn;
        int ok;
    } isa[] = {
#ifdef INRF_SIMD_X86
        {"avx2", inrf_train_pass_avx2, 0},
        {"avx512", inrf_train_pass_avx512, 0},
#endif
        {"generic", inrf_train_pass_generic, 1},
    };
#ifdef INRF_SIMD_X86
    __builtin_cpu_init();
    isa[0].ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    isa[1].ok = isa[0].ok && __builtin_cpu_supports("avx512f") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    static const unsigned shapes[][3] = {{3, 15, 3}, {2, 7, 1}, {4, 13, 3}, {10, 40, 3}, {1, 9, 3}};
    int compared = 0;
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        inrf_arch a = arch_of(shapes[sh][0], shapes[sh][1], shapes[sh][2]);
        inrf_tm_net n;
        inrf_tm_net_init(&n, &a);
        const unsigned C = shapes[sh][2];
        const size_t npix = 1024, valid = 1000, P = n.nparams;
        float *w = malloc(P * sizeof(float)), *xy = malloc(2 * npix * sizeof(float));
        float *y = malloc(C * npix * sizeof(float)), *g = malloc(2 * P * sizeof(float));
        float *work = aligned_alloc(64, inrf_train_work_floats(&n, npix) * sizeof(float));
        random_params(&n, w);
        for (size_t p = 0; p < npix; p++) {
            inrf_tm_pixel_xy(p * 13 % 4096, 64, 64, &xy[p], &xy[npix + p]);
            for (unsigned c = 0; c < C; c++)
                y[c * npix + p] = (float)uniform(0, 1);
        }
        const float scale = 1.0f / (float)(valid * C);
        const size_t last = sizeof isa / sizeof *isa - 1;
        memset(g + P, 0, P * sizeof(float));
        double want = isa[last].fn(&n, w, xy, y, npix, valid, scale, g + P, work);
        for (size_t k = 0; k < last; k++) {
            if (!isa[k].ok)
                continue;
            memset(g, 0, P * sizeof(float));
            double got = isa[k].fn(&n, w, xy, y, npix, valid, scale, g, work);
            if (memcmp(&got, &want, sizeof got) != 0)
                fail_msg("%s: loss %.17g, generic %.17g", isa[k].name, got, want);
            for (size_t q = 0; q < P; q++)
                if (memcmp(&g[q], &g[P + q], sizeof(float)) != 0)
                    fail_msg("%s, %ux%u: parameter %zu: %a, generic %a", isa[k].name,
                             shapes[sh][0], shapes[sh][1], q, (double)g[q], (double)g[P + q]);
            compared++;
        }
        free(w), free(xy), free(y), free(g), free(work);
    }
    print_message("%d comparisons with the portable pass\n", compared);
}

/* The column layout: rows in order, parameters where the CPU has them. */
static void test_layout(void **state)
{
    (void)state;
    inrf_arch a = arch_of(3, 15, 3);
    inrf_tm_net n;
    inrf_tm_net_init(&n, &a);
    assert_int_equal(n.nparams, 573);
    assert_int_equal(n.hrow[1], 2);
    assert_int_equal(n.hrow[3], 32);
    assert_int_equal(n.drow[0], 47);
    assert_int_equal(n.rows, 47 + 48);
    unsigned dr, hr;
    inrf_tm_param_rows(&n, n.boff[3] + 2, &dr, &hr);
    assert_int_equal(dr, n.drow[3] + 2);
    assert_int_equal(hr, INRF_TM_BIAS);
    inrf_tm_param_rows(&n, n.woff[1] + 15 * 4 + 7, &dr, &hr);
    assert_int_equal(dr, n.drow[1] + 4);
    assert_int_equal(hr, n.hrow[1] + 7);
}

/* ------------------------------------------------------------ Adam */

static void test_adam(void **state)
{
    (void)state;
    /* encode.c's formulas as they stood before train_math.h, verbatim */
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    const float gs[] = {0.0f, 1e-3f, -0.25f, 3.0f, -7e-6f};
    const int keeps[] = {1, 1, 1, 0, 1};
    assert_true((float)M_PI == 3.14159265358979323846f);
    for (long t = 1; t <= 5; t++)
        for (int s = 0; s < 7; s++) {
            int steps = 6;
            float lr0 = 3e-3f;
            float lr = lr0 * (0.05f + 0.95f * 0.5f * (1.0f + cosf((float)M_PI * s / steps)));
            float c1 = 1.0f / (1.0f - powf(b1, (float)t));
            float c2 = 1.0f / (1.0f - powf(b2, (float)t));
            float lr_tm = inrf_tm_lr(lr0, s, steps), c1_tm, c2_tm;
            inrf_tm_adam_corrections(t, &c1_tm, &c2_tm);
            assert_memory_equal(&lr, &lr_tm, sizeof lr);
            assert_memory_equal(&c1, &c1_tm, sizeof c1);
            assert_memory_equal(&c2, &c2_tm, sizeof c2);
            for (int i = 0; i < 5; i++) {
                float m = 0.01f * (float)i, v = 1e-4f * (float)(i + t), p = 0.5f - (float)i;
                float mt = m, vt = v, g = gs[i];
                m = b1 * m + (1 - b1) * g;
                v = b2 * v + (1 - b2) * g * g;
                float upd = lr * (m * c1) / (sqrtf(v * c2) + eps);
                float want = keeps[i] ? p - upd : 0.0f;
                float got = inrf_tm_adam(p, &mt, &vt, g, lr_tm, c1_tm, c2_tm, keeps[i]);
                assert_memory_equal(&want, &got, sizeof want);
                assert_memory_equal(&m, &mt, sizeof m);
                assert_memory_equal(&v, &vt, sizeof v);
            }
        }
}

/* ------------------------------------------------- fake quantisation */

/* bytes.h's inrf_f32_to_f16 as it stood before it moved to siren_math.h. */
static uint16_t ref_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x477fe000u)
        return (uint16_t)(sign | 0x7bffu);
    if (ax < 0x38800000u) {
        if (ax < 0x33000000u)
            return (uint16_t)sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((ax - 0x38000000u) >> 13);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_f16(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = inrf_f16_to_f32((uint16_t)h);
        assert_int_equal(inrf_f32_to_f16(f), ref_f32_to_f16(f));
        if (((h >> 10) & 31) != 31) /* finite halves come back as themselves */
            assert_int_equal(inrf_f32_to_f16(f), h);
        /* the midpoints to the next half, and just either side of them */
        float next = inrf_f16_to_f32((uint16_t)(h + 1));
        float mid = (float)(((double)f + next) / 2);
        uint32_t mb;
        memcpy(&mb, &mid, 4);
        for (int d = -1; d <= 1; d++)
            assert_int_equal(inrf_f32_to_f16(bits_float(mb + (uint32_t)d)),
                             ref_f32_to_f16(bits_float(mb + (uint32_t)d)));
    }
    /* a sweep of all float bit patterns, NaN and Inf included */
    for (uint64_t u = 0; u < (1ull << 32); u += 4093)
        assert_int_equal(inrf_f32_to_f16(bits_float((uint32_t)u)),
                         ref_f32_to_f16(bits_float((uint32_t)u)));
}

/* encode.c's fake_quantise as a loop over layers, the reference for the
 * per-parameter inrf_tm_fake_quant. */
static void ref_fake_quant(const inrf_tm_net *n, const float *src, float *dst, int quant,
                           int half_io)
{
    memcpy(dst, src, n->nparams * sizeof(float));
    for (unsigned l = 0; l <= n->layers; l++) {
        float *W = dst + n->woff[l], *b = dst + n->boff[l];
        unsigned in = n->in[l], out = n->out[l];
        int hidden = l > 0 && l < n->layers;
        if (hidden && quant != INRF_QUANT_NONE) {
            unsigned rows = quant == INRF_QUANT_INT8_ROW ? out : 1;
            size_t span = (size_t)in * out / rows;
            for (unsigned r = 0; r < rows; r++) {
                float *w = W + r * span, amax = 0.0f;
                for (size_t i = 0; i < span; i++)
                    amax = fmaxf(amax, fabsf(w[i]));
                float s = amax > 0.0f ? amax / 127.0f : 1.0f;
                for (size_t i = 0; i < span; i++) {
                    float q = rintf(w[i] / s);
                    q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
                    w[i] = q * s;
                }
            }
        } else if (!hidden && half_io) {
            for (size_t i = 0; i < (size_t)in * out; i++)
                W[i] = inrf_f16_to_f32(ref_f32_to_f16(W[i]));
        }
        if (half_io)
            for (unsigned j = 0; j < out; j++)
                b[j] = inrf_f16_to_f32(ref_f32_to_f16(b[j]));
    }
}

static void test_fake_quant(void **state)
{
    (void)state;
    inrf_arch a = arch_of(3, 15, 3);
    inrf_tm_net n;
    inrf_tm_net_init(&n, &a);
    float src[573], want[573];
    random_params(&n, src);
    for (unsigned j = 0; j < 15; j++) /* an all-zero row: scale 1 */
        src[n.woff[2] + 3 * 15 + j] = 0.0f;
    for (int quant = 0; quant <= INRF_QUANT_INT8_ROW; quant++)
        for (int half = 0; half <= 1; half++) {
            ref_fake_quant(&n, src, want, quant, half);
            for (unsigned k = 0; k < n.nparams; k++) {
                float got = inrf_tm_fake_quant(&n, src, k, quant, half);
                assert_memory_equal(&got, &want[k], sizeof got);
            }
        }
}

/* ------------------------------------ libinrf's CPU batch trainer */

/* The library's CPU trainer (inrf_cpu_trainer_create), created once. */
static inrf_batch_trainer lib_trainer;

/* Runs a stage on the library's trainer, counting the stages in self
 * (int[5]). */
static inrf_status cpu_run_stage(void *self, const inrf_tm_batch *b, const inrf_tm_stage *st)
{
    int *stages = (int *)self;
    stages[st->stage]++;
    return lib_trainer.run_stage(lib_trainer.self, b, st);
}

/* A w x h crop of a smooth picture with some texture, different for each k. */
static inrf_image picture(uint32_t w, uint32_t h, uint8_t channels, int k)
{
    inrf_image img;
    assert_int_equal(inrf_image_alloc(&img, w, h, channels), INRF_OK);
    for (uint32_t j = 0; j < h; j++)
        for (uint32_t i = 0; i < w; i++) {
            double x = (i + 0.5) / w + 0.07 * k, y = (j + 0.5) / h - 0.05 * k;
            double disc = (x - 0.4) * (x - 0.4) + (y - 0.55) * (y - 0.55) < 0.06 ? 1 : 0;
            double v[3] = {0.2 + 0.6 * fabs(sin(x)), 0.3 + 0.5 * y * disc + 0.1 * sin(12 * x),
                           0.5 + 0.3 * sin(6 * (x + y)) * (1 - disc)};
            for (unsigned c = 0; c < channels; c++)
                img.pixels[((size_t)j * w + i) * channels + c] =
                    (uint8_t)lrint(255 * fmin(fmax(v[c], 0), 1));
        }
    return img;
}

/* A few steps of the kernel's loop reduce the loss, with every pixel and
 * with random batches, and pruned weights stay 0. */
static void test_fit_steps(void **state)
{
    (void)state;
    enum { N = 2 };
    inrf_image img[N] = {picture(24, 20, 3, 0), picture(24, 20, 3, 1)};
    for (int sampled = 0; sampled <= 1; sampled++) {
        inrf_tm_batch b;
        memset(&b, 0, sizeof b);
        inrf_arch a = arch_of(3, 15, 3);
        inrf_tm_net_init(&b.net, &a);
        const unsigned P = b.net.nparams;
        float params[N * 573], m[N * 573] = {0}, v[N * 573] = {0};
        uint8_t keep[N * 573];
        double best[N];
        long adam_t[N] = {0};
        int taken[N];
        const uint64_t image_key[N] = {11, 12};
        random_params(&b.net, params);
        memcpy(params + P, params, P * sizeof(float));
        memset(keep, 1, sizeof keep);
        keep[b.net.woff[1] + 5] = keep[P + b.net.woff[2] + 9] = 0;
        params[b.net.woff[1] + 5] = params[P + b.net.woff[2] + 9] = 0.0f;
        b.images = img, b.n = N, b.batch = sampled ? 100 : 480, b.seed = 7;
        b.params = params, b.m = m, b.v = v, b.keep = keep, b.best_psnr = best;
        b.adam_t = adam_t, b.taken = taken, b.image_key = image_key;
        inrf_tm_stage st = {1, 0, 3e-3f, 0, 0, 0, NULL, NULL};
        int stages[5] = {0};
        assert_int_equal(cpu_run_stage(stages, &b, &st), INRF_OK); /* 0 steps: the loss */
        double before[N] = {best[0], best[1]};
        st.steps = 60;
        assert_int_equal(cpu_run_stage(stages, &b, &st), INRF_OK);
        for (int i = 0; i < N; i++) {
            assert_true(best[i] > before[i] + 3.0);
            assert_int_equal(taken[i], 60);
            assert_int_equal(adam_t[i], 60);
        }
        /* a stop ends each image at its first evaluation at or above it */
        st.stop = best[0] + 1.0;
        double from = best[0];
        assert_int_equal(cpu_run_stage(stages, &b, &st), INRF_OK);
        assert_true(taken[0] > 0 && taken[0] < 60);
        assert_true(best[0] >= from + 1.0);
        assert_int_equal(adam_t[0], 60 + taken[0]);
        assert_true(params[b.net.woff[1] + 5] == 0.0f && params[P + b.net.woff[2] + 9] == 0.0f);
    }
    for (int i = 0; i < N; i++)
        inrf_image_free(&img[i]);
}

/* n test pictures and the options the batch tests share: 200 fit steps,
 * one thread. */
static void batch_fixture(inrf_image *img, int n, inrf_encode_options *o)
{
    for (int k = 0; k < n; k++)
        img[k] = picture(20, 16, 3, k);
    inrf_encode_options_init(o);
    o->steps = 200;
    o->threads = 1;
}

/* The batch schedule with the kernel's loop on the CPU against inrf_encode
 * on the same images: the same stages, files that read back, and PSNRs
 * within 0.3 dB on average (summation orders differ, so training does). */
static void test_batch_schedule(void **state)
{
    (void)state;
    enum { N = 6 };
    inrf_image img[N];
    inrf_encode_options o;
    batch_fixture(img, N, &o);
    int stages[5] = {0};
    inrf_batch_trainer tr = {cpu_run_stage, stages};
    inrf_model *gm[N];
    inrf_encode_stats gs[N];
    assert_int_equal(inrf_encode_batch_with(img, N, &o, &tr, gm, gs), INRF_OK);
    assert_int_equal(stages[1], 1);
    assert_int_equal(stages[2], 0); /* cifar10 preset: no 20 % round */
    assert_int_equal(stages[4], 0); /* no qat */
    double cpu_sum = 0, gpu_sum = 0;
    for (int k = 0; k < N; k++) {
        inrf_model *cm;
        inrf_encode_stats cs;
        assert_int_equal(inrf_encode(&img[k], &o, &cm, &cs), INRF_OK);
        void *d;
        size_t n;
        inrf_model *r;
        assert_int_equal(inrf_write_memory(gm[k], NULL, &d, &n), INRF_OK);
        assert_int_equal(n, gs[k].bytes);
        assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
        assert_int_equal(r->layer[1].encoding, INRF_ENC_INT8);
        assert_int_equal(r->layer[0].encoding, INRF_ENC_F16);
        assert_true(fabs(r->psnr - gs[k].psnr) < 1e-3);
        assert_true(fabs(gs[k].psnr_fp32 - cs.psnr_fp32) < 1.0);
        assert_int_equal(gs[k].steps, cs.steps);
        assert_true(fabsf(gs[k].prune_ratio - cs.prune_ratio) < 0.02f);
        cpu_sum += cs.psnr, gpu_sum += gs[k].psnr;
        inrf_model_free(r);
        inrf_model_free(cm);
        inrf_model_free(gm[k]);
        free(d);
    }
    print_message("mean PSNR: inrf_encode %.3f dB, batch schedule %.3f dB\n", cpu_sum / N,
                  gpu_sum / N);
    assert_true(fabs(cpu_sum - gpu_sum) / N < 0.3);
    /* qat: stage 4 runs through the fake quantiser */
    o.qat = 1;
    o.steps = 40;
    assert_int_equal(inrf_encode_batch_with(img, 2, &o, &tr, gm, NULL), INRF_OK);
    assert_int_equal(stages[4], 1);
    inrf_model_free(gm[0]);
    inrf_model_free(gm[1]);
    for (int k = 0; k < N; k++)
        inrf_image_free(&img[k]);
}

static void test_batch_errors(void **state)
{
    (void)state;
    inrf_image img[2] = {picture(16, 16, 3, 0), picture(16, 12, 3, 1)};
    int stages[5] = {0};
    inrf_batch_trainer tr = {cpu_run_stage, stages};
    inrf_model *m[2] = {NULL, NULL};
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.steps = 5;
    assert_int_equal(inrf_encode_batch_with(img, 2, &o, &tr, m, NULL), INRF_E_INVALID_ARG);
    assert_null(m[0]);
    assert_int_equal(inrf_encode_batch_with(img, 0, &o, &tr, m, NULL), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_encode_batch_with(img, 1, &o, NULL, m, NULL), INRF_E_INVALID_ARG);
    assert_int_equal(stages[1], 0);
    inrf_image_free(&img[0]);
    inrf_image_free(&img[1]);
}

/* Rate control in the batch schedule against inrf_encode's: a target PSNR
 * (a search over byte budgets, rounds of pruning and fine-tuning) and a
 * maximum size (a round that makes the file fit), on the same images. */
static void test_batch_rate_control(void **state)
{
    (void)state;
    enum { N = 4 };
    inrf_image img[N];
    inrf_encode_options o;
    batch_fixture(img, N, &o);
    int stages[5] = {0};
    inrf_batch_trainer tr = {cpu_run_stage, stages};
    inrf_model *gm[N], *cm;
    inrf_encode_stats gs[N], cs, free_run[N];
    assert_int_equal(inrf_encode_batch_with(img, N, &o, &tr, gm, free_run), INRF_OK);
    for (int k = 0; k < N; k++)
        inrf_model_free(gm[k]);
    for (int mode = 0; mode < 2; mode++) {
        o.target_psnr = mode == 0 ? 30.0 : 0.0;
        o.max_bytes = mode == 1 ? free_run[0].bytes * 8 / 10 : 0;
        memset(stages, 0, sizeof stages);
        assert_int_equal(inrf_encode_batch_with(img, N, &o, &tr, gm, gs), INRF_OK);
        assert_true(stages[4] >= 1); /* at least one round */
        double bytes_cpu = 0, bytes_batch = 0;
        for (int k = 0; k < N; k++) {
            assert_int_equal(inrf_encode(&img[k], &o, &cm, &cs), INRF_OK);
            print_message("%s image %d: inrf_encode %.2f dB %zu bytes %d steps, batch %.2f dB "
                          "%zu bytes %d steps\n", mode ? "max_bytes" : "target", k, cs.psnr,
                          cs.bytes, cs.steps, gs[k].psnr, gs[k].bytes, gs[k].steps);
            if (mode == 0) {
                assert_true(gs[k].psnr >= o.target_psnr);
            } else {
                assert_true(gs[k].bytes <= o.max_bytes);
            }
            assert_true(gs[k].bytes < free_run[k].bytes);
            assert_true(fabs(gs[k].psnr - cm->psnr) < 1.5);
            assert_true(abs(gs[k].steps - cs.steps) <= cs.steps / 10);
            bytes_cpu += (double)cs.bytes, bytes_batch += (double)gs[k].bytes;
            inrf_model_free(cm);
            inrf_model_free(gm[k]);
        }
        assert_true(fabs(bytes_batch - bytes_cpu) <= 0.1 * bytes_cpu);
    }
    /* a size no pruning reaches: INRF_E_LIMIT, nothing returned */
    o.target_psnr = 0;
    o.max_bytes = 100;
    assert_int_equal(inrf_encode_batch_with(img, N, &o, &tr, gm, gs), INRF_E_LIMIT);
    assert_null(gm[0]);
    for (int k = 0; k < N; k++)
        inrf_image_free(&img[k]);
}

/* The smallest file the batch schedule makes of image k alone (its
 * training does not depend on its place in a batch): what the message of
 * a budget of 1 byte names. */
static size_t batch_smallest(const inrf_image *img, const inrf_encode_options *opt,
                             const inrf_batch_trainer *tr)
{
    inrf_encode_options o = *opt;
    o.max_bytes = 1;
    inrf_model *m = NULL;
    assert_int_equal(inrf_encode_batch_with(img, 1, &o, tr, &m, NULL), INRF_E_LIMIT);
    assert_null(m);
    const char *at = strstr(inrf_last_error(), "smallest made: ");
    assert_non_null(at);
    return (size_t)strtoul(at + strlen("smallest made: "), NULL, 10);
}

/* Budgets in the batch schedule (max_bytes and bpp, through
 * inrf_encode_budget per image), from the smallest file the schedule makes
 * up: every file as written fits; one byte below, INRF_E_LIMIT. */
static void test_batch_budget_holds(void **state)
{
    (void)state;
    enum { N = 3 };
    inrf_image img[N];
    inrf_encode_options o;
    batch_fixture(img, N, &o);
    o.steps = 60;
    int stages[5] = {0};
    inrf_batch_trainer tr = {cpu_run_stage, stages};
    size_t lo = 0;
    for (int k = 0; k < N; k++) {
        size_t s = batch_smallest(&img[k], &o, &tr);
        lo = s > lo ? s : lo;
    }
    inrf_model *gm[N];
    inrf_encode_stats gs[N];
    static const long over[] = {0, 1, 2, 4, 7, 12, 25, 60, 120, -1};
    for (size_t j = 0; j < sizeof over / sizeof *over; j++) {
        o.max_bytes = 0, o.bpp = 0;
        if (over[j] >= 0) {
            o.max_bytes = lo + (size_t)over[j];
        } else { /* a bpp budget a little above the smallest file */
            o.bpp = 8.0 * (double)(lo + 3) / (20.0 * 16.0);
        }
        size_t budget = o.max_bytes ? o.max_bytes : (size_t)floor(o.bpp * 20 * 16 / 8);
        inrf_status st = inrf_encode_batch_with(img, N, &o, &tr, gm, gs);
        if (st != INRF_OK)
            print_message("budget %zu (smallest %zu): %s\n", budget, lo, inrf_last_error());
        assert_int_equal(st, INRF_OK);
        for (int k = 0; k < N; k++) {
            void *d;
            size_t n;
            assert_int_equal(inrf_write_memory(gm[k], NULL, &d, &n), INRF_OK);
            assert_int_equal(n, gs[k].bytes);
            assert_true(n <= budget);
            assert_true(isfinite(gm[k]->psnr));
            free(d);
            inrf_model_free(gm[k]);
        }
    }
    o.bpp = 0;
    o.max_bytes = lo - 1;
    assert_int_equal(inrf_encode_batch_with(img, N, &o, &tr, gm, gs), INRF_E_LIMIT);
    assert_null(gm[0]);
    char want[64];
    snprintf(want, sizeof want, "cannot fit in %zu bytes", lo - 1);
    assert_non_null(strstr(inrf_last_error(), want));
    for (int k = 0; k < N; k++)
        inrf_image_free(&img[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_pass_same_bits),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_f16),
        cmocka_unit_test(test_fake_quant),
        cmocka_unit_test(test_fit_steps),
        cmocka_unit_test(test_batch_schedule),
        cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_batch_rate_control),
        cmocka_unit_test(test_batch_budget_holds),
    };
    if (inrf_cpu_trainer_create(0, &lib_trainer) != INRF_OK)
        return 1;
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    inrf_cpu_trainer_free(&lib_trainer);
    return r;
}
