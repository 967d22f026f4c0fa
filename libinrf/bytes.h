/* bytes.h: little-endian loads and stores and binary16 rounding, the
 * "Conventions" section of spec/inrf.md in code. Private to libinrf. */
#ifndef INRF_BYTES_H
#define INRF_BYTES_H

#include <stdint.h>
#include <string.h>

#include "format.h"
#include "inrf/siren_math.h"

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

/* Whether binary16 bits h are a finite number: exponent field not 31
 * (spec "Layer record"). inrf_f16_to_f32 maps exponent 31 to a finite
 * binary32 value, so a reader must test the stored bits. */
static inline int inrf_f16_finite(uint16_t h) { return (h & INRF_F16_EXP_MASK) != INRF_F16_EXP_MASK; }

/* inrf_f32_to_f16 (float to binary16, round to nearest even, saturating)
 * lives in siren_math.h, shared with the GPU encoder. */

#endif /* INRF_BYTES_H */
