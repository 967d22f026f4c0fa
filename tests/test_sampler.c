/* test_sampler.c: the epoch sampler (inrf/sampler.h): each epoch covered
 * exactly over the ranks, the order the same for any world size, windows
 * within their augmentation's bounds, and bad options refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "inrf/inrf.h"

static inrf_sampler_options opts(uint32_t batch, uint32_t rank, uint32_t world, int drop_last,
                                 int shuffle, int augment)
{
    inrf_sampler_options o;
    inrf_sampler_options_init(&o);
    o.seed = 12345;
    o.batch_size = batch;
    o.rank = rank, o.world_size = world;
    o.drop_last = drop_last;
    o.shuffle = shuffle;
    o.augment = augment;
    return o;
}

static inrf_sampler *make(uint32_t n, const uint32_t *sizes, const inrf_sampler_options *o)
{
    inrf_sampler *s = NULL;
    inrf_status st = inrf_sampler_create(n, sizes, o, &s);
    if (st != INRF_OK)
        fail_msg("create: %s", inrf_last_error());
    assert_non_null(s);
    return s;
}

/* The epoch's order and windows seen one position at a time (world size 1,
 * batch size 1): position p is batch p. */
typedef struct reference {
    uint32_t *index;
    float *window;
} reference;

static reference reference_of(uint32_t n, const uint32_t *sizes, inrf_sampler_options o,
                              uint64_t epoch, uint32_t width, uint32_t height)
{
    o.batch_size = 1, o.rank = 0, o.world_size = 1, o.drop_last = 0;
    inrf_sampler *s = make(n, sizes, &o);
    assert_int_equal(inrf_sampler_set_epoch(s, epoch), INRF_OK);
    assert_int_equal(inrf_sampler_batches(s), n);
    reference r = {malloc(n * sizeof *r.index), malloc(4 * n * sizeof *r.window)};
    assert_true(r.index && r.window);
    for (uint32_t p = 0; p < n; p++) {
        size_t got;
        assert_int_equal(inrf_sampler_batch(s, p, width, height, r.index + p, r.window + 4 * p,
                                            &got),
                         INRF_OK);
        assert_int_equal(got, 1);
    }
    inrf_sampler_free(s);
    return r;
}

/* One configuration: every rank's batches against the positions of the
 * specification, the counts, the coverage and the windows. */
static void check_partition(uint32_t n, uint32_t W, uint32_t B, int drop_last, int shuffle,
                            uint64_t epoch)
{
    inrf_sampler_options o = opts(B, 0, W, drop_last, shuffle, INRF_AUGMENT_CROP_FLIP);
    reference ref = reference_of(n, NULL, o, epoch, 32, 32);
    uint64_t samples = drop_last ? n / (W * B) * B : (n + W - 1) / W;
    uint64_t batches = (samples + B - 1) / B;
    uint32_t *seen = calloc(n, sizeof *seen);
    uint32_t *idx = malloc(B * sizeof *idx);
    float *win = malloc(4 * B * sizeof *win);
    assert_true(seen && idx && win);
    for (uint32_t r = 0; r < W; r++) {
        o.rank = r;
        inrf_sampler *s = make(n, NULL, &o);
        assert_int_equal(inrf_sampler_set_epoch(s, epoch), INRF_OK);
        assert_int_equal(inrf_sampler_epoch(s), epoch);
        assert_int_equal(inrf_sampler_samples(s), samples);
        assert_int_equal(inrf_sampler_batches(s), batches);
        assert_int_equal(inrf_sampler_padded(s), drop_last ? 0 : samples * W - n);
        assert_int_equal(inrf_sampler_dropped(s), drop_last ? n - samples * W : 0);
        uint64_t total = 0;
        for (uint64_t b = 0; b < batches; b++) {
            size_t got;
            assert_int_equal(inrf_sampler_batch(s, b, 32, 32, idx, win, &got), INRF_OK);
            /* every batch full but the last with drop_last 0, the same on
             * every rank */
            assert_int_equal(got, b + 1 < batches ? B : samples - b * B);
            total += got;
            for (size_t j = 0; j < got; j++) {
                uint64_t pos = (b * B + j) * W + r;
                assert_true(pos < (drop_last ? n : samples * W));
                assert_int_equal(idx[j], ref.index[pos % n]);
                seen[idx[j]]++;
                if (pos < n) /* the same window whatever the world size */
                    assert_memory_equal(win + 4 * j, ref.window + 4 * pos, 4 * sizeof *win);
            }
        }
        assert_int_equal(total, samples);
        size_t got = 99;
        assert_int_equal(inrf_sampler_batch(s, batches, 32, 32, idx, win, &got),
                         INRF_E_INVALID_ARG);
        assert_int_equal(got, 0);
        inrf_sampler_free(s);
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (drop_last)
            assert_true(seen[i] <= 1);
        else
            assert_true(seen[i] >= 1);
        sum += seen[i];
    }
    assert_int_equal(sum, drop_last ? n - (n - samples * W) : n + (samples * W - n));
    /* shuffle 0: the dataset's order */
    for (uint32_t p = 0; !shuffle && p < n; p++)
        assert_int_equal(ref.index[p], p);
    free(seen), free(idx), free(win);
    free(ref.index), free(ref.window);
}

static void test_partition(void **state)
{
    (void)state;
    static const uint32_t ns[] = {1, 2, 3, 7, 10, 13, 32, 101};
    static const uint32_t bs[] = {1, 2, 3, 4, 5, 16};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (uint32_t W = 1; W <= 4; W++)
            for (size_t c = 0; c < sizeof bs / sizeof bs[0]; c++)
                for (int dl = 0; dl < 2; dl++)
                    for (int sh = 0; sh < 2; sh++)
                        for (uint64_t e = 0; e < 3; e += 2)
                            check_partition(ns[a], W, bs[c], dl, sh, e);
}

/* With batch_size x world_size constant, batch b over all ranks is the same
 * set of images for any world size. */
static void test_world_sizes(void **state)
{
    (void)state;
    const uint32_t n = 103, global = 12;
    for (int dl = 0; dl < 2; dl++) {
        inrf_sampler_options o1 = opts(global, 0, 1, dl, 1, INRF_AUGMENT_NONE);
        inrf_sampler *one = make(n, NULL, &o1);
        assert_int_equal(inrf_sampler_set_epoch(one, 5), INRF_OK);
        for (uint32_t W = 2; W <= 4; W++) {
            inrf_sampler *rank[4];
            for (uint32_t r = 0; r < W; r++) {
                inrf_sampler_options o = opts(global / W, r, W, dl, 1, INRF_AUGMENT_NONE);
                rank[r] = make(n, NULL, &o);
                assert_int_equal(inrf_sampler_set_epoch(rank[r], 5), INRF_OK);
            }
            uint64_t nb = inrf_sampler_batches(rank[0]);
            /* drop_last 1: the same full batches; 0: the wrapped tail may
             * differ with the world size, the full batches do not */
            if (dl)
                assert_int_equal(nb, inrf_sampler_batches(one));
            for (uint64_t b = 0; b < inrf_sampler_batches(one) && b < nb; b++) {
                uint32_t want[12], got[12];
                size_t m1, m = 0;
                assert_int_equal(inrf_sampler_batch(one, b, 8, 8, want, NULL, &m1), INRF_OK);
                if (m1 < global)
                    break;
                for (uint32_t r = 0; r < W; r++) {
                    size_t k;
                    assert_int_equal(inrf_sampler_batch(rank[r], b, 8, 8, got + m, NULL, &k),
                                     INRF_OK);
                    m += k;
                }
                assert_int_equal(m, m1);
                /* the same set: every wanted image found once */
                for (size_t i = 0; i < m1; i++) {
                    int found = 0;
                    for (size_t j = 0; j < m; j++)
                        found += got[j] == want[i];
                    assert_int_equal(found, 1);
                }
            }
            for (uint32_t r = 0; r < W; r++)
                inrf_sampler_free(rank[r]);
        }
        inrf_sampler_free(one);
    }
}

/* The order of an epoch: deterministic, new each epoch and each seed, a
 * permutation. */
static void test_epochs(void **state)
{
    (void)state;
    const uint32_t n = 200;
    inrf_sampler_options o = opts(n, 0, 1, 0, 1, INRF_AUGMENT_CROP_FLIP);
    inrf_sampler *s = make(n, NULL, &o);
    uint32_t a[200], b[200], c[200];
    float wa[800], wb[800];
    size_t k;
    assert_int_equal(inrf_sampler_epoch(s), 0);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 32, a, wa, &k), INRF_OK);
    assert_int_equal(k, n);
    assert_int_equal(inrf_sampler_set_epoch(s, 1), INRF_OK);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 32, b, wb, &k), INRF_OK);
    assert_true(memcmp(a, b, sizeof a) != 0);
    assert_true(memcmp(wa, wb, sizeof wa) != 0);
    assert_int_equal(inrf_sampler_set_epoch(s, 0), INRF_OK);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 32, c, wb, &k), INRF_OK);
    assert_memory_equal(a, c, sizeof a);
    assert_memory_equal(wa, wb, sizeof wa);
    /* a permutation, not the identity */
    uint8_t hit[200] = {0};
    uint32_t moved = 0;
    for (uint32_t i = 0; i < n; i++) {
        assert_true(a[i] < n && !hit[a[i]]);
        hit[a[i]] = 1;
        moved += a[i] != i;
    }
    assert_true(moved > n / 2);
    /* another seed, another order */
    o.seed++;
    inrf_sampler *t = make(n, NULL, &o);
    assert_int_equal(inrf_sampler_batch(t, 0, 32, 32, c, NULL, &k), INRF_OK);
    assert_true(memcmp(a, c, sizeof a) != 0);
    inrf_sampler_free(t);
    inrf_sampler_free(s);
}

/* The windows of (seed, epoch) for a few of each: all differ (no seed's
 * windows are another's of another epoch). Unshuffled, so that only the
 * windows' stream changes. */
static void test_window_streams(void **state)
{
    (void)state;
    enum { N = 16, S = 4, E = 4 };
    static float w[S * E][4 * N];
    uint32_t idx[N];
    for (int s = 0; s < S; s++) {
        inrf_sampler_options o = opts(N, 0, 1, 0, 0, INRF_AUGMENT_CROP_FLIP);
        o.seed = (uint64_t)s;
        inrf_sampler *sp = make(N, NULL, &o);
        for (int e = 0; e < E; e++) {
            size_t k;
            assert_int_equal(inrf_sampler_set_epoch(sp, (uint64_t)e), INRF_OK);
            assert_int_equal(inrf_sampler_batch(sp, 0, 64, 64, idx, w[s * E + e], &k), INRF_OK);
        }
        inrf_sampler_free(sp);
    }
    for (int a = 0; a < S * E; a++)
        for (int b = a + 1; b < S * E; b++)
            if (memcmp(w[a], w[b], sizeof w[a]) == 0)
                fail_msg("seed %d epoch %d has the windows of seed %d epoch %d", b / E, b % E,
                         a / E, a % E);
}

/* Batch b computed alone, in any order, by another sampler, from several
 * samplers at once: the same as in order. */
static void test_batch_alone(void **state)
{
    (void)state;
    const uint32_t n = 57, B = 5;
    uint32_t sizes[2 * 57];
    for (uint32_t i = 0; i < n; i++)
        sizes[2 * i] = 20 + i, sizes[2 * i + 1] = 90 - i;
    inrf_sampler_options o = opts(B, 1, 3, 0, 1, INRF_AUGMENT_RRC_FLIP);
    inrf_sampler *s = make(n, sizes, &o);
    assert_int_equal(inrf_sampler_set_epoch(s, 7), INRF_OK);
    uint64_t nb = inrf_sampler_batches(s);
    uint32_t idx[4][5];
    float win[4][20];
    size_t len[4];
    assert_int_equal(nb, 4);
    for (uint64_t b = 0; b < nb; b++)
        assert_int_equal(inrf_sampler_batch(s, b, 64, 48, idx[b], win[b], &len[b]), INRF_OK);
    inrf_sampler *t = make(n, sizes, &o);
    assert_int_equal(inrf_sampler_set_epoch(t, 3), INRF_OK);
    assert_int_equal(inrf_sampler_set_epoch(t, 7), INRF_OK);
    for (uint64_t b = nb; b-- > 0;) {
        uint32_t i2[5];
        float w2[20];
        size_t l2;
        assert_int_equal(inrf_sampler_batch(t, b, 64, 48, i2, w2, &l2), INRF_OK);
        assert_int_equal(l2, len[b]);
        assert_memory_equal(i2, idx[b], l2 * sizeof *i2);
        assert_memory_equal(w2, win[b], 4 * l2 * sizeof *w2);
    }
    inrf_sampler_free(t);
    inrf_sampler_free(s);
}

/* CROP_FLIP: the whole image shifted by a whole number of output pixels
 * within -pad..pad (every shift drawn), then flipped about half the time. */
static void check_crop(uint32_t pad, uint32_t width, uint32_t height, uint32_t bound)
{
    const uint32_t n = 3000;
    inrf_sampler_options o = opts(n, 0, 1, 0, 1, INRF_AUGMENT_CROP_FLIP);
    o.pad = pad;
    inrf_sampler *s = make(n, NULL, &o);
    uint32_t *idx = malloc(n * sizeof *idx);
    float *w = malloc(4 * n * sizeof *w);
    assert_true(idx && w);
    size_t k;
    assert_int_equal(inrf_sampler_batch(s, 0, width, height, idx, w, &k), INRF_OK);
    int flips = 0, hits_x[64] = {0}, hits_y[64] = {0};
    for (size_t j = 0; j < k; j++) {
        float *v = w + 4 * j;
        int flip = v[0] > v[2];
        flips += flip;
        double x0 = flip ? v[2] : v[0], x1 = flip ? v[0] : v[2];
        assert_true(fabs(x1 - x0 - 2) < 1e-5 && fabs(v[3] - v[1] - 2) < 1e-5);
        double dx = (x0 + 1) * width / 2, dy = (v[1] + 1) * height / 2;
        assert_true(fabs(dx - round(dx)) < 1e-3 && fabs(dy - round(dy)) < 1e-3);
        assert_true(fabs(dx) <= bound && fabs(dy) <= bound);
        hits_x[(int)round(dx) + (int)bound]++;
        hits_y[(int)round(dy) + (int)bound]++;
    }
    for (uint32_t d = 0; d <= 2 * bound; d++)
        assert_true(hits_x[d] > 0 && hits_y[d] > 0);
    assert_true(flips > 0.45 * n && flips < 0.55 * n);
    free(idx), free(w);
    inrf_sampler_free(s);
}

static void test_crop_flip(void **state)
{
    (void)state;
    check_crop(4, 32, 32, 4);
    check_crop(0, 32, 32, 4);   /* the default: width / 8 */
    check_crop(3, 40, 24, 3);   /* not square */
    check_crop(0, 7, 7, 0);     /* width / 8 = 0: no shift */
}

/* RRC_FLIP: a crop of whole source pixels inside the image, its area
 * fraction within scale and its aspect within ratio (up to the rounding to
 * pixels), then flipped about half the time. */
static void check_rrc(uint32_t n, const uint32_t *sizes, float s0, float s1, float r0, float r1)
{
    inrf_sampler_options o = opts(n, 0, 1, 0, 1, INRF_AUGMENT_RRC_FLIP);
    o.scale[0] = s0, o.scale[1] = s1, o.ratio[0] = r0, o.ratio[1] = r1;
    inrf_sampler *s = make(n, sizes, &o);
    uint32_t *idx = malloc(n * sizeof *idx);
    float *w = malloc(4 * n * sizeof *w);
    assert_true(idx && w);
    size_t k;
    assert_int_equal(inrf_sampler_batch(s, 0, 224, 224, idx, w, &k), INRF_OK);
    int flips = 0;
    double amin = 1, amax = 0;
    for (size_t j = 0; j < k; j++) {
        float *v = w + 4 * j;
        int flip = v[0] > v[2];
        flips += flip;
        double x0 = flip ? v[2] : v[0], x1 = flip ? v[0] : v[2];
        assert_true(x0 >= -1 - 1e-6 && x1 <= 1 + 1e-6 && v[1] >= -1 - 1e-6 && v[3] <= 1 + 1e-6);
        assert_true(x1 > x0 && v[3] > v[1]);
        double W = sizes ? sizes[2 * idx[j]] : 65536, H = sizes ? sizes[2 * idx[j] + 1] : 65536;
        double cw = (x1 - x0) / 2 * W, ch = (v[3] - v[1]) / 2 * H;
        double tol = sizes ? 1e-3 : 0.5; /* float windows at 65536 */
        assert_true(fabs(cw - round(cw)) < tol && fabs(ch - round(ch)) < tol);
        cw = round(cw), ch = round(ch);
        /* each side rounded by up to half a pixel */
        assert_true((cw + 0.5) * (ch + 0.5) >= s0 * W * H * (1 - 1e-6));
        assert_true((cw - 0.5) * (ch - 0.5) <= s1 * W * H * (1 + 1e-6));
        assert_true((cw + 0.5) / (ch - 0.5) >= r0 * (1 - 1e-6));
        assert_true((cw - 0.5) / (ch + 0.5) <= r1 * (1 + 1e-6));
        double a = cw * ch / (W * H);
        amin = fmin(amin, a), amax = fmax(amax, a);
    }
    /* the range of scale is used, not a corner of it */
    assert_true(amin < s0 + 0.1 * (s1 - s0) && amax > s1 - 0.2 * (s1 - s0));
    assert_true(flips > 0.45 * n && flips < 0.55 * n);
    free(idx), free(w);
    inrf_sampler_free(s);
}

static void test_rrc_flip(void **state)
{
    (void)state;
    enum { N = 3000 };
    uint32_t *sizes = malloc(2 * N * sizeof *sizes);
    assert_non_null(sizes);
    static const uint32_t shapes[][2] = {{64, 64}, {100, 80}, {37, 53}, {500, 375}, {224, 224}};
    for (uint32_t i = 0; i < N; i++)
        sizes[2 * i] = shapes[i % 5][0], sizes[2 * i + 1] = shapes[i % 5][1];
    check_rrc(N, sizes, 0.08f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
    check_rrc(N, NULL, 0.08f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
    check_rrc(N, NULL, 0.25f, 0.5f, 1.0f, 2.0f);
    /* images too narrow for the ratios: the centre crop of the nearest
     * aspect when every try fails */
    uint32_t thin[2] = {4, 100};
    inrf_sampler_options o = opts(1, 0, 1, 0, 1, INRF_AUGMENT_RRC_FLIP);
    inrf_sampler *s = make(1, thin, &o);
    uint32_t i;
    float w[4];
    size_t k;
    assert_int_equal(inrf_sampler_batch(s, 0, 16, 16, &i, w, &k), INRF_OK);
    double x0 = fmin(w[0], w[2]), x1 = fmax(w[0], w[2]);
    assert_true(fabs(x0 + 1) < 1e-6 && fabs(x1 - 1) < 1e-6);
    assert_true(fabs((w[3] - w[1]) / 2 * 100 - 5) < 1e-4); /* round(4 / 0.75) */
    assert_true(fabs(w[1] + w[3]) < 1e-6);                     /* centred */
    inrf_sampler_free(s);
    free(sizes);
}

/* No augmentation: the whole image, never flipped. */
static void test_none(void **state)
{
    (void)state;
    inrf_sampler_options o = opts(4, 0, 1, 0, 1, INRF_AUGMENT_NONE);
    inrf_sampler *s = make(10, NULL, &o);
    uint32_t idx[4];
    float w[16];
    size_t k;
    assert_int_equal(inrf_sampler_batch(s, 2, 32, 32, idx, w, &k), INRF_OK);
    assert_int_equal(k, 2);
    for (size_t j = 0; j < k; j++) {
        assert_true(w[4 * j] == -1 && w[4 * j + 1] == -1);
        assert_true(w[4 * j + 2] == 1 && w[4 * j + 3] == 1);
    }
    inrf_sampler_free(s);
}

/* A pack's sampler takes the sizes of its index. */
static void test_pack(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "b"};
    inrf_pack_writer *pw;
    assert_int_equal(inrf_pack_writer_create(names, 2, &pw), INRF_OK);
    static const unsigned models[] = {0, 1, 3}; /* RGB, three sizes */
    for (unsigned k = 0; k < 12; k++) {
        inrf_model *m;
        assert_int_equal(golden_build(models[k % 3], &m), INRF_OK);
        assert_int_equal(inrf_pack_writer_add_model(pw, m, k % 2, k), INRF_OK);
        inrf_model_free(m);
    }
    void *data;
    size_t size;
    assert_int_equal(inrf_pack_writer_finish_memory(pw, &data, &size), INRF_OK);
    inrf_pack_writer_free(pw);
    inrf_pack *p;
    assert_int_equal(inrf_pack_open_memory(data, size, NULL, &p), INRF_OK);
    uint32_t n = inrf_pack_count(p), sizes[24];
    for (uint32_t i = 0; i < n; i++) {
        sizes[2 * i] = inrf_pack_get(p, i)->width;
        sizes[2 * i + 1] = inrf_pack_get(p, i)->height;
    }
    inrf_sampler_options o = opts(5, 0, 1, 0, 1, INRF_AUGMENT_RRC_FLIP);
    inrf_sampler *a = NULL, *b = make(n, sizes, &o), *c = make(n, NULL, &o);
    assert_int_equal(inrf_sampler_create_pack(p, &o, &a), INRF_OK);
    int differ = 0;
    for (uint64_t k = 0; k < inrf_sampler_batches(a); k++) {
        uint32_t ia[5], ib[5];
        float wa[20], wb[20];
        size_t la, lb;
        assert_int_equal(inrf_sampler_batch(a, k, 32, 32, ia, wa, &la), INRF_OK);
        assert_int_equal(inrf_sampler_batch(b, k, 32, 32, ib, wb, &lb), INRF_OK);
        assert_int_equal(la, lb);
        assert_memory_equal(ia, ib, la * sizeof *ia);
        assert_memory_equal(wa, wb, 4 * la * sizeof *wa);
        assert_int_equal(inrf_sampler_batch(c, k, 32, 32, ib, wb, &lb), INRF_OK);
        differ |= memcmp(wa, wb, 4 * la * sizeof *wa) != 0;
    }
    assert_true(differ); /* the sizes matter */
    inrf_sampler_free(a), inrf_sampler_free(b), inrf_sampler_free(c);
    inrf_pack_close(p);
    inrf_free(data);
    /* a pack without images has no sampler */
    assert_int_equal(inrf_pack_writer_create(names, 2, &pw), INRF_OK);
    assert_int_equal(inrf_pack_writer_finish_memory(pw, &data, &size), INRF_OK);
    inrf_pack_writer_free(pw);
    assert_int_equal(inrf_pack_open_memory(data, size, NULL, &p), INRF_OK);
    a = (inrf_sampler *)1;
    assert_int_equal(inrf_sampler_create_pack(p, &o, &a), INRF_E_INVALID_ARG);
    assert_null(a);
    assert_non_null(strstr(inrf_last_error(), "no image"));
    inrf_pack_close(p);
    inrf_free(data);
}

/* ----------------------------------------------------------- bad options */

static void expect_bad(uint32_t n, const uint32_t *sizes, const inrf_sampler_options *o,
                       const char *field)
{
    inrf_sampler *s = (inrf_sampler *)1;
    assert_int_equal(inrf_sampler_create(n, sizes, o, &s), INRF_E_INVALID_ARG);
    assert_null(s);
    if (!strstr(inrf_last_error(), field))
        fail_msg("message \"%s\" lacks \"%s\"", inrf_last_error(), field);
}

static void test_bad_options(void **state)
{
    (void)state;
    inrf_sampler_options good = opts(4, 0, 1, 0, 1, INRF_AUGMENT_RRC_FLIP), o;
#define BAD(field, stmt)                                                                     \
    do {                                                                                     \
        o = good;                                                                            \
        stmt;                                                                                \
        expect_bad(10, NULL, &o, field);                                                     \
    } while (0)
    BAD("batch_size", o.batch_size = 0);
    BAD("batch_size", o.batch_size = INRF_PACK_MAX_IMAGES + 1);
    BAD("world_size", o.world_size = 0);
    BAD("world_size", o.world_size = (1u << 20) + 1);
    BAD("rank", o.rank = 1);
    BAD("rank", (o.world_size = 3, o.rank = 3));
    BAD("shuffle", o.shuffle = 2);
    BAD("drop_last", o.drop_last = -1);
    BAD("augment", o.augment = 3);
    BAD("pad", o.pad = 65537);
    BAD("scale", o.scale[0] = 0);
    BAD("scale", (o.scale[0] = 0.5f, o.scale[1] = 0.4f));
    BAD("scale", o.scale[1] = 1.5f);
    BAD("scale", o.scale[1] = NAN);
    BAD("ratio", o.ratio[0] = 0);
    BAD("ratio", (o.ratio[0] = 2, o.ratio[1] = 1));
    BAD("ratio", o.ratio[1] = INFINITY);
    BAD("not initialised", o.abi = 0);
    BAD("reserved_", o.reserved_[3] = 1);
#undef BAD
    expect_bad(0, NULL, &good, "count");
    expect_bad(INRF_PACK_MAX_IMAGES + 1, NULL, &good, "count");
    uint32_t sizes[4] = {32, 32, 65537, 10};
    expect_bad(2, sizes, &good, "sizes of image 1");
    expect_bad(2, NULL, NULL, "options");
    assert_int_equal(inrf_sampler_create(2, NULL, &good, NULL), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_sampler_create_pack(NULL, &good, NULL), INRF_E_INVALID_ARG);

    /* batch's own arguments */
    inrf_sampler *s = make(10, NULL, &good);
    uint32_t idx[4];
    float w[16];
    size_t k;
    assert_int_equal(inrf_sampler_batch(s, 3, 32, 32, idx, w, &k), INRF_E_INVALID_ARG);
    assert_non_null(strstr(inrf_last_error(), "batch 3 of 3"));
    assert_int_equal(inrf_sampler_batch(s, 0, 0, 32, idx, w, &k), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 65537, idx, w, &k), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 32, NULL, w, &k), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 32, idx, w, NULL), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_sampler_set_epoch(NULL, 1), INRF_E_INVALID_ARG);
    inrf_sampler_free(s);
    inrf_sampler_free(NULL);

    /* drop_last 1 with fewer images than one batch on every rank: no batch */
    o = opts(4, 1, 3, 1, 1, INRF_AUGMENT_NONE);
    s = make(10, NULL, &o);
    assert_int_equal(inrf_sampler_batches(s), 0);
    assert_int_equal(inrf_sampler_samples(s), 0);
    assert_int_equal(inrf_sampler_dropped(s), 10);
    assert_int_equal(inrf_sampler_batch(s, 0, 32, 32, idx, w, &k), INRF_E_INVALID_ARG);
    inrf_sampler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition),   cmocka_unit_test(test_world_sizes),
        cmocka_unit_test(test_epochs),      cmocka_unit_test(test_window_streams),
        cmocka_unit_test(test_batch_alone),
        cmocka_unit_test(test_crop_flip),   cmocka_unit_test(test_rrc_flip),
        cmocka_unit_test(test_none),        cmocka_unit_test(test_pack),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
