/* encode_batch.c: inrf_encode's schedule for many images of one size at
 * once: a batched trainer (the GPU's, kernels/encode.cu) runs the stages,
 * and the CPU encoder's own code does the rest (encode_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "config.h"
#include "encode_internal.h"
#include "inrf/train_math.h"
#include "internal.h"

static inline int omp_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

typedef struct batch_state {
    inrf_tm_batch b;
    inrf_train_net net;
    inrf_encode_plan plan;
    const inrf_encode_options *opt;
    const inrf_batch_trainer *trainer;
    double *fp32;             /* [n]: best PSNR of stages 1 and 2 */
    uint8_t *active;          /* [n]: in stage 3, then in a rate-control round */
    int *steps;               /* [n]: Adam steps taken, all stages */
    double *psnr;             /* [n]: of out[i], decoded */
    float *kept;              /* [n]: pruned fraction of out[i] */
    inrf_encode_progress prog;
    int done;                 /* steps of the finished stages */
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
}

static inrf_status state_init(batch_state *s, const inrf_image *images, size_t n,
                              const inrf_encode_options *opt, const inrf_batch_trainer *trainer)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->trainer = trainer;
    s->t0 = inrf_encode_now();
    inrf_status st = inrf_encode_plan_make(&images[0], opt, &s->plan);
    if (st != INRF_OK)
        return st;
    inrf_train_net_init(&s->net, &s->plan.arch);
    inrf_tm_net_init(&s->b.net, &s->plan.arch);
    const size_t P = s->net.nparams;
    size_t all;
    if (!inrf_mul_ok(n, 3 * P, &all))
        return inrf_fail(INRF_E_NOMEM, "batch encode: too many images");
    s->b.images = images;
    s->b.n = n;
    s->b.seed = opt->seed;
    const size_t npix = (size_t)images[0].width * images[0].height;
    /* the CPU encoder's batches (trainer_init): every pixel up to 16,384 */
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
    if ((st = inrf_encode_init_params(&s->net, &s->plan.arch, opt->seed, s->b.params)) != INRF_OK) {
        state_free(s);
        return st;
    }
    for (size_t i = 1; i < n; i++)
        memcpy(s->b.params + i * P, s->b.params, P * sizeof(float));
    s->prog.steps = s->plan.s1 + s->plan.s2 + s->plan.s3 + s->plan.s4;
    return INRF_OK;
}

/* Prunes image i to ratio (its weights, mask and moments). */
static void prune(batch_state *s, size_t i, float ratio)
{
    const size_t P = s->net.nparams;
    inrf_prune_hidden(&s->net, s->b.params + i * P, s->b.keep + i * P, s->b.m + i * P,
                      s->b.v + i * P, ratio);
}

/* Stages 1 to 4 as inrf_encode runs them; with a target PSNR, stages 1
 * to 3 stop an image a margin above it (plan.stop). */
static inrf_status schedule(batch_state *s)
{
    const inrf_encode_plan *p = &s->plan;
    const long n = (long)s->b.n;
    const size_t P = s->net.nparams;
    inrf_status st = run(s, 1, p->s1, p->lr, 0, 0, p->stop);
    for (long i = 0; st == INRF_OK && i < n; i++)
        s->fp32[i] = s->b.best_psnr[i];
    if (st == INRF_OK && p->s2) {
#pragma omp parallel for num_threads(s->opt->threads > 0 ? s->opt->threads : omp_threads())
        for (long i = 0; i < n; i++)
            prune(s, (size_t)i, 0.2f);
        st = run(s, 2, p->s2, p->lr * 0.4f, 0, 0, p->stop);
        for (long i = 0; st == INRF_OK && i < n; i++)
            s->fp32[i] = fmax(s->fp32[i], s->b.best_psnr[i]);
    }
    if (st == INRF_OK && p->s3) {
        size_t any = 0;
        for (long i = 0; i < n; i++) {
            float ratio = inrf_encode_dynamic_ratio(p->preset, s->fp32[i]);
            s->active[i] = ratio > inrf_pruned_fraction(&s->net, s->b.keep + (size_t)i * P);
            if (s->active[i])
                prune(s, (size_t)i, ratio);
            any += s->active[i];
        }
        s->b.active = s->active;
        if (any)
            st = run(s, 3, p->s3, p->lr * inrf_encode_stage3_lr(p->s3), 0, 0, p->stop);
        s->b.active = NULL;
    }
    if (st == INRF_OK && p->s4) { /* fresh moments: fresh bias correction */
        memset(s->b.m, 0, 2 * s->b.n * P * sizeof(float));
        memset(s->b.adam_t, 0, s->b.n * sizeof(long));
        st = run(s, 4, p->s4, p->lr * 0.1f, s->opt->quant, s->opt->half_io, 0);
    }
    return st;
}

/* The file's model of image i from its current weights; psnr (may be
 * NULL): the model decoded against the image. */
static inrf_status model_of(const batch_state *s, size_t i, inrf_model **out, double *psnr)
{
    const size_t P = s->net.nparams;
    inrf_model *m = NULL;
    inrf_status st = inrf_encode_make_model(&s->net, s->b.keep + i * P, s->opt->quant,
                                            s->opt->half_io, &s->plan.arch,
                                            s->b.params + i * P, &m);
    if (st == INRF_OK && psnr)
        st = inrf_encode_model_psnr(m, &s->b.images[i], 1, psnr);
    if (st != INRF_OK) {
        inrf_model_free(m);
        m = NULL;
    }
    *out = m;
    return st;
}

/* out[i] for every image marked in `which` (NULL: all), on all cores;
 * psnr and kept updated. The first failure (lowest image) is returned. */
static inrf_status models_of(batch_state *s, const uint8_t *which, inrf_model **out)
{
    const long n = (long)s->b.n;
    const size_t P = s->net.nparams;
    inrf_status first = INRF_OK;
    long bad = -1;
#pragma omp parallel for num_threads(s->opt->threads > 0 ? s->opt->threads : omp_threads())
    for (long i = 0; i < n; i++) {
        if (which && !which[i])
            continue;
        inrf_model_free(out[i]);
        inrf_status st = model_of(s, (size_t)i, &out[i], &s->psnr[i]);
        s->kept[i] = inrf_pruned_fraction(&s->net, s->b.keep + (size_t)i * P);
        if (st != INRF_OK) {
#pragma omp critical
            if (bad < 0 || i < bad)
                bad = i, first = st;
        }
    }
    if (first == INRF_OK)
        return INRF_OK;
    /* the message was a worker thread's: say it again on this one */
    return inrf_fail(first, "batch encode: image %ld: %s", bad, inrf_strerror(first));
}

/* A rate-control round: the images s->active marks fine-tuned through the
 * quantiser (inrf_encode's round: half the stage 4 steps, or 200). */
static inrf_status fine_tune(batch_state *s)
{
    const inrf_encode_plan *p = &s->plan;
    s->b.active = s->active;
    inrf_status st = run(s, 4, p->s4 > 0 ? p->s4 / 2 : 200, p->lr * 0.1f, s->opt->quant,
                         s->opt->half_io, 0);
    s->b.active = NULL;
    return st;
}

/* Rate control as inrf_encode does it, a round at a time for the images
 * concerned: files over max_bytes are pruned 10 points further and
 * fine-tuned until they fit; then, with a target PSNR, files above it are
 * pruned further 10 points a round while they still reach it, the
 * smallest kept. */
static inrf_status rate_control(batch_state *s, inrf_model **out)
{
    const size_t n = s->b.n, P = s->net.nparams;
    const inrf_encode_options *o = s->opt;
    const int layers = s->plan.arch.layers;
    inrf_status st = INRF_OK;
    while (o->max_bytes && st == INRF_OK) {
        size_t any = 0;
        for (size_t i = 0; i < n; i++) {
            size_t bytes = inrf_encode_file_bytes(out[i]);
            s->active[i] = bytes > o->max_bytes;
            if (!s->active[i])
                continue;
            float ratio = inrf_pruned_fraction(&s->net, s->b.keep + i * P) + 0.1f;
            if (ratio > 0.95f || layers < 2)
                return inrf_fail(INRF_E_LIMIT, "batch encode: image %zu: cannot fit in %zu "
                                 "bytes (smallest made: %zu)", i, o->max_bytes, bytes);
            prune(s, i, ratio);
            any++;
        }
        if (!any)
            break;
        if ((st = fine_tune(s)) == INRF_OK)
            st = models_of(s, s->active, out);
    }
    if (st != INRF_OK || !(o->target_psnr > 0) || layers < 2)
        return st;
    float *ratio = malloc(n * sizeof(float));
    inrf_model **trial = calloc(n, sizeof *trial);
    double *trial_psnr = malloc(n * sizeof(double));
    if (!ratio || !trial || !trial_psnr) {
        free(ratio), free(trial), free(trial_psnr);
        return inrf_fail(INRF_E_NOMEM, "batch encode: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        s->active[i] = s->psnr[i] > o->target_psnr;
        ratio[i] = s->kept[i] + 0.1f;
    }
    for (;;) {
        size_t any = 0;
        for (size_t i = 0; i < n; i++) {
            s->active[i] = s->active[i] && ratio[i] < 0.9f;
            if (s->active[i])
                prune(s, i, ratio[i]), any++;
        }
        if (!any || (st = fine_tune(s)) != INRF_OK)
            break;
        const long nl = (long)n;
#pragma omp parallel for num_threads(o->threads > 0 ? o->threads : omp_threads())
        for (long i = 0; i < nl; i++) /* a model that fails to build is NULL */
            if (s->active[i])
                (void)model_of(s, (size_t)i, &trial[i], &trial_psnr[i]);
        for (size_t i = 0; i < n; i++) {
            if (!s->active[i])
                continue;
            if (!trial[i] || trial_psnr[i] < o->target_psnr) {
                s->active[i] = 0; /* this round's file misses the target: done */
            } else if (inrf_encode_file_bytes(trial[i]) < inrf_encode_file_bytes(out[i])) {
                inrf_model_free(out[i]);
                out[i] = trial[i];
                trial[i] = NULL;
                s->psnr[i] = trial_psnr[i];
                s->kept[i] = inrf_pruned_fraction(&s->net, s->b.keep + i * P);
            }
            inrf_model_free(trial[i]);
            trial[i] = NULL;
            ratio[i] += 0.1f;
        }
    }
    free(ratio);
    free(trial);
    free(trial_psnr);
    return st;
}

/* Every image's file, rate control and stats. */
static inrf_status finish_all(batch_state *s, inrf_model **out, inrf_encode_stats *stats)
{
    const size_t n = s->b.n;
    inrf_status st = models_of(s, NULL, out);
    if (st == INRF_OK)
        st = rate_control(s, out);
    if (st != INRF_OK) {
        for (size_t i = 0; i < n; i++) {
            inrf_model_free(out[i]);
            out[i] = NULL;
        }
        return st;
    }
    const double seconds = (inrf_encode_now() - s->t0) / (double)n;
    for (size_t i = 0; i < n; i++) {
        out[i]->psnr = (float)s->psnr[i];
        if (!stats)
            continue;
        stats[i].psnr = s->psnr[i];
        stats[i].psnr_fp32 = s->fp32[i];
        stats[i].bytes = inrf_encode_file_bytes(out[i]);
        stats[i].seconds = seconds;
        stats[i].steps = s->steps[i];
        stats[i].prune_ratio = s->kept[i];
        stats[i].layers = s->plan.arch.layers;
        stats[i].hidden = s->plan.arch.hidden[0];
        stats[i].target_reached =
            s->opt->target_psnr > 0 ? s->psnr[i] >= s->opt->target_psnr : -1;
    }
    return INRF_OK;
}

inrf_status inrf_encode_batch_with(const inrf_image *images, size_t n,
                                   const inrf_encode_options *opt,
                                   const inrf_batch_trainer *trainer, inrf_model **out,
                                   inrf_encode_stats *stats)
{
    inrf_encode_options def;
    if (!out)
        return inrf_fail(INRF_E_INVALID_ARG, "batch encode: NULL output");
    for (size_t i = 0; i < n; i++)
        out[i] = NULL;
    if (!opt) {
        inrf_encode_options_init(&def);
        opt = &def;
    }
    inrf_status st = check(images, n, opt, trainer);
    batch_state s;
    if (st != INRF_OK || (st = state_init(&s, images, n, opt, trainer)) != INRF_OK)
        return st;
    if ((st = schedule(&s)) == INRF_OK)
        st = finish_all(&s, out, stats);
    state_free(&s);
    return st;
}
