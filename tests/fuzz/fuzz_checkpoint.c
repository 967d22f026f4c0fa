/* fuzz_checkpoint.c: libFuzzer entry point for inrtrain's checkpoint and
 * model reader (trainer/checkpoint.c), called as inrtrain calls it:
 * trn_ckpt_read_meta, then a model built from that meta, then
 * trn_ckpt_load with the optimizer state (--resume) and without it
 * (--eval, --predict). The reader takes a path, so the input goes through
 * a memory file (harness.h). Models are built only for small shapes
 * (width, size and classes below), so that an input cannot ask for much
 * memory or time.
 *
 * What it asserts: a failure has a message; a meta that reads has its
 * class names; both loads read the same meta as trn_ckpt_read_meta. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../../trainer/checkpoint.h"
#include "../../trainer/cpu_backend.h"
#include "../../trainer/error.h"
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CK_MAGIC "\x89INRT\r\n\x1a"

/* The checksum is the file's last 8 bytes: XXH3-64 of everything before. */
static void fix_checksums(uint8_t *d, size_t size)
{
    if (size < 16 || memcmp(d, CK_MAGIC, 8) != 0)
        return;
    uint64_t h = XXH3_64bits(d, size - 8);
    for (int i = 0; i < 8; i++)
        d[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
}

static void failed(inrf_status st)
{
    const char *msg = trn_last_error();
    if (st == INRF_OK || !msg || !*msg)
        abort();
}

static int same_meta(const trn_ckpt_meta *a, const trn_ckpt_meta *b)
{
    if (a->classes != b->classes || a->base_width != b->base_width ||
        a->image_size != b->image_size || a->epochs_done != b->epochs_done ||
        a->epochs != b->epochs || a->batch != b->batch || a->seed != b->seed ||
        a->step != b->step || a->decay_all != b->decay_all ||
        memcmp(&a->lr, &b->lr, 4 * sizeof a->lr) != 0 ||
        memcmp(a->mean, b->mean, sizeof a->mean) != 0 ||
        memcmp(a->std, b->std, sizeof a->std) != 0)
        return 0;
    for (uint32_t c = 0; c < a->classes; c++)
        if (strcmp(a->class_names[c], b->class_names[c]) != 0)
            return 0;
    return 1;
}

static void one_input(const uint8_t *data, size_t size)
{
    static trn_backend *be;
    if (!be && trn_cpu_backend_create(1, &be) != INRF_OK)
        abort();
    const char *path = fuzz_file(data, size);
    if (!path)
        return;
    trn_ckpt_meta meta;
    inrf_status st = trn_ckpt_read_meta(path, &meta);
    if (st != INRF_OK) {
        failed(st);
        return;
    }
    if (meta.classes < 1 || !meta.class_names)
        abort();
    for (uint32_t c = 0; c < meta.classes; c++)
        if (!meta.class_names[c])
            abort();
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.classes = (int)meta.classes;
    cfg.base_width = (int)meta.base_width;
    cfg.image_h = cfg.image_w = (int)meta.image_size;
    cfg.batch = 1; /* shapes do not depend on it */
    trn_resnet18 *m = NULL;
    if (meta.classes <= 64 && meta.base_width >= 1 && meta.base_width <= 8 &&
        meta.image_size >= 8 && meta.image_size <= 64 &&
        trn_resnet18_create(be, &cfg, &m) == INRF_OK) {
        for (int with_momentum = 1; with_momentum >= 0; with_momentum--) {
            trn_ckpt_meta again;
            st = trn_ckpt_load(path, m, be, with_momentum, &again);
            if (st != INRF_OK) {
                failed(st);
                break;
            }
            if (!same_meta(&meta, &again))
                abort();
            trn_ckpt_meta_free(&again);
        }
    }
    trn_resnet18_free(m);
    trn_ckpt_meta_free(&meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_twice(data, size, one_input, fix_checksums);
}
