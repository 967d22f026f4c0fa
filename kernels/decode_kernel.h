/* decode_kernel.h: what the batch decoder (decode.cu) shares with each
 * network kind's GPU evaluator: the sample and launch parameters, the
 * per-sample coordinates and the store of a pixel as device functions, a
 * kernel template around the kind's pixel function, and the interface of
 * a kind's evaluator with its table (decode.cu). Private to kernels/ and
 * the tests' kinds. */
#ifndef INRF_DECODE_KERNEL_H
#define INRF_DECODE_KERNEL_H

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "inrf/inrf.h"
#include "inrf/cuda.h"
#include "inrf/siren_math.h"

#include "cuda_status.h"

/* One image of the pack as the kernels read it. */
typedef struct dev_item {
    unsigned long long offset; /* of the record in the pack */
    uint32_t size;             /* record bytes: no read goes past them */
    int arch;
} dev_item;

typedef struct kparams {
    uint32_t width, height;
    int type, zero_outside;
    int table;                 /* float offset in shared memory of the sample
                                  coordinates (width x, then height y), or -1 */
    float mean[3], std[3];
} kparams;

/* One launch of a kind's kernel: n blocks, one a sample. */
typedef struct inrf_cuda_launch {
    const uint8_t *pack;       /* the pack's bytes on the device */
    const dev_item *items;
    const void *archs;         /* the kind's table of architectures (device) */
    const uint32_t *idx;       /* n image indices (device) */
    const float *win;          /* 4 n window coordinates (device), or NULL */
    kparams kp;
    void *out;
    unsigned n;
    int threads;               /* a block's */
    size_t smem;               /* dynamic shared memory a block */
    cudaStream_t stream;
} inrf_cuda_launch;

/* A kind's GPU evaluator (struct inrf_cuda_kind of cuda_kinds.h): the
 * kernel of one pack (all of whose architectures are of the kind) and its
 * launch. */
struct inrf_cuda_kind {
    unsigned kind;             /* NHDR.kind */
    /* The device table of the pack's architectures (*archs: device memory,
     * cudaFree()d with the pack), the shared memory a block needs for a
     * sample's weights (*smem, the coordinate tables come after it), the
     * kernel (what the occupancy query and the attributes name) and its
     * block size; the pack's device is current. INRF_E_UNSUPPORTED for
     * architectures the evaluator does not take. */
    inrf_status (*prepare)(const inrf_pack *pack, void **archs, size_t *smem,
                           const void **kernel, int *threads);
    /* Queues the kernel that prepare named. */
    void (*launch)(const void *kernel, const inrf_cuda_launch *l);
};

#include "cuda_kinds.h" /* the testing hook */

/* ---------------------------------------------------------- device side */

/* Sample s's window, and its coordinate tables in shared memory when the
 * launch has room for them (kp.table >= 0), binary64 divisions once a
 * block. Ends with a barrier. */
typedef struct sample_coords {
    double x0, y0, x1, y1;
    const float *xs, *ys;
} sample_coords;

__device__ __forceinline__ void sample_setup(float *smem, const float *win, size_t s,
                                             const kparams &kp, sample_coords *c)
{
    c->x0 = win ? win[4 * s + 0] : -1.0, c->y0 = win ? win[4 * s + 1] : -1.0;
    c->x1 = win ? win[4 * s + 2] : 1.0, c->y1 = win ? win[4 * s + 3] : 1.0;
    float *xs = kp.table >= 0 ? smem + kp.table : NULL, *ys = xs ? xs + kp.width : NULL;
    for (uint32_t k = threadIdx.x; xs && k < kp.width; k += blockDim.x)
        xs[k] = inrf_coord(k, kp.width, c->x0, c->x1);
    for (uint32_t k = threadIdx.x; ys && k < kp.height; k += blockDim.x)
        ys[k] = inrf_coord(k, kp.height, c->y0, c->y1);
    c->xs = xs;
    c->ys = ys;
    __syncthreads();
}

/* Every pixel of sample s through eval(x, y, v) (v[0 .. C - 1], before
 * the output mapping), mapped, normalised and stored, as the CPU decoder
 * does (decode.c's store_tile). */
template <class Eval>
__device__ __forceinline__ void decode_pixels(const Eval &eval, const sample_coords &c,
                                              const kparams &kp, size_t s, int C,
                                              int output_map, void *out)
{
    const uint32_t npix = kp.width * kp.height; /* below 2^32: the host checks */
    for (uint32_t p = threadIdx.x; p < npix; p += blockDim.x) {
        const uint32_t i = p % kp.width, j = p / kp.width;
        const float x = c.xs ? c.xs[i] : inrf_coord(i, kp.width, c.x0, c.x1);
        const float y = c.ys ? c.ys[j] : inrf_coord(j, kp.height, c.y0, c.y1);
        const int zero = kp.zero_outside && (x < -1.0f || x > 1.0f || y < -1.0f || y > 1.0f);
        float v[3];
        eval(x, y, v);
        const size_t o = ((size_t)s * npix + p) * (size_t)C;
#pragma unroll
        for (int k = 0; k < 3; k++) {
            if (k >= C)
                break;
            float u = zero ? 0.0f : inrf_output_unit(v[k], output_map == INRF_OUTPUT_SIGNED);
            if (kp.type == INRF_BATCH_U8)
                ((uint8_t *)out)[o + k] = inrf_unit_to_u8(u);
            else if (kp.type == INRF_BATCH_F32)
                ((float *)out)[o + k] = (u - kp.mean[k]) / kp.std[k];
            else
                ((__half *)out)[o + k] = __float2half_rn((u - kp.mean[k]) / kp.std[k]);
        }
    }
}

#endif /* INRF_DECODE_KERNEL_H */
