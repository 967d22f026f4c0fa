/* model.c: the kind-neutral model: the checks every architecture shares,
 * allocation and copies through the model's kind (kind.h), and names and
 * inspection text for display. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "inrf/kind.h"
#include "internal.h"

/* The layouts model.h promises: the kinds' room in inrf_arch is SIREN's
 * fields, so the struct's size does not depend on the kinds built in. */
_Static_assert(sizeof(((inrf_arch *)0)->params) ==
                   sizeof(((inrf_arch *)0)->hidden) + 2 * sizeof(float),
               "inrf_arch: params must cover SIREN's fields exactly");
_Static_assert(sizeof(inrf_arch) == 152, "inrf_arch changed size: a new ABI");

/* The kind of an architecture, or the failure that names the unknown one. */
inrf_status inrf_kind_of(const inrf_arch *a, const inrf_kind_ops **kind)
{
    *kind = inrf_kind_find(a->kind);
    if (!*kind)
        return inrf_fail(INRF_E_UNSUPPORTED, "network kind %u unknown", a->kind);
    return INRF_OK;
}

/* spec "IHDR" and the kind's own fields. */
static inrf_status arch_check(const inrf_arch *a, int writable)
{
    if (!a)
        return inrf_fail(INRF_E_INVALID_ARG, "architecture is NULL");
    if (a->width < 1 || a->width > INRF_MAX_DIM || a->height < 1 || a->height > INRF_MAX_DIM)
        return inrf_fail(INRF_E_FORMAT, "image size %ux%u outside 1..%u", a->width, a->height,
                         INRF_MAX_DIM);
    if (a->colour_space != INRF_COLOUR_SRGB)
        return inrf_fail(INRF_E_UNSUPPORTED, "colour space %u unknown", a->colour_space);
    if (a->channels != 1 && a->channels != 3)
        return inrf_fail(INRF_E_FORMAT, "channels %u: must be 1 or 3", a->channels);
    const inrf_kind_ops *k;
    inrf_status st = inrf_kind_of(a, &k);
    if (st != INRF_OK)
        return st;
    return k->arch_check(a, writable);
}

inrf_status inrf_arch_check(const inrf_arch *a) { return arch_check(a, 0); }

inrf_status inrf_arch_check_writable(const inrf_arch *a) { return arch_check(a, 1); }

inrf_status inrf_model_create(const inrf_arch *arch, inrf_model **out)
{
    if (!out)
        return inrf_fail(INRF_E_INVALID_ARG, "output pointer is NULL");
    *out = NULL;
    inrf_status st = inrf_arch_check(arch);
    if (st != INRF_OK)
        return st;
    inrf_model *m = calloc(1, sizeof *m);
    if (!m)
        return inrf_fail(INRF_E_NOMEM, "model: out of memory");
    m->arch = *arch;
    m->psnr = NAN;
    m->struct_version = INRF_MODEL_VERSION;
    m->struct_size = (uint32_t)sizeof *m;
    if ((st = inrf_kind_find(arch->kind)->model_alloc(m)) != INRF_OK) {
        free(m);
        return st;
    }
    *out = m;
    return INRF_OK;
}

void inrf_model_free(inrf_model *model)
{
    if (!model)
        return;
    const inrf_kind_ops *k = inrf_kind_find(model->arch.kind);
    if (k)
        k->model_release(model);
    free(model);
}

inrf_status inrf_model_clone(const inrf_model *src, inrf_model **out)
{
    if (!src || !out)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    inrf_model *m;
    inrf_status st = inrf_model_create(&src->arch, &m);
    if (st != INRF_OK)
        return st;
    inrf_kind_find(src->arch.kind)->model_copy(m, src);
    m->psnr = src->psnr;
    m->compress_mask = src->compress_mask;
    *out = m;
    return INRF_OK;
}

size_t inrf_model_params(const inrf_model *m)
{
    const inrf_kind_ops *k = inrf_kind_find(m->arch.kind);
    return k ? k->params(&m->arch) : 0;
}

size_t inrf_model_weight_bytes(const inrf_model *m)
{
    const inrf_kind_ops *k = inrf_kind_find(m->arch.kind);
    return k ? k->weights_size(m) : 0;
}

uint64_t inrf_model_macs_per_pixel(const inrf_model *m)
{
    const inrf_kind_ops *k = inrf_kind_find(m->arch.kind);
    return k ? k->macs_per_pixel(m) : 0;
}

size_t inrf_model_info(const inrf_model *m, int part, char *buf, size_t size)
{
    const inrf_kind_ops *k = m ? inrf_kind_find(m->arch.kind) : NULL;
    if (buf && size)
        buf[0] = 0;
    if (!k || part < INRF_INFO_NETWORK || part > INRF_INFO_JSON)
        return 0;
    return k->info(m, &m->arch, part, buf, size);
}

size_t inrf_arch_info(const inrf_arch *a, int part, char *buf, size_t size)
{
    const inrf_kind_ops *k = a ? inrf_kind_find(a->kind) : NULL;
    if (buf && size)
        buf[0] = 0;
    if (!k || (part != INRF_INFO_SUMMARY && part != INRF_INFO_ARCH_JSON))
        return 0;
    return k->info(NULL, a, part, buf, size);
}

const char *inrf_encoding_name(unsigned encoding)
{
    static const char *const names[INRF_ENC_COUNT] = {"f32", "f16", "int8", "int8-row"};
    return encoding < INRF_ENC_COUNT ? names[encoding] : "unknown";
}

const char *inrf_output_map_name(unsigned map)
{
    return map == INRF_OUTPUT_UNIT ? "unit" : map == INRF_OUTPUT_SIGNED ? "signed" : "unknown";
}
