/* test_encode.c: the encoder on small generated images: the quality it
 * reaches, determinism, pruning and quantisation as asked, rate control
 * (--max-bytes, --target-psnr), interruption and bad options. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inrf/inrf.h"
#include "inrf/train_math.h"

/* A smooth test picture with some texture: gradients, a disc, stripes. */
static inrf_image picture(uint32_t w, uint32_t h, uint8_t channels)
{
    inrf_image img;
    assert_int_equal(inrf_image_alloc(&img, w, h, channels), INRF_OK);
    for (uint32_t j = 0; j < h; j++)
        for (uint32_t i = 0; i < w; i++) {
            double x = (i + 0.5) / w, y = (j + 0.5) / h;
            double disc = (x - 0.4) * (x - 0.4) + (y - 0.55) * (y - 0.55) < 0.06 ? 1 : 0;
            double v[3] = {0.2 + 0.6 * x, 0.3 + 0.5 * y * disc + 0.1 * sin(12 * x),
                           0.5 + 0.3 * sin(6 * (x + y)) * (1 - disc)};
            for (unsigned c = 0; c < channels; c++)
                img.pixels[((size_t)j * w + i) * channels + c] = (uint8_t)lrint(255 * v[c]);
        }
    return img;
}

static inrf_encode_options quick(void)
{
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.steps = 300;
    o.threads = 1;
    return o;
}

static void test_quality_and_pipeline(void **state)
{
    (void)state;
    inrf_image img = picture(32, 32, 3);
    inrf_encode_options o = quick();
    inrf_model *m;
    inrf_encode_stats s;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    /* the cifar10 preset for a 32 x 32 image: 3 x 15 */
    assert_int_equal(m->arch.layers, 3);
    assert_int_equal(m->arch.hidden[0], 15);
    assert_true(s.psnr > 28.0);
    assert_true(fabs(m->psnr - s.psnr) < 1e-3);
    /* int8 hidden layers, binary16 first and last layers and biases */
    assert_int_equal(m->layer[1].encoding, INRF_ENC_INT8);
    assert_int_equal(m->layer[2].encoding, INRF_ENC_INT8);
    assert_int_equal(m->layer[0].encoding, INRF_ENC_F16);
    assert_int_equal(m->layer[3].encoding, INRF_ENC_F16);
    assert_int_equal(m->layer[1].bias_encoding, INRF_ENC_F16);
    /* the stats agree with the file and with a decode */
    void *d;
    size_t n;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    assert_int_equal(n, s.bytes);
    inrf_model *r;
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    uint8_t px[32 * 32 * 3];
    inrf_decode_options dopt;
    inrf_decode_options_init(&dopt);
    assert_int_equal(inrf_decode_u8(r, &dopt, px, 0), INRF_OK);
    assert_true(fabs(inrf_psnr_u8(px, img.pixels, sizeof px) - s.psnr) < 1e-9);
    assert_true(fabs(r->psnr - s.psnr) < 1e-3); /* stored in the file */
    inrf_model_free(r);
    free(d);
    inrf_model_free(m);
    /* more steps, better quality */
    inrf_encode_stats s2;
    o.steps = 900;
    assert_int_equal(inrf_encode(&img, &o, &m, &s2), INRF_OK);
    assert_true(s2.psnr > s.psnr);
    inrf_model_free(m);
    inrf_image_free(&img);
}

static void test_deterministic(void **state)
{
    (void)state;
    inrf_image img = picture(24, 20, 3);
    inrf_encode_options o = quick();
    o.steps = 150;
    void *d[3];
    size_t n[3];
    for (int k = 0; k < 3; k++) {
        inrf_model *m;
        o.seed = k == 2 ? 99 : 1;
        assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_OK);
        assert_int_equal(inrf_write_memory(m, NULL, &d[k], &n[k]), INRF_OK);
        inrf_model_free(m);
    }
    assert_int_equal(n[0], n[1]);
    assert_memory_equal(d[0], d[1], n[0]);
    assert_true(n[0] != n[2] || memcmp(d[0], d[2], n[0]) != 0); /* the seed matters */
    for (int k = 0; k < 3; k++)
        free(d[k]);
    inrf_image_free(&img);
}

/* The file of m as written, in *d (freed by the caller). */
static size_t file_of(const inrf_model *m, void **d)
{
    size_t n;
    assert_int_equal(inrf_write_memory(m, NULL, d, &n), INRF_OK);
    return n;
}

/* The bytes depend only on the image, the options and the seed: the same
 * file at --effort 1 for 1 to 4 threads, on an image of one chunk of
 * pixels (1,024, the cifar10 network) and one of three chunks whose
 * network is heavy enough that a step's chunks run on several threads
 * (sums in chunk order), with a target PSNR (rate control's rounds) and
 * random pixel batches; and a batch of images through the library's CPU
 * trainer gives each image the file it has alone, for any thread count. */
static void test_same_bytes_any_threads(void **state)
{
    (void)state;
    struct {
        uint32_t w, h;
        int layers, hidden, steps, batch;
        double target;
    } cases[] = {{32, 32, 0, 0, 0, 0, 0.0},      /* effort 1, the cifar10 preset */
                 {32, 32, 0, 0, 0, 0, 30.0},     /* and rate control */
                 {48, 48, 4, 40, 6, 0, 0.0},     /* three chunks a step, threads across them */
                 {48, 48, 3, 15, 60, 600, 0.0}}; /* random batches of 600 pixels */
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        inrf_image img = picture(cases[c].w, cases[c].h, 3);
        inrf_encode_options o;
        inrf_encode_options_init(&o);
        o.effort = 1;
        o.layers = cases[c].layers, o.hidden = cases[c].hidden, o.steps = cases[c].steps;
        o.batch_pixels = (uint32_t)cases[c].batch;
        o.target_psnr = cases[c].target;
        void *first = NULL;
        size_t first_n = 0;
        for (int t = 1; t <= 4; t++) {
            inrf_model *m;
            void *d;
            o.threads = t;
            assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_OK);
            size_t n = file_of(m, &d);
            inrf_model_free(m);
            if (!first) {
                first = d, first_n = n;
                continue;
            }
            if (n != first_n || memcmp(d, first, n) != 0)
                fail_msg("case %zu: %d threads: not the bytes of 1 thread", c, t);
            free(d);
        }
        free(first);
        inrf_image_free(&img);
    }
    /* a batch: each image's file is the one it has alone */
    enum { N = 3 };
    inrf_image img[N];
    void *alone[N];
    size_t alone_n[N];
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.effort = 1;
    for (int k = 0; k < N; k++) {
        img[k] = picture(24, 20, 3);
        img[k].pixels[k * 7] ^= 0x55; /* three different images */
        inrf_model *m;
        o.threads = 1;
        assert_int_equal(inrf_encode(&img[k], &o, &m, NULL), INRF_OK);
        alone_n[k] = file_of(m, &alone[k]);
        inrf_model_free(m);
    }
    for (int t = 1; t <= 4; t++) {
        inrf_batch_trainer tr;
        inrf_model *m[N];
        o.threads = t;
        assert_int_equal(inrf_cpu_trainer_create(t, &tr), INRF_OK);
        assert_int_equal(inrf_encode_batch_with(img, N, &o, &tr, m, NULL), INRF_OK);
        inrf_cpu_trainer_free(&tr);
        for (int k = 0; k < N; k++) {
            void *d;
            size_t n = file_of(m[k], &d);
            if (n != alone_n[k] || memcmp(d, alone[k], n) != 0)
                fail_msg("batch of %d, %d threads: image %d: not its file alone", N, t, k);
            free(d);
            inrf_model_free(m[k]);
        }
    }
    for (int k = 0; k < N; k++) {
        free(alone[k]);
        inrf_image_free(&img[k]);
    }
}

static void test_switches(void **state)
{
    (void)state;
    inrf_image img = picture(32, 32, 1); /* grey stays grey */
    inrf_encode_options o = quick();
    o.quant = INRF_QUANT_NONE;
    o.half_io = 0;
    o.prune = 0;
    inrf_model *m;
    inrf_encode_stats s;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    assert_int_equal(m->arch.channels, 1);
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        assert_int_equal(m->layer[l].encoding, INRF_ENC_F32);
        assert_null(m->layer[l].mask);
    }
    assert_true(s.prune_ratio == 0.0f);
    inrf_model_free(m);
    o = quick();
    o.quant = INRF_QUANT_INT8_ROW;
    o.layers = 2;
    o.hidden = 24;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    assert_int_equal(m->arch.layers, 2);
    assert_int_equal(m->arch.hidden[1], 24);
    assert_int_equal(m->layer[1].encoding, INRF_ENC_INT8_ROW);
    inrf_model_free(m);
    inrf_image_free(&img);
}

/* The flowers preset prunes 20 % of the hidden weights, then more; the
 * bitmap survives the file. */
static void test_pruning(void **state)
{
    (void)state;
    inrf_image img = picture(40, 40, 3);
    inrf_encode_options o = quick();
    o.preset = INRF_PRESET_FLOWERS;
    o.layers = 3;
    o.hidden = 32;
    o.steps = 100;
    inrf_model *m;
    inrf_encode_stats s;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    assert_true(s.prune_ratio >= 0.2f - 1e-6f);
    size_t zeros = 0, all = 0;
    for (unsigned l = 1; l < m->arch.layers; l++) {
        const inrf_layer *L = &m->layer[l];
        all += (size_t)L->in * L->out;
        for (size_t k = 0; k < (size_t)L->in * L->out; k++)
            zeros += L->w[k] == 0.0f;
        if (L->mask) /* stored pruned: nnz is the kept count */
            assert_true(L->nnz < (uint32_t)L->in * L->out);
    }
    assert_true((double)zeros / all >= s.prune_ratio - 1e-6);
    void *d;
    size_t n;
    inrf_model *r;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    for (unsigned l = 0; l <= m->arch.layers; l++)
        assert_memory_equal(m->layer[l].w, r->layer[l].w,
                            (size_t)m->layer[l].in * m->layer[l].out * sizeof(float));
    inrf_model_free(r);
    free(d);
    inrf_model_free(m);
    inrf_image_free(&img);
}

static void test_max_bytes(void **state)
{
    (void)state;
    inrf_image img = picture(32, 32, 3);
    inrf_encode_options o = quick();
    inrf_model *m;
    inrf_encode_stats s;
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
    size_t free_size = s.bytes;
    inrf_model_free(m);
    for (size_t budget = free_size - 40; budget + 200 > free_size; budget -= 80) {
        o.max_bytes = budget;
        assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
        assert_true(s.bytes <= budget);
        inrf_model_free(m);
    }
    o.max_bytes = 100; /* below the headers and the first layer */
    assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_E_LIMIT);
    assert_null(m);
    assert_non_null(strstr(inrf_last_error(), "100"));
    inrf_image_free(&img);
}

static void test_target_psnr(void **state)
{
    (void)state;
    inrf_image img = picture(32, 32, 3);
    inrf_encode_options o = quick();
    o.steps = 2000;
    inrf_model *m;
    inrf_encode_stats full, early;
    assert_int_equal(inrf_encode(&img, &o, &m, &full), INRF_OK);
    inrf_model_free(m);
    assert_true(full.psnr > 29.0);
    /* well below what the full run reaches: reached, on the decoded
     * pixels, with a smaller file (pruned further) */
    o.target_psnr = 27.0;
    assert_int_equal(inrf_encode(&img, &o, &m, &early), INRF_OK);
    assert_true(early.psnr >= 27.0);
    assert_true(early.bytes < full.bytes);
    assert_true(early.prune_ratio > full.prune_ratio);
    inrf_model_free(m);
    /* with nothing to prune (one sine layer), fitting simply stops early */
    o.layers = 1;
    o.target_psnr = 0;
    assert_int_equal(inrf_encode(&img, &o, &m, &full), INRF_OK);
    inrf_model_free(m);
    o.target_psnr = full.psnr - 3.0;
    assert_int_equal(inrf_encode(&img, &o, &m, &early), INRF_OK);
    assert_true(early.steps < full.steps);
    assert_true(early.psnr >= o.target_psnr);
    inrf_model_free(m);
    inrf_image_free(&img);
}

static int stop_now(const inrf_encode_progress *p, void *user)
{
    (void)p;
    return ++*(int *)user > 1;
}

static void test_interrupt_and_errors(void **state)
{
    (void)state;
    inrf_image img = picture(16, 16, 3);
    inrf_encode_options o = quick();
    int calls = 0;
    o.progress = stop_now;
    o.user = &calls;
    inrf_model *m;
    assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_E_INTERRUPTED);
    assert_null(m);
    assert_true(calls >= 2);
    o = quick();
    o.effort = 0;
    assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_E_INVALID_ARG);
    o = quick();
    o.quant = 7;
    assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_E_INVALID_ARG);
    o = quick();
    o.abi = 0;
    assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_encode(NULL, NULL, &m, NULL), INRF_E_INVALID_ARG);
    inrf_image_free(&img);
}

static int keep_total(const inrf_encode_progress *p, void *user)
{
    *(int *)user = p->steps;
    return 0;
}

/* The progress total counts only the steps that run: a stage the schedule
 * skips (stage 3 when the PSNR asks for no more pruning: the cifar10
 * preset below 30 dB, here on noise) leaves it. The last call, at the
 * end, has the total as counted. */
static void test_progress_total(void **state)
{
    (void)state;
    for (int noisy = 0; noisy < 2; noisy++) {
        inrf_image img = picture(32, 32, 3);
        uint64_t r = 88172645463325252ull;
        for (size_t k = 0; noisy && k < (size_t)32 * 32 * 3; k++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            img.pixels[k] = (uint8_t)(r >> 56);
        }
        inrf_encode_options o = quick();
        int total = 0;
        o.progress = keep_total;
        o.user = &total;
        inrf_model *m;
        inrf_encode_stats s;
        assert_int_equal(inrf_encode(&img, &o, &m, &s), INRF_OK);
        if (noisy)
            assert_true(s.psnr < 30.0); /* no pruning asked: stage 3 skipped */
        assert_int_equal(total, s.steps);
        inrf_model_free(m);
        inrf_image_free(&img);
    }
}

/* The encoder refuses, before any training, a network that the writer and
 * the readers' default limits refuse (5 x 1024: 4,204,547 parameters >
 * 2^22), naming the options and the limit. */
static void test_reader_limits_checked_first(void **state)
{
    (void)state;
    inrf_image img = picture(8, 8, 3);
    inrf_encode_options o = quick();
    int calls = 0;
    o.progress = stop_now;
    o.user = &calls;
    o.layers = 5;
    o.hidden = 1024;
    inrf_model *m;
    assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_E_INVALID_ARG);
    assert_null(m);
    assert_int_equal(calls, 0);
    assert_non_null(strstr(inrf_last_error(), "layers 5 and hidden 1024"));
    assert_non_null(strstr(inrf_last_error(), "4204547 parameters"));
    assert_non_null(strstr(inrf_last_error(), "limit 4194304 (max_params)"));
    /* 4 x 1024 passes the check: training starts (and is stopped) */
    o.layers = 4;
    assert_int_equal(inrf_encode(&img, &o, &m, NULL), INRF_E_INTERRUPTED);
    assert_true(calls >= 1);
    inrf_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_and_pipeline),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_same_bytes_any_threads),
        cmocka_unit_test(test_switches),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_target_psnr),
        cmocka_unit_test(test_interrupt_and_errors),
        cmocka_unit_test(test_reader_limits_checked_first),
        cmocka_unit_test(test_progress_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
