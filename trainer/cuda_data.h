/* cuda_data.h: the device data path of the CUDA backend: an .inrpack
 * copied to device memory once, and batches decoded there, on a stream of
 * their own, straight into the model's input tensor, two slots deep so
 * that batch k+1 decodes while batch k trains. */
#ifndef TRN_CUDA_DATA_H
#define TRN_CUDA_DATA_H

#include "backend.h"
#include "inrf/pack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TRN_CUDA_DATA_SLOTS 2

typedef struct trn_cuda_data trn_cuda_data;

/* Uploads pack (opened and verified by the caller; path names it in
 * messages) to the device of be, a CUDA backend, and allocates the input
 * slots: TRN_CUDA_DATA_SLOTS tensors of batch x size x size x 3 in dtype
 * (TRN_DTYPE_F32 or TRN_DTYPE_F16: what the decoder writes). Too little
 * device memory fails with INRF_E_NOMEM and a message giving what is
 * needed and what is free, and suggesting --device cpu. */
INRF_NODISCARD inrf_status trn_cuda_data_create(trn_backend *be, const inrf_pack *pack,
                                                const char *path, int batch, int size, int dtype,
                                                trn_cuda_data **out);
void trn_cuda_data_free(trn_cuda_data *d);

/* Device bytes the pack takes (the records and their table). */
size_t trn_cuda_data_device_bytes(const trn_cuda_data *d);

/* Queues, on the data stream, the decode of n samples (indices and
 * windows are host arrays, as for inrf_cuda_decode_batch) at size x size
 * (<= the size given at creation; the slot's tensor is then that size),
 * normalised with mean and std, into slot's tensor, after the compute
 * stream has released the slot (trn_cuda_data_release). Returns once the
 * work is queued. */
INRF_NODISCARD inrf_status trn_cuda_data_decode(trn_cuda_data *d, int slot,
                                                const uint32_t *indices, size_t n,
                                                const float *windows, int size,
                                                const float mean[3], const float std[3]);
/* The slot's tensor (n, size, size, 3) of the last decode into it, after
 * making the backend's compute stream wait for that decode (no host wait). */
trn_tensor trn_cuda_data_acquire(trn_cuda_data *d, int slot);
/* Marks, in the compute stream, the point after which slot may be written
 * again (call once the step that read it has been queued). */
void trn_cuda_data_release(trn_cuda_data *d, int slot);

#ifdef __cplusplus
}
#endif

#endif /* TRN_CUDA_DATA_H */
