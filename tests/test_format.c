/* test_format.c: the .inrf reader and writer: round trips, the golden
 * files, every byte flip and truncation, forged files that break each rule
 * of spec/inrf.md, reader limits, quantisation, pruning, atomic writes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>
#include <zstd.h>

#include "../libinrf/bytes.h"
#include "../libinrf/format.h"
#include "golden.h"

/* ------------------------------------------------------------ helpers */

static void assert_models_equal(const inrf_model *a, const inrf_model *b)
{
    assert_memory_equal(&a->arch, &b->arch, sizeof a->arch);
    assert_true((isnan(a->psnr) && isnan(b->psnr)) || a->psnr == b->psnr);
    for (unsigned l = 0; l <= a->arch.layers; l++) {
        const inrf_layer *x = &a->layer[l], *y = &b->layer[l];
        size_t n = (size_t)x->in * x->out;
        assert_int_equal(x->in, y->in);
        assert_int_equal(x->out, y->out);
        assert_int_equal(x->encoding, y->encoding);
        assert_int_equal(x->bias_encoding, y->bias_encoding);
        assert_int_equal(x->nnz, y->nnz);
        assert_memory_equal(x->w, y->w, n * sizeof(float));
        assert_memory_equal(x->b, y->b, x->out * sizeof(float));
        assert_true(!x->mask == !y->mask);
        if (x->mask)
            assert_memory_equal(x->mask, y->mask, (n + 7) / 8);
        assert_true(!x->q == !y->q);
        if (x->q) {
            assert_memory_equal(x->q, y->q, n);
            assert_memory_equal(x->scale, y->scale,
                                (x->encoding == INRF_ENC_INT8 ? 1 : x->out) * sizeof(float));
        }
    }
}

static uint8_t *build_file(unsigned i, size_t *size)
{
    inrf_model *m;
    inrf_write_options wo;
    void *data;
    assert_int_equal(golden_build(i, &m), INRF_OK);
    golden_write_options(i, &wo);
    assert_int_equal(inrf_write_memory(m, &wo, &data, size), INRF_OK);
    inrf_model_free(m);
    return data;
}

/* A chunk of a file being forged. */
typedef struct piece {
    uint32_t type, flags;
    uint8_t *data;
    size_t size;
} piece;

/* Splits a valid file into its chunks (payloads copied). */
static size_t split(const uint8_t *f, size_t size, piece *out, size_t max)
{
    size_t n = 0;
    for (size_t pos = INRF_FILE_HEADER_SIZE; pos < size && n < max; n++) {
        out[n].type = inrf_ld32(f + pos);
        out[n].flags = inrf_ld32(f + pos + 4);
        out[n].size = inrf_ld32(f + pos + 8);
        out[n].data = calloc(1, out[n].size + 64); /* room for tests that grow it */
        memcpy(out[n].data, f + pos + INRF_CHUNK_HEADER_SIZE, out[n].size);
        pos += INRF_CHUNK_OVERHEAD + out[n].size;
    }
    return n;
}

/* Assembles chunks into a file with correct checksums: a forged file is
 * rejected for what it says, never for a checksum. */
static uint8_t *assemble(const piece *p, size_t n, uint8_t major, uint8_t minor, size_t *size)
{
    size_t total = INRF_FILE_HEADER_SIZE;
    for (size_t i = 0; i < n; i++)
        total += INRF_CHUNK_OVERHEAD + p[i].size;
    uint8_t *f = malloc(total);
    memcpy(f, INRF_MAGIC, 8);
    f[8] = major;
    f[9] = minor;
    inrf_st16(f + 10, 0);
    inrf_st32(f + 12, (uint32_t)total);
    inrf_st32(f + 16, (uint32_t)XXH3_64bits(f, 16));
    size_t pos = INRF_FILE_HEADER_SIZE;
    for (size_t i = 0; i < n; i++) {
        inrf_st32(f + pos, p[i].type);
        inrf_st32(f + pos + 4, p[i].flags);
        inrf_st32(f + pos + 8, (uint32_t)p[i].size);
        memcpy(f + pos + 12, p[i].data, p[i].size);
        inrf_st64(f + pos + 12 + p[i].size, XXH3_64bits(f + pos, 12 + p[i].size));
        pos += INRF_CHUNK_OVERHEAD + p[i].size;
    }
    *size = total;
    return f;
}

static void free_pieces(piece *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].data);
}

static inrf_status read_status(const uint8_t *f, size_t size)
{
    inrf_model *m = NULL;
    inrf_status st = inrf_read_memory(f, size, NULL, &m);
    if (st == INRF_OK)
        assert_non_null(m);
    else
        assert_null(m);
    inrf_model_free(m);
    return st;
}

static inrf_status forged_status(const piece *p, size_t n)
{
    size_t size;
    uint8_t *f = assemble(p, n, 1, 0, &size);
    inrf_status st = read_status(f, size);
    free(f);
    return st;
}

/* ---------------------------------------------------------- round trips */

static void test_round_trip(void **state)
{
    (void)state;
    for (unsigned i = 0; i < GOLDEN_COUNT; i++) {
        inrf_model *m, *r, *c;
        inrf_write_options wo;
        void *d1, *d2;
        size_t n1, n2;
        assert_int_equal(golden_build(i, &m), INRF_OK);
        for (int compress = 0; compress <= 2; compress++) {
            golden_write_options(i, &wo);
            wo.compress = compress;
            assert_int_equal(inrf_write_memory(m, &wo, &d1, &n1), INRF_OK);
            assert_int_equal(inrf_read_memory(d1, n1, NULL, &r), INRF_OK);
            assert_models_equal(m, r);
            assert_int_equal(r->compress_mask != 0, compress == 2 || (compress == 1 && r->compress_mask));
            /* read -> write gives the same bytes */
            assert_int_equal(inrf_write_memory(r, &wo, &d2, &n2), INRF_OK);
            assert_int_equal(n1, n2);
            assert_memory_equal(d1, d2, n1);
            /* clone is a deep copy */
            assert_int_equal(inrf_model_clone(r, &c), INRF_OK);
            inrf_model_free(r);
            assert_models_equal(m, c);
            inrf_model_free(c);
            free(d1);
            free(d2);
        }
        inrf_model_free(m);
    }
}

/* The committed golden files still read, hold the seeded models, and
 * (uncompressed) are what this writer makes byte for byte. Run with
 * INRF_GOLDEN_REGEN=1 to rewrite them after a deliberate format change. */
static void test_golden_files(void **state)
{
    (void)state;
    int regen = getenv("INRF_GOLDEN_REGEN") != NULL;
    for (unsigned i = 0; i < GOLDEN_COUNT; i++) {
        size_t built_n, size;
        uint8_t *built = build_file(i, &built_n);
        if (regen)
            assert_int_equal(inrf_file_write_atomic(golden_path(i), built, built_n), INRF_OK);
        uint8_t *f = golden_slurp(golden_path(i), &size);
        if (!f) {
            free(built);
            skip();
        }
        inrf_model *m, *g;
        assert_int_equal(inrf_read_memory(f, size, NULL, &m), INRF_OK);
        assert_int_equal(golden_build(i, &g), INRF_OK);
        assert_models_equal(g, m);
        if (!m->compress_mask) {
            assert_int_equal(size, built_n);
            assert_memory_equal(f, built, size);
        }
        /* the same file read through the file path */
        inrf_model *fm;
        assert_int_equal(inrf_read_file(golden_path(i), NULL, &fm), INRF_OK);
        assert_models_equal(g, fm);
        inrf_model_free(fm);
        inrf_model_free(m);
        inrf_model_free(g);
        free(f);
        free(built);
    }
}

/* ------------------------------------------------- corruption, truncation */

/* spec: every byte is covered by a checksum, so every flip is rejected. */
static void test_every_byte_flip(void **state)
{
    (void)state;
    static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xff};
    for (unsigned i = 0; i < 3; i++) {
        size_t size;
        uint8_t *f = build_file(i, &size);
        for (size_t k = 0; k < size; k++)
            for (size_t mi = 0; mi < sizeof masks; mi++) {
                f[k] ^= masks[mi];
                inrf_status st = read_status(f, size);
                if (st == INRF_OK)
                    fail_msg("file %u: flip 0x%02x at byte %zu accepted", i, masks[mi], k);
                assert_true(st == INRF_E_CHECKSUM || st == INRF_E_NOT_INRF ||
                            st == INRF_E_FORMAT || st == INRF_E_TRUNCATED);
                assert_true(strlen(inrf_last_error()) > 0);
                /* the chunk walk never crashes and agrees that it is bad */
                inrf_chunk_info ci[16];
                size_t count;
                assert_int_not_equal(inrf_scan_memory(f, size, ci, 16, &count), INRF_OK);
                f[k] ^= masks[mi];
            }
        assert_int_equal(read_status(f, size), INRF_OK);
        free(f);
    }
}

static void test_every_truncation(void **state)
{
    (void)state;
    for (unsigned i = 0; i < GOLDEN_COUNT; i++) {
        size_t size;
        uint8_t *f = build_file(i, &size);
        for (size_t n = 0; n < size; n++) {
            inrf_status st = read_status(f, n);
            if (st != INRF_E_TRUNCATED)
                fail_msg("file %u cut to %zu of %zu bytes: %s", i, n, size, inrf_strerror(st));
        }
        /* and one byte too many */
        uint8_t *g = malloc(size + 1);
        memcpy(g, f, size);
        g[size] = 0;
        assert_int_equal(read_status(g, size + 1), INRF_E_FORMAT);
        free(g);
        free(f);
    }
}

static void test_scan(void **state)
{
    (void)state;
    size_t size, count;
    uint8_t *f = build_file(1, &size);
    inrf_chunk_info ci[8];
    assert_int_equal(inrf_scan_memory(f, size, ci, 8, &count), INRF_OK);
    assert_int_equal(count, 4);
    assert_string_equal(ci[0].type, "IHDR");
    assert_string_equal(ci[1].type, "NHDR");
    assert_string_equal(ci[2].type, "WGHT");
    assert_string_equal(ci[3].type, "qual");
    assert_int_equal(ci[0].offset, INRF_FILE_HEADER_SIZE);
    assert_true(ci[2].flags & INRF_CHUNK_FLAG_ZSTD);
    inrf_model *m;
    assert_int_equal(golden_build(1, &m), INRF_OK);
    assert_int_equal(ci[2].raw_bytes, inrf_model_weight_bytes(m));
    inrf_model_free(m);
    for (size_t k = 0; k < count; k++)
        assert_int_equal(ci[k].checksum_ok, 1);
    /* a bad payload byte in WGHT: the walk goes on and names it */
    f[ci[2].offset + 20] ^= 1;
    assert_int_equal(inrf_scan_memory(f, size, ci, 8, &count), INRF_E_CHECKSUM);
    assert_int_equal(count, 4);
    assert_int_equal(ci[2].checksum_ok, 0);
    assert_int_equal(ci[3].checksum_ok, 1);
    assert_non_null(strstr(inrf_last_error(), "WGHT"));
    free(f);
}

/* ------------------------------------------------------------- forgeries */

static void test_forged_structure(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(0, &size); /* IHDR NHDR WGHT qual */
    piece p[8], q[8];
    size_t n = split(f, size, p, 8);
    assert_int_equal(n, 4);
    assert_int_equal(forged_status(p, n), INRF_OK);

    /* versions: an unknown major is refused, a newer minor accepted */
    uint8_t *g = assemble(p, n, 2, 0, &size);
    assert_int_equal(read_status(g, size), INRF_E_VERSION);
    free(g);
    g = assemble(p, n, 1, 7, &size);
    assert_int_equal(read_status(g, size), INRF_OK);
    free(g);
    /* reserved header flags */
    g = assemble(p, n, 1, 0, &size);
    g[10] = 1;
    inrf_st32(g + 16, (uint32_t)XXH3_64bits(g, 16));
    assert_int_equal(read_status(g, size), INRF_E_FORMAT);
    free(g);

    /* order and presence */
    memcpy(q, p, sizeof p);
    q[0] = p[1], q[1] = p[0];
    assert_int_equal(forged_status(q, n), INRF_E_FORMAT);           /* NHDR first */
    q[0] = p[0], q[1] = p[2], q[2] = p[1];
    assert_int_equal(forged_status(q, 4), INRF_E_FORMAT);           /* WGHT before NHDR */
    memcpy(q, p, sizeof p);
    assert_int_equal(forged_status(q, 2), INRF_E_FORMAT);           /* no WGHT */
    q[2] = p[1];
    q[3] = p[2];
    assert_int_equal(forged_status(q, 4), INRF_E_FORMAT);           /* two NHDR */
    q[0] = p[3], q[1] = p[0], q[2] = p[1], q[3] = p[2];
    assert_int_equal(forged_status(q, 4), INRF_E_FORMAT);           /* ancillary before IHDR */
    assert_int_equal(forged_status(p, 0), INRF_E_FORMAT);           /* header only */

    /* chunk types and flags */
    uint8_t blob[3] = {1, 2, 3};
    piece anc = {INRF_FOURCC('z', 'z', 'Z', 'z'), 0, blob, 3};
    piece crit = {INRF_FOURCC('Z', 'z', 'z', 'z'), 0, blob, 3};
    piece bad = {INRF_FOURCC('Z', '1', 'z', 'z'), 0, blob, 3};
    memcpy(q, p, sizeof p);
    q[4] = anc;
    assert_int_equal(forged_status(q, 5), INRF_OK);                 /* unknown ancillary skipped */
    q[4] = crit;
    assert_int_equal(forged_status(q, 5), INRF_E_UNSUPPORTED);      /* unknown critical */
    q[4] = bad;
    assert_int_equal(forged_status(q, 5), INRF_E_FORMAT);           /* not letters */
    q[4] = anc;
    q[4].flags = 0x10000u;                                           /* unused bit: ignored */
    assert_int_equal(forged_status(q, 5), INRF_OK);
    q[4].flags = 0x2u;                                               /* reserved bit */
    assert_int_equal(forged_status(q, 5), INRF_E_FORMAT);
    free_pieces(p, n);
    free(f);
}

static void test_forged_headers(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(0, &size);
    piece p[8];
    size_t n = split(f, size, p, 8);
    uint8_t ihdr[12], nhdr[64];
    memcpy(ihdr, p[0].data, 12);
    memcpy(nhdr, p[1].data, p[1].size);
    size_t nhdr_n = p[1].size;

#define IHDR_CASE(field_code, expect)            \
    do {                                          \
        memcpy(p[0].data, ihdr, 12);              \
        field_code;                               \
        assert_int_equal(forged_status(p, n), expect); \
    } while (0)
    IHDR_CASE(inrf_st32(p[0].data, 0), INRF_E_FORMAT);                 /* width 0 */
    IHDR_CASE(inrf_st32(p[0].data + 4, INRF_MAX_DIM + 1), INRF_E_FORMAT);
    IHDR_CASE(inrf_st32(p[0].data, 0xffffffffu), INRF_E_FORMAT);
    IHDR_CASE(p[0].data[8] = 2, INRF_E_FORMAT);                        /* channels */
    IHDR_CASE(p[0].data[9] = 1, INRF_E_UNSUPPORTED);                   /* colour space */
    IHDR_CASE(p[0].data[11] = 1, INRF_E_FORMAT);                       /* reserved */
    IHDR_CASE(inrf_st32(p[0].data, INRF_MAX_DIM), INRF_OK);            /* the limit itself */
    memcpy(p[0].data, ihdr, 12);
    p[0].size = 11;
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    p[0].size = 12;

#define NHDR_CASE(field_code, expect)                   \
    do {                                                 \
        memcpy(p[1].data, nhdr, nhdr_n);                 \
        p[1].size = nhdr_n;                              \
        field_code;                                      \
        assert_int_equal(forged_status(p, n), expect);   \
    } while (0)
    NHDR_CASE(p[1].data[0] = 1, INRF_E_UNSUPPORTED);                     /* kind */
    NHDR_CASE(p[1].data[1] = 0, INRF_E_FORMAT);                          /* no layers */
    NHDR_CASE(p[1].data[1] = 200, INRF_E_FORMAT);                        /* absurd layers */
    NHDR_CASE(p[1].data[1] = 2, INRF_E_FORMAT);                          /* size disagrees */
    NHDR_CASE(p[1].data[2] = 1, INRF_E_UNSUPPORTED);                     /* coordinates */
    NHDR_CASE(p[1].data[3] = 2, INRF_E_UNSUPPORTED);                     /* output mapping */
    NHDR_CASE(inrf_stf32(p[1].data + 4, 0.0f), INRF_E_FORMAT);           /* w0 */
    NHDR_CASE(inrf_stf32(p[1].data + 8, NAN), INRF_E_FORMAT);
    NHDR_CASE(inrf_stf32(p[1].data + 8, -30.0f), INRF_E_FORMAT);
    NHDR_CASE(inrf_st16(p[1].data + 12, 0), INRF_E_FORMAT);              /* width 0 */
    NHDR_CASE(inrf_st16(p[1].data + 12, 1025), INRF_E_FORMAT);
    NHDR_CASE(inrf_st16(p[1].data + 12, 5), INRF_E_FORMAT);              /* WGHT no longer fits */
    NHDR_CASE(p[1].size = nhdr_n + 2, INRF_E_FORMAT);
    free_pieces(p, n);
    free(f);
}

/* Rebuilds file i with WGHT's raw payload edited by fn, then returns the
 * reader's verdict. */
static inrf_status wght_edit(unsigned i, void (*fn)(uint8_t *, size_t *), int compress)
{
    inrf_model *m;
    inrf_write_options wo;
    void *d;
    size_t size;
    assert_int_equal(golden_build(i, &m), INRF_OK);
    golden_write_options(i, &wo);
    wo.compress = 0;
    assert_int_equal(inrf_write_memory(m, &wo, &d, &size), INRF_OK);
    inrf_model_free(m);
    piece p[8];
    size_t n = split(d, size, p, 8);
    free(d);
    p[2].data = realloc(p[2].data, p[2].size + 64);
    fn(p[2].data, &p[2].size);
    if (compress) {
        size_t cap = 4 + ZSTD_compressBound(p[2].size);
        uint8_t *z = malloc(cap);
        inrf_st32(z, (uint32_t)p[2].size);
        size_t zn = ZSTD_compress(z + 4, cap - 4, p[2].data, p[2].size, 3);
        assert_false(ZSTD_isError(zn));
        free(p[2].data);
        p[2].data = z;
        p[2].size = 4 + zn;
        p[2].flags |= INRF_CHUNK_FLAG_ZSTD;
    }
    inrf_status st = forged_status(p, n);
    free_pieces(p, n);
    return st;
}

/* Layer 0 of "tiny" starts the WGHT payload: 2 -> 4, f32. Layer 0 of
 * "cifar" is f32 2 -> 15; its layer 1 (int8, pruned) starts at 8 + 180. */
static void e_nothing(uint8_t *d, size_t *n) { (void)d, (void)n; }
static void e_encoding(uint8_t *d, size_t *n) { (void)n, d[0] = 9; }
static void e_bias_enc(uint8_t *d, size_t *n) { (void)n, d[1] = 2; }
static void e_flags(uint8_t *d, size_t *n) { (void)n, d[2] = 2; }
static void e_reserved(uint8_t *d, size_t *n) { (void)n, d[3] = 1; }
static void e_nnz(uint8_t *d, size_t *n) { (void)n, inrf_st32(d + 4, 7); }
static void e_nan_weight(uint8_t *d, size_t *n) { (void)n, inrf_stf32(d + 8, NAN); }
static void e_inf_bias(uint8_t *d, size_t *n) { (void)n, inrf_stf32(d + 8 + 32, INFINITY); }
static void e_trailing(uint8_t *d, size_t *n) { d[(*n)++] = 0; }
static void e_short(uint8_t *d, size_t *n) { (void)d, (*n)--; }
static void e_cut_layer(uint8_t *d, size_t *n) { (void)d, *n = 8 + 20; }
static const size_t cifar_l1 = 8 + 4 * (30 + 15);
static void e_int8_min(uint8_t *d, size_t *n)
{
    (void)n;
    /* layer 1: header, bitmap (29 bytes), scale, then values */
    d[cifar_l1 + 8 + 29 + 4] = 0x80;
}
static void e_scale_zero(uint8_t *d, size_t *n) { (void)n, inrf_stf32(d + cifar_l1 + 8 + 29, 0.0f); }
static void e_bitmap_pad(uint8_t *d, size_t *n) { (void)n, d[cifar_l1 + 8 + 28] |= 0x80; }
static void e_bitmap_pop(uint8_t *d, size_t *n)
{
    (void)n;
    uint8_t *b = d + cifar_l1 + 8;
    for (int k = 0; k < 28; k++)
        if (b[k] != 0xff) { /* one more kept weight than nnz says */
            for (int j = 0; j < 8; j++)
                if (!(b[k] & (1 << j))) {
                    b[k] |= (uint8_t)(1 << j);
                    return;
                }
        }
}

static void test_forged_layers(void **state)
{
    (void)state;
    assert_int_equal(wght_edit(0, e_nothing, 0), INRF_OK);
    assert_int_equal(wght_edit(0, e_nothing, 1), INRF_OK);
    assert_int_equal(wght_edit(0, e_encoding, 0), INRF_E_UNSUPPORTED);
    assert_int_equal(wght_edit(0, e_bias_enc, 0), INRF_E_UNSUPPORTED);
    assert_int_equal(wght_edit(0, e_flags, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_reserved, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_nnz, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_nan_weight, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_inf_bias, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_trailing, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_short, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_cut_layer, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(0, e_trailing, 1), INRF_E_FORMAT);
    assert_int_equal(wght_edit(1, e_nothing, 0), INRF_OK);
    assert_int_equal(wght_edit(1, e_int8_min, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(1, e_scale_zero, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(1, e_bitmap_pad, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(1, e_bitmap_pop, 0), INRF_E_FORMAT);
    assert_int_equal(wght_edit(1, e_bitmap_pop, 1), INRF_E_FORMAT);
}

/* A compressed payload must be one zstd frame of exactly the raw length. */
static void test_forged_zstd(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(1, &size); /* WGHT compressed */
    piece p[8];
    size_t n = split(f, size, p, 8);
    assert_true(p[2].flags & INRF_CHUNK_FLAG_ZSTD);
    uint32_t raw = inrf_ld32(p[2].data);
    inrf_st32(p[2].data, raw + 1);
    assert_int_not_equal(forged_status(p, n), INRF_OK);
    inrf_st32(p[2].data, raw - 1);
    assert_int_not_equal(forged_status(p, n), INRF_OK);
    inrf_st32(p[2].data, 0xffffffffu);                   /* zstd bomb announcement */
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    inrf_st32(p[2].data, raw);
    assert_int_equal(forged_status(p, n), INRF_OK);
    /* two frames */
    size_t one = p[2].size - 4;
    p[2].data = realloc(p[2].data, 4 + 2 * one);
    memcpy(p[2].data + 4 + one, p[2].data + 4, one);
    p[2].size = 4 + 2 * one;
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    p[2].size = 3;
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    /* garbage frame */
    p[2].size = 4 + one;
    memset(p[2].data + 4, 0x5a, one);
    assert_int_not_equal(forged_status(p, n), INRF_OK);
    free_pieces(p, n);
    free(f);
}

static void test_limits(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(3, &size); /* 64x48, 10 x 40 */
    inrf_read_options ro;
    inrf_model *m = NULL;
    inrf_read_options_init(&ro);
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_OK);
    inrf_model_free(m);
    ro.max_layers = 9;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_LIMIT);
    inrf_read_options_init(&ro);
    ro.max_width = 32;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_LIMIT);
    inrf_read_options_init(&ro);
    ro.max_dim = 63;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_LIMIT);
    inrf_read_options_init(&ro);
    ro.max_params = 10000;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_LIMIT);
    inrf_read_options_init(&ro);
    ro.max_file_bytes = size - 1;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_LIMIT);
    assert_null(m);
    /* options from another ABI are refused */
    inrf_read_options_init(&ro);
    ro.abi = 0;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_INVALID_ARG);
    /* default limits refuse the spec's largest network (64 x 1024 wide)
     * from its headers alone */
    piece p[8];
    size_t n = split(f, size, p, 8);
    uint8_t big[12 + 128];
    memcpy(big, p[1].data, 12);
    big[1] = 64;
    for (int l = 0; l < 64; l++)
        inrf_st16(big + 12 + 2 * l, 1024);
    free(p[1].data);
    p[1].data = big;
    p[1].size = sizeof big;
    assert_int_equal(forged_status(p, n), INRF_E_LIMIT);
    p[1].data = NULL;
    free_pieces(p, n);
    free(f);
    assert_int_equal(inrf_read_memory(NULL, 0, NULL, &m), INRF_E_TRUNCATED);
    assert_int_equal(inrf_read_memory("hello, world, not a file", 24, NULL, &m), INRF_E_NOT_INRF);
    assert_int_equal(inrf_read_memory("x", 1, NULL, NULL), INRF_E_INVALID_ARG);
}

/* ------------------------------------------------- quantisation, pruning */

static void test_quantise(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_model *m, *orig;
    inrf_arch_siren(&a, 16, 16, 3, 3, 20);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 5);
    assert_int_equal(inrf_model_clone(m, &orig), INRF_OK);
    /* spec: |w - q s| <= s / 2, s = max|w| / 127 */
    assert_int_equal(inrf_layer_encode(m, 1, INRF_ENC_INT8, INRF_ENC_F32), INRF_OK);
    assert_int_equal(inrf_layer_encode(m, 2, INRF_ENC_INT8_ROW, INRF_ENC_F16), INRF_OK);
    assert_int_equal(inrf_layer_encode(m, 3, INRF_ENC_F16, INRF_ENC_F32), INRF_OK);
    const inrf_layer *L1 = &m->layer[1], *O1 = &orig->layer[1];
    float amax = 0;
    for (int k = 0; k < 400; k++)
        amax = fmaxf(amax, fabsf(O1->w[k]));
    assert_true(fabsf(L1->scale[0] - amax / 127) <= 1e-9f);
    for (int k = 0; k < 400; k++) {
        assert_true(fabsf(L1->w[k] - O1->w[k]) <= L1->scale[0] / 2 * 1.0001f);
        assert_true(L1->w[k] == (float)L1->q[k] * L1->scale[0]);
        assert_true(L1->q[k] >= -127 && L1->q[k] <= 127);
    }
    const inrf_layer *L2 = &m->layer[2], *O2 = &orig->layer[2];
    for (int r = 0; r < 20; r++)
        for (int c = 0; c < 20; c++)
            assert_true(fabsf(L2->w[r * 20 + c] - O2->w[r * 20 + c]) <= L2->scale[r] / 2 * 1.0001f);
    for (int j = 0; j < 20; j++)
        assert_true(fabsf(L2->b[j] - O2->b[j]) <= fabsf(O2->b[j]) * ldexpf(1, -11));
    const inrf_layer *L3 = &m->layer[3], *O3 = &orig->layer[3];
    for (int k = 0; k < 60; k++)
        assert_true(fabsf(L3->w[k] - O3->w[k]) <= fabsf(O3->w[k]) * ldexpf(1, -11) + 1e-7f);
    /* the int8 layer is 1 byte a weight plus a scale */
    assert_int_equal(inrf_layer_bytes(L1), 8 + 4 + 400 + 20 * 4);
    assert_int_equal(inrf_layer_bytes(L2), 8 + 20 * 4 + 400 + 20 * 2);
    assert_int_equal(inrf_layer_encode(m, 9, INRF_ENC_INT8, INRF_ENC_F32), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_layer_encode(m, 1, (inrf_encoding)7, INRF_ENC_F32), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_layer_encode(m, 1, INRF_ENC_F32, INRF_ENC_INT8), INRF_E_INVALID_ARG);
    inrf_model_free(m);
    inrf_model_free(orig);
}

static void test_prune(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_model *m, *r;
    inrf_arch_siren(&a, 16, 16, 3, 2, 10);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 9);
    assert_int_equal(inrf_layer_encode(m, 1, INRF_ENC_INT8, INRF_ENC_F32), INRF_OK);
    /* keep every third weight of layer 1 (100 weights) */
    uint8_t mask[13] = {0};
    for (int k = 0; k < 100; k += 3)
        mask[k >> 3] |= (uint8_t)(1 << (k & 7));
    mask[12] |= 0xf0; /* padding bits: the model clears them */
    assert_int_equal(inrf_layer_set_mask(m, 1, mask), INRF_OK);
    assert_int_equal(m->layer[1].nnz, 34);
    assert_int_equal(m->layer[1].mask[12] >> 4, 0);
    for (int k = 0; k < 100; k++)
        assert_true((k % 3 == 0) || (m->layer[1].w[k] == 0.0f && m->layer[1].q[k] == 0));
    assert_int_equal(inrf_layer_bytes(&m->layer[1]), 8 + 13 + 4 + 34 + 40);
    void *d;
    size_t n;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    assert_models_equal(m, r);
    inrf_model_free(r);
    free(d);
    /* removing the mask keeps the zeros but stores them */
    assert_int_equal(inrf_layer_set_mask(m, 1, NULL), INRF_OK);
    assert_int_equal(m->layer[1].nnz, 100);
    assert_null(m->layer[1].mask);
    inrf_model_free(m);
}

static void test_writer_refuses_bad_models(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_model *m;
    void *d;
    size_t n;
    inrf_arch_siren(&a, 16, 16, 3, 2, 10);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 1);
    m->layer[0].w[3] = NAN;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_E_INVALID_ARG);
    m->layer[0].w[3] = 0.5f;
    m->layer[1].nnz = 3;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_E_INVALID_ARG);
    m->layer[1].nnz = 100;
    m->arch.channels = 2;
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_E_FORMAT);
    m->arch.channels = 3;
    inrf_write_options wo;
    inrf_write_options_init(&wo);
    wo.zstd_level = 99;
    assert_int_equal(inrf_write_memory(m, &wo, &d, &n), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_write_memory(m, NULL, &d, &n), INRF_OK);
    free(d);
    inrf_model_free(m);
    /* architectures outside the spec cannot be created */
    inrf_arch_siren(&a, 0, 16, 3, 2, 10);
    assert_int_equal(inrf_model_create(&a, &m), INRF_E_FORMAT);
    inrf_arch_siren(&a, 16, 16, 3, 0, 10);
    assert_int_equal(inrf_model_create(&a, &m), INRF_E_FORMAT);
    inrf_arch_siren(&a, 16, 16, 3, 2, 2000);
    assert_int_equal(inrf_model_create(&a, &m), INRF_E_FORMAT);
}

/* ------------------------------------------------------------ atomic I/O */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_atomic_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/inrf-test-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    inrf_model *m, *r;
    assert_int_equal(golden_build(1, &m), INRF_OK);
    snprintf(path, sizeof path, "%s/out.inrf", dir);
    assert_int_equal(inrf_write_file(m, NULL, path), INRF_OK);
    assert_int_equal(count_entries(dir), 1); /* no temporary left */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_mode & S_IRGRP || (sb.st_mode & 0777) == 0600); /* umask honoured */
    assert_int_equal(inrf_read_file(path, NULL, &r), INRF_OK);
    assert_models_equal(m, r);
    inrf_model_free(r);
    /* overwrite keeps one file */
    assert_int_equal(inrf_write_file(m, NULL, path), INRF_OK);
    assert_int_equal(count_entries(dir), 1);
    /* an unwritable place fails cleanly */
    snprintf(path, sizeof path, "%s/missing/out.inrf", dir);
    assert_int_equal(inrf_write_file(m, NULL, path), INRF_E_IO);
    assert_non_null(strstr(inrf_last_error(), "missing"));
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(inrf_read_file(path, NULL, &r), INRF_E_IO);
    assert_int_equal(inrf_read_file(dir, NULL, &r), INRF_E_IO); /* a directory */
    snprintf(path, sizeof path, "%s/out.inrf", dir);
    unlink(path);
    rmdir(dir);
    inrf_model_free(m);
}

/* ------------------------------------------------ hardening (issue 11) */

/* Rebuilds file i with WGHT's raw payload edited by fn; returns the
 * reader's verdict, and its message in msg. */
static inrf_status wght_edit_msg(unsigned i, void (*fn)(uint8_t *, size_t *), char msg[512])
{
    inrf_status st = wght_edit(i, fn, 0);
    snprintf(msg, 512, "%s", inrf_last_error());
    return st;
}

/* Layer 0 of "grey" (2 -> 12): f16 weights at 8, f16 biases at 8 + 48;
 * layer 1 (12 -> 12, int8 per row, f16 biases) starts at 80, its biases at
 * 80 + 8 + 48 + 144. */
static void e_f16_inf(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 8 + 2 * 5, 0x7c00); }
static void e_f16_ninf(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 8 + 2 * 5, 0xfc00); }
static void e_f16_nan(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 8 + 2 * 5, 0x7e01); }
static void e_f16_max(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 8 + 2 * 5, 0xfbff); }
static void e_f16_sub(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 8 + 2 * 5, 0x0001); }
static void e_f16_bias(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 56 + 2 * 3, 0x7c00); }
static void e_f16_bias1(uint8_t *d, size_t *n) { (void)n, inrf_st16(d + 280 + 2 * 11, 0xffff); }

/* spec "Layer record": f16 values with exponent 31 (Inf, NaN) are
 * rejected, naming the layer, the array and the index; the largest finite
 * and the smallest subnormal values are accepted. */
static void test_f16_not_finite(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(wght_edit_msg(2, e_nothing, msg), INRF_OK);
    assert_int_equal(wght_edit_msg(2, e_f16_inf, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 0: weight 5 (f16 0x7c00)"));
    assert_int_equal(wght_edit_msg(2, e_f16_ninf, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "layer 0: weight 5"));
    assert_int_equal(wght_edit_msg(2, e_f16_nan, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "layer 0: weight 5"));
    assert_int_equal(wght_edit_msg(2, e_f16_bias, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 0: bias 3"));
    assert_int_equal(wght_edit_msg(2, e_f16_bias1, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 1: bias 11"));
    assert_int_equal(wght_edit_msg(2, e_f16_max, msg), INRF_OK);
    assert_int_equal(wght_edit_msg(2, e_f16_sub, msg), INRF_OK);
    /* the same inside a compressed chunk */
    assert_int_equal(wght_edit(2, e_f16_nan, 1), INRF_E_FORMAT);
}

/* spec "Chunk order": qual at most once, wherever the copies are. */
static void test_two_qual(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(0, &size); /* IHDR NHDR WGHT qual */
    piece p[8], q[8];
    size_t n = split(f, size, p, 8);
    assert_int_equal(n, 4);
    memcpy(q, p, sizeof p);
    q[4] = p[3];
    assert_int_equal(forged_status(q, 5), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "second qual chunk"));
    q[0] = p[0], q[1] = p[3], q[2] = p[1], q[3] = p[2], q[4] = p[3];
    assert_int_equal(forged_status(q, 5), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "second qual chunk"));
    /* one qual, anywhere after IHDR, is fine */
    q[0] = p[0], q[1] = p[3], q[2] = p[1], q[3] = p[2];
    assert_int_equal(forged_status(q, 4), INRF_OK);
    free_pieces(p, n);
    free(f);
}

/* The writer refuses what the reader's default limits refuse: a network of
 * 5 x 1024 (4,204,547 parameters > 2^22), as a file and as a pack record;
 * 4 x 1024 (3,154,947) is written and read back. */
static void test_writer_enforces_reader_limits(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_model *m, *r;
    void *d;
    size_t n;
    inrf_write_options wo;
    inrf_write_options_init(&wo);
    wo.compress = 0;
    inrf_arch_siren(&a, 16, 16, 3, 5, 1024);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 3);
    assert_int_equal(inrf_write_memory(m, &wo, &d, &n), INRF_E_LIMIT);
    assert_non_null(strstr(inrf_last_error(), "4204547 parameters"));
    assert_non_null(strstr(inrf_last_error(), "4194304 (max_params)"));
    assert_int_equal(inrf_model_record(m, &d, &n), INRF_E_LIMIT);
    inrf_model_free(m);
    inrf_arch_siren(&a, 16, 16, 3, 4, 1024);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 3);
    assert_int_equal(inrf_write_memory(m, &wo, &d, &n), INRF_OK);
    assert_int_equal(inrf_read_memory(d, n, NULL, &r), INRF_OK);
    inrf_model_free(r);
    free(d);
    inrf_model_free(m);
}

/* A compressed chunk whose frame holds another size than raw_length says
 * both sizes, with or without a content size in the frame header. */
static void test_zstd_size_message(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(0, &size); /* tiny: WGHT of 124 bytes, stored */
    piece p[8];
    size_t n = split(f, size, p, 8);
    const uint8_t *raw = f + INRF_FILE_HEADER_SIZE + 2 * INRF_CHUNK_OVERHEAD + INRF_IHDR_SIZE +
                         p[1].size + INRF_CHUNK_HEADER_SIZE;
    size_t raw_n = p[2].size;
    assert_int_equal(raw_n, 124);
    char want[200];
    for (int with_size = 0; with_size <= 1; with_size++) {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, with_size);
        size_t cap = 4 + ZSTD_compressBound(raw_n);
        uint8_t *z = malloc(cap);
        size_t zn = ZSTD_compress2(cc, z + 4, cap - 4, raw, raw_n);
        assert_false(ZSTD_isError(zn));
        ZSTD_freeCCtx(cc);
        piece q[8];
        memcpy(q, p, sizeof q);
        q[2].data = z;
        q[2].size = 4 + zn;
        q[2].flags = INRF_CHUNK_FLAG_ZSTD;
        inrf_st32(z, (uint32_t)raw_n);
        assert_int_equal(forged_status(q, n), INRF_OK);
        inrf_st32(z, (uint32_t)raw_n + 1);
        assert_int_equal(forged_status(q, n), INRF_E_FORMAT);
        snprintf(want, sizeof want, "WGHT: zstd frame holds %zu bytes, the chunk declares %zu",
                 raw_n, raw_n + 1);
        assert_non_null(strstr(inrf_last_error(), want));
        inrf_st32(z, (uint32_t)raw_n - 1);
        assert_int_equal(forged_status(q, n), INRF_E_FORMAT);
        snprintf(want, sizeof want, "WGHT: zstd frame holds %zu bytes, the chunk declares %zu",
                 raw_n, raw_n - 1);
        assert_non_null(strstr(inrf_last_error(), want));
        inrf_st32(z, (uint32_t)raw_n - 10);
        assert_int_equal(forged_status(q, n), INRF_E_FORMAT);
        if (with_size) /* known from the frame header, before decompressing */
            snprintf(want, sizeof want, "WGHT: zstd frame holds %zu bytes, the chunk declares %zu",
                     raw_n, raw_n - 10);
        else
            snprintf(want, sizeof want,
                     "WGHT: zstd frame holds more than %zu bytes, the chunk declares %zu",
                     raw_n - 10, raw_n - 10);
        assert_non_null(strstr(inrf_last_error(), want));
        free(z);
    }
    free_pieces(p, n);
    free(f);
}

/* Rewrites the header's length field (check recomputed). */
static void set_length(uint8_t *f, uint32_t length)
{
    inrf_st32(f + 12, length);
    inrf_st32(f + 16, (uint32_t)XXH3_64bits(f, 16));
}

/* spec "Length", "Limits", "Error handling": length above 2^31 is
 * malformed, above the reader limit a limit, both before the file's size
 * is compared with it; a file larger than the limit but with a length
 * within it has bytes after its end. */
static void test_header_length(void **state)
{
    (void)state;
    size_t size;
    uint8_t *f = build_file(0, &size);
    set_length(f, 0x80000001u);
    assert_int_equal(read_status(f, size), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "file header: length 2147483649"));
    set_length(f, 100u << 20);
    assert_int_equal(read_status(f, size), INRF_E_LIMIT);
    assert_non_null(strstr(inrf_last_error(), "max_file_bytes"));
    inrf_read_options ro;
    inrf_read_options_init(&ro);
    ro.max_file_bytes = (size_t)1 << 40; /* looser than the spec: the spec limit holds */
    inrf_model *m = NULL;
    set_length(f, 0x80000001u);
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_E_FORMAT);
    set_length(f, (uint32_t)size);
    ro.max_file_bytes = size;
    assert_int_equal(inrf_read_memory(f, size, &ro, &m), INRF_OK);
    inrf_model_free(m);
    uint8_t *g = calloc(1, size + 8);
    memcpy(g, f, size);
    ro.max_file_bytes = size + 4;
    assert_int_equal(inrf_read_memory(g, size + 8, &ro, &m), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "8 more bytes"));
    free(g);
    free(f);
}

/* The chunk walk of a file with reserved header flags set lists its
 * chunks from the verified length (it read an unset length before). */
static void test_scan_header_flags(void **state)
{
    (void)state;
    size_t size, count = 99;
    uint8_t *f = build_file(1, &size);
    f[10] = 1;
    inrf_st32(f + 16, (uint32_t)XXH3_64bits(f, 16));
    inrf_chunk_info ci[8];
    assert_int_equal(inrf_scan_memory(f, size, ci, 8, &count), INRF_E_FORMAT);
    assert_int_equal(count, 4);
    assert_string_equal(ci[3].type, "qual");
    assert_non_null(strstr(inrf_last_error(), "reserved flags"));
    free(f);
}

/* inrf_read_file's messages name the file, once. */
static void test_read_file_names_path(void **state)
{
    (void)state;
    char path[] = "/tmp/inrf-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    size_t size;
    uint8_t *f = build_file(0, &size);
    f[size - 1] ^= 1; /* qual's checksum */
    assert_int_equal(inrf_file_write_atomic(path, f, size), INRF_OK);
    inrf_model *m;
    assert_int_equal(inrf_read_file(path, NULL, &m), INRF_E_CHECKSUM);
    const char *msg = inrf_last_error();
    assert_int_equal(strncmp(msg, path, strlen(path)), 0);
    assert_non_null(strstr(msg, ": chunk qual"));
    assert_null(strstr(msg + 1, path));
    unlink(path);
    assert_int_equal(inrf_read_file(path, NULL, &m), INRF_E_IO);
    assert_null(strstr(inrf_last_error() + 1, path)); /* the I/O message has it once too */
    free(f);
}

/* Messages name the field and the value. */
static void test_field_messages(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(wght_edit_msg(0, e_flags, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 0: flags 0x02"));
    assert_int_equal(wght_edit_msg(0, e_reserved, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 0: reserved byte 1"));
    assert_int_equal(wght_edit_msg(0, e_nnz, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 0: nnz 7"));
    assert_int_equal(wght_edit_msg(1, e_int8_min, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 1: weight"));
    assert_non_null(strstr(msg, "-128"));
    size_t size;
    uint8_t *f = build_file(0, &size);
    piece p[8];
    size_t n = split(f, size, p, 8);
    inrf_stf32(p[3].data, INFINITY);
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "qual: PSNR inf"));
    p[3].size = 5;
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "qual: 5 bytes"));
    p[3].size = 4;
    inrf_stf32(p[3].data, 42.5f);
    inrf_stf32(p[1].data + 8, -1.0f);
    assert_int_equal(forged_status(p, n), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "NHDR: omega_hidden -1"));
    free_pieces(p, n);
    free(f);
}

/* spec "Layer record", Scales: a finite scale whose dequantised weights
 * overflow binary32 is refused, and the message says so. */
static void e_scale_huge(uint8_t *d, size_t *n) { (void)n, inrf_stf32(d + cifar_l1 + 8 + 29, 3e37f); }
static void test_int8_overflow(void **state)
{
    (void)state;
    char msg[512];
    assert_int_equal(wght_edit_msg(1, e_scale_huge, msg), INRF_E_FORMAT);
    assert_non_null(strstr(msg, "WGHT: layer 1: weight"));
    assert_non_null(strstr(msg, "int8 times its scale overflows"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_golden_files),
        cmocka_unit_test(test_every_byte_flip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_forged_structure),
        cmocka_unit_test(test_forged_headers),
        cmocka_unit_test(test_forged_layers),
        cmocka_unit_test(test_forged_zstd),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_quantise),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_writer_refuses_bad_models),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_f16_not_finite),
        cmocka_unit_test(test_two_qual),
        cmocka_unit_test(test_writer_enforces_reader_limits),
        cmocka_unit_test(test_zstd_size_message),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_scan_header_flags),
        cmocka_unit_test(test_read_file_names_path),
        cmocka_unit_test(test_field_messages),
        cmocka_unit_test(test_int8_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
