/* golden.h: the seeded models behind the files in tests/golden, shared by
 * the format and decode suites. */
#ifndef INRF_TESTS_GOLDEN_H
#define INRF_TESTS_GOLDEN_H

#include "inrf/inrf.h"

typedef struct golden_case {
    const char *name;         /* tests/golden/<name>.inrf */
    uint32_t dec_w, dec_h;    /* a second decode size for the hash check */
} golden_case;

#define GOLDEN_COUNT 4
extern const golden_case golden_cases[GOLDEN_COUNT];

/* Builds golden model i from its seed (deterministic everywhere). */
inrf_status golden_build(unsigned i, inrf_model **out);
/* Write options the golden file was made with. */
void golden_write_options(unsigned i, inrf_write_options *opt);
/* Path of golden file i under $top_srcdir (static buffer). */
const char *golden_path(unsigned i);
/* Reads a whole file into a malloc'd buffer; NULL if absent. */
uint8_t *golden_slurp(const char *path, size_t *size);

#endif
