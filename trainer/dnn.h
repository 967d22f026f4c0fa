/* dnn.h: the cuDNN and cuBLAS calls the CUDA backend makes, as one table of
 * function pointers filled at run time: by dlopen/dlsym of the machine's
 * libraries (dnn_load.c), or, in the tests, by a CPU stand-in. */
#ifndef TRN_DNN_H
#define TRN_DNN_H

#include <stddef.h>

#include "inrf/inrf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The types and values of cuDNN 9's descriptor API and of cuBLAS that the
 * backend uses, declared here so that the backend, the loader and the
 * stand-in build without cuDNN's headers. The values are the libraries'
 * ABI; trainer/dnn_check.c asserts them against cudnn.h and cublas_api.h
 * wherever those are installed. Every call here exists in cuDNN 9.0. */
typedef struct dnn_context *dnn_handle;         /* cudnnHandle_t */
typedef struct dnn_tensor_desc *dnn_tensor;     /* cudnnTensorDescriptor_t */
typedef struct dnn_filter_desc *dnn_filter;     /* cudnnFilterDescriptor_t */
typedef struct dnn_conv_desc *dnn_conv;         /* cudnnConvolutionDescriptor_t */
typedef struct dnn_blas_context *dnn_blas;      /* cublasHandle_t */
typedef struct CUstream_st *dnn_stream;         /* cudaStream_t */

typedef int dnn_status; /* cudnnStatus_t */
enum {
    DNN_STATUS_SUCCESS = 0,
    DNN_STATUS_NOT_INITIALIZED = 1001,
    DNN_STATUS_BAD_PARAM = 2000,
    DNN_STATUS_BAD_PARAM_NULL_POINTER = 2002,
    DNN_STATUS_BAD_PARAM_MISALIGNED_POINTER = 2003,
    DNN_STATUS_BAD_PARAM_OUT_OF_BOUND = 2005,
    DNN_STATUS_BAD_PARAM_STREAM_MISMATCH = 2007,
    DNN_STATUS_BAD_PARAM_SHAPE_MISMATCH = 2008,
    DNN_STATUS_NOT_SUPPORTED = 3000,
    DNN_STATUS_NOT_SUPPORTED_SHAPE = 3002,
    DNN_STATUS_NOT_SUPPORTED_DATA_TYPE = 3003,
    DNN_STATUS_NOT_SUPPORTED_LAYOUT = 3004,
    DNN_STATUS_INTERNAL_ERROR = 4000,
    DNN_STATUS_EXECUTION_FAILED = 5000,
};

enum { /* cudnnDataType_t */
    DNN_DATA_FLOAT = 0,
    DNN_DATA_HALF = 2,
    DNN_DATA_BFLOAT16 = 9,
};
enum { /* cudnnTensorFormat_t */
    DNN_TENSOR_NCHW = 0,
    DNN_TENSOR_NHWC = 1,
};
enum { /* cudnnMathType_t */
    DNN_DEFAULT_MATH = 0,
    DNN_TENSOR_OP_MATH = 1,
    DNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2,
    DNN_FMA_MATH = 3,
};
enum { DNN_CROSS_CORRELATION = 1 };            /* cudnnConvolutionMode_t */
enum { DNN_NON_DETERMINISTIC = 0, DNN_DETERMINISTIC = 1 }; /* cudnnDeterminism_t */

/* cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t: one layout for the three. */
typedef struct dnn_algo_perf {
    int algo;        /* cudnnConvolution*Algo_t */
    dnn_status status;
    float time;      /* ms (heuristics: -1) */
    size_t memory;   /* workspace bytes the algorithm needs */
    int determinism; /* DNN_DETERMINISTIC or not */
    int math_type;   /* DNN_*_MATH it runs with */
    int reserved[3];
} dnn_algo_perf;

typedef int blas_status; /* cublasStatus_t */
enum {
    BLAS_STATUS_SUCCESS = 0,
    BLAS_STATUS_NOT_INITIALIZED = 1,
    BLAS_STATUS_ALLOC_FAILED = 3,
    BLAS_STATUS_INVALID_VALUE = 7,
    BLAS_STATUS_EXECUTION_FAILED = 13,
    BLAS_STATUS_NOT_SUPPORTED = 15,
};
enum { BLAS_OP_N = 0, BLAS_OP_T = 1 };          /* cublasOperation_t */
enum {                                          /* cudaDataType */
    BLAS_R_32F = 0,
    BLAS_R_16F = 2,
    BLAS_R_16BF = 14,
};
enum {                                          /* cublasComputeType_t */
    BLAS_COMPUTE_32F = 68,
    BLAS_COMPUTE_32F_PEDANTIC = 69,
    BLAS_COMPUTE_32F_FAST_TF32 = 77,
};
enum { BLAS_GEMM_DEFAULT = -1 };                /* cublasGemmAlgo_t */
enum {                                          /* cublasMath_t */
    BLAS_DEFAULT_MATH = 0,
    BLAS_PEDANTIC_MATH = 2,
    BLAS_TF32_TENSOR_OP_MATH = 3,
};

/* The table. Members are named as the library's functions less their
 * "cudnn"/"cublas" prefix; signatures are the libraries' own. */
typedef struct trn_dnn {
    const char *name;       /* "cuDNN 9.1.0 + cuBLAS 12.4.5" or the stand-in's */

    /* cuDNN (libcudnn.so.9) */
    size_t (*GetVersion)(void);
    const char *(*GetErrorString)(dnn_status status);
    void (*GetLastErrorString)(char *message, size_t max_size);
    dnn_status (*Create)(dnn_handle *handle);
    dnn_status (*Destroy)(dnn_handle handle);
    dnn_status (*SetStream)(dnn_handle handle, dnn_stream stream);

    dnn_status (*CreateTensorDescriptor)(dnn_tensor *desc);
    dnn_status (*SetTensor4dDescriptor)(dnn_tensor desc, int format, int data_type, int n, int c,
                                        int h, int w);
    dnn_status (*DestroyTensorDescriptor)(dnn_tensor desc);
    dnn_status (*CreateFilterDescriptor)(dnn_filter *desc);
    dnn_status (*SetFilter4dDescriptor)(dnn_filter desc, int data_type, int format, int k, int c,
                                        int h, int w);
    dnn_status (*DestroyFilterDescriptor)(dnn_filter desc);
    dnn_status (*CreateConvolutionDescriptor)(dnn_conv *desc);
    dnn_status (*SetConvolution2dDescriptor)(dnn_conv desc, int pad_h, int pad_w, int u, int v,
                                             int dilation_h, int dilation_w, int mode,
                                             int compute_type);
    dnn_status (*SetConvolutionMathType)(dnn_conv desc, int math_type);
    dnn_status (*DestroyConvolutionDescriptor)(dnn_conv desc);

    /* Heuristic algorithm lists, best first. */
    dnn_status (*GetConvolutionForwardAlgorithm_v7)(dnn_handle h, dnn_tensor x, dnn_filter w,
                                                    dnn_conv conv, dnn_tensor y, int requested,
                                                    int *returned, dnn_algo_perf *perf);
    dnn_status (*GetConvolutionBackwardDataAlgorithm_v7)(dnn_handle h, dnn_filter w,
                                                         dnn_tensor dy, dnn_conv conv,
                                                         dnn_tensor dx, int requested,
                                                         int *returned, dnn_algo_perf *perf);
    dnn_status (*GetConvolutionBackwardFilterAlgorithm_v7)(dnn_handle h, dnn_tensor x,
                                                           dnn_tensor dy, dnn_conv conv,
                                                           dnn_filter dw, int requested,
                                                           int *returned, dnn_algo_perf *perf);
    dnn_status (*GetConvolutionForwardWorkspaceSize)(dnn_handle h, dnn_tensor x, dnn_filter w,
                                                     dnn_conv conv, dnn_tensor y, int algo,
                                                     size_t *bytes);
    dnn_status (*GetConvolutionBackwardDataWorkspaceSize)(dnn_handle h, dnn_filter w,
                                                          dnn_tensor dy, dnn_conv conv,
                                                          dnn_tensor dx, int algo, size_t *bytes);
    dnn_status (*GetConvolutionBackwardFilterWorkspaceSize)(dnn_handle h, dnn_tensor x,
                                                            dnn_tensor dy, dnn_conv conv,
                                                            dnn_filter dw, int algo,
                                                            size_t *bytes);
    /* y = alpha conv(x, w) + beta y; alpha and beta point to floats (host). */
    dnn_status (*ConvolutionForward)(dnn_handle h, const void *alpha, dnn_tensor xd,
                                     const void *x, dnn_filter wd, const void *w, dnn_conv conv,
                                     int algo, void *work, size_t work_bytes, const void *beta,
                                     dnn_tensor yd, void *y);
    dnn_status (*ConvolutionBackwardData)(dnn_handle h, const void *alpha, dnn_filter wd,
                                          const void *w, dnn_tensor dyd, const void *dy,
                                          dnn_conv conv, int algo, void *work, size_t work_bytes,
                                          const void *beta, dnn_tensor dxd, void *dx);
    dnn_status (*ConvolutionBackwardFilter)(dnn_handle h, const void *alpha, dnn_tensor xd,
                                            const void *x, dnn_tensor dyd, const void *dy,
                                            dnn_conv conv, int algo, void *work,
                                            size_t work_bytes, const void *beta, dnn_filter dwd,
                                            void *dw);

    /* cuBLAS (libcublas.so.13 or .12); the _v2 entry points. */
    blas_status (*blasCreate)(dnn_blas *handle);
    blas_status (*blasDestroy)(dnn_blas handle);
    blas_status (*blasSetStream)(dnn_blas handle, dnn_stream stream);
    blas_status (*blasSetMathMode)(dnn_blas handle, int mode);
    const char *(*blasGetStatusString)(blas_status status);
    /* Column-major C (m x n) = alpha op(A) op(B) + beta C. */
    blas_status (*blasGemmEx)(dnn_blas handle, int transa, int transb, int m, int n, int k,
                              const void *alpha, const void *a, int a_type, int lda,
                              const void *b, int b_type, int ldb, const void *beta, void *c,
                              int c_type, int ldc, int compute_type, int algo);

    void *libs_[2]; /* the dlopen handles (loader), or the stand-in's state */
} trn_dnn;

/* Fills t from the machine's libraries: libcudnn.so.9 (INRF_CUDNN_LIBRARY
 * names another file) and libcublas.so.13, else .12 (INRF_CUBLAS_LIBRARY).
 * A library or symbol that is missing fails with INRF_E_NO_DEVICE and a
 * message that names it and what to install; t is then left empty. */
INRF_NODISCARD inrf_status trn_dnn_load(trn_dnn *t);
/* Closes what trn_dnn_load opened (not a stand-in's). */
void trn_dnn_unload(trn_dnn *t);

#ifdef __cplusplus
}
#endif

#endif /* TRN_DNN_H */
