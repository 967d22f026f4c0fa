/* kinds.c: the one table of network kinds (spec/inrf.md "Network kinds"),
 * the lookup by NHDR.kind, and the testing hook that registers one more. */
#include "inrf/kind.h"
#include "internal.h"
#include "siren/siren.h"

/* Every kind built into libinrf. A new kind (kind.h says what it
 * implements): its section in spec/inrf.md, its folder libinrf/<kind>/
 * (sources listed in libinrf/local.mk, its GPU evaluator's in
 * kernels/local.mk), and one line here; its GPU evaluator one line in the
 * matching table of kernels/decode.cu, libinrf_cuda's (a library of its
 * own, which libinrf cannot name). */
static const inrf_kind_ops *const builtin[] = {
    &inrf_siren_kind,
};

/* Kinds registered by inrf_kind_register_ (tests only). */
#define MAX_REGISTERED 4
static const inrf_kind_ops *registered[MAX_REGISTERED];

const inrf_kind_ops *inrf_kind_find(unsigned kind)
{
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (builtin[i]->kind == kind)
            return builtin[i];
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (registered[i] && registered[i]->kind == kind)
            return registered[i];
    return NULL;
}

inrf_status inrf_kind_register_(const inrf_kind_ops *ops)
{
    if (!ops || ops->kind != INRF_KIND_TESTING)
        return inrf_fail(INRF_E_INVALID_ARG, "only kind %u (testing) may be registered",
                         INRF_KIND_TESTING);
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (registered[i] && registered[i]->kind == ops->kind) {
            registered[i] = ops;
            return INRF_OK;
        }
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (!registered[i]) {
            registered[i] = ops;
            return INRF_OK;
        }
    return inrf_fail(INRF_E_LIMIT, "more than %d kinds registered", MAX_REGISTERED);
}

void inrf_kind_unregister_(unsigned kind)
{
    for (size_t i = 0; i < MAX_REGISTERED; i++)
        if (registered[i] && registered[i]->kind == kind)
            registered[i] = NULL;
}

const char *inrf_kind_name(unsigned kind)
{
    const inrf_kind_ops *k = inrf_kind_find(kind);
    return k ? k->name : "unknown";
}
