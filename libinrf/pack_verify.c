/* pack_verify.c: the records of an open pack checked (spec/inrpack.md
 * "Records", "Verification"): checksum, padding and weights, on the pool. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "inrf/pack.h"
#include "internal.h"
#include "pack_internal.h"
#include "pool.h"

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

/* Verification threads follow the work: a thread for every
 * BYTES_PER_THREAD of the pack (about a millisecond of checksums and
 * parsing); tasks of CHUNK records. */
#define BYTES_PER_THREAD ((size_t)1 << 20)
enum { CHUNK = 64 };

/* A verification's shared state; the failures under the lock. */
typedef struct verify_job {
    const inrf_pack *p;
    inrf_pack_scratch *s;      /* [threads]: each worker's models */
    uint32_t *bad;
    size_t max, nb;
    inrf_status first;
    uint32_t first_i;
    char msg[512];
    pthread_mutex_t lock;
} verify_job;

static void verify_task(void *ctx, size_t task, int worker)
{
    verify_job *j = ctx;
    const inrf_pack *p = j->p;
    inrf_pack_scratch *s = &j->s[worker];
    uint32_t i1 = p->count - (uint32_t)task * CHUNK > CHUNK ? (uint32_t)task * CHUNK + CHUNK
                                                             : p->count;
    for (uint32_t i = (uint32_t)task * CHUNK; i < i1; i++) {
        inrf_model *m = NULL;
        inrf_status st = s->m ? inrf_pack_scratch_get(p, s, p->items[i].arch, &m)
                              : inrf_fail(INRF_E_NOMEM, "out of memory");
        if (st == INRF_OK)
            st = inrf_pack_check_record(p, i, m);
        if (st == INRF_OK)
            continue;
        pthread_mutex_lock(&j->lock);
        if (j->bad && j->nb < j->max)
            j->bad[j->nb] = i;
        j->nb++;
        if (i < j->first_i) {
            j->first_i = i;
            j->first = st;
            snprintf(j->msg, sizeof j->msg, "%s", inrf_last_error());
        }
        pthread_mutex_unlock(&j->lock);
    }
}

/* Runs check_record over all records on the library's threads; records
 * the first failure's status and message, and the bad indices. */
inrf_status inrf_pack_check_records(const inrf_pack *p, uint32_t *bad, size_t max, size_t *nbad)
{
    size_t tasks = ((size_t)p->count + CHUNK - 1) / CHUNK;
    const size_t nt = (size_t)inrf_pool_threads(0, p->size / BYTES_PER_THREAD, tasks);
    verify_job j = {.p = p, .bad = bad, .max = max, .first = INRF_OK, .first_i = UINT32_MAX};
    j.s = calloc(nt, sizeof *j.s);
    if (!j.s)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    for (size_t w = 0; w < nt; w++)
        j.s[w].m = calloc(p->archs, sizeof(inrf_model *)); /* NULL: that worker fails */
    pthread_mutex_init(&j.lock, NULL);
    inrf_parallel_for(tasks, (int)nt, verify_task, &j);
    pthread_mutex_destroy(&j.lock);
    for (size_t w = 0; w < nt; w++)
        inrf_pack_scratch_free(p, &j.s[w]);
    free(j.s);
    if (bad && j.nb > 1) /* threads finish out of order */
        qsort(bad, j.nb < max ? j.nb : max, sizeof *bad, inrf_pack_cmp_u32);
    if (nbad)
        *nbad = j.nb;
    if (j.first != INRF_OK)
        return inrf_fail(j.first, "%s", j.msg);
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
