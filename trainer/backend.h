/* backend.h: the compute interface under the model and the training loop:
 * device memory and the layer kernels on NHWC tensors, one table per backend. */
#ifndef TRN_BACKEND_H
#define TRN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"

/* Element types of a tensor. Parameters, their gradients and momentum,
 * batch-norm arrays, logits and the loss are always F32; activations (and
 * the gradients flowing through them) are in the model's activation type
 * (trn_resnet18_config.dtype), which the CPU backend takes as F32 only. */
enum {
    TRN_DTYPE_F32 = 0,
    TRN_DTYPE_BF16 = 1, /* bfloat16: the top 16 bits of a float, rounded to nearest even */
    TRN_DTYPE_F16 = 2,  /* IEEE binary16 */
};

static inline size_t trn_dtype_size(int dtype)
{
    return dtype == TRN_DTYPE_F32 ? 4 : 2;
}

/* A view of device memory as an NHWC tensor. The memory is the backend's
 * (alloc/release); a tensor never owns it, so views are copied freely.
 * Weights use the same struct: a convolution's filter is (Cout,KH,KW,Cin)
 * (cuDNN's KRSC "NHWC" filter format), a linear layer's (Out,1,1,In). */
typedef struct trn_tensor {
    float *data;    /* device pointer; elements of dtype (for BF16 and F16
                       the float pointer is only an address) */
    int n, h, w, c; /* batch (or output channels), height, width, channels */
    int dtype;      /* TRN_DTYPE_*; 0 (F32) as trn_tensor4 makes it */
} trn_tensor;

static inline trn_tensor trn_tensor4(float *data, int n, int h, int w, int c)
{
    trn_tensor t = {data, n, h, w, c, TRN_DTYPE_F32};
    return t;
}

/* The same in another element type. */
static inline trn_tensor trn_tensor4t(void *data, int n, int h, int w, int c, int dtype)
{
    trn_tensor t = {(float *)data, n, h, w, c, dtype};
    return t;
}

static inline size_t trn_bytes(const trn_tensor *t)
{
    return (size_t)t->n * (size_t)t->h * (size_t)t->w * (size_t)t->c * trn_dtype_size(t->dtype);
}

static inline size_t trn_numel(const trn_tensor *t)
{
    return (size_t)t->n * (size_t)t->h * (size_t)t->w * (size_t)t->c;
}

/* The window of a convolution or a max-pool: out = (in + 2*pad - k)/stride + 1. */
typedef struct trn_window {
    int kh, kw;  /* window height and width, >= 1 */
    int stride;  /* >= 1, the same along both axes */
    int pad;     /* zero padding (convolution) or ignored border (max-pool), >= 0 */
} trn_window;

static inline int trn_window_out(int in, int k, const trn_window *win)
{
    return (in + 2 * win->pad - k) / win->stride + 1;
}

/* A batch-norm layer's arrays, all of C floats in device memory. */
typedef struct trn_bn {
    float *gamma, *beta;               /* the affine parameters */
    float *dgamma, *dbeta;             /* their gradients, written by bn_backward */
    float *running_mean, *running_var; /* updated by every training forward */
    float *save_mean, *save_invstd;    /* batch statistics a training forward
                                          keeps for the backward */
    float momentum;                    /* running-stat update weight (PyTorch: 0.1) */
    float eps;                         /* added to the variance (PyTorch: 1e-5) */
} trn_bn;

/* Flags of the batch-norm calls: the activation is fused because both the
 * CPU (one pass less over memory) and cuDNN (CUDNN_BATCHNORM_OPS_BN_ACTIVATION
 * and _ADD_ACTIVATION) do it faster that way. */
enum {
    TRN_BN_TRAIN = 1, /* batch statistics (else running ones) */
    TRN_BN_RELU = 2,  /* y = max(0, bn(x) [+ z]) */
};

typedef struct trn_backend trn_backend;

/* The table. Compute calls return nothing: like CUDA they may run
 * asynchronously, and a failure (a bad shape, a workspace that cannot be
 * allocated, a kernel error) is kept and reported by the next sync(), after
 * which later calls are skipped until the error has been returned.
 * Outputs are overwritten, never accumulated; backward calls take the
 * forward's inputs and outputs as they were. In-place use is allowed only
 * where a comment says so. */
struct trn_backend {
    const char *name; /* "cpu", "cuda" */

    /* --- memory: device buffers (CPU: 64-byte aligned host memory) */
    inrf_status (*alloc)(trn_backend *be, size_t bytes, void **out);
    void (*release)(trn_backend *be, void *p); /* NULL is a no-op */
    void (*upload)(trn_backend *be, void *dst, const void *src, size_t bytes);
    void (*download)(trn_backend *be, void *dst, const void *src, size_t bytes);
    void (*zero)(trn_backend *be, void *p, size_t bytes);
    /* Waits for all queued work; returns and clears the first failure. */
    inrf_status (*sync)(trn_backend *be);
    void (*destroy)(trn_backend *be);

    /* --- convolution without bias. x (N,H,W,Cin), w (Cout,KH,KW,Cin),
     * y (N,OH,OW,Cout). backward: dx (may be NULL: not needed) and dw. */
    void (*conv_forward)(trn_backend *be, const trn_window *win, const trn_tensor *x,
                         const trn_tensor *w, const trn_tensor *y);
    void (*conv_backward)(trn_backend *be, const trn_window *win, const trn_tensor *x,
                          const trn_tensor *w, const trn_tensor *dy, const trn_tensor *dx,
                          const trn_tensor *dw);

    /* --- batch-norm over N,H,W per channel: y = act(bn(x) + z), x, z, y
     * (N,H,W,C); z may be NULL (no residual). backward: g = dy masked by
     * y > 0 under TRN_BN_RELU; dz = g (when not NULL), dx, and the
     * parameter gradients into bn->dgamma, bn->dbeta. Training mode only. */
    void (*bn_forward)(trn_backend *be, const trn_bn *bn, int flags, const trn_tensor *x,
                       const trn_tensor *z, const trn_tensor *y);
    void (*bn_backward)(trn_backend *be, const trn_bn *bn, int flags, const trn_tensor *x,
                        const trn_tensor *y, const trn_tensor *dy, const trn_tensor *dx,
                        const trn_tensor *dz);

    /* --- element-wise, any shape with equal element counts; in place allowed. */
    void (*relu_forward)(trn_backend *be, const trn_tensor *x, const trn_tensor *y);
    void (*relu_backward)(trn_backend *be, const trn_tensor *y, const trn_tensor *dy,
                          const trn_tensor *dx);
    void (*add)(trn_backend *be, const trn_tensor *a, const trn_tensor *b, const trn_tensor *y);

    /* --- max-pool (padding never wins: PyTorch's -inf border); the
     * gradient goes to the first maximum in window order. x (N,H,W,C), y (N,OH,OW,C). */
    void (*maxpool_forward)(trn_backend *be, const trn_window *win, const trn_tensor *x,
                            const trn_tensor *y);
    void (*maxpool_backward)(trn_backend *be, const trn_window *win, const trn_tensor *x,
                             const trn_tensor *y, const trn_tensor *dy, const trn_tensor *dx);

    /* --- global average pool: x (N,H,W,C), y (N,1,1,C). */
    void (*avgpool_forward)(trn_backend *be, const trn_tensor *x, const trn_tensor *y);
    void (*avgpool_backward)(trn_backend *be, const trn_tensor *dy, const trn_tensor *dx);

    /* --- linear: y = x w^T + b. x (N,1,1,In) (or any N,H,W,C with
     * H*W*C = In), w (Out,1,1,In), b [Out], y (N,1,1,Out). dx may be NULL. */
    void (*linear_forward)(trn_backend *be, const trn_tensor *x, const trn_tensor *w,
                           const float *b, const trn_tensor *y);
    void (*linear_backward)(trn_backend *be, const trn_tensor *x, const trn_tensor *w,
                            const trn_tensor *dy, const trn_tensor *dx, const trn_tensor *dw,
                            float *db);

    /* --- softmax cross-entropy, mean over the batch, with label smoothing s
     * in [0,1) (PyTorch's: target (1-s)*onehot + s/K). logits and dlogits
     * (N,1,1,K), labels [N] in 0..K-1 (int32, device), loss: 1 float (device). */
    void (*xent)(trn_backend *be, const trn_tensor *logits, const int32_t *labels,
                 float smoothing, const trn_tensor *dlogits, float *loss);

    /* --- SGD with momentum, PyTorch's formulation (dampening 0, not Nesterov):
     * g' = g + wd*p; buf = momentum*buf + g'; p -= lr*buf. */
    void (*sgd_step)(trn_backend *be, float *p, const float *g, float *buf, size_t count,
                     float lr, float momentum, float weight_decay);
};

#endif /* TRN_BACKEND_H */
