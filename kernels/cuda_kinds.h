/* cuda_kinds.h: the GPU decoder's testing hook, for C and C++: kind.h's
 * inrf_kind_register_ for the kinds' GPU evaluators (struct
 * inrf_cuda_kind, decode_kernel.h). Private to kernels/ and the tests. */
#ifndef INRF_CUDA_KINDS_H
#define INRF_CUDA_KINDS_H

#include "inrf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct inrf_cuda_kind inrf_cuda_kind;

/* Makes the GPU decoder of this process take packs of kind->kind, until
 * inrf_cuda_kind_unregister_. Only kind 255 (INRF_KIND_TESTING, spec
 * "Network kinds"); not thread-safe. Exported by libinrf_cuda and its
 * emulation; the tools never call it. */
INRF_API INRF_NODISCARD inrf_status inrf_cuda_kind_register_(const inrf_cuda_kind *kind);
INRF_API void inrf_cuda_kind_unregister_(unsigned kind);

#ifdef __cplusplus
}
#endif

#endif /* INRF_CUDA_KINDS_H */
