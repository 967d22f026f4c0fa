/* cuda.h: the GPU data path: an .inrpack copied to device memory once,
 * batches decoded there straight into NHWC training tensors, and batched
 * encoding. Built when configure finds nvcc (library libinrf_cuda); see
 * kernels/. */
#ifndef INRF_CUDA_H
#define INRF_CUDA_H

#include "inrf/encode.h"
#include "inrf/pack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every call below that takes a device makes it current for its work and
 * gives the calling thread back its current device (cudaSetDevice) before
 * it returns. */

/* Usable CUDA devices; INRF_E_NO_DEVICE when there are none (no driver,
 * no GPU), with the runtime's reason in inrf_last_error(). */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_devices(int *count);

typedef struct inrf_cuda_pack inrf_cuda_pack;

/* Copies the whole pack (its mapped bytes, in one transfer) and a compact
 * table of its images and architectures to device `device`. The kernels
 * trust the records, so a pack not verified yet (opened without
 * verify_records) is verified first, and a bad record fails the upload as
 * inrf_pack_verify says. Architectures wider
 * than 64 neurons, or whose dense weights do not fit in a block's shared
 * memory, are refused with INRF_E_UNSUPPORTED, and so is a pack whose
 * network kind has no GPU decoder or that mixes kinds (the message names
 * them). */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_pack_upload(const inrf_pack *pack, int device,
                                                          inrf_cuda_pack **out);
INRF_API void inrf_cuda_pack_free(inrf_cuda_pack *p);

/* Decodes n images into out (device memory, NHWC, n x height x width x
 * channels values of opt->type: INRF_BATCH_U8, INRF_BATCH_F32 or
 * INRF_BATCH_F16), with the semantics of inrf_pack_decode_batch: indices
 * and windows (4 floats a sample, NULL = whole images) are host arrays.
 * Every type's results equal the CPU decoder's bit for bit (f16: the f32
 * value rounded to nearest even, __float2half_rn). stream: a cudaStream_t, or NULL (the default
 * stream); the call returns once the work is queued. Each call copies its
 * indices and windows into device memory of its own (allocated and freed
 * in stream order), so threads may decode from one pack at once, on the
 * same stream or on different ones. n is at most 2^31 - 1 (one block a
 * sample) and the batch's bytes must fit in size_t: else INRF_E_LIMIT,
 * before indices are read or anything is allocated. */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_decode_batch(inrf_cuda_pack *p,
                                                           const uint32_t *indices, size_t n,
                                                           const float *windows,
                                                           const inrf_batch_options *opt,
                                                           void *out, void *stream);

/* The samples the device holds resident at once when decoding from p with
 * opt (its multiprocessors x the decode kernel's resident blocks each, for
 * the block size and shared memory of that launch): a batch of a multiple
 * of *wave decodes in whole waves. */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_decode_wave(inrf_cuda_pack *p,
                                                          const inrf_batch_options *opt,
                                                          size_t *wave);

/* Waits for the work queued on stream and reports a failure of it. */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_sync(void *stream);

/* Encodes n images of one size and channel count (else INRF_E_INVALID_ARG)
 * on device `device`, with the schedule of inrf_encode (stage 1 fit, the
 * pruning rounds, quantisation, rate control; see inrf_encode_batch_with in
 * train_math.h): one thread block per image trains it, libinrf prunes and
 * builds the files. out: n models; stats: n entries, or NULL. Rate control
 * (target_psnr, max_bytes) runs as in inrf_encode, its rounds on the GPU.
 * A block has 256, 128, 64 or 32 threads: the most whose weights,
 * gradient and chunk of pixels fit 99 KiB of shared memory, a function of
 * the network alone, so that a batch encodes to the same files on every
 * GPU. Networks whose weights and a chunk of 32 pixels exceed a block's
 * shared memory are INRF_E_UNSUPPORTED. The progress callback is called between
 * launches (a few hundred steps). n is at most 2^31 - 1 (one block an
 * image) and the images' pixels must fit in size_t: else INRF_E_LIMIT,
 * before any image is read or anything is allocated. stream: a cudaStream_t of device, or
 * NULL (the default stream): every copy and launch is queued on it, and
 * the call waits on that stream only (never on the whole device); it
 * returns once the work has ended. */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_encode_batch(const inrf_image *images, size_t n,
                                                           const inrf_encode_options *opt,
                                                           int device, inrf_model **out,
                                                           inrf_encode_stats *stats, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* INRF_CUDA_H */
