/* checkpoint.h: inrtrain's checkpoint and model file (man/inrtrain.1,
 * "CHECKPOINT FORMAT"): weights, optimizer state, progress and RNG state. */
#ifndef TRN_CHECKPOINT_H
#define TRN_CHECKPOINT_H

#include <stdint.h>

#include "resnet18.h"

/* The ranges a reader accepts (man inrtrain.1, "CHECKPOINT FORMAT"):
 * inrtrain's options and the model's limits. */
#define TRN_CKPT_MAX_CLASSES 65536
#define TRN_CKPT_MAX_WIDTH 512
#define TRN_CKPT_MIN_SIZE 8
#define TRN_CKPT_MAX_SIZE 4096
#define TRN_CKPT_MAX_EPOCHS 100000
#define TRN_CKPT_MIN_BATCH 2
#define TRN_CKPT_MAX_BATCH 65536
#define TRN_CKPT_MAX_LR 100.0f
#define TRN_CKPT_MAX_NAME 255

/* What a checkpoint records besides the tensors. */
typedef struct trn_ckpt_meta {
    uint32_t classes;          /* classifier outputs */
    uint32_t base_width;       /* ResNet-18 stage-1 channels (64) */
    uint32_t image_size;       /* training input size (square) */
    uint32_t epochs_done;      /* completed epochs */
    uint32_t epochs;           /* planned epochs (for the learning-rate schedule) */
    uint32_t batch;            /* batch size */
    uint64_t seed;             /* the run's seed (permutations, augmentation) */
    uint64_t step;             /* SGD steps done */
    float lr, momentum, weight_decay, smoothing;
    uint32_t decay_all;        /* weight decay on batch-norm parameters and biases */
    float mean[3], std[3];     /* input normalisation */
    char **class_names;        /* [classes], NUL-terminated; owned */
} trn_ckpt_meta;

/* Writes model + meta to path atomically (temporary file, rename). */
INRF_NODISCARD inrf_status trn_ckpt_save(const char *path, trn_resnet18 *m, trn_backend *be,
                                         const trn_ckpt_meta *meta);

/* Reads only the meta (to build a matching model); free with
 * trn_ckpt_meta_free. */
INRF_NODISCARD inrf_status trn_ckpt_read_meta(const char *path, trn_ckpt_meta *meta);
/* Reads the tensors into m (whose architecture must match: every name,
 * shape and count); meta as trn_ckpt_read_meta. with_momentum = 0 skips
 * the optimizer state (evaluation). */
INRF_NODISCARD inrf_status trn_ckpt_load(const char *path, trn_resnet18 *m, trn_backend *be,
                                         int with_momentum, trn_ckpt_meta *meta);
void trn_ckpt_meta_free(trn_ckpt_meta *meta);

/* A run's hold on a file it writes (a checkpoint, the model): an exclusive
 * flock on PATH.lock for as long as the run goes on. */
typedef struct trn_ckpt_claim {
    int fd;                    /* the locked PATH.lock, or -1 */
    char *lock;                /* its path */
} trn_ckpt_claim;

/* Claims path (nothing for "-" or a file that is not regular): fails,
 * naming it, when another process holds it (another inrtrain writing the
 * same file). Holding the claim proves that every PATH.tmp-XXXXXX beside
 * path (inrf_file_write_atomic's temporary files) was left by a killed
 * writer: they are removed, each said on stderr unless quiet. */
INRF_NODISCARD inrf_status trn_ckpt_claim_path(const char *path, int quiet, trn_ckpt_claim *c);
/* Removes PATH.lock and lets go; c may be unclaimed (fd -1). */
void trn_ckpt_release(trn_ckpt_claim *c);

#endif /* TRN_CHECKPOINT_H */
