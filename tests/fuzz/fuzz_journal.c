/* fuzz_journal.c: libFuzzer entry point for the journal of `inrpack create`
 * (tools/pack_journal.c), called as a resumed run calls it: journal_open
 * with the job key (taken from the input, so that mutations get past the
 * key check), journal_each over the entries, whose .inrf bytes are read
 * as the tool reads them. The journal takes a path, so the input goes
 * through a memory file (harness.h); opening cuts a torn tail off it.
 *
 * What it asserts: journal_each visits as many entries as journal_open
 * kept, and opening the journal it left keeps them all again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../../tools/cli.h"
#include "../../tools/inrpack.h"
#include "harness.h"
#include "inrf/inrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the header's and every entry's checksum. Layouts: version 1
 * ("INRPJRN1") has 12 bytes before an entry's .inrf (seq, label, size),
 * version 2 20 (and the source hash). */
static void fix_checksums(uint8_t *d, size_t size)
{
    if (size < 24 || memcmp(d, "INRPJRN", 7) != 0)
        return;
    size_t head = d[7] == '1' ? 12 : 20;
    st64(d + 16, XXH3_64bits(d, 16));
    for (size_t pos = 24; size - pos >= head + 8;) {
        size_t n = ld32(d + pos + 8);
        if (n > size - pos - head - 8)
            break;
        st64(d + pos + head + n, XXH3_64bits(d + pos, head + n));
        pos += head + n + 8;
    }
}

static int on_entry(const journal_entry *e, void *user)
{
    size_t *seen = user;
    ++*seen;
    inrf_model *m = NULL;
    if (inrf_read_memory(e->inrf, e->size, NULL, &m) == INRF_OK)
        inrf_model_free(m);
    return 0;
}

static void one_input(const uint8_t *data, size_t size)
{
    cli_set_silent(1);
    const char *path = fuzz_file(data, size);
    if (!path)
        return;
    uint64_t key = 0;
    for (int i = 0; size >= 16 && i < 8; i++)
        key |= (uint64_t)data[8 + i] << (8 * i);
    for (int pass = 0; pass < 2; pass++) {
        journal *j;
        size_t kept, seen = 0;
        if (!journal_open(path, key, &j, &kept))
            return;
        if (!journal_each(j, on_entry, &seen) || seen != kept)
            abort();
        journal_close(j, 0);
        static size_t first;
        if (pass == 0)
            first = kept;
        else if (kept != first)
            abort(); /* what one run kept, the next keeps */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_twice(data, size, one_input, fix_checksums);
}
