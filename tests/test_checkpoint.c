/* test_checkpoint.c: inrtrain's checkpoint reader (trainer/checkpoint.c)
 * refuses every header field out of range and every bad tensor value even
 * behind a valid checksum, naming the file and the field; a checkpoint
 * written and read back is the same. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "../trainer/checkpoint.h"
#include "../trainer/cpu_backend.h"
#include "../trainer/error.h"
#include "../trainer/resnet18.h"

typedef struct fixture {
    trn_backend *be;
    trn_resnet18 *m;
    char path[256];
    uint8_t *good;             /* the file as written */
    size_t size;
} fixture;

static char *names[2] = {"cats", "dogs"};

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(*size);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, *size, f), *size);
    fclose(f);
    return d;
}

static void spill(const char *path, const uint8_t *d, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, size, f), size);
    fclose(f);
}

/* A model of width 1 at 8x8, two classes, saved after "3 of 5 epochs". */
static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    assert_int_equal(trn_cpu_backend_create(1, &fx->be), INRF_OK);
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.classes = 2, cfg.base_width = 1, cfg.image_h = cfg.image_w = 8, cfg.batch = 2;
    assert_int_equal(trn_resnet18_create(fx->be, &cfg, &fx->m), INRF_OK);
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fx->path, sizeof fx->path, "%s/test_checkpoint.%ld.ckpt", dir, (long)getpid());
    trn_ckpt_meta meta = {2, 1, 8, 3, 5, 2, 7, 15, 0.01f, 0.9f, 5e-4f, 0.1f, 0,
                          {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}, names};
    assert_int_equal(trn_ckpt_save(fx->path, fx->m, fx->be, &meta), INRF_OK);
    fx->good = slurp(fx->path, &fx->size);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    unlink(fx->path);
    free(fx->good);
    trn_resnet18_free(fx->m);
    fx->be->destroy(fx->be);
    free(fx);
    return 0;
}

static void reseal(uint8_t *d, size_t size)
{
    uint64_t h = XXH3_64bits(d, size - 8);
    for (int i = 0; i < 8; i++)
        d[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
}

static void put(uint8_t *d, size_t off, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        d[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void putf(uint8_t *d, size_t off, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put(d, off, u, 4);
}

/* Reads the forged file back: the status, and the message in msg. */
static inrf_status load(fixture *fx, const uint8_t *d, size_t size, char *msg)
{
    spill(fx->path, d, size);
    trn_ckpt_meta meta;
    inrf_status st = trn_ckpt_load(fx->path, fx->m, fx->be, 1, &meta);
    snprintf(msg, 512, "%s", trn_last_error());
    if (st == INRF_OK)
        trn_ckpt_meta_free(&meta);
    return st;
}

static void test_round_trip(void **state)
{
    fixture *fx = *state;
    char msg[512];
    assert_int_equal(load(fx, fx->good, fx->size, msg), INRF_OK);
    trn_ckpt_meta meta;
    assert_int_equal(trn_ckpt_read_meta(fx->path, &meta), INRF_OK);
    assert_int_equal(meta.classes, 2);
    assert_int_equal(meta.epochs_done, 3);
    assert_int_equal(meta.step, 15);
    assert_string_equal(meta.class_names[1], "dogs");
    trn_ckpt_meta_free(&meta);
}

/* Each header field out of range, the checksum recomputed: refused with
 * the field named. */
static void test_forged_header(void **state)
{
    fixture *fx = *state;
    enum { U, F };
    static const struct {
        size_t off;
        int type, bytes;
        double v;
        const char *field;
    } cases[] = {
        {8, U, 1, 2, "version 2"},
        {10, U, 2, 1, "reserved"},
        {16, U, 4, 0, "classes 0"},
        {16, U, 4, 70000, "classes 70000"},
        {20, U, 4, 0, "base_width 0"},
        {20, U, 4, 4096, "base_width 4096"},
        {24, U, 4, 4, "image_size 4"},
        {24, U, 4, 100000, "image_size 100000"},
        {28, U, 4, 6, "epochs_done 6"},
        {32, U, 4, 0, "epochs 0"},
        {32, U, 4, 1000000, "epochs 1000000"},
        {36, U, 4, 0, "batch 0"},
        {36, U, 4, 1, "batch 1"},
        {36, U, 4, 0x7fffffff, "batch 2147483647"},
        {40, U, 4, 2, "decay_all 2"},
        {48, U, 4, 1, "seed"},
        {52, U, 8, 1e15, "step"},
        {60, F, 4, NAN, "lr"},
        {60, F, 4, -1, "lr -1"},
        {60, F, 4, INFINITY, "lr inf"},
        {64, F, 4, 2, "momentum 2"},
        {68, F, 4, -0.5, "weight_decay"},
        {72, F, 4, 0.75, "smoothing"},
        {80, F, 4, NAN, "mean[1]"},
        {88, F, 4, 0, "std[0] 0"},
        {96, F, 4, -0.25, "std[2]"},
        {96, F, 4, INFINITY, "std[2]"},
        {100, U, 2, 0, "class 0: name of 0 bytes"},
        {101, U, 1, 1, "class "},   /* length 260 */
        {102, U, 1, 0, "NUL"},      /* "\0ats" */
        {108, U, 4, 0x73746163, "twice"}, /* "dogs" -> "cats" */
    };
    uint8_t *d = malloc(fx->size);
    assert_non_null(d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(d, fx->good, fx->size);
        if (cases[i].type == U)
            put(d, cases[i].off, (uint64_t)cases[i].v, cases[i].bytes);
        else
            putf(d, cases[i].off, (float)cases[i].v);
        reseal(d, fx->size);
        char msg[512];
        inrf_status st = load(fx, d, fx->size, msg);
        if (st == INRF_OK || !strstr(msg, cases[i].field) || !strstr(msg, fx->path))
            fprintf(stderr, "case %zu (%s): status %d, \"%s\"\n", i, cases[i].field, st, msg);
        assert_int_not_equal(st, INRF_OK);
        assert_non_null(strstr(msg, cases[i].field));
        assert_non_null(strstr(msg, fx->path));
        assert_null(strchr(msg, '\n'));
    }
    free(d);
}

/* The file offset of tensor t's values (after the header and names), its
 * count and whether momentum follows. */
static size_t tensor_at(const uint8_t *d, int t, uint32_t *count, int *has_mom)
{
    size_t pos = 100;
    for (int c = 0; c < 2; c++)
        pos += 2 + (size_t)(d[pos] | d[pos + 1] << 8);
    for (int k = 0;; k++) {
        size_t nl = d[pos];
        pos += 1 + nl;
        *has_mom = d[pos + 1];
        *count = (uint32_t)(d[pos + 2] | d[pos + 3] << 8 | d[pos + 4] << 16 |
                            (uint32_t)d[pos + 5] << 24);
        pos += 6;
        if (k == t)
            return pos;
        pos += 4 * (size_t)*count * (*has_mom ? 2 : 1);
    }
}

/* Non-finite weights and momentum, a negative running variance, a wrong
 * kind: refused, naming the tensor. */
static void test_forged_tensors(void **state)
{
    fixture *fx = *state;
    int n;
    const trn_param *p = trn_resnet18_params(fx->m, &n);
    int var = -1;
    for (int i = 0; i < n && var < 0; i++)
        if (strstr(p[i].name, "running_var"))
            var = i;
    assert_true(var > 0);
    uint8_t *d = malloc(fx->size);
    assert_non_null(d);
    for (int c = 0; c < 5; c++) {
        memcpy(d, fx->good, fx->size);
        uint32_t count;
        int has_mom;
        const char *want = p[0].name;
        size_t v = tensor_at(d, 0, &count, &has_mom);
        switch (c) {
        case 0: putf(d, v + 4, NAN); break;
        case 1: putf(d, v, INFINITY); break;
        case 2: putf(d, v + 4 * (size_t)count, NAN), want = "momentum"; break;
        case 3:
            v = tensor_at(d, var, &count, &has_mom);
            putf(d, v, -1.0f);
            want = "negative variance";
            break;
        case 4: d[v - 6] = 2; break; /* conv1.weight's kind */
        }
        reseal(d, fx->size);
        char msg[512];
        inrf_status st = load(fx, d, fx->size, msg);
        if (st != INRF_E_FORMAT || !strstr(msg, want))
            fprintf(stderr, "case %d: status %d, \"%s\"\n", c, st, msg);
        assert_int_equal(st, INRF_E_FORMAT);
        assert_non_null(strstr(msg, want));
        assert_non_null(strstr(msg, fx->path));
    }
    free(d);
}

/* A file that cannot be read: its path once in the message. */
static void test_path_once(void **state)
{
    trn_ckpt_meta meta;
    const char *path = "/nonexistent-dir/x.ckpt";
    assert_int_not_equal(trn_ckpt_read_meta(path, &meta), INRF_OK);
    const char *msg = trn_last_error(), *first = strstr(msg, path);
    assert_non_null(first);
    assert_null(strstr(first + 1, path));
    fixture *fx = *state;
    trn_ckpt_meta m = {2, 1, 8, 3, 5, 2, 7, 15, 0.01f, 0.9f, 5e-4f, 0.1f, 0,
                       {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}, names};
    assert_int_not_equal(trn_ckpt_save(path, fx->m, fx->be, &m), INRF_OK);
    msg = trn_last_error(), first = strstr(msg, path);
    assert_non_null(first);
    assert_null(strstr(first + 1, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_forged_header),
        cmocka_unit_test(test_forged_tensors),
        cmocka_unit_test(test_path_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
