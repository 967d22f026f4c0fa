/* inrf.h: all of libinrf's CPU API in one include: the status codes and
 * version (types.h), models and .inrf files (model.h), images (image.h),
 * the encoder (encode.h), packs (pack.h) and the epoch sampler of the
 * training data path (sampler.h). The GPU data path is
 * inrf/cuda.h, with libinrf_cuda. No header includes this one. */
#ifndef INRF_INRF_H
#define INRF_INRF_H

#include "inrf/types.h"
#include "inrf/model.h"
#include "inrf/image.h"
#include "inrf/encode.h"
#include "inrf/pack.h"
#include "inrf/sampler.h"

#endif /* INRF_INRF_H */
