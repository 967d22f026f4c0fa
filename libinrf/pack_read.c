/* pack_read.c: opening and parsing of .inrpack files (spec/inrpack.md): the
 * header, architecture and class tables and the index; views of the records. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bytes.h"
#include "format.h"
#include "inrf/kind.h"
#include "inrf/pack.h"
#include "internal.h"
#include "pack_internal.h"

void inrf_pack_options_init_(inrf_pack_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->verify_records = 1;
    opt->max_file_bytes = (uint64_t)1 << 40;
    inrf_read_options_init_(&opt->limits, abi);
}

/* The options to use: opt, its ABI and reserved fields (and those of its
 * limits) checked, or the defaults in *def when opt is NULL. */
static inrf_status pack_options(const inrf_pack_options **opt, inrf_pack_options *def)
{
    const inrf_pack_options *o = *opt;
    if (!o) {
        inrf_pack_options_init(def);
        *opt = def;
        return INRF_OK;
    }
    inrf_status st = inrf_check_abi(o->abi, o->reserved_, INRF_RESERVED_COUNT(o),
                                    "pack options", "inrf_pack_options_init");
    if (st == INRF_OK)
        st = inrf_check_abi(o->limits.abi, o->limits.reserved_,
                            INRF_RESERVED_COUNT(&o->limits), "pack options' limits",
                            "inrf_pack_options_init");
    return st;
}

/* Next code point of valid UTF-8 (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF); -1 when invalid. */
static int32_t utf8_next(const uint8_t *s, size_t n, size_t *i)
{
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    uint8_t b = s[(*i)++];
    int more = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : -1;
    if (more < 0)
        return -1;
    uint32_t c = more ? b & (0x3fu >> more) : b;
    for (int k = 0; k < more; k++) {
        if (*i >= n || (s[*i] & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (s[(*i)++] & 0x3fu);
    }
    if (c < min[more] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    return (int32_t)c;
}

/* Why a class name breaks spec "Class table", or NULL if it does not. */
static const char *name_problem(const uint8_t *s, size_t n)
{
    if (n < 1 || n > INRF_PACK_MAX_CLASS_NAME)
        return "is empty or over 255 bytes";
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return "is \".\" or \"..\"";
    for (size_t i = 0; i < n;) {
        int32_t c = utf8_next(s, n, &i);
        if (c < 0)
            return "is not valid UTF-8";
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
            return "holds a control character";
        if (c == '/' || c == '\\')
            return "holds '/' or '\\'";
    }
    return NULL;
}

int inrf_pack_name_ok(const uint8_t *s, size_t n) { return name_problem(s, n) == NULL; }

/* spec "Header": the magic; also inrf_pack_open's look at the first bytes
 * of a pipe or device before it reads on. */
static inrf_status check_magic(const uint8_t *d, size_t size, const void *unused)
{
    (void)unused;
    if (size < 8 || memcmp(d, INRP_MAGIC, 8) != 0) {
        if (size < 8 && memcmp(d, INRP_MAGIC, size) == 0)
            return inrf_fail(INRF_E_TRUNCATED, "header truncated at %zu bytes", size);
        return inrf_fail(INRF_E_NOT_INRF, "not an .inrpack file (bad magic)");
    }
    return INRF_OK;
}

/* spec "Header"; max_bytes is the reader limit on the length. */
static inrf_status parse_header(inrf_pack *p, uint64_t max_bytes, uint64_t *index_off,
                                uint64_t *records_off)
{
    const uint8_t *d = p->d;
    inrf_status st = check_magic(d, p->size, NULL);
    if (st != INRF_OK)
        return st;
    if (p->size < INRP_HEADER_SIZE)
        return inrf_fail(INRF_E_TRUNCATED, "header truncated at %zu bytes", p->size);
    if (XXH3_64bits(d, 56) != inrf_ld64(d + 56))
        return inrf_fail(INRF_E_CHECKSUM, "header: checksum mismatch");
    if (d[8] != INRP_FORMAT_MAJOR)
        return inrf_fail(INRF_E_VERSION, "pack version %u.%u: only major version %u is known",
                         d[8], d[9], INRP_FORMAT_MAJOR);
    if (inrf_ld16(d + 10))
        return inrf_fail(INRF_E_FORMAT, "header: reserved flags 0x%04x set", inrf_ld16(d + 10));
    if (inrf_ld16(d + 18))
        return inrf_fail(INRF_E_FORMAT, "header: reserved field (offset 18) 0x%04x, must be 0",
                         inrf_ld16(d + 18));
    p->count = inrf_ld32(d + 12);
    p->archs = inrf_ld16(d + 16);
    p->classes = inrf_ld32(d + 20);
    uint64_t length = inrf_ld64(d + 24);
    *index_off = inrf_ld64(d + 32);
    *records_off = inrf_ld64(d + 40);
    if (p->count > INRP_MAX_COUNT)
        return inrf_fail(INRF_E_FORMAT, "header: %u images over the limit %u", p->count,
                         INRP_MAX_COUNT);
    if (p->archs < 1 || p->archs > INRP_MAX_ARCHS)
        return inrf_fail(INRF_E_FORMAT, "header: %u architectures outside 1..%u", p->archs,
                         INRP_MAX_ARCHS);
    if (p->classes < 1 || p->classes > INRP_MAX_CLASSES)
        return inrf_fail(INRF_E_FORMAT, "header: %u classes outside 1..%u", p->classes,
                         INRP_MAX_CLASSES);
    if (length < INRP_MIN_LENGTH || length >= INRP_MAX_LENGTH)
        return inrf_fail(INRF_E_FORMAT, "header: length %llu outside %u..2^53-1",
                         (unsigned long long)length, INRP_MIN_LENGTH);
    if (length > max_bytes)
        return inrf_fail(INRF_E_LIMIT, "header: length %llu over the limit %llu (max_file_bytes)",
                         (unsigned long long)length, (unsigned long long)max_bytes);
    if (p->size < length)
        return inrf_fail(INRF_E_TRUNCATED, "file truncated: %zu of %llu bytes (header: length)",
                         p->size, (unsigned long long)length);
    if (p->size > length)
        return inrf_fail(INRF_E_FORMAT, "header: length %llu, but %llu more bytes follow",
                         (unsigned long long)length, (unsigned long long)(p->size - length));
    uint64_t min_index = INRP_HEADER_SIZE + (uint64_t)INRP_ARCH_SIZE * p->archs + 2u * p->classes;
    if (*index_off % INRP_ALIGN || *index_off < min_index || *index_off > length ||
        *records_off != inrf_align64(*index_off + (uint64_t)INRP_ENTRY_SIZE * p->count) ||
        *records_off > length)
        return inrf_fail(INRF_E_FORMAT, "header: section offsets %llu, %llu inconsistent",
                         (unsigned long long)*index_off, (unsigned long long)*records_off);
    if (XXH3_64bits(d + INRP_HEADER_SIZE, *records_off - INRP_HEADER_SIZE) != inrf_ld64(d + 48))
        return inrf_fail(INRF_E_CHECKSUM, "directory (architectures, classes, index): checksum "
                                          "mismatch");
    return INRF_OK;
}

/* spec "Architecture table". */
static inrf_status parse_archs(inrf_pack *p)
{
    p->arch = calloc(p->archs, sizeof *p->arch);
    if (!p->arch)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    for (uint32_t a = 0; a < p->archs; a++) {
        const uint8_t *e = p->d + INRP_HEADER_SIZE + (size_t)INRP_ARCH_SIZE * a;
        inrf_arch *ar = &p->arch[a];
        ar->channels = e[0];
        ar->width = ar->height = 1; /* per image; 1 for the checks */
        if (e[0] != 1 && e[0] != 3)
            return inrf_fail(INRF_E_FORMAT, "architecture %u: %u channels, must be 1 or 3", a,
                             e[0]);
        if (a > 0 && e[0] != p->channels)
            return inrf_fail(INRF_E_FORMAT, "architecture %u: %u channels, architecture 0 has %u",
                             a, e[0], p->channels);
        p->channels = e[0];
        if (e[1] || e[2] || e[3])
            return inrf_fail(INRF_E_FORMAT, "architecture %u: reserved bytes %02x %02x %02x, must "
                             "be 0", a, e[1], e[2], e[3]);
        /* the payload's size, as its kind reads it; one that cannot fit
         * (SIREN: layers > 64) is cut, and the NHDR parser says so */
        const inrf_kind_ops *k = inrf_kind_find(e[4]);
        size_t n = k ? k->nhdr_size(e + 4, INRP_ARCH_SIZE - 4) : 1;
        if (n > INRP_ARCH_SIZE - 4)
            n = INRP_ARCH_SIZE - 4;
        inrf_status st = inrf_nhdr_parse(ar, e + 4, n, &p->limits);
        if (st != INRF_OK)
            return inrf_fail(st, "architecture %u: %s", a, inrf_last_error());
        if (!inrf_all_zero(e + 4 + n, INRP_ARCH_SIZE - 4 - n))
            return inrf_fail(INRF_E_FORMAT, "architecture %u: padding not zero", a);
        ar->width = ar->height = 0;
    }
    return INRF_OK;
}

/* spec "Class table". */
static inrf_status parse_classes(inrf_pack *p, uint64_t index_off)
{
    size_t pos = INRP_HEADER_SIZE + (size_t)INRP_ARCH_SIZE * p->archs, start = pos;
    for (uint32_t c = 0; c < p->classes; c++) {
        if (pos >= index_off || pos + 1 + p->d[pos] > index_off)
            return inrf_fail(INRF_E_FORMAT, "class %u: name runs into the index", c);
        pos += 1 + (size_t)p->d[pos];
    }
    if (inrf_align64(pos) != index_off)
        return inrf_fail(INRF_E_FORMAT, "header: index_offset %llu, the class table puts it at %llu",
                         (unsigned long long)index_off, (unsigned long long)inrf_align64(pos));
    if (!inrf_all_zero(p->d + pos, index_off - pos))
        return inrf_fail(INRF_E_FORMAT, "class table: padding not zero");
    p->names = calloc(p->classes, sizeof *p->names);
    p->names_buf = malloc(pos - start + 1);
    if (!p->names || !p->names_buf)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    char *out = p->names_buf;
    pos = start;
    for (uint32_t c = 0; c < p->classes; c++) {
        size_t n = p->d[pos];
        const char *why = name_problem(p->d + pos + 1, n);
        if (why)
            return inrf_fail(INRF_E_FORMAT, "class %u: name not allowed (%s)", c, why);
        memcpy(out, p->d + pos + 1, n);
        out[n] = 0;
        p->names[c] = out;
        out += n + 1;
        pos += 1 + n;
    }
    /* unique names: sort a copy of the pointers */
    char **sorted = malloc(p->classes * sizeof *sorted);
    if (!sorted)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    memcpy(sorted, p->names, p->classes * sizeof *sorted);
    qsort(sorted, p->classes, sizeof *sorted, inrf_pack_cmp_names);
    for (uint32_t c = 1; c < p->classes; c++)
        if (strcmp(sorted[c - 1], sorted[c]) == 0) {
            inrf_status st = inrf_fail(INRF_E_FORMAT, "class name \"%s\" twice", sorted[c]);
            free(sorted);
            return st;
        }
    free(sorted);
    return INRF_OK;
}

/* spec "Index". */
static inrf_status parse_index(inrf_pack *p, uint64_t index_off, uint64_t records_off)
{
    p->items = calloc(p->count ? p->count : 1, sizeof *p->items);
    if (!p->items)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    uint64_t next = records_off;
    for (uint32_t i = 0; i < p->count; i++) {
        const uint8_t *e = p->d + index_off + (size_t)INRP_ENTRY_SIZE * i;
        inrf_pack_item *it = &p->items[i];
        it->offset = inrf_ld64(e);
        it->checksum = inrf_ld64(e + 8);
        it->size = inrf_ld32(e + 16);
        it->label = inrf_ld32(e + 20);
        it->width = inrf_ld32(e + 24);
        it->height = inrf_ld32(e + 28);
        it->psnr = inrf_ldf32(e + 32);
        it->seq = inrf_ld32(e + 36);
        it->arch = inrf_ld16(e + 40);
        if (inrf_ld16(e + 42))
            return inrf_fail(INRF_E_FORMAT, "index entry %u: reserved flags 0x%04x set", i,
                             inrf_ld16(e + 42));
        if (inrf_ld32(e + 44))
            return inrf_fail(INRF_E_FORMAT, "index entry %u: reserved field 0x%08x, must be 0", i,
                             inrf_ld32(e + 44));
        if (isinf(it->psnr))
            return inrf_fail(INRF_E_FORMAT, "index entry %u: PSNR infinite", i);
        if (it->label >= p->classes)
            return inrf_fail(INRF_E_FORMAT, "index entry %u: label %u of %u classes", i,
                             it->label, p->classes);
        if (it->arch >= p->archs)
            return inrf_fail(INRF_E_FORMAT, "index entry %u: architecture %u of %u", i, it->arch,
                             p->archs);
        if (it->width < 1 || it->width > INRF_MAX_DIM || it->height < 1 ||
            it->height > INRF_MAX_DIM)
            return inrf_fail(INRF_E_FORMAT, "index entry %u: size %ux%u outside 1..%u", i,
                             it->width, it->height, INRF_MAX_DIM);
        if (it->size < 1 || it->size > INRP_MAX_RECORD)
            return inrf_fail(INRF_E_FORMAT, "index entry %u: record of %u bytes outside 1..%u", i,
                             it->size, INRP_MAX_RECORD);
        if (i > 0 && it->seq <= p->items[i - 1].seq)
            return inrf_fail(INRF_E_FORMAT, "index entry %u: seq %u not after %u", i, it->seq,
                             p->items[i - 1].seq);
        if (it->offset != next || it->offset + it->size > p->size)
            return inrf_fail(INRF_E_FORMAT, "index entry %u: record offset %llu, expected %llu",
                             i, (unsigned long long)it->offset, (unsigned long long)next);
        it->record = p->d + it->offset;
        next = inrf_align64(it->offset + it->size);
    }
    if (next != p->size)
        return inrf_fail(INRF_E_FORMAT, "header: length %zu, the records end at %llu", p->size,
                         (unsigned long long)next);
    /* spec "Conventions": padding MUST be 0, the index's included */
    uint64_t index_end = index_off + (uint64_t)INRP_ENTRY_SIZE * p->count;
    if (!inrf_all_zero(p->d + index_end, records_off - index_end))
        return inrf_fail(INRF_E_FORMAT, "index: padding up to records_offset not zero");
    return INRF_OK;
}

inrf_status inrf_pack_open_memory(const void *data, size_t size, const inrf_pack_options *opt,
                                  inrf_pack **out)
{
    inrf_pack_options def;
    if (!out || (!data && size))
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (pack_options(&opt, &def) != INRF_OK)
        return INRF_E_INVALID_ARG;
    /* max_file_bytes applies to the header's length (parse_header) */
    inrf_pack *p = calloc(1, sizeof *p);
    if (!p)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    p->d = data ? data : (const uint8_t *)"";
    p->size = size;
    p->limits = opt->limits;
    uint64_t index_off = 0, records_off = 0;
    inrf_status st = parse_header(p, opt->max_file_bytes, &index_off, &records_off);
    if (st == INRF_OK)
        st = parse_archs(p);
    if (st == INRF_OK)
        st = parse_classes(p, index_off);
    if (st == INRF_OK)
        st = parse_index(p, index_off, records_off);
    if (st == INRF_OK && opt->verify_records) {
        st = inrf_pack_check_records(p, NULL, 0, NULL);
        p->verified = st == INRF_OK;
    }
    if (st != INRF_OK) {
        inrf_pack_close(p);
        return st;
    }
    *out = p;
    return INRF_OK;
}

inrf_status inrf_pack_open(const char *path, const inrf_pack_options *opt, inrf_pack **out)
{
    inrf_pack_options def;
    if (!path || !out)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (pack_options(&opt, &def) != INRF_OK)
        return INRF_E_INVALID_ARG;
    inrf_blob blob;
    size_t max = opt->max_file_bytes > SIZE_MAX ? SIZE_MAX : (size_t)opt->max_file_bytes;
    const inrf_magic_check magic = {8, check_magic, NULL};
    inrf_status st = inrf_blob_open_checked(path, max, &magic, &blob);
    if (st != INRF_OK)
        return st;
    st = inrf_pack_open_memory(blob.data, blob.size, opt, out);
    if (st != INRF_OK) {
        inrf_blob_close(&blob);
        return inrf_fail(st, "%s: %s", path, inrf_last_error());
    }
    (*out)->blob = blob;
    return INRF_OK;
}

void inrf_pack_close(inrf_pack *p)
{
    if (!p)
        return;
    inrf_blob_close(&p->blob);
    free(p->arch);
    free(p->names);
    free(p->names_buf);
    free(p->items);
    free(p);
}

const void *inrf_pack_bytes(const inrf_pack *p, size_t *size)
{
    if (size)
        *size = p ? p->size : 0;
    return p ? p->d : NULL;
}

uint32_t inrf_pack_count(const inrf_pack *p) { return p ? p->count : 0; }
uint32_t inrf_pack_classes(const inrf_pack *p) { return p ? p->classes : 0; }
uint32_t inrf_pack_archs(const inrf_pack *p) { return p ? p->archs : 0; }
unsigned inrf_pack_channels(const inrf_pack *p) { return p ? p->channels : 0; }

const char *inrf_pack_class_name(const inrf_pack *p, uint32_t c)
{
    return p && c < p->classes ? p->names[c] : NULL;
}

const inrf_arch *inrf_pack_arch(const inrf_pack *p, uint32_t a)
{
    return p && a < p->archs ? &p->arch[a] : NULL;
}

const inrf_pack_item *inrf_pack_get(const inrf_pack *p, uint32_t i)
{
    return p && i < p->count ? &p->items[i] : NULL;
}

inrf_status inrf_pack_model(const inrf_pack *p, uint32_t i, inrf_model **out)
{
    if (!p || !out)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (i >= p->count)
        return inrf_fail(INRF_E_INVALID_ARG, "image %u of %u", i, p->count);
    const inrf_pack_item *it = &p->items[i];
    inrf_arch ar = p->arch[it->arch];
    ar.width = it->width;
    ar.height = it->height;
    inrf_model *m;
    inrf_status st = inrf_model_create(&ar, &m);
    if (st != INRF_OK)
        return st;
    if ((st = inrf_pack_check_record(p, i, m)) != INRF_OK) {
        inrf_model_free(m);
        return st;
    }
    m->psnr = it->psnr;
    *out = m;
    return INRF_OK;
}
