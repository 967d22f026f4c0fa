/* write.c: serialisation of a model to the .inrf layout (spec/inrf.md),
 * with the WGHT payload optionally zstd-compressed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "bytes.h"
#include "format.h"
#include "inrf/kind.h"
#include "internal.h"

void inrf_write_options_init_(inrf_write_options *opt, int abi)
{
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->compress = 1;
    opt->zstd_level = 19;
    opt->store_psnr = 1;
}

/* The writer never produces a file its reader would reject, with the
 * reader's default limits (format.h) included. */
inrf_status inrf_model_check(const inrf_model *m)
{
    inrf_status st = inrf_arch_check_writable(&m->arch);
    if (st != INRF_OK)
        return st;
    return inrf_kind_find(m->arch.kind)->weights_check(m);
}

/* spec "NHDR": the kind writes its payload (at most INRF_NHDR_MAX bytes). */
size_t inrf_nhdr_put(const inrf_arch *a, uint8_t *nhdr)
{
    return inrf_kind_find(a->kind)->nhdr_put(a, nhdr);
}

/* The WGHT payload (all layer records, uncompressed) of a checked model. */
static inrf_status weights_put(const inrf_model *m, uint8_t **raw, size_t *raw_n)
{
    *raw_n = inrf_model_weight_bytes(m);
    *raw = malloc(*raw_n);
    if (!*raw)
        return inrf_fail(INRF_E_NOMEM, "cannot allocate %zu bytes", *raw_n);
    inrf_kind_find(m->arch.kind)->weights_put(m, *raw);
    return INRF_OK;
}

inrf_status inrf_model_record(const inrf_model *m, void **data, size_t *size)
{
    if (!m || !data || !size)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *data = NULL;
    *size = 0;
    inrf_status st = inrf_model_check(m);
    if (st != INRF_OK)
        return st;
    uint8_t *raw;
    if ((st = weights_put(m, &raw, size)) == INRF_OK)
        *data = raw;
    return st;
}

/* Appends a chunk (header, payload, checksum) at p; returns the end. */
static uint8_t *put_chunk(uint8_t *p, uint32_t type, uint32_t flags, const void *payload, size_t n)
{
    inrf_st32(p, type);
    inrf_st32(p + 4, flags);
    inrf_st32(p + 8, (uint32_t)n);
    memcpy(p + INRF_CHUNK_HEADER_SIZE, payload, n);
    inrf_st64(p + INRF_CHUNK_HEADER_SIZE + n, XXH3_64bits(p, INRF_CHUNK_HEADER_SIZE + n));
    return p + INRF_CHUNK_OVERHEAD + n;
}

inrf_status inrf_write_memory(const inrf_model *m, const inrf_write_options *opt, void **data,
                              size_t *size)
{
    inrf_write_options def;
    if (!m || !data || !size)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *data = NULL;
    *size = 0;
    if (!opt) {
        inrf_write_options_init(&def);
        opt = &def;
    } else if (inrf_check_abi(opt->abi, opt->reserved_, INRF_RESERVED_COUNT(opt), "write options",
                              "inrf_write_options_init") != INRF_OK) {
        return INRF_E_INVALID_ARG;
    } else if (opt->compress < 0 || opt->compress > 2 || opt->zstd_level < 1 ||
               opt->zstd_level > ZSTD_maxCLevel()) {
        return inrf_fail(INRF_E_INVALID_ARG,
                         "write options: compress %d outside 0..2 or zstd_level %d outside 1..%d",
                         opt->compress, opt->zstd_level, ZSTD_maxCLevel());
    }
    inrf_status st = inrf_model_check(m);
    if (st != INRF_OK)
        return st;

    uint8_t ihdr[INRF_IHDR_SIZE], nhdr[INRF_NHDR_MAX], qual[4];
    inrf_st32(ihdr, m->arch.width);
    inrf_st32(ihdr + 4, m->arch.height);
    ihdr[8] = m->arch.channels;
    ihdr[9] = m->arch.colour_space;
    inrf_st16(ihdr + 10, 0);
    size_t nhdr_n = inrf_nhdr_put(&m->arch, nhdr);
    size_t raw_n = 0;
    uint8_t *raw = NULL;
    if ((st = weights_put(m, &raw, &raw_n)) != INRF_OK)
        return st;
    uint8_t *p;

    /* Compressed form: u32 raw length, then one zstd frame. */
    uint8_t *packed = NULL;
    size_t packed_n = 0;
    if (opt->compress) {
        size_t cap = INRF_ZSTD_PREFIX + ZSTD_compressBound(raw_n);
        packed = malloc(cap);
        if (!packed) {
            free(raw);
            return inrf_fail(INRF_E_NOMEM, "cannot allocate %zu bytes", cap);
        }
        inrf_st32(packed, (uint32_t)raw_n);
        size_t z = ZSTD_compress(packed + INRF_ZSTD_PREFIX, cap - INRF_ZSTD_PREFIX, raw, raw_n,
                                 opt->zstd_level);
        if (ZSTD_isError(z)) {
            free(raw);
            free(packed);
            return inrf_fail(INRF_E_COMPRESS, "zstd: %s", ZSTD_getErrorName(z));
        }
        packed_n = INRF_ZSTD_PREFIX + z;
        if (opt->compress == 1 && packed_n >= raw_n) {
            free(packed);
            packed = NULL;
        }
    }
    const uint8_t *wght = packed ? packed : raw;
    size_t wght_n = packed ? packed_n : raw_n;
    int with_qual = opt->store_psnr && isfinite(m->psnr);
    if (with_qual)
        inrf_stf32(qual, m->psnr);

    size_t total = INRF_FILE_HEADER_SIZE + 3 * INRF_CHUNK_OVERHEAD + INRF_IHDR_SIZE + nhdr_n + wght_n +
                   (with_qual ? INRF_CHUNK_OVERHEAD + INRF_QUAL_SIZE : 0);
    uint8_t *out = total <= INRF_DEFAULT_MAX_FILE_BYTES ? malloc(total) : NULL;
    if (!out) {
        free(raw);
        free(packed);
        if (total > INRF_DEFAULT_MAX_FILE_BYTES)
            return inrf_fail(INRF_E_LIMIT,
                             "file of %zu bytes over the readers' default limit %zu (max_file_bytes)",
                             total, INRF_DEFAULT_MAX_FILE_BYTES);
        return inrf_fail(INRF_E_NOMEM, "cannot allocate a file of %zu bytes", total);
    }
    memcpy(out, INRF_MAGIC, INRF_MAGIC_SIZE);
    out[8] = INRF_FORMAT_MAJOR;
    out[9] = INRF_FORMAT_MINOR;
    inrf_st16(out + 10, 0);
    inrf_st32(out + 12, (uint32_t)total);
    inrf_st32(out + 16, (uint32_t)XXH3_64bits(out, 16));
    p = out + INRF_FILE_HEADER_SIZE;
    p = put_chunk(p, INRF_CHUNK_IHDR, 0, ihdr, INRF_IHDR_SIZE);
    p = put_chunk(p, INRF_CHUNK_NHDR, 0, nhdr, nhdr_n);
    p = put_chunk(p, INRF_CHUNK_WGHT, packed ? INRF_CHUNK_FLAG_ZSTD : 0, wght, wght_n);
    if (with_qual)
        p = put_chunk(p, INRF_CHUNK_QUAL, 0, qual, INRF_QUAL_SIZE);
    free(raw);
    free(packed);
    *data = out;
    *size = total;
    return INRF_OK;
}

inrf_status inrf_write_file(const inrf_model *m, const inrf_write_options *opt, const char *path)
{
    void *data;
    size_t size;
    if (!path)
        return inrf_fail(INRF_E_INVALID_ARG, "path is NULL");
    inrf_status st = inrf_write_memory(m, opt, &data, &size);
    if (st != INRF_OK)
        return st;
    st = inrf_file_write_atomic(path, data, size);
    free(data);
    return st;
}
