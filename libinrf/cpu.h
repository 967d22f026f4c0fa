/* cpu.h: which instruction set this CPU runs, and the kernels built for
 * it (decode tile, training pass). One dispatch point for the library and
 * the benchmarks. Private to libinrf. */
#ifndef INRF_CPU_H
#define INRF_CPU_H

#include "siren/decode_tile.h"
#include "train.h"

typedef enum inrf_cpu_level {
    INRF_CPU_GENERIC = 0, /* portable C, fmaf() */
    INRF_CPU_AVX2 = 1,    /* AVX2 + FMA */
    INRF_CPU_AVX512 = 2,  /* AVX-512 F, VL, DQ */
} inrf_cpu_level;

/* The best level this CPU runs; INRF_KERNEL=generic|avx2|avx512 asks for a
 * lower one (tests compare them, one process each). Both are read at the
 * first call, once per process. */
inrf_cpu_level inrf_cpu_level_pick(void);
const char *inrf_cpu_level_name(inrf_cpu_level level);
inrf_tile_fn inrf_cpu_tile_forward(void);
inrf_train_fn inrf_cpu_train_pass(void);

#endif /* INRF_CPU_H */
