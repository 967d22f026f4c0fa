/* fma_peak.c: picks the FMA peak kernel of the instruction set the decoder
 * uses, by the same rule as pick_kernel() in libinrf/decode.c. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fma_peak.h"

typedef struct peak_kernel {
    const char *name;
    double (*fn)(int threads, double seconds);
} peak_kernel;

/* Keep in step with pick_kernel() in libinrf/decode.c: INRF_KERNEL=generic
 * or =avx2 asks for a narrower kernel; avx512 needs F, VL and DQ. */
static peak_kernel pick(void)
{
    const char *want = getenv("INRF_KERNEL");
    peak_kernel k = {"generic", fma_peak_generic};
    if (want && strcmp(want, "generic") == 0)
        return k;
#ifdef INRF_SIMD_X86
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (has_avx512 && !(want && strcmp(want, "avx2") == 0))
        return (peak_kernel){"avx512", fma_peak_avx512};
    if (has_avx2)
        return (peak_kernel){"avx2", fma_peak_avx2};
#endif
    return k;
}

const char *fma_peak_name(void) { return pick().name; }

double fma_peak(int threads, double seconds) { return pick().fn(threads, seconds); }
