/* kind.c: SIREN, kind 0 (spec/inrf.md sections 6, 7 and 9), as the entry
 * of libinrf's kind table (kinds.c). */
#include "siren.h"

const inrf_kind_ops inrf_siren_kind = {
    .kind = INRF_KIND_SIREN,
    .name = "SIREN",
    .nhdr_size = inrf_siren_nhdr_size,
    .nhdr_parse = inrf_siren_nhdr_parse,
    .nhdr_put = inrf_siren_nhdr_put,
    .arch_check = inrf_siren_arch_check,
    .params = inrf_arch_params,
    .weights_max = inrf_siren_weights_max,
    .model_alloc = inrf_siren_model_alloc,
    .model_release = inrf_siren_model_release,
    .model_copy = inrf_siren_model_copy,
    .weights_parse = inrf_siren_weights_parse,
    .weights_load = inrf_siren_weights_load,
    .weights_check = inrf_siren_weights_check,
    .weights_size = inrf_siren_weights_size,
    .weights_put = inrf_siren_weights_put,
    .cpu_eval = inrf_siren_cpu_eval,
    .macs_per_pixel = inrf_siren_macs_per_pixel,
    .info = inrf_siren_info,
    .encode = inrf_encode, /* encode.c: the paper's four stages and rate control */
};
