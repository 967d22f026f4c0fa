/* fma_peak.c: picks the FMA peak kernel of the instruction set the decoder
 * uses, by asking libinrf which one it chose (one dispatch rule). */
#include <string.h>

#include "config.h"
#include "fma_peak.h"
#include "inrf/inrf.h"

typedef struct peak_kernel {
    const char *name;
    double (*fn)(int threads, double seconds);
} peak_kernel;

static peak_kernel pick(void)
{
    const char *name = inrf_decode_kernel_name();
#ifdef INRF_SIMD_X86
    if (strcmp(name, "avx512") == 0)
        return (peak_kernel){"avx512", fma_peak_avx512};
    if (strcmp(name, "avx2") == 0)
        return (peak_kernel){"avx2", fma_peak_avx2};
#endif
    return (peak_kernel){"generic", fma_peak_generic};
}

const char *fma_peak_name(void) { return pick().name; }

double fma_peak(int threads, double seconds) { return pick().fn(threads, seconds); }
