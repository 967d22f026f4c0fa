/* fma_peak.h: the machine's measured fp32 FMA peak, the yardstick of
 * bench/decode; one measuring kernel per instruction set (fma_peak_kernel.c). */
#ifndef INRF_BENCH_FMA_PEAK_H
#define INRF_BENCH_FMA_PEAK_H

/* GFLOP/s (2 flops per multiply-add) of `threads` OpenMP threads (>= 1)
 * issuing independent fp32 FMAs for about `seconds` (> 0) after a short
 * warm-up. One copy per instruction set; call only those the CPU runs. */
double fma_peak_avx512(int threads, double seconds); /* __m512 FMAs */
double fma_peak_avx2(int threads, double seconds);   /* __m256 FMAs */
double fma_peak_generic(int threads, double seconds); /* scalar fmaf() */

/* The instruction set fma_peak() measures with, chosen by the rule of the
 * decoder's kernel choice (libinrf/decode.c, INRF_KERNEL included), so the
 * peak and the decode use the same instructions: "avx512", "avx2", "generic". */
const char *fma_peak_name(void);

/* fma_peak_<name>() for that instruction set. */
double fma_peak(int threads, double seconds);

#endif /* INRF_BENCH_FMA_PEAK_H */
