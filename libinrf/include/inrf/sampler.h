/* sampler.h: the order and the augmentation of a training epoch over a
 * dataset, for one rank of a data-parallel job: which images each batch
 * holds and through which window (spec/inrf.md "Decoding") each is seen.
 * Everything follows from (seed, epoch, position in the epoch), so that
 * - every rank of a job computes its slice alone, with the same number of
 *   batches on every rank (no collective hangs on uneven shards);
 * - the same seed gives the same global order for any world size, and an
 *   image at a given place of the epoch gets the same window whichever
 *   rank decodes it;
 * - a run resumed at batch b of epoch e sees exactly the batches an
 *   uninterrupted run would.
 * The windows feed inrf_pack_decode_batch or inrf_cuda_decode_batch
 * unchanged. */
#ifndef INRF_SAMPLER_H
#define INRF_SAMPLER_H

#include "inrf/pack.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum inrf_augment {
    INRF_AUGMENT_NONE = 0,      /* the whole image, no flip */
    INRF_AUGMENT_CROP_FLIP = 1, /* the whole image shifted by -pad..pad output
                                   pixels in x and in y (what falls outside is
                                   the zero padding of a padded random crop:
                                   decode with zero_outside = 1), then mirrored
                                   with probability 1/2 (CIFAR's RandomCrop(32,
                                   padding=4) + RandomHorizontalFlip) */
    INRF_AUGMENT_RRC_FLIP = 2,  /* torchvision's RandomResizedCrop(scale,
                                   ratio): ten tries, then the centre crop;
                                   then mirrored with probability 1/2 */
} inrf_augment;

typedef struct inrf_sampler_options {
    int abi;                    /* set by inrf_sampler_options_init */
    uint64_t seed;              /* default 0 */
    uint32_t batch_size;        /* samples a batch on each rank; required,
                                   1..2^28 */
    int shuffle;                /* 1 (default): each epoch a permutation of
                                   (seed, epoch); 0: the dataset's order */
    int drop_last;              /* 0 (default): every image once an epoch over
                                   all ranks, the last slices padded by
                                   wrapping to the start of the epoch's order
                                   (as torch's DistributedSampler), and each
                                   rank's last batch possibly short; 1: the
                                   epoch's tail that does not fill a whole
                                   batch on every rank is dropped (the same
                                   count on every rank) */
    uint32_t rank, world_size;  /* default 0 and 1; world_size 1..2^20,
                                   rank < world_size */
    int augment;                /* inrf_augment, default INRF_AUGMENT_NONE */
    uint32_t pad;               /* CROP_FLIP: the shift's bound, in pixels of
                                   the output, 0..65536; 0 (default): width / 8
                                   (4 at 32) */
    float scale[2];             /* RRC_FLIP: area fraction, default 0.08, 1;
                                   0 < scale[0] <= scale[1] <= 1 */
    float ratio[2];             /* RRC_FLIP: aspect ratio (width / height),
                                   default 3/4, 4/3; 0 < ratio[0] <= ratio[1] */
    uint64_t reserved_[8];      /* 0 (set by the init function) */
} inrf_sampler_options;

INRF_API void inrf_sampler_options_init_(inrf_sampler_options *opt, int abi);
#define inrf_sampler_options_init(opt) inrf_sampler_options_init_((opt), INRF_ABI_VERSION)

typedef struct inrf_sampler inrf_sampler;

/* A sampler over count images (1..INRF_PACK_MAX_IMAGES). sizes: 2 x count
 * values, the width and height of each source image (RandomResizedCrop
 * draws in the source's pixels, as torchvision does; 0..65536), or NULL
 * (every image taken as square, at a resolution where rounding is nil; so
 * is an image whose width or height is given as 0). Copied. Bad options:
 * INRF_E_INVALID_ARG, inrf_last_error() naming the field. */
INRF_API INRF_NODISCARD inrf_status inrf_sampler_create(uint32_t count, const uint32_t *sizes,
                                                        const inrf_sampler_options *opt,
                                                        inrf_sampler **out);
/* The same over a pack's images (their sizes from its index). */
INRF_API INRF_NODISCARD inrf_status inrf_sampler_create_pack(const inrf_pack *pack,
                                                             const inrf_sampler_options *opt,
                                                             inrf_sampler **out);
INRF_API void inrf_sampler_free(inrf_sampler *s);

/* Samples this rank sees an epoch (the same on every rank). */
INRF_API uint64_t inrf_sampler_samples(const inrf_sampler *s);
/* Batches this rank has an epoch (the same on every rank). */
INRF_API uint64_t inrf_sampler_batches(const inrf_sampler *s);
/* Over all ranks, an epoch: samples added by wrapping (drop_last 0) or
 * images left out (drop_last 1). */
INRF_API uint64_t inrf_sampler_padded(const inrf_sampler *s);
INRF_API uint64_t inrf_sampler_dropped(const inrf_sampler *s);

/* Makes `epoch` current (its permutation: O(count)). A new sampler is at
 * epoch 0. */
INRF_API INRF_NODISCARD inrf_status inrf_sampler_set_epoch(inrf_sampler *s, uint64_t epoch);
INRF_API uint64_t inrf_sampler_epoch(const inrf_sampler *s);

/* Batch b (< inrf_sampler_batches) of the current epoch on this rank, for
 * an output of width x height: *n samples (batch_size, or fewer for the
 * last batch when drop_last is 0), their images in indices[0..*n) and their
 * windows in windows[0..4 * *n) (x0, y0, x1, y1; the whole image, -1 -1 1
 * 1, for INRF_AUGMENT_NONE). indices and windows hold batch_size entries;
 * windows may be NULL. Sample j of rank r's batch b is position
 * (b * batch_size + j) * world_size + r of the (padded) epoch order, and
 * its window depends only on seed, epoch, that position, the image's size
 * and width x height. With drop_last 0 a position p past the count n of
 * images shows the image at p mod n of the order (wrapping, as often as
 * needed when world_size > n). Safe from several threads at once between
 * calls to set_epoch. */
INRF_API INRF_NODISCARD inrf_status inrf_sampler_batch(const inrf_sampler *s, uint64_t b,
                                                       uint32_t width, uint32_t height,
                                                       uint32_t *indices, float *windows,
                                                       size_t *n);

#ifdef __cplusplus
}
#endif

#endif /* INRF_SAMPLER_H */
