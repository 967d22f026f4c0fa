/* format.c: SIREN's bytes: the NHDR payload (spec/inrf.md section 6) and
 * the layer records of WGHT (section 7), which are also a pack's records:
 * parsing with every check, loading a verified record for decoding, and
 * writing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "../format.h"
#include "../internal.h"
#include "inrf/record.h"
#include "inrf/siren_math.h"
#include "siren.h"

/* Payload bytes of the NHDR that begins at d (12 + 2L). */
size_t inrf_siren_nhdr_size(const uint8_t *d, size_t avail)
{
    return avail < 2 ? INRF_NHDR_FIXED : INRF_NHDR_FIXED + 2u * d[1];
}

/* spec "NHDR" (d[0] is SIREN): fills the network fields of a (whose width, height and
 * channels are already set) and checks them against the spec and opt. */
inrf_status inrf_siren_nhdr_parse(inrf_arch *a, const uint8_t *d, size_t n,
                                  const inrf_read_options *opt)
{
    if (n < INRF_NHDR_FIXED)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %zu bytes, too short", n);
    a->kind = d[0];
    a->layers = d[1];
    if (a->layers < 1 || a->layers > INRF_MAX_SINE_LAYERS)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %u sine layers outside 1..%u", a->layers,
                         INRF_MAX_SINE_LAYERS);
    if (n != INRF_NHDR_FIXED + 2u * a->layers)
        return inrf_fail(INRF_E_FORMAT, "NHDR: %zu bytes, expected %u", n,
                         INRF_NHDR_FIXED + 2u * a->layers);
    if (a->layers > opt->max_layers)
        return inrf_fail(INRF_E_LIMIT, "NHDR: %u sine layers over the limit %u", a->layers,
                         opt->max_layers);
    if (d[2] != INRF_COORDS_CENTRES)
        return inrf_fail(INRF_E_UNSUPPORTED, "NHDR: coordinate convention %u unknown", d[2]);
    if (d[3] > INRF_OUTPUT_SIGNED)
        return inrf_fail(INRF_E_UNSUPPORTED, "NHDR: output mapping %u unknown", d[3]);
    a->output_map = d[3];
    a->omega_first = inrf_ldf32(d + 4);
    a->omega_hidden = inrf_ldf32(d + 8);
    for (unsigned l = 0; l < a->layers; l++) {
        a->hidden[l] = inrf_ld16(d + INRF_NHDR_FIXED + 2 * l);
        if (a->hidden[l] > opt->max_width && a->hidden[l] <= INRF_MAX_WIDTH)
            return inrf_fail(INRF_E_LIMIT, "NHDR: layer %u width %u over the limit %u", l,
                             a->hidden[l], opt->max_width);
    }
    inrf_status st = inrf_arch_check(a);
    if (st != INRF_OK)
        return inrf_fail(st, "NHDR: %s", inrf_last_error());
    if (inrf_arch_params(a) > opt->max_params)
        return inrf_fail(INRF_E_LIMIT, "NHDR: %zu parameters over the limit %zu",
                         inrf_arch_params(a), opt->max_params);
    return INRF_OK;
}

size_t inrf_siren_nhdr_put(const inrf_arch *a, uint8_t *nhdr)
{
    nhdr[0] = a->kind;
    nhdr[1] = a->layers;
    nhdr[2] = INRF_COORDS_CENTRES;
    nhdr[3] = a->output_map;
    inrf_stf32(nhdr + 4, a->omega_first);
    inrf_stf32(nhdr + 8, a->omega_hidden);
    for (unsigned l = 0; l < a->layers; l++)
        inrf_st16(nhdr + INRF_NHDR_FIXED + 2 * l, a->hidden[l]);
    return INRF_NHDR_FIXED + 2u * a->layers;
}


/* Upper bound of the WGHT payload for the architecture (pruned, per-row
 * scales, f32): bounds a compressed payload's announced raw length. */
size_t inrf_siren_weights_max(const inrf_arch *a)
{
    size_t n = 0;
    for (unsigned l = 0; l <= a->layers; l++) {
        unsigned in, out;
        inrf_layer_shape(a, l, &in, &out);
        size_t w = (size_t)in * out;
        n += INRF_LAYER_HEADER_SIZE + (w + 7) / 8 + 4 * (size_t)out + 4 * w + 4 * (size_t)out;
    }
    return n;
}

/* The layout problem that inrf_layer_locate_why found in layer l, as the
 * reader reports it. */
static inrf_status layout_error(int why, unsigned l, const uint8_t *d, size_t count)
{
    static const char *const past[] = {"bitmap", "scales", "values", "biases"};
    switch (why) {
    case INRF_LOC_HEADER:
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: header runs past the chunk", l);
    case INRF_LOC_ENCODING:
        return inrf_fail(INRF_E_UNSUPPORTED, "WGHT: layer %u: encoding %u unknown", l, d[0]);
    case INRF_LOC_BIAS_ENCODING:
        return inrf_fail(INRF_E_UNSUPPORTED, "WGHT: layer %u: bias encoding %u unknown", l, d[1]);
    case INRF_LOC_FLAGS:
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: flags 0x%02x: reserved bits set", l, d[2]);
    case INRF_LOC_RESERVED:
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: reserved byte %u, must be 0", l, d[3]);
    case INRF_LOC_NNZ:
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: nnz %u, the layer has %zu weights%s", l,
                         inrf_ld32(d + 4), count,
                         d[2] & INRF_LAYER_FLAG_PRUNED ? "" : " (not pruned)");
    default:
        return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: %s runs past the chunk", l,
                         past[why - INRF_LOC_BITMAP]);
    }
}

/* spec "Layer record": the layout as the decoders read it (record.h),
 * then every value. */
static inrf_status parse_layer(inrf_model *m, unsigned l, const uint8_t *d, size_t n, size_t *used)
{
    inrf_layer *L = &m->layer[l];
    int8_t *qs;
    float *ss;
    uint8_t *ms;
    inrf_layer_storage(m, l, &qs, &ss, &ms);
    const size_t count = (size_t)L->in * L->out;
    inrf_layer_loc loc;
    int why = inrf_layer_locate_why(d, n, L->in, L->out, &loc);
    if (why != INRF_LOC_OK)
        return layout_error(why, l, d, count);
    const unsigned enc = loc.encoding;
    L->encoding = (uint8_t)enc;
    L->bias_encoding = (uint8_t)(loc.bias_f16 ? INRF_ENC_F16 : INRF_ENC_F32);
    L->nnz = loc.nnz;
    L->mask = NULL;
    if (loc.bitmap) {
        size_t mb = (count + 7) / 8;
        memcpy(ms, loc.bitmap, mb);
        if ((count & 7) && (ms[mb - 1] >> (count & 7)))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bitmap padding bits set", l);
        size_t pop = 0;
        for (size_t i = 0; i < mb; i++)
            pop += (size_t)__builtin_popcount(ms[i]);
        if (pop != loc.nnz)
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bitmap keeps %zu weights, nnz is %u",
                             l, pop, loc.nnz);
        L->mask = ms;
    }
    size_t nscale = enc == INRF_ENC_INT8 ? 1 : enc == INRF_ENC_INT8_ROW ? L->out : 0;
    for (size_t i = 0; i < nscale; i++) {
        ss[i] = inrf_ldf32(loc.scales + 4 * i);
        if (!(isfinite(ss[i]) && ss[i] > 0.0f))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: scale %zu is %g, not finite and > 0",
                             l, i, (double)ss[i]);
    }
    const uint8_t *v = loc.values;
    size_t iv = 0;
    for (size_t k = 0; k < count; k++) {
        int keep = !L->mask || ((L->mask[k >> 3] >> (k & 7)) & 1);
        float w = 0.0f;
        int8_t q = 0;
        if (keep) {
            if (enc == INRF_ENC_F32) {
                w = inrf_ldf32(v + 4 * iv);
            } else if (enc == INRF_ENC_F16) {
                uint16_t h = inrf_ld16(v + 2 * iv);
                if (!inrf_f16_finite(h))
                    return inrf_fail(INRF_E_FORMAT,
                                     "WGHT: layer %u: weight %zu (f16 0x%04x) is Inf or NaN", l,
                                     k, h);
                w = inrf_f16_to_f32(h);
            } else {
                q = (int8_t)v[iv];
                if (q == -128)
                    return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: weight %zu is int8 -128", l,
                                     k);
                w = (float)q * ss[enc == INRF_ENC_INT8 ? 0 : k / L->in];
            }
            if (!isfinite(w))
                return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: weight %zu not finite%s", l, k,
                                 enc >= INRF_ENC_INT8 ? " (int8 times its scale overflows)" : "");
            iv++;
        }
        L->w[k] = w;
        qs[k] = q;
    }
    const uint8_t *b = loc.biases;
    for (unsigned j = 0; j < L->out; j++) {
        if (loc.bias_f16 && !inrf_f16_finite(inrf_ld16(b + 2 * j)))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bias %u (f16 0x%04x) is Inf or NaN", l,
                             j, inrf_ld16(b + 2 * j));
        L->b[j] = loc.bias_f16 ? inrf_f16_to_f32(inrf_ld16(b + 2 * j)) : inrf_ldf32(b + 4 * j);
        if (!isfinite(L->b[j]))
            return inrf_fail(INRF_E_FORMAT, "WGHT: layer %u: bias %u not finite", l, j);
    }
    L->q = nscale ? qs : NULL;
    L->scale = nscale ? ss : NULL;
    *used = (size_t)(loc.end - d);
    return INRF_OK;
}

/* spec "WGHT": the L + 1 layer records, into a model of the right
 * architecture. Also the parser of .inrpack records (the same bytes). */
inrf_status inrf_siren_weights_parse(inrf_model *m, const uint8_t *d, size_t n)
{
    size_t pos = 0;
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        size_t used = 0;
        inrf_status st = parse_layer(m, l, d + pos, n - pos, &used);
        if (st != INRF_OK)
            return st;
        pos += used;
    }
    if (pos != n)
        return inrf_fail(INRF_E_FORMAT, "WGHT: %zu bytes after the last layer", n - pos);
    return INRF_OK;
}

/* A record verified when its pack was opened, expanded by record.h (the
 * code the GPU kernels share) into m's dense weights, bounded by n: the
 * bytes may have changed since (a mapped file rewritten in place). */
inrf_status inrf_siren_weights_load(inrf_model *m, const uint8_t *d, size_t n)
{
    const uint8_t *end = d + n;
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        inrf_layer_loc loc;
        if (!inrf_layer_locate(d, (size_t)(end - d), m->layer[l].in, m->layer[l].out, &loc) ||
            !inrf_layer_expand(&loc, m->layer[l].w, m->layer[l].b))
            return inrf_fail(INRF_E_FORMAT, "layer %u malformed", l);
        d = loc.end;
    }
    return INRF_OK;
}

/* The layers of a model about to be written (its architecture is
 * checked): what the reader would refuse is refused here. */
inrf_status inrf_siren_weights_check(const inrf_model *m)
{
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        const inrf_layer *L = &m->layer[l];
        unsigned in, out;
        inrf_layer_shape(&m->arch, l, &in, &out);
        size_t n = (size_t)in * out;
        if (L->in != in || L->out != out || L->encoding >= INRF_ENC_COUNT ||
            (L->bias_encoding != INRF_ENC_F32 && L->bias_encoding != INRF_ENC_F16))
            return inrf_fail(INRF_E_INVALID_ARG, "layer %u: shape or encoding inconsistent", l);
        int int8 = L->encoding == INRF_ENC_INT8 || L->encoding == INRF_ENC_INT8_ROW;
        if (int8 != (L->q != NULL && L->scale != NULL))
            return inrf_fail(INRF_E_INVALID_ARG, "layer %u: int8 values missing (inrf_layer_encode)", l);
        size_t nnz = 0;
        for (size_t k = 0; k < n; k++) {
            int keep = !L->mask || ((L->mask[k >> 3] >> (k & 7)) & 1);
            nnz += (size_t)keep;
            if (!isfinite(L->w[k]) || (int8 && L->q[k] == -128))
                return inrf_fail(INRF_E_INVALID_ARG, "layer %u: weight %zu out of range", l, k);
        }
        if (nnz != L->nnz)
            return inrf_fail(INRF_E_INVALID_ARG, "layer %u: nnz %u but %zu kept", l, L->nnz, nnz);
        for (unsigned j = 0; j < out; j++)
            if (!isfinite(L->b[j]))
                return inrf_fail(INRF_E_INVALID_ARG, "layer %u: bias %u not finite", l, j);
        for (unsigned j = 0; int8 && j < (L->encoding == INRF_ENC_INT8 ? 1u : out); j++)
            if (!(isfinite(L->scale[j]) && L->scale[j] > 0))
                return inrf_fail(INRF_E_INVALID_ARG, "layer %u: scale %u not positive", l, j);
    }
    return INRF_OK;
}

static uint8_t *put_layer(uint8_t *p, const inrf_layer *L)
{
    size_t n = (size_t)L->in * L->out;
    p[0] = L->encoding;
    p[1] = L->bias_encoding;
    p[2] = L->mask ? INRF_LAYER_FLAG_PRUNED : 0;
    p[3] = 0;
    inrf_st32(p + 4, L->nnz);
    p += INRF_LAYER_HEADER_SIZE;
    if (L->mask) {
        memcpy(p, L->mask, (n + 7) / 8);
        p += (n + 7) / 8;
    }
    size_t nscale = L->encoding == INRF_ENC_INT8 ? 1 : L->encoding == INRF_ENC_INT8_ROW ? L->out : 0;
    for (size_t i = 0; i < nscale; i++, p += 4)
        inrf_stf32(p, L->scale[i]);
    for (size_t k = 0; k < n; k++) {
        if (L->mask && !((L->mask[k >> 3] >> (k & 7)) & 1))
            continue;
        switch (L->encoding) {
        case INRF_ENC_F32: inrf_stf32(p, L->w[k]), p += 4; break;
        case INRF_ENC_F16: inrf_st16(p, inrf_f32_to_f16(L->w[k])), p += 2; break;
        default: *p++ = (uint8_t)L->q[k]; break;
        }
    }
    for (unsigned j = 0; j < L->out; j++) {
        if (L->bias_encoding == INRF_ENC_F32)
            inrf_stf32(p, L->b[j]), p += 4;
        else
            inrf_st16(p, inrf_f32_to_f16(L->b[j])), p += 2;
    }
    return p;
}

void inrf_siren_weights_put(const inrf_model *m, uint8_t *p)
{
    for (unsigned l = 0; l <= m->arch.layers; l++)
        p = put_layer(p, &m->layer[l]);
}
