/* grid_math.h: one pixel of the testing kind "grid" (spec/inrf.md, "Kind
 * 255: testing"): an int8 latent grid, bilinearly interpolated at the
 * pixel's coordinate. Host and device functions (siren_math.h's INRF_HD),
 * shared by the kind's CPU and GPU evaluators, so the emulated GPU gives
 * the CPU's bits. */
#ifndef INRF_TESTS_GRID_MATH_H
#define INRF_TESTS_GRID_MATH_H

#include <stdint.h>

#include "inrf/siren_math.h"

/* A model's latents as the evaluators read them. */
typedef struct grid_view {
    unsigned gw, gh;           /* grid size, 2..256 each */
    unsigned channels;         /* 1 or 3 */
    float scale;               /* value of latent 1 */
    const int8_t *q;           /* [gh][gw][channels] */
} grid_view;

/* Along an axis of n latents, latent k sits at the pixel centre
 * (2k + 1) / n - 1: coordinate x falls between latents *k and *k + 1 at
 * fraction *f, both clamped to the grid (NaN as the first latent). */
INRF_HD void grid_axis(float x, unsigned n, unsigned *k, float *f)
{
    float u = (x + 1.0f) * 0.5f * (float)n - 0.5f;
    u = u > 0.0f ? u : 0.0f;
    u = u < (float)(n - 1) ? u : (float)(n - 1);
    unsigned i = (unsigned)u;
    i = i < n - 2 ? i : n - 2;
    *k = i;
    *f = u - (float)i;
}

/* The value of every channel at (x, y), before the output mapping (unit:
 * clamped to [0, 1]). */
INRF_HD void grid_pixel(const grid_view *g, float x, float y, float v[3])
{
    unsigned i, j;
    float fx, fy;
    grid_axis(x, g->gw, &i, &fx);
    grid_axis(y, g->gh, &j, &fy);
    const unsigned C = g->channels, row = g->gw * C;
    const int8_t *p = g->q + (j * g->gw + i) * C;
    for (unsigned c = 0; c < C; c++) {
        float a = (float)p[c], b = (float)p[C + c];
        float d = (float)p[row + c], e = (float)p[row + C + c];
        float top = a + fx * (b - a), bottom = d + fx * (e - d);
        v[c] = (top + fy * (bottom - top)) * g->scale;
    }
}

#endif /* INRF_TESTS_GRID_MATH_H */
