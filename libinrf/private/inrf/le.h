/* le.h: the little-endian loads and stores of spec/inrf.md "Conventions",
 * once, as host and device functions: the library's parsers and writers
 * (through bytes.h), the record expansion the CUDA kernels share
 * (record.h) and the kinds' GPU evaluators read with these. Private. */
#ifndef INRF_LE_H
#define INRF_LE_H

#include <stdint.h>
#include <string.h>

/* The same definition as siren_math.h's, so either may come first. */
#ifndef INRF_HD
#if defined(__CUDACC__)
#define INRF_HD __host__ __device__ __forceinline__
#else
#define INRF_HD static inline
#endif
#endif

INRF_HD uint16_t inrf_ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
INRF_HD uint32_t inrf_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
INRF_HD uint64_t inrf_ld64(const uint8_t *p)
{
    return (uint64_t)inrf_ld32(p) | ((uint64_t)inrf_ld32(p + 4) << 32);
}
INRF_HD float inrf_ldf32(const uint8_t *p)
{
    uint32_t u = inrf_ld32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
INRF_HD void inrf_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
INRF_HD void inrf_st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
INRF_HD void inrf_st64(uint8_t *p, uint64_t v)
{
    inrf_st32(p, (uint32_t)v);
    inrf_st32(p + 4, (uint32_t)(v >> 32));
}
INRF_HD void inrf_stf32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    inrf_st32(p, u);
}

#endif /* INRF_LE_H */
