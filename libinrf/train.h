/* train.h: the interface between the CPU batch trainer (encode_cpu.c) and
 * the SIREN training pass (train_kernel.c), compiled once per instruction
 * set like the decode tile kernel. Private to libinrf. */
#ifndef INRF_TRAIN_H
#define INRF_TRAIN_H

#include <stddef.h>

#include "inrf/inrf.h"
#include "inrf/train_math.h"

/* Pixels are processed in groups of this many; n must be a multiple. */
#define INRF_TRAIN_ALIGN 16

/* Pixels of a gradient chunk: a step's pixels are cut into chunks of this
 * many (the last one shorter), each chunk's gradient is one pass, and the
 * chunks' gradients are summed in chunk order. Fixed, so that the bits do
 * not depend on the thread count; 1,024 pixels keep a 10 x 40 network's
 * rows within L2. */
#define INRF_TRAIN_CHUNK 1024

/* Floats between rows of n pixels in the kernel's work memory: n plus one
 * cache line, so that rows a power of two apart (n = 1024) do not all fall
 * in the same L1 sets and evict each other while a block of pixels is
 * walked down its rows. */
static inline size_t inrf_train_row_stride(size_t n) { return n + 16; }

/* Floats of work memory the kernel needs for n pixels: xy, the output,
 * two gradient rows, and h and d of each sine layer. */
static inline size_t inrf_train_work_floats(const inrf_tm_net *net, size_t n)
{
    size_t rows = 2u + net->out[net->layers] + 2u * net->max_width;
    for (unsigned l = 0; l < net->layers; l++)
        rows += 2u * net->out[l];
    return rows * inrf_train_row_stride(n);
}

/* One forward and backward pass over n pixels (a multiple of
 * INRF_TRAIN_ALIGN, at most INRF_TRAIN_CHUNK) of which the first n_valid
 * count. xy: [2][n] coordinates; y: [channels][n] targets. Adds to grad
 * (nparams floats) the gradient of scale * sum of squared errors, and
 * returns that sum (unscaled). work: inrf_train_work_floats(net, n)
 * floats, 64-byte aligned. The math is siren_math.h's (the decoder's
 * sine), every multiply-add an explicit FMA, and every sum over pixels
 * taken over 16 logical lanes (pixel p in lane p mod 16, in pixel order)
 * reduced by inrf_sum16: every copy gives the same bits. */
typedef double (*inrf_train_fn)(const inrf_tm_net *net, const float *params, const float *xy,
                                const float *y, size_t n, size_t n_valid, float scale,
                                float *grad, float *work);

double inrf_train_pass_generic(const inrf_tm_net *, const float *, const float *, const float *,
                               size_t, size_t, float, float *, float *);
double inrf_train_pass_avx2(const inrf_tm_net *, const float *, const float *, const float *,
                            size_t, size_t, float, float *, float *);
double inrf_train_pass_avx512(const inrf_tm_net *, const float *, const float *, const float *,
                              size_t, size_t, float, float *, float *);

#endif /* INRF_TRAIN_H */
