/* test_pack.c: .inrpack writing, reading and validation (spec/inrpack.md):
 * round trips, ordering, every corruption of the header and directory,
 * bad records named, forged packs, and the batch decoder against inrf_decode. */
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

#include "../libinrf/bytes.h"
#include "../libinrf/format.h"
#include "golden.h"
#include "threads.h"

static const char *const names3[] = {"cat", "dog", "bird"};

/* A pack of n images cycling through golden models 0, 1, 3 (three
 * architectures, RGB), labels i % 3, seq 10 * i + 1, added in reverse
 * order so that the writer must sort. */
static uint8_t *make_pack(unsigned n, size_t *size)
{
    static const unsigned models[] = {0, 1, 3};
    inrf_pack_writer *w;
    assert_int_equal(inrf_pack_writer_create(names3, 3, &w), INRF_OK);
    for (unsigned k = n; k-- > 0;) {
        inrf_model *m;
        assert_int_equal(golden_build(models[k % 3], &m), INRF_OK);
        m->psnr = 30.0f + (float)k;
        assert_int_equal(inrf_pack_writer_add_model(w, m, k % 3, 10 * k + 1), INRF_OK);
        inrf_model_free(m);
    }
    assert_int_equal(inrf_pack_writer_count(w), n);
    void *data;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &data, size), INRF_OK);
    inrf_pack_writer_free(w);
    return data;
}

static inrf_pack *open_ok(const uint8_t *d, size_t size)
{
    inrf_pack *p = NULL;
    inrf_status st = inrf_pack_open_memory(d, size, NULL, &p);
    if (st != INRF_OK)
        fprintf(stderr, "open: %s\n", inrf_last_error());
    assert_int_equal(st, INRF_OK);
    return p;
}

/* Recomputes the header and directory checksums after an edit. */
static void reseal(uint8_t *d)
{
    uint64_t records = inrf_ld64(d + 40);
    inrf_st64(d + 48, XXH3_64bits(d + INRP_HEADER_SIZE, records - INRP_HEADER_SIZE));
    inrf_st64(d + 56, XXH3_64bits(d, 56));
}

static void test_round_trip(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(7, &size);
    assert_int_equal(size % 64, 0);
    inrf_pack *p = open_ok(d, size);
    assert_int_equal(inrf_pack_count(p), 7);
    assert_int_equal(inrf_pack_classes(p), 3);
    assert_int_equal(inrf_pack_archs(p), 3);
    assert_int_equal(inrf_pack_channels(p), 3);
    for (unsigned c = 0; c < 3; c++)
        assert_string_equal(inrf_pack_class_name(p, c), names3[c]);
    assert_null(inrf_pack_class_name(p, 3));
    assert_null(inrf_pack_get(p, 7));
    size_t bytes_n;
    assert_ptr_equal(inrf_pack_bytes(p, &bytes_n), d);
    assert_int_equal(bytes_n, size);
    static const unsigned models[] = {0, 1, 3};
    for (unsigned i = 0; i < 7; i++) {
        const inrf_pack_item *it = inrf_pack_get(p, i);
        assert_non_null(it);
        assert_int_equal(it->seq, 10 * i + 1); /* sorted by seq */
        assert_int_equal(it->label, i % 3);
        assert_int_equal(it->offset % 64, 0);
        assert_true(it->psnr == 30.0f + (float)i);
        inrf_model *want, *got;
        assert_int_equal(golden_build(models[i % 3], &want), INRF_OK);
        assert_int_equal(it->width, want->arch.width);
        assert_int_equal(it->height, want->arch.height);
        /* the record is the model's WGHT payload, byte for byte */
        void *rec;
        size_t rec_n;
        assert_int_equal(inrf_model_record(want, &rec, &rec_n), INRF_OK);
        assert_int_equal(rec_n, it->size);
        assert_memory_equal(rec, it->record, rec_n);
        assert_int_equal(it->checksum, XXH3_64bits(rec, rec_n));
        free(rec);
        assert_int_equal(inrf_pack_model(p, i, &got), INRF_OK);
        assert_memory_equal(&got->arch, &want->arch, sizeof got->arch);
        for (unsigned l = 0; l <= want->arch.layers; l++)
            assert_memory_equal(got->layer[l].w, want->layer[l].w,
                                (size_t)want->layer[l].in * want->layer[l].out * sizeof(float));
        inrf_model_free(got);
        inrf_model_free(want);
    }
    const inrf_arch *a = inrf_pack_arch(p, inrf_pack_get(p, 2)->arch);
    assert_int_equal(a->layers, 10);
    assert_int_equal(a->hidden[0], 40);
    assert_int_equal(a->width, 0);
    size_t nbad = 99;
    assert_int_equal(inrf_pack_verify(p, NULL, 0, &nbad), INRF_OK);
    assert_int_equal(nbad, 0);
    inrf_pack_close(p);

    /* the same through a file: mapped, and written atomically */
    char path[] = "test_pack_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    inrf_pack_writer *w;
    assert_int_equal(inrf_pack_writer_create(names3, 3, &w), INRF_OK);
    inrf_model *m;
    assert_int_equal(golden_build(1, &m), INRF_OK);
    assert_int_equal(inrf_pack_writer_add_model(w, m, 2, 5), INRF_OK);
    assert_int_equal(inrf_pack_writer_finish(w, path), INRF_OK);
    inrf_pack_writer_free(w);
    inrf_model_free(m);
    assert_int_equal(inrf_pack_open(path, NULL, &p), INRF_OK);
    assert_int_equal(inrf_pack_count(p), 1);
    assert_int_equal(inrf_pack_get(p, 0)->label, 2);
    inrf_pack_close(p);
    unlink(path);
    free(d);
}

/* The bytes depend on the images, not on the order they were added in
 * (architectures included): what makes shards merge into a single run. */
static void test_order_independent(void **state)
{
    (void)state;
    static const unsigned models[] = {3, 0, 1, 3};
    void *d[2];
    size_t size[2];
    for (int pass = 0; pass < 2; pass++) {
        inrf_pack_writer *w;
        assert_int_equal(inrf_pack_writer_create(names3, 3, &w), INRF_OK);
        for (unsigned k = 0; k < 4; k++) {
            unsigned i = pass ? 3 - k : k;
            inrf_model *m;
            assert_int_equal(golden_build(models[i], &m), INRF_OK);
            assert_int_equal(inrf_pack_writer_add_model(w, m, i % 3, i), INRF_OK);
            inrf_model_free(m);
        }
        assert_int_equal(inrf_pack_writer_finish_memory(w, &d[pass], &size[pass]), INRF_OK);
        inrf_pack_writer_free(w);
    }
    assert_int_equal(size[0], size[1]);
    assert_memory_equal(d[0], d[1], size[0]);
    inrf_pack *p = open_ok(d[0], size[0]);
    assert_int_equal(inrf_pack_get(p, 0)->arch, 0); /* first use order */
    assert_int_equal(inrf_pack_arch(p, 0)->layers, 10);
    inrf_pack_close(p);
    free(d[0]);
    free(d[1]);
}

/* tests/golden/tiny.inrpack (the worked example of spec/inrpack.md): the
 * golden tiny model, label 1 of classes "cat" and "dog", seq 0, stored
 * PSNR 30.5. It still opens, and this writer makes it byte for byte
 * (INRF_GOLDEN_REGEN=1 rewrites it after a deliberate format change). */
static void test_golden_pack(void **state)
{
    (void)state;
    static const char *const names[] = {"cat", "dog"};
    inrf_pack_writer *w;
    inrf_model *m;
    assert_int_equal(inrf_pack_writer_create(names, 2, &w), INRF_OK);
    assert_int_equal(golden_build(0, &m), INRF_OK);
    m->psnr = 30.5f;
    assert_int_equal(inrf_pack_writer_add_model(w, m, 1, 0), INRF_OK);
    void *built;
    size_t built_n, size;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &built, &built_n), INRF_OK);
    inrf_pack_writer_free(w);
    inrf_model_free(m);
    char path[4096];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/tests/golden/tiny.inrpack", top ? top : ".");
    if (getenv("INRF_GOLDEN_REGEN"))
        assert_int_equal(inrf_file_write_atomic(path, built, built_n), INRF_OK);
    uint8_t *f = golden_slurp(path, &size);
    if (!f) {
        free(built);
        skip();
    }
    assert_int_equal(size, built_n);
    assert_memory_equal(f, built, size);
    inrf_pack *p = open_ok(f, size);
    assert_int_equal(inrf_pack_get(p, 0)->label, 1);
    inrf_pack_close(p);
    free(f);
    free(built);
}

static void test_empty_pack(void **state)
{
    (void)state;
    inrf_pack_writer *w;
    assert_int_equal(inrf_pack_writer_create(names3, 1, &w), INRF_OK);
    void *d;
    size_t size;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &d, &size), INRF_OK);
    inrf_pack_writer_free(w);
    inrf_pack *p = open_ok(d, size);
    assert_int_equal(inrf_pack_count(p), 0);
    assert_int_equal(inrf_pack_classes(p), 1);
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = 4;
    assert_int_equal(inrf_pack_decode_batch(p, NULL, 0, NULL, &o, NULL), INRF_OK);
    inrf_pack_close(p);
    free(d);
}

/* An empty grey shard says it is grey; the channel count binds the
 * images added after it. */
static void test_empty_pack_channels(void **state)
{
    (void)state;
    inrf_pack_writer *w;
    assert_int_equal(inrf_pack_writer_create(names3, 3, &w), INRF_OK);
    assert_int_equal(inrf_pack_writer_set_channels(w, 2), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_pack_writer_set_channels(w, 1), INRF_OK);
    void *d;
    size_t size;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &d, &size), INRF_OK);
    inrf_pack *p = open_ok(d, size);
    assert_int_equal(inrf_pack_count(p), 0);
    assert_int_equal(inrf_pack_channels(p), 1);
    inrf_pack_close(p);
    free(d);
    inrf_model *rgb, *grey;
    assert_int_equal(golden_build(1, &rgb), INRF_OK);
    assert_int_equal(golden_build(2, &grey), INRF_OK);
    assert_int_equal(inrf_pack_writer_add_model(w, rgb, 0, 0), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_pack_writer_add_model(w, grey, 0, 0), INRF_OK);
    assert_int_equal(inrf_pack_writer_set_channels(w, 1), INRF_E_INVALID_ARG); /* too late */
    inrf_model_free(rgb);
    inrf_model_free(grey);
    inrf_pack_writer_free(w);
}

static void test_writer_refuses(void **state)
{
    (void)state;
    inrf_pack_writer *w;
    const char *dup[] = {"a", "b", "a"};
    assert_int_equal(inrf_pack_writer_create(dup, 3, &w), INRF_E_INVALID_ARG);
    const char *bad[][1] = {{""},     {"."},          {".."},          {"a/b"},
                            {"a\\b"}, {"tab\there"}, {"\xff"},        {"nel\xc2\x85"},
                            {"\xc0\xaf"}, /* overlong '/' */ {"\xed\xa0\x80"} /* surrogate */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(inrf_pack_writer_create(bad[i], 1, &w), INRF_E_INVALID_ARG);
    char longname[300];
    memset(longname, 'x', sizeof longname);
    longname[256] = 0;
    const char *lng[] = {longname};
    assert_int_equal(inrf_pack_writer_create(lng, 1, &w), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_pack_writer_create(names3, 0, &w), INRF_E_INVALID_ARG);
    const char *good[] = {"caf\xc3\xa9", "n02102040 English springer", "\xf0\x9f\x90\x88"};
    assert_int_equal(inrf_pack_writer_create(good, 3, &w), INRF_OK);
    inrf_pack_writer_free(w);

    assert_int_equal(inrf_pack_writer_create(names3, 3, &w), INRF_OK);
    inrf_model *m, *grey;
    assert_int_equal(golden_build(1, &m), INRF_OK);
    assert_int_equal(golden_build(2, &grey), INRF_OK);
    assert_int_equal(inrf_pack_writer_add_model(w, m, 3, 0), INRF_E_INVALID_ARG); /* label */
    assert_int_equal(inrf_pack_writer_add_model(w, m, 0, 7), INRF_OK);
    /* one channel count a pack */
    assert_int_equal(inrf_pack_writer_add_model(w, grey, 0, 8), INRF_E_INVALID_ARG);
    /* a record that does not fit its architecture */
    void *rec;
    size_t n;
    assert_int_equal(inrf_model_record(m, &rec, &n), INRF_OK);
    assert_int_equal(inrf_pack_writer_add_record(w, &m->arch, rec, n - 1, 0, 9, NAN),
                     INRF_E_FORMAT);
    assert_int_equal(inrf_pack_writer_add_record(w, &m->arch, rec, n, 1, 9, NAN), INRF_OK);
    free(rec);
    /* two images with one seq */
    assert_int_equal(inrf_pack_writer_add_model(w, m, 0, 7), INRF_OK);
    void *d;
    size_t size;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &d, &size), INRF_E_INVALID_ARG);
    assert_non_null(strstr(inrf_last_error(), "seq 7"));
    inrf_pack_writer_free(w);
    inrf_model_free(m);
    inrf_model_free(grey);
}

/* Every byte of the header and directory, flipped four ways: never opens. */
static void test_directory_flips(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(4, &size);
    uint64_t records = inrf_ld64(d + 40);
    static const uint8_t masks[] = {0x01, 0x80, 0x10, 0xff};
    for (uint64_t i = 0; i < records; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            d[i] ^= masks[k];
            inrf_pack *p = NULL;
            inrf_status st = inrf_pack_open_memory(d, size, NULL, &p);
            if (st == INRF_OK)
                fprintf(stderr, "byte %llu ^ 0x%02x accepted\n", (unsigned long long)i, masks[k]);
            assert_int_not_equal(st, INRF_OK);
            assert_null(p);
            d[i] ^= masks[k];
        }
    free(d);
}

/* Every truncation, and bytes appended: refused. */
static void test_truncations(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(3, &size);
    for (size_t n = 0; n < size; n++) {
        inrf_pack *p = NULL;
        inrf_status st = inrf_pack_open_memory(d, n, NULL, &p);
        assert_int_equal(st, INRF_E_TRUNCATED);
        assert_null(p);
    }
    uint8_t *longer = calloc(1, size + 64);
    memcpy(longer, d, size);
    inrf_pack *p = NULL;
    assert_int_equal(inrf_pack_open_memory(longer, size + 64, NULL, &p), INRF_E_FORMAT);
    free(longer);
    free(d);
}

/* A damaged record: open (which verifies) names it; opened without
 * verification, inrf_pack_verify lists exactly the bad records. */
static void test_bad_records_named(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(6, &size);
    inrf_pack *p = open_ok(d, size);
    uint64_t off2 = inrf_pack_get(p, 2)->offset, off4 = inrf_pack_get(p, 4)->offset;
    uint64_t end5 = inrf_pack_get(p, 5)->offset + inrf_pack_get(p, 5)->size;
    inrf_pack_close(p);
    d[off2 + 9] ^= 0x40;
    d[off4] ^= 0x01;
    p = NULL;
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_CHECKSUM);
    assert_non_null(strstr(inrf_last_error(), "record 2 (class bird"));
    inrf_pack_options o;
    inrf_pack_options_init(&o);
    o.verify_records = 0;
    assert_int_equal(inrf_pack_open_memory(d, size, &o, &p), INRF_OK);
    uint32_t bad[8];
    size_t nbad = 0;
    assert_int_equal(inrf_pack_verify(p, bad, 8, &nbad), INRF_E_CHECKSUM);
    assert_int_equal(nbad, 2);
    assert_int_equal(bad[0], 2);
    assert_int_equal(bad[1], 4);
    inrf_model *m;
    assert_int_equal(inrf_pack_model(p, 4, &m), INRF_E_CHECKSUM);
    /* nor does the batch decoder decode a record that fails its checksum */
    inrf_batch_options bo;
    inrf_batch_options_init(&bo);
    bo.width = bo.height = 2;
    uint32_t which[2] = {3, 4};
    float px[2 * 2 * 2 * 3];
    assert_int_equal(inrf_pack_decode_batch(p, which, 2, NULL, &bo, px), INRF_E_CHECKSUM);
    assert_non_null(strstr(inrf_last_error(), "sample 1: record 4"));
    assert_int_equal(inrf_pack_decode_batch(p, which, 1, NULL, &bo, px), INRF_OK);
    assert_int_equal(inrf_pack_model(p, 3, &m), INRF_OK);
    inrf_model_free(m);
    inrf_pack_close(p);
    d[off2 + 9] ^= 0x40;
    d[off4] ^= 0x01;
    /* padding after a record must be zero */
    if (end5 % 64) {
        d[end5] = 1;
        assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
        d[end5] = 0;
    }
    free(d);
}

typedef void (*forge_fn)(uint8_t *d);
static void forge_label(uint8_t *d) { inrf_st32(d + inrf_ld64(d + 32) + 20, 3); }
static void forge_arch(uint8_t *d) { inrf_st16(d + inrf_ld64(d + 32) + 40, 3); }
static void forge_seq(uint8_t *d) { inrf_st32(d + inrf_ld64(d + 32) + 48 + 36, 1); }
static void forge_offset(uint8_t *d) { inrf_st64(d + inrf_ld64(d + 32) + 48, inrf_ld64(d + 40) + 64); }
static void forge_size0(uint8_t *d) { inrf_st32(d + inrf_ld64(d + 32) + 16, 0); }
static void forge_dim(uint8_t *d) { inrf_st32(d + inrf_ld64(d + 32) + 24, 0); }
static void forge_entry_reserved(uint8_t *d) { d[inrf_ld64(d + 32) + 44] = 1; }
static void forge_major(uint8_t *d) { d[8] = 2; }
static void forge_flags(uint8_t *d) { d[10] = 1; }
static void forge_classes(uint8_t *d) { inrf_st32(d + 20, 4); }
static void forge_archs0(uint8_t *d) { inrf_st16(d + 16, 0); }
static void forge_channels(uint8_t *d) { d[64 + 144] = 1; }
static void forge_arch_reserved(uint8_t *d) { d[64 + 1] = 1; }
static void forge_kind(uint8_t *d) { d[64 + 4] = 7; }
static void forge_class_name(uint8_t *d) { d[64 + 3 * 144 + 1] = '/'; }
static void forge_class_dup(uint8_t *d) { memcpy(d + 64 + 3 * 144 + 5, "cat", 3); }
static void forge_index_offset(uint8_t *d) { inrf_st64(d + 32, inrf_ld64(d + 32) + 64); }
static void forge_psnr_inf(uint8_t *d) { inrf_stf32(d + inrf_ld64(d + 32) + 32, INFINITY); }
static void forge_count(uint8_t *d) { inrf_st32(d + 12, inrf_ld32(d + 12) - 1); }

static void test_forged(void **state)
{
    (void)state;
    static const struct {
        forge_fn f;
        inrf_status want;
        const char *msg;
    } cases[] = {
        {forge_label, INRF_E_FORMAT, "label 3 of 3"},
        {forge_arch, INRF_E_FORMAT, "architecture 3 of 3"},
        {forge_seq, INRF_E_FORMAT, "seq"},
        {forge_offset, INRF_E_FORMAT, "offset"},
        {forge_size0, INRF_E_FORMAT, "record of 0 bytes"},
        {forge_dim, INRF_E_FORMAT, "size"},
        {forge_entry_reserved, INRF_E_FORMAT, "reserved"},
        {forge_major, INRF_E_VERSION, "version"},
        {forge_flags, INRF_E_FORMAT, "reserved"},
        {forge_classes, INRF_E_FORMAT, ""},
        {forge_archs0, INRF_E_FORMAT, "architectures"},
        {forge_channels, INRF_E_FORMAT, "channels"},
        {forge_arch_reserved, INRF_E_FORMAT, "reserved"},
        {forge_kind, INRF_E_UNSUPPORTED, "kind 7"},
        {forge_class_name, INRF_E_FORMAT, "name"},
        {forge_class_dup, INRF_E_FORMAT, "twice"},
        {forge_index_offset, INRF_E_FORMAT, "offsets"},
        {forge_count, INRF_E_FORMAT, ""},
        {forge_psnr_inf, INRF_E_FORMAT, "PSNR"},
    };
    size_t size;
    uint8_t *orig = make_pack(3, &size);
    uint8_t *d = malloc(size);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(d, orig, size);
        cases[i].f(d);
        reseal(d);
        inrf_pack *p = NULL;
        inrf_status st = inrf_pack_open_memory(d, size, NULL, &p);
        if (st != cases[i].want || !strstr(inrf_last_error(), cases[i].msg))
            fprintf(stderr, "case %zu: status %d, \"%s\"\n", i, st, inrf_last_error());
        assert_int_equal(st, cases[i].want);
        assert_non_null(strstr(inrf_last_error(), cases[i].msg));
        assert_null(p);
    }
    free(d);
    free(orig);
}

/* Threads follow the work: opening a small pack and decoding a small
 * batch start no thread (in a child, which has none yet); a pack of
 * megabytes is verified, and a batch of 64 32x32 samples decoded, on
 * several, with the same results as on one. */
static void test_threads_follow_work(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(6, &size);
    if (count_threads() > 0) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(60); /* a hang becomes a failure */
            int before = count_threads();
            inrf_pack *p = NULL;
            if (inrf_pack_open_memory(d, size, NULL, &p) != INRF_OK)
                _exit(2);
            uint32_t idx[9] = {0, 1, 2, 3, 4, 5, 2, 0, 1};
            static uint8_t out[9 * 12 * 10 * 3];
            inrf_batch_options o;
            inrf_batch_options_init(&o);
            o.width = 12, o.height = 10, o.type = INRF_BATCH_U8;
            for (o.threads = 0; o.threads <= 3; o.threads++)
                if (inrf_pack_decode_batch(p, idx, 9, NULL, &o, out) != INRF_OK)
                    _exit(2);
            inrf_pack_close(p);
            _exit(count_threads() == before ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    free(d);

    enum { N = 600, B = 64, S = 32 };
    d = make_pack(N, &size);
    assert_true(size > ((size_t)2 << 20)); /* worth two threads */
    inrf_pack *p = open_ok(d, size);
    const uint32_t bad_at[3] = {100, 301, 599};
    uint64_t off[3];
    for (int k = 0; k < 3; k++)
        off[k] = inrf_pack_get(p, bad_at[k])->offset;
    uint32_t idx[B];
    for (uint32_t s = 0; s < B; s++)
        idx[s] = (s * 37u) % N;
    uint8_t *one = malloc((size_t)B * S * S * 3), *many = malloc((size_t)B * S * S * 3);
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = S, o.type = INRF_BATCH_U8, o.threads = 1;
    assert_int_equal(inrf_pack_decode_batch(p, idx, B, NULL, &o, one), INRF_OK);
    for (o.threads = 0; o.threads <= 4; o.threads++) {
        memset(many, 0, (size_t)B * S * S * 3);
        assert_int_equal(inrf_pack_decode_batch(p, idx, B, NULL, &o, many), INRF_OK);
        assert_memory_equal(one, many, (size_t)B * S * S * 3);
    }
    inrf_pack_close(p);
    for (int k = 0; k < 3; k++)
        d[off[k] + 5] ^= 0x10;
    p = NULL;
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_CHECKSUM);
    assert_non_null(strstr(inrf_last_error(), "record 100 "));
    inrf_pack_options po;
    inrf_pack_options_init(&po);
    po.verify_records = 0;
    assert_int_equal(inrf_pack_open_memory(d, size, &po, &p), INRF_OK);
    uint32_t bad[8];
    size_t nbad = 0;
    assert_int_equal(inrf_pack_verify(p, bad, 8, &nbad), INRF_E_CHECKSUM);
    assert_non_null(strstr(inrf_last_error(), "record 100 "));
    assert_int_equal(nbad, 3);
    for (int k = 0; k < 3; k++)
        assert_int_equal(bad[k], bad_at[k]);
    inrf_pack_close(p);
    free(one);
    free(many);
    free(d);
}

/* Batch decode = per-image decode with the same window, flip included,
 * in u8 and in normalised f32, on 1 and 2 threads. */
static void test_batch_equals_decode(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(6, &size);
    inrf_pack *p = open_ok(d, size);
    enum { N = 9, W = 12, H = 10 };
    uint32_t idx[N] = {0, 1, 2, 3, 4, 5, 2, 0, 1};
    float win[4 * N];
    for (unsigned s = 0; s < N; s++) {
        float x0 = -1.0f + 0.05f * (float)s, y0 = -0.9f + 0.03f * (float)s;
        float x1 = x0 + 1.5f, y1 = y0 + 1.2f;
        int flip = s % 2;
        win[4 * s + 0] = flip ? x1 : x0;
        win[4 * s + 1] = y0;
        win[4 * s + 2] = flip ? x0 : x1;
        win[4 * s + 3] = y1;
    }
    const unsigned C = 3;
    uint8_t *b8 = malloc((size_t)N * W * H * C);
    float *bf = malloc((size_t)N * W * H * C * sizeof(float));
    uint8_t *one8 = malloc((size_t)W * H * C);
    float *onef = malloc((size_t)W * H * C * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        inrf_batch_options o;
        inrf_batch_options_init(&o);
        o.width = W, o.height = H, o.threads = threads;
        o.type = INRF_BATCH_U8;
        assert_int_equal(inrf_pack_decode_batch(p, idx, N, win, &o, b8), INRF_OK);
        o.type = INRF_BATCH_F32;
        const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
        memcpy(o.mean, mean, sizeof mean);
        memcpy(o.std, sd, sizeof sd);
        assert_int_equal(inrf_pack_decode_batch(p, idx, N, win, &o, bf), INRF_OK);
        for (unsigned s = 0; s < N; s++) {
            inrf_model *m;
            assert_int_equal(inrf_pack_model(p, idx[s], &m), INRF_OK);
            inrf_decode_options dop;
            inrf_decode_options_init(&dop);
            dop.width = W, dop.height = H, dop.threads = 1;
            for (int k = 0; k < 4; k++)
                dop.window[k] = win[4 * s + k];
            assert_int_equal(inrf_decode_u8(m, &dop, one8, 0), INRF_OK);
            assert_int_equal(inrf_decode_f32(m, &dop, onef, 0), INRF_OK);
            assert_memory_equal(b8 + (size_t)s * W * H * C, one8, (size_t)W * H * C);
            for (size_t k = 0; k < (size_t)W * H * C; k++) {
                float want = (onef[k] - mean[k % C]) / sd[k % C];
                assert_memory_equal(&bf[(size_t)s * W * H * C + k], &want, sizeof want);
            }
            inrf_model_free(m);
        }
    }
    /* a flipped window is the mirror image of the unflipped one */
    float w2[8] = {-1, -1, 1, 1, 1, -1, -1, 1};
    uint32_t i2[2] = {1, 1};
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = W, o.height = H, o.type = INRF_BATCH_U8;
    assert_int_equal(inrf_pack_decode_batch(p, i2, 2, w2, &o, b8), INRF_OK);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            assert_memory_equal(b8 + ((size_t)y * W + x) * C,
                                b8 + (size_t)W * H * C + ((size_t)y * W + (W - 1 - x)) * C, C);
    /* NULL windows = the whole image = inrf_decode at that size */
    assert_int_equal(inrf_pack_decode_batch(p, i2, 1, NULL, &o, one8), INRF_OK);
    assert_memory_equal(one8, b8, (size_t)W * H * C);
    free(b8);
    free(bf);
    free(one8);
    free(onef);
    inrf_pack_close(p);
    free(d);
}

/* A float rounded to binary16 bits, to nearest even (IEEE 754, CUDA's
 * __float2half_rn): computed in double here, apart from the library. */
static uint16_t ref_half(float f)
{
    double x = fabs((double)f);
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    if (isnan(f))
        return 0x7fff;
    if (x >= 65520.0)
        return sign | 0x7c00;
    int e;
    frexp(x, &e);
    int E = e - 1 < -14 ? -14 : e - 1;     /* binade, subnormals at -14 */
    double r = nearbyint(ldexp(x, 10 - E)); /* units of 2^(E-10), ties to even */
    if (r < 1024) /* subnormal (E = -14) or zero: r units of 2^-24 */
        return (uint16_t)(sign | (uint16_t)r);
    if (r == 2048) /* rounded up into the next binade */
        r = 1024, E++;
    return (uint16_t)(sign | (E + 15) << 10 | (uint16_t)(r - 1024));
}

/* F16 output: the F32 output of the same batch rounded to nearest even,
 * for every sample, with normalisations that reach past binary16's range
 * (infinity) and below its normal numbers (subnormals, zero). */
static void test_batch_f16(void **state)
{
    (void)state;
    /* the reference itself, at the edges */
    assert_int_equal(ref_half(1.0f), 0x3c00);
    assert_int_equal(ref_half(1.0f + ldexpf(1.0f, -11)), 0x3c00);
    assert_int_equal(ref_half(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);
    assert_int_equal(ref_half(65504.0f), 0x7bff);
    assert_int_equal(ref_half(65519.0f), 0x7bff);
    assert_int_equal(ref_half(-65520.0f), 0xfc00);
    assert_int_equal(ref_half(ldexpf(1.0f, -24)), 0x0001);
    assert_int_equal(ref_half(ldexpf(1.0f, -25)), 0x0000);
    assert_int_equal(ref_half(ldexpf(3.0f, -25)), 0x0002);
    assert_int_equal(ref_half(-ldexpf(1023.0f, -24)), 0x83ff);
    assert_int_equal(ref_half(ldexpf(1.0f, -14)), 0x0400);
    size_t size;
    uint8_t *d = make_pack(6, &size);
    inrf_pack *p = open_ok(d, size);
    enum { N = 7, W = 13, H = 9, C = 3 };
    uint32_t idx[N] = {0, 1, 2, 3, 4, 5, 1};
    float win[4 * N];
    for (unsigned s = 0; s < N; s++) {
        float x0 = -1.2f + 0.07f * (float)s, y0 = -0.9f + 0.05f * (float)s;
        win[4 * s + 0] = s % 2 ? x0 + 1.6f : x0;
        win[4 * s + 1] = y0;
        win[4 * s + 2] = s % 2 ? x0 : x0 + 1.6f;
        win[4 * s + 3] = y0 + 1.3f;
    }
    const size_t vals = (size_t)N * W * H * C;
    float *bf = malloc(vals * sizeof *bf);
    uint16_t *bh = malloc(vals * sizeof *bh);
    assert_true(bf && bh);
    /* ImageNet's; then one channel overflowing, one tiny, one near 0 */
    const float means[2][3] = {{0.485f, 0.456f, 0.406f}, {0.5f, 0.0f, 0.5f}};
    const float sds[2][3] = {{0.229f, 0.224f, 0.225f}, {1e-6f, 3e4f, 1.0f}};
    size_t inf = 0, sub = 0;
    for (int k = 0; k < 2; k++)
        for (int zero = 0; zero < 2; zero++) {
            inrf_batch_options o;
            inrf_batch_options_init(&o);
            o.width = W, o.height = H, o.zero_outside = zero;
            memcpy(o.mean, means[k], sizeof o.mean);
            memcpy(o.std, sds[k], sizeof o.std);
            o.type = INRF_BATCH_F32;
            assert_int_equal(inrf_pack_decode_batch(p, idx, N, win, &o, bf), INRF_OK);
            o.type = INRF_BATCH_F16;
            memset(bh, 0xa5, vals * sizeof *bh);
            assert_int_equal(inrf_pack_decode_batch(p, idx, N, win, &o, bh), INRF_OK);
            for (size_t v = 0; v < vals; v++) {
                uint16_t want = ref_half(bf[v]);
                if (bh[v] != want)
                    fail_msg("std set %d zero %d value %zu: %a gave %#06x, not %#06x", k, zero, v,
                             (double)bf[v], bh[v], want);
                inf += (want & 0x7fff) == 0x7c00;
                sub += (want & 0x7c00) == 0 && (want & 0x3ff) != 0;
            }
        }
    assert_true(inf > 0 && sub > 0); /* both edges were met */
    free(bf);
    free(bh);
    inrf_pack_close(p);
    free(d);
}

/* The grey golden model (f16 first/last layers, int8 per-row scales, f16
 * biases, signed output): batch decode still equals inrf_decode. */
static void test_batch_grey_encodings(void **state)
{
    (void)state;
    static const char *const one[] = {"grey"};
    inrf_pack_writer *w;
    inrf_model *m;
    assert_int_equal(inrf_pack_writer_create(one, 1, &w), INRF_OK);
    assert_int_equal(golden_build(2, &m), INRF_OK);
    assert_int_equal(inrf_pack_writer_add_model(w, m, 0, 0), INRF_OK);
    void *d;
    size_t size;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &d, &size), INRF_OK);
    inrf_pack_writer_free(w);
    inrf_pack *p = open_ok(d, size);
    assert_int_equal(inrf_pack_channels(p), 1);
    enum { W = 23, H = 17 };
    uint8_t got[W * H], want[W * H];
    float win[4] = {0.5f, -0.75f, -0.25f, 0.9f}; /* flipped, off-centre */
    uint32_t i = 0;
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = W, o.height = H, o.type = INRF_BATCH_U8;
    assert_int_equal(inrf_pack_decode_batch(p, &i, 1, win, &o, got), INRF_OK);
    inrf_decode_options dop;
    inrf_decode_options_init(&dop);
    dop.width = W, dop.height = H;
    for (int k = 0; k < 4; k++)
        dop.window[k] = win[k];
    assert_int_equal(inrf_decode_u8(m, &dop, want, 0), INRF_OK);
    assert_memory_equal(got, want, sizeof got);
    inrf_model_free(m);
    inrf_pack_close(p);
    free(d);
}

/* zero_outside: a window shifted by 4 of 32 pixels (a padded random crop)
 * gives zeros (normalised) exactly where it leaves the image, and the
 * image's own pixels, shifted, elsewhere. */
static void test_zero_outside(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(2, &size);
    inrf_pack *p = open_ok(d, size);
    enum { S = 32, C = 3 };
    uint8_t full[S * S * C], shifted[S * S * C];
    uint32_t i = 1;
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = S;
    o.type = INRF_BATCH_U8;
    o.zero_outside = 1;
    assert_int_equal(inrf_pack_decode_batch(p, &i, 1, NULL, &o, full), INRF_OK);
    /* window moved left by 4 pixels and down by 3 */
    const int dx = -4, dy = 3;
    float win[4] = {-1.0f + 2.0f * dx / S, -1.0f + 2.0f * dy / S, 1.0f + 2.0f * dx / S,
                    1.0f + 2.0f * dy / S};
    assert_int_equal(inrf_pack_decode_batch(p, &i, 1, win, &o, shifted), INRF_OK);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int sx = x + dx, sy = y + dy;
            const uint8_t *got = shifted + ((size_t)y * S + x) * C;
            if (sx < 0 || sy >= S) {
                for (int c = 0; c < C; c++)
                    assert_int_equal(got[c], 0);
            } else {
                const uint8_t *want = full + ((size_t)sy * S + sx) * C;
                for (int c = 0; c < C; c++) /* same sample up to coordinate rounding */
                    assert_true(abs((int)got[c] - (int)want[c]) <= 1);
            }
        }
    /* in f32, outside is (0 - mean) / std */
    float f[S * S * C];
    o.type = INRF_BATCH_F32;
    o.mean[0] = 0.5f, o.std[0] = 0.25f;
    assert_int_equal(inrf_pack_decode_batch(p, &i, 1, win, &o, f), INRF_OK);
    assert_true(f[0] == -2.0f);
    inrf_pack_close(p);
    free(d);
}

static void test_batch_errors(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(2, &size);
    inrf_pack *p = open_ok(d, size);
    float out[4 * 4 * 3 * 2];
    uint32_t idx[2] = {0, 2};
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = 4;
    assert_int_equal(inrf_pack_decode_batch(p, idx, 2, NULL, &o, out), INRF_E_INVALID_ARG);
    assert_non_null(strstr(inrf_last_error(), "image 2 of 2"));
    idx[1] = 1;
    o.std[1] = 0.0f;
    assert_int_equal(inrf_pack_decode_batch(p, idx, 2, NULL, &o, out), INRF_E_INVALID_ARG);
    o.std[1] = 1.0f;
    o.width = 0;
    assert_int_equal(inrf_pack_decode_batch(p, idx, 2, NULL, &o, out), INRF_E_INVALID_ARG);
    o.width = 4;
    o.type = 3;
    assert_int_equal(inrf_pack_decode_batch(p, idx, 2, NULL, &o, out), INRF_E_INVALID_ARG);
    assert_non_null(strstr(inrf_last_error(), "type 3"));
    o.type = INRF_BATCH_F32;
    float win[8] = {-1, -1, 1, 1, -1, NAN, 1, 1};
    assert_int_equal(inrf_pack_decode_batch(p, idx, 2, win, &o, out), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_pack_decode_batch(p, idx, 2, NULL, &o, out), INRF_OK);
    inrf_pack_close(p);
    free(d);
    /* not a pack at all */
    uint8_t junk[64] = "\x89INRF\r\n\x1a";
    assert_int_equal(inrf_pack_open_memory(junk, sizeof junk, NULL, &p), INRF_E_NOT_INRF);
    assert_int_equal(inrf_pack_open("/nonexistent/x.inrpack", NULL, &p), INRF_E_IO);
}

/* ------------------------------------------------ hardening (issue 11) */

/* A pack of one grey image (golden "grey": layer 0 f16, 2 -> 12) whose
 * record's weight 5 of layer 0 holds the f16 bits h, with the record
 * check and the directory resealed. */
static uint8_t *grey_pack_with_f16(uint16_t h, size_t *size)
{
    static const char *const one[] = {"grey"};
    inrf_pack_writer *w;
    inrf_model *m;
    assert_int_equal(inrf_pack_writer_create(one, 1, &w), INRF_OK);
    assert_int_equal(golden_build(2, &m), INRF_OK);
    assert_int_equal(m->layer[0].encoding, INRF_ENC_F16);
    assert_int_equal(inrf_pack_writer_add_model(w, m, 0, 0), INRF_OK);
    void *v;
    assert_int_equal(inrf_pack_writer_finish_memory(w, &v, size), INRF_OK);
    inrf_pack_writer_free(w);
    inrf_model_free(m);
    uint8_t *d = v, *entry = d + inrf_ld64(d + 32);
    uint8_t *rec = d + inrf_ld64(entry);
    inrf_st16(rec + 8 + 2 * 5, h);
    inrf_st64(entry + 8, XXH3_64bits(rec, inrf_ld32(entry + 16)));
    reseal(d);
    return d;
}

/* spec inrf "Layer record" through inrpack "Verification": f16 Inf and
 * NaN in a record are refused at open, by inrf_pack_model and by the batch
 * decoder of a pack opened without verification, naming record, layer
 * and weight. */
static void test_pack_f16_not_finite(void **state)
{
    (void)state;
    static const uint16_t bad[] = {0x7c00, 0xfc00, 0x7e00, 0xfd55};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t size;
        uint8_t *d = grey_pack_with_f16(bad[k], &size);
        inrf_pack *p = NULL;
        assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
        assert_null(p);
        assert_non_null(strstr(inrf_last_error(), "record 0 (class grey"));
        assert_non_null(strstr(inrf_last_error(), "WGHT: layer 0: weight 5 (f16"));
        inrf_pack_options o;
        inrf_pack_options_init(&o);
        o.verify_records = 0;
        assert_int_equal(inrf_pack_open_memory(d, size, &o, &p), INRF_OK);
        inrf_model *m;
        assert_int_equal(inrf_pack_model(p, 0, &m), INRF_E_FORMAT);
        inrf_batch_options bo;
        inrf_batch_options_init(&bo);
        bo.width = bo.height = 2;
        uint32_t i = 0;
        float px[2 * 2];
        assert_int_equal(inrf_pack_decode_batch(p, &i, 1, NULL, &bo, px), INRF_E_FORMAT);
        uint32_t which[1];
        size_t nbad = 0;
        assert_int_equal(inrf_pack_verify(p, which, 1, &nbad), INRF_E_FORMAT);
        assert_int_equal(nbad, 1);
        inrf_pack_close(p);
        free(d);
    }
    size_t size; /* the largest finite f16 is a value like any other */
    uint8_t *d = grey_pack_with_f16(0x7bff, &size);
    inrf_pack_close(open_ok(d, size));
    free(d);
}

/* spec inrpack "Conventions": the padding after the index is 0. */
static void test_index_padding(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(3, &size);
    uint64_t index_end = inrf_ld64(d + 32) + 3 * INRP_ENTRY_SIZE, records = inrf_ld64(d + 40);
    assert_true(records > index_end);
    for (uint64_t k = index_end; k < records; k += 7) {
        d[k] = 0x20;
        reseal(d);
        inrf_pack *p = NULL;
        assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
        assert_null(p);
        assert_non_null(strstr(inrf_last_error(), "index: padding"));
        d[k] = 0;
    }
    reseal(d);
    inrf_pack_close(open_ok(d, size));
    free(d);
}

/* Header and index messages name the field; inrf_pack_open names the file,
 * once; the length is checked against the reader limit before the size. */
static void test_pack_messages(void **state)
{
    (void)state;
    size_t size;
    uint8_t *orig = make_pack(2, &size), *d = malloc(size);
    inrf_pack *p = NULL;
    uint64_t index_off = inrf_ld64(orig + 32);
    memcpy(d, orig, size);
    d[18] = 1;
    reseal(d);
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "header: reserved field (offset 18) 0x0001"));
    memcpy(d, orig, size);
    inrf_st16(d + index_off + 48 + 42, 4);
    reseal(d);
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "index entry 1: reserved flags 0x0004"));
    memcpy(d, orig, size);
    inrf_st32(d + index_off + 44, 9);
    reseal(d);
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "index entry 0: reserved field 0x00000009"));
    memcpy(d, orig, size);
    d[64 + 2] = 5;
    reseal(d);
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "architecture 0: reserved bytes 00 05 00"));
    /* a length over the reader limit, in a truncated file: a limit */
    memcpy(d, orig, size);
    inrf_st64(d + 24, (uint64_t)1 << 41);
    inrf_st64(d + 56, XXH3_64bits(d, 56));
    assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_LIMIT);
    assert_non_null(strstr(inrf_last_error(), "header: length 2199023255552 over the limit"));
    /* through a file: "PATH: detail" */
    char path[] = "/tmp/test_pack_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    memcpy(d, orig, size);
    d[inrf_ld64(d + 40) + 3] ^= 1; /* record 0's bytes */
    assert_int_equal(inrf_file_write_atomic(path, d, size), INRF_OK);
    assert_int_equal(inrf_pack_open(path, NULL, &p), INRF_E_CHECKSUM);
    const char *msg = inrf_last_error();
    assert_int_equal(strncmp(msg, path, strlen(path)), 0);
    assert_non_null(strstr(msg, ": record 0 ("));
    assert_null(strstr(msg + 1, path));
    unlink(path);
    free(d);
    free(orig);
}

/* The pack writer refuses a model over the readers' default limits. */
static void test_pack_writer_limits(void **state)
{
    (void)state;
    inrf_pack_writer *w;
    inrf_arch a;
    inrf_model *m;
    assert_int_equal(inrf_pack_writer_create(names3, 3, &w), INRF_OK);
    inrf_arch_siren(&a, 16, 16, 3, 5, 1024);
    assert_int_equal(inrf_model_create(&a, &m), INRF_OK);
    inrf_model_init(m, 1);
    assert_int_equal(inrf_pack_writer_add_model(w, m, 0, 0), INRF_E_LIMIT);
    assert_non_null(strstr(inrf_last_error(), "max_params"));
    assert_int_equal(inrf_pack_writer_count(w), 0);
    /* a raw record (inrpack merge's path) is held to the same limit */
    static const uint8_t record[64];
    assert_int_equal(inrf_pack_writer_add_record(w, &a, record, sizeof record, 0, 0, 30.0f),
                     INRF_E_LIMIT);
    assert_non_null(strstr(inrf_last_error(), "max_params"));
    assert_int_equal(inrf_pack_writer_count(w), 0);
    inrf_model_free(m);
    inrf_pack_writer_free(w);
}

/* Class names: the message says which rule a name breaks. */
static void test_class_name_messages(void **state)
{
    (void)state;
    static const struct {
        uint8_t byte;
        const char *why;
    } cases[] = {{0xff, "class 0: name not allowed (is not valid UTF-8)"},
                 {0x01, "class 0: name not allowed (holds a control character)"},
                 {'\\', "class 0: name not allowed (holds '/' or '\\')"}};
    size_t size;
    uint8_t *d = make_pack(1, &size);
    size_t name0 = 64 + 144 + 1; /* one architecture: "cat" */
    assert_memory_equal(d + name0, "cat", 3);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        d[name0 + 1] = cases[i].byte;
        reseal(d);
        inrf_pack *p = NULL;
        assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
        assert_non_null(strstr(inrf_last_error(), cases[i].why));
    }
    free(d);
}

/* Options are checked before any of their fields is used; the reader limit
 * applies to the header's length, so a longer buffer whose length is within
 * it has bytes after the end of the pack. */
static void test_pack_options_first(void **state)
{
    (void)state;
    inrf_pack_options o;
    inrf_pack_options_init(&o);
    o.abi = 0;
    inrf_pack *p = NULL;
    assert_int_equal(inrf_pack_open("/nonexistent/x.inrpack", &o, &p), INRF_E_INVALID_ARG);
    inrf_read_options ro;
    inrf_read_options_init(&ro);
    ro.abi = 0;
    inrf_model *m = NULL;
    assert_int_equal(inrf_read_file("/nonexistent/x.inrf", &ro, &m), INRF_E_INVALID_ARG);
    size_t size;
    uint8_t *d = make_pack(1, &size);
    uint8_t *longer = calloc(1, size + 64);
    memcpy(longer, d, size);
    inrf_pack_options_init(&o);
    o.max_file_bytes = size;
    assert_int_equal(inrf_pack_open_memory(longer, size + 64, &o, &p), INRF_E_FORMAT);
    assert_non_null(strstr(inrf_last_error(), "64 more bytes"));
    o.max_file_bytes = size - 1;
    assert_int_equal(inrf_pack_open_memory(d, size, &o, &p), INRF_E_LIMIT);
    free(longer);
    free(d);
}

/* spec inrpack "Length", "Error handling" (5): length outside 256..2^53-1
 * is malformed, whatever the reader limit and the file size. */
static void test_pack_length_range(void **state)
{
    (void)state;
    size_t size;
    uint8_t *d = make_pack(1, &size);
    inrf_pack_options o;
    inrf_pack_options_init(&o);
    o.max_file_bytes = UINT64_MAX;
    static const uint64_t bad[] = {(uint64_t)1 << 53, UINT64_MAX, 255, 64};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        inrf_st64(d + 24, bad[k]);
        inrf_st64(d + 56, XXH3_64bits(d, 56));
        inrf_pack *p = NULL;
        assert_int_equal(inrf_pack_open_memory(d, size, &o, &p), INRF_E_FORMAT);
        assert_non_null(strstr(inrf_last_error(), "header: length"));
        assert_int_equal(inrf_pack_open_memory(d, size, NULL, &p), INRF_E_FORMAT);
    }
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_golden_pack),
        cmocka_unit_test(test_empty_pack),
        cmocka_unit_test(test_empty_pack_channels),
        cmocka_unit_test(test_writer_refuses),
        cmocka_unit_test(test_directory_flips),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_bad_records_named),
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_batch_equals_decode),
        cmocka_unit_test(test_batch_f16),
        cmocka_unit_test(test_threads_follow_work),
        cmocka_unit_test(test_batch_grey_encodings),
        cmocka_unit_test(test_zero_outside),
        cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_pack_f16_not_finite),
        cmocka_unit_test(test_index_padding),
        cmocka_unit_test(test_pack_messages),
        cmocka_unit_test(test_pack_writer_limits),
        cmocka_unit_test(test_class_name_messages),
        cmocka_unit_test(test_pack_options_first),
        cmocka_unit_test(test_pack_length_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
