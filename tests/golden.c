/* golden.c: seeded models covering every layer encoding, pruning, zstd,
 * grey and signed output; their files are committed in tests/golden/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"

const golden_case golden_cases[GOLDEN_COUNT] = {
    {"tiny", 13, 7},    /* 8x8 RGB, 1 sine layer of 4, all f32, no zstd */
    {"cifar", 45, 45},  /* 32x32 RGB, 3x15, int8 hidden, one pruned, zstd */
    {"grey", 31, 19},   /* 48x40 grey, 4x12, f16/int8-row, f16 biases, signed */
    {"imagenet", 100, 60}, /* 64x48 RGB, 10x40, int8 hidden, pruned, zstd */
};

/* A reproducible pruning mask keeping about keep_pct percent. */
static void make_mask(uint8_t *mask, size_t n, unsigned keep_pct, uint32_t seed)
{
    memset(mask, 0, (n + 7) / 8);
    uint32_t s = seed;
    for (size_t k = 0; k < n; k++) {
        s = s * 1664525u + 1013904223u;
        if ((s >> 8) % 100 < keep_pct)
            mask[k >> 3] |= (uint8_t)(1u << (k & 7));
    }
}

static inrf_status prune(inrf_model *m, unsigned l, unsigned keep_pct, uint32_t seed)
{
    size_t n = (size_t)m->layer[l].in * m->layer[l].out;
    uint8_t *mask = malloc((n + 7) / 8);
    if (!mask)
        return INRF_E_NOMEM;
    make_mask(mask, n, keep_pct, seed);
    inrf_status st = inrf_layer_set_mask(m, l, mask);
    free(mask);
    return st;
}

inrf_status golden_build(unsigned i, inrf_model **out)
{
    inrf_arch a;
    inrf_status st;
    *out = NULL;
    switch (i) {
    case 0: inrf_arch_siren(&a, 8, 8, 3, 1, 4); break;
    case 1: inrf_arch_siren(&a, 32, 32, 3, 3, 15); break;
    case 2:
        inrf_arch_siren(&a, 48, 40, 1, 4, 12);
        a.output_map = INRF_OUTPUT_SIGNED;
        a.omega_first = 25.0f;
        a.hidden[2] = 9;
        break;
    case 3: inrf_arch_siren(&a, 64, 48, 3, 10, 40); break;
    default: return INRF_E_INVALID_ARG;
    }
    inrf_model *m;
    if ((st = inrf_model_create(&a, &m)) != INRF_OK)
        return st;
    inrf_model_init(m, 1000 + i);
    unsigned L = a.layers;
    switch (i) {
    case 0:
        m->psnr = 42.5f;
        break;
    case 1:
        for (unsigned l = 1; l < L && st == INRF_OK; l++)
            st = inrf_layer_encode(m, l, INRF_ENC_INT8, INRF_ENC_F32);
        if (st == INRF_OK)
            st = prune(m, 1, 75, 7);
        m->psnr = 31.25f;
        break;
    case 2:
        st = inrf_layer_encode(m, 0, INRF_ENC_F16, INRF_ENC_F16);
        for (unsigned l = 1; l < L && st == INRF_OK; l++)
            st = inrf_layer_encode(m, l, INRF_ENC_INT8_ROW, INRF_ENC_F16);
        if (st == INRF_OK)
            st = prune(m, 2, 60, 11);
        if (st == INRF_OK)
            st = inrf_layer_encode(m, L, INRF_ENC_F16, INRF_ENC_F32);
        break;
    case 3:
        for (unsigned l = 1; l < L && st == INRF_OK; l++)
            st = inrf_layer_encode(m, l, INRF_ENC_INT8, INRF_ENC_F32);
        for (unsigned l = 3; l < 6 && st == INRF_OK; l++)
            st = prune(m, l, 70, 100 + l);
        m->psnr = 29.0f;
        break;
    }
    if (st != INRF_OK) {
        inrf_model_free(m);
        return st;
    }
    *out = m;
    return INRF_OK;
}

void golden_write_options(unsigned i, inrf_write_options *opt)
{
    inrf_write_options_init(opt);
    opt->compress = i == 0 ? 0 : i == 1 ? 2 : 1; /* cifar: always zstd */
}

const char *golden_path(unsigned i)
{
    static char path[4096];
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/tests/golden/%s.inrf", top ? top : ".", golden_cases[i].name);
    return path;
}

uint8_t *golden_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *size = n;
    return buf;
}
