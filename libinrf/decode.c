/* decode.c: CPU decoding of a model to pixels at any size and for any
 * window (spec "Decoding"): tiles of pixels spread over the library's
 * threads (pool.h), each evaluated by the fastest tile kernel this CPU runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu.h"
#include "inrf/kind.h"
#include "inrf/siren_math.h"
#include "internal.h"
#include "pool.h"

void inrf_decode_options_init_(inrf_decode_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->window[0] = opt->window[1] = -1.0;
    opt->window[2] = opt->window[3] = 1.0;
}

void inrf_window_from_pixels(double window[4], uint32_t full_w, uint32_t full_h, uint32_t x,
                             uint32_t y, uint32_t w, uint32_t h)
{
    /* Pixel edges of the full image map to [-1, 1]: edge e is 2e/n - 1.
     * The window's pixel centres are then exactly the full decode's. */
    window[0] = 2.0 * x / full_w - 1.0;
    window[1] = 2.0 * y / full_h - 1.0;
    window[2] = 2.0 * (x + (double)w) / full_w - 1.0;
    window[3] = 2.0 * (y + (double)h) / full_h - 1.0;
}

const char *inrf_decode_kernel_name(void) { return inrf_cpu_level_name(inrf_cpu_level_pick()); }

static inrf_status check_decode(const inrf_model *m, const inrf_decode_options *opt,
                                const void *pixels, uint32_t *w, uint32_t *h)
{
    if (!m || !opt || !pixels)
        return inrf_fail(INRF_E_INVALID_ARG, "decode: NULL argument");
    inrf_status st = inrf_check_abi(opt->abi, opt->reserved_, INRF_RESERVED_COUNT(opt),
                                    "decode options", "inrf_decode_options_init");
    if (st != INRF_OK)
        return st;
    *w = opt->width ? opt->width : m->arch.width;
    *h = opt->height ? opt->height : m->arch.height;
    if ((uint64_t)*w * *h > ((uint64_t)1 << 34))
        return inrf_fail(INRF_E_LIMIT, "decode: %ux%u pixels is too many", *w, *h);
    for (int i = 0; i < 4; i++)
        if (!isfinite(opt->window[i]))
            return inrf_fail(INRF_E_INVALID_ARG, "decode: window is not finite");
    if (opt->canvas_w && ((uint64_t)opt->crop_x + *w > opt->canvas_w ||
                          (uint64_t)opt->crop_y + *h > opt->canvas_h))
        return inrf_fail(INRF_E_INVALID_ARG, "decode: crop %ux%u+%u+%u outside the %ux%u canvas",
                         *w, *h, opt->crop_x, opt->crop_y, opt->canvas_w, opt->canvas_h);
    if (opt->threads < 0)
        return inrf_fail(INRF_E_INVALID_ARG, "decode: negative thread count");
    return INRF_OK;
}

/* Maps a tile's linear outputs (res: [C][INRF_TILE]) to the sink's values,
 * channel-major so that the loops vectorise, then interleaves them into
 * the rows. */
static void store_tile(const inrf_sink *sink, float *res, unsigned C, int signed_out,
                       const uint32_t *ii, const uint32_t *jj, unsigned count, size_t stride)
{
    for (unsigned c = 0; c < C; c++) {
        float *r = res + c * INRF_TILE;
        for (unsigned p = 0; p < INRF_TILE; p++)
            r[p] = inrf_output_unit(r[p], signed_out);
    }
    if (sink->zero_x)
        for (unsigned p = 0; p < count; p++)
            if (sink->zero_x[ii[p]] | sink->zero_y[jj[p]])
                for (unsigned c = 0; c < C; c++)
                    res[c * INRF_TILE + p] = 0.0f;
    if (sink->u8) {
        uint8_t q[3][INRF_TILE];
        for (unsigned c = 0; c < C; c++)
            for (unsigned p = 0; p < INRF_TILE; p++)
                q[c][p] = inrf_unit_to_u8(res[c * INRF_TILE + p]);
        for (unsigned p = 0; p < count; p++) {
            uint8_t *o = sink->u8 + (size_t)jj[p] * stride + (size_t)ii[p] * C;
            for (unsigned c = 0; c < C; c++)
                o[c] = q[c][p];
        }
        return;
    }
    if (sink->std)
        for (unsigned c = 0; c < C; c++) {
            float *r = res + c * INRF_TILE, m = sink->mean[c], sd = sink->std[c];
            for (unsigned p = 0; p < INRF_TILE; p++)
                r[p] = (r[p] - m) / sd;
        }
    if (sink->f16) {
        for (unsigned p = 0; p < count; p++) {
            uint16_t *o = (uint16_t *)((uint8_t *)sink->f16 + (size_t)jj[p] * stride) +
                          (size_t)ii[p] * C;
            for (unsigned c = 0; c < C; c++)
                o[c] = inrf_f32_to_f16_rn(res[c * INRF_TILE + p]);
        }
        return;
    }
    for (unsigned p = 0; p < count; p++) {
        float *o = (float *)((uint8_t *)sink->f32 + (size_t)jj[p] * stride) + (size_t)ii[p] * C;
        for (unsigned c = 0; c < C; c++)
            o[c] = res[c * INRF_TILE + p];
    }
}

/* What every tile of one grid decode shares. */
typedef struct grid {
    const inrf_cpu_eval *eval; /* the model's kind's */
    const inrf_sink *sink;
    const float *cx, *cy;
    uint32_t W;
    uint64_t npix;
    unsigned C;
    int signed_out;
} grid;

/* Tile t of the grid; scratch: the tile kernel's, then xy and res. */
static void decode_tile(const grid *g, int64_t t, float *scratch)
{
    float *xy = scratch + g->eval->scratch_floats, *res = xy + 2 * INRF_TILE;
    uint64_t first = (uint64_t)t * INRF_TILE;
    unsigned count = g->npix - first < INRF_TILE ? (unsigned)(g->npix - first) : INRF_TILE;
    /* pixel (i, j) of the first sample; then step along the rows (one
     * division a tile, not two a pixel) */
    uint32_t i0 = (uint32_t)(first % g->W), j0 = (uint32_t)(first / g->W);
    uint32_t ii[INRF_TILE], jj[INRF_TILE];
    for (unsigned p = 0, i = i0, j = j0; p < INRF_TILE; p++) {
        ii[p] = i, jj[p] = j;
        if (p + 1 < count && ++i == g->W)
            i = 0, j++;
        xy[p] = g->cx[ii[p]];
        xy[INRF_TILE + p] = g->cy[jj[p]];
    }
    g->eval->tile(g->eval->state, xy, res, scratch);
    store_tile(g->sink, res, g->C, g->signed_out, ii, jj, count, g->sink->stride);
}

/* Decode threads follow the work: a thread for every MACS_PER_THREAD
 * multiply-adds of the network (about 0.1 ms on one core), so that a
 * decode of a few thousand pixels stays on the calling thread; tasks of
 * TILES_PER_TASK tiles. */
#define MACS_PER_THREAD ((uint64_t)1 << 21)
enum { TILES_PER_TASK = 4 };

/* A grid decode's tasks: worker w's scratch is at scratch + w * floats. */
typedef struct grid_job {
    const grid *g;
    int64_t ntiles;
    float *scratch;
    size_t floats;
} grid_job;

static void grid_task(void *ctx, size_t task, int worker)
{
    const grid_job *j = ctx;
    float *scratch = j->scratch + (size_t)worker * j->floats;
    int64_t t0 = (int64_t)task * TILES_PER_TASK;
    int64_t t1 = t0 + TILES_PER_TASK < j->ntiles ? t0 + TILES_PER_TASK : j->ntiles;
    for (int64_t t = t0; t < t1; t++)
        decode_tile(j->g, t, scratch);
}

/* Where decoded pixels go (internal.h): evaluates the W x H grid of
 * coordinates cx[i], cy[j] on at most `threads` threads (0: the default),
 * as many as the work is worth. Every tile is computed alone, so the
 * pixels do not depend on the thread count. */
inrf_status inrf_decode_grid(const inrf_model *m, uint32_t W, uint32_t H, const float *cx,
                             const float *cy, const inrf_sink *sink, int threads)
{
    const inrf_kind_ops *kind;
    inrf_cpu_eval ev;
    inrf_status st = inrf_kind_of(&m->arch, &kind);
    if (st != INRF_OK || (st = kind->cpu_eval(m, &ev)) != INRF_OK)
        return st;
    const unsigned C = m->arch.channels;
    const grid g = {&ev, sink, cx, cy, W, (uint64_t)W * H, C,
                    m->arch.output_map == INRF_OUTPUT_SIGNED};
    const int64_t ntiles = (int64_t)((g.npix + INRF_TILE - 1) / INRF_TILE);
    const uint64_t ntasks = ((uint64_t)ntiles + TILES_PER_TASK - 1) / TILES_PER_TASK;
    /* a multiple of 64 bytes: each worker's scratch stays aligned */
    const size_t floats = ((ev.scratch_floats + (2 + C) * (size_t)INRF_TILE) + 15) & ~(size_t)15;
    /* npix <= 2^34, macs < 2^26: the product fits */
    const int nt = inrf_pool_threads(
        threads, g.npix * inrf_model_macs_per_pixel(m) / MACS_PER_THREAD, ntasks);
    float *scratch = aligned_alloc(64, (size_t)nt * floats * sizeof(float));
    if (!scratch) {
        inrf_cpu_eval_free(&ev);
        return inrf_fail(INRF_E_NOMEM, "decode: out of memory");
    }
    grid_job job = {&g, ntiles, scratch, floats};
    inrf_parallel_for((size_t)ntasks, nt, grid_task, &job);
    free(scratch);
    inrf_cpu_eval_free(&ev);
    return INRF_OK;
}

/* Shared by the u8 and f32 entry points: exactly one of out8, outf. */
static inrf_status decode(const inrf_model *m, const inrf_decode_options *opt, uint8_t *out8,
                          float *outf, size_t stride)
{
    uint32_t W = 0, H = 0;
    inrf_status st = check_decode(m, opt, out8 ? (void *)out8 : (void *)outf, &W, &H);
    if (st != INRF_OK)
        return st;
    const unsigned C = m->arch.channels;
    if (stride == 0)
        stride = (size_t)W * C * (out8 ? 1 : sizeof(float));
    float *cx = malloc(((size_t)W + H) * sizeof(float));
    if (!cx)
        return inrf_fail(INRF_E_NOMEM, "decode: out of memory");
    float *cy = cx + W;
    for (uint32_t i = 0; i < W; i++)
        cx[i] = opt->canvas_w ? inrf_coord(opt->crop_x + i, opt->canvas_w, -1.0, 1.0)
                              : inrf_coord(i, W, opt->window[0], opt->window[2]);
    for (uint32_t j = 0; j < H; j++)
        cy[j] = opt->canvas_w ? inrf_coord(opt->crop_y + j, opt->canvas_h, -1.0, 1.0)
                              : inrf_coord(j, H, opt->window[1], opt->window[3]);
    inrf_sink sink = {.u8 = out8, .f32 = outf, .stride = stride};
    st = inrf_decode_grid(m, W, H, cx, cy, &sink, opt->threads);
    free(cx);
    return st;
}

inrf_status inrf_decode_u8(const inrf_model *m, const inrf_decode_options *opt, uint8_t *pixels,
                           size_t stride)
{
    return decode(m, opt, pixels, NULL, stride);
}

inrf_status inrf_decode_f32(const inrf_model *m, const inrf_decode_options *opt, float *pixels,
                            size_t stride)
{
    return decode(m, opt, NULL, pixels, stride);
}
