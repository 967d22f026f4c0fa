/* grid.c: the testing kind "grid" on the CPU: its NHDR and WGHT payloads,
 * its models, its evaluator, its inspection text and a small encoder, as
 * the kind interface (inrf/kind.h) asks. Only inrf_report() and the
 * public API: a kind needs nothing else from libinrf. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "grid.h"
#include "grid_math.h"

__attribute__((format(printf, 2, 3))) static inrf_status fail(inrf_status st, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return inrf_report(st, msg);
}

void grid_arch(inrf_arch *a, uint32_t width, uint32_t height, uint8_t channels, unsigned gw,
               unsigned gh)
{
    memset(a, 0, sizeof *a);
    a->width = width;
    a->height = height;
    a->channels = channels;
    a->kind = INRF_KIND_TESTING;
    a->params[0] = gw;
    a->params[1] = gh;
}

static size_t latents(const inrf_arch *a) { return (size_t)grid_w(a) * grid_h(a) * a->channels; }

/* ------------------------------------------------------------------- NHDR */

static size_t nhdr_size(const uint8_t *d, size_t avail)
{
    (void)d, (void)avail;
    return GRID_NHDR_SIZE;
}

static inrf_status arch_check(const inrf_arch *a, int writable)
{
    (void)writable; /* 256 x 256 x 3 latents are far below every limit */
    if (a->output_map != INRF_OUTPUT_UNIT || a->layers != 0)
        return fail(INRF_E_INVALID_ARG, "grid: output mapping %u, layers %u: must be 0",
                    a->output_map, a->layers);
    if (grid_w(a) < 2 || grid_w(a) > GRID_MAX || grid_h(a) < 2 || grid_h(a) > GRID_MAX)
        return fail(INRF_E_FORMAT, "grid %ux%u outside 2..256", grid_w(a), grid_h(a));
    for (unsigned i = 2; i < sizeof a->params / sizeof *a->params; i++)
        if (a->params[i])
            return fail(INRF_E_INVALID_ARG, "grid: params[%u] = %u, must be 0", i, a->params[i]);
    return INRF_OK;
}

static inrf_status nhdr_parse(inrf_arch *a, const uint8_t *d, size_t n,
                              const inrf_read_options *opt)
{
    if (n != GRID_NHDR_SIZE)
        return fail(INRF_E_FORMAT, "NHDR: %zu bytes, the grid kind has %d", n, GRID_NHDR_SIZE);
    if (d[1] || inrf_ld16(d + 6))
        return fail(INRF_E_FORMAT, "NHDR: reserved fields %u, %u: must be 0", d[1],
                    inrf_ld16(d + 6));
    a->output_map = INRF_OUTPUT_UNIT;
    a->layers = 0;
    memset(a->params, 0, sizeof a->params);
    a->params[0] = inrf_ld16(d + 2);
    a->params[1] = inrf_ld16(d + 4);
    inrf_status st = arch_check(a, 0);
    if (st != INRF_OK)
        return st;
    if (latents(a) > opt->max_params)
        return fail(INRF_E_LIMIT, "NHDR: %zu latents over the limit %zu (max_params)", latents(a),
                    opt->max_params);
    return INRF_OK;
}

static size_t nhdr_put(const inrf_arch *a, uint8_t *d)
{
    memset(d, 0, GRID_NHDR_SIZE);
    d[0] = INRF_KIND_TESTING;
    inrf_st16(d + 2, (uint16_t)grid_w(a));
    inrf_st16(d + 4, (uint16_t)grid_h(a));
    return GRID_NHDR_SIZE;
}

static size_t weights_max(const inrf_arch *a) { return 4 + latents(a); }

/* ------------------------------------------------------------------ model */

static inrf_status model_alloc(inrf_model *m)
{
    grid_weights *g = calloc(1, sizeof *g + latents(&m->arch));
    if (!g)
        return inrf_report(INRF_E_NOMEM, "grid: out of memory");
    g->scale = 1.0f / 127.0f;
    m->weights = g;
    m->arena_ = g;
    return INRF_OK;
}

static void model_release(inrf_model *m)
{
    free(m->arena_);
    m->arena_ = m->weights = NULL;
}

static void model_copy(inrf_model *dst, const inrf_model *src)
{
    memcpy(dst->weights, src->weights, sizeof(grid_weights) + latents(&src->arch));
}

/* ------------------------------------------------------------------- WGHT */

static inrf_status weights_parse(inrf_model *m, const uint8_t *d, size_t n)
{
    grid_weights *g = m->weights;
    const size_t want = weights_max(&m->arch);
    if (n != want)
        return fail(INRF_E_FORMAT, "WGHT: %zu bytes, the grid needs %zu", n, want);
    float s = inrf_ldf32(d);
    if (!(isfinite(s) && s > 0.0f))
        return inrf_report(INRF_E_FORMAT, "WGHT: scale not finite and > 0");
    for (size_t k = 0; k < want - 4; k++)
        if (d[4 + k] == 0x80)
            return fail(INRF_E_FORMAT, "WGHT: latent %zu is int8 -128", k);
    g->scale = s;
    memcpy(g->q, d + 4, want - 4);
    return INRF_OK;
}

static inrf_status weights_check(const inrf_model *m)
{
    const grid_weights *g = m->weights;
    if (!(isfinite(g->scale) && g->scale > 0.0f))
        return inrf_report(INRF_E_INVALID_ARG, "grid: scale not finite and > 0");
    for (size_t k = 0; k < latents(&m->arch); k++)
        if (g->q[k] == -128)
            return fail(INRF_E_INVALID_ARG, "grid: latent %zu is -128", k);
    return INRF_OK;
}

static size_t weights_size(const inrf_model *m) { return weights_max(&m->arch); }

static void weights_put(const inrf_model *m, uint8_t *d)
{
    const grid_weights *g = m->weights;
    inrf_stf32(d, g->scale);
    memcpy(d + 4, g->q, latents(&m->arch));
}

/* -------------------------------------------------------------- evaluator */

static void tile(const void *state, const float *xy, float *out, float *scratch)
{
    const grid_view *g = state;
    (void)scratch;
    for (unsigned p = 0; p < INRF_TILE; p++) {
        float v[3];
        grid_pixel(g, xy[p], xy[INRF_TILE + p], v);
        for (unsigned c = 0; c < g->channels; c++)
            out[c * INRF_TILE + p] = v[c];
    }
}

static inrf_status cpu_eval(const inrf_model *m, inrf_cpu_eval *ev)
{
    grid_view *g = malloc(sizeof *g);
    if (!g)
        return inrf_report(INRF_E_NOMEM, "grid: out of memory");
    const grid_weights *w = m->weights;
    *g = (grid_view){grid_w(&m->arch), grid_h(&m->arch), m->arch.channels, w->scale, w->q};
    ev->tile = tile;
    ev->state = g;
    ev->scratch_floats = 0;
    ev->owned = g;
    return INRF_OK;
}

static uint64_t macs_per_pixel(const inrf_model *m) { return 3u * m->arch.channels; }

/* ------------------------------------------------------------- inspection */

static size_t info(const inrf_model *m, const inrf_arch *a, int part, char *buf, size_t size)
{
    size_t len = 0;
    const unsigned gw = grid_w(a), gh = grid_h(a);
    switch (part) {
    case INRF_INFO_NETWORK:
        inrf_info_add(buf, size, &len, "  network:     test-grid (kind 255, testing only), "
                      "%u x %u latents, bilinear\n", gw, gh);
        break;
    case INRF_INFO_WEIGHTS:
        inrf_info_add(buf, size, &len, "  latents:     %u x %u x %u int8, scale %g\n", gw, gh,
                      a->channels, (double)((const grid_weights *)m->weights)->scale);
        break;
    case INRF_INFO_JSON:
        inrf_info_add(buf, size, &len, "    \"kind\": \"test-grid\",\n    \"grid_width\": %u,\n"
                      "    \"grid_height\": %u,\n    \"scale\": %.9g", gw, gh,
                      (double)((const grid_weights *)m->weights)->scale);
        break;
    case INRF_INFO_SUMMARY:
        inrf_info_add(buf, size, &len, "test-grid %u x %u", gw, gh);
        break;
    case INRF_INFO_ARCH_JSON:
        inrf_info_add(buf, size, &len, "\"kind\": \"test-grid\", \"grid_width\": %u, "
                      "\"grid_height\": %u", gw, gh);
        break;
    }
    return len;
}

/* --------------------------------------------------------------- encoder */

/* The image averaged over each latent's cell of a 16 x 16 grid (smaller
 * images: a grid of their size, at least 2), quantised with scale 1/127. */
static inrf_status encode(const inrf_image *img, const inrf_encode_options *opt, inrf_model **out,
                          inrf_encode_stats *stats)
{
    (void)opt;
    inrf_arch a;
    unsigned gw = img->width < 16 ? img->width : 16, gh = img->height < 16 ? img->height : 16;
    grid_arch(&a, img->width, img->height, img->channels, gw < 2 ? 2 : gw, gh < 2 ? 2 : gh);
    gw = grid_w(&a), gh = grid_h(&a);
    inrf_status st = inrf_model_create(&a, out);
    if (st != INRF_OK)
        return st;
    grid_weights *g = (*out)->weights;
    const unsigned C = img->channels;
    for (unsigned l = 0; l < gh; l++)
        for (unsigned k = 0; k < gw; k++) {
            uint32_t x0 = k * img->width / gw, x1 = (k + 1) * img->width / gw;
            uint32_t y0 = l * img->height / gh, y1 = (l + 1) * img->height / gh;
            x1 = x1 > x0 ? x1 : x0 + 1, y1 = y1 > y0 ? y1 : y0 + 1;
            for (unsigned c = 0; c < C; c++) {
                double sum = 0;
                for (uint32_t y = y0; y < y1 && y < img->height; y++)
                    for (uint32_t x = x0; x < x1 && x < img->width; x++)
                        sum += img->pixels[((size_t)y * img->width + x) * C + c];
                double v = sum / ((double)(x1 - x0) * (y1 - y0)) / 255.0;
                g->q[((size_t)l * gw + k) * C + c] = (int8_t)lrint(v * 127.0);
            }
        }
    if (stats)
        memset(stats, 0, sizeof *stats), stats->psnr = NAN, stats->target_reached = -1;
    return INRF_OK;
}

const inrf_kind_ops grid_kind = {
    .kind = INRF_KIND_TESTING,
    .name = "test-grid",
    .nhdr_size = nhdr_size,
    .nhdr_parse = nhdr_parse,
    .nhdr_put = nhdr_put,
    .arch_check = arch_check,
    .params = latents,
    .weights_max = weights_max,
    .model_alloc = model_alloc,
    .model_release = model_release,
    .model_copy = model_copy,
    .weights_parse = weights_parse,
    .weights_load = NULL, /* weights_parse is as cheap */
    .weights_check = weights_check,
    .weights_size = weights_size,
    .weights_put = weights_put,
    .cpu_eval = cpu_eval,
    .macs_per_pixel = macs_per_pixel,
    .info = info,
    .encode = encode,
};
