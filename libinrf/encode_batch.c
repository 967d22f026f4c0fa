/* encode_batch.c: the encoder's schedule, the only one: stages 1 to 4 and
 * rate control for a batch of images of one size, the training of each
 * stage done by a batched trainer (the CPU's, encode_cpu.c, or the GPU's,
 * kernels/encode.cu) and the rest by encode.c. inrf_encode is a batch of
 * one on the CPU's trainer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "config.h"
#include "encode_internal.h"
#include "inrf/train_math.h"
#include "internal.h"
#include "pool.h"

typedef struct batch_state {
    inrf_tm_batch b;
    const inrf_tm_net *net;   /* &b.net */
    inrf_encode_plan plan;
    const inrf_encode_options *opt;
    const inrf_batch_trainer *trainer;
    double *fp32;             /* [n]: best PSNR of stages 1 and 2 */
    uint8_t *active;          /* [n]: in stage 3, then in a rate-control round */
    int *steps;               /* [n]: Adam steps taken, all stages */
    double *psnr;             /* [n]: of out[i], decoded */
    float *kept;              /* [n]: pruned fraction of the schedule's weights */
    float *base;              /* rate control: [n][3][nparams] params, m, v and */
    uint8_t *base_keep;       /* [n][nparams] keep of the schedule's weights, */
    long *base_adam_t;        /* [n] and Adam's t */
    uint8_t *group;           /* [n]: the images of a round that train together */
    inrf_encode_progress prog;
    int done;                 /* steps of the finished stages */
    int threads;              /* of the loops over images (opt->threads) */
    int measure_threads;      /* of the decodes that measure a file */
    const char *name;         /* of the encode, in messages */
    double t0;
} batch_state;

static int tick(void *ctx, int step)
{
    batch_state *s = (batch_state *)ctx;
    if (!s->opt->progress)
        return 0;
    s->prog.step = s->done + step;
    s->prog.seconds = inrf_encode_now() - s->t0;
    return s->opt->progress(&s->prog, s->opt->user);
}

/* One stage on the images b.active marks; progress sees the mean of the
 * best PSNRs of the stage before. */
static inrf_status run(batch_state *s, int stage, int steps, float lr0, int quant, int half_io,
                       double stop)
{
    inrf_tm_stage st = {stage, steps, lr0, quant, half_io, stop, tick, s};
    s->prog.stage = stage;
    if (tick(s, 0))
        return inrf_fail(INRF_E_INTERRUPTED, "encode: interrupted");
    for (size_t i = 0; i < s->b.n; i++)
        s->b.taken[i] = 0;
    inrf_status r = s->trainer->run_stage(s->trainer->self, &s->b, &st);
    if (r != INRF_OK)
        return r;
    for (size_t i = 0; i < s->b.n; i++)
        s->steps[i] += s->b.taken[i];
    s->done += steps;
    double sum = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < s->b.n; i++)
        if (!s->b.active || s->b.active[i])
            sum += s->b.best_psnr[i], cnt++;
    s->prog.psnr = s->prog.best_psnr = cnt ? sum / (double)cnt : 0.0;
    return INRF_OK;
}

static inrf_status check(const inrf_image *images, size_t n, const inrf_encode_options *opt,
                         const inrf_batch_trainer *trainer)
{
    if (!images || !n || !trainer || !trainer->run_stage)
        return inrf_fail(INRF_E_INVALID_ARG, "batch encode: no images or no trainer");
    for (size_t i = 0; i < n; i++) {
        inrf_status st = inrf_encode_check(&images[i], opt);
        if (st != INRF_OK)
            return st;
        if (images[i].width != images[0].width || images[i].height != images[0].height ||
            images[i].channels != images[0].channels)
            return inrf_fail(INRF_E_INVALID_ARG,
                             "batch encode: image %zu differs from the first in size or channels",
                             i);
    }
    return INRF_OK;
}

static void state_free(batch_state *s)
{
    free(s->b.params);
    free(s->b.keep);
    free(s->b.best_psnr);
    free((void *)s->b.image_key);
    free(s->b.adam_t);
    free(s->b.taken);
    free(s->fp32);
    free(s->active);
    free(s->steps);
    free(s->psnr);
    free(s->kept);
    free(s->base);
    free(s->base_keep);
    free(s->base_adam_t);
    free(s->group);
}

static inrf_status state_init(batch_state *s, const inrf_image *images, size_t n,
                              const inrf_encode_options *opt, const inrf_batch_trainer *trainer)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->trainer = trainer;
    s->t0 = inrf_encode_now();
    s->threads = opt->threads;
    /* a decode of a small image is too short for threads */
    s->measure_threads =
        n == 1 && (size_t)images[0].width * images[0].height >= 65536 ? opt->threads : 1;
    inrf_status st = inrf_encode_plan_make(&images[0], opt, &s->plan);
    if (st != INRF_OK)
        return st;
    inrf_tm_net_init(&s->b.net, &s->plan.arch);
    s->net = &s->b.net;
    const size_t P = s->net->nparams;
    size_t all;
    if (!inrf_mul_ok(n, 3 * P, &all))
        return inrf_fail(INRF_E_NOMEM, "batch encode: too many images");
    s->b.images = images;
    s->b.n = n;
    s->b.seed = opt->seed;
    const size_t npix = (size_t)images[0].width * images[0].height;
    /* Measured on Kodak (10 x 40): random batches of 4,096 pixels reach a
     * better PSNR in the same time than 8,192, and far better than full
     * batches of 393,216. Small images train on every pixel each step. */
    size_t cap = opt->batch_pixels ? opt->batch_pixels : (npix <= 16384 ? 16384 : 4096);
    s->b.batch = (uint32_t)(npix < cap ? npix : cap);
    s->b.params = malloc(all * sizeof(float));
    s->b.keep = malloc(n * P);
    s->b.best_psnr = calloc(n, sizeof(double));
    uint64_t *key = malloc(n * sizeof *key);
    s->b.image_key = key;
    s->b.adam_t = calloc(n, sizeof(long));
    s->b.taken = calloc(n, sizeof(int));
    s->fp32 = calloc(n, sizeof(double));
    s->active = calloc(n, 1);
    s->steps = calloc(n, sizeof(int));
    s->psnr = calloc(n, sizeof(double));
    s->kept = calloc(n, sizeof(float));
    if (!s->b.params || !s->b.keep || !s->b.best_psnr || !s->b.adam_t || !s->b.taken ||
        !s->fp32 || !s->active || !s->steps || !s->psnr || !s->kept || !key) {
        state_free(s);
        return inrf_fail(INRF_E_NOMEM, "batch encode: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        key[i] = XXH3_64bits(images[i].pixels,
                             (size_t)images[i].width * images[i].height * images[i].channels);
    s->b.m = s->b.params + n * P;
    s->b.v = s->b.m + n * P;
    memset(s->b.m, 0, 2 * n * P * sizeof(float));
    memset(s->b.keep, 1, n * P);
    /* every image starts from the same weights, as inrf_encode with one seed */
    if ((st = inrf_encode_init_params(s->net, &s->plan.arch, opt->seed, s->b.params)) != INRF_OK) {
        state_free(s);
        return st;
    }
    for (size_t i = 1; i < n; i++)
        memcpy(s->b.params + i * P, s->b.params, P * sizeof(float));
    s->prog.steps = s->plan.s1 + s->plan.s2 + s->plan.s3 + s->plan.s4;
    return INRF_OK;
}

/* Prunes image i to ratio (its weights, mask and moments). */
static void prune(const batch_state *s, size_t i, float ratio)
{
    const size_t P = s->net->nparams;
    inrf_prune_hidden(s->net, s->b.params + i * P, s->b.keep + i * P, s->b.m + i * P,
                      s->b.v + i * P, ratio);
}

static void prune20_task(void *ctx, size_t i, int worker)
{
    (void)worker;
    prune((const batch_state *)ctx, i, 0.2f);
}

/* Stages 1 to 4; plan.stop (a target PSNR without hidden layers) ends
 * stages 1 to 3 of an image early. */
static inrf_status schedule(batch_state *s)
{
    const inrf_encode_plan *p = &s->plan;
    const long n = (long)s->b.n;
    const size_t P = s->net->nparams;
    inrf_status st = run(s, 1, p->s1, p->lr, 0, 0, p->stop);
    for (long i = 0; st == INRF_OK && i < n; i++)
        s->fp32[i] = s->b.best_psnr[i];
    if (st == INRF_OK && p->s2) {
        inrf_parallel_for((size_t)n, s->threads, prune20_task, s);
        st = run(s, 2, p->s2, p->lr * 0.4f, 0, 0, p->stop);
        for (long i = 0; st == INRF_OK && i < n; i++)
            s->fp32[i] = fmax(s->fp32[i], s->b.best_psnr[i]);
    }
    if (st == INRF_OK && p->s3) {
        size_t any = 0;
        for (long i = 0; i < n; i++) {
            float ratio = inrf_encode_dynamic_ratio(p->preset, s->fp32[i]);
            s->active[i] = ratio > inrf_pruned_fraction(s->net, s->b.keep + (size_t)i * P);
            if (s->active[i])
                prune(s, (size_t)i, ratio);
            any += s->active[i];
        }
        s->b.active = s->active;
        if (any)
            st = run(s, 3, p->s3, p->lr * inrf_encode_stage3_lr(p->s3), 0, 0, p->stop);
        else
            s->prog.steps -= p->s3; /* skipped: the progress total says what runs */
        s->b.active = NULL;
    }
    if (st == INRF_OK && p->s4) { /* fresh moments: fresh bias correction */
        memset(s->b.m, 0, 2 * s->b.n * P * sizeof(float));
        memset(s->b.adam_t, 0, s->b.n * sizeof(long));
        st = run(s, 4, p->s4, p->lr * 0.1f, s->opt->quant, s->opt->half_io, 0);
    }
    return st;
}

/* The file's form (network and encodings) and image i's weights. */
static inrf_encode_form form_of(const batch_state *s)
{
    inrf_encode_form f = {s->net, &s->plan.arch, s->opt->quant, s->opt->half_io};
    return f;
}

static inrf_encode_weights weights_of(const batch_state *s, size_t i)
{
    const size_t P = s->net->nparams;
    inrf_encode_weights w = {s->b.params + i * P, s->b.m + i * P, s->b.v + i * P,
                             s->b.keep + i * P};
    return w;
}

/* Image i's weights as the schedule left them (rate control's base). */
static inrf_encode_weights base_of(const batch_state *s, size_t i)
{
    const size_t P = s->net->nparams;
    float *b = s->base + 3 * i * P;
    inrf_encode_weights w = {b, b + P, b + 2 * P, s->base_keep + i * P};
    return w;
}

/* The first failure of a loop over images (status[n], image order),
 * said again on this thread: the message was a worker's. A batch of one
 * ran on this thread and keeps its own. */
static inrf_status first_failure(const batch_state *s, const inrf_status *status)
{
    for (size_t i = 0; i < s->b.n; i++)
        if (status[i] != INRF_OK)
            return s->b.n == 1 ? status[i]
                               : inrf_fail(status[i], "%s: image %zu: %s", s->name, i,
                                           inrf_strerror(status[i]));
    return INRF_OK;
}

/* A loop over the images: its state and what each image's task said. */
typedef struct image_loop {
    batch_state *s;
    inrf_rate *r;
    inrf_model **m;
    size_t *bytes, *smallest;
    inrf_status *status;      /* [n] */
    int k;                    /* pruning step */
} image_loop;

static void measure_task(void *ctx, size_t i, int worker)
{
    (void)worker;
    const image_loop *L = (const image_loop *)ctx;
    batch_state *s = L->s;
    const inrf_encode_form f = form_of(s);
    const inrf_encode_weights w = weights_of(s, i);
    L->status[i] = inrf_encode_measure(&f, &w, &s->b.images[i], s->measure_threads, &L->m[i],
                                       &s->psnr[i], &L->bytes[i]);
    size_t budget = inrf_encode_budget(&s->b.images[i], s->opt);
    L->smallest[i] =
        budget || s->opt->target_psnr > 0 ? inrf_encode_smallest(&f, &w) : L->bytes[i];
    s->kept[i] = inrf_pruned_fraction(s->net, w.keep);
}

/* Every image's file of its schedule's weights and rate control's start
 * (inrf_rate_start, in image order: the first image that cannot fit is
 * the one named). */
static inrf_status rate_start(batch_state *s, inrf_rate *r)
{
    const size_t n = s->b.n;
    image_loop L = {s, r, calloc(n, sizeof *L.m), malloc(n * sizeof *L.bytes),
                    malloc(n * sizeof *L.smallest), calloc(n, sizeof *L.status), 0};
    if (!L.m || !L.bytes || !L.smallest || !L.status) {
        free(L.m), free(L.bytes), free(L.smallest), free(L.status);
        return inrf_fail(INRF_E_NOMEM, "%s: out of memory", s->name);
    }
    inrf_parallel_for(n, s->threads, measure_task, &L);
    inrf_status st = first_failure(s, L.status);
    for (size_t i = 0; i < n; i++) {
        char what[48];
        if (n == 1)
            snprintf(what, sizeof what, "%s", s->name);
        else
            snprintf(what, sizeof what, "%s: image %zu", s->name, i);
        if (st == INRF_OK)
            st = inrf_rate_start(&r[i], inrf_encode_budget(&s->b.images[i], s->opt),
                                 s->opt->target_psnr, L.smallest[i], s->steps[i], L.m[i],
                                 s->psnr[i], L.bytes[i], s->kept[i], what);
        else
            inrf_model_free(L.m[i]);
    }
    free(L.m), free(L.bytes), free(L.smallest), free(L.status);
    return st;
}

/* Whether image i, in a round, is the first of the images whose rounds
 * have its number of steps (they train together). */
static int leads_group(const batch_state *s, const inrf_rate *r, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (s->active[j] && r[j].steps == r[i].steps)
            return 0;
    return s->active[i];
}

static void round_prune_task(void *ctx, size_t i, int worker)
{
    (void)worker;
    const image_loop *L = (const image_loop *)ctx;
    if (!L->s->active[i])
        return;
    const inrf_encode_form f = form_of(L->s);
    const inrf_encode_weights cur = weights_of(L->s, i);
    inrf_rate_round_prune(&f, &L->r[i], &cur, L->k);
}

/* The pruning steps and fine-tuning of a round for the images s->active
 * marks, a run of the trainer per number of steps (s->group). */
static inrf_status round_steps(batch_state *s, inrf_rate *r)
{
    const size_t n = s->b.n;
    image_loop L = {s, r, NULL, NULL, NULL, NULL, 0};
    inrf_status st = INRF_OK;
    for (size_t i = 0; i < n; i++)
        if (leads_group(s, r, i))
            s->prog.steps += r[i].steps;
    for (int k = 1; k <= INRF_RATE_PRUNE_STEPS && st == INRF_OK; k++) {
        L.k = k;
        inrf_parallel_for(n, s->threads, round_prune_task, &L);
        for (size_t i = 0; i < n && st == INRF_OK; i++) {
            if (!leads_group(s, r, i))
                continue;
            for (size_t j = 0; j < n; j++)
                s->group[j] = s->active[j] && r[j].steps == r[i].steps;
            s->b.active = s->group;
            st = run(s, 4, r[i].steps / INRF_RATE_PRUNE_STEPS, s->plan.rate_lr, s->opt->quant,
                     s->opt->half_io, 0);
            s->b.active = NULL;
        }
    }
    return st;
}

static void round_begin_task(void *ctx, size_t i, int worker)
{
    (void)worker;
    const image_loop *L = (const image_loop *)ctx;
    batch_state *s = L->s;
    L->status[i] = INRF_OK;
    s->active[i] = L->r[i].next != 0;
    if (!s->active[i])
        return;
    const inrf_encode_form f = form_of(s);
    const inrf_encode_weights base = base_of(s, i), cur = weights_of(s, i);
    s->b.adam_t[i] = s->base_adam_t[i];
    L->status[i] = inrf_rate_round_begin(&f, &L->r[i], &base, &cur);
}

static void round_end_task(void *ctx, size_t i, int worker)
{
    (void)worker;
    const image_loop *L = (const image_loop *)ctx;
    batch_state *s = L->s;
    L->status[i] = INRF_OK;
    if (!s->active[i])
        return;
    const inrf_encode_form f = form_of(s);
    const inrf_encode_weights base = base_of(s, i), cur = weights_of(s, i);
    L->status[i] = inrf_rate_round_end(&f, &L->r[i], &base, &cur, &s->b.images[i],
                                       s->measure_threads);
}

/* Rate control (inrf_rate), a round at a time for the images that have
 * one: each starts from its schedule's weights and Adam state and is
 * pruned step by step towards its round's budget, the images concerned
 * fine-tuned together after each step. */
static inrf_status rate_rounds(batch_state *s, inrf_rate *r)
{
    const size_t n = s->b.n;
    const size_t P = s->net->nparams;
    size_t any = 0;
    for (size_t i = 0; i < n; i++)
        any += r[i].next != 0;
    if (!any)
        return INRF_OK;
    s->base = malloc(n * 3 * P * sizeof(float));
    s->base_keep = malloc(n * P);
    s->base_adam_t = malloc(n * sizeof(long));
    s->group = malloc(n);
    image_loop L = {s, r, NULL, NULL, NULL, calloc(n, sizeof *L.status), 0};
    if (!s->base || !s->base_keep || !s->base_adam_t || !s->group || !L.status) {
        free(L.status);
        return inrf_fail(INRF_E_NOMEM, "%s: out of memory", s->name);
    }
    for (size_t i = 0; i < n; i++) {
        const inrf_encode_weights base = base_of(s, i), cur = weights_of(s, i);
        inrf_encode_weights_copy(s->net, &base, &cur);
        s->base_adam_t[i] = s->b.adam_t[i];
    }
    inrf_status st = INRF_OK;
    while (st == INRF_OK && any) {
        inrf_parallel_for(n, s->threads, round_begin_task, &L);
        if ((st = first_failure(s, L.status)) != INRF_OK)
            break;
        if ((st = round_steps(s, r)) != INRF_OK)
            break;
        inrf_parallel_for(n, s->threads, round_end_task, &L);
        st = first_failure(s, L.status);
        any = 0;
        for (size_t i = 0; i < n; i++)
            any += r[i].next != 0;
    }
    free(L.status);
    return st;
}

/* Every image's file, rate control and stats. */
static inrf_status finish_all(batch_state *s, inrf_model **out, inrf_encode_stats *stats)
{
    const size_t n = s->b.n;
    inrf_rate *r = calloc(n, sizeof *r);
    if (!r)
        return inrf_fail(INRF_E_NOMEM, "%s: out of memory", s->name);
    inrf_status st = rate_start(s, r);
    if (st == INRF_OK)
        st = rate_rounds(s, r);
    for (size_t i = 0; i < n; i++) {
        out[i] = st == INRF_OK ? r[i].best : NULL;
        if (st != INRF_OK)
            inrf_model_free(r[i].best);
    }
    if (st != INRF_OK) {
        free(r);
        return st;
    }
    if (s->opt->progress) { /* the end: every step counted has run */
        s->prog.step = n == 1 ? s->steps[0] : s->done;
        s->prog.psnr = s->prog.best_psnr = n == 1 ? r[0].psnr : s->prog.psnr;
        s->prog.seconds = inrf_encode_now() - s->t0;
        s->opt->progress(&s->prog, s->opt->user); /* too late to stop: the files are made */
    }
    const double seconds = (inrf_encode_now() - s->t0) / (double)n;
    for (size_t i = 0; stats && i < n; i++) {
        memset(&stats[i], 0, sizeof stats[i]);
        stats[i].psnr = r[i].psnr;
        stats[i].psnr_fp32 = s->fp32[i];
        stats[i].bytes = r[i].bytes;
        stats[i].seconds = seconds;
        stats[i].steps = s->steps[i];
        stats[i].prune_ratio = r[i].prune;
        stats[i].layers = s->plan.arch.layers;
        stats[i].hidden = s->plan.arch.hidden[0];
        stats[i].target_reached =
            s->opt->target_psnr > 0 ? r[i].psnr >= s->opt->target_psnr : -1;
    }
    free(r);
    return INRF_OK;
}

/* The schedule for n images; name says which encoder in messages. */
static inrf_status encode_run(const inrf_image *images, size_t n, const inrf_encode_options *opt,
                              const inrf_batch_trainer *trainer, inrf_model **out,
                              inrf_encode_stats *stats, const char *name)
{
    inrf_encode_options def;
    if (!opt) {
        inrf_encode_options_init(&def);
        opt = &def;
    }
    inrf_status st = check(images, n, opt, trainer);
    batch_state s;
    if (st != INRF_OK || (st = state_init(&s, images, n, opt, trainer)) != INRF_OK)
        return st;
    s.name = name;
    if ((st = schedule(&s)) == INRF_OK)
        st = finish_all(&s, out, stats);
    state_free(&s);
    return st;
}

inrf_status inrf_encode_batch_with(const inrf_image *images, size_t n,
                                   const inrf_encode_options *opt,
                                   const inrf_batch_trainer *trainer, inrf_model **out,
                                   inrf_encode_stats *stats)
{
    if (!out)
        return inrf_fail(INRF_E_INVALID_ARG, "batch encode: NULL output");
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    return encode_run(images, n, opt, trainer, out, stats, "batch encode");
}

inrf_status inrf_encode(const inrf_image *img, const inrf_encode_options *opt, inrf_model **out,
                        inrf_encode_stats *stats)
{
    if (!out)
        return inrf_fail(INRF_E_INVALID_ARG, "encode: NULL output");
    *out = NULL;
    if (!img)
        return inrf_fail(INRF_E_INVALID_ARG, "encode: no image");
    inrf_batch_trainer tr;
    inrf_status st = inrf_cpu_trainer_create(opt ? opt->threads : 0, &tr);
    if (st != INRF_OK)
        return st;
    st = encode_run(img, 1, opt, &tr, out, stats, "encode");
    inrf_cpu_trainer_free(&tr);
    return st;
}
