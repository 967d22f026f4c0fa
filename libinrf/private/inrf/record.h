/* record.h: reading the layer records of spec/inrf.md "Layer record" (the
 * WGHT payload, and each .inrpack record) into dense fp32 weights, as
 * static inline functions shared by the CPU batch decoder and the CUDA
 * kernels. Whatever the bytes say, no read goes past the record: a record
 * verified once may have changed since (a mapped file rewritten or cut),
 * so the layout is checked against the record's length here, and the
 * values read are bounded by nnz. */
#ifndef INRF_RECORD_H
#define INRF_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/le.h"
#include "inrf/siren_math.h"

/* Where the parts of one layer record are. */
typedef struct inrf_layer_loc {
    unsigned in, out;          /* fan-in and fan-out */
    unsigned encoding;         /* 0 f32, 1 f16, 2 int8 (one scale), 3 int8 (a scale a row) */
    unsigned bias_f16;         /* 1: biases are binary16 */
    uint32_t nnz;              /* stored values; none past them is read */
    const uint8_t *bitmap;     /* kept-weight bitmap, or NULL (not pruned) */
    const uint8_t *scales;     /* f32 scales (int8 encodings) */
    const uint8_t *values;     /* the stored weights, row-major */
    const uint8_t *biases;
    const uint8_t *end;        /* the next record */
} inrf_layer_loc;

/* What inrf_layer_locate_why finds wrong with a record's layout, in the
 * order it checks (spec/inrf.md 7.1); 0 when nothing. */
enum {
    INRF_LOC_OK = 0,
    INRF_LOC_HEADER,           /* fewer than 8 bytes */
    INRF_LOC_ENCODING,         /* weight encoding > 3 (unsupported) */
    INRF_LOC_BIAS_ENCODING,    /* bias encoding > 1 (unsupported) */
    INRF_LOC_FLAGS,            /* reserved flag bits set */
    INRF_LOC_RESERVED,         /* reserved byte not 0 */
    INRF_LOC_NNZ,              /* nnz above N, or not N when not pruned */
    INRF_LOC_BITMAP,           /* the bitmap runs past the n bytes */
    INRF_LOC_SCALES,           /* the scales do */
    INRF_LOC_VALUES,           /* the values do */
    INRF_LOC_BIASES,           /* the biases do */
};

/* Locates the parts of the record at p, of which n bytes remain, for a
 * layer of in x out (spec/inrf.md 7.1): the one reading of a record's
 * layout, for the strict parser (libinrf/siren/format.c, which then checks
 * the values) and the decoders. Returns INRF_LOC_OK; or why the header
 * breaks 7.1 or the parts would overrun the n bytes: l then describes a
 * layer of zeros that reads nothing, and l->end = p + n, so that the next
 * layer fails too. */
INRF_HD int inrf_layer_locate_why(const uint8_t *p, size_t n, unsigned in, unsigned out,
                                  inrf_layer_loc *l)
{
    const uint64_t count = (uint64_t)in * out;
    l->in = in;
    l->out = out;
    l->encoding = 0;
    l->bias_f16 = 0;
    l->nnz = 0;
    l->bitmap = NULL;
    l->scales = l->values = l->biases = NULL;
    l->end = p + n;
    if (n < 8)
        return INRF_LOC_HEADER;
    if (p[0] > 3)
        return INRF_LOC_ENCODING;
    if (p[1] > 1)
        return INRF_LOC_BIAS_ENCODING;
    if (p[2] & 0xfe)
        return INRF_LOC_FLAGS;
    if (p[3])
        return INRF_LOC_RESERVED;
    const unsigned enc = p[0], pruned = p[2] & 1;
    const uint32_t nnz = inrf_ld32(p + 4);
    if (nnz > count || (!pruned && nnz != count))
        return INRF_LOC_NNZ;
    const uint64_t m = pruned ? (count + 7) / 8 : 0;
    const uint64_t s = enc == 2 ? 1 : enc == 3 ? out : 0;
    const uint64_t v = (uint64_t)nnz * (enc == 0 ? 4 : enc == 1 ? 2 : 1);
    const uint64_t b = (uint64_t)out * (p[1] ? 2 : 4);
    if (8 + m > n)
        return INRF_LOC_BITMAP;
    if (8 + m + 4 * s > n)
        return INRF_LOC_SCALES;
    if (8 + m + 4 * s + v > n)
        return INRF_LOC_VALUES;
    if (8 + m + 4 * s + v + b > n)
        return INRF_LOC_BIASES;
    l->encoding = enc;
    l->bias_f16 = p[1];
    l->nnz = nnz;
    l->bitmap = pruned ? p + 8 : NULL;
    l->scales = p + 8 + m;
    l->values = l->scales + 4 * s;
    l->biases = l->values + v;
    l->end = l->biases + b;
    return INRF_LOC_OK;
}

/* inrf_layer_locate_why for the decoders: 1 when the layout is good. */
INRF_HD int inrf_layer_locate(const uint8_t *p, size_t n, unsigned in, unsigned out,
                              inrf_layer_loc *l)
{
    return inrf_layer_locate_why(p, n, in, out, l) == INRF_LOC_OK;
}

/* Stored value v (of output row `row`), dequantised: for int8, q * scale
 * in binary32, the product the reader forms (spec "Dequantisation"). */
INRF_HD float inrf_layer_value(const inrf_layer_loc *l, size_t v, unsigned row)
{
    if (v >= l->nnz) /* a bitmap that keeps more than nnz */
        return 0.0f;
    switch (l->encoding) {
    case 0: return inrf_ldf32(l->values + 4 * v);
    case 1: return inrf_f16_to_f32(inrf_ld16(l->values + 2 * v));
    default: {
        float s = inrf_ldf32(l->scales + 4 * (l->encoding == 2 ? 0 : row));
        return (float)(int8_t)l->values[v] * s;
    }
    }
}

INRF_HD float inrf_layer_bias(const inrf_layer_loc *l, unsigned j)
{
    if (!l->biases) /* a record inrf_layer_locate refused */
        return 0.0f;
    if (l->bias_f16)
        return inrf_f16_to_f32(inrf_ld16(l->biases + 2 * j));
    return inrf_ldf32(l->biases + 4 * j);
}

/* Whether weight k (row-major) is kept. */
INRF_HD int inrf_layer_kept(const inrf_layer_loc *l, size_t k)
{
    return !l->bitmap || ((l->bitmap[k >> 3] >> (k & 7)) & 1);
}

/* The whole layer into w[out][in] (0 where pruned) and b[out], serially
 * (the CPU's way; a GPU block shares the work with inrf_layer_value).
 * Returns 1, or 0 when the bitmap keeps other than nnz weights (the
 * values past nnz read as 0). */
INRF_HD int inrf_layer_expand(const inrf_layer_loc *l, float *w, float *b)
{
    size_t count = (size_t)l->in * l->out, v = 0;
    for (size_t k = 0; k < count; k++) {
        int keep = inrf_layer_kept(l, k);
        w[k] = keep ? inrf_layer_value(l, v, (unsigned)(k / l->in)) : 0.0f;
        v += (size_t)keep;
    }
    for (unsigned j = 0; j < l->out; j++)
        b[j] = inrf_layer_bias(l, j);
    return v == l->nnz;
}

#endif /* INRF_RECORD_H */
