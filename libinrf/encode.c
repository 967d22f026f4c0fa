/* encode.c: the encoder's plan (presets, stages and their steps), pruning,
 * the file's model from float weights and its measures, and rate control's
 * rounds; the schedule that runs them is encode_batch.c's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "bytes.h"
#include "encode_internal.h"
#include "format.h"
#include "inrf/siren_math.h"
#include "inrf/train_math.h"
#include "internal.h"

void inrf_encode_options_init_(inrf_encode_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->effort = 5;
    opt->prune = 1;
    opt->quant = INRF_QUANT_INT8;
    opt->qat = 0; /* measured: no gain over rounding the best weights */
    opt->half_io = 1;
    opt->seed = 1;
}

/* ------------------------------------------------------------- schedule */

/* The paper's architectures and dynamic pruning formulas:
 * cifar10: 0 below 30 dB, 0.05 PSNR - 1.5 up to 35 dB, 0.25 above;
 * flowers, imagenet: 0.2 below 35 dB, 0.04 PSNR - 1.2 up to 40, 0.4 above. */
static const inrf_preset_info presets[4] = {
    [INRF_PRESET_CIFAR10] = {3, 15, 15.0f, 3e-3f, 0, 0.0f, 0.25f, 30.0f, 35.0f},
    [INRF_PRESET_FLOWERS] = {10, 32, 30.0f, 1e-3f, 1, 0.2f, 0.4f, 35.0f, 40.0f},
    [INRF_PRESET_IMAGENET] = {10, 40, 30.0f, 1e-3f, 1, 0.2f, 0.4f, 35.0f, 40.0f},
};

static int auto_preset(const inrf_image *img)
{
    uint64_t px = (uint64_t)img->width * img->height;
    return px <= 64 * 64 ? INRF_PRESET_CIFAR10 : px <= 256 * 256 ? INRF_PRESET_FLOWERS
                                                                  : INRF_PRESET_IMAGENET;
}

/* Dynamic pruning ratio from the PSNR (linear between the knees). */
float inrf_encode_dynamic_ratio(const inrf_preset_info *p, double psnr)
{
    if (psnr < p->db_lo)
        return p->pr_lo;
    if (psnr > p->db_hi)
        return p->pr_hi;
    return (float)(p->pr_lo + (p->pr_hi - p->pr_lo) * (psnr - p->db_lo) / (p->db_hi - p->db_lo));
}

/* Steps of each stage. Effort 9 is the paper's 5,000 + 10,000 + 10,000;
 * lower efforts scale it down (effort 5: 0.4). */
static int effort_steps(int base, int effort)
{
    static const float scale[10] = {0, 0.06f, 0.1f, 0.16f, 0.25f, 0.4f, 0.55f, 0.7f, 0.85f, 1.0f};
    return (int)(base * scale[effort] + 0.5f);
}

/* Retraining after a long fit needs a gentler rate: 0.4x up to 4,000
 * steps, then 0.4x * 4000 / steps (measured: at effort 9, 0.4x loses
 * 1.8 dB to pruning where 0.16x loses 0.4). */
float inrf_encode_stage3_lr(int s3) { return s3 > 4000 ? 0.4f * 4000.0f / s3 : 0.4f; }

/* The network that opt gives for img: its preset's, with the options'
 * overrides. */
static const inrf_preset_info *plan_arch(const inrf_image *img, const inrf_encode_options *opt,
                                         inrf_arch *a)
{
    int preset = opt->preset ? opt->preset : auto_preset(img);
    const inrf_preset_info *pi = &presets[preset];
    inrf_arch_siren(a, img->width, img->height, img->channels,
                    (uint8_t)(opt->layers ? opt->layers : (int)pi->layers),
                    (uint16_t)(opt->hidden ? opt->hidden : (int)pi->hidden));
    a->omega_first = opt->omega_first > 0 ? opt->omega_first : pi->omega_first;
    if (opt->omega_hidden > 0)
        a->omega_hidden = opt->omega_hidden;
    return pi;
}

inrf_status inrf_encode_plan_make(const inrf_image *img, const inrf_encode_options *opt,
                                  inrf_encode_plan *plan)
{
    inrf_arch *a = &plan->arch;
    const inrf_preset_info *pi = plan_arch(img, opt, a);
    plan->preset = pi;
    inrf_status st = inrf_arch_check(a);
    if (st != INRF_OK)
        return st;
    plan->lr = opt->lr > 0 ? opt->lr : pi->lr;
    int s1 = opt->steps ? opt->steps : effort_steps(5000, opt->effort);
    int s2 = pi->prune20 && opt->prune ? effort_steps(10000, opt->effort) : 0;
    int s3 = opt->prune ? effort_steps(10000, opt->effort) : 0;
    int s4 = opt->quant != INRF_QUANT_NONE && opt->qat ? effort_steps(2500, opt->effort) : 0;
    if (opt->steps && opt->prune) /* explicit fit steps: the others follow */
        s2 = pi->prune20 ? opt->steps : 0, s3 = opt->steps;
    if (opt->steps && s4)
        s4 = opt->steps / 2;
    plan->s1 = s1, plan->s2 = s2, plan->s3 = s3, plan->s4 = s4;
    /* retraining after pruning, as stage 3's (measured on CIFAR-10 at 620
     * bytes: 0.4x gains 0.9 dB over stage 4's 0.1x, 1.0x loses 4 dB) */
    plan->rate_lr = plan->lr * inrf_encode_stage3_lr(s3 ? s3 : s1);
    /* With a target, the search prunes from the best weights the schedule
     * makes. Without hidden layers nothing is pruned and the file's size
     * does not depend on the weights: fitting stops a margin above the
     * target (for quantisation). */
    plan->stop = opt->target_psnr > 0 && a->layers < 2 ? opt->target_psnr + 0.5 : 0;
    return INRF_OK;
}

/* ---------------------------------------------------------------- state */

double inrf_encode_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Prunes the hidden layers (sine layers 1..L-1) to `ratio` of their weights
 * by magnitude, layer by layer (L1-unstructured). */
void inrf_prune_hidden(const inrf_tm_net *n, float *params, uint8_t *keep_all, float *m,
                       float *v, float ratio)
{
    for (unsigned l = 1; l < n->layers; l++) {
        size_t cnt = (size_t)n->in[l] * n->out[l], drop = (size_t)(ratio * cnt + 0.5f);
        float *W = params + n->woff[l];
        uint8_t *keep = keep_all + n->woff[l];
        float *mag = malloc(cnt * sizeof(float));
        if (!mag)
            return; /* pruning is an optimisation; skip it */
        for (size_t i = 0; i < cnt; i++)
            mag[i] = keep[i] ? fabsf(W[i]) : -1.0f;
        /* threshold = the drop-th smallest magnitude (selection by sort) */
        qsort(mag, cnt, sizeof *mag, cmp_float);
        float thr = drop ? mag[drop - 1] : -1.0f;
        size_t dropped = 0;
        for (size_t i = 0; i < cnt && dropped < drop; i++)
            if (!keep[i] || fabsf(W[i]) <= thr) {
                dropped += 1;
                keep[i] = 0;
                W[i] = 0.0f;
            }
        free(mag);
    }
    for (size_t k = 0; m && v && k < n->nparams; k++)
        if (!keep_all[k])
            m[k] = v[k] = 0.0f;
}

float inrf_pruned_fraction(const inrf_tm_net *n, const uint8_t *keep)
{
    size_t all = 0, off = 0;
    for (unsigned l = 1; l < n->layers; l++) {
        size_t cnt = (size_t)n->in[l] * n->out[l];
        all += cnt;
        for (size_t i = 0; i < cnt; i++)
            off += !keep[n->woff[l] + i];
    }
    return all ? (float)off / all : 0.0f;
}

/* ------------------------------------------------------------ the model */

/* Builds the file's model from float weights: masks, then encodings. */
inrf_status inrf_encode_make_model(const inrf_tm_net *n, const uint8_t *keep, int quant,
                                   int half_io, const inrf_arch *arch, const float *params,
                                   inrf_model **out)
{
    inrf_model *m;
    inrf_status st = inrf_model_create(arch, &m);
    if (st != INRF_OK)
        return st;
    for (unsigned l = 0; l <= n->layers && st == INRF_OK; l++) {
        inrf_layer *L = &m->layer[l];
        size_t cnt = (size_t)L->in * L->out;
        memcpy(L->w, params + n->woff[l], cnt * sizeof(float));
        memcpy(L->b, params + n->boff[l], L->out * sizeof(float));
        /* A bitmap costs a bit a weight: store the layer dense (its pruned
         * weights as zeros) unless the bitmap saves bytes. */
        size_t kept = 0;
        for (size_t i = 0; i < cnt; i++)
            kept += keep[n->woff[l] + i];
        int hidden_q = l > 0 && l < n->layers && quant != INRF_QUANT_NONE;
        size_t vb = hidden_q ? 1 : half_io ? 2 : 4;
        if (kept < cnt && (cnt + 7) / 8 + kept * vb < cnt * vb) {
            uint8_t *mask = calloc((cnt + 7) / 8, 1);
            if (!mask) {
                st = inrf_fail(INRF_E_NOMEM, "encode: out of memory");
                break;
            }
            for (size_t i = 0; i < cnt; i++)
                if (keep[n->woff[l] + i])
                    mask[i >> 3] |= (uint8_t)(1u << (i & 7));
            st = inrf_layer_set_mask(m, l, mask);
            free(mask);
        }
        int hidden = l > 0 && l < n->layers;
        inrf_encoding enc = INRF_ENC_F32;
        if (hidden && quant == INRF_QUANT_INT8)
            enc = INRF_ENC_INT8;
        else if (hidden && quant == INRF_QUANT_INT8_ROW)
            enc = INRF_ENC_INT8_ROW;
        else if (!hidden && half_io)
            enc = INRF_ENC_F16;
        if (st == INRF_OK)
            st = inrf_layer_encode(m, l, enc, half_io ? INRF_ENC_F16 : INRF_ENC_F32);
    }
    if (st != INRF_OK) {
        inrf_model_free(m);
        return st;
    }
    *out = m;
    return INRF_OK;
}

/* PSNR of a model decoded at the source size against the source. */
inrf_status inrf_encode_model_psnr(const inrf_model *m, const inrf_image *img, int threads,
                                   double *psnr)
{
    size_t n = (size_t)img->width * img->height * img->channels;
    uint8_t *px = malloc(n);
    if (!px)
        return inrf_fail(INRF_E_NOMEM, "encode: out of memory");
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    o.threads = threads;
    inrf_status st = inrf_decode_u8(m, &o, px, 0);
    if (st == INRF_OK)
        *psnr = inrf_psnr_u8(px, img->pixels, n);
    free(px);
    return st;
}

size_t inrf_encode_file_bytes(const inrf_model *m)
{
    void *d;
    size_t n = 0;
    if (inrf_write_memory(m, NULL, &d, &n) != INRF_OK)
        return SIZE_MAX;
    free(d);
    /* the PSNR, once measured, is stored: count its chunk now */
    return isnan(m->psnr) ? n + INRF_CHUNK_OVERHEAD + INRF_QUAL_SIZE : n;
}

size_t inrf_encode_budget(const inrf_image *img, const inrf_encode_options *o)
{
    size_t budget = o->max_bytes;
    if (o->bpp > 0) {
        double b = floor(o->bpp * img->width * img->height / 8.0);
        size_t bb = b >= (double)SIZE_MAX ? SIZE_MAX : b < 1 ? 1 : (size_t)b;
        if (!budget || bb < budget)
            budget = bb;
    }
    return budget;
}

/* --------------------------------------------------------- rate control */

inrf_status inrf_encode_measure(const inrf_encode_form *f, const inrf_encode_weights *w,
                                const inrf_image *img, int threads, inrf_model **out,
                                double *psnr, size_t *bytes)
{
    inrf_model *m = NULL;
    void *d = NULL;
    inrf_status st = inrf_encode_make_model(f->net, w->keep, f->quant, f->half_io, f->arch,
                                            w->params, &m);
    if (st == INRF_OK)
        st = inrf_encode_model_psnr(m, img, threads, psnr);
    if (st == INRF_OK) {
        m->psnr = (float)*psnr; /* what the file stores, so that it is measured as written */
        st = inrf_write_memory(m, NULL, &d, bytes);
        free(d);
    }
    if (st != INRF_OK) {
        inrf_model_free(m);
        m = NULL;
    }
    *out = m;
    return st;
}

/* Bytes of the file of w pruned to ratio (0: as it is), built in the
 * scratch p and k; SIZE_MAX if it cannot be built. */
static size_t bytes_pruned(const inrf_encode_form *f, const inrf_encode_weights *w, float ratio,
                           float *p, uint8_t *k)
{
    const size_t P = f->net->nparams;
    memcpy(p, w->params, P * sizeof(float));
    memcpy(k, w->keep, P);
    if (ratio > 0)
        inrf_prune_hidden(f->net, p, k, NULL, NULL, ratio);
    inrf_model *m = NULL;
    if (inrf_encode_make_model(f->net, k, f->quant, f->half_io, f->arch, p, &m) != INRF_OK)
        return SIZE_MAX;
    size_t b = inrf_encode_file_bytes(m); /* psnr unset: its chunk counted */
    inrf_model_free(m);
    return b;
}

inrf_status inrf_encode_fit_ratio(const inrf_encode_form *f, const inrf_encode_weights *w,
                                  size_t budget, float *ratio, size_t *smallest)
{
    const inrf_tm_net *n = f->net;
    float *p = malloc(n->nparams * (sizeof(float) + 1));
    if (!p)
        return inrf_fail(INRF_E_NOMEM, "encode: out of memory");
    uint8_t *k = (uint8_t *)(p + n->nparams);
    float lo = inrf_pruned_fraction(n, w->keep), hi = 1.0f;
    size_t b = bytes_pruned(f, w, 0, p, k);
    inrf_status st = INRF_OK;
    if (b <= budget) {
        hi = lo; /* fits as it is */
    } else if (n->layers < 2 || (b = bytes_pruned(f, w, 1.0f, p, k)) > budget) {
        st = INRF_E_LIMIT;
        if (smallest)
            *smallest = b;
    } else {
        /* the file shrinks as the ratio grows (a weight less, a byte
         * less, give or take what zstd makes of it): bisect until a step
         * moves at most one weight of the largest layer; hi always fits */
        size_t most = 0;
        for (unsigned l = 1; l < n->layers; l++)
            if ((size_t)n->in[l] * n->out[l] > most)
                most = (size_t)n->in[l] * n->out[l];
        for (int i = 0; i < 40 && (hi - lo) * (float)most > 0.5f; i++) {
            float mid = lo + (hi - lo) / 2;
            if (bytes_pruned(f, w, mid, p, k) <= budget)
                hi = mid;
            else
                lo = mid;
        }
    }
    free(p);
    *ratio = hi;
    return st;
}

size_t inrf_encode_smallest(const inrf_encode_form *f, const inrf_encode_weights *w)
{
    float ratio;
    size_t smallest = SIZE_MAX;
    /* a budget of 0 bytes fits nothing: the status is LIMIT, or NOMEM */
    if (inrf_encode_fit_ratio(f, w, 0, &ratio, &smallest) != INRF_E_LIMIT)
        return SIZE_MAX;
    return smallest;
}

void inrf_encode_weights_copy(const inrf_tm_net *n, const inrf_encode_weights *dst,
                              const inrf_encode_weights *src)
{
    const size_t P = n->nparams;
    memcpy(dst->params, src->params, P * sizeof(float));
    memcpy(dst->m, src->m, P * sizeof(float));
    memcpy(dst->v, src->v, P * sizeof(float));
    memcpy(dst->keep, src->keep, P);
}

/* The next round of a target search: the middle of the budgets between
 * the last one that missed and the best file's size; none once the
 * interval is within 1/64 of that size or the rounds are spent. */
static void rate_choose(inrf_rate *r)
{
    size_t hi = r->bytes;
    r->next = 0;
    if (r->rounds < INRF_RATE_ROUNDS && hi > r->lo + 1 + hi / 64)
        r->next = r->lo + (hi - r->lo) / 2;
}

static void rate_search(inrf_rate *r)
{
    r->searching = 1;
    r->lo = r->smallest - 1;
    rate_choose(r);
}

inrf_status inrf_rate_start(inrf_rate *r, size_t budget, double target, size_t smallest,
                            int steps, inrf_model *m, double psnr, size_t bytes, float prune,
                            const char *what)
{
    memset(r, 0, sizeof *r);
    r->budget = budget;
    r->target = target;
    /* an eighth of the schedule as it ran (stage 3 may have been skipped):
     * the 6 rounds of a target search together take about its time. At
     * least 200 (CIFAR-10 at effort 1 and 620 bytes: 112 steps 24.7 dB,
     * 150 25.0, 200 25.5). */
    r->steps = steps / 8 > 200 ? steps / 8 : 200;
    r->steps -= r->steps % INRF_RATE_PRUNE_STEPS;
    r->smallest = smallest < bytes ? smallest : bytes;
    r->best = m, r->psnr = psnr, r->bytes = bytes, r->prune = prune;
    if (budget && bytes > budget) {
        if (r->smallest > budget) {
            inrf_model_free(m);
            r->best = NULL;
            return inrf_fail(INRF_E_LIMIT, "%s: cannot fit in %zu bytes (smallest made: %zu)",
                             what, budget, r->smallest);
        }
        r->next = budget; /* a round that makes it fit */
    } else if (target > 0 && psnr >= target) {
        rate_search(r);
    }
    return INRF_OK;
}

inrf_status inrf_rate_round_begin(const inrf_encode_form *f, inrf_rate *r,
                                  const inrf_encode_weights *base,
                                  const inrf_encode_weights *cur)
{
    inrf_encode_weights_copy(f->net, cur, base);
    r->from = inrf_pruned_fraction(f->net, base->keep);
    inrf_status st = inrf_encode_fit_ratio(f, base, r->next, &r->to, NULL);
    if (st == INRF_E_LIMIT) /* not below the smallest file: cannot happen */
        return inrf_fail(st, "encode: cannot fit in %zu bytes", r->next);
    return st;
}

void inrf_rate_round_prune(const inrf_encode_form *f, const inrf_rate *r,
                           const inrf_encode_weights *cur, int k)
{
    double left = 1.0 - (double)k / INRF_RATE_PRUNE_STEPS;
    float ratio = r->from + (float)((r->to - r->from) * (1.0 - left * left * left));
    if (k >= INRF_RATE_PRUNE_STEPS)
        ratio = r->to;
    if (ratio > inrf_pruned_fraction(f->net, cur->keep))
        inrf_prune_hidden(f->net, cur->params, cur->keep, cur->m, cur->v, ratio);
}

/* Keeps the round's file m or frees it, and chooses the next round. */
static void rate_judge(inrf_rate *r, inrf_model *m, double psnr, size_t bytes, float prune)
{
    int reached = r->target > 0 && psnr >= r->target;
    r->rounds++;
    if (!r->searching || (reached && bytes < r->bytes)) {
        /* the round that makes the file fit, or a smaller file that reaches the target */
        inrf_model_free(r->best);
        r->best = m, r->psnr = psnr, r->bytes = bytes, r->prune = prune;
        if (!r->searching) {
            if (reached)
                rate_search(r);
            else
                r->next = 0;
            return;
        }
    } else {
        inrf_model_free(m);
        if (!reached)
            r->lo = r->next;
    }
    rate_choose(r);
}

inrf_status inrf_rate_round_end(const inrf_encode_form *f, inrf_rate *r,
                                const inrf_encode_weights *base, const inrf_encode_weights *cur,
                                const inrf_image *img, int threads)
{
    inrf_model *m = NULL;
    double psnr = 0;
    size_t bytes = 0;
    inrf_status st = inrf_encode_measure(f, cur, img, threads, &m, &psnr, &bytes);
    if (st == INRF_OK && bytes > r->next) {
        /* fine-tuning changed what zstd makes of the weights: prune the
         * tuned weights further, or, when no ratio of them fits, the
         * base's (which fits, r->next being at least the smallest) */
        float ratio;
        inrf_model_free(m);
        m = NULL;
        st = inrf_encode_fit_ratio(f, cur, r->next, &ratio, NULL);
        if (st == INRF_E_LIMIT) {
            inrf_encode_weights_copy(f->net, cur, base);
            st = inrf_encode_fit_ratio(f, cur, r->next, &ratio, NULL);
            if (st == INRF_E_LIMIT)
                st = inrf_fail(st, "encode: cannot fit in %zu bytes", r->next);
        }
        if (st == INRF_OK) {
            if (ratio > inrf_pruned_fraction(f->net, cur->keep))
                inrf_prune_hidden(f->net, cur->params, cur->keep, cur->m, cur->v, ratio);
            st = inrf_encode_measure(f, cur, img, threads, &m, &psnr, &bytes);
        }
    }
    if (st != INRF_OK)
        return st;
    rate_judge(r, m, psnr, bytes, inrf_pruned_fraction(f->net, cur->keep));
    return INRF_OK;
}

/* --------------------------------------------------------------- driver */

inrf_status inrf_encode_check(const inrf_image *img, const inrf_encode_options *o)
{
    if (!img || !img->pixels || (img->channels != 1 && img->channels != 3) || !img->width ||
        !img->height)
        return inrf_fail(INRF_E_INVALID_ARG, "encode: no image");
    inrf_status st = inrf_check_abi(o->abi, o->reserved_, INRF_RESERVED_COUNT(o),
                                    "encode options", "inrf_encode_options_init");
    if (st != INRF_OK)
        return st;
    if (o->preset < 0 || o->preset > INRF_PRESET_IMAGENET || o->effort < 1 || o->effort > 9 ||
        o->layers < 0 || o->layers > INRF_MAX_SINE_LAYERS || o->hidden < 0 ||
        o->hidden > INRF_MAX_WIDTH || o->steps < 0 || o->threads < 0 || o->quant < 0 ||
        o->quant > INRF_QUANT_INT8_ROW || !(o->lr >= 0 && o->lr < 1) ||
        !(o->omega_first >= 0 && o->omega_first < 1e4) ||
        !(o->omega_hidden >= 0 && o->omega_hidden < 1e4) || !(o->target_psnr >= 0) ||
        !(o->bpp >= 0 && o->bpp < 1e6))
        return inrf_fail(INRF_E_INVALID_ARG, "encode: an option is out of range");
    /* The network must fit the limits every reader applies by default
     * (the writer refuses it otherwise): say so before any training. */
    inrf_arch a;
    plan_arch(img, o, &a);
    st = inrf_arch_check_writable(&a);
    /* an option error: what the options ask for cannot be written */
    return st == INRF_E_LIMIT ? INRF_E_INVALID_ARG : st;
}

/* SIREN initialisation, through the model so that it is the library's. */
inrf_status inrf_encode_init_params(const inrf_tm_net *n, const inrf_arch *a, uint64_t seed,
                                    float *params)
{
    inrf_model *init;
    inrf_status st = inrf_model_create(a, &init);
    if (st != INRF_OK)
        return st;
    inrf_model_init(init, seed);
    for (unsigned l = 0; l <= a->layers; l++) {
        memcpy(params + n->woff[l], init->layer[l].w,
               (size_t)init->layer[l].in * init->layer[l].out * sizeof(float));
        memcpy(params + n->boff[l], init->layer[l].b, init->layer[l].out * sizeof(float));
    }
    inrf_model_free(init);
    return INRF_OK;
}
