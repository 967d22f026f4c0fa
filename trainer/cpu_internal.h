/* cpu_internal.h: what the CPU backend's files (cpu_backend.c,
 * winograd.c) share: its state, its workspace, and the threading and GEMM
 * helpers. Not part of the backend interface (cpu_backend.h). */
#ifndef TRN_CPU_INTERNAL_H
#define TRN_CPU_INTERNAL_H

#include <stddef.h>

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend.h"

/* The memory-bound loops are built for AVX-512, for AVX2 with FMA and for
 * the baseline, and the loader picks one (GCC's function multi-versioning):
 * a distribution's build may assume nothing beyond x86-64. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TRN_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TRN_SIMD
#endif

typedef struct cpu_backend {
    trn_backend base; /* first: the table handed out */
    int threads;
    inrf_status err;  /* sticky failure, returned by sync() */
    float *col;       /* im2col workspace */
    size_t col_cap;   /* its size in floats */
    double *red;      /* per-thread reduction scratch */
    size_t red_cap;   /* its size in doubles */
} cpu_backend;

/* The im2col buffer, grown to at least n floats; NULL (and the sticky
 * error) when that fails. */
float *cpu_col(cpu_backend *cb, size_t n);

/* Rows [*r0, *r1) of `rows` for thread t of nt: contiguous, balanced. */
static inline void thread_range(size_t rows, int t, int nt, size_t *r0, size_t *r1)
{
    *r0 = rows * (size_t)t / (size_t)nt;
    *r1 = rows * (size_t)(t + 1) / (size_t)nt;
}

static inline int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Row-major sgemm: C[M][N] = op(A) op(B) (+ C when accumulate). */
static inline void gemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                        const float *b, int ldb, int accumulate, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}

#endif /* TRN_CPU_INTERNAL_H */
