/* decode_tile.h: the interface between decode.c and the SIMD tile kernel
 * (decode_tile.c), which is compiled once per instruction set. Private. */
#ifndef INRF_DECODE_TILE_H
#define INRF_DECODE_TILE_H

#include "inrf/inrf.h"
#include "inrf/kind.h" /* INRF_TILE */

/* A network in the form the kernels read: dense fp32 weights. */
typedef struct inrf_tile_net {
    unsigned layers;                          /* sine layers L */
    unsigned in[INRF_MAX_SINE_LAYERS + 1];
    unsigned out[INRF_MAX_SINE_LAYERS + 1];
    const float *w[INRF_MAX_SINE_LAYERS + 1]; /* [out][in] */
    const float *b[INRF_MAX_SINE_LAYERS + 1]; /* [out] */
    float omega_first, omega_hidden;
    unsigned max_width;                       /* widest sine layer */
} inrf_tile_net;

/* Evaluates INRF_TILE pixels. xy: [2][INRF_TILE] coordinates (x row, then
 * y row); out: [channels][INRF_TILE] linear outputs; scratch: 64-byte
 * aligned, inrf_tile_scratch_floats(net) floats. Every kernel gives the
 * same bits (siren_math.h). */
typedef void (*inrf_tile_fn)(const inrf_tile_net *net, const float *xy, float *out,
                             float *scratch);

static inline size_t inrf_tile_scratch_floats(const inrf_tile_net *net)
{
    return (size_t)2 * (net->max_width > 4 ? net->max_width : 4) * INRF_TILE;
}

void inrf_tile_forward_generic(const inrf_tile_net *, const float *, float *, float *);
void inrf_tile_forward_avx2(const inrf_tile_net *, const float *, float *, float *);
void inrf_tile_forward_avx512(const inrf_tile_net *, const float *, float *, float *);

#endif /* INRF_DECODE_TILE_H */
