/* pack_write.c: building .inrpack files (spec/inrpack.md) in memory from
 * models or records, ordered by seq, written atomically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bytes.h"
#include "format.h"
#include "inrf/pack.h"
#include "internal.h"
#include "pack_internal.h"

typedef struct entry {
    uint8_t *record;
    uint32_t size, label, width, height, seq;
    float psnr;
    uint16_t arch;
} entry;

struct inrf_pack_writer {
    uint32_t classes;
    char **names;
    unsigned channels;           /* 0 until the first image */
    uint32_t archs;
    uint8_t arch_bytes[INRP_MAX_ARCHS][INRP_ARCH_SIZE];
    inrf_model *check[INRP_MAX_ARCHS]; /* a model per architecture, to check records */
    entry *e;
    size_t n, cap;
};

inrf_status inrf_pack_writer_create(const char *const *names, uint32_t classes,
                                    inrf_pack_writer **out)
{
    if (!out || (!names && classes))
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (classes < 1 || classes > INRP_MAX_CLASSES)
        return inrf_fail(INRF_E_INVALID_ARG, "%u classes outside 1..%u", classes,
                         INRP_MAX_CLASSES);
    for (uint32_t c = 0; c < classes; c++)
        if (!names[c] || !inrf_pack_name_ok((const uint8_t *)names[c], strlen(names[c])))
            return inrf_fail(INRF_E_INVALID_ARG, "class %u: name \"%s\" not allowed (1..255 "
                             "bytes, no '/', '\\\\' or control character, not . or ..)",
                             c, names[c] ? names[c] : "");
    inrf_pack_writer *w = calloc(1, sizeof *w);
    if (!w)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    w->classes = classes;
    w->names = calloc(classes, sizeof *w->names);
    for (uint32_t c = 0; w->names && c < classes; c++)
        if (!(w->names[c] = strdup(names[c]))) {
            inrf_pack_writer_free(w);
            return inrf_fail(INRF_E_NOMEM, "out of memory");
        }
    if (!w->names) {
        inrf_pack_writer_free(w);
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    }
    char **sorted = malloc(classes * sizeof *sorted);
    if (!sorted) {
        inrf_pack_writer_free(w);
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    }
    memcpy(sorted, w->names, classes * sizeof *sorted);
    qsort(sorted, classes, sizeof *sorted, inrf_pack_cmp_names);
    for (uint32_t c = 1; c < classes; c++)
        if (strcmp(sorted[c - 1], sorted[c]) == 0) {
            inrf_status st = inrf_fail(INRF_E_INVALID_ARG, "class name \"%s\" twice", sorted[c]);
            free(sorted);
            inrf_pack_writer_free(w);
            return st;
        }
    free(sorted);
    *out = w;
    return INRF_OK;
}

void inrf_pack_writer_free(inrf_pack_writer *w)
{
    if (!w)
        return;
    for (uint32_t c = 0; w->names && c < w->classes; c++)
        free(w->names[c]);
    free(w->names);
    for (uint32_t a = 0; a < w->archs; a++)
        inrf_model_free(w->check[a]);
    for (size_t i = 0; i < w->n; i++)
        free(w->e[i].record);
    free(w->e);
    free(w);
}

uint32_t inrf_pack_writer_count(const inrf_pack_writer *w) { return w ? (uint32_t)w->n : 0; }

inrf_status inrf_pack_writer_set_channels(inrf_pack_writer *w, unsigned channels)
{
    if (!w)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    if (channels != 1 && channels != 3)
        return inrf_fail(INRF_E_INVALID_ARG, "%u channels (must be 1 or 3)", channels);
    if (w->n || (w->channels && w->channels != channels))
        return inrf_fail(INRF_E_INVALID_ARG, "channels set after the first image");
    w->channels = channels;
    return INRF_OK;
}

/* The architecture table entry of arch; its index, added when new. */
static inrf_status find_arch(inrf_pack_writer *w, const inrf_arch *arch, uint16_t *index)
{
    uint8_t b[INRP_ARCH_SIZE] = {0};
    b[0] = arch->channels;
    inrf_nhdr_put(arch, b + 4);
    if (w->channels && arch->channels != w->channels)
        return inrf_fail(INRF_E_INVALID_ARG, "image with %u channels in a pack of %u",
                         arch->channels, w->channels);
    for (uint32_t a = 0; a < w->archs; a++)
        if (memcmp(w->arch_bytes[a], b, sizeof b) == 0) {
            *index = (uint16_t)a;
            return INRF_OK;
        }
    if (w->archs == INRP_MAX_ARCHS)
        return inrf_fail(INRF_E_LIMIT, "more than %u architectures in one pack", INRP_MAX_ARCHS);
    inrf_arch ar = *arch;
    ar.width = ar.height = 1;
    inrf_status st = inrf_model_create(&ar, &w->check[w->archs]);
    if (st != INRF_OK)
        return st;
    memcpy(w->arch_bytes[w->archs], b, sizeof b);
    w->channels = arch->channels;
    *index = (uint16_t)w->archs++;
    return INRF_OK;
}

/* Takes ownership of record (malloc'd) on success. */
static inrf_status add(inrf_pack_writer *w, const inrf_arch *arch, uint8_t *record, size_t size,
                       uint32_t label, uint32_t seq, float psnr)
{
    if (label >= w->classes)
        return inrf_fail(INRF_E_INVALID_ARG, "label %u of %u classes", label, w->classes);
    if (w->n == INRP_MAX_COUNT)
        return inrf_fail(INRF_E_LIMIT, "more than %u images in one pack", INRP_MAX_COUNT);
    if (size < 1 || size > INRP_MAX_RECORD)
        return inrf_fail(INRF_E_LIMIT, "record of %zu bytes", size);
    inrf_status st = inrf_arch_check_writable(arch);
    if (st != INRF_OK)
        return st;
    uint16_t a;
    if ((st = find_arch(w, arch, &a)) != INRF_OK)
        return st;
    if ((st = inrf_weights_parse(w->check[a], record, size)) != INRF_OK)
        return st;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        entry *e = realloc(w->e, cap * sizeof *e);
        if (!e)
            return inrf_fail(INRF_E_NOMEM, "out of memory");
        w->e = e;
        w->cap = cap;
    }
    w->e[w->n++] = (entry){record, (uint32_t)size, label, arch->width, arch->height, seq,
                           isfinite(psnr) ? psnr : NAN, a};
    return INRF_OK;
}

inrf_status inrf_pack_writer_add_model(inrf_pack_writer *w, const inrf_model *m, uint32_t label,
                                       uint32_t seq)
{
    if (!w || !m)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    void *rec;
    size_t size;
    inrf_status st = inrf_model_record(m, &rec, &size);
    if (st != INRF_OK)
        return st;
    if ((st = add(w, &m->arch, rec, size, label, seq, m->psnr)) != INRF_OK)
        free(rec);
    return st;
}

inrf_status inrf_pack_writer_add_record(inrf_pack_writer *w, const inrf_arch *arch,
                                        const void *record, size_t size, uint32_t label,
                                        uint32_t seq, float psnr)
{
    if (!w || !arch || !record)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    memcpy(copy, record, size);
    inrf_status st = add(w, arch, copy, size, label, seq, psnr);
    if (st != INRF_OK)
        free(copy);
    return st;
}

static int cmp_seq(const void *a, const void *b)
{
    return inrf_pack_cmp_u32(&((const entry *)a)->seq, &((const entry *)b)->seq);
}

inrf_status inrf_pack_writer_finish_memory(inrf_pack_writer *w, void **data, size_t *size)
{
    if (!w || !data || !size)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *data = NULL;
    *size = 0;
    if (w->archs == 0) { /* an empty pack still names an architecture */
        inrf_arch ar;
        inrf_arch_siren(&ar, 1, 1, (uint8_t)(w->channels ? w->channels : 3), 3, 15);
        uint16_t a;
        inrf_status st = find_arch(w, &ar, &a);
        if (st != INRF_OK)
            return st;
    }
    if (w->n > 1)
        qsort(w->e, w->n, sizeof *w->e, cmp_seq);
    for (size_t i = 1; i < w->n; i++)
        if (w->e[i].seq == w->e[i - 1].seq)
            return inrf_fail(INRF_E_INVALID_ARG, "two images with seq %u", w->e[i].seq);
    /* architectures numbered in order of first use (spec "Architecture
     * table"), so that the bytes do not depend on the order of adding; one
     * added for a record that was then refused is left out */
    uint8_t order[INRP_MAX_ARCHS], used[INRP_MAX_ARCHS] = {0}, first[INRP_MAX_ARCHS];
    uint32_t na = 0;
    for (size_t i = 0; i < w->n; i++)
        if (!used[w->e[i].arch]) {
            used[w->e[i].arch] = 1;
            order[w->e[i].arch] = (uint8_t)na;
            first[na++] = (uint8_t)w->e[i].arch;
        }
    if (na == 0)
        first[na++] = 0;
    uint64_t pos = INRP_HEADER_SIZE + (uint64_t)INRP_ARCH_SIZE * na;
    for (uint32_t c = 0; c < w->classes; c++)
        pos += 1 + strlen(w->names[c]);
    const uint64_t index_off = inrf_align64(pos);
    const uint64_t records_off = inrf_align64(index_off + (uint64_t)INRP_ENTRY_SIZE * w->n);
    uint64_t total = records_off;
    for (size_t i = 0; i < w->n; i++)
        total = inrf_align64(total + w->e[i].size);
    if (total > SIZE_MAX)
        return inrf_fail(INRF_E_LIMIT, "pack of %llu bytes", (unsigned long long)total);
    uint8_t *d = calloc(1, (size_t)total);
    if (!d)
        return inrf_fail(INRF_E_NOMEM, "cannot allocate %llu bytes", (unsigned long long)total);
    for (uint32_t a = 0; a < na; a++)
        memcpy(d + INRP_HEADER_SIZE + (size_t)INRP_ARCH_SIZE * a, w->arch_bytes[first[a]],
               INRP_ARCH_SIZE);
    uint8_t *p = d + INRP_HEADER_SIZE + (size_t)INRP_ARCH_SIZE * na;
    for (uint32_t c = 0; c < w->classes; c++) {
        size_t n = strlen(w->names[c]);
        *p++ = (uint8_t)n;
        memcpy(p, w->names[c], n);
        p += n;
    }
    uint64_t off = records_off;
    for (size_t i = 0; i < w->n; i++) {
        const entry *e = &w->e[i];
        uint8_t *x = d + index_off + INRP_ENTRY_SIZE * i;
        memcpy(d + off, e->record, e->size);
        inrf_st64(x, off);
        inrf_st64(x + 8, XXH3_64bits(e->record, e->size));
        inrf_st32(x + 16, e->size);
        inrf_st32(x + 20, e->label);
        inrf_st32(x + 24, e->width);
        inrf_st32(x + 28, e->height);
        inrf_stf32(x + 32, e->psnr);
        inrf_st32(x + 36, e->seq);
        inrf_st16(x + 40, order[e->arch]);
        off = inrf_align64(off + e->size);
    }
    memcpy(d, INRP_MAGIC, 8);
    d[8] = INRP_FORMAT_MAJOR;
    d[9] = INRP_FORMAT_MINOR;
    inrf_st32(d + 12, (uint32_t)w->n);
    inrf_st16(d + 16, (uint16_t)na);
    inrf_st32(d + 20, w->classes);
    inrf_st64(d + 24, total);
    inrf_st64(d + 32, index_off);
    inrf_st64(d + 40, records_off);
    inrf_st64(d + 48, XXH3_64bits(d + INRP_HEADER_SIZE, records_off - INRP_HEADER_SIZE));
    inrf_st64(d + 56, XXH3_64bits(d, 56));
    *data = d;
    *size = (size_t)total;
    return INRF_OK;
}

inrf_status inrf_pack_writer_finish(inrf_pack_writer *w, const char *path)
{
    if (!path)
        return inrf_fail(INRF_E_INVALID_ARG, "path is NULL");
    void *data;
    size_t size;
    inrf_status st = inrf_pack_writer_finish_memory(w, &data, &size);
    if (st != INRF_OK)
        return st;
    st = inrf_file_write_atomic(path, data, size);
    free(data);
    return st;
}
