/* encode_internal.h: the encoder's plan, pruning, models and rate control
 * (encode.c), which the one schedule (encode_batch.c) runs for inrf_encode
 * and the batch encoders alike. Private to libinrf. */
#ifndef INRF_ENCODE_INTERNAL_H
#define INRF_ENCODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"
#include "inrf/train_math.h"

typedef struct inrf_preset_info {
    unsigned layers, hidden;
    float omega_first;    /* measured: 15 beats the customary 30 by 1.5 dB on CIFAR-10 */
    float lr;             /* Adam learning rate of stage 1 */
    int prune20;          /* stage 2 */
    float pr_lo, pr_hi;   /* dynamic ratio: Pr = slope * PSNR + icpt between */
    float db_lo, db_hi;   /* the two PSNR knees */
} inrf_preset_info;

/* What an encode of one image will run: the architecture and the steps
 * and learning rate of each stage. */
typedef struct inrf_encode_plan {
    const inrf_preset_info *preset;
    inrf_arch arch;
    float lr;                 /* stage 1; the others are multiples */
    int s1, s2, s3, s4;       /* steps of stages 1 to 4 (0: skipped) */
    float rate_lr;            /* Adam learning rate of rate-control rounds */
    double stop;              /* training PSNR that ends a stage early; 0 = none */
} inrf_encode_plan;

inrf_status inrf_encode_check(const inrf_image *img, const inrf_encode_options *o);
inrf_status inrf_encode_plan_make(const inrf_image *img, const inrf_encode_options *opt,
                                  inrf_encode_plan *plan);
/* Dynamic pruning ratio (stage 3) from the best PSNR of stages 1 and 2. */
float inrf_encode_dynamic_ratio(const inrf_preset_info *p, double psnr);
/* Stage 3's learning rate as a multiple of stage 1's. */
float inrf_encode_stage3_lr(int s3);
double inrf_encode_now(void);
/* The byte budget of the whole file (every chunk): the smaller of
 * max_bytes and bpp's floor(bpp * width * height / 8); 0 = none. */
size_t inrf_encode_budget(const inrf_image *img, const inrf_encode_options *o);

/* The SIREN initialisation of the library (inrf_model_init) in the
 * trainers' layout of arch's parameters (inrf_tm_net_init). */
inrf_status inrf_encode_init_params(const inrf_tm_net *n, const inrf_arch *arch, uint64_t seed,
                                    float *params);

/* Prunes the hidden layers to `ratio` of their weights by magnitude
 * (L1-unstructured), clearing keep, the weights and their moments (m and
 * v may be NULL). */
void inrf_prune_hidden(const inrf_tm_net *n, float *params, uint8_t *keep, float *m, float *v,
                       float ratio);
float inrf_pruned_fraction(const inrf_tm_net *n, const uint8_t *keep);

/* The file's model from float weights and their mask, with the encodings
 * of stage 4 (quant: inrf_quant of the hidden layers; half_io). */
inrf_status inrf_encode_make_model(const inrf_tm_net *n, const uint8_t *keep, int quant,
                                   int half_io, const inrf_arch *arch, const float *params,
                                   inrf_model **out);
/* PSNR of a model decoded at the source size against the source. */
inrf_status inrf_encode_model_psnr(const inrf_model *m, const inrf_image *img, int threads,
                                   double *psnr);
/* Bytes of the model's file as written with default write options (every
 * chunk); SIZE_MAX if it cannot be written. While m->psnr is NaN (not yet
 * measured) the 'qual' chunk the file will carry is counted. */
size_t inrf_encode_file_bytes(const inrf_model *m);

/* ------------------------------------------------------- rate control */

/* What turns an image's float weights into its file: the network and the
 * encodings of stage 4. */
typedef struct inrf_encode_form {
    const inrf_tm_net *net;
    const inrf_arch *arch;
    int quant, half_io;
} inrf_encode_form;

/* One image's trainable state: parameters, Adam moments ([nparams] each)
 * and mask. */
typedef struct inrf_encode_weights {
    float *params, *m, *v;
    uint8_t *keep;
} inrf_encode_weights;

/* The file of w's model built, its PSNR against img measured and stored
 * in it (*out owns it) and its exact size as written. */
inrf_status inrf_encode_measure(const inrf_encode_form *f, const inrf_encode_weights *w,
                                const inrf_image *img, int threads, inrf_model **out,
                                double *psnr, size_t *bytes);
/* The smallest pruning ratio of the hidden layers, not below w's, at which
 * the file fits budget (by bisection over the ratio on copies; w is left
 * as it is). INRF_E_LIMIT, without a message, when even every hidden
 * weight pruned does not fit; *smallest (may be NULL) is then that file's
 * size. */
inrf_status inrf_encode_fit_ratio(const inrf_encode_form *f, const inrf_encode_weights *w,
                                  size_t budget, float *ratio, size_t *smallest);
/* Bytes of the smallest file rate control makes from w: every hidden
 * weight pruned. */
size_t inrf_encode_smallest(const inrf_encode_form *f, const inrf_encode_weights *w);

/* Rate control of one image, after the schedule. A round starts from the
 * schedule's weights (the base), prunes them step by step up to the
 * smallest ratio at which the base's file fits the round's budget,
 * fine-tuning after each step (the encoder's trainer), and measures the
 * file; a file still over the budget (fine-tuning moved the
 * compressed size) is pruned further without training. With max_bytes
 * alone one round runs when the schedule's file is over the budget. With
 * a target PSNR, rounds bisect over the budget, between the smallest file
 * and the smallest one known to reach the target, for the smallest file
 * that reaches it; each round's file equals what a max_bytes encode with
 * that budget returns. */
typedef struct inrf_rate {
    size_t budget;            /* whole file, 0 = none */
    double target;            /* dB, 0 = none */
    size_t smallest;          /* every hidden weight pruned (from the base) */
    int searching;            /* 0: the schedule's file, or the round that fits it
                                 to the budget; 1: searching for the target */
    size_t lo;                /* search: a budget whose file missed the target */
    size_t next;              /* the budget of the next round; 0 = done */
    float from, to;           /* the round's pruning ratios: the base's, the budget's */
    int rounds;
    int steps;                /* fine-tuning steps of each round */
    inrf_model *best;         /* the file to return, its PSNR, size and pruning */
    double psnr;
    size_t bytes;
    float prune;
} inrf_rate;

/* Most rounds of a target search: each halves the interval of budgets. */
#define INRF_RATE_ROUNDS 6
/* A round prunes in this many steps, each followed by a share of its
 * fine-tuning (CIFAR-10 at 620 bytes: 4 steps gain 0.5 dB over pruning at
 * once). */
#define INRF_RATE_PRUNE_STEPS 4

/* Starts with the schedule's file (taken over) after `steps` steps of
 * the schedule: INRF_E_LIMIT, with the message, when budget is below
 * smallest. `what` names the image in it. */
inrf_status inrf_rate_start(inrf_rate *r, size_t budget, double target, size_t smallest,
                            int steps, inrf_model *m, double psnr, size_t bytes, float prune,
                            const char *what);
/* The start of a round: cur = base, and the pruning ratio at which the
 * base's file fits r->next. */
inrf_status inrf_rate_round_begin(const inrf_encode_form *f, inrf_rate *r,
                                  const inrf_encode_weights *base,
                                  const inrf_encode_weights *cur);
/* Pruning step k (1..INRF_RATE_PRUNE_STEPS) of the round: cur pruned to a
 * ratio between the round's two on a cubic schedule (most of it early,
 * while the most fine-tuning remains), the last step at r->to. */
void inrf_rate_round_prune(const inrf_encode_form *f, const inrf_rate *r,
                           const inrf_encode_weights *cur, int k);
/* The end of a round, after fine-tuning cur: its file (pruned further if
 * over the budget, from the base if fine-tuning left no ratio that fits)
 * measured and judged; the next round chosen. */
inrf_status inrf_rate_round_end(const inrf_encode_form *f, inrf_rate *r,
                                const inrf_encode_weights *base, const inrf_encode_weights *cur,
                                const inrf_image *img, int threads);
/* Copies an image's state (base <-> cur). */
void inrf_encode_weights_copy(const inrf_tm_net *n, const inrf_encode_weights *dst,
                              const inrf_encode_weights *src);

#endif /* INRF_ENCODE_INTERNAL_H */
