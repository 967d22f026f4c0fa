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

/* Threads the backend was created with. */
int trn_cpu_backend_threads(const trn_backend *be);

#endif /* TRN_CPU_BACKEND_H */
