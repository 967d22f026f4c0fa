/* cpu_backend.h: the CPU backend (plain C, OpenMP, im2col + cblas_sgemm):
 * the reference that every other backend is tested against. */
#ifndef TRN_CPU_BACKEND_H
#define TRN_CPU_BACKEND_H

#include "backend.h"

/* Creates the CPU backend running on `threads` OpenMP threads (<= 0:
 * OpenMP's default). It sets OpenBLAS to one thread, a process-wide
 * setting: the backend calls BLAS from each of its own threads, which
 * beats BLAS's own threading on these shapes. Free with be->destroy(be). */
INRF_NODISCARD inrf_status trn_cpu_backend_create(int threads, trn_backend **out);

/* Bytes of workspace (im2col columns, per-thread weight-gradient parts,
 * Winograd transforms) the backend grows to on `threads` threads (<= 0:
 * OpenMP's default) for a network whose widest layer has max_channels
 * channels and whose largest activation of one image has image_floats
 * floats: an upper estimate, to size a run before it starts. */
double trn_cpu_backend_workspace(int threads, int max_channels, size_t image_floats);

/* Threads the backend was created with. */
int trn_cpu_backend_threads(const trn_backend *be);

#endif /* TRN_CPU_BACKEND_H */
