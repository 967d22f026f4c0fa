/* pack_verify.c: the records of an open pack checked (spec/inrpack.md
 * "Records", "Verification"): checksum, padding and weights, on all threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <xxhash.h>

#include "inrf/pack.h"
#include "internal.h"
#include "pack_internal.h"

/* A model of architecture a, for parsing records into (weights only). */
static inrf_status scratch_model(const inrf_pack *p, uint32_t a, inrf_model **m)
{
    inrf_arch ar = p->arch[a];
    ar.width = ar.height = 1;
    return inrf_model_create(&ar, m);
}

/* spec "Records": checksum, zero padding, structure. m: a model of the
 * record's architecture. */
inrf_status inrf_pack_check_record(const inrf_pack *p, uint32_t i, inrf_model *m)
{
    const inrf_pack_item *it = &p->items[i];
    size_t end = (size_t)it->offset + it->size;
    if (XXH3_64bits(it->record, it->size) != it->checksum)
        return inrf_fail(INRF_E_CHECKSUM, "record %u (class %s, offset %llu): checksum mismatch",
                         i, p->names[it->label], (unsigned long long)it->offset);
    if (!inrf_all_zero(p->d + end, inrf_align64(end) - end))
        return inrf_fail(INRF_E_FORMAT, "record %u (class %s, offset %llu): padding not zero", i,
                         p->names[it->label], (unsigned long long)it->offset);
    inrf_status st = inrf_weights_parse(m, it->record, it->size);
    if (st != INRF_OK)
        return inrf_fail(st, "record %u (class %s, offset %llu): %s", i, p->names[it->label],
                         (unsigned long long)it->offset, inrf_last_error());
    return INRF_OK;
}

inrf_status inrf_pack_scratch_get(const inrf_pack *p, inrf_pack_scratch *s, uint32_t a,
                                  inrf_model **m)
{
    if (!s->m[a]) {
        inrf_status st = scratch_model(p, a, &s->m[a]);
        if (st != INRF_OK)
            return st;
    }
    *m = s->m[a];
    return INRF_OK;
}

void inrf_pack_scratch_free(const inrf_pack *p, inrf_pack_scratch *s)
{
    for (uint32_t a = 0; s->m && a < p->archs; a++)
        inrf_model_free(s->m[a]);
    free(s->m);
}

/* Runs check_record over all records on all threads; records the first
 * failure's status and message, and the bad indices. */
inrf_status inrf_pack_check_records(const inrf_pack *p, uint32_t *bad, size_t max, size_t *nbad)
{
    inrf_status first = INRF_OK;
    uint32_t first_i = UINT32_MAX;
    char msg[512] = "";
    size_t nb = 0;
#pragma omp parallel
    {
        inrf_pack_scratch s = {calloc(p->archs, sizeof(inrf_model *))};
#pragma omp for schedule(dynamic, 64)
        for (int64_t i = 0; i < (int64_t)p->count; i++) {
            inrf_model *m = NULL;
            inrf_status st = s.m ? inrf_pack_scratch_get(p, &s, p->items[i].arch, &m)
                                 : inrf_fail(INRF_E_NOMEM, "out of memory");
            if (st == INRF_OK)
                st = inrf_pack_check_record(p, (uint32_t)i, m);
            if (st != INRF_OK) {
#pragma omp critical(inrf_pack_bad)
                {
                    if (bad && nb < max)
                        bad[nb] = (uint32_t)i;
                    nb++;
                    if ((uint32_t)i < first_i) {
                        first_i = (uint32_t)i;
                        first = st;
                        snprintf(msg, sizeof msg, "%s", inrf_last_error());
                    }
                }
            }
        }
        inrf_pack_scratch_free(p, &s);
    }
    if (bad && nb > 1) /* threads finish out of order */
        qsort(bad, nb < max ? nb : max, sizeof *bad, inrf_pack_cmp_u32);
    if (nbad)
        *nbad = nb;
    if (first != INRF_OK)
        return inrf_fail(first, "%s", msg);
    return INRF_OK;
}

inrf_status inrf_pack_verify(const inrf_pack *p, uint32_t *bad, size_t max, size_t *nbad)
{
    if (nbad)
        *nbad = 0;
    if (!p)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    inrf_status st = inrf_pack_check_records(p, bad, max, nbad);
    if (st == INRF_OK)
        ((inrf_pack *)p)->verified = 1; /* a cache of a fact about immutable bytes */
    return st;
}
