/* train_kernel.c: forward and backward passes of a SIREN over a batch of
 * pixels, layer by layer, vectorised across pixels. Built once per
 * instruction set (Makefile.am, INRF_TILE_SUFFIX); encode.c picks one. */
#include <string.h>

#include "inrf/siren_math.h"
#include "train.h"

#define PASTE2(a, b) a##b
#define PASTE(a, b) PASTE2(a, b)
#define PASS_FN PASTE(inrf_train_pass_, INRF_TILE_SUFFIX)

/* 16 floats: one AVX-512 register, two AVX2 ones, four SSE ones. */
typedef float v16 __attribute__((vector_size(64)));
#define VL 16

static inline v16 ld(const float *p)
{
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void st(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline v16 splat(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
static inline float hsum(v16 v)
{
    float s = 0.0f;
    for (int i = 0; i < VL; i++)
        s += v[i];
    return s;
}

/* z[j][p] = b[j] + sum_k W[j][k] h[k][p]; rows of n floats. */
static void forward(const float *W, const float *b, unsigned in, unsigned out, const float *h,
                    float *z, size_t n)
{
    for (size_t p = 0; p < n; p += VL) {
        unsigned j = 0;
        for (; j + 4 <= out; j += 4) {
            v16 a0 = splat(b[j]), a1 = splat(b[j + 1]), a2 = splat(b[j + 2]), a3 = splat(b[j + 3]);
            const float *w0 = W + (size_t)j * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
            for (unsigned k = 0; k < in; k++) {
                v16 hv = ld(h + (size_t)k * n + p);
                a0 += w0[k] * hv;
                a1 += w1[k] * hv;
                a2 += w2[k] * hv;
                a3 += w3[k] * hv;
            }
            st(z + (size_t)j * n + p, a0);
            st(z + (size_t)(j + 1) * n + p, a1);
            st(z + (size_t)(j + 2) * n + p, a2);
            st(z + (size_t)(j + 3) * n + p, a3);
        }
        for (; j < out; j++) {
            v16 a = splat(b[j]);
            const float *w = W + (size_t)j * in;
            for (unsigned k = 0; k < in; k++)
                a += w[k] * ld(h + (size_t)k * n + p);
            st(z + (size_t)j * n + p, a);
        }
    }
}

/* g[k][p] = sum_j W[j][k] delta[j][p]: the gradient reaching the inputs. */
static void backward_input(const float *W, unsigned in, unsigned out, const float *delta, float *g,
                           size_t n)
{
    for (size_t p = 0; p < n; p += VL) {
        unsigned k = 0;
        for (; k + 4 <= in; k += 4) {
            v16 a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0);
            for (unsigned j = 0; j < out; j++) {
                v16 dv = ld(delta + (size_t)j * n + p);
                const float *w = W + (size_t)j * in + k;
                a0 += w[0] * dv;
                a1 += w[1] * dv;
                a2 += w[2] * dv;
                a3 += w[3] * dv;
            }
            st(g + (size_t)k * n + p, a0);
            st(g + (size_t)(k + 1) * n + p, a1);
            st(g + (size_t)(k + 2) * n + p, a2);
            st(g + (size_t)(k + 3) * n + p, a3);
        }
        for (; k < in; k++) {
            v16 a = splat(0);
            for (unsigned j = 0; j < out; j++)
                a += W[(size_t)j * in + k] * ld(delta + (size_t)j * n + p);
            st(g + (size_t)k * n + p, a);
        }
    }
}

/* dW[j][k] += sum_p delta[j][p] h[k][p]; db[j] += sum_p delta[j][p]. */
static void backward_weights(unsigned in, unsigned out, const float *delta, const float *h,
                             float *dW, float *db, size_t n)
{
    for (unsigned j = 0; j < out; j++) {
        const float *dj = delta + (size_t)j * n;
        v16 sb = splat(0);
        for (size_t p = 0; p < n; p += VL)
            sb += ld(dj + p);
        db[j] += hsum(sb);
        unsigned k = 0;
        for (; k + 4 <= in; k += 4) {
            v16 a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0);
            const float *h0 = h + (size_t)k * n, *h1 = h0 + n, *h2 = h1 + n, *h3 = h2 + n;
            for (size_t p = 0; p < n; p += VL) {
                v16 dv = ld(dj + p);
                a0 += dv * ld(h0 + p);
                a1 += dv * ld(h1 + p);
                a2 += dv * ld(h2 + p);
                a3 += dv * ld(h3 + p);
            }
            dW[(size_t)j * in + k] += hsum(a0);
            dW[(size_t)j * in + k + 1] += hsum(a1);
            dW[(size_t)j * in + k + 2] += hsum(a2);
            dW[(size_t)j * in + k + 3] += hsum(a3);
        }
        for (; k < in; k++) {
            v16 a = splat(0);
            const float *hk = h + (size_t)k * n;
            for (size_t p = 0; p < n; p += VL)
                a += ld(dj + p) * ld(hk + p);
            dW[(size_t)j * in + k] += hsum(a);
        }
    }
}

/* h = sin(w0 z) in place of z; d = w0 cos(w0 z), the derivative. Not
 * inlined: the restrict pointers are what let the compiler vectorise it. */
static __attribute__((noinline)) void activate(float *restrict zh, float *restrict d, size_t count, float omega)
{
    for (size_t i = 0; i < count; i++) {
        float s, c;
        inrf_sincos(omega * zh[i], &s, &c);
        zh[i] = s;
        d[i] = omega * c;
    }
}

/* g *= d, element-wise: the chain rule through the sine. */
static __attribute__((noinline)) void chain(float *restrict g, const float *restrict d, size_t count)
{
    for (size_t i = 0; i < count; i++)
        g[i] *= d[i];
}

/* e = o - y over the valid pixels (0 beyond); o becomes 2 scale e; returns
 * the sum of e^2. */
static double output_error(float *o, const float *y, size_t n, size_t n_valid, float scale)
{
    v16 acc = splat(0);
    size_t p = 0;
    for (; p + VL <= n_valid; p += VL) {
        v16 e = ld(o + p) - ld(y + p);
        acc += e * e;
        st(o + p, (2.0f * scale) * e);
    }
    double sse = hsum(acc);
    for (; p < n_valid; p++) {
        float e = o[p] - y[p];
        sse += (double)e * e;
        o[p] = 2.0f * scale * e;
    }
    for (; p < n; p++)
        o[p] = 0.0f;
    return sse;
}

double PASS_FN(const inrf_train_net *net, const float *params, const float *xy, const float *y,
               size_t n, size_t n_valid, float scale, float *grad, float *work)
{
    const unsigned L = net->layers, C = net->out[L];
    /* work: h and d of every sine layer, the output, two gradient rows */
    float *hs[INRF_MAX_SINE_LAYERS], *ds[INRF_MAX_SINE_LAYERS];
    float *w = work;
    for (unsigned l = 0; l < L; l++) {
        hs[l] = w, w += (size_t)net->out[l] * n;
        ds[l] = w, w += (size_t)net->out[l] * n;
    }
    float *o = w;
    w += (size_t)C * n;
    float *g0 = w, *g1 = w + (size_t)net->max_width * n;

    const float *h = xy;
    for (unsigned l = 0; l < L; l++) {
        forward(params + net->woff[l], params + net->boff[l], net->in[l], net->out[l], h, hs[l], n);
        activate(hs[l], ds[l], (size_t)net->out[l] * n, l == 0 ? net->omega_first : net->omega_hidden);
        h = hs[l];
    }
    forward(params + net->woff[L], params + net->boff[L], net->in[L], C, h, o, n);

    /* error, loss and the output gradient 2 * scale * (o - y) */
    double sse = 0.0;
    for (unsigned c = 0; c < C; c++)
        sse += output_error(o + (size_t)c * n, y + (size_t)c * n, n, n_valid, scale);

    /* output layer, then the sine layers from the top */
    const float *delta = o;
    for (unsigned l = L + 1; l-- > 0;) {
        const float *hin = l == 0 ? xy : hs[l - 1];
        backward_weights(net->in[l], net->out[l], delta, hin, grad + net->woff[l], grad + net->boff[l], n);
        if (l == 0)
            break;
        float *g = (l & 1) ? g0 : g1;
        backward_input(params + net->woff[l], net->in[l], net->out[l], delta, g, n);
        chain(g, ds[l - 1], (size_t)net->in[l] * n);
        delta = g;
    }
    return sse;
}
