/* test_decode.c: CPU decoding against two references (the per-pixel math
 * of siren_math.h, bit for bit, and binary64 with exact sine, within the
 * spec's tolerance), for every SIMD kernel; golden decode hashes; crops,
 * windows, flips, resampling, threads and strides; no threads for a small
 * decode. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "golden.h"
#include "threads.h"
#include "inrf/siren_math.h"

/* The spec's reference algorithm, one pixel at a time, written apart from
 * the library's tiled kernels. */
static void ref_pixel(const inrf_model *m, float x, float y, float *out)
{
    float h[INRF_MAX_WIDTH], z[INRF_MAX_WIDTH];
    h[0] = x;
    h[1] = y;
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        const inrf_layer *L = &m->layer[l];
        for (unsigned j = 0; j < L->out; j++)
            z[j] = inrf_neuron(L->w + (size_t)j * L->in, h, L->in, L->b[j]);
        if (l == m->arch.layers)
            break;
        float w0 = l == 0 ? m->arch.omega_first : m->arch.omega_hidden;
        for (unsigned j = 0; j < L->out; j++)
            h[j] = inrf_activate(z[j], w0);
    }
    for (unsigned c = 0; c < m->arch.channels; c++)
        out[c] = inrf_output_unit(z[c], m->arch.output_map == INRF_OUTPUT_SIGNED);
}

/* binary64 with libm's sin: the "exact" evaluation of the tolerance rule. */
static void exact_pixel(const inrf_model *m, double x, double y, double *out)
{
    double h[INRF_MAX_WIDTH], z[INRF_MAX_WIDTH];
    h[0] = x;
    h[1] = y;
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        const inrf_layer *L = &m->layer[l];
        for (unsigned j = 0; j < L->out; j++) {
            double acc = L->b[j];
            for (unsigned k = 0; k < L->in; k++)
                acc += (double)L->w[(size_t)j * L->in + k] * h[k];
            z[j] = acc;
        }
        if (l == m->arch.layers)
            break;
        double w0 = l == 0 ? m->arch.omega_first : m->arch.omega_hidden;
        for (unsigned j = 0; j < L->out; j++)
            h[j] = sin(w0 * z[j]);
    }
    for (unsigned c = 0; c < m->arch.channels; c++) {
        double u = m->arch.output_map == INRF_OUTPUT_SIGNED ? (z[c] + 1) / 2 : z[c];
        out[c] = u < 0 ? 0 : u > 1 ? 1 : u;
    }
}

static float *decode_f32(const inrf_model *m, uint32_t w, uint32_t h, int threads)
{
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    o.width = w;
    o.height = h;
    o.threads = threads;
    float *px = malloc((size_t)w * h * m->arch.channels * sizeof(float));
    assert_int_equal(inrf_decode_f32(m, &o, px, 0), INRF_OK);
    return px;
}

static uint8_t *decode_u8(const inrf_model *m, const inrf_decode_options *o, uint32_t w, uint32_t h)
{
    uint8_t *px = malloc((size_t)w * h * m->arch.channels);
    assert_int_equal(inrf_decode_u8(m, o, px, 0), INRF_OK);
    return px;
}

static const char *const kernels[] = {"generic", "avx2", "avx512"};

/* Every kernel this CPU runs gives the reference's bits; all of them are
 * within the tolerance of the exact evaluation. */
static void test_kernels_match_reference(void **state)
{
    (void)state;
    for (unsigned g = 0; g < GOLDEN_COUNT; g++) {
        inrf_model *m;
        assert_int_equal(golden_build(g, &m), INRF_OK);
        const uint32_t W = 37, H = 29, C = m->arch.channels;
        float *ref = malloc((size_t)W * H * C * sizeof(float));
        double worst = 0;
        for (uint32_t j = 0; j < H; j++)
            for (uint32_t i = 0; i < W; i++) {
                float x = inrf_coord(i, W, -1, 1), y = inrf_coord(j, H, -1, 1);
                double ex[3];
                ref_pixel(m, x, y, ref + ((size_t)j * W + i) * C);
                exact_pixel(m, x, y, ex);
                for (unsigned c = 0; c < C; c++)
                    worst = fmax(worst, fabs(ex[c] - ref[((size_t)j * W + i) * C + c]));
            }
        /* spec tolerance is 2^-10; the library is far inside it */
        assert_true(worst < 1e-4);
        for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
            setenv("INRF_KERNEL", kernels[k], 1);
            if (strcmp(inrf_decode_kernel_name(), kernels[k]) != 0)
                continue; /* this CPU cannot run it */
            float *px = decode_f32(m, W, H, 0);
            if (memcmp(px, ref, (size_t)W * H * C * sizeof(float)) != 0)
                fail_msg("kernel %s differs from the reference on model %s", kernels[k],
                         golden_cases[g].name);
            free(px);
        }
        unsetenv("INRF_KERNEL");
        free(ref);
        inrf_model_free(m);
    }
}

/* Arguments past the sine's clamp (2^22), overflow to infinity and NaN:
 * every kernel still gives the reference's bits, and samples stay in
 * [0, 1]. */
static void test_kernels_extreme(void **state)
{
    (void)state;
    inrf_model *m;
    assert_int_equal(golden_build(3, &m), INRF_OK);
    for (size_t k = 0; k < (size_t)40 * 40; k++) {
        m->layer[2].w[k] *= 1e5f;   /* pre-activations far past 2^22 */
        m->layer[5].w[k] *= (k % 7 == 0) ? 1e37f : 1.0f; /* some overflow to inf */
    }
    const uint32_t W = 19, H = 13, C = 3;
    float *ref = malloc((size_t)W * H * C * sizeof(float));
    for (uint32_t j = 0; j < H; j++)
        for (uint32_t i = 0; i < W; i++)
            ref_pixel(m, inrf_coord(i, W, -1, 1), inrf_coord(j, H, -1, 1),
                      ref + ((size_t)j * W + i) * C);
    for (size_t k = 0; k < (size_t)W * H * C; k++)
        assert_true(ref[k] >= 0.0f && ref[k] <= 1.0f);
    for (size_t k = 0; k < sizeof kernels / sizeof *kernels; k++) {
        setenv("INRF_KERNEL", kernels[k], 1);
        if (strcmp(inrf_decode_kernel_name(), kernels[k]) != 0)
            continue;
        float *px = decode_f32(m, W, H, 1);
        if (memcmp(px, ref, (size_t)W * H * C * sizeof(float)) != 0)
            fail_msg("kernel %s differs from the reference on extreme weights", kernels[k]);
        free(px);
    }
    unsetenv("INRF_KERNEL");
    free(ref);
    inrf_model_free(m);
}

/* Decodes of the committed golden files hash to recorded values:
 * tests/golden/decode.txt, "name width height xxh3-64-hex" per line. */
static void test_golden_hashes(void **state)
{
    (void)state;
    char path[4096];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/tests/golden/decode.txt", top ? top : ".");
    int regen = getenv("INRF_GOLDEN_REGEN") != NULL;
    FILE *f = fopen(path, regen ? "w" : "r");
    if (!f)
        skip();
    for (unsigned g = 0; g < GOLDEN_COUNT; g++) {
        inrf_model *m;
        assert_int_equal(inrf_read_file(golden_path(g), NULL, &m), INRF_OK);
        for (int s = 0; s < 2; s++) {
            uint32_t w = s ? golden_cases[g].dec_w : m->arch.width;
            uint32_t h = s ? golden_cases[g].dec_h : m->arch.height;
            inrf_decode_options o;
            inrf_decode_options_init(&o);
            o.width = w;
            o.height = h;
            uint8_t *px = decode_u8(m, &o, w, h);
            unsigned long long hash = XXH3_64bits(px, (size_t)w * h * m->arch.channels);
            free(px);
            if (regen) {
                fprintf(f, "%s %u %u %016llx\n", golden_cases[g].name, w, h, hash);
                continue;
            }
            char name[64];
            unsigned fw, fh;
            unsigned long long want;
            assert_int_equal(fscanf(f, "%63s %u %u %llx", name, &fw, &fh, &want), 4);
            assert_string_equal(name, golden_cases[g].name);
            assert_int_equal(fw, w);
            assert_int_equal(fh, h);
            if (hash != want)
                fail_msg("%s at %ux%u: decode hash %016llx, expected %016llx", name, w, h, hash, want);
        }
        inrf_model_free(m);
    }
    fclose(f);
}

/* A pixel crop is the same region of the full decode, bit for bit. */
static void test_crop_exact(void **state)
{
    (void)state;
    inrf_model *m;
    assert_int_equal(golden_build(1, &m), INRF_OK);
    const uint32_t sizes[][2] = {{64, 48}, {50, 37}, {7, 5}, {101, 3}};
    for (size_t s = 0; s < 4; s++) {
        uint32_t W = sizes[s][0], H = sizes[s][1];
        inrf_decode_options o;
        inrf_decode_options_init(&o);
        o.width = W;
        o.height = H;
        uint8_t *full = decode_u8(m, &o, W, H);
        for (uint32_t cx = 0; cx < W; cx += W / 3 + 1)
            for (uint32_t cy = 0; cy < H; cy += H / 2 + 1) {
                uint32_t cw = (W - cx + 1) / 2, ch = H - cy;
                inrf_decode_options c = o;
                c.canvas_w = W, c.canvas_h = H, c.crop_x = cx, c.crop_y = cy;
                c.width = cw, c.height = ch;
                uint8_t *crop = decode_u8(m, &c, cw, ch);
                for (uint32_t j = 0; j < ch; j++)
                    assert_memory_equal(crop + (size_t)j * cw * 3,
                                        full + ((size_t)(cy + j) * W + cx) * 3, (size_t)cw * 3);
                free(crop);
                /* the same region as a continuous window: equal up to the
                 * coordinates' rounding */
                inrf_decode_options wo = o;
                wo.width = cw, wo.height = ch;
                inrf_window_from_pixels(wo.window, W, H, cx, cy, cw, ch);
                uint8_t *win = decode_u8(m, &wo, cw, ch);
                for (uint32_t j = 0; j < ch; j++)
                    for (uint32_t i = 0; i < cw * 3; i++)
                        assert_true(abs((int)win[(size_t)j * cw * 3 + i] -
                                        (int)full[((size_t)(cy + j) * W + cx) * 3 + i]) <= 1);
                free(win);
            }
        /* a crop outside the canvas is refused */
        inrf_decode_options c = o;
        c.canvas_w = W, c.canvas_h = H, c.crop_x = 1, c.width = W, c.height = H;
        uint8_t *px = malloc((size_t)W * H * 3);
        assert_int_equal(inrf_decode_u8(m, &c, px, 0), INRF_E_INVALID_ARG);
        free(px);
        free(full);
    }
    inrf_model_free(m);
}

/* A reversed window mirrors the image (the trainer's flip). */
static void test_flip_window(void **state)
{
    (void)state;
    inrf_model *m;
    assert_int_equal(golden_build(2, &m), INRF_OK); /* grey */
    const uint32_t W = 40, H = 21;
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    o.width = W, o.height = H;
    uint8_t *a = decode_u8(m, &o, W, H);
    o.window[0] = 1.0, o.window[2] = -1.0;
    uint8_t *b = decode_u8(m, &o, W, H);
    for (uint32_t j = 0; j < H; j++)
        for (uint32_t i = 0; i < W; i++)
            assert_int_equal(a[j * W + i], b[j * W + (W - 1 - i)]);
    free(a);
    free(b);
    inrf_model_free(m);
}

/* Decoding at 2x then averaging 2x2 blocks approximates the 1x decode: the
 * same continuous image sampled at other points. A smooth network (low w0)
 * makes the comparison meaningful. */
static void test_resample(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_model *m;
    inrf_arch_siren(&a, 64, 48, 3, 3, 32);
    a.omega_first = 3.0f;
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 77);
    for (unsigned j = 0; j < 3; j++)
        m->layer[3].b[j] = 0.5f; /* mid-grey plus detail: no clamping */
    const uint32_t W = 64, H = 48;
    float *one = decode_f32(m, W, H, 0), *two = decode_f32(m, 2 * W, 2 * H, 0);
    double se = 0, var = 0, mean = 0;
    for (uint32_t j = 0; j < H; j++)
        for (uint32_t i = 0; i < W; i++)
            for (int c = 0; c < 3; c++) {
                float avg = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        avg += two[((size_t)(2 * j + dy) * 2 * W + 2 * i + dx) * 3 + c];
                avg /= 4;
                double v = one[((size_t)j * W + i) * 3 + c];
                se += (avg - v) * (avg - v);
                mean += v;
                var += v * v;
            }
    size_t n = (size_t)W * H * 3;
    mean /= n;
    var = var / n - mean * mean;
    double psnr = 10 * log10(1.0 / (se / n));
    assert_true(var > 1e-4); /* the image has content */
    assert_true(psnr > 40.0);
    free(one);
    free(two);
    inrf_model_free(m);
}

static void test_threads_and_stride(void **state)
{
    (void)state;
    inrf_model *m;
    assert_int_equal(golden_build(3, &m), INRF_OK);
    const uint32_t W = 45, H = 33;
    float *t1 = decode_f32(m, W, H, 1), *t2 = decode_f32(m, W, H, 2), *t7 = decode_f32(m, W, H, 7);
    assert_memory_equal(t1, t2, (size_t)W * H * 3 * sizeof(float));
    assert_memory_equal(t1, t7, (size_t)W * H * 3 * sizeof(float));
    /* u8 with a padded stride: the padding is untouched */
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    o.width = W, o.height = H;
    size_t stride = W * 3 + 5;
    uint8_t *px = malloc(stride * H);
    memset(px, 0xee, stride * H);
    assert_int_equal(inrf_decode_u8(m, &o, px, stride), INRF_OK);
    for (uint32_t j = 0; j < H; j++) {
        for (uint32_t i = 0; i < W * 3; i++)
            assert_int_equal(px[j * stride + i], inrf_unit_to_u8(t1[(size_t)j * W * 3 + i]));
        for (uint32_t i = W * 3; i < stride; i++)
            assert_int_equal(px[j * stride + i], 0xee);
    }
    /* source size by default */
    inrf_decode_options_init(&o);
    uint8_t *src = malloc((size_t)m->arch.width * m->arch.height * 3);
    assert_int_equal(inrf_decode_u8(m, &o, src, 0), INRF_OK);
    assert_true(inrf_model_macs_per_pixel(m) == 2 * 40 + 9 * 40 * 40 + 40 * 3);
    free(src);
    free(px);
    free(t1);
    free(t2);
    free(t7);
    inrf_model_free(m);
}

/* Thread counts follow the work: decoding a CIFAR-size image of a 3x15
 * network (half a million multiply-adds) starts no thread, whatever the
 * thread count asked. In a child, which has no threads of its own yet. */
static void test_small_decode_no_threads(void **state)
{
    (void)state;
    if (count_threads() == 0)
        skip();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60); /* a hang becomes a failure */
        inrf_arch a;
        inrf_model *m;
        inrf_arch_siren(&a, 32, 32, 3, 3, 15);
        if (inrf_model_create(&a, &m) != INRF_OK)
            _exit(2);
        inrf_model_init(m, 5);
        uint8_t px[32 * 32 * 3];
        int before = count_threads();
        for (int threads = 0; threads <= 4; threads++) {
            inrf_decode_options o;
            inrf_decode_options_init(&o);
            o.threads = threads;
            if (inrf_decode_u8(m, &o, px, 0) != INRF_OK)
                _exit(2);
        }
        int after = count_threads();
        inrf_model_free(m);
        if (after != before) {
            fprintf(stderr, "a 32x32 3x15 decode: %d threads before, %d after\n", before, after);
            _exit(1);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_decode_errors(void **state)
{
    (void)state;
    inrf_model *m;
    assert_int_equal(golden_build(0, &m), INRF_OK);
    inrf_decode_options o;
    uint8_t px[8 * 8 * 3];
    inrf_decode_options_init(&o);
    assert_int_equal(inrf_decode_u8(NULL, &o, px, 0), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_decode_u8(m, NULL, px, 0), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_decode_u8(m, &o, NULL, 0), INRF_E_INVALID_ARG);
    o.window[1] = NAN;
    assert_int_equal(inrf_decode_u8(m, &o, px, 0), INRF_E_INVALID_ARG);
    inrf_decode_options_init(&o);
    o.abi = 12345;
    assert_int_equal(inrf_decode_u8(m, &o, px, 0), INRF_E_INVALID_ARG);
    inrf_decode_options_init(&o);
    o.threads = -1;
    assert_int_equal(inrf_decode_u8(m, &o, px, 0), INRF_E_INVALID_ARG);
    inrf_decode_options_init(&o);
    o.width = 1u << 20, o.height = 1u << 20;
    assert_int_equal(inrf_decode_u8(m, &o, px, 0), INRF_E_LIMIT);
    inrf_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_match_reference),
        cmocka_unit_test(test_kernels_extreme),
        cmocka_unit_test(test_golden_hashes),
        cmocka_unit_test(test_crop_exact),
        cmocka_unit_test(test_flip_window),
        cmocka_unit_test(test_resample),
        cmocka_unit_test(test_threads_and_stride),
        cmocka_unit_test(test_small_decode_no_threads),
        cmocka_unit_test(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
