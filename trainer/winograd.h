/* winograd.h: the CPU backend's Winograd convolution (winograd.c), which
 * cpu_backend.c calls for the 3x3 stride-1 layers. */
#ifndef TRN_WINOGRAD_H
#define TRN_WINOGRAD_H

#include "cpu_internal.h"

/* A 3x3 stride-1 convolution padded by 1 (all but the first of each
 * stage's 3x3 layers, and the backward-data pass of every one of them, a
 * 3x3 stride-1 pad-1 convolution of dy with the flipped filter) as
 * Winograd's F(2x2,3x3) (Lavin and Gray, 2015): each 2x2 output tile is
 * A^T [(G g G^T) . (B^T d B)] A over its 4x4 input tile d, so the 16
 * element-wise products over the channels become 16 GEMMs of (tiles, Cin)
 * by (Cin, Cout), with 16 multiplies per 4 outputs instead of 36. The
 * transforms' constants are 0, +-1 and 1/2, so rounding stays at a few ulp
 * of the direct sum. */
int conv_winograd(const trn_window *win);

/* The forward's 16 GEMMs have Cin as their inner dimension: the 3-channel
 * stem runs them at a fraction of peak, and im2col's K = 27 twice as fast
 * (measured: 8.0 vs 3.8 ms for batch 64 at 32x32). */
#define WINO_MIN_CIN 8

/* Tiles per GEMM: enough rows for the GEMM to run near peak (measured on
 * Zen 4, training ResNet-18 on 32x32: 64, 128 and 256 within noise of each
 * other, 1024 slower). */
#define WINO_TILES 256

// y = conv(x, w) by Winograd; flip: the backward-data pass, x = dy,
// y = dx, w (Cout_fwd,3,3,Cin_fwd) used as (Cin_fwd,3,3,Cout_fwd) flipped.
// A workspace that cannot be had fails the backend (its sticky error).
void wino_run(cpu_backend *cb, const trn_tensor *x, const trn_tensor *w, const trn_tensor *y,
              int flip);

// dw (Cout,3,3,Cin) of the convolution of x giving dy, by Winograd
void wino_dweights(cpu_backend *cb, const trn_tensor *x, const trn_tensor *dy,
                   const trn_tensor *dw);

#endif /* TRN_WINOGRAD_H */
