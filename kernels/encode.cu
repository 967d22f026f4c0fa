/* encode.cu: the batched encoder on the GPU: one block per image runs a
 * stage of Adam steps with train_math.h's per-pixel and per-parameter math,
 * and inrf_cuda_encode_batch drives libinrf's batch schedule with it.
 *
 * Block layout (one image a block, T threads, T from 32 to 256 a function
 * of the network's widths: encode_block_threads):
 * - shared memory: the weights the passes see (P floats: the master weights
 *   or their fake-quantised copy), the gradient (P floats, also the
 *   fake quantiser's scratch), and the columns of a chunk of T pixels
 *   (net.rows x (T + 1) floats; the + 1 keeps a warp's rows in distinct
 *   banks). 3 x 15 RGB, T = 128: 2 x 573 + 95 x 129 floats, 53 KB.
 * - master weights, Adam moments, best weights, mask: global memory, each
 *   parameter touched only by the thread that owns it (k = t, t + T, ...),
 *   so coalesced and without races; they fit in L2 for the blocks resident.
 * - a step: per chunk, thread t runs pixel c0 + t through inrf_tm_pixel
 *   into its column; barrier; each thread adds its parameters' sums over
 *   the chunk (inrf_tm_param_sum, pixel order); barrier. The owner of a
 *   parameter holds its whole gradient at the end: no atomics, and the
 *   same bits on every run. Then the loss (block sum in double), the best
 *   weights, the Adam step of each owned parameter, the weights republished.
 * Correct first: each pass reads its weights and columns from shared
 * memory; register-blocked passes for fixed widths are the next speed-up. */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/inrf.h"
#include "inrf/cuda.h"
#include "inrf/train_math.h"

#include "cuda_status.h"

/* Evaluations per launch: progress and Ctrl-C between launches, and no
 * launch long enough to trip a display watchdog. */
#define EVALS_PER_LAUNCH 250

typedef struct kargs {
    inrf_tm_net net;
    const uint8_t *pixels;          /* [n][npix][C], as inrf_image */
    float *params, *m, *v, *best;   /* [n][P] each */
    const uint8_t *keep;            /* [n][P] */
    const uint8_t *active;          /* [n], or NULL: all */
    const uint64_t *image_key;      /* [n]: of the random samples */
    double *best_psnr;              /* [n] */
    uint64_t npix, seed;
    uint32_t width, height, batch;
    int stage, steps;               /* evaluations 0 .. steps */
    int s_begin, s_end;             /* those of this launch: s_begin .. s_end - 1 */
    float lr0, two_scale;
    const long long *adam_t;        /* [n]: Adam's t before the stage */
    int *taken;                     /* [n]: -1, then the steps taken once ended */
    double stop;                    /* > 0: end an image once its best PSNR reaches it */
    int quant, half_io;
} kargs;


/* ----------------------------------------------------------------- kernel */

/* The weights the passes see, from the master weights: a copy, or their
 * fake quantisation, which reads whole scale groups and so goes through
 * scratch with a barrier between its reads and its writes. The caller
 * synchronises before the weights are read. */
__device__ static void publish(const kargs &a, const float *params, float *w, float *scratch)
{
    const unsigned P = a.net.nparams;
    for (unsigned k = threadIdx.x; k < P; k += blockDim.x)
        w[k] = params[k];
    if (!a.quant && !a.half_io)
        return;
    __syncthreads();
    for (unsigned k = threadIdx.x; k < P; k += blockDim.x)
        scratch[k] = inrf_tm_fake_quant(&a.net, w, k, a.quant, a.half_io);
    __syncthreads();
    for (unsigned k = threadIdx.x; k < P; k += blockDim.x)
        w[k] = scratch[k];
}

/* The sum of x over the block (blockDim.x a multiple of 32), to every
 * thread. red: 33 doubles of shared memory. */
__device__ static double block_sum(double x, double *red)
{
    for (int o = 16; o > 0; o >>= 1)
        x += __shfl_down_sync(0xffffffffu, x, o);
    if (threadIdx.x % 32 == 0)
        red[threadIdx.x / 32] = x;
    __syncthreads();
    if (threadIdx.x == 0) {
        double s = 0;
        for (unsigned i = 0; i < blockDim.x / 32; i++)
            s += red[i];
        red[32] = s;
    }
    __syncthreads();
    double r = red[32];
    __syncthreads(); /* red is free again */
    return r;
}

/* Loss and gradient of one step over the image's batch: g (owned
 * entries) gets the gradient; returns the mean squared error. */
__device__ static double step_gradient(const kargs &a, size_t i, int s, const float *w, float *g,
                                       float *cols, double *red)
{
    const inrf_tm_net *n = &a.net;
    const unsigned P = n->nparams, T = blockDim.x, C = n->out[n->layers];
    const size_t S = T + 1;
    const uint8_t *px = a.pixels + (size_t)i * a.npix * C;
    const int full = a.batch >= a.npix;
    const uint64_t key = ((uint64_t)a.stage << 32) | (uint32_t)s;
    for (unsigned k = threadIdx.x; k < P; k += T)
        g[k] = 0.0f;
    float sse = 0.0f;
    for (uint32_t c0 = 0; c0 < a.batch; c0 += T) {
        const unsigned cnt = a.batch - c0 < T ? a.batch - c0 : T;
        if (threadIdx.x < cnt) {
            const uint32_t p = c0 + threadIdx.x;
            const uint64_t idx =
                full ? p : inrf_tm_sample(a.seed, a.image_key[i], key, p, a.npix);
            float x, y;
            inrf_tm_pixel_xy(idx, a.width, a.height, &x, &y);
            sse += inrf_tm_pixel(n, w, cols + threadIdx.x, S, x, y, px + idx * C, a.two_scale);
        }
        __syncthreads();
        for (unsigned k = threadIdx.x; k < P; k += T) {
            unsigned dr, hr;
            inrf_tm_param_rows(n, k, &dr, &hr);
            g[k] = inrf_tm_param_sum(cols, S, dr, hr, cnt, g[k]);
        }
        __syncthreads(); /* the columns are rewritten by the next chunk */
    }
    return block_sum(sse, red) / ((double)a.batch * C);
}

/* Evaluations s_begin .. s_end - 1 of a stage, for image blockIdx.x. */
__global__ void encode_stage_kernel(const __grid_constant__ kargs a)
{
    INRF_DYNAMIC_SHARED(float, smem);
    const size_t i = blockIdx.x;
    if ((a.active && !a.active[i]) || a.taken[i] >= 0) /* sits out, or ended (a stop) */
        return;
    const unsigned P = a.net.nparams, T = blockDim.x;
    float *w = smem, *g = smem + P, *cols = g + P;
    size_t red_at = (2 * (size_t)P + (size_t)a.net.rows * (T + 1) + 1) & ~(size_t)1;
    double *red = (double *)(smem + red_at);
    float *params = a.params + i * P, *m = a.m + i * P, *v = a.v + i * P, *best = a.best + i * P;
    const uint8_t *keep = a.keep + i * P;
    double best_psnr = a.s_begin == 0 ? -1.0 : a.best_psnr[i];
    const long t0 = (long)a.adam_t[i];
    bool last = false;
    int s = a.s_begin;
    publish(a, params, w, g);
    __syncthreads();
    for (; s < a.s_end; s++) {
        const double mse = step_gradient(a, i, s, w, g, cols, red);
        const double psnr = mse > 0 ? 10.0 * log10(1.0 / mse) : 99.0;
        if (psnr > best_psnr) { /* the loss is that of the weights before this step */
            best_psnr = psnr;
            for (unsigned k = threadIdx.x; k < P; k += T)
                best[k] = params[k];
        }
        if (s == a.steps || (a.stop > 0 && best_psnr >= a.stop)) {
            last = true;
            break;
        }
        float lr = inrf_tm_lr(a.lr0, s, a.steps), c1, c2;
        inrf_tm_adam_corrections(t0 + s + 1, &c1, &c2);
        for (unsigned k = threadIdx.x; k < P; k += T)
            params[k] = inrf_tm_adam(params[k], &m[k], &v[k], g[k], lr, c1, c2, keep[k]);
        publish(a, params, w, g);
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        a.best_psnr[i] = best_psnr;
        if (last)
            a.taken[i] = s;
    }
    if (last) /* the stage ends on its best weights */
        for (unsigned k = threadIdx.x; k < P; k += T)
            params[k] = best[k];
}

/* ------------------------------------------------------------------- host */

/* Device state of a batch encode: allocated at the first stage. */
typedef struct gpu_trainer {
    int device;
    cudaStream_t stream;      /* all the work, in order */
    size_t n, P;
    uint8_t *pixels;          /* [n][npix][C] */
    float *params;            /* params, m, v, best: [4][n][P] */
    uint8_t *keep, *active;   /* [n][P], [n] */
    double *best_psnr;        /* [n] */
    long long *adam_t;        /* [n] */
    int *taken;               /* [n] */
    uint64_t *image_key;      /* [n] */
    long long *host_t;        /* [n]: adam_t's upload */
    int *host_taken;          /* [n] */
    unsigned threads;
    size_t smem;
} gpu_trainer;

static size_t smem_bytes(const inrf_tm_net *net, unsigned T)
{
    size_t floats = (2 * (size_t)net->nparams + (size_t)net->rows * (T + 1) + 1) & ~(size_t)1;
    return floats * sizeof(float) + 33 * sizeof(double);
}

/* Shared memory a block may use on every device the kernels are built for
 * (sm_80 to sm_90): 99 KiB, the opt-in limit of sm_86 and sm_89. */
#define ENCODE_SMEM_BUDGET (99 * 1024)

/* The threads of a block for net: the largest of 256, 128, 64 and 32 whose
 * shared memory (smem_bytes) fits ENCODE_SMEM_BUDGET, else 32; so 128 for
 * 3 x 15 RGB (53 KB), 32 for networks too large for any. A function of the
 * network's widths alone, never of the device or of the compiler's
 * register count (an occupancy query): the block size sets the order of
 * the loss sums, so the same images encode to the same files on every
 * GPU. */
static unsigned encode_block_threads(const inrf_tm_net *net)
{
    unsigned T = 256;
    while (T > 32 && smem_bytes(net, T) > ENCODE_SMEM_BUDGET)
        T /= 2;
    return T;
}

/* The block size for net, and its shared memory allowed on the device. */
static inrf_status pick_block(gpu_trainer *g, const inrf_tm_net *net)
{
    int optin = 0;
    CK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, g->device),
       "cudaDeviceGetAttribute");
    g->threads = encode_block_threads(net);
    g->smem = smem_bytes(net, g->threads);
    if (g->smem > (size_t)optin)
        return inrf_report(INRF_E_UNSUPPORTED, "cuda encode: the network's weights and a "
                                               "chunk of 32 pixels exceed a block's shared "
                                               "memory");
    CK(cudaFuncSetAttribute(encode_stage_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                            (int)g->smem),
       "cudaFuncSetAttribute");
    return INRF_OK;
}

/* Allocations (in the order of the stream) and the images' pixels, once
 * per batch. */
static inrf_status setup(gpu_trainer *g, const inrf_tm_batch *b)
{
    const inrf_image *im = b->images;
    const size_t px = (size_t)im[0].width * im[0].height * im[0].channels;
    g->n = b->n;
    g->P = b->net.nparams;
    if (g->n > SIZE_MAX / 4 / sizeof(float) / g->P)
        return inrf_report(INRF_E_LIMIT, "cuda encode: the batch's weights exceed size_t");
    inrf_status st = pick_block(g, &b->net);
    if (st != INRF_OK)
        return st;
    cudaStream_t q = g->stream;
    const size_t n = g->n, NP = g->n * g->P;
    CK(cudaMallocAsync((void **)&g->pixels, n * px, q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->params, 4 * NP * sizeof(float), q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->keep, NP, q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->active, n, q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->best_psnr, n * sizeof(double), q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->adam_t, n * sizeof(long long), q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->taken, n * sizeof(int), q), "cudaMallocAsync");
    CK(cudaMallocAsync((void **)&g->image_key, n * sizeof(uint64_t), q), "cudaMallocAsync");
    CK(cudaMemcpyAsync(g->image_key, b->image_key, g->n * sizeof(uint64_t),
                       cudaMemcpyHostToDevice, g->stream),
       "upload");
    g->host_t = (long long *)malloc(g->n * sizeof(long long));
    g->host_taken = (int *)malloc(g->n * sizeof(int));
    if (!g->host_t || !g->host_taken)
        return inrf_report(INRF_E_NOMEM, "cuda encode: out of memory");
    /* one transfer: the images gathered in host memory first */
    uint8_t *host = (uint8_t *)malloc(g->n * px);
    if (!host)
        return inrf_report(INRF_E_NOMEM, "cuda encode: out of memory");
    for (size_t i = 0; i < g->n; i++)
        memcpy(host + i * px, im[i].pixels, px);
    cudaError_t e = cudaMemcpyAsync(g->pixels, host, g->n * px, cudaMemcpyHostToDevice, g->stream);
    if (e == cudaSuccess) /* host is the copy's source until then */
        e = cudaStreamSynchronize(g->stream);
    free(host);
    CK(e, "copying the images");
    return INRF_OK;
}

/* Device memory goes back in the order of the stream (cudaFree would
 * wait for the whole device). */
static void gpu_trainer_free(gpu_trainer *g)
{
    void *const dev[] = {g->pixels,    g->params, g->keep,  g->active,
                         g->best_psnr, g->adam_t, g->taken, g->image_key};
    for (size_t k = 0; k < sizeof dev / sizeof dev[0]; k++)
        if (dev[k])
            cudaFreeAsync(dev[k], g->stream);
    free(g->host_t);
    free(g->host_taken);
}

static kargs make_args(const gpu_trainer *g, const inrf_tm_batch *b, const inrf_tm_stage *s)
{
    kargs a;
    memset(&a, 0, sizeof a);
    const size_t NP = g->n * g->P;
    a.net = b->net;
    a.pixels = g->pixels;
    a.params = g->params, a.m = g->params + NP, a.v = g->params + 2 * NP;
    a.best = g->params + 3 * NP;
    a.keep = g->keep;
    a.active = b->active ? g->active : NULL;
    a.best_psnr = g->best_psnr;
    a.width = b->images[0].width, a.height = b->images[0].height;
    a.npix = (uint64_t)a.width * a.height;
    a.batch = b->batch;
    a.seed = b->seed;
    a.stage = s->stage, a.steps = s->steps;
    a.lr0 = s->lr0;
    /* every trainer's scale: the mean over pixels and channels */
    a.two_scale = 2.0f * (1.0f / (float)((size_t)b->batch * b->net.out[b->net.layers]));
    a.image_key = g->image_key;
    a.adam_t = g->adam_t;
    a.taken = g->taken;
    a.stop = s->stop;
    a.quant = s->quant, a.half_io = s->half_io;
    return a;
}

static inrf_status gpu_run_stage(void *self, const inrf_tm_batch *b, const inrf_tm_stage *s)
{
    gpu_trainer *g = (gpu_trainer *)self;
    inrf_status st;
    if (!g->params && (st = setup(g, b)) != INRF_OK)
        return st;
    const size_t NP = g->n * g->P;
    cudaStream_t q = g->stream;
    CK(cudaSetDevice(g->device), "cudaSetDevice");
    CK(cudaMemcpyAsync(g->params, b->params, NP * sizeof(float), cudaMemcpyHostToDevice, q),
       "upload");
    CK(cudaMemcpyAsync(g->params + NP, b->m, NP * sizeof(float), cudaMemcpyHostToDevice, q),
       "upload");
    CK(cudaMemcpyAsync(g->params + 2 * NP, b->v, NP * sizeof(float), cudaMemcpyHostToDevice, q),
       "upload");
    CK(cudaMemcpyAsync(g->keep, b->keep, NP, cudaMemcpyHostToDevice, q), "upload");
    if (b->active)
        CK(cudaMemcpyAsync(g->active, b->active, g->n, cudaMemcpyHostToDevice, q), "upload");
    for (size_t i = 0; i < g->n; i++)
        g->host_t[i] = b->adam_t[i];
    CK(cudaMemcpyAsync(g->adam_t, g->host_t, g->n * sizeof(long long), cudaMemcpyHostToDevice,
                       q),
       "upload");
    CK(cudaMemsetAsync(g->taken, 0xff, g->n * sizeof(int), q), "cudaMemsetAsync"); /* -1: running */
    kargs a = make_args(g, b, s);
    for (int s0 = 0; s0 <= s->steps; s0 += EVALS_PER_LAUNCH) {
        a.s_begin = s0;
        a.s_end = s0 + EVALS_PER_LAUNCH < s->steps + 1 ? s0 + EVALS_PER_LAUNCH : s->steps + 1;
        INRF_LAUNCH(encode_stage_kernel, (unsigned)g->n, g->threads, g->smem, q)(a);
        CK(cudaGetLastError(), "launching the encode kernel");
        CK(cudaStreamSynchronize(q), "encode kernel");
        if (s->tick && s->tick(s->ctx, a.s_end - 1))
            return inrf_report(INRF_E_INTERRUPTED, "encode: interrupted");
    }
    CK(cudaMemcpyAsync(b->params, g->params, NP * sizeof(float), cudaMemcpyDeviceToHost, q),
       "download");
    CK(cudaMemcpyAsync(b->m, g->params + NP, NP * sizeof(float), cudaMemcpyDeviceToHost, q),
       "download");
    CK(cudaMemcpyAsync(b->v, g->params + 2 * NP, NP * sizeof(float), cudaMemcpyDeviceToHost, q),
       "download");
    CK(cudaMemcpyAsync(b->best_psnr, g->best_psnr, g->n * sizeof(double),
                       cudaMemcpyDeviceToHost, q),
       "download");
    CK(cudaMemcpyAsync(g->host_taken, g->taken, g->n * sizeof(int), cudaMemcpyDeviceToHost, q),
       "download");
    CK(cudaStreamSynchronize(q), "download");
    for (size_t i = 0; i < g->n; i++) { /* -1: sat the stage out */
        b->taken[i] = g->host_taken[i] > 0 ? g->host_taken[i] : 0;
        b->adam_t[i] += b->taken[i];
    }
    return INRF_OK;
}

inrf_status inrf_cuda_encode_batch(const inrf_image *images, size_t n,
                                   const inrf_encode_options *opt, int device, inrf_model **out,
                                   inrf_encode_stats *stats, void *stream)
{
    if (!images || !n || !out)
        return inrf_report(INRF_E_INVALID_ARG, "cuda encode: no images or NULL output");
    /* before the images are read: a launch has at most 2^31 - 1 blocks, one
     * an image, and the pixels of all of them must fit in size_t */
    const size_t px = (size_t)images[0].width * images[0].height * images[0].channels;
    if (n > INRF_CUDA_MAX_BLOCKS || (px && n > SIZE_MAX / px)) {
        char msg[160];
        snprintf(msg, sizeof msg, "cuda encode: %zu images: a batch takes at most %u, and "
                 "pixels that size_t counts", n, INRF_CUDA_MAX_BLOCKS);
        return inrf_report(INRF_E_LIMIT, msg);
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (images[i].width != images[0].width || images[i].height != images[0].height ||
            images[i].channels != images[0].channels)
            return inrf_report(INRF_E_INVALID_ARG,
                               "cuda encode: the images differ in size or channels");
    }
    int count;
    inrf_status st = inrf_cuda_devices(&count);
    if (st != INRF_OK)
        return st;
    if (device < 0 || device >= count)
        return inrf_report(INRF_E_INVALID_ARG, "no such CUDA device");
    int prev;
    if ((st = device_enter(device, &prev)) != INRF_OK)
        return st;
    gpu_trainer g;
    memset(&g, 0, sizeof g);
    g.device = device;
    g.stream = (cudaStream_t)stream;
    inrf_batch_trainer tr = {gpu_run_stage, &g};
    st = inrf_encode_batch_with(images, n, opt, &tr, out, stats);
    /* the stream's work has ended (each stage waits for it): the device
     * memory is free to go */
    gpu_trainer_free(&g);
    device_leave(prev);
    return st;
}
