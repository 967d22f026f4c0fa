/* encode_batch.c: inrf_encode's schedule for many images of one size at
 * once: a batched trainer (the GPU's, kernels/encode.cu) runs the stages,
 * and the CPU encoder's own code does the rest (encode_internal.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
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
    uint8_t *active;          /* [n]: in stage 3 */
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
static inrf_status run(batch_state *s, int stage, int steps, float lr0, long t0, int quant,
                       int half_io)
{
    inrf_tm_stage st = {stage, steps, lr0, t0, quant, half_io, tick, s};
    s->prog.stage = stage;
    if (tick(s, 0))
        return inrf_fail(INRF_E_INTERRUPTED, "encode: interrupted");
    inrf_status r = s->trainer->run_stage(s->trainer->self, &s->b, &st);
    if (r != INRF_OK)
        return r;
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
    if (opt->target_psnr > 0 || opt->max_bytes)
        return inrf_fail(INRF_E_UNSUPPORTED, "batch encode: rate control (target PSNR, "
                                             "maximum bytes) is per image; use inrf_encode");
    return INRF_OK;
}

static void state_free(batch_state *s)
{
    free(s->b.params);
    free(s->b.keep);
    free(s->b.best_psnr);
    free(s->fp32);
    free(s->active);
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
    s->fp32 = calloc(n, sizeof(double));
    s->active = calloc(n, 1);
    if (!s->b.params || !s->b.keep || !s->b.best_psnr || !s->fp32 || !s->active) {
        state_free(s);
        return inrf_fail(INRF_E_NOMEM, "batch encode: out of memory");
    }
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

/* Stages 1 to 4 as inrf_encode runs them (without rate control). */
static inrf_status schedule(batch_state *s)
{
    const inrf_encode_plan *p = &s->plan;
    const long n = (long)s->b.n;
    const size_t P = s->net.nparams;
    inrf_status st = run(s, 1, p->s1, p->lr, 0, 0, 0);
    for (long i = 0; st == INRF_OK && i < n; i++)
        s->fp32[i] = s->b.best_psnr[i];
    if (st == INRF_OK && p->s2) {
#pragma omp parallel for num_threads(s->opt->threads > 0 ? s->opt->threads : omp_threads())
        for (long i = 0; i < n; i++)
            prune(s, (size_t)i, 0.2f);
        st = run(s, 2, p->s2, p->lr * 0.4f, p->s1, 0, 0);
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
            st = run(s, 3, p->s3, p->lr * inrf_encode_stage3_lr(p->s3), p->s1 + p->s2, 0, 0);
        s->b.active = NULL;
    }
    if (st == INRF_OK && p->s4) { /* fresh moments: fresh bias correction */
        memset(s->b.m, 0, 2 * s->b.n * P * sizeof(float));
        st = run(s, 4, p->s4, p->lr * 0.1f, 0, s->opt->quant, s->opt->half_io);
    }
    return st;
}

/* The file's model of image i, with its PSNR and stats. */
static inrf_status finish(const batch_state *s, size_t i, double seconds, inrf_model **out,
                          inrf_encode_stats *stats)
{
    const size_t P = s->net.nparams;
    const uint8_t *keep = s->b.keep + i * P;
    inrf_model *m = NULL;
    double psnr = 0;
    inrf_status st = inrf_encode_make_model(&s->net, keep, s->opt->quant, s->opt->half_io,
                                            &s->plan.arch, s->b.params + i * P, &m);
    if (st == INRF_OK)
        st = inrf_encode_model_psnr(m, &s->b.images[i], 1, &psnr);
    if (st != INRF_OK) {
        inrf_model_free(m);
        return st;
    }
    m->psnr = (float)psnr;
    if (stats) {
        stats->psnr = psnr;
        stats->psnr_fp32 = s->fp32[i];
        stats->bytes = inrf_encode_file_bytes(m);
        stats->seconds = seconds;
        stats->steps = s->plan.s1 + s->plan.s2 + (s->active[i] ? s->plan.s3 : 0) + s->plan.s4;
        stats->prune_ratio = inrf_pruned_fraction(&s->net, keep);
        stats->layers = s->plan.arch.layers;
        stats->hidden = s->plan.arch.hidden[0];
    }
    *out = m;
    return INRF_OK;
}

static inrf_status finish_all(batch_state *s, inrf_model **out, inrf_encode_stats *stats)
{
    const long n = (long)s->b.n;
    const double seconds = (inrf_encode_now() - s->t0) / (double)n;
    inrf_status first = INRF_OK;
    long bad = -1;
#pragma omp parallel for num_threads(s->opt->threads > 0 ? s->opt->threads : omp_threads())
    for (long i = 0; i < n; i++) {
        inrf_status st = finish(s, (size_t)i, seconds, &out[i], stats ? &stats[i] : NULL);
        if (st != INRF_OK) {
#pragma omp critical
            if (bad < 0 || i < bad)
                bad = i, first = st;
        }
    }
    if (first == INRF_OK)
        return INRF_OK;
    for (long i = 0; i < n; i++) {
        inrf_model_free(out[i]);
        out[i] = NULL;
    }
    /* the message was a worker thread's: say it again on this one */
    return inrf_fail(first, "batch encode: image %ld: %s", bad, inrf_strerror(first));
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
