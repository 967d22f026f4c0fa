/* read.c: parsing and strict validation of .inrf files (spec/inrf.md),
 * from memory or from a file, and a chunk walk for inspection tools. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "bytes.h"
#include "format.h"
#include "inrf/kind.h"
#include "internal.h"

void inrf_read_options_init_(inrf_read_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->max_file_bytes = INRF_DEFAULT_MAX_FILE_BYTES;
    opt->max_dim = INRF_MAX_DIM;
    opt->max_layers = INRF_MAX_SINE_LAYERS;
    opt->max_width = INRF_MAX_WIDTH;
    opt->max_params = INRF_DEFAULT_MAX_PARAMS;
}

static void type_name(uint32_t type, char name[5])
{
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(type >> (8 * i));
        name[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    name[4] = 0;
}

static int is_letter(unsigned c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* spec "File header": the magic; also inrf_read_file's look at the first
 * bytes of a pipe or device before it reads on. */
static inrf_status check_magic(const uint8_t *d, size_t size, const void *unused)
{
    (void)unused;
    if (size < INRF_MAGIC_SIZE || memcmp(d, INRF_MAGIC, INRF_MAGIC_SIZE) != 0) {
        if (size < INRF_MAGIC_SIZE && memcmp(d, INRF_MAGIC, size) == 0)
            return inrf_fail(INRF_E_TRUNCATED, "file header truncated at %zu bytes", size);
        return inrf_fail(INRF_E_NOT_INRF, "not an .inrf file (bad magic)");
    }
    return INRF_OK;
}

/* spec "File header": magic, header check, version, flags, length, in
 * the order of spec "Error handling"; max_bytes is the reader limit. */
static inrf_status check_header(const uint8_t *d, size_t size, size_t max_bytes, uint32_t *length)
{
    inrf_status st = check_magic(d, size, NULL);
    if (st != INRF_OK)
        return st;
    if (size < INRF_FILE_HEADER_SIZE)
        return inrf_fail(INRF_E_TRUNCATED, "file header truncated at %zu bytes", size);
    if ((uint32_t)XXH3_64bits(d, 16) != inrf_ld32(d + 16))
        return inrf_fail(INRF_E_CHECKSUM, "file header: checksum mismatch");
    if (d[8] != INRF_FORMAT_MAJOR)
        return inrf_fail(INRF_E_VERSION, "format version %u.%u: only major version %u is known",
                         d[8], d[9], INRF_FORMAT_MAJOR);
    *length = inrf_ld32(d + 12); /* verified: the chunk walk may use it from here */
    if (inrf_ld16(d + 10) != 0)
        return inrf_fail(INRF_E_FORMAT, "file header: reserved flags 0x%04x set", inrf_ld16(d + 10));
    if (*length < INRF_FILE_HEADER_SIZE || *length > INRF_MAX_FILE_BYTES)
        return inrf_fail(INRF_E_FORMAT, "file header: length %u outside %u..%u", *length,
                         INRF_FILE_HEADER_SIZE, INRF_MAX_FILE_BYTES);
    if (*length > max_bytes)
        return inrf_fail(INRF_E_LIMIT, "file header: length %u over the limit %zu (max_file_bytes)",
                         *length, max_bytes);
    if (size < *length)
        return inrf_fail(INRF_E_TRUNCATED, "file truncated: %zu of %u bytes (file header: length)",
                         size, *length);
    if (size > *length)
        return inrf_fail(INRF_E_FORMAT, "file header: length %u, but %zu more bytes follow",
                         *length, size - *length);
    return INRF_OK;
}

/* One chunk's framing (spec "Chunks"). On success *next is the offset of
 * the following chunk. The checksum is checked before anything in the
 * chunk is trusted. */
typedef struct chunk {
    uint32_t type, flags, length;
    size_t offset;
    const uint8_t *payload;
} chunk;

static inrf_status frame_chunk(const uint8_t *d, size_t end, size_t pos, chunk *c)
{
    char name[5];
    if (end - pos < INRF_CHUNK_HEADER_SIZE)
        return inrf_fail(INRF_E_FORMAT, "chunk at offset %zu: header runs past the end", pos);
    c->offset = pos;
    c->type = inrf_ld32(d + pos);
    c->flags = inrf_ld32(d + pos + 4);
    c->length = inrf_ld32(d + pos + 8);
    c->payload = d + pos + INRF_CHUNK_HEADER_SIZE;
    type_name(c->type, name);
    if ((uint64_t)c->length + INRF_CHUNK_OVERHEAD > end - pos)
        return inrf_fail(INRF_E_FORMAT, "chunk %s at offset %zu: length %u runs past the end", name,
                         pos, c->length);
    uint64_t want = inrf_ld64(c->payload + c->length);
    if (XXH3_64bits(d + pos, INRF_CHUNK_HEADER_SIZE + (size_t)c->length) != want)
        return inrf_fail(INRF_E_CHECKSUM, "chunk %s at offset %zu: checksum mismatch", name, pos);
    for (int i = 0; i < 4; i++)
        if (!is_letter((c->type >> (8 * i)) & 0xff))
            return inrf_fail(INRF_E_FORMAT, "chunk at offset %zu: type is not four letters", pos);
    if (c->flags & INRF_CHUNK_FLAGS_RESERVED)
        return inrf_fail(INRF_E_FORMAT, "chunk %s: reserved flags 0x%x set", name,
                         c->flags & INRF_CHUNK_FLAGS_RESERVED);
    return INRF_OK;
}

static int is_critical(uint32_t type) { return (type & 0xff) >= 'A' && (type & 0xff) <= 'Z'; }

inrf_status inrf_scan_memory(const void *data, size_t size, inrf_chunk_info *info, size_t max,
                             size_t *count)
{
    const uint8_t *d = data;
    uint32_t length = 0;
    size_t n = 0;
    if (count)
        *count = 0;
    if (!data)
        return inrf_fail(INRF_E_INVALID_ARG, "data is NULL");
    inrf_status first = check_header(d, size, SIZE_MAX, &length);
    if (first != INRF_OK && first != INRF_E_TRUNCATED && first != INRF_E_FORMAT)
        return first;
    size_t end = size < length ? size : length;
    if (first != INRF_OK && size < INRF_FILE_HEADER_SIZE)
        return first;
    char keep[512];
    memcpy(keep, inrf_last_error(), sizeof keep);
    for (size_t pos = INRF_FILE_HEADER_SIZE; pos < end;) {
        chunk c = {0};
        inrf_status st = frame_chunk(d, end, pos, &c);
        if (st == INRF_E_FORMAT && end - pos >= INRF_CHUNK_HEADER_SIZE) {
            /* Header readable but the payload runs past the data: report
             * it unchecked, then stop. */
            c.type = inrf_ld32(d + pos), c.flags = inrf_ld32(d + pos + 4);
            c.length = inrf_ld32(d + pos + 8);
        }
        if (st == INRF_OK || st == INRF_E_CHECKSUM ||
            (st == INRF_E_FORMAT && end - pos >= INRF_CHUNK_HEADER_SIZE)) {
            if (info && n < max) {
                inrf_chunk_info *ci = &info[n];
                memset(ci, 0, sizeof *ci);
                type_name(c.type, ci->type);
                ci->flags = c.flags;
                ci->offset = pos;
                ci->stored_bytes = c.length;
                ci->raw_bytes = (c.flags & INRF_CHUNK_FLAG_ZSTD) && c.length >= INRF_ZSTD_PREFIX &&
                                        st != INRF_E_FORMAT
                                    ? inrf_ld32(c.payload)
                                    : c.length;
                ci->checksum_ok = st == INRF_OK ? 1 : st == INRF_E_CHECKSUM ? 0 : -1;
            }
            n++;
        }
        if (first == INRF_OK && st != INRF_OK) {
            first = st;
            memcpy(keep, inrf_last_error(), sizeof keep);
        }
        if (st != INRF_OK && st != INRF_E_CHECKSUM)
            break;
        pos += INRF_CHUNK_OVERHEAD + (size_t)c.length;
    }
    if (count)
        *count = n;
    if (first != INRF_OK)
        inrf_fail(first, "%s", keep);
    return first;
}

/* ------------------------------------------------------------------ parse */

typedef struct parser {
    const inrf_read_options *opt;
    inrf_arch arch;
    int have_ihdr, have_nhdr, have_wght, have_qual;
    float psnr;
    uint32_t compress_mask;
    inrf_model *model;
} parser;

static inrf_status parse_ihdr(parser *p, const uint8_t *d, size_t n)
{
    if (n != INRF_IHDR_SIZE)
        return inrf_fail(INRF_E_FORMAT, "IHDR: %zu bytes, expected %d", n, INRF_IHDR_SIZE);
    p->arch.width = inrf_ld32(d);
    p->arch.height = inrf_ld32(d + 4);
    p->arch.channels = d[8];
    if (p->arch.width < 1 || p->arch.width > INRF_MAX_DIM || p->arch.height < 1 ||
        p->arch.height > INRF_MAX_DIM)
        return inrf_fail(INRF_E_FORMAT, "IHDR: size %ux%u outside 1..%u", p->arch.width,
                         p->arch.height, INRF_MAX_DIM);
    if (p->arch.width > p->opt->max_dim || p->arch.height > p->opt->max_dim)
        return inrf_fail(INRF_E_LIMIT, "IHDR: size %ux%u over the limit %u", p->arch.width,
                         p->arch.height, p->opt->max_dim);
    if (d[8] != 1 && d[8] != 3)
        return inrf_fail(INRF_E_FORMAT, "IHDR: %u channels, must be 1 or 3", d[8]);
    p->arch.colour_space = d[9];
    if (d[9] != INRF_COLOUR_SRGB)
        return inrf_fail(INRF_E_UNSUPPORTED, "IHDR: colour space %u unknown", d[9]);
    if (inrf_ld16(d + 10) != 0)
        return inrf_fail(INRF_E_FORMAT, "IHDR: reserved field 0x%04x, must be 0", inrf_ld16(d + 10));
    p->have_ihdr = 1;
    return INRF_OK;
}

/* spec "NHDR": the kind (byte 0), whose own code parses the rest into a
 * (width, height and channels already set), against the spec and opt. */
inrf_status inrf_nhdr_parse(inrf_arch *a, const uint8_t *d, size_t n, const inrf_read_options *opt)
{
    if (n < 1)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %zu bytes, too short", n);
    const inrf_kind_ops *k = inrf_kind_find(d[0]);
    if (!k)
        return inrf_fail(INRF_E_UNSUPPORTED, "NHDR: network kind %u unknown", d[0]);
    a->kind = d[0];
    return k->nhdr_parse(a, d, n, opt);
}

static inrf_status parse_nhdr(parser *p, const uint8_t *d, size_t n)
{
    inrf_status st = inrf_nhdr_parse(&p->arch, d, n, p->opt);
    if (st != INRF_OK)
        return st;
    st = inrf_model_create(&p->arch, &p->model);
    if (st != INRF_OK)
        return st;
    p->have_nhdr = 1;
    return INRF_OK;
}

/* spec "WGHT", through the model's kind. Also the parser of .inrpack
 * records (the same bytes). */
inrf_status inrf_weights_parse(inrf_model *m, const uint8_t *d, size_t n)
{
    const inrf_kind_ops *k;
    inrf_status st = inrf_kind_of(&m->arch, &k);
    return st == INRF_OK ? k->weights_parse(m, d, n) : st;
}

static inrf_status parse_wght(parser *p, const uint8_t *d, size_t n)
{
    inrf_status st = inrf_weights_parse(p->model, d, n);
    if (st == INRF_OK)
        p->have_wght = 1;
    return st;
}

/* Decompresses a zstd payload (spec "Compressed payloads") into *raw. */
static inrf_status inflate(const chunk *c, size_t max_raw, uint8_t **raw, size_t *raw_size)
{
    char name[5];
    type_name(c->type, name);
    if (c->length < INRF_ZSTD_PREFIX)
        return inrf_fail(INRF_E_FORMAT, "chunk %s: compressed payload too short", name);
    size_t want = inrf_ld32(c->payload);
    const uint8_t *src = c->payload + INRF_ZSTD_PREFIX;
    size_t srcn = c->length - INRF_ZSTD_PREFIX;
    if (want > max_raw)
        return inrf_fail(INRF_E_FORMAT, "chunk %s: raw length %zu over the bound %zu", name, want,
                         max_raw);
    /* One Zstandard frame (not a skippable one), no dictionary, nothing
     * after it (spec "Compressed payloads"). */
    static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    size_t fs = srcn >= 4 && memcmp(src, zstd_magic, 4) == 0 ? ZSTD_findFrameCompressedSize(src, srcn)
                                                             : 0;
    if (fs == 0 || ZSTD_isError(fs) || fs != srcn || ZSTD_getDictID_fromFrame(src, srcn) != 0)
        return inrf_fail(INRF_E_FORMAT, "chunk %s: payload is not exactly one zstd frame", name);
    unsigned long long content = ZSTD_getFrameContentSize(src, srcn);
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != ZSTD_CONTENTSIZE_ERROR && content != want)
        return inrf_fail(INRF_E_FORMAT, "%s: zstd frame holds %llu bytes, the chunk declares %zu "
                         "(raw_length)", name, content, want);
    /* One byte of room beyond the declared size tells "more" from "error". */
    *raw = malloc(want + 1);
    if (!*raw)
        return inrf_fail(INRF_E_NOMEM, "chunk %s: cannot allocate %zu bytes", name, want);
    size_t got = ZSTD_decompress(*raw, want + 1, src, srcn);
    inrf_status st = INRF_OK;
    if (ZSTD_isError(got) && ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall)
        st = inrf_fail(INRF_E_FORMAT, "%s: zstd frame holds more than %zu bytes, the chunk "
                       "declares %zu (raw_length)", name, want, want);
    else if (ZSTD_isError(got))
        st = inrf_fail(INRF_E_COMPRESS, "%s: zstd frame: %s", name, ZSTD_getErrorName(got));
    else if (got != want)
        st = inrf_fail(INRF_E_FORMAT, "%s: zstd frame holds %zu bytes, the chunk declares %zu "
                       "(raw_length)", name, got, want);
    if (st != INRF_OK) {
        free(*raw);
        *raw = NULL;
        return st;
    }
    *raw_size = want;
    return INRF_OK;
}

static inrf_status parse_chunk(parser *p, const chunk *c)
{
    char name[5];
    type_name(c->type, name);
    if (!p->have_ihdr && c->type != INRF_CHUNK_IHDR)
        return inrf_fail(INRF_E_FORMAT, "first chunk is %s, not IHDR", name);
    if ((c->type == INRF_CHUNK_IHDR && p->have_ihdr) || (c->type == INRF_CHUNK_NHDR && p->have_nhdr) ||
        (c->type == INRF_CHUNK_WGHT && p->have_wght) || (c->type == INRF_CHUNK_QUAL && p->have_qual))
        return inrf_fail(INRF_E_FORMAT, "second %s chunk at offset %zu (spec: at most one)", name,
                         c->offset);
    if (c->type == INRF_CHUNK_WGHT && !p->have_nhdr)
        return inrf_fail(INRF_E_FORMAT, "WGHT before NHDR");
    int known = c->type == INRF_CHUNK_IHDR || c->type == INRF_CHUNK_NHDR ||
                c->type == INRF_CHUNK_WGHT || c->type == INRF_CHUNK_QUAL;
    if (!known) {
        if (is_critical(c->type))
            return inrf_fail(INRF_E_UNSUPPORTED, "unknown critical chunk %s", name);
        return INRF_OK; /* unknown ancillary: skipped (its checksum was good) */
    }
    const uint8_t *d = c->payload;
    size_t n = c->length;
    uint8_t *raw = NULL;
    if (c->flags & INRF_CHUNK_FLAG_ZSTD) {
        size_t bound = c->type == INRF_CHUNK_WGHT
                           ? inrf_kind_find(p->arch.kind)->weights_max(&p->arch)
                       : c->type == INRF_CHUNK_IHDR ? INRF_IHDR_SIZE
                       : c->type == INRF_CHUNK_NHDR ? INRF_NHDR_MAX
                                                    : INRF_QUAL_SIZE;
        inrf_status st = inflate(c, bound, &raw, &n);
        if (st != INRF_OK)
            return st;
        d = raw;
        if (c->type == INRF_CHUNK_WGHT)
            p->compress_mask |= 1;
    }
    inrf_status st = INRF_OK;
    if (c->type == INRF_CHUNK_IHDR) {
        st = parse_ihdr(p, d, n);
    } else if (c->type == INRF_CHUNK_NHDR) {
        st = parse_nhdr(p, d, n);
    } else if (c->type == INRF_CHUNK_WGHT) {
        st = parse_wght(p, d, n);
    } else if (n != INRF_QUAL_SIZE) {
        st = inrf_fail(INRF_E_FORMAT, "qual: %zu bytes, expected %d", n, INRF_QUAL_SIZE);
    } else if (!isfinite(inrf_ldf32(d))) {
        st = inrf_fail(INRF_E_FORMAT, "qual: PSNR %g not finite", (double)inrf_ldf32(d));
    } else {
        p->psnr = inrf_ldf32(d);
        p->have_qual = 1;
    }
    free(raw);
    return st;
}

inrf_status inrf_read_memory(const void *data, size_t size, const inrf_read_options *opt,
                             inrf_model **out)
{
    inrf_read_options def;
    if (!out || (!data && size))
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (!opt) {
        inrf_read_options_init(&def);
        opt = &def;
    } else if (inrf_check_abi(opt->abi, opt->reserved_, INRF_RESERVED_COUNT(opt), "read options",
                              "inrf_read_options_init") != INRF_OK) {
        return INRF_E_INVALID_ARG;
    }
    const uint8_t *d = data ? data : (const uint8_t *)"";
    uint32_t length = 0;
    inrf_status st = check_header(d, size, opt->max_file_bytes, &length);
    if (st != INRF_OK)
        return st;
    parser p;
    memset(&p, 0, sizeof p);
    p.opt = opt;
    p.psnr = NAN;
    for (size_t pos = INRF_FILE_HEADER_SIZE; pos < length && st == INRF_OK;) {
        chunk c = {0};
        st = frame_chunk(d, length, pos, &c);
        if (st == INRF_OK)
            st = parse_chunk(&p, &c);
        pos += INRF_CHUNK_OVERHEAD + (size_t)c.length;
    }
    if (st == INRF_OK && !(p.have_ihdr && p.have_nhdr && p.have_wght))
        st = inrf_fail(INRF_E_FORMAT, "missing %s chunk",
                       !p.have_ihdr ? "IHDR" : !p.have_nhdr ? "NHDR" : "WGHT");
    if (st != INRF_OK) {
        inrf_model_free(p.model);
        return st;
    }
    p.model->psnr = p.psnr;
    p.model->format_major = d[8];
    p.model->format_minor = d[9];
    p.model->compress_mask = p.compress_mask;
    *out = p.model;
    return INRF_OK;
}

inrf_status inrf_read_file(const char *path, const inrf_read_options *opt, inrf_model **out)
{
    inrf_read_options def;
    if (!path || !out)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (!opt) {
        inrf_read_options_init(&def);
        opt = &def;
    } else if (inrf_check_abi(opt->abi, opt->reserved_, INRF_RESERVED_COUNT(opt), "read options",
                              "inrf_read_options_init") != INRF_OK) {
        return INRF_E_INVALID_ARG; /* before its max_file_bytes is used */
    }
    inrf_blob blob;
    const inrf_magic_check magic = {INRF_MAGIC_SIZE, check_magic, NULL};
    inrf_status st = inrf_blob_open_checked(path, opt->max_file_bytes, &magic, &blob);
    if (st != INRF_OK)
        return st; /* its messages name the path */
    st = inrf_read_memory(blob.data, blob.size, opt, out);
    inrf_blob_close(&blob);
    if (st != INRF_OK)
        inrf_fail(st, "%s: %s", path, inrf_last_error());
    return st;
}
