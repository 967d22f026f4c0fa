/* encode_cpu.c: the CPU's batched trainer (inrf_batch_trainer) on the SIMD
 * training pass (train_kernel.c); inrf_encode is a batch of one of it.
 *
 * A step of an image: its pixels cut into chunks of INRF_TRAIN_CHUNK
 * (train.h), one pass a chunk into the chunk's own gradient, the chunks'
 * gradients and losses summed in chunk order, then the loss, the best
 * weights and the Adam step. Nothing depends on which thread runs a chunk
 * or on how many there are: the same bits for any thread count.
 * Threads follow the work (inrf_parallel_for): across images when a stage
 * trains several, each running its steps alone; across the chunks of a
 * step only when one image's chunks are heavy enough that a barrier a
 * step costs nothing (a 10 x 40 network); a CIFAR-10 image (1,024 pixels,
 * 3 x 15) trains on the calling thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu.h"
#include "internal.h"
#include "pool.h"
#include "train.h"

/* Pixels x parameters of a chunk from which the chunks of one image's step
 * run on several threads: 1,024 x 16,523 (10 x 40) does, 1,024 x 573
 * (3 x 15, 0.3 ms) does not. */
#define PARALLEL_CHUNK_WORK (1u << 22)

/* Pixels x parameters x evaluations between two progress ticks (and
 * checks for an interruption), at most 64 evaluations. */
#define TICK_WORK (1u << 24)

typedef struct cpu_trainer {
    int threads;              /* 0: the default */
} cpu_trainer;

/* One image in a stage. */
typedef struct image_run {
    size_t i;                 /* its place in the batch */
    float *w;                 /* [P]: the weights the passes see */
    float *best;              /* [P]: the weights of the best evaluation */
    float *grad;              /* [chunks][P] */
    double *sse;              /* [chunks] */
    float *xy, *y;            /* every pixel in order: [2][npix], [C][npix];
                                 NULL for random samples */
    double best_psnr;
    int s;                    /* the next evaluation */
    int done;
} image_run;

typedef struct stage_run {
    const inrf_tm_batch *b;
    const inrf_tm_stage *st;
    inrf_train_fn pass;
    size_t P, chunks, npix, batch;
    unsigned C;
    float scale;
    image_run *im;            /* [nim]: the active images */
    size_t nim;
    float *work;              /* [workers][work_n] */
    size_t work_n;
    int threads;
    int s_end;                /* this round's evaluations end before it */
    image_run **running;      /* [nim]: chunk-parallel mode, this step's images */
    size_t nrun;
} stage_run;

/* What the file will hold for the current float weights: the encodings of
 * stage 4 applied to a copy (straight-through estimator: gradients flow
 * to the float weights); inrf_tm_fake_quant of every parameter, a scale
 * group at a time. */
static void publish(const stage_run *S, const float *src, float *dst)
{
    const inrf_tm_net *n = &S->b->net;
    const int quant = S->st->quant, half_io = S->st->half_io;
    memcpy(dst, src, n->nparams * sizeof(float));
    if (!quant && !half_io)
        return;
    for (unsigned l = 0; l <= n->layers; l++) {
        float *W = dst + n->woff[l], *bias = dst + n->boff[l];
        unsigned in = n->in[l], out = n->out[l];
        int hidden = l > 0 && l < n->layers;
        if (hidden && quant != INRF_QUANT_NONE) {
            unsigned rows = quant == INRF_QUANT_INT8_ROW ? out : 1;
            size_t span = (size_t)in * out / rows;
            for (unsigned r = 0; r < rows; r++) {
                float *w = W + r * span, amax = 0.0f;
                for (size_t i = 0; i < span; i++)
                    amax = fmaxf(amax, fabsf(w[i]));
                float s = inrf_tm_int8_scale(amax);
                for (size_t i = 0; i < span; i++)
                    w[i] = inrf_tm_int8_round(w[i], s);
            }
        } else if (!hidden && half_io) {
            for (size_t i = 0; i < (size_t)in * out; i++)
                W[i] = inrf_tm_round_half(W[i]);
        }
        if (half_io)
            for (unsigned j = 0; j < out; j++)
                bias[j] = inrf_tm_round_half(bias[j]);
    }
}

/* Chunk c of image r's step r->s: its pixels (in order, or the random
 * samples of train_math.h) into the worker's scratch, one pass into the
 * chunk's gradient. */
static void chunk_pass(const stage_run *S, image_run *r, size_t c, int worker)
{
    const inrf_tm_batch *b = S->b;
    const inrf_image *img = &b->images[r->i];
    const size_t P = S->P, N = INRF_TRAIN_CHUNK, p0 = c * N;
    const size_t cnt = S->batch - p0 < N ? S->batch - p0 : N;
    const size_t n = (cnt + INRF_TRAIN_ALIGN - 1) / INRF_TRAIN_ALIGN * INRF_TRAIN_ALIGN;
    float *xy = S->work + (size_t)worker * S->work_n, *y = xy + 2 * n, *kw = xy + (2 + S->C) * N;
    if (r->xy) {
        for (int k = 0; k < 2; k++)
            memcpy(xy + k * n, r->xy + k * S->npix + p0, cnt * sizeof(float));
        for (unsigned k = 0; k < S->C; k++)
            memcpy(y + k * n, r->y + k * S->npix + p0, cnt * sizeof(float));
    } else {
        const uint64_t key = ((uint64_t)S->st->stage << 32) | (uint32_t)r->s;
        for (size_t t = 0; t < cnt; t++) {
            uint64_t idx = inrf_tm_sample(b->seed, b->image_key[r->i], key, (uint32_t)(p0 + t),
                                          S->npix);
            inrf_tm_pixel_xy(idx, img->width, img->height, &xy[t], &xy[n + t]);
            for (unsigned k = 0; k < S->C; k++)
                y[k * n + t] = img->pixels[idx * S->C + k] * (1.0f / 255.0f);
        }
    }
    for (size_t t = cnt; t < n; t++) { /* padding: pixels that do not count */
        xy[t] = xy[n + t] = 0.0f;
        for (unsigned k = 0; k < S->C; k++)
            y[k * n + t] = 0.0f;
    }
    float *g = r->grad + c * P;
    memset(g, 0, P * sizeof(float));
    r->sse[c] = S->pass(&b->net, r->w, xy, y, n, cnt, S->scale, g, kw);
}

/* The end of evaluation r->s once its chunks have run: the chunks summed
 * in order, the loss, the best weights, and the Adam step unless the
 * stage ends here. */
static void eval_end(const stage_run *S, image_run *r)
{
    const inrf_tm_batch *b = S->b;
    const inrf_tm_stage *st = S->st;
    const size_t P = S->P;
    float *g = r->grad;
    double sse = r->sse[0];
    for (size_t c = 1; c < S->chunks; c++) {
        const float *gc = r->grad + c * P;
        for (size_t k = 0; k < P; k++)
            g[k] += gc[k];
        sse += r->sse[c];
    }
    float *params = b->params + r->i * P, *m = b->m + r->i * P, *v = b->v + r->i * P;
    const uint8_t *keep = b->keep + r->i * P;
    const double mse = sse / ((double)S->batch * S->C);
    const double psnr = mse > 0 ? 10.0 * log10(1.0 / mse) : 99.0;
    const int s = r->s;
    if (psnr > r->best_psnr) { /* the loss is that of the weights before this step */
        r->best_psnr = psnr;
        memcpy(r->best, params, P * sizeof(float));
    }
    if (s == st->steps || (st->stop > 0 && r->best_psnr >= st->stop)) {
        r->done = 1;
        return;
    }
    float lr = inrf_tm_lr(st->lr0, s, st->steps), c1, c2;
    inrf_tm_adam_corrections(b->adam_t[r->i] + s + 1, &c1, &c2);
    for (size_t k = 0; k < P; k++)
        params[k] = inrf_tm_adam(params[k], &m[k], &v[k], g[k], lr, c1, c2, keep[k]);
    publish(S, params, r->w);
    r->s = s + 1;
}

/* Image task: one image's evaluations of the round, alone. */
static void image_task(void *ctx, size_t task, int worker)
{
    const stage_run *S = (const stage_run *)ctx;
    image_run *r = &S->im[task];
    while (!r->done && r->s < S->s_end) {
        for (size_t c = 0; c < S->chunks; c++)
            chunk_pass(S, r, c, worker);
        eval_end(S, r);
    }
}

/* Chunk task: chunk task % chunks of running image task / chunks. */
static void chunk_task(void *ctx, size_t task, int worker)
{
    const stage_run *S = (const stage_run *)ctx;
    chunk_pass(S, S->running[task / S->chunks], task % S->chunks, worker);
}

static void eval_end_task(void *ctx, size_t task, int worker)
{
    (void)worker;
    const stage_run *S = (const stage_run *)ctx;
    eval_end(S, S->running[task]);
}

/* The round's evaluations step by step, each step's chunks of every
 * running image spread over the threads. */
static void run_chunk_parallel(stage_run *S)
{
    for (;;) {
        S->nrun = 0;
        for (size_t k = 0; k < S->nim; k++)
            if (!S->im[k].done && S->im[k].s < S->s_end)
                S->running[S->nrun++] = &S->im[k];
        if (!S->nrun)
            return;
        inrf_parallel_for(S->nrun * S->chunks, S->threads, chunk_task, S);
        inrf_parallel_for(S->nrun, S->threads, eval_end_task, S);
    }
}

static void stage_free(stage_run *S)
{
    for (size_t k = 0; S->im && k < S->nim; k++) {
        free(S->im[k].sse); /* the block of sse, w, best and grad */
        free(S->im[k].xy);
    }
    free(S->im);
    free(S->running);
    free(S->work);
}

/* Every pixel of image i in order, as the passes read them. */
static int fill_pixels(const stage_run *S, image_run *r)
{
    const inrf_image *img = &S->b->images[r->i];
    r->xy = malloc((2 + S->C) * S->npix * sizeof(float));
    if (!r->xy)
        return 0;
    r->y = r->xy + 2 * S->npix;
    for (size_t p = 0; p < S->npix; p++) {
        inrf_tm_pixel_xy(p, img->width, img->height, &r->xy[p], &r->xy[S->npix + p]);
        for (unsigned c = 0; c < S->C; c++)
            r->y[c * S->npix + p] = img->pixels[p * S->C + c] * (1.0f / 255.0f);
    }
    return 1;
}

static inrf_status stage_init(stage_run *S, const cpu_trainer *t, const inrf_tm_batch *b,
                              const inrf_tm_stage *st)
{
    memset(S, 0, sizeof *S);
    S->b = b, S->st = st;
    S->pass = inrf_cpu_train_pass();
    S->P = b->net.nparams;
    S->C = b->net.out[b->net.layers];
    S->npix = (size_t)b->images[0].width * b->images[0].height;
    S->batch = b->batch < S->npix ? b->batch : S->npix;
    S->chunks = (S->batch + INRF_TRAIN_CHUNK - 1) / INRF_TRAIN_CHUNK;
    S->scale = 1.0f / (float)(S->batch * S->C);
    for (size_t i = 0; i < b->n; i++)
        S->nim += !b->active || b->active[i];
    S->threads = inrf_pool_threads(t->threads, UINT64_MAX, (uint64_t)S->nim * S->chunks);
    S->work_n = (2 + S->C) * (size_t)INRF_TRAIN_CHUNK +
                inrf_train_work_floats(&b->net, INRF_TRAIN_CHUNK);
    S->work_n = (S->work_n + 15) & ~(size_t)15; /* 64-byte rows for every worker */
    S->im = calloc(S->nim ? S->nim : 1, sizeof *S->im);
    S->running = calloc(S->nim ? S->nim : 1, sizeof *S->running);
    S->work = aligned_alloc(64, (size_t)S->threads * S->work_n * sizeof(float));
    if (!S->im || !S->running || !S->work)
        return INRF_E_NOMEM;
    const int full = S->batch == S->npix;
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->active && !b->active[i])
            continue;
        image_run *r = &S->im[k++];
        r->i = i;
        r->best_psnr = -1.0;
        /* the doubles first, where malloc's alignment serves them */
        r->sse = malloc(S->chunks * sizeof(double) + (S->P * (2 + S->chunks)) * sizeof(float));
        if (!r->sse)
            return INRF_E_NOMEM;
        r->w = (float *)(r->sse + S->chunks);
        if (full && !fill_pixels(S, r))
            return INRF_E_NOMEM;
        r->best = r->w + S->P;
        r->grad = r->best + S->P;
        publish(S, b->params + i * S->P, r->w);
    }
    return INRF_OK;
}

static inrf_status cpu_run_stage(void *self, const inrf_tm_batch *b, const inrf_tm_stage *st)
{
    const cpu_trainer *t = (const cpu_trainer *)self;
    stage_run S;
    for (size_t i = 0; i < b->n; i++)
        b->taken[i] = 0;
    if (stage_init(&S, t, b, st) != INRF_OK) {
        stage_free(&S);
        return inrf_fail(INRF_E_NOMEM, "encode: out of memory");
    }
    /* one image whose chunks are heavy: its steps spread over the threads */
    const int by_chunk = S.threads > 1 && S.nim < (size_t)S.threads &&
                         (double)INRF_TRAIN_CHUNK * S.P >= PARALLEL_CHUNK_WORK;
    double per_eval = (double)S.batch * S.P;
    int round = per_eval * 64 <= TICK_WORK ? 64 : (int)(TICK_WORK / per_eval);
    round = round < 1 ? 1 : round;
    inrf_status status = INRF_OK;
    for (S.s_end = 0; S.s_end <= st->steps;) {
        S.s_end = S.s_end + round < st->steps + 1 ? S.s_end + round : st->steps + 1;
        if (by_chunk)
            run_chunk_parallel(&S);
        else
            inrf_parallel_for(S.nim, S.threads, image_task, &S);
        int left = 0;
        for (size_t k = 0; k < S.nim; k++)
            left += !S.im[k].done;
        if (!left)
            break;
        if (st->tick && st->tick(st->ctx, S.s_end)) {
            status = inrf_fail(INRF_E_INTERRUPTED, "encode: interrupted");
            break;
        }
    }
    for (size_t k = 0; status == INRF_OK && k < S.nim; k++) {
        const image_run *r = &S.im[k];
        memcpy(b->params + r->i * S.P, r->best, S.P * sizeof(float)); /* the best weights */
        b->best_psnr[r->i] = r->best_psnr;
        b->taken[r->i] = r->s;
        b->adam_t[r->i] += r->s;
    }
    stage_free(&S);
    return status;
}

inrf_status inrf_cpu_trainer_create(int threads, inrf_batch_trainer *out)
{
    cpu_trainer *t = calloc(1, sizeof *t);
    if (!out || !t) {
        free(t);
        return inrf_fail(out ? INRF_E_NOMEM : INRF_E_INVALID_ARG, "cpu trainer: %s",
                         out ? "out of memory" : "NULL output");
    }
    t->threads = threads;
    out->run_stage = cpu_run_stage;
    out->self = t;
    return INRF_OK;
}

void inrf_cpu_trainer_free(inrf_batch_trainer *tr)
{
    if (tr) {
        free(tr->self);
        tr->self = NULL;
    }
}
