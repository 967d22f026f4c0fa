/* cpu.c: run-time choice of the SIMD kernels (decode tile, training pass)
 * among the copies Makefile.am builds for each instruction set, made once
 * per process. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu.h"

static inrf_cpu_level level;
static pthread_once_t level_once = PTHREAD_ONCE_INIT;

/* The CPU's features and INRF_KERNEL, read once (libwebp's VP8GetCPUInfo
 * pattern): the decoder asks on every call, and getenv and cpuid are not
 * free. */
static void level_init(void)
{
    const char *want = getenv("INRF_KERNEL");
    level = INRF_CPU_GENERIC;
    if (want && strcmp(want, "generic") == 0)
        return;
#ifdef INRF_SIMD_X86
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (has_avx512 && !(want && strcmp(want, "avx2") == 0))
        level = INRF_CPU_AVX512;
    else if (has_avx2)
        level = INRF_CPU_AVX2;
#endif
}

inrf_cpu_level inrf_cpu_level_pick(void)
{
    pthread_once(&level_once, level_init);
    return level;
}

const char *inrf_cpu_level_name(inrf_cpu_level l)
{
    static const char *const names[] = {"generic", "avx2", "avx512"};
    return names[l];
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
