/* fma_peak_kernel.c: fp32 FMA throughput of this machine, from independent
 * FMA chains on every thread; built once per instruction set (Makefile.am,
 * PEAK_SUFFIX = avx512, avx2 or generic). */
#include <math.h>
#include <time.h>

#include "fma_peak.h"

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define PEAK_FN PASTE(fma_peak_, PEAK_SUFFIX)

/* CHAINS, set per instruction set below, is the number of independent FMA
 * chains: latency (4 or 5 cycles) times throughput (up to 2 a cycle) of
 * them, 8 to 10, must be in flight, and the chains and the two constants
 * must fit in the vector registers (16 ymm, 32 zmm) or they spill.
 * ITERS is the FMAs per chain between clock reads (10 to 100 us). */
#define ITERS 4096

#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 vf;
#define VL 16
#define CHAINS 16
static inline vf vset1(float x) { return _mm512_set1_ps(x); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vsum(vf a) { return _mm512_reduce_add_ps(a); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 vf;
#define VL 8
#define CHAINS 12
static inline vf vset1(float x) { return _mm256_set1_ps(x); }
static inline vf vfma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vsum(vf a)
{
    float t[8];
    _mm256_storeu_ps(t, a);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
/* Scalar fmaf(), which is what the generic decode kernel issues. */
typedef float vf;
#define VL 1
#define CHAINS 16
static inline vf vset1(float x) { return x; }
static inline vf vfma(vf a, vf b, vf c) { return fmaf(a, b, c); }
static inline float vsum(vf a) { return a; }
#endif

/* Defeats dead-code elimination: every chain's result ends up here. */
static volatile float sink;

/* CHAINS x ITERS dependent FMAs acc = acc * a + b; the fixed point is 1,
 * so values stay normal (no denormal slow path) whatever the count. */
static float batch(float seed)
{
    const vf a = vset1(0.999f), b = vset1(0.001f);
    vf acc[CHAINS];
    /* Fully unrolled so that the chains live in registers. */
#pragma GCC unroll 16
    for (int c = 0; c < CHAINS; c++)
        acc[c] = vset1(seed + 0.001f * (float)c);
    for (int i = 0; i < ITERS; i++) {
#pragma GCC unroll 16
        for (int c = 0; c < CHAINS; c++)
            acc[c] = vfma(acc[c], a, b);
    }
    vf s = acc[0];
#pragma GCC unroll 16
    for (int c = 1; c < CHAINS; c++)
        s = s + acc[c];
    return vsum(s);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double PEAK_FN(int threads, double seconds)
{
    if (threads < 1)
        threads = 1;
    double t0 = 0.0, t1 = 0.0;
    long long batches = 0;
#pragma omp parallel num_threads(threads) reduction(+ : batches)
    {
        float keep = 0.0f;
        /* Warm-up: threads started, clocks up, then all start together. */
        double warm_end = now() + 0.05;
        do
            keep += batch(1.0f);
        while (now() < warm_end);
#pragma omp barrier
#pragma omp single
        t0 = now();
        long long n = 0;
        do {
            keep += batch(1.0f + 0.01f * (float)(n & 7));
            n++;
        } while (now() < t0 + seconds);
        batches += n;
#pragma omp critical
        sink += keep;
    }
    t1 = now();
    return (double)batches * CHAINS * ITERS * VL * 2.0 / (t1 - t0) * 1e-9;
}
