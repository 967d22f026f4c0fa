/* fuzz_pack.c: libFuzzer entry point for the .inrpack reader: open, verify,
 * views, model reads and a small batch decode of whatever opens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../../libinrf/bytes.h"
#include "../../libinrf/format.h"
#include "harness.h"
#include "inrf/inrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recomputes the header, directory and record checksums that the layout
 * lets it find, so that mutations reach the checks behind them. */
static void fix_checksums(uint8_t *d, size_t size)
{
    if (size < INRP_HEADER_SIZE)
        return;
    uint64_t index = inrf_ld64(d + 32), records = inrf_ld64(d + 40);
    uint32_t count = inrf_ld32(d + 12);
    if (index <= size && records <= size && index <= records &&
        (uint64_t)count * INRP_ENTRY_SIZE <= records - index)
        for (uint32_t i = 0; i < count; i++) {
            uint8_t *e = d + index + (size_t)INRP_ENTRY_SIZE * i;
            uint64_t off = inrf_ld64(e);
            uint32_t n = inrf_ld32(e + 16);
            if (off <= size && n <= size - off)
                inrf_st64(e + 8, XXH3_64bits(d + off, n));
        }
    if (records >= INRP_HEADER_SIZE && records <= size)
        inrf_st64(d + 48, XXH3_64bits(d + INRP_HEADER_SIZE, records - INRP_HEADER_SIZE));
    inrf_st64(d + 56, XXH3_64bits(d, 56));
}

static void one_input(const uint8_t *data, size_t size)
{
    inrf_pack_options po;
    inrf_pack_options_init(&po);
    po.limits.max_params = 1 << 16;
    for (int verify = 0; verify <= 1; verify++) {
        po.verify_records = verify;
        inrf_pack *p = NULL;
        if (inrf_pack_open_memory(data, size, &po, &p) != INRF_OK)
            continue;
        uint32_t n = inrf_pack_count(p), bad[4];
        size_t nbad = 0;
        inrf_status vst = inrf_pack_verify(p, bad, 4, &nbad);
        if (verify && vst != INRF_OK)
            abort(); /* what opened verified stays verified */
        uint32_t idx[3] = {0, n / 2, n ? n - 1 : 0};
        for (int k = 0; k < 3 && n; k++) {
            inrf_model *m = NULL;
            inrf_status st = inrf_pack_model(p, idx[k], &m);
            if (verify && st != INRF_OK)
                abort();
            inrf_model_free(m);
        }
        if (n && (verify || vst == INRF_OK)) {
            inrf_batch_options o;
            inrf_batch_options_init(&o);
            o.width = 3, o.height = 2, o.threads = 1;
            float win[12] = {-1, -1, 1, 1, 1, -1, -1, 1, -1.5f, -1, 0.5f, 1};
            float out[3 * 3 * 2 * 3];
            if (inrf_pack_decode_batch(p, idx, 3, win, &o, out) != INRF_OK)
                abort(); /* a verified pack always decodes */
        }
        inrf_pack_close(p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_twice(data, size, one_input, fix_checksums);
}
