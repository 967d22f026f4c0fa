/* train.h: the interface between the encoder (encode.c) and the SIREN
 * training kernel (train_kernel.c), compiled once per instruction set like
 * the decode tile kernel. Private to libinrf. */
#ifndef INRF_TRAIN_H
#define INRF_TRAIN_H

#include <stddef.h>

#include "inrf/inrf.h"

/* Pixels are processed in groups of this many; n must be a multiple. */
#define INRF_TRAIN_ALIGN 16

/* A network as the trainer sees it: all parameters in one float array,
 * layer l's weights [out][in] at woff[l], its biases at boff[l]. */
typedef struct inrf_train_net {
    unsigned layers;                      /* sine layers L */
    unsigned in[INRF_MAX_SINE_LAYERS + 1];
    unsigned out[INRF_MAX_SINE_LAYERS + 1];
    size_t woff[INRF_MAX_SINE_LAYERS + 1];
    size_t boff[INRF_MAX_SINE_LAYERS + 1];
    size_t nparams;
    unsigned max_width;                   /* widest sine layer */
    float omega_first, omega_hidden;
} inrf_train_net;

/* Floats between rows of n pixels in the kernel's work memory: n plus one
 * cache line, so that rows a power of two apart (n = 1024, 2048, 4096) do
 * not all fall in the same L1 sets and evict each other while a block of
 * pixels is walked down its rows. */
static inline size_t inrf_train_row_stride(size_t n) { return n + 16; }

/* Floats of work memory the kernel needs for n pixels. */
size_t inrf_train_work_floats(const inrf_train_net *net, size_t n);

/* One forward and backward pass over n pixels (a multiple of
 * INRF_TRAIN_ALIGN) of which the first n_valid count. xy: [2][n]
 * coordinates; y: [channels][n] targets. Adds to grad (nparams floats) the
 * gradient of scale * sum of squared errors, and returns that sum
 * (unscaled). work: inrf_train_work_floats(net, n) floats, 64-byte aligned.
 * The math is siren_math.h's (the sine of the decoder). */
typedef double (*inrf_train_fn)(const inrf_train_net *net, const float *params, const float *xy,
                                const float *y, size_t n, size_t n_valid, float scale,
                                float *grad, float *work);

double inrf_train_pass_generic(const inrf_train_net *, const float *, const float *, const float *,
                               size_t, size_t, float, float *, float *);
double inrf_train_pass_avx2(const inrf_train_net *, const float *, const float *, const float *,
                            size_t, size_t, float, float *, float *);
double inrf_train_pass_avx512(const inrf_train_net *, const float *, const float *, const float *,
                              size_t, size_t, float, float *, float *);

#endif /* INRF_TRAIN_H */
