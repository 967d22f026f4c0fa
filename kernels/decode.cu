/* decode.cu: the fused batch decoder on the GPU: pack records resident in
 * device memory, one block a sample, the sample's weights in shared
 * memory, each pixel evaluated by the GPU evaluator of the pack's network
 * kind (the table below; SIREN's is libinrf/siren/decode.cu). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/kind.h"

#include "decode_kernel.h"

/* ============================================ the kinds' GPU evaluators */

/* Every kind's GPU evaluator, as libinrf/kinds.c lists the kinds: a new
 * kind adds its evaluator here (from its folder, libinrf/<kind>/). */
extern "C" const inrf_cuda_kind inrf_siren_cuda_kind; /* libinrf/siren/decode.cu */
static const inrf_cuda_kind *const builtin[] = {&inrf_siren_cuda_kind};

#define MAX_REGISTERED 4
static const inrf_cuda_kind *registered[MAX_REGISTERED]; /* tests only */

static const inrf_cuda_kind *cuda_kind_find(unsigned kind)
{
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (builtin[i]->kind == kind)
            return builtin[i];
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (registered[i] && registered[i]->kind == kind)
            return registered[i];
    return NULL;
}

inrf_status inrf_cuda_kind_register_(const inrf_cuda_kind *kind)
{
    if (!kind || kind->kind != INRF_KIND_TESTING)
        return inrf_report(INRF_E_INVALID_ARG, "only kind 255 (testing) may be registered");
    inrf_cuda_kind_unregister_(kind->kind);
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (!registered[i]) {
            registered[i] = kind;
            return INRF_OK;
        }
    return inrf_report(INRF_E_LIMIT, "too many kinds registered");
}

void inrf_cuda_kind_unregister_(unsigned kind)
{
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (registered[i] && registered[i]->kind == kind)
            registered[i] = NULL;
}

/* ==================================================== the batch decoder */

struct inrf_cuda_pack {
    int device;
    uint8_t *bytes;            /* the pack */
    dev_item *items;
    void *archs;               /* the kind's table of architectures */
    uint32_t count, narchs;
    unsigned channels;
    const inrf_cuda_kind *kind;
    const void *kernel;        /* the kind's kernel for this pack */
    int threads;               /* a block's */
    size_t smem;               /* dynamic shared memory a block needs */
    size_t smem_max;           /* the most a block may have */
};

inrf_status inrf_cuda_devices(int *count)
{
    *count = 0;
    cudaError_t e = cudaGetDeviceCount(count);
    if (e != cudaSuccess) {
        *count = 0;
        return cuda_fail(e == cudaErrorInsufficientDriver ? e : cudaErrorNoDevice,
                         "no usable CUDA device");
    }
    if (*count == 0)
        return inrf_report(INRF_E_NO_DEVICE, "no CUDA device");
    return INRF_OK;
}

static inrf_status upload_on_device(const inrf_pack *pack, int device, inrf_cuda_pack **out);

inrf_status inrf_cuda_pack_upload(const inrf_pack *pack, int device, inrf_cuda_pack **out)
{
    *out = NULL;
    /* the kernels trust the records (spec/inrpack.md, "Security
     * considerations"): verify them here, once (the result is cached) */
    size_t nbad;
    inrf_status st = inrf_pack_verify(pack, NULL, 0, &nbad);
    if (st != INRF_OK)
        return st;
    int n;
    st = inrf_cuda_devices(&n);
    if (st != INRF_OK)
        return st;
    if (device < 0 || device >= n)
        return inrf_report(INRF_E_INVALID_ARG, "no such CUDA device");
    int prev;
    if ((st = device_enter(device, &prev)) != INRF_OK)
        return st;
    st = upload_on_device(pack, device, out);
    device_leave(prev);
    return st;
}

/* The GPU evaluator of the pack's one kind. */
static inrf_status pack_kind(const inrf_pack *pack, const inrf_cuda_kind **kind)
{
    char msg[160];
    const unsigned k = inrf_pack_arch(pack, 0)->kind;
    for (uint32_t a = 1; a < inrf_pack_archs(pack); a++)
        if (inrf_pack_arch(pack, a)->kind != k) {
            snprintf(msg, sizeof msg, "the GPU decoder takes packs of one network kind, not "
                     "kinds %u and %u", k, inrf_pack_arch(pack, a)->kind);
            return inrf_report(INRF_E_UNSUPPORTED, msg);
        }
    if (!(*kind = cuda_kind_find(k))) {
        snprintf(msg, sizeof msg, "network kind %u: no GPU decoder", k);
        return inrf_report(INRF_E_UNSUPPORTED, msg);
    }
    return INRF_OK;
}

/* inrf_cuda_pack_upload's work, device current. */
static inrf_status upload_on_device(const inrf_pack *pack, int device, inrf_cuda_pack **out)
{
    inrf_cuda_pack *p = (inrf_cuda_pack *)calloc(1, sizeof *p);
    if (!p)
        return inrf_report(INRF_E_NOMEM, "out of memory");
    p->device = device;
    p->count = inrf_pack_count(pack);
    p->narchs = inrf_pack_archs(pack);
    p->channels = inrf_pack_channels(pack);
    dev_item *items = (dev_item *)calloc(p->count ? p->count : 1, sizeof *items);
    inrf_status st = items ? pack_kind(pack, &p->kind)
                           : inrf_report(INRF_E_NOMEM, "out of memory");
    if (st == INRF_OK)
        st = p->kind->prepare(pack, &p->archs, &p->smem, &p->kernel, &p->threads);
    int smem_max = 0;
    if (st == INRF_OK &&
        cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) ==
            cudaSuccess &&
        p->smem > (size_t)smem_max)
        st = inrf_report(INRF_E_UNSUPPORTED, "an architecture's weights exceed the shared "
                                             "memory of a block");
    for (uint32_t i = 0; st == INRF_OK && i < p->count; i++) {
        items[i].offset = inrf_pack_get(pack, i)->offset;
        items[i].size = inrf_pack_get(pack, i)->size;
        items[i].arch = inrf_pack_get(pack, i)->arch;
    }
    size_t bytes = 0;
    const void *host = inrf_pack_bytes(pack, &bytes);
    cudaError_t e = cudaSuccess;
    if (st == INRF_OK) {
        if ((e = cudaMalloc((void **)&p->bytes, bytes)) == cudaSuccess &&
            (e = cudaMalloc((void **)&p->items, (p->count ? p->count : 1) * sizeof *items)) ==
                cudaSuccess &&
            (e = cudaMemcpy(p->bytes, host, bytes, cudaMemcpyHostToDevice)) == cudaSuccess)
            e = cudaMemcpy(p->items, items, p->count * sizeof *items, cudaMemcpyHostToDevice);
        p->smem_max = smem_max > 48 * 1024 ? (size_t)smem_max : 48 * 1024;
        if (e == cudaSuccess && p->smem_max > 48 * 1024)
            e = cudaFuncSetAttribute(p->kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     (int)p->smem_max);
        if (e != cudaSuccess)
            st = cuda_fail(e, "uploading the pack");
    }
    free(items);
    if (st != INRF_OK) {
        inrf_cuda_pack_free(p);
        return st;
    }
    *out = p;
    return INRF_OK;
}

void inrf_cuda_pack_free(inrf_cuda_pack *p)
{
    if (!p)
        return;
    int prev;
    const int entered = device_enter(p->device, &prev) == INRF_OK;
    cudaFree(p->bytes);
    cudaFree(p->items);
    cudaFree(p->archs);
    if (entered)
        device_leave(prev);
    free(p);
}

static inrf_status decode_on_device(inrf_cuda_pack *p, const uint32_t *indices, size_t n,
                                    const float *windows, const inrf_batch_options *o, void *out,
                                    cudaStream_t st);

/* A launch's dynamic shared memory: the weights, then the coordinate
 * tables where they fit (*table: their float offset, else -1). */
static size_t launch_smem(const inrf_cuda_pack *p, const inrf_batch_options *o, int *table)
{
    const size_t t = (p->smem + sizeof(float) - 1) / sizeof(float);
    *table = -1;
    if ((t + o->width + o->height) * sizeof(float) > p->smem_max)
        return p->smem;
    *table = (int)t;
    return (t + o->width + o->height) * sizeof(float);
}

inrf_status inrf_cuda_decode_wave(inrf_cuda_pack *p, const inrf_batch_options *o, size_t *wave)
{
    if (!p || !o || !wave)
        return inrf_report(INRF_E_INVALID_ARG, "cuda decode wave: NULL argument");
    if (!INRF_ABI_COMPATIBLE(o->abi) || o->width < 1 || o->height < 1 || o->width > 65536 ||
        o->height > 65536)
        return inrf_report(INRF_E_INVALID_ARG, "cuda decode wave: options invalid");
    int prev, sms = 0, blocks = 0, table;
    inrf_status st = device_enter(p->device, &prev);
    if (st != INRF_OK)
        return st;
    cudaError_t e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, p->device);
    if (e == cudaSuccess)
        e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, p->kernel, p->threads,
                                                          launch_smem(p, o, &table));
    device_leave(prev);
    CK(e, "the decode kernel's occupancy");
    *wave = (size_t)sms * (size_t)blocks;
    return INRF_OK;
}

inrf_status inrf_cuda_decode_batch(inrf_cuda_pack *p, const uint32_t *indices, size_t n,
                                   const float *windows, const inrf_batch_options *o, void *out,
                                   void *stream)
{
    if (!p || !o || (n && (!indices || !out)))
        return inrf_report(INRF_E_INVALID_ARG, "cuda decode: NULL argument");
    if (!INRF_ABI_COMPATIBLE(o->abi) || o->width < 1 || o->height < 1 || o->width > 65536 ||
        o->height > 65536 || (uint64_t)o->width * o->height >= (1ull << 32) ||
        o->type < INRF_BATCH_U8 || o->type > INRF_BATCH_F16)
        return inrf_report(INRF_E_INVALID_ARG, "cuda decode: options invalid");
    for (int c = 0; c < 3; c++)
        if (!(o->std[c] > 0) || o->mean[c] != o->mean[c])
            return inrf_report(INRF_E_INVALID_ARG, "cuda decode: mean/std invalid");
    /* before the indices are read: a launch has at most 2^31 - 1 blocks,
     * and the output's offsets are size_t */
    const size_t esz = o->type == INRF_BATCH_U8 ? 1 : o->type == INRF_BATCH_F32 ? 4 : 2;
    const size_t sample_bytes = (size_t)o->width * o->height * p->channels * esz;
    if (n > INRF_CUDA_MAX_BLOCKS || (n && sample_bytes > SIZE_MAX / n)) {
        char msg[160];
        snprintf(msg, sizeof msg, "cuda decode: %zu samples: a batch takes at most %u, "
                 "and bytes that size_t counts", n, INRF_CUDA_MAX_BLOCKS);
        return inrf_report(INRF_E_LIMIT, msg);
    }
    for (size_t s = 0; s < n; s++)
        if (indices[s] >= p->count)
            return inrf_report(INRF_E_INVALID_ARG, "cuda decode: image index out of range");
    if (n == 0)
        return INRF_OK;
    int prev;
    inrf_status st = device_enter(p->device, &prev);
    if (st != INRF_OK)
        return st;
    st = decode_on_device(p, indices, n, windows, o, out, (cudaStream_t)stream);
    device_leave(prev);
    return st;
}

/* inrf_cuda_decode_batch's work on valid arguments, the pack's device
 * current. */
static inrf_status decode_on_device(inrf_cuda_pack *p, const uint32_t *indices, size_t n,
                                    const float *windows, const inrf_batch_options *o, void *out,
                                    cudaStream_t st)
{
    /* the call's own copy of its windows and indices, allocated and freed
     * in the order of its stream: concurrent calls (other streams, other
     * threads) never share one, and it lives until the kernel has read it */
    const size_t win_bytes = windows ? n * 4 * sizeof *windows : 0;
    uint8_t *args = NULL;
    CK(cudaMallocAsync((void **)&args, win_bytes + n * sizeof *indices, st), "cudaMallocAsync");
    float *win = windows ? (float *)args : NULL;
    uint32_t *idx = (uint32_t *)(args + win_bytes);
    cudaError_t e = cudaMemcpyAsync(idx, indices, n * sizeof *indices, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess && windows)
        e = cudaMemcpyAsync(win, windows, win_bytes, cudaMemcpyHostToDevice, st);
    if (e != cudaSuccess) {
        cudaFreeAsync(args, st);
        return cuda_fail(e, "copying indices and windows");
    }
    kparams kp;
    kp.width = o->width;
    kp.height = o->height;
    kp.type = o->type;
    kp.zero_outside = o->zero_outside;
    for (int c = 0; c < 3; c++)
        kp.mean[c] = o->mean[c], kp.std[c] = o->std[c];
    inrf_cuda_launch l;
    l.pack = p->bytes;
    l.items = p->items;
    l.archs = p->archs;
    l.idx = idx;
    l.win = win;
    l.kp = kp;
    l.out = out;
    l.n = (unsigned)n;
    l.threads = p->threads;
    l.smem = launch_smem(p, o, &l.kp.table);
    l.stream = st;
    p->kind->launch(p->kernel, &l);
    e = cudaGetLastError();
    cudaFreeAsync(args, st);
    CK(e, "launching the decode kernel");
    return INRF_OK;
}

inrf_status inrf_cuda_sync(void *stream)
{
    CK(cudaStreamSynchronize((cudaStream_t)stream), "decode kernel");
    return INRF_OK;
}
