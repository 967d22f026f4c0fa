/* grid_gpu.cu: the testing kind "grid" on the GPU: one block a sample, each
 * pixel interpolated from the record's latents in device memory with the
 * CPU's function (grid_math.h). Built for the kernel emulator in the test
 * programs (grid_gpu_emu.cpp) and registered there. */
#include <stdlib.h>

#include "decode_kernel.h"
#include "inrf/kind.h"
#include "inrf/record.h"

#include "grid.h"
#include "grid_math.h"

/* An architecture as the kernel reads it. */
typedef struct grid_dev_arch {
    unsigned gw, gh, channels;
} grid_dev_arch;

/* grid_pixel as decode_pixels calls it; a record that is not the size its
 * architecture says (changed since verification) decodes to zeros. */
struct grid_eval {
    grid_view g;
    int ok;
    __device__ void operator()(float x, float y, float v[3]) const
    {
        if (ok)
            grid_pixel(&g, x, y, v);
        else
            v[0] = v[1] = v[2] = 0.0f;
    }
};

__global__ void grid_kernel(const uint8_t *__restrict__ pack, const dev_item *__restrict__ items,
                            const grid_dev_arch *__restrict__ archs,
                            const uint32_t *__restrict__ idx, const float *__restrict__ win,
                            kparams kp, void *out)
{
    INRF_DYNAMIC_SHARED(float, smem);
    const size_t s = blockIdx.x;
    const dev_item it = items[idx[s]];
    const grid_dev_arch a = archs[it.arch];
    const uint8_t *rec = pack + it.offset;
    grid_eval e;
    e.ok = it.size == 4 + a.gw * a.gh * a.channels;
    e.g.gw = a.gw;
    e.g.gh = a.gh;
    e.g.channels = a.channels;
    e.g.scale = e.ok ? inrf_ldf32(rec) : 0.0f;
    e.g.q = (const int8_t *)(rec + 4);
    sample_coords c;
    sample_setup(smem, win, s, kp, &c);
    decode_pixels(e, c, kp, s, (int)a.channels, INRF_OUTPUT_UNIT, out);
}

static inrf_status grid_prepare(const inrf_pack *pack, void **archs_out, size_t *smem,
                                const void **kernel, int *threads)
{
    const uint32_t n = inrf_pack_archs(pack);
    grid_dev_arch *archs = (grid_dev_arch *)calloc(n, sizeof *archs);
    if (!archs)
        return inrf_report(INRF_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const inrf_arch *a = inrf_pack_arch(pack, i);
        archs[i].gw = grid_w(a);
        archs[i].gh = grid_h(a);
        archs[i].channels = a->channels;
    }
    cudaError_t e = cudaMalloc(archs_out, n * sizeof *archs);
    if (e == cudaSuccess)
        e = cudaMemcpy(*archs_out, archs, n * sizeof *archs, cudaMemcpyHostToDevice);
    free(archs);
    if (e != cudaSuccess)
        return cuda_fail(e, "grid: uploading the architectures");
    *smem = 0; /* the latents are read from the pack */
    *kernel = (const void *)grid_kernel;
    *threads = 128;
    return INRF_OK;
}

static void grid_launch(const void *kernel, const inrf_cuda_launch *l)
{
    (void)kernel; /* one kernel */
    INRF_LAUNCH(grid_kernel, l->n, l->threads, l->smem, l->stream)
    (l->pack, l->items, (const grid_dev_arch *)l->archs, l->idx, l->win, l->kp, l->out);
}

extern "C" const inrf_cuda_kind grid_cuda_kind = {INRF_KIND_TESTING, grid_prepare, grid_launch};
