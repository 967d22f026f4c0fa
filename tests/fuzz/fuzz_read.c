/* fuzz_read.c: libFuzzer entry point for the .inrf parser: read, walk the
 * chunks, and decode what parses at a small size. Limits are small so
 * that an input cannot ask for much memory or time. */
#include <stdint.h>
#include <stdlib.h>

#include <string.h>

#include <xxhash.h>

#include "../../libinrf/bytes.h"
#include "../../libinrf/format.h"
#include "harness.h"
#include "inrf/inrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recomputes the header check and every chunk checksum that the framing
 * lets it find, so that mutations reach past the checksums into the
 * parser (the input is also parsed as it is). */
static void fix_checksums(uint8_t *d, size_t size)
{
    if (size < INRF_FILE_HEADER_SIZE)
        return;
    inrf_st32(d + 16, (uint32_t)XXH3_64bits(d, 16));
    size_t end = inrf_ld32(d + 12) < size ? inrf_ld32(d + 12) : size;
    for (size_t pos = INRF_FILE_HEADER_SIZE; pos + INRF_CHUNK_OVERHEAD <= end;) {
        size_t len = inrf_ld32(d + pos + 8);
        if (len > end - pos - INRF_CHUNK_OVERHEAD)
            break;
        inrf_st64(d + pos + INRF_CHUNK_HEADER_SIZE + len,
                  XXH3_64bits(d + pos, INRF_CHUNK_HEADER_SIZE + len));
        pos += INRF_CHUNK_OVERHEAD + len;
    }
}

static void one_input(const uint8_t *data, size_t size)
{
    inrf_read_options ro;
    inrf_read_options_init(&ro);
    ro.max_file_bytes = 1 << 20;
    ro.max_params = 1 << 16;
    inrf_chunk_info chunks[32];
    size_t count;
    inrf_status scanned = inrf_scan_memory(data, size, chunks, 32, &count);
    inrf_model *m = NULL;
    inrf_status st = inrf_read_memory(data, size, &ro, &m);
    if (st == INRF_OK && scanned != INRF_OK)
        abort(); /* the walk and the reader agree on every framing error */
    if (st == INRF_OK) {
        inrf_decode_options o;
        inrf_decode_options_init(&o);
        o.width = 5;
        o.height = 3;
        o.threads = 1;
        uint8_t px[5 * 3 * 3];
        if (inrf_decode_u8(m, &o, px, 0) != INRF_OK)
            abort(); /* a model the reader accepts always decodes */
        void *out;
        size_t n;
        if (inrf_write_memory(m, NULL, &out, &n) != INRF_OK)
            abort(); /* and writes back */
        free(out);
        inrf_model_free(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_twice(data, size, one_input, fix_checksums);
}
