/* cuda_runtime.h of the kernel emulator: the part of the CUDA runtime and
 * device language that kernels/ uses, so that the .cu sources compile as
 * C++ and their kernels run on the CPU. The test suite builds the kernels
 * this way (kernels/libinrf_cuda_emu.a) and runs the GPU tests with them
 * on every machine: the kernels' indexing, shared-memory layout, barriers
 * and host code are exercised without a GPU. Not a substitute for a GPU
 * run: memory model and timing are the CPU's.
 *
 * Execution model: a launch runs its blocks one after another; a block's
 * threads are real threads, so __syncthreads is a barrier (ThreadSanitizer
 * sees the ordering it gives, and reports shared-memory races across
 * threads as data races). The emulator also checks what a GPU would only
 * hang or corrupt on:
 * - a barrier reached from different places by the threads of a block;
 * - dynamic shared memory: allocated per launch at exactly the requested
 *   size (AddressSanitizer catches overruns) and filled with 0xff bytes
 *   (NaN floats, -1 integers) before each block, as is cudaMalloc'd
 *   memory, so that reads of unwritten memory show;
 * - launches with more than 48 KiB of dynamic shared memory without
 *   cudaFuncAttributeMaxDynamicSharedMemorySize, beyond the device's
 *   opt-in limit, with more than 1,024 threads a block, or a grid beyond
 *   2^31 - 1 x 65,535 x 65,535 blocks;
 * - cudaMemcpy whose pointers are not on the sides its kind names;
 * - vector loads from shared memory (check_shared_load) outside the
 *   block's dynamic shared memory or not aligned to their size.
 * INRF_EMU_DEVICES=0 in the environment emulates a machine without a GPU,
 * INRF_EMU_SMEM_PER_SM=bytes a device of less shared memory a
 * multiprocessor (what occupancy queries answer).
 *
 * The device emulated: 132 multiprocessors, 227 KiB of opt-in shared
 * memory a block, 228 KiB and 2,048 threads a multiprocessor (an H100). */
#ifndef INRF_EMU_CUDA_RUNTIME_H
#define INRF_EMU_CUDA_RUNTIME_H

#include <stddef.h>

#define INRF_CUDA_EMU 1

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorHostMemoryAlreadyRegistered = 712,
    cudaErrorHostMemoryNotRegistered = 713,
    cudaErrorLaunchFailure = 719
} cudaError_t;

typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
} cudaMemcpyKind;

typedef enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock = 1,
    cudaDevAttrMaxSharedMemoryPerBlock = 8,
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
} cudaDeviceAttr;

typedef enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8
} cudaFuncAttribute;

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;

/* The fields of cudaDeviceProp that inrf reads (the real struct has more;
 * code that compiles here reads only these). */
struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor;
    int multiProcessorCount;
};

#define cudaEventDefault 0x00
#define cudaEventDisableTiming 0x02
#define cudaHostRegisterDefault 0x00
#define cudaHostRegisterPortable 0x01
#define cudaHostRegisterReadOnly 0x08

cudaError_t cudaGetDeviceCount(int *count);
/* The current device is the calling host thread's, 0 at first, as in
 * CUDA; with INRF_EMU_DEVICES=2 or more, tests see whether a call gives
 * its caller's back. */
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device);
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);
/* Device memory: INRF_EMU_DEVICE_MEMORY=bytes in the environment emulates
 * a device of that much (default 80 GiB); cudaMalloc beyond it fails with
 * cudaErrorMemoryAllocation, and cudaMemGetInfo counts what is allocated. */
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaMalloc(void **ptr, size_t size);
cudaError_t cudaFree(void *ptr);
/* Pinned host memory: cudaMallocHost gives host memory (never device
 * memory); cudaHostRegister refuses device memory, a range that overlaps
 * one registered already, and flags other than those defined above;
 * cudaHostUnregister takes only a pointer that was registered. */
cudaError_t cudaMallocHost(void **ptr, size_t size);
cudaError_t cudaFreeHost(void *ptr);
cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned flags);
cudaError_t cudaHostUnregister(void *ptr);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t size, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t size, cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaMemset(void *ptr, int value, size_t size);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t size, cudaStream_t stream);
/* Streams: work runs when it is queued (a launch or copy has ended when
 * its call returns), so stream order holds trivially; a stream is a
 * handle that must come from cudaStreamCreate, and the stream-ordered
 * allocator frees at once what it is given. */
cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaMallocAsync(void **ptr, size_t size, cudaStream_t stream);
cudaError_t cudaFreeAsync(void *ptr, cudaStream_t stream);
/* Events: handles from cudaEventCreate(WithFlags); since work has ended
 * when its call returns, a record marks the host time (for
 * cudaEventElapsedTime, refused for cudaEventDisableTiming events) and a
 * wait checks its handles. */
cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorString(cudaError_t error);
/* The C forms of the function-pointer calls (the C++ templates below). */
cudaError_t inrf_emu_func_set_attribute(const void *func, cudaFuncAttribute attr, int value);
cudaError_t inrf_emu_occupancy(int *blocks, const void *func, int threads, size_t smem);
/* Whether [p, p + bytes) lies inside one cudaMalloc'd allocation (1),
 * outside device memory (0), or straddles an allocation's edge (-1): what
 * tests' stand-ins of the CUDA libraries check pointers with. */
int inrf_emu_device_range(const void *p, size_t bytes);
/* Whether s is the default stream (NULL) or a live cudaStreamCreate'd one. */
int inrf_emu_stream_valid(cudaStream_t s);
/* The threads a block of the last launch (any thread's) had, for tests. */
unsigned inrf_emu_last_block_threads(void);

#ifdef __cplusplus
} /* extern "C" */

#include <tuple>
#include <type_traits>

/* ------------------------------------------------------ the device side */

struct uint3 {
    unsigned x, y, z;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

/* __thread, not thread_local: no C++ TLS wrapper functions on every
 * access (whose null check GCC 12 miscompiles under -fsanitize=null). */
extern __thread uint3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __grid_constant__
#define __launch_bounds__(...)

void __syncthreads(void);

namespace inrf_emu {
/* The block's dynamic shared memory (16-byte aligned, as it is declared). */
void *shared_memory(void);
/* A load of size bytes at p that the GPU makes in one access: p must lie
 * in the block's dynamic shared memory and be aligned to size (a GPU
 * faults on, or silently rounds, a misaligned vector access). */
void check_shared_load(const void *p, size_t size);
/* Exchange through the warp: every lane of the calling thread's warp
 * stores v, and gets the value of lane (its lane + delta) when that lane
 * is in the warp (else its own). */
void warp_exchange(const void *v, void *out, size_t size, unsigned mask, int delta);

struct launch_config {
    dim3 grid, block;
    size_t smem;
    const void *func;
    cudaStream_t stream; /* NULL, or one of cudaStreamCreate */
};
/* Runs body(), the kernel with its arguments, on every thread of every
 * block; a failed check of the configuration becomes the launch error. */
void launch(const launch_config &c, void (*body)(void *), void *ctx);

template <class K> struct launcher {
    K *kernel;
    launch_config config;
    template <class... A> void operator()(const A &...args)
    {
        struct call {
            K *kernel;
            const void *args;
        };
        /* each thread calls the kernel with its own copies of the arguments */
        auto run = [](void *ctx) {
            call *c = static_cast<call *>(ctx);
            auto *a = static_cast<const std::tuple<A...> *>(c->args);
            std::apply(c->kernel, *a);
        };
        std::tuple<A...> packed(args...);
        call c = {kernel, &packed};
        launch(config, run, &c);
    }
};
} /* namespace inrf_emu */

template <class T> T __shfl_down_sync(unsigned mask, T v, unsigned delta)
{
    T out;
    inrf_emu::warp_exchange(&v, &out, sizeof v, mask, (int)delta);
    return out;
}

template <class T> cudaError_t cudaMalloc(T **ptr, size_t size)
{
    return cudaMalloc(reinterpret_cast<void **>(ptr), size);
}
template <class T> cudaError_t cudaMallocAsync(T **ptr, size_t size, cudaStream_t stream)
{
    return cudaMallocAsync(reinterpret_cast<void **>(ptr), size, stream);
}
template <class T> cudaError_t cudaFuncSetAttribute(T *func, cudaFuncAttribute attr, int value)
{
    return inrf_emu_func_set_attribute(reinterpret_cast<const void *>(func), attr, value);
}
template <class T>
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *blocks, T *func, int threads,
                                                          size_t smem)
{
    return inrf_emu_occupancy(blocks, reinterpret_cast<const void *>(func), threads, smem);
}

/* kernels/ launches and declares dynamic shared memory through these two
 * macros (cuda_status.h gives their CUDA forms). */
#define INRF_DYNAMIC_SHARED(type, name) type *const name = (type *)inrf_emu::shared_memory()
#define INRF_LAUNCH(kernel, grid, block, smem, stream)                                      \
    inrf_emu::launcher<std::remove_pointer_t<std::decay_t<decltype(kernel)>>>{              \
        kernel, {dim3(grid), dim3(block), (size_t)(smem), reinterpret_cast<const void *>(kernel), \
                 (cudaStream_t)(stream)}}

#endif /* __cplusplus */

#endif /* INRF_EMU_CUDA_RUNTIME_H */
