/* internal.h: helpers shared by libinrf's modules (error reporting, checked
 * arithmetic, file access). Never installed. */
#ifndef INRF_INTERNAL_H
#define INRF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"

#if defined(__GNUC__)
#define INRF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define INRF_PRINTF(f, a)
#endif

/* Records a detailed message for inrf_last_error() and returns status. */
inrf_status inrf_fail(inrf_status status, const char *fmt, ...) INRF_PRINTF(2, 3);

/* Checks an options struct from the caller (inrf/types.h, "ABI version"):
 * abi from its init function (`init`, named in the message) of this major
 * version, and its reserved_ fields (count of them) all 0, which an older
 * minor's caller leaves so and a newer minor's may have used. `what` names
 * the struct ("decode options"). INRF_E_INVALID_ARG with a message. */
inrf_status inrf_check_abi(int abi, const uint64_t *reserved, size_t count, const char *what,
                           const char *init);
#define INRF_RESERVED_COUNT(opt) (sizeof (opt)->reserved_ / sizeof (opt)->reserved_[0])

/* For the options init functions: a caller built for another major version
 * has another layout, so only the struct's abi field (always its first) is
 * written, and the first call that uses the struct refuses it. */
static inline int inrf_abi_init_ok(int abi) { return INRF_ABI_COMPATIBLE(abi); }

/* a * b into *out unless it overflows size_t (returns 0 then). */
static inline int inrf_mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* A whole file in memory: mapped when possible, else read; "-" is stdin. */
typedef struct inrf_blob {
    const uint8_t *data;
    size_t size;
    void *map_;    /* munmap target, or NULL */
    void *heap_;   /* free target, or NULL */
} inrf_blob;

inrf_status inrf_blob_open(const char *path, size_t max_bytes, inrf_blob *blob);

/* What a reader accepts at the start of a file: fn sees its first `need`
 * bytes (fewer only when the file is shorter) and fails with the reader's
 * own message, so that a pipe or a device (/dev/zero) that is not such a
 * file is refused after those bytes, not read up to max_bytes. */
typedef struct inrf_magic_check {
    size_t need;
    inrf_status (*fn)(const uint8_t *d, size_t n, const void *user);
    const void *user;
} inrf_magic_check;

/* inrf_blob_open with the reader's check of the first bytes (NULL: none). */
inrf_status inrf_blob_open_checked(const char *path, size_t max_bytes,
                                   const inrf_magic_check *check, inrf_blob *blob);
void inrf_blob_close(inrf_blob *blob);

/* The kind of a (kind.h), or INRF_E_UNSUPPORTED naming the value. */
struct inrf_kind_ops;
inrf_status inrf_kind_of(const inrf_arch *a, const struct inrf_kind_ops **kind);
/* inrf_arch_check, and the readers' default limits (format.h) that every
 * writer keeps to: INRF_E_LIMIT naming the parameter count. */
inrf_status inrf_arch_check_writable(const inrf_arch *arch);

/* Shared by the .inrf and .inrpack code (read.c, write.c, pack_*.c), each
 * through the kind: the NHDR payload (spec/inrf.md "NHDR"; d[0] names the
 * kind), and the WGHT payload, which is also the record of a pack. */
inrf_status inrf_nhdr_parse(inrf_arch *arch, const uint8_t *d, size_t n,
                            const inrf_read_options *opt);
size_t inrf_nhdr_put(const inrf_arch *arch, uint8_t *nhdr);
inrf_status inrf_weights_parse(inrf_model *m, const uint8_t *d, size_t n);
/* What the writer checks before it serialises a model. */
inrf_status inrf_model_check(const inrf_model *m);

/* Decoding a grid of sample coordinates (decode.c), shared by
 * inrf_decode_* and the pack batch decoder: pixel (i, j) is the network at
 * (cx[i], cy[j]), written to exactly one of u8, f32 or f16, rows stride
 * bytes apart; f32 values are (v - mean[c]) / std[c] when std is not NULL,
 * f16 values those rounded to nearest binary16 (inrf_f32_to_f16_rn); when
 * zero_x is not NULL, pixels with zero_x[i] | zero_y[j] are v = 0. */
typedef struct inrf_sink {
    uint8_t *u8;
    float *f32;
    uint16_t *f16;
    size_t stride;
    const float *mean, *std;
    const uint8_t *zero_x, *zero_y;
} inrf_sink;
inrf_status inrf_decode_grid(const inrf_model *m, uint32_t W, uint32_t H, const float *cx,
                             const float *cy, const inrf_sink *sink, int threads);

#endif /* INRF_INTERNAL_H */
