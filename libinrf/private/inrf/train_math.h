/* train_math.h: the SIREN training math of one pixel and one parameter
 * (forward, backward, gradient sums, Adam, fake quantisation): the GPU's
 * batch trainer (kernels/encode.cu) runs all of it, the CPU's
 * (libinrf/encode_cpu.c) its steps (Adam, random pixels, fake
 * quantisation) around the SIMD pass that tests check against it; and the
 * interface through which libinrf's one schedule drives a batched
 * trainer.
 *
 * One pixel's state is a "column" of inrf_tm_net.rows floats, s apart
 * (a [row][pixel] array of a chunk of pixels has column p at base + p):
 * rows 0 and 1 the coordinates x, y; then each sine layer's outputs h (the
 * next layer's inputs); then, per layer, its delta rows, which first hold
 * the sine's derivative omega cos(omega z) (the output layer: the output)
 * and after inrf_tm_error / inrf_tm_backward the gradient of the loss
 * with respect to the layer's pre-activation z. */
#ifndef INRF_TRAIN_MATH_H
#define INRF_TRAIN_MATH_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"
#include "inrf/siren_math.h"

/* A network as every trainer sees it (the CPU's, libinrf/encode_cpu.c on
 * train_kernel.c, and the GPU's): all parameters in one float array (layer
 * l's weights [out][in] at woff[l], its biases at boff[l], in layer
 * order), and the rows of a pixel's column. Layer `layers` is the linear
 * output layer. */
typedef struct inrf_tm_net {
    unsigned layers;                          /* sine layers L */
    unsigned in[INRF_MAX_SINE_LAYERS + 1];    /* fan-in of layer l */
    unsigned out[INRF_MAX_SINE_LAYERS + 1];   /* fan-out of layer l */
    unsigned woff[INRF_MAX_SINE_LAYERS + 1];  /* weights in the parameter array */
    unsigned boff[INRF_MAX_SINE_LAYERS + 1];  /* biases in the parameter array */
    unsigned hrow[INRF_MAX_SINE_LAYERS + 1];  /* column row of layer l's first input */
    unsigned drow[INRF_MAX_SINE_LAYERS + 1];  /* column row of layer l's first delta */
    unsigned nparams;                         /* weights and biases */
    unsigned rows;                            /* floats of a pixel's column */
    unsigned max_width;                       /* widest sine layer */
    float omega_first, omega_hidden;
} inrf_tm_net;

/* The layout of arch's network (a SIREN of arch->layers sine layers). */
INRF_HD void inrf_tm_net_init(inrf_tm_net *n, const inrf_arch *arch)
{
    const unsigned L = arch->layers;
    unsigned off = 0;
    n->layers = L;
    n->max_width = 0;
    for (unsigned l = 0; l <= L; l++) {
        n->in[l] = l == 0 ? 2u : arch->hidden[l - 1];
        n->out[l] = l == L ? arch->channels : arch->hidden[l];
        n->woff[l] = off;
        off += n->in[l] * n->out[l];
        n->boff[l] = off;
        off += n->out[l];
        /* layer l's inputs are layer l - 1's outputs, after its inputs */
        n->hrow[l] = l == 0 ? 0u : n->hrow[l - 1] + n->in[l - 1];
        if (l < L && n->out[l] > n->max_width)
            n->max_width = n->out[l];
    }
    n->nparams = off;
    unsigned d = n->hrow[L] + n->in[L];
    for (unsigned l = 0; l <= L; l++) {
        n->drow[l] = d;
        d += n->out[l];
    }
    n->rows = d;
    n->omega_first = arch->omega_first;
    n->omega_hidden = arch->omega_hidden;
}

/* --------------------------------------------------------- one pixel */

/* bias + sum_k w[k] h[k s], in order k = 0, 1, ... (fmaf). */
INRF_HD float inrf_tm_dot(const float *w, const float *h, size_t s, unsigned in, float bias)
{
    float acc = bias;
    for (unsigned k = 0; k < in; k++)
        acc = fmaf(w[k], h[(size_t)k * s], acc);
    return acc;
}

/* Forward pass of one pixel whose column holds x, y in rows 0 and 1: each
 * sine layer's h = sin(omega z) and its derivative omega cos(omega z), and
 * the outputs in the output layer's delta rows. w: the weights the pass
 * sees (the master weights or their fake-quantised copy). The sine is
 * inrf_sincos, the decoder's. */
INRF_HD void inrf_tm_forward(const inrf_tm_net *n, const float *w, float *col, size_t s)
{
    const unsigned L = n->layers;
    for (unsigned l = 0; l <= L; l++) {
        const float *W = w + n->woff[l], *b = w + n->boff[l];
        const float *h = col + (size_t)n->hrow[l] * s;
        const float omega = l == 0 ? n->omega_first : n->omega_hidden;
        const unsigned in = n->in[l];
        for (unsigned j = 0; j < n->out[l]; j++) {
            float z = inrf_tm_dot(W + (size_t)j * in, h, s, in, b[j]);
            if (l == L) {
                col[(size_t)(n->drow[l] + j) * s] = z;
                continue;
            }
            float sn, cs;
            inrf_sincos(omega * z, &sn, &cs);
            col[(size_t)(n->hrow[l + 1] + j) * s] = sn;
            col[(size_t)(n->drow[l] + j) * s] = omega * cs;
        }
    }
}

/* The loss of one pixel against its 8-bit target (one byte a channel):
 * the output rows become two_scale (o - y), the gradient of scale times
 * the squared error (two_scale = 2 scale, scale = 1 / (pixels channels):
 * the mean squared error, as every trainer). Returns the squared error. */
INRF_HD float inrf_tm_error(const inrf_tm_net *n, float *col, size_t s, const uint8_t *target,
                            float two_scale)
{
    const unsigned L = n->layers;
    float sse = 0.0f;
    for (unsigned c = 0; c < n->out[L]; c++) {
        float *o = col + (size_t)(n->drow[L] + c) * s;
        float e = *o - (float)target[c] * (1.0f / 255.0f);
        sse = fmaf(e, e, sse);
        *o = two_scale * e;
    }
    return sse;
}

/* Backward pass of one pixel after inrf_tm_error: each sine layer's delta
 * rows become delta_l[k] = omega cos(omega z_k) sum_j W_{l+1}[j][k]
 * delta_{l+1}[j] (the chain rule through the sine). */
INRF_HD void inrf_tm_backward(const inrf_tm_net *n, const float *w, float *col, size_t s)
{
    for (unsigned l = n->layers; l > 0; l--) {
        const float *W = w + n->woff[l];
        const float *delta = col + (size_t)n->drow[l] * s;
        float *d = col + (size_t)n->drow[l - 1] * s;
        const unsigned in = n->in[l], out = n->out[l];
        for (unsigned k = 0; k < in; k++) {
            float acc = 0.0f;
            for (unsigned j = 0; j < out; j++)
                acc = fmaf(W[(size_t)j * in + k], delta[(size_t)j * s], acc);
            d[(size_t)k * s] = acc * d[(size_t)k * s];
        }
    }
}

/* Pixel (i, j) of a width x height image, numbered row by row: its sample
 * coordinates, those of every trainer and of the decoder. */
INRF_HD void inrf_tm_pixel_xy(uint64_t index, uint32_t width, uint32_t height, float *x, float *y)
{
    *x = inrf_coord((uint32_t)(index % width), width, -1.0, 1.0);
    *y = inrf_coord((uint32_t)(index / width), height, -1.0, 1.0);
}

/* One pixel's whole pass: coordinates, forward, loss, backward. Returns
 * its squared error; the column then holds what the parameter gradients
 * read (inrf_tm_param_sum). */
INRF_HD float inrf_tm_pixel(const inrf_tm_net *n, const float *w, float *col, size_t s, float x,
                            float y, const uint8_t *target, float two_scale)
{
    col[0] = x;
    col[s] = y;
    inrf_tm_forward(n, w, col, s);
    float sse = inrf_tm_error(n, col, s, target, two_scale);
    inrf_tm_backward(n, w, col, s);
    return sse;
}

/* ---------------------------------------------------- one parameter */

/* A bias's "input row": its gradient is the delta alone. */
#define INRF_TM_BIAS 0xffffffffu

/* The rows whose product, summed over pixels, is the gradient of parameter
 * k: W_l[j][i] reads delta row drow[l] + j and input row hrow[l] + i; the
 * bias b_l[j] reads delta row drow[l] + j and *hr = INRF_TM_BIAS. */
INRF_HD void inrf_tm_param_rows(const inrf_tm_net *n, unsigned k, unsigned *dr, unsigned *hr)
{
    unsigned l = 0;
    while (l < n->layers && k >= n->boff[l] + n->out[l])
        l++;
    if (k >= n->boff[l]) {
        *dr = n->drow[l] + (k - n->boff[l]);
        *hr = INRF_TM_BIAS;
        return;
    }
    unsigned i = k - n->woff[l];
    *dr = n->drow[l] + i / n->in[l];
    *hr = n->hrow[l] + i % n->in[l];
}

/* g plus one parameter's gradient over the first count pixels of a chunk
 * of columns (pixel p's at cols + p, rows s apart), summed in pixel
 * order: every trainer that walks the same chunks gets the same bits. */
INRF_HD float inrf_tm_param_sum(const float *cols, size_t s, unsigned dr, unsigned hr,
                                unsigned count, float g)
{
    const float *d = cols + (size_t)dr * s;
    if (hr == INRF_TM_BIAS) {
        for (unsigned p = 0; p < count; p++)
            g += d[p];
        return g;
    }
    const float *h = cols + (size_t)hr * s;
    for (unsigned p = 0; p < count; p++)
        g = fmaf(d[p], h[p], g);
    return g;
}

/* ------------------------------------------------------------ Adam */

/* The learning rate of step s of a stage of `steps`: cosine decay from lr0
 * to lr0 / 20. */
INRF_HD float inrf_tm_lr(float lr0, int s, int steps)
{
    return lr0 * (0.05f + 0.95f * 0.5f * (1.0f + cosf(3.14159265358979323846f * s / steps)));
}

/* Adam's bias corrections 1 / (1 - b^t) for step t (1, 2, ...). */
INRF_HD void inrf_tm_adam_corrections(long t, float *c1, float *c2)
{
    const float b1 = 0.9f, b2 = 0.999f;
    *c1 = 1.0f / (1.0f - powf(b1, (float)t));
    *c2 = 1.0f / (1.0f - powf(b2, (float)t));
}

/* One Adam step of one parameter p with gradient g (b1 0.9, b2 0.999, eps
 * 1e-8); returns the new value, 0 where the mask keeps none (the moments
 * move all the same). */
INRF_HD float inrf_tm_adam(float p, float *m, float *v, float g, float lr, float c1, float c2,
                           int keep)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    *m = b1 * *m + (1 - b1) * g;
    *v = b2 * *v + (1 - b2) * g * g;
    float upd = lr * (*m * c1) / (sqrtf(*v * c2) + eps);
    return keep ? p - upd : 0.0f;
}

/* -------------------------------------------- fake quantisation */

/* v as binary16 stores it. */
INRF_HD float inrf_tm_round_half(float v) { return inrf_f16_to_f32(inrf_f32_to_f16(v)); }

/* The int8 scale of a group whose largest magnitude is amax. */
INRF_HD float inrf_tm_int8_scale(float amax) { return amax > 0.0f ? amax / 127.0f : 1.0f; }

/* w as int8 with scale s stores it: rint(w / s) in [-127, 127], times s. */
INRF_HD float inrf_tm_int8_round(float w, float s)
{
    float q = rintf(w / s);
    q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
    return q * s;
}

/* Parameter k of src as the file will hold it (what stage 4 writes;
 * quant: inrf_quant of the hidden layers; half_io: binary16 first and last
 * layers and biases). Reads k's whole scale group, so a trainer calls it
 * once a parameter on an array no one writes meanwhile. Same bits as the
 * CPU trainer's publish, a scale group at a time (libinrf/encode_cpu.c). */
INRF_HD float inrf_tm_fake_quant(const inrf_tm_net *n, const float *src, unsigned k, int quant,
                                 int half_io)
{
    unsigned l = 0;
    while (l < n->layers && k >= n->boff[l] + n->out[l])
        l++;
    if (k >= n->boff[l])
        return half_io ? inrf_tm_round_half(src[k]) : src[k];
    const int hidden = l > 0 && l < n->layers;
    if (hidden && quant != INRF_QUANT_NONE) {
        size_t span = (size_t)n->in[l] * n->out[l];
        if (quant == INRF_QUANT_INT8_ROW)
            span = n->in[l];
        size_t first = n->woff[l] + (k - n->woff[l]) / span * span;
        float amax = 0.0f;
        for (size_t i = 0; i < span; i++)
            amax = fmaxf(amax, fabsf(src[first + i]));
        return inrf_tm_int8_round(src[k], inrf_tm_int8_scale(amax));
    }
    return !hidden && half_io ? inrf_tm_round_half(src[k]) : src[k];
}

/* --------------------------------------------------- random pixels */

/* splitmix64's finaliser: a counter-based generator, so that any thread
 * can draw sample p of step s without a shared state. */
INRF_HD uint64_t inrf_tm_mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Pixel of sample p of a random batch, of npix, for (seed, image, key):
 * key tells the stage and step apart: every trainer's random batches. */
INRF_HD uint64_t inrf_tm_sample(uint64_t seed, uint64_t image, uint64_t key, uint32_t p,
                                uint64_t npix)
{
    uint64_t h = inrf_tm_mix64(inrf_tm_mix64(seed ^ (image * 0xd1b54a32d192ed03ull)) + key);
    return inrf_tm_mix64(h + p) % npix;
}

/* --------------------------------------- the batch encoder's trainer */

#ifdef __cplusplus
extern "C" {
#endif

/* One stage of the schedule for a batch of images (inrf_encode_batch_with). */
typedef struct inrf_tm_stage {
    int stage;                /* 1 fit, 2 prune 20 %, 3 dynamic prune, 4 quantise */
    int steps;                /* Adam steps; steps + 1 evaluations of the loss,
                                 the last only to keep the best weights */
    float lr0;                /* cosine decay from lr0 to lr0 / 20 (inrf_tm_lr) */
    int quant, half_io;       /* fake quantisation of the weights the passes see
                                 (inrf_tm_fake_quant); 0, 0 for none */
    double stop;              /* > 0: an image ends the stage at the first
                                 evaluation where its best PSNR reaches stop */
    /* Called now and then with the step reached; non-zero: stop with
     * INRF_E_INTERRUPTED. May be NULL. */
    int (*tick)(void *ctx, int step);
    void *ctx;
} inrf_tm_stage;

/* The batch: n images of one size and channels, their parameters and Adam
 * moments ([n][net.nparams] floats each, host memory) and masks. */
typedef struct inrf_tm_batch {
    inrf_tm_net net;
    const inrf_image *images;
    size_t n;
    uint32_t batch;           /* pixels per step: width x height for every pixel
                                 (in order), fewer for random samples */
    uint64_t seed;            /* of the random samples */
    const uint64_t *image_key; /* [n]: image i's samples derive from (seed,
                                 image_key[i]), a hash of its pixels, so that
                                 they do not depend on its place in a batch */
    float *params, *m, *v;
    uint8_t *keep;            /* [n][nparams]: 0 where a weight is pruned */
    const uint8_t *active;    /* [n]: 0 = the image sits the stage out; NULL = all */
    double *best_psnr;        /* [n], out: the best training PSNR of the stage */
    long *adam_t;             /* [n], in/out: Adam steps each image has taken
                                 (the t of the bias corrections; the step of a
                                 stage that starts at t uses t + 1) */
    int *taken;               /* [n], out: Adam steps each image took in the
                                 stage (steps, fewer after a stop, 0 when it
                                 sat out); adam_t grows by as much */
} inrf_tm_batch;

/* A batched trainer. run_stage runs stage s on every active image of b:
 * steps + 1 evaluations of the mean squared error over b->batch pixels
 * on the (fake-quantised) weights, an Adam step with the learning rate of
 * inrf_tm_lr after each but the last, pruned weights held at 0; then
 * params hold the weights of the best evaluation (the one before the
 * step), m and v the moments after the last step; an image whose best
 * PSNR reaches s->stop ends there. */
typedef struct inrf_batch_trainer {
    inrf_status (*run_stage)(void *self, const inrf_tm_batch *b, const inrf_tm_stage *s);
    void *self;
} inrf_batch_trainer;

/* Encodes n images of one size and channel count with the encoder's one
 * schedule (stages 1 to 4 as opt says; inrf_encode is a batch of one of
 * it on the CPU's trainer), the training of each stage done by trainer
 * and the rest (initialisation, pruning, quantisation, the models) by
 * libinrf: out[n] models, stats[n] (may be NULL); stats' seconds is the
 * batch's wall time over n. Rate control (target_psnr, max_bytes) runs
 * each round of further pruning and fine-tuning for the images it
 * concerns together. The progress callback sees each stage's steps. An
 * image's file does not depend on the others in the batch: on the CPU's
 * trainer it is the file inrf_encode makes of it. For trainers such as
 * the CUDA module's (inrf_cuda_encode_batch) and tests. */
INRF_API INRF_NODISCARD inrf_status inrf_encode_batch_with(const inrf_image *images, size_t n,
                                                           const inrf_encode_options *opt,
                                                           const inrf_batch_trainer *trainer,
                                                           inrf_model **out,
                                                           inrf_encode_stats *stats);

/* The CPU's batched trainer (libinrf/encode_cpu.c, on the SIMD training
 * pass), the one inrf_encode runs: threads 0 = the default (the CPUs this
 * process may run on); the bits do not depend on them. Free it with
 * inrf_cpu_trainer_free. */
INRF_API INRF_NODISCARD inrf_status inrf_cpu_trainer_create(int threads,
                                                            inrf_batch_trainer *out);
INRF_API void inrf_cpu_trainer_free(inrf_batch_trainer *tr);

#ifdef __cplusplus
}
#endif

#endif /* INRF_TRAIN_MATH_H */
