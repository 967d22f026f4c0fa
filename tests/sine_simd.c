/* sine_simd.c: simd.h's vector sine (vsin, vsincos) for test_math, built
 * once per instruction set (Makefile.am) like the kernels that use it. */
#include <stddef.h>

#include "../libinrf/simd.h"

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)

/* For n floats of x (a multiple of 16): vsin's lanes in sn, vsincos's in s
 * and c. */
void PASTE(sine_lanes_, SINE_SUFFIX)(const float *x, size_t n, float *sn, float *s, float *c);

void PASTE(sine_lanes_, SINE_SUFFIX)(const float *x, size_t n, float *sn, float *s, float *c)
{
    for (size_t i = 0; i < n; i += VL) {
        vf v = vloadu(x + i), vs, vc;
        vstoreu(sn + i, vsin(v));
        vsincos(v, &vs, &vc);
        vstoreu(s + i, vs);
        vstoreu(c + i, vc);
    }
}
