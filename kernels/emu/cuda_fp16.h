/* cuda_fp16.h of the kernel emulator (see cuda_runtime.h): binary16 with
 * the CUDA conversion, round to nearest even, overflow to infinity. */
#ifndef INRF_EMU_CUDA_FP16_H
#define INRF_EMU_CUDA_FP16_H

#include <string.h>

struct __half {
    unsigned short x;
};

static inline __half __float2half_rn(float f)
{
    _Float16 h = (_Float16)f;
    __half r;
    memcpy(&r.x, &h, sizeof r.x);
    return r;
}

static inline float __half2float(__half h)
{
    _Float16 v;
    memcpy(&v, &h.x, sizeof v);
    return (float)v;
}

#endif /* INRF_EMU_CUDA_FP16_H */
