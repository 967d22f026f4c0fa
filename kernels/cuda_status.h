/* cuda_status.h: CUDA runtime errors as inrf_status values with a message
 * (inrf_last_error()), for the kernels' host code. Private to kernels/. */
#ifndef INRF_CUDA_STATUS_H
#define INRF_CUDA_STATUS_H

#include <cuda_runtime.h>
#include <stdio.h>

#include "inrf/inrf.h"

/* No device or driver: INRF_E_NO_DEVICE; out of memory: INRF_E_NOMEM;
 * anything else: INRF_E_CUDA. Clears a sticky launch error so that the
 * next call starts clean. */
static inline inrf_status cuda_fail(cudaError_t e, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, cudaGetErrorString(e));
    cudaGetLastError();
    return inrf_report(e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver
                           ? INRF_E_NO_DEVICE
                           : e == cudaErrorMemoryAllocation ? INRF_E_NOMEM : INRF_E_CUDA,
                       msg);
}

/* Returns the failure of a runtime call from the calling function (a
 * statement macro: it must return from the caller). */
#define CK(call, what)                          \
    do {                                        \
        cudaError_t e_ = (call);                \
        if (e_ != cudaSuccess)                  \
            return cuda_fail(e_, what);         \
    } while (0)

/* The most blocks of a launch's grid (its x dimension): the kernels run
 * one block a sample or an image, so the most of those a call takes. */
#define INRF_CUDA_MAX_BLOCKS 0x7fffffffu

/* Makes device current for the work of a call, *prev the caller's current
 * device, which device_leave restores: a library call leaves the calling
 * thread on the device it found it on. */
static inline inrf_status device_enter(int device, int *prev)
{
    *prev = device;
    CK(cudaGetDevice(prev), "cudaGetDevice");
    CK(cudaSetDevice(device), "cudaSetDevice");
    return INRF_OK;
}

static inline void device_leave(int prev)
{
    cudaSetDevice(prev);
}

/* A kernel launch and the declaration of a kernel's dynamic shared memory
 * (16-byte aligned: the decoder loads four floats at once from it), written so that the kernel emulator (kernels/emu, which the test suite
 * runs on every machine) gives them its own forms. */
#ifndef INRF_LAUNCH
#define INRF_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#define INRF_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif

#endif /* INRF_CUDA_STATUS_H */
