/* pack_internal.h: what the pack reader (pack.c) and writer (pack_write.c)
 * share. Private to libinrf. */
#ifndef INRF_PACK_INTERNAL_H
#define INRF_PACK_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "format.h"

static inline uint64_t inrf_align64(uint64_t n)
{
    return (n + INRP_ALIGN - 1) & ~(uint64_t)(INRP_ALIGN - 1);
}

/* A class name as spec/inrpack.md "Class table" allows it. */
int inrf_pack_name_ok(const uint8_t *s, size_t n);

/* qsort comparators: C strings (char *), uint32_t. */
static inline int inrf_pack_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline int inrf_pack_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

#endif /* INRF_PACK_INTERNAL_H */
