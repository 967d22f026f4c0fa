/* decode.cu: SIREN's GPU evaluator (kind 0) for the batch decoder of
 * kernels/decode.cu: one block a sample, the record's layers expanded into
 * shared memory (record.h), each pixel evaluated with libinrf's shared
 * SIREN math (siren_math.h), so that the GPU gives the CPU's bits. Built
 * into libinrf_cuda by nvcc (kernels/local.mk) and, for the tests, by the
 * kernel emulator (kernels/emu/siren_decode.cpp). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/kind.h"
#include "inrf/record.h"

#include "decode_kernel.h"

/* The widest sine layer the kernel evaluates (in local memory), and the
 * widest it evaluates in registers from a padded layout (eval_pixel). */
#define KMAX_WIDTH 64
#define KMAX_PADDED 48
#define KMAX_LAYERS INRF_MAX_SINE_LAYERS
/* Threads a block (one sample): the wide variants hold 100+ registers a
 * thread, and smaller blocks let two samples share a multiprocessor, one
 * computing while the other expands its weights. */
#define BLOCK_THREADS(W) ((W) <= 16 ? 256 : 128)

/* An architecture as the kernel reads it: where each layer's weights
 * (rows of `stride` floats) and biases lie in shared memory. Padded to W
 * (the register kernels): the first layer has W rows of 2, the hidden
 * layers W rows of W, the output layer `channels` rows of W, W biases a
 * sine layer, the padding zeros; offsets of the hidden and output layers
 * are multiples of 4 floats, for 16-byte loads. Unpadded: in x out. */
typedef struct dev_arch {
    int layers, channels, output_map;
    float omega_first, omega_hidden;
    int in[KMAX_LAYERS + 1], out[KMAX_LAYERS + 1], stride[KMAX_LAYERS + 1];
    int woff[KMAX_LAYERS + 1], boff[KMAX_LAYERS + 1]; /* float offsets in shared memory */
    int floats;                                        /* weights + biases, padding included */
    int padded;
} dev_arch;


/* Layer l of the record at rec into shared memory (rows `stride` floats
 * apart), the block's threads sharing the work. Pruned layers: each thread
 * takes runs of 32 weights, whose first stored value is found from a
 * prefix count of the bitmap. */
__device__ static void expand_layer(const inrf_layer_loc *loc, float *w, int stride, float *b,
                                    int *prefix)
{
    const int count = (int)(loc->in * loc->out), in = (int)loc->in;
    if (!loc->bitmap) {
        for (int k = threadIdx.x; k < count; k += blockDim.x)
            w[k / in * stride + k % in] = inrf_layer_value(loc, (size_t)k, (unsigned)(k / in));
    } else {
        const int runs = (count + 31) / 32;
        for (int r = threadIdx.x; r < runs; r += blockDim.x) {
            int c = 0;
            for (int k = 32 * r; k < count && k < 32 * r + 32; k++)
                c += inrf_layer_kept(loc, (size_t)k);
            prefix[r] = c;
        }
        __syncthreads();
        if (threadIdx.x == 0) /* exclusive scan: runs <= 64 * 64 / 32 */
            for (int r = 0, sum = 0; r < runs; r++) {
                int c = prefix[r];
                prefix[r] = sum;
                sum += c;
            }
        __syncthreads();
        for (int r = threadIdx.x; r < runs; r += blockDim.x) {
            size_t v = (size_t)prefix[r];
            for (int k = 32 * r; k < count && k < 32 * r + 32; k++) {
                int keep = inrf_layer_kept(loc, (size_t)k);
                w[k / in * stride + k % in] = keep ? inrf_layer_value(loc, v, (unsigned)(k / in))
                                                   : 0.0f;
                v += (size_t)keep;
            }
        }
        __syncthreads(); /* prefix is reused by the next pruned layer */
    }
    for (int j = threadIdx.x; j < (int)loc->out; j += blockDim.x)
        b[j] = inrf_layer_bias(loc, (unsigned)j);
}

/* Four weights from shared memory in one 16-byte load (the compiler splits
 * plain float4 loads of the widest variant into four). p must be 16-byte
 * aligned (the dynamic shared array is, and the layout's offsets are
 * multiples of 4 floats). volatile and the memory clobber keep the load
 * between the barriers around it: the compiler sees no other dependence
 * on the weights that the block's threads wrote. */
__device__ __forceinline__ float4 load4(const float4 *p)
{
#ifdef INRF_CUDA_EMU
    inrf_emu::check_shared_load(p, sizeof *p);
    return *p;
#else
    float4 r;
    asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];"
                 : "=f"(r.x), "=f"(r.y), "=f"(r.z), "=f"(r.w)
                 : "r"((unsigned)__cvta_generic_to_shared(p))
                 : "memory");
    return r;
#endif
}

/* bias + sum_k w[k] h[k] over a padded row of W weights, in order k = 0,
 * 1, ... (inrf_neuron's sum), four weights a load. */
template <int W>
__device__ __forceinline__ float dot_padded(const float4 *__restrict__ w, const float *h,
                                            float bias)
{
    float acc = bias;
#pragma unroll
    for (int k = 0; k < W / 4; k++) {
        const float4 q = load4(&w[k]);
        acc = fmaf(q.x, h[4 * k + 0], acc);
        acc = fmaf(q.y, h[4 * k + 1], acc);
        acc = fmaf(q.z, h[4 * k + 2], acc);
        acc = fmaf(q.w, h[4 * k + 3], acc);
    }
    return acc;
}

/* One pixel through the network: the sine layers, then the output layer
 * into v[0 .. channels - 1]. Sums run k = 0, 1, ... with fmaf, in
 * inrf_neuron's order, so the results are the CPU decoder's bits.
 * W <= KMAX_PADDED: the padded layout; every loop runs to W, unrolled, so
 * h and t are registers, and the weights come in 16-byte broadcasts. The
 * padding adds fmaf(0, 0, acc) terms, which leave acc unchanged (a -0 may
 * become +0, which no output can show), and padded neurons are sin(0) = 0.
 * Wider (W = KMAX_WIDTH): the unpadded layout, loops to the true sizes,
 * h and t in local memory. */
template <int W>
__device__ __forceinline__ void eval_pixel(const dev_arch *__restrict__ a,
                                           const float *__restrict__ smem, float x, float y,
                                           float v[3])
{
    const int L = a->layers;
    float h[W], t[W];
    if constexpr (W <= KMAX_PADDED) {
        const float *__restrict__ w0 = smem + a->woff[0], *__restrict__ b0 = smem + a->boff[0];
#pragma unroll
        for (int n = 0; n < W; n++)
            h[n] = inrf_activate(fmaf(w0[2 * n + 1], y, fmaf(w0[2 * n], x, b0[n])),
                                 a->omega_first);
        for (int l = 1; l < L; l++) {
            const float4 *__restrict__ w = (const float4 *)(smem + a->woff[l]);
            const float *__restrict__ b = smem + a->boff[l];
#pragma unroll
            for (int n = 0; n < W; n++)
                t[n] = inrf_activate(dot_padded<W>(w + n * (W / 4), h, b[n]), a->omega_hidden);
#pragma unroll
            for (int n = 0; n < W; n++)
                h[n] = t[n];
        }
        const float4 *__restrict__ w = (const float4 *)(smem + a->woff[L]);
        const float *__restrict__ b = smem + a->boff[L];
#pragma unroll
        for (int c = 0; c < 3; c++)
            if (c < a->channels)
                v[c] = dot_padded<W>(w + c * (W / 4), h, b[c]);
    } else {
        h[0] = x;
        h[1] = y;
        for (int l = 0; l < L; l++) {
            const float *w = smem + a->woff[l], *b = smem + a->boff[l];
            const float om = l == 0 ? a->omega_first : a->omega_hidden;
            for (int n = 0; n < a->out[l]; n++)
                t[n] = inrf_activate(inrf_neuron(w + n * a->in[l], h, (unsigned)a->in[l], b[n]),
                                     om);
            for (int n = 0; n < a->out[l]; n++)
                h[n] = t[n];
        }
        for (int c = 0; c < a->channels; c++)
            v[c] = inrf_neuron(smem + a->woff[L] + c * a->in[L], h, (unsigned)a->in[L],
                               smem[a->boff[L] + c]);
    }
}

/* The widest sine layer of a pack's architectures, as the kernel variant
 * that evaluates it: 16, 32, 40, 48 or 64 (KMAX_WIDTH). */
static int kernel_width(int widest)
{
    /* padding costs (W / width)^2 in multiply-adds: 40 (the imagenet
     * preset) gets its own */
    return widest <= 16 ? 16 : widest <= 32 ? 32 : widest <= 40 ? 40
           : widest <= KMAX_PADDED ? KMAX_PADDED : KMAX_WIDTH;
}

/* eval_pixel as decode_pixels calls it. */
template <int W> struct siren_pixel {
    const dev_arch *a;
    const float *smem;
    __device__ __forceinline__ void operator()(float x, float y, float v[3]) const
    {
        eval_pixel<W>(a, smem, x, y, v);
    }
};

template <int W>
__global__ void decode_batch_kernel(const uint8_t *__restrict__ pack,
                                    const dev_item *__restrict__ items,
                                    const dev_arch *__restrict__ archs,
                                    const uint32_t *__restrict__ idx,
                                    const float *__restrict__ win, kparams kp, void *out)
{
    INRF_DYNAMIC_SHARED(float, smem);
    const size_t s = blockIdx.x; /* up to 2^31 - 1: 4 s and s npix need 64 bits */
    const dev_item it = items[idx[s]];
    const dev_arch *a = &archs[it.arch];
    int *prefix = (int *)(smem + a->floats);
    const uint8_t *rec = pack + it.offset, *rec_end = rec + it.size;
    if (a->padded) {
        for (int k = threadIdx.x; k < a->floats; k += blockDim.x)
            smem[k] = 0.0f;
        __syncthreads();
    }
    for (int l = 0; l <= a->layers; l++) {
        inrf_layer_loc loc;
        /* a record changed since verification expands to zeros */
        inrf_layer_locate(rec, (size_t)(rec_end - rec), (unsigned)a->in[l], (unsigned)a->out[l],
                          &loc);
        expand_layer(&loc, smem + a->woff[l], a->stride[l], smem + a->boff[l], prefix);
        rec = loc.end;
    }
    sample_coords c;
    sample_setup(smem, win, s, kp, &c);
    decode_pixels(siren_pixel<W>{a, smem}, c, kp, s, a->channels, a->output_map, out);
}

typedef void (*decode_kernel_fn)(const uint8_t *, const dev_item *, const dev_arch *,
                                 const uint32_t *, const float *, kparams, void *);

static decode_kernel_fn decode_kernel(int width)
{
    switch (width) {
    case 16: return decode_batch_kernel<16>;
    case 32: return decode_batch_kernel<32>;
    case 40: return decode_batch_kernel<40>;
    case KMAX_PADDED: return decode_batch_kernel<KMAX_PADDED>;
    default: return decode_batch_kernel<KMAX_WIDTH>;
    }
}

/* ------------------------------------------------------------------- host */

/* The kernel's table for architecture ar, laid out padded to pad (a
 * kernel_width up to KMAX_PADDED) or unpadded (pad 0); *smem: the shared
 * memory its block needs. */
static inrf_status make_arch(const inrf_arch *ar, int pad, dev_arch *d, size_t *smem)
{
    memset(d, 0, sizeof *d);
    d->layers = ar->layers;
    d->channels = ar->channels;
    d->output_map = ar->output_map;
    d->omega_first = ar->omega_first;
    d->omega_hidden = ar->omega_hidden;
    d->padded = pad > 0;
    int off = 0, in = 2, max_runs = 0;
    for (int l = 0; l <= ar->layers; l++) {
        int out = l < ar->layers ? ar->hidden[l] : ar->channels;
        if (l < ar->layers && out > (pad ? pad : KMAX_WIDTH)) {
            char msg[160];
            snprintf(msg, sizeof msg, "the GPU decoder takes sine layers of up to %d neurons, "
                     "not %d", KMAX_WIDTH, out);
            return inrf_report(INRF_E_UNSUPPORTED, msg);
        }
        const int rows = pad && l < ar->layers ? pad : out;
        d->in[l] = in;
        d->out[l] = out;
        d->stride[l] = pad && l > 0 ? pad : in;
        d->woff[l] = off;
        off += rows * d->stride[l];
        d->boff[l] = off;
        off += rows;
        if ((in * out + 31) / 32 > max_runs)
            max_runs = (in * out + 31) / 32;
        in = out;
    }
    d->floats = off;
    *smem = (size_t)off * sizeof(float) + (size_t)max_runs * sizeof(int);
    return INRF_OK;
}

/* The pack's kernel variant and its architectures' tables on the device
 * (inrf_cuda_kind.prepare). */
static inrf_status siren_prepare(const inrf_pack *pack, void **archs_out, size_t *smem_out,
                                 const void **kernel, int *threads)
{
    const uint32_t narchs = inrf_pack_archs(pack);
    int width = 0;
    for (uint32_t a = 0; a < narchs; a++) /* the kernel variant */
        for (int l = 0; l < inrf_pack_arch(pack, a)->layers; l++)
            if (inrf_pack_arch(pack, a)->hidden[l] > width)
                width = inrf_pack_arch(pack, a)->hidden[l];
    width = kernel_width(width);
    dev_arch *archs = (dev_arch *)calloc(narchs, sizeof *archs);
    if (!archs)
        return inrf_report(INRF_E_NOMEM, "out of memory");
    inrf_status st = INRF_OK;
    *smem_out = 0;
    for (uint32_t a = 0; st == INRF_OK && a < narchs; a++) {
        size_t smem = 0;
        st = make_arch(inrf_pack_arch(pack, a), width <= KMAX_PADDED ? width : 0, &archs[a],
                       &smem);
        *smem_out = smem > *smem_out ? smem : *smem_out;
    }
    cudaError_t e = cudaSuccess;
    if (st == INRF_OK &&
        (e = cudaMalloc(archs_out, narchs * sizeof *archs)) == cudaSuccess &&
        (e = cudaMemcpy(*archs_out, archs, narchs * sizeof *archs, cudaMemcpyHostToDevice)) !=
            cudaSuccess) {
        cudaFree(*archs_out);
        *archs_out = NULL;
    }
    free(archs);
    if (st == INRF_OK && e != cudaSuccess)
        st = cuda_fail(e, "uploading the pack");
    *kernel = (const void *)decode_kernel(width);
    *threads = BLOCK_THREADS(width);
    return st;
}

static void siren_launch(const void *kernel, const inrf_cuda_launch *l)
{
    const decode_kernel_fn k = reinterpret_cast<decode_kernel_fn>(const_cast<void *>(kernel));
    INRF_LAUNCH(k, l->n, l->threads, l->smem, l->stream)
    (l->pack, l->items, (const dev_arch *)l->archs, l->idx, l->win, l->kp, l->out);
}

/* The entry of kernels/decode.cu's table. */
extern "C" const inrf_cuda_kind inrf_siren_cuda_kind = {INRF_KIND_SIREN, siren_prepare,
                                                        siren_launch};

