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
#include "inrf/siren_math.h"
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

/* spec "NHDR": fills the network fields of a (whose width, height and
 * channels are already set) and checks them against the spec and opt. */
inrf_status inrf_nhdr_parse(inrf_arch *a, const uint8_t *d, size_t n, const inrf_read_options *opt)
{
    if (n < INRF_NHDR_FIXED)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %zu bytes, too short", n);
    if (d[0] != INRF_KIND_SIREN)
        return inrf_fail(INRF_E_UNSUPPORTED, "NHDR: network kind %u unknown", d[0]);
    a->kind = d[0];
    a->layers = d[1];
    if (a->layers < 1 || a->layers > INRF_MAX_SINE_LAYERS)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %u sine layers outside 1..%u", a->layers,
                         INRF_MAX_SINE_LAYERS);
    if (n != INRF_NHDR_FIXED + 2u * a->layers)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %zu bytes, expected %u", n,
                         INRF_NHDR_FIXED + 2u * a->layers);
    if (a->layers > opt->max_layers)
        return inrf_fail(INRF_E_LIMIT, "NHDR: %u sine layers over the limit %u", a->layers,
                         opt->max_layers);
    if (d[2] != INRF_COORDS_CENTRES)
        return inrf_fail(INRF_E_UNSUPPORTED, "NHDR: coordinate convention %u unknown", d[2]);
    if (d[3] > INRF_OUTPUT_SIGNED)
        return inrf_fail(INRF_E_UNSUPPORTED, "NHDR: output mapping %u unknown", d[3]);
    a->output_map = d[3];
    a->omega_first = inrf_ldf32(d + 4);
    a->omega_hidden = inrf_ldf32(d + 8);
    for (unsigned l = 0; l < a->layers; l++) {
        a->hidden[l] = inrf_ld16(d + INRF_NHDR_FIXED + 2 * l);
        if (a->hidden[l] > opt->max_width && a->hidden[l] <= INRF_MAX_WIDTH)
            return inrf_fail(INRF_E_LIMIT, "NHDR: layer %u width %u over the limit %u", l,
                             a->hidden[l], opt->max_width);
    }
    inrf_status st = inrf_arch_check(a);
    if (st != INRF_OK)
        return inrf_fail(st, "NHDR: %s", inrf_last_error());
    if (inrf_arch_params(a) > opt->max_params)
        return inrf_fail(INRF_E_LIMIT, "NHDR: %zu parameters over the limit %zu",
                         inrf_arch_params(a), opt->max_params);
    return INRF_OK;
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

/* Upper bound of the WGHT payload for the architecture (pruned, per-row
 * scales, f32): bounds a compressed payload's announced raw length. */
static size_t wght_max_bytes(const inrf_arch *a)
{
    size_t n = 0;
    for (unsigned l = 0; l <= a->layers; l++) {
        unsigned in, out;
        inrf_layer_shape(a, l, &in, &out);
        size_t w = (size_t)in * out;
        n += INRF_LAYER_HEADER_SIZE + (w + 7) / 8 + 4 * (size_t)out + 4 * w + 4 * (size_t)out;
    }
    return n;
}

static inrf_status need(size_t have, size_t want, unsigned l, const char *what)
{
    if (have < want)
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: %s runs past the chunk", l, what);
    return INRF_OK;
}

/* spec "Layer record". */
static inrf_status parse_layer(inrf_model *m, unsigned l, const uint8_t *d, size_t n, size_t *used)
{
    inrf_layer *L = &m->layer[l];
    int8_t *qs;
    float *ss;
    uint8_t *ms;
    inrf_layer_storage(m, l, &qs, &ss, &ms);
    size_t count = (size_t)L->in * L->out, pos = INRF_LAYER_HEADER_SIZE;
    inrf_status st = need(n, INRF_LAYER_HEADER_SIZE, l, "header");
    if (st != INRF_OK)
        return st;
    unsigned enc = d[0], benc = d[1], flags = d[2];
    uint32_t nnz = inrf_ld32(d + 4);
    if (enc >= INRF_ENC_COUNT)
        return inrf_fail(INRF_E_UNSUPPORTED, "WGHT: layer %u: encoding %u unknown", l, enc);
    if (benc != INRF_ENC_F32 && benc != INRF_ENC_F16)
        return inrf_fail(INRF_E_UNSUPPORTED, "WGHT: layer %u: bias encoding %u unknown", l, benc);
    if (flags & ~INRF_LAYER_FLAG_PRUNED)
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: flags 0x%02x: reserved bits set", l, flags);
    if (d[3])
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: reserved byte %u, must be 0", l, d[3]);
    if (nnz > count || (!(flags & INRF_LAYER_FLAG_PRUNED) && nnz != count))
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: nnz %u, the layer has %zu weights%s", l,
                         nnz, count, flags & INRF_LAYER_FLAG_PRUNED ? "" : " (not pruned)");
    L->encoding = (uint8_t)enc;
    L->bias_encoding = (uint8_t)benc;
    L->nnz = nnz;
    L->mask = NULL;
    if (flags & INRF_LAYER_FLAG_PRUNED) {
        size_t mb = (count + 7) / 8;
        if ((st = need(n - pos, mb, l, "bitmap")) != INRF_OK)
            return st;
        memcpy(ms, d + pos, mb);
        pos += mb;
        if ((count & 7) && (ms[mb - 1] >> (count & 7)))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bitmap padding bits set", l);
        size_t pop = 0;
        for (size_t i = 0; i < mb; i++)
            pop += (size_t)__builtin_popcount(ms[i]);
        if (pop != nnz)
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bitmap keeps %zu weights, nnz is %u",
                             l, pop, nnz);
        L->mask = ms;
    }
    size_t nscale = enc == INRF_ENC_INT8 ? 1 : enc == INRF_ENC_INT8_ROW ? L->out : 0;
    if ((st = need(n - pos, 4 * nscale, l, "scales")) != INRF_OK)
        return st;
    for (size_t i = 0; i < nscale; i++) {
        ss[i] = inrf_ldf32(d + pos + 4 * i);
        if (!(isfinite(ss[i]) && ss[i] > 0.0f))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: scale %zu is %g, not finite and > 0",
                             l, i, (double)ss[i]);
    }
    pos += 4 * nscale;
    size_t vb = enc == INRF_ENC_F32 ? 4 : enc == INRF_ENC_F16 ? 2 : 1;
    if ((st = need(n - pos, vb * nnz, l, "values")) != INRF_OK)
        return st;
    const uint8_t *v = d + pos;
    size_t iv = 0;
    for (size_t k = 0; k < count; k++) {
        int keep = !L->mask || ((L->mask[k >> 3] >> (k & 7)) & 1);
        float w = 0.0f;
        int8_t q = 0;
        if (keep) {
            if (enc == INRF_ENC_F32) {
                w = inrf_ldf32(v + 4 * iv);
            } else if (enc == INRF_ENC_F16) {
                uint16_t h = inrf_ld16(v + 2 * iv);
                if (!inrf_f16_finite(h))
                    return inrf_fail(INRF_E_FORMAT,
                                     "WGHT: layer %u: weight %zu (f16 0x%04x) is Inf or NaN", l,
                                     k, h);
                w = inrf_f16_to_f32(h);
            } else {
                q = (int8_t)v[iv];
                if (q == -128)
                    return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: weight %zu is int8 -128", l,
                                     k);
                w = (float)q * ss[enc == INRF_ENC_INT8 ? 0 : k / L->in];
            }
            if (!isfinite(w))
                return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: weight %zu not finite%s", l, k,
                                 enc >= INRF_ENC_INT8 ? " (int8 times its scale overflows)" : "");
            iv++;
        }
        L->w[k] = w;
        qs[k] = q;
    }
    pos += vb * nnz;
    size_t bb = benc == INRF_ENC_F32 ? 4 : 2;
    if ((st = need(n - pos, bb * L->out, l, "biases")) != INRF_OK)
        return st;
    for (unsigned j = 0; j < L->out; j++) {
        if (bb == 2 && !inrf_f16_finite(inrf_ld16(d + pos + 2 * j)))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bias %u (f16 0x%04x) is Inf or NaN", l,
                             j, inrf_ld16(d + pos + 2 * j));
        L->b[j] = bb == 4 ? inrf_ldf32(d + pos + 4 * j) : inrf_f16_to_f32(inrf_ld16(d + pos + 2 * j));
        if (!isfinite(L->b[j]))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bias %u not finite", l, j);
    }
    pos += bb * L->out;
    L->q = nscale ? qs : NULL;
    L->scale = nscale ? ss : NULL;
    *used = pos;
    return INRF_OK;
}

/* spec "WGHT": the L + 1 layer records, into a model of the right
 * architecture. Also the parser of .inrpack records (the same bytes). */
inrf_status inrf_weights_parse(inrf_model *m, const uint8_t *d, size_t n)
{
    size_t pos = 0;
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        size_t used = 0;
        inrf_status st = parse_layer(m, l, d + pos, n - pos, &used);
        if (st != INRF_OK)
            return st;
        pos += used;
    }
    if (pos != n)
        return inrf_fail(INRF_E_FORMAT, "WGHT: %zu bytes after the last layer", n - pos);
    return INRF_OK;
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
        size_t bound = c->type == INRF_CHUNK_WGHT   ? wght_max_bytes(&p->arch)
                       : c->type == INRF_CHUNK_IHDR ? INRF_IHDR_SIZE
                       : c->type == INRF_CHUNK_NHDR ? INRF_NHDR_FIXED + 2 * INRF_MAX_SINE_LAYERS
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
