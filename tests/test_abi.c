/* test_abi.c: cmocka suite for the ABI version of the options structs
 * (inrf/types.h): every options struct is accepted from a caller of this
 * major version, an older or a newer minor (the latter while its reserved
 * fields are 0), and refused from another major with a message naming both;
 * an init function of another major writes nothing but the abi field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "inrf/inrf.h"

/* A small model, its file and a pack of it, which the uses below need. */
static inrf_model *model;
static void *file, *pack_bytes;
static size_t file_size, pack_size;

static int setup(void **state)
{
    (void)state;
    inrf_arch a;
    inrf_arch_siren(&a, 8, 8, 3, 1, 4);
    if (inrf_model_create(&a, &model) != INRF_OK)
        return -1;
    inrf_model_init(model, 1);
    if (inrf_write_memory(model, NULL, &file, &file_size) != INRF_OK)
        return -1;
    const char *classes[] = {"a"};
    inrf_pack_writer *w;
    if (inrf_pack_writer_create(classes, 1, &w) != INRF_OK)
        return -1;
    inrf_status st = inrf_pack_writer_add_model(w, model, 0, 0);
    if (st == INRF_OK)
        st = inrf_pack_writer_finish_memory(w, &pack_bytes, &pack_size);
    inrf_pack_writer_free(w);
    return st == INRF_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    inrf_model_free(model);
    inrf_free(file);
    inrf_free(pack_bytes);
    return 0;
}

/* ------------------------------------------------- one use per struct */

static inrf_status use_decode(void *o)
{
    uint8_t px[8 * 8 * 3];
    return inrf_decode_u8(model, o, px, 0);
}

static inrf_status use_read(void *o)
{
    inrf_model *m = NULL;
    inrf_status st = inrf_read_memory(file, file_size, o, &m);
    inrf_model_free(m);
    return st;
}

static inrf_status use_write(void *o)
{
    void *d = NULL;
    size_t n;
    inrf_status st = inrf_write_memory(model, o, &d, &n);
    inrf_free(d);
    return st;
}

static inrf_status use_image_read(void *o)
{
    static const uint8_t pnm[] = "P6\n1 1\n255\n\x10\x20\x30";
    inrf_image img;
    inrf_status st = inrf_image_read_memory(pnm, sizeof pnm - 1, o, &img);
    inrf_image_free(&img);
    return st;
}

static inrf_status use_encode(void *o)
{
    inrf_encode_options *e = o;
    e->layers = 1, e->hidden = 4, e->steps = 4, e->effort = 1, e->prune = 0;
    e->quant = INRF_QUANT_NONE, e->threads = 1;
    inrf_image img;
    if (inrf_image_alloc(&img, 2, 2, 3) != INRF_OK)
        return INRF_E_NOMEM;
    memset(img.pixels, 100, 12);
    inrf_model *m = NULL;
    inrf_encode_stats stats;
    memset(&stats, 0xa5, sizeof stats);
    inrf_status st = inrf_encode(&img, e, &m, &stats);
    if (st == INRF_OK)
        for (size_t i = 0; i < sizeof stats.reserved_ / sizeof stats.reserved_[0]; i++)
            assert_int_equal(stats.reserved_[i], 0); /* written as 0 */
    inrf_model_free(m);
    inrf_image_free(&img);
    return st;
}

static inrf_status use_pack(void *o)
{
    inrf_pack *p = NULL;
    inrf_status st = inrf_pack_open_memory(pack_bytes, pack_size, o, &p);
    inrf_pack_close(p);
    return st;
}

static inrf_status use_batch(void *o)
{
    inrf_batch_options *b = o;
    b->width = b->height = 4;
    inrf_pack *p = NULL;
    inrf_status st = inrf_pack_open_memory(pack_bytes, pack_size, NULL, &p);
    assert_int_equal(st, INRF_OK);
    float out[4 * 4 * 3];
    uint32_t index = 0;
    st = inrf_pack_decode_batch(p, &index, 1, NULL, b, out);
    inrf_pack_close(p);
    return st;
}

static inrf_status use_sampler(void *o)
{
    inrf_sampler_options *so = o;
    so->batch_size = 2;
    inrf_sampler *s = NULL;
    inrf_status st = inrf_sampler_create(5, NULL, so, &s);
    inrf_sampler_free(s);
    return st;
}

/* --------------------------------------------------------- the cases */

typedef struct options_case {
    const char *name;          /* as the library's messages name it */
    size_t size;               /* sizeof the struct */
    size_t reserved_offset;    /* offsetof reserved_ */
    size_t reserved_count;
    void (*init)(void *opt, int abi);
    inrf_status (*use)(void *opt);
} options_case;

#define INIT_FN(type)                                                                        \
    static void init_##type(void *o, int abi) { inrf_##type##_init_((inrf_##type *)o, abi); }
INIT_FN(decode_options)
INIT_FN(read_options)
INIT_FN(write_options)
INIT_FN(image_read_options)
INIT_FN(encode_options)
INIT_FN(pack_options)
INIT_FN(batch_options)
INIT_FN(sampler_options)

#define CASE(type, name, use)                                                                \
    {name, sizeof(inrf_##type), offsetof(inrf_##type, reserved_),                           \
     sizeof((inrf_##type *)0)->reserved_ / sizeof(uint64_t), init_##type, use}
static const options_case cases[] = {
    CASE(decode_options, "decode options", use_decode),
    CASE(read_options, "read options", use_read),
    CASE(write_options, "write options", use_write),
    CASE(image_read_options, "image read options", use_image_read),
    CASE(encode_options, "encode options", use_encode),
    CASE(pack_options, "pack options", use_pack),
    CASE(batch_options, "batch options", use_batch),
    CASE(sampler_options, "sampler options", use_sampler),
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Options initialised for abi, as a caller built for it would have them. */
static void *made_for(const options_case *c, int abi)
{
    void *o = malloc(c->size);
    assert_non_null(o);
    c->init(o, INRF_ABI_VERSION);
    *(int *)o = abi; /* abi is every options struct's first field */
    return o;
}

static void expect_refusal(const options_case *c, void *o, const char *words)
{
    assert_int_equal(c->use(o), INRF_E_INVALID_ARG);
    const char *msg = inrf_last_error();
    if (strncmp(msg, c->name, strlen(c->name)) != 0 || strstr(msg, words) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, msg, words);
}

static void test_this_version(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        void *o = made_for(&cases[i], INRF_ABI_VERSION);
        if (cases[i].use(o) != INRF_OK)
            fail_msg("%s: %s", cases[i].name, inrf_last_error());
        free(o);
    }
}

/* A caller built for an older minor version keeps working; so does one of
 * a newer minor that leaves the fields it added (reserved here) at 0. */
static void test_other_minor(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        int minors[2] = {INRF_ABI_VERSION + 1, INRF_ABI_MINOR > 0 ? INRF_ABI_VERSION - 1 : 0};
        for (int k = 0; k < 2 && minors[k]; k++) {
            void *o = made_for(&cases[i], minors[k]);
            if (cases[i].use(o) != INRF_OK)
                fail_msg("%s of ABI %#x: %s", cases[i].name, minors[k], inrf_last_error());
            free(o);
        }
    }
}

/* A newer minor's field that this library does not know is refused, not
 * ignored. */
static void test_reserved_set(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        const options_case *c = &cases[i];
        assert_true(c->reserved_count >= 2);
        for (size_t r = 0; r < c->reserved_count; r += c->reserved_count - 1) {
            uint8_t *o = made_for(c, INRF_ABI_VERSION + 1);
            uint64_t one = 1;
            memcpy(o + c->reserved_offset + r * sizeof one, &one, sizeof one);
            expect_refusal(c, o, "reserved_");
            free(o);
        }
    }
}

/* Another major version, older (the ABI before reserved fields, 1) or
 * newer, and options never initialised, are refused with a message. */
static void test_other_major(void **state)
{
    (void)state;
    const int majors[] = {1, INRF_ABI_VERSION + 0x100, (INRF_ABI_MAJOR + 1) << 8};
    for (size_t i = 0; i < NCASES; i++) {
        for (size_t k = 0; k < sizeof majors / sizeof majors[0]; k++) {
            void *o = made_for(&cases[i], majors[k]);
            expect_refusal(&cases[i], o, "another major version");
            free(o);
        }
        void *o = made_for(&cases[i], 0);
        expect_refusal(&cases[i], o, "not initialised");
        free(o);
    }
}

/* An init function called for another major version writes the abi field
 * only: the caller's struct may be smaller than this library's. */
static void test_init_other_major(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        const options_case *c = &cases[i];
        uint8_t *o = malloc(c->size), *want = malloc(c->size);
        assert_non_null(o);
        assert_non_null(want);
        memset(o, 0xa5, c->size);
        memset(want, 0xa5, c->size);
        int other = INRF_ABI_VERSION + 0x100;
        memcpy(want, &other, sizeof other);
        c->init(o, other);
        if (memcmp(o, want, c->size) != 0)
            fail_msg("%s: init for ABI %#x wrote more than abi", c->name, other);
        c->init(o, INRF_ABI_VERSION);
        for (size_t r = 0; r < c->reserved_count; r++) {
            uint64_t v;
            memcpy(&v, o + c->reserved_offset + r * sizeof v, sizeof v);
            assert_int_equal(v, 0);
        }
        free(o);
        free(want);
    }
}

/* A scan's chunk entries come back with their reserved fields 0. */
static void test_chunk_info_reserved(void **state)
{
    (void)state;
    inrf_chunk_info info[16];
    memset(info, 0xa5, sizeof info);
    size_t n = 0;
    assert_int_equal(inrf_scan_memory(file, file_size, info, 16, &n), INRF_OK);
    assert_true(n > 0 && n <= 16);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < sizeof info[i].reserved_ / sizeof info[i].reserved_[0]; r++)
            assert_int_equal(info[i].reserved_[r], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_this_version),
        cmocka_unit_test(test_other_minor),
        cmocka_unit_test(test_reserved_set),
        cmocka_unit_test(test_other_major),
        cmocka_unit_test(test_init_other_major),
        cmocka_unit_test(test_chunk_info_reserved),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
