/* encode.h: fitting a SIREN to an image (the encoder), with the Rapid-INR
 * pipeline of pruning and quantisation, and rate control. Public API;
 * included by inrf.h. */
#ifndef INRF_ENCODE_H
#define INRF_ENCODE_H

#include "inrf/image.h"
#include "inrf/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Architectures and schedules of the Rapid-INR paper. */
typedef enum inrf_preset {
    INRF_PRESET_AUTO = 0,     /* from the image size: <= 64 x 64 cifar10,
                                 <= 256 x 256 flowers, larger imagenet */
    INRF_PRESET_CIFAR10 = 1,  /* 3 sine layers x 15, no first pruning round */
    INRF_PRESET_FLOWERS = 2,  /* 10 x 32 */
    INRF_PRESET_IMAGENET = 3, /* 10 x 40 */
} inrf_preset;

/* Quantisation of the hidden layers (stage 4). */
typedef enum inrf_quant {
    INRF_QUANT_NONE = 0,      /* fp32 everywhere */
    INRF_QUANT_INT8 = 1,      /* int8 with one scale per layer (the paper) */
    INRF_QUANT_INT8_ROW = 2,  /* int8 with one scale per output row */
} inrf_quant;

/* Progress of an encode, given to the callback. Only the library makes it,
 * so later minor ABI versions may append fields. */
typedef struct inrf_encode_progress {
    int stage;                /* 1 fit, 2 prune 20 %, 3 dynamic prune, 4 quantise */
    int step, steps;          /* step within the whole schedule, and its total */
    double psnr;              /* of the current weights on the training pixels, dB */
    double best_psnr;         /* best seen so far */
    double seconds;           /* since the start */
} inrf_encode_progress;

typedef struct inrf_encode_options {
    int abi;                  /* set by inrf_encode_options_init */
    int preset;               /* inrf_preset, default AUTO */
    int layers;               /* sine layers, 1..64; 0 = the preset's */
    int hidden;               /* neurons per sine layer, 1..1024; 0 = the preset's */
    float omega_first;        /* w0 of the first layer; 0 = the preset's (cifar10 15,
                                 others 30) */
    float omega_hidden;       /* w0 of the others; 0 = the preset's (30) */
    float lr;                 /* Adam learning rate of the fit; 0 = the preset's
                                 (cifar10 3e-3, others 1e-3); later stages use
                                 0.4x (pruning) and 0.3x (quantisation) */
    int steps;                /* fit steps (stage 1); 0 = from effort */
    int effort;               /* 1..9, default 5; 9 = the paper's schedule
                                 (5,000 + 10,000 + 10,000 steps) */
    int prune;                /* 1 (default): stages 2 and 3 as the preset says; 0: none */
    int quant;                /* inrf_quant, default INRF_QUANT_INT8 */
    int qat;                  /* 1: quantisation-aware fine-tuning after stage 4
                                 (straight-through); 0 (default): plain rounding
                                 of the best weights, which measured as good on
                                 CIFAR-10 in less time */
    int half_io;              /* 1 (default): first and last layers and all biases
                                 in binary16; 0: binary32 (the paper) */
    double target_psnr;       /* dB; > 0: the smallest file found that reaches
                                 it (a search over the byte budget: up to 6
                                 rounds of further pruning and fine-tuning,
                                 each an eighth of the steps the schedule
                                 ran, at least 200); when none
                                 does, the best file made, and stats'
                                 target_reached 0; default 0 (off) */
    size_t max_bytes;         /* > 0: the whole file as written with default
                                 write options (every chunk) never exceeds it:
                                 one round of further pruning and fine-tuning
                                 when the schedule's file is larger; INRF_E_LIMIT
                                 below the smallest file the encoder makes (every
                                 hidden weight pruned), the message naming its
                                 size; default 0 (off) */
    uint32_t batch_pixels;    /* pixels per step; 0 = every pixel for images of up
                                 to 16,384 pixels, else random batches of 4,096 */
    uint64_t seed;            /* default 1; the same image, options and seed
                                 give the same bytes, whatever the threads and
                                 the CPU's instruction set (the GPU encoder
                                 excepted: its bytes may differ between GPU
                                 generations) */
    int threads;              /* at most this many threads, 0 = the cores
                                 available; they follow the work (a small
                                 image trains on one) and never change the
                                 bytes */
    /* Called every few steps; a non-zero return stops the encode with
     * INRF_E_INTERRUPTED (Ctrl-C). May be NULL. */
    int (*progress)(const inrf_encode_progress *p, void *user);
    void *user;
    double bpp;               /* > 0: a budget in bits per pixel of the source,
                                 max_bytes = floor(bpp * width * height / 8)
                                 (the smaller of the two when both are set);
                                 default 0 (off) */
    uint64_t reserved_[8];    /* 0 (set by the init function); the fields of
                                 later minor ABI versions (inrf/types.h) */
} inrf_encode_options;

INRF_API void inrf_encode_options_init_(inrf_encode_options *opt, int abi);
#define inrf_encode_options_init(opt) inrf_encode_options_init_((opt), INRF_ABI_VERSION)

/* What an encode did. */
typedef struct inrf_encode_stats {
    double psnr;              /* of the returned model, decoded to 8 bits at the
                                 source size, against the source pixels */
    double psnr_fp32;         /* best of the full-precision stages */
    size_t bytes;             /* file size with default write options */
    double seconds;           /* wall time */
    int steps;                /* optimisation steps run */
    float prune_ratio;        /* fraction of hidden weights pruned */
    int layers, hidden;       /* architecture used */
    int target_reached;       /* with target_psnr: 1 when psnr reaches it, 0 when
                                 the file is the best made but falls short;
                                 -1 without a target */
    uint64_t reserved_[8];    /* 0 as returned; the fields of later minor ABI
                                 versions (inrf/types.h) */
} inrf_encode_stats;

/* Fits a model to img (8-bit, 1 or 3 channels). stats may be NULL. The
 * model's psnr field is set, so that writing it stores the quality. The
 * model depends only on img, opt and opt->seed: not on opt->threads, nor
 * on the CPU it runs on. */
INRF_API INRF_NODISCARD inrf_status inrf_encode(const inrf_image *img,
                                                const inrf_encode_options *opt,
                                                inrf_model **out, inrf_encode_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* INRF_ENCODE_H */
