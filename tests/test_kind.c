/* test_kind.c: the network-kind seam, with the testing kind "grid"
 * (tests/kinds/grid: an int8 latent grid, bilinearly interpolated; kind
 * 255 of spec/inrf.md) registered through the hooks: write and read, decode
 * at any size against a direct bilinear reference, packs (create, read,
 * batch decode), the emulated GPU decoder against the CPU, the encoder
 * slot; refused when not registered, by the reader, the pack reader and
 * the GPU decoder. With --write FILE PACK it writes a file and a pack of
 * the kind for the tools' test (tests/test_kind_tools.sh). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cuda_runtime_api.h>

#include "cuda_kinds.h"
#include "inrf/cuda.h"
#include "inrf/kind.h"
#include "kinds/grid/grid.h"

/* ----------------------------------------------------------- fixtures */

static int setup(void **state)
{
    (void)state;
    return inrf_kind_register_(&grid_kind) == INRF_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    inrf_kind_unregister_(INRF_KIND_TESTING);
    inrf_cuda_kind_unregister_(INRF_KIND_TESTING);
    return 0;
}

/* A seeded model of the kind: width x height x channels over gw x gh
 * latents, in -127..127 (some near the clamps of the output). */
static inrf_model *grid_model(uint32_t width, uint32_t height, uint8_t channels, unsigned gw,
                              unsigned gh, uint32_t seed)
{
    inrf_arch a;
    grid_arch(&a, width, height, channels, gw, gh);
    inrf_model *m = NULL;
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    grid_weights *g = m->weights;
    uint32_t s = seed * 2654435761u + 1;
    for (size_t k = 0; k < (size_t)gw * gh * channels; k++) {
        s = s * 1664525u + 1013904223u;
        g->q[k] = (int8_t)((int)(s >> 24) % 255 - 127);
    }
    g->scale = 1.0f / 100.0f; /* latents above 100 clamp to white */
    return m;
}

/* ---------------------------------------------------------- the reference */

/* Along n latents, the position of x in latent units, clamped: binary64. */
static double ref_axis(double x, unsigned n)
{
    double u = (x + 1.0) / 2.0 * n - 0.5;
    return u < 0 ? 0 : u > n - 1 ? n - 1 : u;
}

/* The 8-bit sample of channel c at (x, y), from the spec's definition in
 * binary64: bilinear interpolation of the latents, times the scale. */
static int ref_sample(const inrf_model *m, double x, double y, unsigned c)
{
    const grid_weights *g = m->weights;
    const unsigned gw = grid_w(&m->arch), gh = grid_h(&m->arch), C = m->arch.channels;
    double u = ref_axis(x, gw), v = ref_axis(y, gh);
    unsigned i = (unsigned)floor(u), j = (unsigned)floor(v);
    unsigned i1 = i + 1 < gw ? i + 1 : i, j1 = j + 1 < gh ? j + 1 : j;
    double fx = u - i, fy = v - j;
#define Q(a, b) ((double)g->q[((size_t)(b) * gw + (a)) * C + c])
    double val = (1 - fy) * ((1 - fx) * Q(i, j) + fx * Q(i1, j)) +
                 fy * ((1 - fx) * Q(i, j1) + fx * Q(i1, j1));
#undef Q
    val *= g->scale;
    val = val < 0 ? 0 : val > 1 ? 1 : val;
    return (int)floor(val * 255 + 0.5);
}

/* ------------------------------------------------------------- the tests */

static void test_register_only_testing(void **state)
{
    (void)state;
    inrf_kind_ops fake = grid_kind;
    fake.kind = 0;
    assert_int_equal(inrf_kind_register_(&fake), INRF_E_INVALID_ARG);
    fake.kind = 1; /* the latent-grid kind to come is allocated by the spec */
    assert_int_equal(inrf_kind_register_(&fake), INRF_E_INVALID_ARG);
    assert_string_equal(inrf_kind_name(0), "SIREN");
    assert_string_equal(inrf_kind_name(INRF_KIND_TESTING), "test-grid");
    assert_string_equal(inrf_kind_name(1), "unknown");
}

/* SIREN's text through the interface, as inrinfo and inrpack print it. */
static void test_siren_info(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_model *m = NULL;
    inrf_arch_siren(&a, 8, 8, 3, 2, 5);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    char text[1024];
    assert_int_equal(inrf_arch_info(&a, INRF_INFO_SUMMARY, text, sizeof text),
                     strlen("SIREN 2 x 5, w0 30/30"));
    assert_string_equal(text, "SIREN 2 x 5, w0 30/30");
    inrf_model_info(m, INRF_INFO_NETWORK, text, sizeof text);
    assert_string_equal(text, "  network:     SIREN, 2 sine layers, widths 5 5\n"
                              "  omega:       30 first, 30 hidden\n"
                              "  output:      unit ([0, 1])\n");
    inrf_model_info(m, INRF_INFO_WEIGHTS, text, sizeof text);
    /* the output layer's row: 5 -> 3, f32, 15 weights, 8 + 60 + 12 bytes */
    assert_non_null(strstr(text, "        2  5 -> 3       f32      f32   no            15"
                                 "     0.00%        80\n"));
    assert_int_equal(inrf_model_info(m, INRF_INFO_SUMMARY, text, sizeof text), 0);
    assert_int_equal(inrf_arch_info(&a, INRF_INFO_JSON, text, sizeof text), 0);
    inrf_model_free(m);
}

static void test_write_read_round_trip(void **state)
{
    (void)state;
    inrf_model *m = grid_model(20, 14, 3, 7, 5, 1), *r = NULL;
    void *d = NULL, *d2 = NULL;
    size_t n = 0, n2 = 0;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    assert_int_equal(r->arch.kind, INRF_KIND_TESTING);
    assert_int_equal(grid_w(&r->arch), 7);
    assert_int_equal(grid_h(&r->arch), 5);
    assert_int_equal(r->arch.width, 20);
    assert_int_equal(r->struct_version, INRF_MODEL_VERSION);
    assert_int_equal(r->struct_size, sizeof(inrf_model));
    const grid_weights *a = m->weights, *b = r->weights;
    assert_true(a->scale == b->scale);
    assert_memory_equal(a->q, b->q, 7 * 5 * 3);
    assert_int_equal(inrf_model_params(r), 7 * 5 * 3);
    assert_int_equal(inrf_model_weight_bytes(r), 4 + 7 * 5 * 3);
    /* the same bytes again, from the read model and from a clone */
    assert_int_equal(inrf_write_memory(r, NULL, &d2, &n2), INRF_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(d2, d, n);
    free(d2);
    inrf_model *c = NULL;
    assert_int_equal(inrf_model_clone(r, &c), INRF_OK);
    assert_int_equal(inrf_write_memory(c, NULL, &d2, &n2), INRF_OK);
    assert_memory_equal(d2, d, n);
    free(d2);
    /* the kind's text for inspection tools */
    char text[512];
    assert_true(inrf_model_info(r, INRF_INFO_NETWORK, text, sizeof text) > 0);
    assert_non_null(strstr(text, "test-grid"));
    assert_non_null(strstr(text, "7 x 5"));
    assert_true(inrf_model_info(r, INRF_INFO_JSON, text, sizeof text) > 0);
    assert_non_null(strstr(text, "\"grid_width\": 7"));
    size_t need = inrf_arch_info(&r->arch, INRF_INFO_SUMMARY, text, 4);
    assert_int_equal(need, strlen("test-grid 7 x 5"));
    assert_int_equal(strlen(text), 3); /* cut, NUL-terminated */
    /* a SIREN-only function refuses the kind */
    assert_int_equal(inrf_layer_encode(r, 0, INRF_ENC_F16, INRF_ENC_F16), INRF_E_INVALID_ARG);
    inrf_model_free(c);
    inrf_model_free(r);
    inrf_model_free(m);
    free(d);
}

static void test_read_refuses_bad_payloads(void **state)
{
    (void)state;
    inrf_model *m = grid_model(8, 8, 1, 4, 4, 2), *r = NULL;
    grid_weights *g = m->weights;
    g->q[5] = -128;
    void *d = NULL;
    size_t n = 0;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_E_INVALID_ARG);
    g->q[5] = 0;
    inrf_arch a = m->arch;
    a.params[0] = 1; /* a grid of one column cannot interpolate */
    assert_int_equal(inrf_model_create(&a, &r), INRF_E_FORMAT);
    assert_null(r);
    inrf_model_free(m);
}

/* Decodes at W x H (window win, NULL = whole) and compares every sample
 * with the reference: within 1 (the binary32 evaluation against the
 * binary64 definition), and all but about 1 % equal. */
static void decode_against_reference(const inrf_model *m, uint32_t W, uint32_t H,
                                     const double *win)
{
    const unsigned C = m->arch.channels;
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    o.width = W, o.height = H;
    if (win)
        memcpy(o.window, win, sizeof o.window);
    uint8_t *px = malloc((size_t)W * H * C);
    assert_int_equal(inrf_decode_u8(m, &o, px, 0), INRF_OK);
    size_t equal = 0, n = (size_t)W * H * C;
    for (uint32_t j = 0; j < H; j++)
        for (uint32_t i = 0; i < W; i++) {
            double x = o.window[0] + (i + 0.5) * (o.window[2] - o.window[0]) / W;
            double y = o.window[1] + (j + 0.5) * (o.window[3] - o.window[1]) / H;
            for (unsigned c = 0; c < C; c++) {
                int want = ref_sample(m, x, y, c), got = px[((size_t)j * W + i) * C + c];
                if (abs(got - want) > 1)
                    fail_msg("%ux%u pixel (%u, %u) channel %u: %d, the reference %d", W, H, i, j,
                             c, got, want);
                equal += got == want;
            }
        }
    if (n - equal > 1 + n / 100)
        fail_msg("%ux%u: only %zu of %zu samples equal the reference", W, H, equal, n);
    free(px);
}

static void test_decode_any_size(void **state)
{
    (void)state;
    inrf_model *rgb = grid_model(12, 9, 3, 5, 4, 3), *grey = grid_model(7, 30, 1, 2, 9, 4);
    static const uint32_t sizes[][2] = {{12, 9}, {1, 1}, {3, 17}, {40, 33}, {64, 5}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        decode_against_reference(rgb, sizes[k][0], sizes[k][1], NULL);
        decode_against_reference(grey, sizes[k][0], sizes[k][1], NULL);
    }
    const double crop[4] = {-0.5, -0.25, 0.75, 0.5}, flip[4] = {1.2, -1.3, -1.1, 1.0};
    decode_against_reference(rgb, 16, 16, crop);
    decode_against_reference(rgb, 10, 21, flip); /* mirrored, past the edges */
    /* a pixel crop is the full decode's pixels, bit for bit */
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    o.width = 40, o.height = 33;
    uint8_t full[40 * 33 * 3], part[9 * 7 * 3];
    assert_int_equal(inrf_decode_u8(rgb, &o, full, 0), INRF_OK);
    o.width = 9, o.height = 7, o.canvas_w = 40, o.canvas_h = 33, o.crop_x = 20, o.crop_y = 11;
    assert_int_equal(inrf_decode_u8(rgb, &o, part, 0), INRF_OK);
    for (unsigned j = 0; j < 7; j++)
        assert_memory_equal(part + j * 9 * 3, full + ((11 + j) * 40 + 20) * 3, 9 * 3);
    inrf_model_free(rgb);
    inrf_model_free(grey);
}

/* A pack of `count` models of the kind (two architectures) and, when
 * siren is set, a SIREN after them. */
static void *grid_pack(int count, int siren, size_t *size)
{
    static const char *const names[] = {"a", "b"};
    inrf_pack_writer *w = NULL;
    void *d = NULL;
    assert_int_equal(inrf_pack_writer_create(names, 2, &w), INRF_OK);
    for (int i = 0; i < count; i++) {
        inrf_model *m = grid_model(10 + (uint32_t)i, 8, 3, i % 2 ? 6 : 3, i % 2 ? 3 : 5,
                                   10 + (uint32_t)i);
        assert_int_equal(inrf_pack_writer_add_model(w, m, (uint32_t)i % 2, (uint32_t)i), INRF_OK);
        inrf_model_free(m);
    }
    if (siren) {
        inrf_arch a;
        inrf_model *m = NULL;
        inrf_arch_siren(&a, 8, 8, 3, 2, 8);
        assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
        inrf_model_init(m, 7);
        assert_int_equal(inrf_pack_writer_add_model(w, m, 0, (uint32_t)count), INRF_OK);
        inrf_model_free(m);
    }
    assert_int_equal(inrf_pack_writer_finish_memory(w, &d, size), INRF_OK);
    inrf_pack_writer_free(w);
    return d;
}

static void test_pack_and_batch_decode(void **state)
{
    (void)state;
    size_t size = 0;
    void *d = grid_pack(5, 1, &size);
    inrf_pack *p = NULL;
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_OK);
    assert_int_equal(inrf_pack_count(p), 6);
    assert_int_equal(inrf_pack_archs(p), 3);
    assert_int_equal(inrf_pack_arch(p, 0)->kind, INRF_KIND_TESTING);
    char text[128];
    assert_true(inrf_arch_info(inrf_pack_arch(p, 1), INRF_INFO_SUMMARY, text, sizeof text) > 0);
    assert_string_equal(text, "test-grid 6 x 3");
    /* each record reads back as the model written */
    for (uint32_t i = 0; i < 5; i++) {
        inrf_model *m = NULL, *want = grid_model(10 + i, 8, 3, i % 2 ? 6 : 3, i % 2 ? 3 : 5,
                                                 10 + i);
        assert_int_equal(inrf_pack_model(p, i, &m), INRF_OK);
        assert_int_equal(m->arch.width, 10 + i);
        assert_memory_equal(((grid_weights *)m->weights)->q, ((grid_weights *)want->weights)->q,
                            (size_t)grid_w(&m->arch) * grid_h(&m->arch) * 3);
        inrf_model_free(want);
        inrf_model_free(m);
    }
    /* a batch of both kinds, windows, flips and zero padding: each sample
     * is inrf_decode_u8 of its model with the same window */
    enum { N = 6, W = 13, H = 11 };
    const uint32_t idx[N] = {0, 1, 5, 2, 4, 3};
    float win[4 * N];
    for (int s = 0; s < N; s++) {
        float x0 = -1.2f + 0.1f * (float)s, y0 = -1.0f + 0.05f * (float)s;
        win[4 * s + 0] = s % 2 ? x0 + 1.9f : x0;
        win[4 * s + 1] = y0;
        win[4 * s + 2] = s % 2 ? x0 : x0 + 1.9f;
        win[4 * s + 3] = y0 + 1.7f;
    }
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = W, o.height = H, o.type = INRF_BATCH_U8;
    uint8_t out[N * W * H * 3], one[W * H * 3];
    assert_int_equal(inrf_pack_decode_batch(p, idx, N, win, &o, out), INRF_OK);
    for (int s = 0; s < N; s++) {
        inrf_model *m = NULL;
        assert_int_equal(inrf_pack_model(p, idx[s], &m), INRF_OK);
        inrf_decode_options dopt;
        inrf_decode_options_init(&dopt);
        dopt.width = W, dopt.height = H;
        for (int k = 0; k < 4; k++)
            dopt.window[k] = win[4 * s + k];
        assert_int_equal(inrf_decode_u8(m, &dopt, one, 0), INRF_OK);
        assert_memory_equal(out + (size_t)s * W * H * 3, one, sizeof one);
        inrf_model_free(m);
    }
    /* unverified: each record parsed as it is decoded, the same pixels */
    inrf_pack *q = NULL;
    inrf_pack_options po;
    inrf_pack_options_init(&po);
    po.verify_records = 0;
    uint8_t again[sizeof out];
    assert_int_equal(inrf_pack_open_memory(d, size, &po, &q), INRF_OK);
    assert_int_equal(inrf_pack_decode_batch(q, idx, N, win, &o, again), INRF_OK);
    assert_memory_equal(again, out, sizeof out);
    inrf_pack_close(q);
    inrf_pack_close(p);
    free(d);
}

/* The GPU decoder on the emulator: refused without the kind's GPU
 * evaluator; with it, u8 and f32 equal the CPU batch decoder's bits. */
static void test_emulated_gpu_decoder(void **state)
{
    (void)state;
    size_t size = 0, mixed_size = 0;
    void *d = grid_pack(5, 0, &size), *mixed = grid_pack(2, 1, &mixed_size);
    inrf_pack *p = NULL, *pm = NULL;
    inrf_cuda_pack *gpu = NULL;
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_OK);
    assert_int_equal(inrf_cuda_pack_upload(p, 0, &gpu), INRF_E_UNSUPPORTED);
    assert_non_null(strstr(inrf_last_error(), "network kind 255: no GPU decoder"));
    assert_int_equal(inrf_cuda_kind_register_(&grid_cuda_kind), INRF_OK);
    assert_int_equal(inrf_pack_open_memory(mixed, mixed_size, NULL, &pm), INRF_OK);
    assert_int_equal(inrf_cuda_pack_upload(pm, 0, &gpu), INRF_E_UNSUPPORTED);
    assert_non_null(strstr(inrf_last_error(), "one network kind"));
    assert_int_equal(inrf_cuda_pack_upload(p, 0, &gpu), INRF_OK);
    enum { N = 7, W = 15, H = 9 };
    uint32_t idx[N];
    float win[4 * N];
    for (int s = 0; s < N; s++) {
        idx[s] = (uint32_t)(s * 3) % 5;
        float x0 = -1.3f + 0.1f * (float)s, y0 = -1.1f + 0.06f * (float)s;
        win[4 * s + 0] = s % 2 ? x0 + 2.0f : x0;
        win[4 * s + 1] = y0;
        win[4 * s + 2] = s % 2 ? x0 : x0 + 2.0f;
        win[4 * s + 3] = y0 + 1.6f;
    }
    for (int type = INRF_BATCH_U8; type <= INRF_BATCH_F32; type++)
        for (int zero = 0; zero <= 1; zero++) {
            inrf_batch_options o;
            inrf_batch_options_init(&o);
            o.width = W, o.height = H, o.type = type, o.zero_outside = zero;
            o.mean[1] = 0.5f, o.std[2] = 0.25f;
            const size_t bytes = (size_t)N * W * H * 3 * (type == INRF_BATCH_U8 ? 1 : 4);
            void *cpu = malloc(bytes), *host = malloc(bytes), *dev = NULL;
            assert_int_equal(inrf_pack_decode_batch(p, idx, N, win, &o, cpu), INRF_OK);
            assert_int_equal(cudaMalloc(&dev, bytes), cudaSuccess);
            assert_int_equal(inrf_cuda_decode_batch(gpu, idx, N, win, &o, dev, NULL), INRF_OK);
            assert_int_equal(inrf_cuda_sync(NULL), INRF_OK);
            assert_int_equal(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
            assert_memory_equal(host, cpu, bytes);
            cudaFree(dev);
            free(cpu);
            free(host);
        }
    inrf_cuda_pack_free(gpu);
    inrf_cuda_kind_unregister_(INRF_KIND_TESTING);
    inrf_pack_close(pm);
    inrf_pack_close(p);
    free(mixed);
    free(d);
}

static void test_encoder_slot(void **state)
{
    (void)state;
    /* a smooth image: the grid holds it well */
    enum { W = 48, H = 32 };
    uint8_t px[W * H * 3];
    for (int j = 0; j < H; j++)
        for (int i = 0; i < W; i++) {
            px[(j * W + i) * 3 + 0] = (uint8_t)(40 + 3 * i);
            px[(j * W + i) * 3 + 1] = (uint8_t)(30 + 5 * j);
            px[(j * W + i) * 3 + 2] = (uint8_t)(100 + i + j);
        }
    inrf_image img = {W, H, 3, px};
    inrf_model *m = NULL;
    assert_non_null(grid_kind.encode);
    assert_int_equal(grid_kind.encode(&img, NULL, &m, NULL), INRF_OK);
    assert_int_equal(m->arch.kind, INRF_KIND_TESTING);
    uint8_t out[W * H * 3];
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    assert_int_equal(inrf_decode_u8(m, &o, out, 0), INRF_OK);
    double psnr = inrf_psnr_u8(px, out, sizeof px);
    assert_true(psnr > 30.0);
    inrf_model_free(m);
}

/* The library without the kind: the readers refuse it by number
 * (spec "Network kinds": kind 255 is for testing only). */
static void test_refused_unregistered(void **state)
{
    (void)state;
    inrf_model *m = grid_model(8, 8, 3, 4, 4, 5);
    void *d = NULL, *pk = NULL;
    size_t n = 0, pn = 0;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    pk = grid_pack(2, 0, &pn);
    inrf_model_free(m);
    inrf_kind_unregister_(INRF_KIND_TESTING);

    inrf_model *r = NULL;
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_E_UNSUPPORTED);
    assert_null(r);
    assert_string_equal(inrf_last_error(), "NHDR: network kind 255 unknown");
    inrf_pack *p = NULL;
    assert_int_equal(inrf_pack_open_memory(pk, pn, NULL, &p), INRF_E_UNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(inrf_last_error(), "network kind 255 unknown"));
    inrf_arch a;
    grid_arch(&a, 8, 8, 3, 4, 4);
    assert_int_equal(inrf_model_create(&a, &r), INRF_E_UNSUPPORTED);
    assert_string_equal(inrf_kind_name(INRF_KIND_TESTING), "unknown");

    assert_int_equal(inrf_kind_register_(&grid_kind), INRF_OK); /* and back */
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    inrf_model_free(r);
    free(pk);
    free(d);
}

/* --write FILE PACK: files of the kind for tests/test_kind_tools.sh. */
static int write_files(const char *file, const char *pack)
{
    if (inrf_kind_register_(&grid_kind) != INRF_OK)
        return 1;
    inrf_arch a;
    grid_arch(&a, 8, 8, 3, 4, 4);
    inrf_model *m = NULL;
    static const char *const names[] = {"a"};
    inrf_pack_writer *w = NULL;
    int ok = inrf_model_create(&a, &m) == INRF_OK && inrf_write_file(m, NULL, file) == INRF_OK &&
             inrf_pack_writer_create(names, 1, &w) == INRF_OK &&
             inrf_pack_writer_add_model(w, m, 0, 0) == INRF_OK &&
             inrf_pack_writer_finish(w, pack) == INRF_OK;
    if (!ok)
        fprintf(stderr, "test_kind: %s\n", inrf_last_error());
    inrf_pack_writer_free(w);
    inrf_model_free(m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--write") == 0)
        return write_files(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_only_testing),
        cmocka_unit_test(test_siren_info),
        cmocka_unit_test(test_write_read_round_trip),
        cmocka_unit_test(test_read_refuses_bad_payloads),
        cmocka_unit_test(test_decode_any_size),
        cmocka_unit_test(test_pack_and_batch_decode),
        cmocka_unit_test(test_emulated_gpu_decoder),
        cmocka_unit_test(test_encoder_slot),
        cmocka_unit_test(test_refused_unregistered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
