/* test_record.c: the layer-record expander of inrf/record.h (shared by the
 * CPU batch decoder and the CUDA kernels) never reads past its record,
 * whatever the bytes say: forged, truncated and random records in buffers
 * of their exact size (AddressSanitizer sees any overrun), and a pack whose
 * records change after it was verified. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "inrf/pack.h"
#include "inrf/record.h"

/* The layer of spec/inrf.md 7.1's example: in 3, out 2, bitmap 0x2D
 * (weights 0, 2, 3, 5 kept), f32 values 1..4, f32 biases 0.5, -0.5. */
static size_t example(uint8_t *d)
{
    static const float v[4] = {1, 2, 3, 4}, b[2] = {0.5f, -0.5f};
    uint8_t h[9] = {0, 0, 1, 0, 4, 0, 0, 0, 0x2d};
    memcpy(d, h, 9);
    memcpy(d + 9, v, sizeof v);
    memcpy(d + 9 + sizeof v, b, sizeof b);
    return 9 + sizeof v + sizeof b;
}

/* Locates and expands the n bytes at src copied into a buffer of exactly
 * n bytes; returns what both returned (1 only when both did). */
static int expand_exact(const uint8_t *src, size_t n, unsigned in, unsigned out, float *w,
                        float *b)
{
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    memcpy(d, src, n);
    inrf_layer_loc l;
    int ok = inrf_layer_locate(d, n, in, out, &l);
    assert_true(l.end >= d && l.end <= d + n);
    int ex = inrf_layer_expand(&l, w, b);
    free(d);
    return ok && ex;
}

static void test_example(void **state)
{
    (void)state;
    uint8_t d[64];
    size_t n = example(d);
    float w[6], b[2];
    assert_int_equal(expand_exact(d, n, 3, 2, w, b), 1);
    static const float want[6] = {1, 0, 2, 3, 0, 4};
    assert_memory_equal(w, want, sizeof want);
    assert_true(b[0] == 0.5f && b[1] == -0.5f);
}

/* Every shorter length of a valid record is refused, and nothing past it
 * is read: the layer reads as zeros. */
static void test_truncated(void **state)
{
    (void)state;
    uint8_t d[64];
    size_t n = example(d);
    for (size_t k = 0; k < n; k++) {
        float w[6] = {9, 9, 9, 9, 9, 9}, b[2] = {9, 9};
        assert_int_equal(expand_exact(d, k, 3, 2, w, b), 0);
        for (int i = 0; i < 6; i++)
            assert_true(w[i] == 0.0f);
        assert_true(b[0] == 0.0f && b[1] == 0.0f);
    }
}

/* Header fields that break spec 7.1, each in a buffer of the record's
 * size: refused, or (a bitmap keeping more than nnz) values past nnz not
 * read and the disagreement reported. */
static void test_forged_fields(void **state)
{
    (void)state;
    static const struct {
        int off;
        uint32_t val;
        int bytes;
    } cases[] = {
        {0, 4, 1},          /* encoding 4 */
        {1, 2, 1},          /* bias encoding 2 */
        {2, 0, 1},          /* not pruned: nnz 4 of N = 6 values */
        {2, 3, 1},          /* a reserved flag */
        {3, 1, 1},          /* the reserved byte */
        {4, 5, 4},          /* nnz 5: a value more than the bytes */
        {4, 7, 4},          /* nnz above N */
        {4, 0xffffffff, 4}, /* nnz 2^32 - 1 */
        {8, 0x3f, 1},       /* six kept weights for four values */
        {8, 0xff, 1},       /* ... and the padding bits */
        {8, 0x01, 1},       /* one kept weight for four values */
    };
    uint8_t d[64];
    size_t n = example(d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t f[64];
        memcpy(f, d, n);
        for (int k = 0; k < cases[i].bytes; k++)
            f[cases[i].off + k] = (uint8_t)(cases[i].val >> (8 * k));
        float w[6], b[2];
        if (expand_exact(f, n, 3, 2, w, b) != 0)
            fprintf(stderr, "case %zu accepted\n", i);
        assert_int_equal(expand_exact(f, n, 3, 2, w, b), 0);
    }
    /* the same record in a larger buffer: nnz 5 then fits, the bitmap
     * keeps 4 */
    d[4] = 5;
    float w[6], b[2];
    assert_int_equal(expand_exact(d, n + 4, 3, 2, w, b), 0);
}

/* Every value of every header byte, and random records of random lengths
 * for a few shapes: the expander stays inside the bytes (ASan). */
static void test_every_byte_and_random(void **state)
{
    (void)state;
    uint8_t d[64];
    size_t n = example(d);
    float w[64 * 64], b[64];
    for (size_t off = 0; off < 9; off++)
        for (unsigned v = 0; v < 256; v++) {
            uint8_t f[64];
            memcpy(f, d, n);
            f[off] = (uint8_t)v;
            (void)expand_exact(f, n, 3, 2, w, b);
        }
    static const unsigned shapes[][2] = {{2, 4}, {3, 2}, {16, 16}, {64, 3}, {7, 9}};
    uint32_t s = 12345;
    uint8_t r[2048];
    for (int t = 0; t < 20000; t++) {
        const unsigned *sh = shapes[t % 5];
        size_t len = 0;
        for (size_t k = 0; k < sizeof r; k++) {
            s = s * 1664525u + 1013904223u;
            r[k] = (uint8_t)(s >> 24);
        }
        len = (s >> 8) % sizeof r;
        /* plausible headers most of the time, so that the layout is reached */
        r[0] &= 3, r[1] &= 1, r[2] &= 1, r[3] = 0;
        if (t & 1) {
            uint32_t nnz = (s >> 4) % (sh[0] * sh[1] + 1);
            memcpy(r + 4, &nnz, 4);
        }
        (void)expand_exact(r, len, sh[0], sh[1], w, b);
    }
}

/* ------------------------------------------------- a pack changed in place */

static const char *const names2[] = {"a", "b"};

/* Golden models 1 and 3 (int8 layers, pruned layers) as a pack in memory. */
static uint8_t *make_pack(size_t *size)
{
    inrf_pack_writer *w;
    assert_int_equal(inrf_pack_writer_create(names2, 2, &w), INRF_OK);
    static const unsigned models[] = {1, 3};
    for (unsigned k = 0; k < 2; k++) {
        inrf_model *m;
        assert_int_equal(golden_build(models[k], &m), INRF_OK);
        assert_int_equal(inrf_pack_writer_add_model(w, m, k, k), INRF_OK);
        inrf_model_free(m);
    }
    void *data;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &data, size), INRF_OK);
    inrf_pack_writer_free(w);
    return data;
}

/* Offsets (from the record's start) of each layer of record i; returns
 * the count; pruned[l]: whether layer l is. */
static unsigned layer_offsets(const inrf_pack *p, uint32_t i, size_t *off, int *pruned)
{
    const inrf_pack_item *it = inrf_pack_get(p, i);
    const inrf_arch *a = inrf_pack_arch(p, it->arch);
    const uint8_t *rec = it->record;
    for (unsigned l = 0; l <= a->layers; l++) {
        unsigned in = l == 0 ? 2u : a->hidden[l - 1];
        unsigned out = l == a->layers ? a->channels : a->hidden[l];
        inrf_layer_loc loc;
        off[l] = (size_t)(rec - it->record);
        assert_int_equal(inrf_layer_locate(rec, it->size - off[l], in, out, &loc), 1);
        pruned[l] = loc.bitmap != NULL;
        rec = loc.end;
    }
    return a->layers + 1u;
}

/* A pack verified at opening whose bytes then change (a mapped file
 * rewritten in place): the batch decoder refuses the record, naming it,
 * and reads nothing past it; the last record of the pack ends the buffer. */
static void test_pack_changed_after_verification(void **state)
{
    (void)state;
    size_t size;
    uint8_t *orig = make_pack(&size);
    uint8_t *d = malloc(size);
    enum { NNZ_HUGE, BITMAP_ALL, ENCODING, PRUNED_FLAG, NCASES };
    for (int c = 0; c < NCASES; c++) {
        memcpy(d, orig, size);
        inrf_pack *p;
        assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_OK);
        uint32_t last = inrf_pack_get(p, 0)->offset > inrf_pack_get(p, 1)->offset ? 0 : 1;
        const inrf_pack_item *it = inrf_pack_get(p, last);
        size_t off[INRF_MAX_SINE_LAYERS + 1];
        int pruned[INRF_MAX_SINE_LAYERS + 1];
        unsigned L = layer_offsets(p, last, off, pruned);
        uint8_t *rec = d + it->offset;
        unsigned pl = 0, ul = 0;
        for (unsigned l = 0; l < L; l++) {
            if (pruned[l] && !pl)
                pl = l;
            if (!pruned[l])
                ul = l;
        }
        assert_true(pl > 0);
        switch (c) {
        case NNZ_HUGE: memset(rec + off[L - 1] + 4, 0xff, 4); break;
        case BITMAP_ALL: memset(rec + off[pl] + 8, 0xff, 4); break;
        case ENCODING: rec[off[0]] = 9; break;
        case PRUNED_FLAG: rec[off[ul] + 2] = 1; break;
        }
        inrf_batch_options o;
        inrf_batch_options_init(&o);
        o.width = o.height = 8;
        o.type = INRF_BATCH_U8;
        uint8_t px[8 * 8 * 3];
        inrf_status st = inrf_pack_decode_batch(p, &last, 1, NULL, &o, px);
        if (st != INRF_E_FORMAT)
            fprintf(stderr, "case %d: status %d, \"%s\"\n", c, st, inrf_last_error());
        assert_int_equal(st, INRF_E_FORMAT);
        assert_non_null(strstr(inrf_last_error(), "changed after it was verified"));
        inrf_pack_close(p);
    }
    free(d);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_forged_fields),
        cmocka_unit_test(test_every_byte_and_random),
        cmocka_unit_test(test_pack_changed_after_verification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
