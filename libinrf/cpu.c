/* cpu.c: run-time choice of the SIMD kernels (decode tile, training pass)
 * among the copies Makefile.am builds for each instruction set. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu.h"

inrf_cpu_level inrf_cpu_level_pick(void)
{
    const char *want = getenv("INRF_KERNEL");
    if (want && strcmp(want, "generic") == 0)
        return INRF_CPU_GENERIC;
#ifdef INRF_SIMD_X86
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (has_avx512 && !(want && strcmp(want, "avx2") == 0))
        return INRF_CPU_AVX512;
    if (has_avx2)
        return INRF_CPU_AVX2;
#endif
    return INRF_CPU_GENERIC;
}

const char *inrf_cpu_level_name(inrf_cpu_level level)
{
    static const char *const names[] = {"generic", "avx2", "avx512"};
    return names[level];
}

inrf_tile_fn inrf_cpu_tile_forward(void)
{
    switch (inrf_cpu_level_pick()) {
#ifdef INRF_SIMD_X86
    case INRF_CPU_AVX512: return inrf_tile_forward_avx512;
    case INRF_CPU_AVX2: return inrf_tile_forward_avx2;
#endif
    default: return inrf_tile_forward_generic;
    }
}

inrf_train_fn inrf_cpu_train_pass(void)
{
    switch (inrf_cpu_level_pick()) {
#ifdef INRF_SIMD_X86
    case INRF_CPU_AVX512: return inrf_train_pass_avx512;
    case INRF_CPU_AVX2: return inrf_train_pass_avx2;
#endif
    default: return inrf_train_pass_generic;
    }
}

size_t inrf_train_work_floats(const inrf_train_net *net, size_t n)
{
    /* xy, the output, two gradient rows, and h and d of each sine layer */
    size_t rows = 2u + net->out[net->layers] + 2u * net->max_width;
    for (unsigned l = 0; l < net->layers; l++)
        rows += 2u * net->out[l];
    return rows * inrf_train_row_stride(n);
}
