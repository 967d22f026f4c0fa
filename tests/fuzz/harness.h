/* harness.h: the shape of every harness: the input as it is, then a
 * copy with its checksums recomputed so that mutations reach the parser
 * behind them. */
#ifndef INRF_FUZZ_HARNESS_H
#define INRF_FUZZ_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int fuzz_twice(const uint8_t *data, size_t size,
                             void (*one_input)(const uint8_t *, size_t),
                             void (*fix_checksums)(uint8_t *, size_t))
{
    one_input(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_checksums(copy, size);
    one_input(copy, size);
    free(copy);
    return 0;
}

#endif /* INRF_FUZZ_HARNESS_H */
