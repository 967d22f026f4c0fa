/* encode_internal.h: the parts of the encoder's schedule that inrf_encode
 * (encode.c) and the batch encoder (encode_batch.c) share, so that both
 * follow one definition. Private to libinrf. */
#ifndef INRF_ENCODE_INTERNAL_H
#define INRF_ENCODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"
#include "train.h"

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

/* The trainer's layout of arch's parameters; the SIREN initialisation of
 * the library (inrf_model_init) in it. */
void inrf_train_net_init(inrf_train_net *n, const inrf_arch *arch);
inrf_status inrf_encode_init_params(const inrf_train_net *n, const inrf_arch *arch, uint64_t seed,
                                    float *params);

/* Prunes the hidden layers to `ratio` of their weights by magnitude
 * (L1-unstructured), clearing keep, the weights and their moments. */
void inrf_prune_hidden(const inrf_train_net *n, float *params, uint8_t *keep, float *m, float *v,
                       float ratio);
float inrf_pruned_fraction(const inrf_train_net *n, const uint8_t *keep);

/* The file's model from float weights and their mask, with the encodings
 * of stage 4 (quant: inrf_quant of the hidden layers; half_io). */
inrf_status inrf_encode_make_model(const inrf_train_net *n, const uint8_t *keep, int quant,
                                   int half_io, const inrf_arch *arch, const float *params,
                                   inrf_model **out);
/* PSNR of a model decoded at the source size against the source. */
inrf_status inrf_encode_model_psnr(const inrf_model *m, const inrf_image *img, int threads,
                                   double *psnr);
/* Bytes of the model's file with default write options; SIZE_MAX if it
 * cannot be written. */
size_t inrf_encode_file_bytes(const inrf_model *m);

#endif /* INRF_ENCODE_INTERNAL_H */
