/* pack_decode.c: the CPU batch decoder of the training data path: samples
 * of a pack decoded at one size, cropped, flipped and normalised. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/kind.h"
#include "inrf/pack.h"
#include "inrf/siren_math.h"
#include "internal.h"
#include "pack_internal.h"
#include "pool.h"

void inrf_batch_options_init_(inrf_batch_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->type = INRF_BATCH_F32;
    for (int c = 0; c < 3; c++)
        opt->std[c] = 1.0f;
}

static inrf_status check_batch(const inrf_pack *p, const uint32_t *idx, size_t n,
                               const float *win, const inrf_batch_options *o, const void *out)
{
    if (!p || (!idx && n) || !o || (!out && n))
        return inrf_fail(INRF_E_INVALID_ARG, "batch decode: NULL argument");
    inrf_status st = inrf_check_abi(o->abi, o->reserved_, INRF_RESERVED_COUNT(o),
                                    "batch options", "inrf_batch_options_init");
    if (st != INRF_OK)
        return st;
    if (o->width < 1 || o->width > 65536 || o->height < 1 || o->height > 65536)
        return inrf_fail(INRF_E_INVALID_ARG, "batch decode: output %ux%u outside 1..65536",
                         o->width, o->height);
    if (o->type != INRF_BATCH_U8 && o->type != INRF_BATCH_F32 && o->type != INRF_BATCH_F16)
        return inrf_fail(INRF_E_INVALID_ARG, "batch decode: type %d unknown", o->type);
    for (int c = 0; c < 3; c++)
        if (!(isfinite(o->mean[c]) && isfinite(o->std[c]) && o->std[c] > 0))
            return inrf_fail(INRF_E_INVALID_ARG, "batch decode: mean/std not finite and positive");
    if (o->threads < 0)
        return inrf_fail(INRF_E_INVALID_ARG, "batch decode: negative thread count");
    for (size_t s = 0; s < n; s++) {
        if (idx[s] >= p->count)
            return inrf_fail(INRF_E_INVALID_ARG, "batch decode: sample %zu: image %u of %u", s,
                             idx[s], p->count);
        for (int k = 0; win && k < 4; k++)
            if (!isfinite(win[4 * s + k]))
                return inrf_fail(INRF_E_INVALID_ARG, "batch decode: sample %zu: window not finite",
                                 s);
    }
    return INRF_OK;
}

/* Bytes of one value of an output type. */
static size_t batch_value_bytes(int type)
{
    return type == INRF_BATCH_U8 ? 1 : type == INRF_BATCH_F16 ? sizeof(uint16_t) : sizeof(float);
}

/* Image i as a sample of a batch, its grid decoded on at most `threads`
 * threads. cx, zx: W + H floats and W + H flags of scratch. */
static inrf_status decode_sample(const inrf_pack *p, inrf_pack_scratch *sc, uint32_t i,
                                 const float *win, const inrf_batch_options *o, void *dst,
                                 float *cx, uint8_t *zx, int threads)
{
    const uint32_t W = o->width, H = o->height;
    const inrf_pack_item *it = &p->items[i];
    inrf_model *m;
    inrf_status st = inrf_pack_scratch_get(p, sc, it->arch, &m);
    if (st != INRF_OK)
        return st;
    if (p->verified) {
        /* the kind's loader of a verified record (SIREN: the expansion the
         * GPU kernels share, inrf/record.h), bounded by the record: the
         * bytes verified at opening may have changed since (a mapped file
         * rewritten in place) */
        const inrf_kind_ops *k = inrf_kind_find(m->arch.kind);
        st = k->weights_load ? k->weights_load(m, it->record, it->size)
                             : k->weights_parse(m, it->record, it->size);
        if (st != INRF_OK)
            return inrf_fail(INRF_E_FORMAT, "record %u (class %s, offset %llu): %s: the pack "
                             "changed after it was verified", i, p->names[it->label],
                             (unsigned long long)it->offset, inrf_last_error());
    } else if ((st = inrf_pack_check_record(p, i, m)) != INRF_OK) {
        /* a pack opened without verification: each record is checked (its
         * checksum too) before it is decoded */
        return st;
    }
    double x0 = win ? win[0] : -1.0, y0 = win ? win[1] : -1.0;
    double x1 = win ? win[2] : 1.0, y1 = win ? win[3] : 1.0;
    float *cy = cx + W;
    uint8_t *zy = zx + W;
    for (uint32_t x = 0; x < W; x++) {
        cx[x] = inrf_coord(x, W, x0, x1);
        zx[x] = cx[x] < -1.0f || cx[x] > 1.0f;
    }
    for (uint32_t y = 0; y < H; y++) {
        cy[y] = inrf_coord(y, H, y0, y1);
        zy[y] = cy[y] < -1.0f || cy[y] > 1.0f;
    }
    const unsigned C = p->channels;
    inrf_sink sink = {0};
    if (o->type == INRF_BATCH_U8) {
        sink.u8 = dst;
        sink.stride = (size_t)W * C;
    } else {
        if (o->type == INRF_BATCH_F16)
            sink.f16 = dst, sink.stride = (size_t)W * C * sizeof(uint16_t);
        else
            sink.f32 = dst, sink.stride = (size_t)W * C * sizeof(float);
        sink.mean = o->mean;
        sink.std = o->std;
    }
    if (o->zero_outside)
        sink.zero_x = zx, sink.zero_y = zy;
    return inrf_decode_grid(m, W, H, cx, cy, &sink, threads);
}

/* Batch threads follow the work: a thread for every PIXELS_PER_THREAD
 * output pixels, a sample a task (samples are many and alike, and the
 * record is expanded once per sample). A batch that runs on one thread
 * leaves the threads to its samples' own decodes (one large image). */
enum { PIXELS_PER_THREAD = 4096 };

/* A batch's shared state; the first failure under the lock. */
typedef struct batch_job {
    const inrf_pack *p;
    const uint32_t *idx;
    const float *win;
    const inrf_batch_options *o;
    uint8_t *out;
    size_t per;                /* bytes of one sample */
    inrf_pack_scratch *sc;     /* [threads]: each worker's models */
    float **grid;              /* [threads]: each worker's coordinates and flags */
    int inner;                 /* threads of each sample's decode */
    inrf_status first;
    size_t first_s;
    char msg[512];
    pthread_mutex_t lock;
} batch_job;

static void batch_task(void *ctx, size_t s, int worker)
{
    batch_job *j = ctx;
    const inrf_batch_options *o = j->o;
    float *grid = j->grid[worker];
    inrf_status st =
        j->sc[worker].m && grid
            ? decode_sample(j->p, &j->sc[worker], j->idx[s], j->win ? j->win + 4 * s : NULL, o,
                            j->out + j->per * s, grid, (uint8_t *)(grid + o->width + o->height),
                            j->inner)
            : inrf_fail(INRF_E_NOMEM, "batch decode: out of memory");
    if (st == INRF_OK)
        return;
    pthread_mutex_lock(&j->lock);
    if (s < j->first_s) {
        j->first_s = s;
        j->first = st;
        snprintf(j->msg, sizeof j->msg, "%s", inrf_last_error());
    }
    pthread_mutex_unlock(&j->lock);
}

inrf_status inrf_pack_decode_batch(const inrf_pack *p, const uint32_t *idx, size_t n,
                                   const float *win, const inrf_batch_options *o, void *out)
{
    inrf_status st = check_batch(p, idx, n, win, o, out);
    if (st != INRF_OK || n == 0)
        return st;
    const uint64_t pixels = (uint64_t)o->width * o->height;
    const uint64_t by_work = n > UINT32_MAX ? n : (uint64_t)n * pixels / PIXELS_PER_THREAD;
    const size_t nt = (size_t)inrf_pool_threads(o->threads, by_work, n);
    batch_job j = {.p = p, .idx = idx, .win = win, .o = o, .out = out,
                   .per = pixels * p->channels * batch_value_bytes(o->type),
                   .inner = nt == 1 ? o->threads : 1, .first = INRF_OK, .first_s = SIZE_MAX};
    j.sc = calloc(nt, sizeof *j.sc);
    j.grid = calloc(nt, sizeof *j.grid);
    if (!j.sc || !j.grid) {
        free(j.sc);
        free(j.grid);
        return inrf_fail(INRF_E_NOMEM, "batch decode: out of memory");
    }
    for (size_t w = 0; w < nt; w++) { /* NULL: that worker's samples fail */
        j.sc[w].m = calloc(p->archs, sizeof(inrf_model *));
        j.grid[w] = malloc(((size_t)o->width + o->height) * (sizeof(float) + 1));
    }
    pthread_mutex_init(&j.lock, NULL);
    inrf_parallel_for(n, (int)nt, batch_task, &j);
    pthread_mutex_destroy(&j.lock);
    for (size_t w = 0; w < nt; w++) {
        free(j.grid[w]);
        inrf_pack_scratch_free(p, &j.sc[w]);
    }
    free(j.grid);
    free(j.sc);
    if (j.first != INRF_OK)
        return inrf_fail(j.first, "batch decode: sample %zu: %s", j.first_s, j.msg);
    return INRF_OK;
}
