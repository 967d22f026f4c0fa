/* cuda_backend.h: the CUDA backend: cuDNN convolutions and cuBLAS's GEMM
 * (through the trn_dnn table), own kernels for the rest, mixed precision. */
#ifndef TRN_CUDA_BACKEND_H
#define TRN_CUDA_BACKEND_H

#include "backend.h"
#include "dnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --precision: what the activations are stored in and what the tensor
 * cores may do. Parameters, gradients and momentum are always fp32. */
typedef enum trn_precision {
    TRN_PRECISION_FP32 = 0, /* fp32 everywhere, no tensor-core rounding */
    TRN_PRECISION_TF32 = 1, /* fp32 tensors, TF32 tensor-core math */
    TRN_PRECISION_BF16 = 2, /* bf16 activations and conv weights, fp32 accumulation (default) */
    TRN_PRECISION_FP16 = 3, /* fp16 likewise, with dynamic loss scaling */
} trn_precision;

/* The activation dtype of a precision (TRN_DTYPE_*, backend.h). */
int trn_precision_dtype(int precision);
/* "fp32", "tf32", "bf16", "fp16"; NULL for an unknown value. */
const char *trn_precision_name(int precision);
/* The precision named s, or -1. */
int trn_precision_parse(const char *s);

typedef struct trn_cuda_options {
    int device;        /* CUDA device ordinal, >= 0 (default 0) */
    int precision;     /* trn_precision (default TRN_PRECISION_BF16) */
    int deterministic; /* 1: deterministic cuDNN algorithms only (default 0) */
} trn_cuda_options;

void trn_cuda_options_init(trn_cuda_options *opt);

/* Whether a usable GPU is there: INRF_OK with *count >= 1, else
 * INRF_E_NO_DEVICE with the reason in trn_last_error() ("no CUDA device:
 * ..."). Does not load cuDNN. */
INRF_NODISCARD inrf_status trn_cuda_probe(int *count);

/* Creates the backend on opt->device with the libraries of the machine
 * (trn_dnn_load): a missing library or symbol, no device, or a device
 * older than the kernels (compute capability < 8.0) fails naming it. */
INRF_NODISCARD inrf_status trn_cuda_backend_create(const trn_cuda_options *opt,
                                                   trn_backend **out);
/* The same with a table filled by the caller (the tests' stand-in); the
 * backend uses it, does not own it, and it must outlive the backend. */
INRF_NODISCARD inrf_status trn_cuda_backend_create_with(const trn_cuda_options *opt,
                                                        const trn_dnn *dnn, trn_backend **out);

/* The stream every compute call of the backend is queued on (a
 * cudaStream_t). */
void *trn_cuda_backend_stream(const trn_backend *be);
/* The device's name ("NVIDIA H200"), its memory free and in all, bytes. */
const char *trn_cuda_backend_device_name(const trn_backend *be);
void trn_cuda_backend_memory(const trn_backend *be, size_t *free_bytes, size_t *total_bytes);

/* fp16 loss scaling (TRN_PRECISION_FP16; other precisions: scale 1, no
 * skips): the scale dlogits were multiplied by, and the steps skipped
 * because a gradient overflowed (the step then leaves the parameters and
 * momentum unchanged and halves the scale; 2000 clean steps double it). */
float trn_cuda_backend_loss_scale(const trn_backend *be);
unsigned long long trn_cuda_backend_skipped_steps(const trn_backend *be);

#ifdef __cplusplus
}
#endif

#endif /* TRN_CUDA_BACKEND_H */
