/* pack_internal.h: what the pack reader (pack_read.c), verifier
 * (pack_verify.c), batch decoder (pack_decode.c) and writer share. Private. */
#ifndef INRF_PACK_INTERNAL_H
#define INRF_PACK_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "format.h"
#include "inrf/pack.h"
#include "internal.h"

/* An open pack (pack_read.c). */
struct inrf_pack {
    inrf_blob blob;            /* the mapping, when opened from a path */
    const uint8_t *d;
    size_t size;
    uint32_t count, classes, archs;
    unsigned channels;
    inrf_arch *arch;           /* [archs], width = height = 0 */
    char **names;              /* [classes] NUL-terminated, in names_buf */
    char *names_buf;
    inrf_pack_item *items;     /* [count] */
    inrf_read_options limits;
    int verified;              /* every record checked (spec "Verification") */
};

static inline int inrf_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

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

/* A thread's models, one per architecture, made on first use
 * (pack_verify.c). */
typedef struct inrf_pack_scratch {
    inrf_model **m;
} inrf_pack_scratch;

inrf_status inrf_pack_scratch_get(const inrf_pack *p, inrf_pack_scratch *s, uint32_t a,
                                  inrf_model **m);
void inrf_pack_scratch_free(const inrf_pack *p, inrf_pack_scratch *s);

/* spec "Records": record i's checksum, zero padding and structure,
 * parsed into m, a model of the record's architecture (pack_verify.c). */
inrf_status inrf_pack_check_record(const inrf_pack *p, uint32_t i, inrf_model *m);

/* Checks every record; the first failure's status and message, the bad
 * indices (up to max, ascending) and their count (pack_verify.c). */
inrf_status inrf_pack_check_records(const inrf_pack *p, uint32_t *bad, size_t max,
                                    size_t *nbad);

#endif /* INRF_PACK_INTERNAL_H */
