/* resnet18.h: ResNet-18 in torchvision's layout on any backend: parameters
 * named like its state_dict, forward, backward and the SGD step. */
#ifndef TRN_RESNET18_H
#define TRN_RESNET18_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Inputs up to this size (both sides) get the 3x3 stride-1 stem without
 * max-pool (the CIFAR variant); larger ones torchvision's 7x7/2 + 3x3/2 pool. */
#define TRN_SMALL_STEM_MAX 64

typedef struct trn_resnet18_config {
    int classes;        /* classifier outputs, 1..65536 (default 10) */
    int base_width;     /* channels of stage 1, 1..512; stages have 1,2,4,8 times
                           that (default 64, torchvision's ResNet-18) */
    int image_h, image_w; /* input size in pixels, 8..4096 (default 32x32) */
    int batch;          /* most images per forward, 1..65536; sizes the
                           activation memory (default 64) */
    uint64_t seed;      /* initialisation seed (default 1) */
    float bn_momentum;  /* running-statistics update weight (default 0.1) */
    float bn_eps;       /* batch-norm epsilon (default 1e-5) */
    int dtype;          /* activations' element type, TRN_DTYPE_* (default
                           F32); parameters stay F32, and so do the pooled
                           features, the logits and their gradients */
} trn_resnet18_config;

void trn_resnet18_config_init(trn_resnet18_config *cfg);

typedef enum trn_param_kind {
    TRN_PARAM_DECAY = 0,    /* convolution and linear weights: weight decay applies */
    TRN_PARAM_NO_DECAY = 1, /* batch-norm weights and biases, the linear bias */
    TRN_PARAM_BUFFER = 2,   /* batch-norm running statistics: kept, not trained */
} trn_param_kind;

/* One named tensor of the model, in torchvision's state_dict order (its
 * num_batches_tracked buffers excepted: momentum is fixed, so unused). */
typedef struct trn_param {
    char name[48];      /* state_dict key: "layer2.0.downsample.1.running_var" */
    int kind;           /* trn_param_kind */
    int ndim;           /* 4 (conv), 2 (linear weight) or 1 */
    int shape[4];       /* as stored here: conv weights (Cout,KH,KW,Cin), which
                           is torch's (Cout,Cin,KH,KW) transposed (see
                           trn_conv_weight_from_torch); others as torch's */
    size_t count;       /* elements */
    float *data;        /* device memory */
    float *grad, *mom;  /* gradient and momentum (device); NULL for buffers */
} trn_param;

typedef struct trn_sgd_options {
    float lr;           /* this step's learning rate, >= 0 (see trn_lr_cosine) */
    float momentum;     /* 0..1 (default 0.9) */
    float weight_decay; /* L2 added to the gradient, >= 0 (default 5e-4) */
    int decay_all;      /* 1: decay batch-norm parameters and biases too (default 0) */
} trn_sgd_options;

void trn_sgd_options_init(trn_sgd_options *opt);

/* Cosine decay from base_lr at step 0 to 0 at step total (and after). */
float trn_lr_cosine(float base_lr, long step, long total);

typedef struct trn_resnet18 trn_resnet18;

/* Builds the model on be (which it uses, not owns) and initialises it like
 * torchvision from cfg->seed: convolutions kaiming_normal_(fan_out, relu),
 * batch-norm 1 and 0, the classifier PyTorch's default uniform. */
INRF_NODISCARD inrf_status trn_resnet18_create(trn_backend *be, const trn_resnet18_config *cfg,
                                               trn_resnet18 **out);
void trn_resnet18_free(trn_resnet18 *m);

/* What trn_resnet18_create allocates on the backend for cfg, computed
 * without allocating: parameters, gradients, momentum, buffers, batch
 * statistics, activations and gradient scratch, in bytes; and, to size a
 * backend's workspace, the widest layer's channels and the largest
 * activation of one image (floats). Fails, naming the field, when cfg is
 * out of range. */
typedef struct trn_resnet18_memory {
    double bytes;
    int max_channels;
    size_t image_floats;
} trn_resnet18_memory;
INRF_NODISCARD inrf_status trn_resnet18_memory_need(const trn_resnet18_config *cfg,
                                                    trn_resnet18_memory *out);

/* The parameters and buffers, in state_dict order. */
const trn_param *trn_resnet18_params(const trn_resnet18 *m, int *count);
/* Trainable elements (buffers excluded). */
size_t trn_resnet18_param_count(const trn_resnet18 *m);
/* 1 when the model uses the 3x3 stride-1 stem without max-pool. */
int trn_resnet18_small_stem(const trn_resnet18 *m);

/* Forward of x (N,H,W,3) in device memory, N <= cfg->batch, H and W as
 * configured; train: batch statistics (updating the running ones) and the
 * activations kept for backward, else running statistics. Queued on the
 * backend; errors come back from the next call that syncs. */
INRF_NODISCARD inrf_status trn_resnet18_forward(trn_resnet18 *m, const trn_tensor *x, int train);
/* The logits (N,1,1,classes) of the last forward (device memory). */
trn_tensor trn_resnet18_logits(const trn_resnet18 *m);

/* Softmax cross-entropy of the last forward against labels [N] (int32,
 * device memory) with label smoothing; syncs and returns the mean loss. */
INRF_NODISCARD inrf_status trn_resnet18_loss(trn_resnet18 *m, const int32_t *labels,
                                             float smoothing, float *loss);
/* Gradients of that loss into every trainable parameter's grad
 * (overwritten). Needs a training forward and trn_resnet18_loss first. */
INRF_NODISCARD inrf_status trn_resnet18_backward(trn_resnet18 *m);
/* One SGD step on every trainable parameter; syncs. */
INRF_NODISCARD inrf_status trn_resnet18_step(trn_resnet18 *m, const trn_sgd_options *opt);

/* forward (train) + loss + backward + step. */
INRF_NODISCARD inrf_status trn_resnet18_train_batch(trn_resnet18 *m, const trn_tensor *x,
                                                    const int32_t *labels, float smoothing,
                                                    const trn_sgd_options *opt, float *loss);

/* Converts a convolution weight between torch's (Cout,Cin,KH,KW) and the
 * (Cout,KH,KW,Cin) used here (host memory, not in place). */
void trn_conv_weight_from_torch(const float *oihw, float *ohwi, int cout, int cin, int kh,
                                int kw);
void trn_conv_weight_to_torch(const float *ohwi, float *oihw, int cout, int cin, int kh, int kw);

#endif /* TRN_RESNET18_H */
