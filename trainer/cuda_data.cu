/* cuda_data.cu: the device data path of the CUDA backend (cuda_data.h). */
#include "cuda_data.h"

#include "error.h"

extern "C" {

inrf_status trn_cuda_data_create(trn_backend *be, const inrf_pack *pack, const char *path,
                                 int batch, int size, int dtype, trn_cuda_data **out)
{
    (void)be, (void)pack, (void)batch, (void)size, (void)dtype;
    *out = NULL;
    return trn_fail(INRF_E_UNSUPPORTED, "%s: the device data path is not built yet", path);
}

void trn_cuda_data_free(trn_cuda_data *d)
{
    (void)d;
}

size_t trn_cuda_data_device_bytes(const trn_cuda_data *d)
{
    (void)d;
    return 0;
}

inrf_status trn_cuda_data_decode(trn_cuda_data *d, int slot, const uint32_t *indices, size_t n,
                                 const float *windows, int size, const float mean[3],
                                 const float std[3])
{
    (void)d, (void)slot, (void)indices, (void)n, (void)windows, (void)size, (void)mean,
        (void)std;
    return trn_fail(INRF_E_UNSUPPORTED, "the device data path is not built yet");
}

trn_tensor trn_cuda_data_acquire(trn_cuda_data *d, int slot)
{
    (void)d, (void)slot;
    return trn_tensor4(NULL, 0, 0, 0, 0);
}

void trn_cuda_data_release(trn_cuda_data *d, int slot)
{
    (void)d, (void)slot;
}

} /* extern "C" */
