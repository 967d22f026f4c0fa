/* checkpoint.c: reading and writing inrtrain checkpoints: a little-endian
 * file with a checksum, written atomically (man/inrtrain.1). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
            st = trn_fail_lib(st, path, NULL);
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

/* The header's ranges: what inrtrain's options and the model accept (man
 * inrtrain.1, "CHECKPOINT FORMAT"); a field outside them is refused, like
 * any field of a model file, even behind a valid checksum. */
static inrf_status check_u32(const char *path, const char *field, uint32_t v, uint32_t lo,
                             uint32_t hi)
{
    if (v < lo || v > hi)
        return trn_fail(INRF_E_FORMAT, "%s: checkpoint %s %u out of range %u..%u", path, field,
                        v, lo, hi);
    return INRF_OK;
}

static inrf_status check_f32(const char *path, const char *field, float v, float lo, float hi,
                             int lo_open)
{
    if (!isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
        return trn_fail(INRF_E_FORMAT, "%s: checkpoint %s %g out of range %s%g..%g", path, field,
                        (double)v, lo_open ? "above " : "", (double)lo, (double)hi);
    return INRF_OK;
}

static inrf_status check_meta(const char *path, const trn_ckpt_meta *m)
{
    static const char *const mean_name[3] = {"mean[0]", "mean[1]", "mean[2]"};
    static const char *const std_name[3] = {"std[0]", "std[1]", "std[2]"};
    inrf_status st;
    if ((st = check_u32(path, "classes", m->classes, 1, TRN_CKPT_MAX_CLASSES)) ||
        (st = check_u32(path, "base_width", m->base_width, 1, TRN_CKPT_MAX_WIDTH)) ||
        (st = check_u32(path, "image_size", m->image_size, TRN_CKPT_MIN_SIZE,
                        TRN_CKPT_MAX_SIZE)) ||
        (st = check_u32(path, "epochs", m->epochs, 1, TRN_CKPT_MAX_EPOCHS)) ||
        (st = check_u32(path, "epochs_done", m->epochs_done, 0, m->epochs)) ||
        (st = check_u32(path, "batch", m->batch, TRN_CKPT_MIN_BATCH, TRN_CKPT_MAX_BATCH)) ||
        (st = check_u32(path, "decay_all", m->decay_all, 0, 1)) ||
        (st = check_u32(path, "seed (high half)", (uint32_t)(m->seed >> 32), 0, 0)) ||
        (st = check_f32(path, "lr", m->lr, 0, TRN_CKPT_MAX_LR, 0)) ||
        (st = check_f32(path, "momentum", m->momentum, 0, 1, 0)) ||
        (st = check_f32(path, "weight_decay", m->weight_decay, 0, 1, 0)) ||
        (st = check_f32(path, "smoothing", m->smoothing, 0, 0.5f, 0)))
        return st;
    /* at most one step a batch of two images, 2^32 images */
    if (m->step > (uint64_t)m->epochs_done << 31)
        return trn_fail(INRF_E_FORMAT, "%s: checkpoint step %llu out of range 0..%llu for %u "
                        "epochs", path, (unsigned long long)m->step,
                        (unsigned long long)m->epochs_done << 31, m->epochs_done);
    for (int c = 0; c < 3; c++)
        if ((st = check_f32(path, mean_name[c], m->mean[c], 0, 1, 0)) ||
            (st = check_f32(path, std_name[c], m->std[c], 0, 1, 1)))
            return st;
    return INRF_OK;
}

/* Class names: 1..255 bytes, no NUL (a name is a C string here), each once. */
static inrf_status check_names(const char *path, const trn_ckpt_meta *m, const size_t *len)
{
    for (uint32_t c = 0; c < m->classes; c++) {
        if (len[c] < 1 || len[c] > TRN_CKPT_MAX_NAME || strlen(m->class_names[c]) != len[c])
            return trn_fail(INRF_E_FORMAT, "%s: checkpoint class %u: name of %zu bytes%s", path,
                            c, len[c], len[c] >= 1 && len[c] <= TRN_CKPT_MAX_NAME
                                           ? " holds a NUL byte" : ", not 1..255");
        for (uint32_t d = 0; d < c; d++)
            if (strcmp(m->class_names[c], m->class_names[d]) == 0)
                return trn_fail(INRF_E_FORMAT, "%s: checkpoint class %u: name \"%s\" given "
                                "twice", path, c, m->class_names[c]);
    }
    return INRF_OK;
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
        return trn_fail_lib(st, path, NULL);
    *r = (rd){*data, size, 0, 0};
    if (size < CK_FIXED + 8 || memcmp(*data, CK_MAGIC, 8) != 0)
        return trn_fail(INRF_E_FORMAT, "%s: not an inrtrain checkpoint", path);
    if (XXH3_64bits(*data, size - 8) != (r->pos = size - 8, get_u(r, 8)))
        return trn_fail(INRF_E_CHECKSUM, "%s: checkpoint checksum mismatch", path);
    r->n = size - 8;
    r->pos = 8;
    uint32_t major = (uint32_t)get_u(r, 1);
    if (major != 1)
        return trn_fail(INRF_E_VERSION, "%s: checkpoint version %u unknown (this inrtrain "
                        "reads 1)", path, major);
    get_u(r, 1); /* a newer minor version is read as 1.0 */
    uint32_t reserved = (uint32_t)get_u(r, 2);
    if (reserved != 0)
        return trn_fail(INRF_E_FORMAT, "%s: checkpoint reserved field %u, not 0", path, reserved);
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
    if (r->bad)
        return trn_fail(INRF_E_FORMAT, "%s: checkpoint header truncated", path);
    if ((st = check_meta(path, meta)) != INRF_OK)
        return st;
    meta->class_names = calloc(meta->classes, sizeof *meta->class_names);
    size_t *len = calloc(meta->classes, sizeof *len);
    if (!meta->class_names || !len) {
        free(len);
        return trn_fail(INRF_E_NOMEM, "out of memory");
    }
    for (uint32_t c = 0; c < meta->classes && st == INRF_OK; c++) {
        size_t n = (size_t)get_u(r, 2);
        if (r->bad || r->n - r->pos < n)
            st = trn_fail(INRF_E_FORMAT, "%s: checkpoint class %u: name truncated", path, c);
        else if (!(meta->class_names[c] = malloc(n + 1)))
            st = trn_fail(INRF_E_NOMEM, "out of memory");
        if (st != INRF_OK)
            break;
        memcpy(meta->class_names[c], r->d + r->pos, n);
        meta->class_names[c][n] = 0;
        len[c] = n;
        r->pos += n;
    }
    if (st == INRF_OK)
        st = check_names(path, meta, len);
    free(len);
    return st;
}

inrf_status trn_ckpt_read_meta(const char *path, trn_ckpt_meta *meta)
{
    void *data = NULL;
    rd r;
    uint32_t count;
    inrf_status st = open_ckpt(path, &data, &r, meta, &count);
    inrf_free(data);
    if (st != INRF_OK)
        trn_ckpt_meta_free(meta);
    return st;
}

/* Values: finite; a running variance not negative. */
static inrf_status check_values(const char *path, const trn_param *p, const char *what,
                                const float *v, size_t n)
{
    const int var = !*what && strstr(p->name, "running_var") != NULL;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(v[k]) || (var && v[k] < 0))
            return trn_fail(INRF_E_FORMAT, "%s: tensor %s%s: value %zu is %g%s", path, p->name,
                            what, k, (double)v[k], isfinite(v[k]) ? ", a negative variance" : "");
    return INRF_OK;
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
        int kind = (int)get_u(&r, 1);
        int has_mom = (int)get_u(&r, 1);
        size_t cnt = (size_t)get_u(&r, 4);
        if (!same || r.bad || cnt != p[i].count || has_mom != (p[i].mom != NULL) ||
            kind != p[i].kind) {
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
        if (!r.bad && (st = check_values(path, &p[i], "", host, cnt)) != INRF_OK)
            break;
        be->upload(be, p[i].data, host, cnt * sizeof *host);
        if (has_mom) {
            get_floats(&r, host, cnt);
            if (!r.bad && (st = check_values(path, &p[i], " momentum", host, cnt)) != INRF_OK)
                break;
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
    inrf_free(data);
    if (st != INRF_OK)
        trn_ckpt_meta_free(meta);
    return st;
}

/* ----------------------------------------------------------- ownership */

static void said_removed(const char *file, void *quiet)
{
    if (!*(const int *)quiet)
        fprintf(stderr, "inrtrain: removed %s, a temporary file left by an interrupted run\n",
                file);
}

inrf_status trn_ckpt_claim_path(const char *path, int quiet, trn_ckpt_claim *c)
{
    c->fd = -1;
    c->lock = NULL;
    struct stat sb;
    if (strcmp(path, "-") == 0 || (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)))
        return INRF_OK;
    if (!(c->lock = malloc(strlen(path) + 6)))
        return trn_fail(INRF_E_NOMEM, "out of memory");
    sprintf(c->lock, "%s.lock", path);
    int busy;
    if (inrf_file_lock(c->lock, &c->fd, &busy) != INRF_OK)
        return busy ? trn_fail(INRF_E_IO, "%s: another run writes it now (it holds %s)", path,
                               c->lock)
                    : trn_fail_lib(INRF_E_IO, c->lock, NULL);
    inrf_file_remove_stale_temps(path, said_removed, &quiet);
    return INRF_OK;
}

void trn_ckpt_release(trn_ckpt_claim *c)
{
    if (c->fd >= 0) {
        unlink(c->lock); /* while held: a waiting run then sees a new file */
        close(c->fd);
    }
    c->fd = -1;
    free(c->lock);
    c->lock = NULL;
}
