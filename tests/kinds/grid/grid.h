/* grid.h: the testing kind "grid" (NHDR.kind 255; spec/inrf.md, "Kind
 * 255: testing"), shaped unlike SIREN: no layers, one int8 latent grid
 * at a fixed resolution, bilinearly interpolated. Built into the test
 * programs only and registered there; libinrf and the tools refuse it. */
#ifndef INRF_TESTS_GRID_H
#define INRF_TESTS_GRID_H

#include "inrf/kind.h"

/* NHDR payload, 8 bytes:
 *   0 u8 kind = 255   1 u8 reserved, 0
 *   2 u16 grid width 2..256   4 u16 grid height 2..256   6 u16 reserved, 0
 * WGHT payload, 4 + gw * gh * channels bytes:
 *   0 f32 scale, finite and > 0
 *   4 i8[gh][gw][channels] latents, row-major, channels interleaved; -128
 *     is refused. A pixel is the bilinear interpolation of the latents
 *     (grid_math.h) times the scale, clamped to [0, 1]. */
#define GRID_NHDR_SIZE 8
#define GRID_MAX 256

extern const inrf_kind_ops grid_kind;

/* The grid size of an architecture of the kind (its params[0], [1]). */
static inline unsigned grid_w(const inrf_arch *a) { return a->params[0]; }
static inline unsigned grid_h(const inrf_arch *a) { return a->params[1]; }

/* An architecture of the kind: an image of width x height x channels
 * stored as a gw x gh grid. */
void grid_arch(inrf_arch *a, uint32_t width, uint32_t height, uint8_t channels, unsigned gw,
               unsigned gh);

/* The latents and scale of a model of the kind. */
typedef struct grid_weights {
    float scale;
    int8_t q[]; /* [gh][gw][channels] */
} grid_weights;

#ifdef __cplusplus
extern "C" {
#endif
/* The kind's GPU evaluator (grid_gpu.cu), registered by
 * inrf_cuda_kind_register_ (kernels/decode_kernel.h). */
struct inrf_cuda_kind;
extern const struct inrf_cuda_kind grid_cuda_kind;
#ifdef __cplusplus
}
#endif

#endif /* INRF_TESTS_GRID_H */
