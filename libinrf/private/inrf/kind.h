/* kind.h: the network-kind interface: everything the container code (read,
 * write, packs, decoders, inspection tools) asks of a kind, which
 * NHDR.kind selects (spec/inrf.md 6.1 "Network kinds"). The kinds built
 * in are listed in one table, libinrf/kinds.c; their GPU evaluators
 * (kernels/decode_kernel.h) in kernels/decode.cu. SIREN (libinrf/siren/)
 * is the example of a kind with layers, tests/kinds/grid/ of one without.
 * Private: shared by libinrf, the kernels and the tests, installed
 * nowhere. */
#ifndef INRF_KIND_H
#define INRF_KIND_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "inrf/encode.h"
#include "inrf/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NHDR.kind 255: reserved by the spec for testing. Readers refuse it
 * unless a kind of that value is registered (inrf_kind_register_). */
#define INRF_KIND_TESTING 255

/* The largest NHDR payload of any kind: what a pack's architecture entry
 * holds (spec/inrpack.md, 144 bytes less the 4-byte prefix). */
#define INRF_NHDR_MAX 140

/* Pixels a CPU evaluator computes in one call: a multiple of every vector
 * width used. */
#define INRF_TILE 32

/* A kind's CPU evaluator of one model, built by inrf_kind_ops.cpu_eval. */
typedef struct inrf_cpu_eval {
    /* Evaluates INRF_TILE pixels. xy: [2][INRF_TILE] coordinates (the x
     * row, then the y row, spec "Decoding"); out: [channels][INRF_TILE]
     * values before the output mapping; scratch: 64-byte aligned,
     * scratch_floats floats of the calling thread. Pure: threads share
     * one evaluator. */
    void (*tile)(const void *state, const float *xy, float *out, float *scratch);
    const void *state;
    size_t scratch_floats;
    void *owned;               /* free()d by inrf_cpu_eval_free, may be NULL */
} inrf_cpu_eval;

static inline void inrf_cpu_eval_free(inrf_cpu_eval *ev)
{
    free(ev->owned);
    ev->owned = NULL;
}

/* Appends to the text of an info function: buf holds size bytes, *len
 * counts what the whole text needs (snprintf's rule), cut but always
 * NUL-terminated. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline void inrf_info_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*len < size ? buf + *len : NULL, *len < size ? size - *len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
}

/* One network kind. Every function gets arguments that the container code
 * has checked: a model of the kind, an arch whose common fields (size,
 * channels, colour space) are valid. Failures return a status with
 * inrf_report()'s message, naming the chunk or field (spec "Error
 * handling"). */
typedef struct inrf_kind_ops {
    unsigned kind;             /* NHDR.kind */
    const char *name;          /* for display, "SIREN"; JSON lower-cases it */

    /* ---- NHDR payload (at most INRF_NHDR_MAX bytes) */
    /* Payload bytes that its first `avail` bytes announce (a pack's
     * architecture entry holds the payload followed by zeros); a value
     * larger than avail when it cannot fit. */
    size_t (*nhdr_size)(const uint8_t *d, size_t avail);
    /* Parses and validates n payload bytes (d[0] is the kind) into the
     * kind's fields of a, against the spec and the reader limits opt. */
    inrf_status (*nhdr_parse)(inrf_arch *a, const uint8_t *d, size_t n,
                              const inrf_read_options *opt);
    /* Writes the payload of a (checked); returns its size. */
    size_t (*nhdr_put)(const inrf_arch *a, uint8_t *d);
    /* The kind's fields of a against the spec; writable: also the
     * readers' default limits (format.h), which every writer keeps to. */
    inrf_status (*arch_check)(const inrf_arch *a, int writable);
    /* Parameters (weights, biases, latents) the model of a stores. */
    size_t (*params)(const inrf_arch *a);
    /* The largest valid WGHT payload for a: bounds a compressed payload's
     * raw_length (spec "Security considerations"). */
    size_t (*weights_max)(const inrf_arch *a);

    /* ---- the in-memory model */
    /* Storage for m->arch's weights, all zero (m->arena_, and m->layer or
     * m->weights); model_release frees it; model_copy copies weights and
     * encodings between two models of one arch. */
    inrf_status (*model_alloc)(inrf_model *m);
    void (*model_release)(inrf_model *m);
    void (*model_copy)(inrf_model *dst, const inrf_model *src);

    /* ---- WGHT payload (also a pack record) */
    /* Parses and validates the whole payload into m. */
    inrf_status (*weights_parse)(inrf_model *m, const uint8_t *d, size_t n);
    /* Loads a record already verified (a pack's) into m for decoding,
     * reading nothing past d + n whatever the bytes became since; NULL:
     * weights_parse serves. */
    inrf_status (*weights_load)(inrf_model *m, const uint8_t *d, size_t n);
    /* What the writer checks (INRF_E_INVALID_ARG naming the field). */
    inrf_status (*weights_check)(const inrf_model *m);
    size_t (*weights_size)(const inrf_model *m);
    void (*weights_put)(const inrf_model *m, uint8_t *d);

    /* ---- evaluation */
    inrf_status (*cpu_eval)(const inrf_model *m, inrf_cpu_eval *ev);
    uint64_t (*macs_per_pixel)(const inrf_model *m);

    /* ---- inspection: writes part (inrf_info_part) of m (NULL for the
     * architecture's parts) or a into buf as snprintf does; returns the
     * length it needs */
    size_t (*info)(const inrf_model *m, const inrf_arch *a, int part, char *buf, size_t size);

    /* ---- encoding (NULL: the kind has no encoder in libinrf) */
    inrf_status (*encode)(const inrf_image *image, const inrf_encode_options *opt,
                          inrf_model **out, inrf_encode_stats *stats);
} inrf_kind_ops;

/* The kind of value `kind`: built in (libinrf/kinds.c) or registered;
 * NULL when this library does not implement it. */
const inrf_kind_ops *inrf_kind_find(unsigned kind);

/* Testing hook: makes a kind known to this process's libinrf (the
 * readers, writers, packs and decoders), until inrf_kind_unregister_.
 * Only INRF_KIND_TESTING may be registered (INRF_E_INVALID_ARG
 * otherwise); not thread-safe: call it before any other call, and free
 * every model of the kind before unregistering. Exported, declared here
 * only: the tools never call it, so they refuse the kind. */
INRF_API INRF_NODISCARD inrf_status inrf_kind_register_(const inrf_kind_ops *ops);
INRF_API void inrf_kind_unregister_(unsigned kind);

#ifdef __cplusplus
}
#endif

#endif /* INRF_KIND_H */
