/* bytes.h: the "Conventions" section of spec/inrf.md in code: the
 * little-endian loads and stores (inrf/le.h, shared with the kernels) and
 * binary16 checks. Private to libinrf. */
#ifndef INRF_BYTES_H
#define INRF_BYTES_H

#include <stdint.h>
#include <string.h>

#include "format.h"
#include "inrf/le.h"
#include "inrf/siren_math.h"

/* Whether binary16 bits h are a finite number: exponent field not 31
 * (spec "Layer record"). inrf_f16_to_f32 maps exponent 31 to a finite
 * binary32 value, so a reader must test the stored bits. */
static inline int inrf_f16_finite(uint16_t h) { return (h & INRF_F16_EXP_MASK) != INRF_F16_EXP_MASK; }

/* inrf_f32_to_f16 (float to binary16, round to nearest even, saturating)
 * lives in siren_math.h, shared with the GPU encoder. */

#endif /* INRF_BYTES_H */
