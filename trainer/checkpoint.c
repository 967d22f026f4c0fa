/* checkpoint.c: reading and writing inrtrain checkpoints: a little-endian
 * file with a checksum, written atomically (man/inrtrain.1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "checkpoint.h"
#include "error.h"

/* Layout (all little-endian):
 *   0  u8[8] magic "\x89INRT\r\n\x1a"   8 u8 major 1   9 u8 minor 0
 *  10  u16 reserved 0                  12 u32 tensor count T
 *  16  u32 classes, base_width, image_size, epochs_done, epochs, batch,
 *      decay_all (7 x u32)
 *  44  u64 seed, step
 *  60  f32 lr, momentum, weight_decay, smoothing, mean[3], std[3]
 * 100  class names: classes x (u16 length, bytes)
 *      tensors: T x (u8 name length, name, u8 kind, u8 has_momentum,
 *                    u32 count, f32 data[count], f32 momentum[count] if has)
 * end  u64 XXH3-64 (seed 0) of every byte before it */
#define CK_MAGIC "\x89INRT\r\n\x1a"
#define CK_FIXED 100

typedef struct buf {
    uint8_t *d;
    size_t n, cap;
    int bad;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *d = realloc(b->d, cap);
        if (!d) {
            b->bad = 1;
            return;
        }
        b->d = d, b->cap = cap;
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void put_u(buf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)bytes);
}

static void put_f(buf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u(b, u, 4);
}

/* Floats as little-endian bytes (a no-op copy on x86 and ARM). */
static void put_floats(buf *b, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_f(b, f[i]);
}

inrf_status trn_ckpt_save(const char *path, trn_resnet18 *m, trn_backend *be,
                          const trn_ckpt_meta *meta)
{
    int count;
    const trn_param *p = trn_resnet18_params(m, &count);
    buf b = {0};
    put(&b, CK_MAGIC, 8);
    put_u(&b, 1, 1);
    put_u(&b, 0, 1);
    put_u(&b, 0, 2);
    put_u(&b, (uint32_t)count, 4);
    const uint32_t u[7] = {meta->classes, meta->base_width, meta->image_size, meta->epochs_done,
                           meta->epochs, meta->batch, meta->decay_all};
    for (int i = 0; i < 7; i++)
        put_u(&b, u[i], 4);
    put_u(&b, meta->seed, 8);
    put_u(&b, meta->step, 8);
    const float f[4] = {meta->lr, meta->momentum, meta->weight_decay, meta->smoothing};
    put_floats(&b, f, 4);
    put_floats(&b, meta->mean, 3);
    put_floats(&b, meta->std, 3);
    for (uint32_t c = 0; c < meta->classes; c++) {
        size_t n = strlen(meta->class_names[c]);
        put_u(&b, n, 2);
        put(&b, meta->class_names[c], n);
    }
    float *host = NULL;
    size_t host_n = 0;
    for (int i = 0; i < count && !b.bad; i++) {
        if (p[i].count > host_n) {
            free(host);
            host_n = p[i].count;
            if (!(host = malloc(host_n * sizeof *host))) {
                b.bad = 1;
                break;
            }
        }
        size_t nl = strlen(p[i].name);
        put_u(&b, nl, 1);
        put(&b, p[i].name, nl);
        put_u(&b, (uint64_t)p[i].kind, 1);
        put_u(&b, p[i].mom != NULL, 1);
        put_u(&b, p[i].count, 4);
        be->download(be, host, p[i].data, p[i].count * sizeof *host);
        put_floats(&b, host, p[i].count);
        if (p[i].mom) {
            be->download(be, host, p[i].mom, p[i].count * sizeof *host);
            put_floats(&b, host, p[i].count);
        }
    }
    free(host);
    inrf_status st = be->sync(be);
    if (st == INRF_OK && b.bad)
        st = trn_fail(INRF_E_NOMEM, "checkpoint: out of memory");
    if (st == INRF_OK) {
        put_u(&b, XXH3_64bits(b.d, b.n), 8);
        st = b.bad ? trn_fail(INRF_E_NOMEM, "checkpoint: out of memory")
                   : inrf_file_write_atomic(path, b.d, b.n);
        if (st != INRF_OK && !b.bad)
            st = trn_fail(st, "%s: %s", path, inrf_last_error());
    }
    free(b.d);
    return st;
}

/* ------------------------------------------------------------------ read */

typedef struct rd {
    const uint8_t *d;
    size_t n, pos;
    int bad;
} rd;

static uint64_t get_u(rd *r, int bytes)
{
    if (r->bad || r->n - r->pos < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->d[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    return v;
}

static float get_f(rd *r)
{
    uint32_t u = (uint32_t)get_u(r, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void get_floats(rd *r, float *f, size_t n)
{
    if (r->bad || (r->n - r->pos) / 4 < n) {
        r->bad = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        f[i] = get_f(r);
}

void trn_ckpt_meta_free(trn_ckpt_meta *meta)
{
    for (uint32_t c = 0; meta->class_names && c < meta->classes; c++)
        free(meta->class_names[c]);
    free(meta->class_names);
    meta->class_names = NULL;
}

/* Opens and checks the file; parses the meta; r is left at the tensors. */
static inrf_status open_ckpt(const char *path, void **data, rd *r, trn_ckpt_meta *meta,
                             uint32_t *count)
{
    size_t size;
    memset(meta, 0, sizeof *meta);
    const char *magic = CK_MAGIC; /* a pipe or a device that is none is refused at once */
    inrf_status st = inrf_file_read_magic(path, (size_t)1 << 32, &magic, 1, 8,
                                          "an inrtrain checkpoint", data, &size);
    if (st != INRF_OK)
        return trn_fail(st, "%s: %s", path, inrf_last_error());
    *r = (rd){*data, size, 0, 0};
    if (size < CK_FIXED + 8 || memcmp(*data, CK_MAGIC, 8) != 0)
        return trn_fail(INRF_E_FORMAT, "%s: not an inrtrain checkpoint", path);
    if (XXH3_64bits(*data, size - 8) != (r->pos = size - 8, get_u(r, 8)))
        return trn_fail(INRF_E_CHECKSUM, "%s: checkpoint checksum mismatch", path);
    r->n = size - 8;
    r->pos = 8;
    if (get_u(r, 1) != 1)
        return trn_fail(INRF_E_VERSION, "%s: checkpoint version unknown", path);
    get_u(r, 1);
    get_u(r, 2);
    *count = (uint32_t)get_u(r, 4);
    meta->classes = (uint32_t)get_u(r, 4);
    meta->base_width = (uint32_t)get_u(r, 4);
    meta->image_size = (uint32_t)get_u(r, 4);
    meta->epochs_done = (uint32_t)get_u(r, 4);
    meta->epochs = (uint32_t)get_u(r, 4);
    meta->batch = (uint32_t)get_u(r, 4);
    meta->decay_all = (uint32_t)get_u(r, 4);
    meta->seed = get_u(r, 8);
    meta->step = get_u(r, 8);
    meta->lr = get_f(r);
    meta->momentum = get_f(r);
    meta->weight_decay = get_f(r);
    meta->smoothing = get_f(r);
    get_floats(r, meta->mean, 3);
    get_floats(r, meta->std, 3);
    if (r->bad || meta->classes < 1 || meta->classes > 65536)
        return trn_fail(INRF_E_FORMAT, "%s: checkpoint header malformed", path);
    meta->class_names = calloc(meta->classes, sizeof *meta->class_names);
    if (!meta->class_names)
        return trn_fail(INRF_E_NOMEM, "out of memory");
    for (uint32_t c = 0; c < meta->classes; c++) {
        size_t n = (size_t)get_u(r, 2);
        if (r->bad || r->n - r->pos < n || !(meta->class_names[c] = malloc(n + 1)))
            return trn_fail(INRF_E_FORMAT, "%s: class names malformed", path);
        memcpy(meta->class_names[c], r->d + r->pos, n);
        meta->class_names[c][n] = 0;
        r->pos += n;
    }
    return INRF_OK;
}

inrf_status trn_ckpt_read_meta(const char *path, trn_ckpt_meta *meta)
{
    void *data = NULL;
    rd r;
    uint32_t count;
    inrf_status st = open_ckpt(path, &data, &r, meta, &count);
    free(data);
    if (st != INRF_OK)
        trn_ckpt_meta_free(meta);
    return st;
}

inrf_status trn_ckpt_load(const char *path, trn_resnet18 *m, trn_backend *be, int with_momentum,
                          trn_ckpt_meta *meta)
{
    void *data = NULL;
    rd r;
    uint32_t count;
    inrf_status st = open_ckpt(path, &data, &r, meta, &count);
    int n;
    const trn_param *p = trn_resnet18_params(m, &n);
    if (st == INRF_OK && count != (uint32_t)n)
        st = trn_fail(INRF_E_FORMAT, "%s: %u tensors, the model has %d (another "
                                     "architecture)", path, count, n);
    float *host = NULL;
    size_t host_n = 0;
    for (int i = 0; st == INRF_OK && i < n; i++) {
        size_t nl = (size_t)get_u(&r, 1);
        int same = !r.bad && r.n - r.pos >= nl && nl == strlen(p[i].name) &&
                   memcmp(r.d + r.pos, p[i].name, nl) == 0;
        r.pos += same ? nl : 0;
        get_u(&r, 1); /* kind: implied by the name */
        int has_mom = (int)get_u(&r, 1);
        size_t cnt = (size_t)get_u(&r, 4);
        if (!same || r.bad || cnt != p[i].count || has_mom != (p[i].mom != NULL)) {
            st = trn_fail(INRF_E_FORMAT, "%s: tensor %d does not match the model's %s (another "
                                         "architecture or a damaged file)", path, i, p[i].name);
            break;
        }
        if (cnt > host_n) {
            free(host);
            host_n = cnt;
            if (!(host = malloc(host_n * sizeof *host))) {
                st = trn_fail(INRF_E_NOMEM, "out of memory");
                break;
            }
        }
        get_floats(&r, host, cnt);
        be->upload(be, p[i].data, host, cnt * sizeof *host);
        if (has_mom) {
            get_floats(&r, host, cnt);
            if (with_momentum)
                be->upload(be, p[i].mom, host, cnt * sizeof *host);
        }
        if (r.bad)
            st = trn_fail(INRF_E_TRUNCATED, "%s: tensor %s truncated", path, p[i].name);
    }
    if (st == INRF_OK && r.pos != r.n)
        st = trn_fail(INRF_E_FORMAT, "%s: bytes after the last tensor", path);
    if (st == INRF_OK)
        st = be->sync(be);
    free(host);
    free(data);
    if (st != INRF_OK)
        trn_ckpt_meta_free(meta);
    return st;
}
