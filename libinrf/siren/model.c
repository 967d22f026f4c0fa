/* model.c: SIREN's in-memory model: its architecture (sine layers and
 * widths), its layers in one arena, initialisation, quantisation and
 * pruning of layers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes.h"
#include "../format.h"
#include "../internal.h"
#include "inrf/siren_math.h"
#include "siren.h"

/* Storage behind every layer's optional arrays; the layer points into it
 * only while the array is in use (int8 encodings, pruning). */
typedef struct arena {
    size_t bytes;
    int8_t *q[INRF_MAX_SINE_LAYERS + 1];
    float *scale[INRF_MAX_SINE_LAYERS + 1];
    uint8_t *mask[INRF_MAX_SINE_LAYERS + 1];
    /* the block follows */
} arena;

void inrf_layer_shape(const inrf_arch *arch, unsigned l, unsigned *in, unsigned *out)
{
    *in = l == 0 ? 2u : arch->hidden[l - 1];
    *out = l == arch->layers ? arch->channels : arch->hidden[l];
}

void inrf_arch_siren(inrf_arch *arch, uint32_t width, uint32_t height, uint8_t channels,
                     uint8_t layers, uint16_t hidden)
{
    memset(arch, 0, sizeof *arch);
    arch->width = width;
    arch->height = height;
    arch->channels = channels;
    arch->kind = INRF_KIND_SIREN;
    arch->output_map = INRF_OUTPUT_UNIT;
    arch->layers = layers;
    for (unsigned l = 0; l < layers && l < INRF_MAX_SINE_LAYERS; l++)
        arch->hidden[l] = hidden;
    arch->omega_first = 30.0f;
    arch->omega_hidden = 30.0f;
}

/* spec "NHDR": the fields of SIREN (the common ones are model.c's). */
inrf_status inrf_siren_arch_check(const inrf_arch *a, int writable)
{
    if (a->output_map > INRF_OUTPUT_SIGNED)
        return inrf_fail(INRF_E_UNSUPPORTED, "output mapping %u unknown", a->output_map);
    if (a->layers < 1 || a->layers > INRF_MAX_SINE_LAYERS)
        return inrf_fail(INRF_E_FORMAT, "%u sine layers outside 1..%u", a->layers,
                         INRF_MAX_SINE_LAYERS);
    for (unsigned l = 0; l < a->layers; l++)
        if (a->hidden[l] < 1 || a->hidden[l] > INRF_MAX_WIDTH)
            return inrf_fail(INRF_E_FORMAT, "layer %u width %u outside 1..%u", l, a->hidden[l],
                             INRF_MAX_WIDTH);
    if (!(isfinite(a->omega_first) && a->omega_first > 0))
        return inrf_fail(INRF_E_FORMAT, "omega_first %g: must be finite and > 0",
                         (double)a->omega_first);
    if (!(isfinite(a->omega_hidden) && a->omega_hidden > 0))
        return inrf_fail(INRF_E_FORMAT, "omega_hidden %g: must be finite and > 0",
                         (double)a->omega_hidden);
    size_t params = inrf_arch_params(a);
    if (writable && params > INRF_DEFAULT_MAX_PARAMS)
        return inrf_fail(INRF_E_LIMIT,
                         "layers %u and hidden %u make %zu parameters (weights and biases), over "
                         "the readers' default limit %zu (max_params)",
                         a->layers, a->hidden[0], params, INRF_DEFAULT_MAX_PARAMS);
    return INRF_OK;
}

size_t inrf_arch_params(const inrf_arch *arch)
{
    size_t n = 0;
    for (unsigned l = 0; l <= arch->layers; l++) {
        unsigned in, out;
        inrf_layer_shape(arch, l, &in, &out);
        n += (size_t)in * out + out;
    }
    return n;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* The layers of m->arch in one 64-byte aligned arena, all weights zero,
 * fp32, unpruned. */
inrf_status inrf_siren_model_alloc(inrf_model *m)
{
    const inrf_arch *arch = &m->arch;
    /* Sizes are bounded by the spec limits (64 layers of 1024 x 1024), so
     * nothing below overflows a 64-bit size_t. */
    size_t bytes = align64(sizeof(arena));
    for (unsigned l = 0; l <= arch->layers; l++) {
        unsigned in, o;
        inrf_layer_shape(arch, l, &in, &o);
        size_t n = (size_t)in * o;
        bytes += align64(n * sizeof(float)) + align64(o * sizeof(float)) + align64(n) +
                 align64(o * sizeof(float)) + align64((n + 7) / 8);
    }
    arena *a = aligned_alloc(64, align64(bytes));
    if (!a)
        return inrf_fail(INRF_E_NOMEM, "model: cannot allocate %zu bytes", bytes);
    memset(a, 0, align64(bytes));
    a->bytes = bytes;
    m->arena_ = a;
    uint8_t *p = (uint8_t *)a + align64(sizeof(arena));
    for (unsigned l = 0; l <= arch->layers; l++) {
        inrf_layer *L = &m->layer[l];
        unsigned in, o;
        inrf_layer_shape(arch, l, &in, &o);
        size_t n = (size_t)in * o;
        L->in = (uint16_t)in;
        L->out = (uint16_t)o;
        L->encoding = INRF_ENC_F32;
        L->bias_encoding = INRF_ENC_F32;
        L->nnz = (uint32_t)n;
        L->w = (float *)p, p += align64(n * sizeof(float));
        L->b = (float *)p, p += align64(o * sizeof(float));
        a->q[l] = (int8_t *)p, p += align64(n);
        a->scale[l] = (float *)p, p += align64(o * sizeof(float));
        a->mask[l] = p, p += align64((n + 7) / 8);
    }
    return INRF_OK;
}

void inrf_siren_model_release(inrf_model *m)
{
    free(m->arena_);
    m->arena_ = NULL;
}

void inrf_siren_model_copy(inrf_model *m, const inrf_model *src)
{
    const arena *sa = src->arena_;
    arena *da = m->arena_;
    for (unsigned l = 0; l <= src->arch.layers; l++) {
        const inrf_layer *S = &src->layer[l];
        inrf_layer *D = &m->layer[l];
        size_t n = (size_t)S->in * S->out;
        memcpy(D->w, S->w, n * sizeof(float));
        memcpy(D->b, S->b, S->out * sizeof(float));
        memcpy(da->q[l], sa->q[l], n);
        memcpy(da->scale[l], sa->scale[l], S->out * sizeof(float));
        memcpy(da->mask[l], sa->mask[l], (n + 7) / 8);
        D->encoding = S->encoding;
        D->bias_encoding = S->bias_encoding;
        D->nnz = S->nnz;
        D->q = S->q ? da->q[l] : NULL;
        D->scale = S->scale ? da->scale[l] : NULL;
        D->mask = S->mask ? da->mask[l] : NULL;
    }
}

/* splitmix64: small, seedable, and the same on every platform. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-a, a) from the top 24 bits. */
static float uniform(uint64_t *s, float a)
{
    float u = (float)(splitmix64(s) >> 40) * (1.0f / 16777216.0f);
    return (2.0f * u - 1.0f) * a;
}

void inrf_model_init(inrf_model *m, uint64_t seed)
{
    uint64_t s = seed;
    if (!m || m->arch.kind != INRF_KIND_SIREN)
        return; /* SIREN's initialisation; other kinds have their own */
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        inrf_layer *L = &m->layer[l];
        float a = l == 0 ? 1.0f / L->in : sqrtf(6.0f / L->in) / m->arch.omega_hidden;
        float ab = 1.0f / sqrtf((float)L->in);
        for (size_t i = 0; i < (size_t)L->in * L->out; i++)
            L->w[i] = uniform(&s, a);
        for (unsigned j = 0; j < L->out; j++)
            L->b[j] = uniform(&s, ab);
        L->encoding = L->bias_encoding = INRF_ENC_F32;
        L->nnz = (uint32_t)L->in * L->out;
        L->q = NULL;
        L->scale = NULL;
        L->mask = NULL;
    }
}

static int kept(const uint8_t *mask, size_t k) { return !mask || ((mask[k >> 3] >> (k & 7)) & 1); }

static float round_f16(float v) { return inrf_f16_to_f32(inrf_f32_to_f16(v)); }

/* Symmetric int8 quantisation of w[0..n) (positions of the mask only). */
static float quantise(float *w, int8_t *q, size_t n, const uint8_t *mask, size_t k0)
{
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (kept(mask, k0 + i) && fabsf(w[i]) > amax)
            amax = fabsf(w[i]);
    float s = amax > 0.0f ? amax / 127.0f : 1.0f;
    for (size_t i = 0; i < n; i++) {
        float r = kept(mask, k0 + i) ? rintf(w[i] / s) : 0.0f;
        r = r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r);
        q[i] = (int8_t)r;
        w[i] = (float)q[i] * s;
    }
    return s;
}

inrf_status inrf_layer_encode(inrf_model *m, unsigned l, inrf_encoding enc, inrf_encoding benc)
{
    if (!m || m->arch.kind != INRF_KIND_SIREN || l > m->arch.layers ||
        (unsigned)enc >= INRF_ENC_COUNT ||
        (benc != INRF_ENC_F32 && benc != INRF_ENC_F16))
        return inrf_fail(INRF_E_INVALID_ARG, "layer_encode: bad layer or encoding");
    arena *a = m->arena_;
    inrf_layer *L = &m->layer[l];
    size_t n = (size_t)L->in * L->out;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(L->w[i]))
            return inrf_fail(INRF_E_INVALID_ARG, "layer %u: weight %zu is not finite", l, i);
    L->q = NULL;
    L->scale = NULL;
    switch (enc) {
    case INRF_ENC_F32:
        break;
    case INRF_ENC_F16:
        for (size_t i = 0; i < n; i++)
            L->w[i] = round_f16(L->w[i]);
        break;
    case INRF_ENC_INT8:
        a->scale[l][0] = quantise(L->w, a->q[l], n, L->mask, 0);
        L->q = a->q[l];
        L->scale = a->scale[l];
        break;
    case INRF_ENC_INT8_ROW:
        for (unsigned r = 0; r < L->out; r++)
            a->scale[l][r] = quantise(L->w + (size_t)r * L->in, a->q[l] + (size_t)r * L->in,
                                      L->in, L->mask, (size_t)r * L->in);
        L->q = a->q[l];
        L->scale = a->scale[l];
        break;
    }
    if (benc == INRF_ENC_F16)
        for (unsigned j = 0; j < L->out; j++)
            L->b[j] = round_f16(L->b[j]);
    L->encoding = (uint8_t)enc;
    L->bias_encoding = (uint8_t)benc;
    return INRF_OK;
}

inrf_status inrf_layer_set_mask(inrf_model *m, unsigned l, const uint8_t *mask)
{
    if (!m || m->arch.kind != INRF_KIND_SIREN || l > m->arch.layers)
        return inrf_fail(INRF_E_INVALID_ARG, "layer_set_mask: bad layer");
    arena *a = m->arena_;
    inrf_layer *L = &m->layer[l];
    size_t n = (size_t)L->in * L->out;
    if (!mask) {
        L->mask = NULL;
        L->nnz = (uint32_t)n;
    } else {
        memcpy(a->mask[l], mask, (n + 7) / 8);
        if (n & 7) /* padding bits are reserved: keep them 0 */
            a->mask[l][n >> 3] &= (uint8_t)((1u << (n & 7)) - 1);
        L->mask = a->mask[l];
        uint32_t nnz = 0;
        for (size_t k = 0; k < n; k++) {
            if (kept(L->mask, k))
                nnz++;
            else
                L->w[k] = 0.0f;
        }
        L->nnz = nnz;
    }
    if (L->encoding == INRF_ENC_INT8 || L->encoding == INRF_ENC_INT8_ROW)
        return inrf_layer_encode(m, l, (inrf_encoding)L->encoding,
                                 (inrf_encoding)L->bias_encoding);
    return INRF_OK;
}

static size_t value_bytes(unsigned enc)
{
    return enc == INRF_ENC_F32 ? 4 : enc == INRF_ENC_F16 ? 2 : 1;
}

size_t inrf_layer_bytes(const inrf_layer *L)
{
    size_t n = (size_t)L->in * L->out;
    size_t scales = L->encoding == INRF_ENC_INT8 ? 1 : L->encoding == INRF_ENC_INT8_ROW ? L->out : 0;
    return INRF_LAYER_HEADER_SIZE + (L->mask ? (n + 7) / 8 : 0) + 4 * scales +
           (size_t)L->nnz * value_bytes(L->encoding) +
           (size_t)L->out * value_bytes(L->bias_encoding);
}

size_t inrf_siren_weights_size(const inrf_model *m)
{
    size_t n = 0;
    for (unsigned l = 0; l <= m->arch.layers; l++)
        n += inrf_layer_bytes(&m->layer[l]);
    return n;
}

/* Used by format.c to adopt the arena's storage for a parsed layer. */
void inrf_layer_storage(inrf_model *m, unsigned l, int8_t **q, float **scale, uint8_t **mask)
{
    arena *a = m->arena_;
    *q = a->q[l];
    *scale = a->scale[l];
    *mask = a->mask[l];
}

