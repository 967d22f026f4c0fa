/* bytes.h: little-endian loads and stores and binary16 rounding, the
 * "Conventions" section of spec/inrf.md in code. Private to libinrf. */
#ifndef INRF_BYTES_H
#define INRF_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t inrf_ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t inrf_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t inrf_ld64(const uint8_t *p)
{
    return (uint64_t)inrf_ld32(p) | ((uint64_t)inrf_ld32(p + 4) << 32);
}
static inline float inrf_ldf32(const uint8_t *p)
{
    uint32_t u = inrf_ld32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline void inrf_st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void inrf_st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void inrf_st64(uint8_t *p, uint64_t v)
{
    inrf_st32(p, (uint32_t)v);
    inrf_st32(p + 4, (uint32_t)(v >> 32));
}
static inline void inrf_stf32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    inrf_st32(p, u);
}

/* float to binary16, round to nearest even; values beyond the binary16
 * range saturate to +-65504 (the spec forbids Inf). */
static inline uint16_t inrf_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x477fe000u) /* >= 65520 rounds to Inf: saturate (and NaN) */
        return (uint16_t)(sign | 0x7bffu);
    if (ax < 0x38800000u) { /* below 2^-14: subnormal or zero */
        if (ax < 0x33000000u) /* below 2^-25: rounds to 0 */
            return (uint16_t)sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((ax - 0x38000000u) >> 13); /* rebias exponent */
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

#endif /* INRF_BYTES_H */
