/* resnet18.c: ResNet-18 (torchvision layout, BasicBlock x [2,2,2,2]) written
 * once against the backend table: layers, parameters, init and the step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "resnet18.h"

#define MAX_PARAMS 128 /* 62 trainable tensors and 40 buffers */
#define BLOCKS 8
#define SCRATCH 4      /* gradient buffers the backward rotates through */

typedef struct conv_layer {
    trn_window win;
    int p; /* index of the weight in params */
} conv_layer;

typedef struct bn_layer {
    trn_bn bn;   /* pointers into the parameter, buffer and statistics blocks */
    int p;       /* index of its weight; bias, running_mean, running_var follow */
    size_t stat; /* offset of its saved statistics in the stats block */
} bn_layer;

// A BasicBlock: y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)),
// shortcut = bnd(convd(x)) (1x1, stride s) when the shape changes, else x.
typedef struct block {
    int has_down;
    conv_layer c1, c2, cd;
    bn_layer b1, b2, bd;
    trn_tensor x;                  /* the input: a view of the previous output */
    trn_tensor h1, a1, h2, hd, sd; /* conv1, bn1+relu, conv2, convd, bnd outputs */
    trn_tensor y;                  /* the block's output */
} block;

struct trn_resnet18 {
    trn_backend *be;
    trn_resnet18_config cfg;
    int small_stem;
    trn_param params[MAX_PARAMS];
    size_t offset[MAX_PARAMS];         /* floats into pdata (or bdata for buffers) */
    int nparams;
    size_t n_train, n_buffer, n_stat;  /* floats in each block below */
    float *pdata, *pgrad, *pmom;       /* trainable parameters, gradients, momentum */
    float *bdata;                      /* running statistics */
    float *stats;                      /* batch statistics saved for backward */
    float *act;                        /* every activation */
    float *scratch[SCRATCH];           /* gradient buffers, each the largest activation */
    float *loss_dev;                   /* one float */
    conv_layer conv1;
    bn_layer bn1;
    block blocks[BLOCKS];
    trn_window pool_win;               /* the large stem's 3x3/2 max-pool */
    int fc_w, fc_b;                    /* parameter indices */
    trn_tensor x;                      /* the last forward's input (a view) */
    trn_tensor h0, a0, p0;             /* stem conv, bn+relu, pool outputs */
    trn_tensor pooled, logits, dlogits, dpooled;
    int trained;                       /* last forward was a training one */
    int have_loss;                     /* dlogits belong to the last forward */
};

/* ------------------------------------------------------------ parameters */

void trn_resnet18_config_init(trn_resnet18_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->classes = 10;
    cfg->base_width = 64;
    cfg->image_h = cfg->image_w = 32;
    cfg->batch = 64;
    cfg->seed = 1;
    cfg->bn_momentum = 0.1f;
    cfg->bn_eps = 1e-5f;
}

void trn_sgd_options_init(trn_sgd_options *opt)
{
    opt->lr = 0.1f;
    opt->momentum = 0.9f;
    opt->weight_decay = 5e-4f;
    opt->decay_all = 0;
}

float trn_lr_cosine(float base_lr, long step, long total)
{
    if (total <= 0 || step >= total)
        return 0.0f;
    if (step <= 0)
        return base_lr;
    return (float)(0.5 * base_lr * (1.0 + cos(M_PI * (double)step / (double)total)));
}

/* Registers a tensor; its memory is assigned once all are known. */
static int add_param(trn_resnet18 *m, const char *prefix, const char *name, int kind, int ndim,
                     int d0, int d1, int d2, int d3)
{
    trn_param *p = &m->params[m->nparams];
    snprintf(p->name, sizeof p->name, "%s%s", prefix, name);
    p->kind = kind;
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->shape[2] = d2;
    p->shape[3] = d3;
    p->count = (size_t)d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? (size_t)d2 * d3 : 1);
    /* pointers once every size is known (resolve_params) */
    size_t *next = kind == TRN_PARAM_BUFFER ? &m->n_buffer : &m->n_train;
    m->offset[m->nparams] = *next;
    *next += p->count;
    return m->nparams++;
}

static void add_conv(trn_resnet18 *m, conv_layer *cv, const char *name, int cin, int cout,
                     int k, int stride)
{
    cv->win = (trn_window){k, k, stride, k / 2};
    cv->p = add_param(m, name, ".weight", TRN_PARAM_DECAY, 4, cout, k, k, cin);
}

/* A batch-norm's two parameters and two buffers. */
static void add_bn(trn_resnet18 *m, bn_layer *b, const char *name, int c)
{
    b->p = add_param(m, name, ".weight", TRN_PARAM_NO_DECAY, 1, c, 0, 0, 0);
    add_param(m, name, ".bias", TRN_PARAM_NO_DECAY, 1, c, 0, 0, 0);
    add_param(m, name, ".running_mean", TRN_PARAM_BUFFER, 1, c, 0, 0, 0);
    add_param(m, name, ".running_var", TRN_PARAM_BUFFER, 1, c, 0, 0, 0);
    b->stat = m->n_stat;
    m->n_stat += 2 * (size_t)c;
}

static void add_block(trn_resnet18 *m, block *b, int stage, int idx, int cin, int cout,
                      int stride)
{
    char name[32];
    snprintf(name, sizeof name, "layer%d.%d.conv1", stage, idx);
    add_conv(m, &b->c1, name, cin, cout, 3, stride);
    snprintf(name, sizeof name, "layer%d.%d.bn1", stage, idx);
    add_bn(m, &b->b1, name, cout);
    snprintf(name, sizeof name, "layer%d.%d.conv2", stage, idx);
    add_conv(m, &b->c2, name, cout, cout, 3, 1);
    snprintf(name, sizeof name, "layer%d.%d.bn2", stage, idx);
    add_bn(m, &b->b2, name, cout);
    b->has_down = stride != 1 || cin != cout;
    if (b->has_down) {
        snprintf(name, sizeof name, "layer%d.%d.downsample.0", stage, idx);
        add_conv(m, &b->cd, name, cin, cout, 1, stride);
        b->cd.win.pad = 0;
        snprintf(name, sizeof name, "layer%d.%d.downsample.1", stage, idx);
        add_bn(m, &b->bd, name, cout);
    }
}

/* The whole parameter list, in state_dict order. */
static void build_params(trn_resnet18 *m)
{
    const int w = m->cfg.base_width;
    if (m->small_stem)
        add_conv(m, &m->conv1, "conv1", 3, w, 3, 1);
    else
        add_conv(m, &m->conv1, "conv1", 3, w, 7, 2);
    add_bn(m, &m->bn1, "bn1", w);
    int cin = w;
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < 2; i++) {
            int cout = w << s;
            add_block(m, &m->blocks[2 * s + i], s + 1, i, cin, cout, s > 0 && i == 0 ? 2 : 1);
            cin = cout;
        }
    m->fc_w = add_param(m, "fc", ".weight", TRN_PARAM_DECAY, 2, m->cfg.classes, cin, 0, 0);
    m->fc_b = add_param(m, "fc", ".bias", TRN_PARAM_NO_DECAY, 1, m->cfg.classes, 0, 0, 0);
}

/* Points every parameter at its place in the allocated blocks. */
static void resolve_params(trn_resnet18 *m)
{
    for (int i = 0; i < m->nparams; i++) {
        trn_param *p = &m->params[i];
        size_t off = m->offset[i];
        if (p->kind == TRN_PARAM_BUFFER) {
            p->data = m->bdata + off;
        } else {
            p->data = m->pdata + off;
            p->grad = m->pgrad + off;
            p->mom = m->pmom + off;
        }
    }
}

static void resolve_bn(trn_resnet18 *m, bn_layer *b)
{
    int i = b->p;
    size_t stat = b->stat;
    int c = m->params[i].shape[0];
    b->bn.gamma = m->params[i].data;
    b->bn.dgamma = m->params[i].grad;
    b->bn.beta = m->params[i + 1].data;
    b->bn.dbeta = m->params[i + 1].grad;
    b->bn.running_mean = m->params[i + 2].data;
    b->bn.running_var = m->params[i + 3].data;
    b->bn.save_mean = m->stats + stat;
    b->bn.save_invstd = m->stats + stat + c;
    b->bn.momentum = m->cfg.bn_momentum;
    b->bn.eps = m->cfg.bn_eps;
}

static void resolve_bns(trn_resnet18 *m)
{
    resolve_bn(m, &m->bn1);
    for (int i = 0; i < BLOCKS; i++) {
        resolve_bn(m, &m->blocks[i].b1);
        resolve_bn(m, &m->blocks[i].b2);
        if (m->blocks[i].has_down)
            resolve_bn(m, &m->blocks[i].bd);
    }
}

/* ------------------------------------------------------------------- init */

/* splitmix64: a seeded stream, the same on every platform. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0 (Box-Muller takes its log). */
static double rng_unit(uint64_t *s) { return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }

static double rng_normal(uint64_t *s)
{
    double u = rng_unit(s), v = rng_unit(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* Host values of one parameter or buffer, torchvision's init. */
static void init_param(const trn_param *p, float *v, uint64_t *rng)
{
    const char *dot = strrchr(p->name, '.');
    if (p->ndim == 4) {
        /* kaiming_normal_(mode="fan_out", nonlinearity="relu") */
        double std = sqrt(2.0 / ((double)p->shape[0] * p->shape[1] * p->shape[2]));
        for (size_t i = 0; i < p->count; i++)
            v[i] = (float)(std * rng_normal(rng));
    } else if (strncmp(p->name, "fc.", 3) == 0) {
        /* nn.Linear: kaiming_uniform_(a=sqrt(5)) and the bias alike, both
         * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
        int fan_in = p->ndim == 2 ? p->shape[1] : p[-1].shape[1]; /* the bias follows fc.weight */
        double bound = 1.0 / sqrt((double)fan_in);
        for (size_t i = 0; i < p->count; i++)
            v[i] = (float)(bound * (2.0 * rng_unit(rng) - 1.0));
    } else {
        /* batch-norm: weight and running_var 1, bias and running_mean 0 */
        float one = strcmp(dot, ".weight") == 0 || strcmp(dot, ".running_var") == 0;
        for (size_t i = 0; i < p->count; i++)
            v[i] = one;
    }
}

static inrf_status init_params(trn_resnet18 *m)
{
    size_t most = 0;
    for (int i = 0; i < m->nparams; i++)
        most = m->params[i].count > most ? m->params[i].count : most;
    float *v = malloc(most * sizeof(float));
    if (v == NULL)
        return trn_fail(INRF_E_NOMEM, "resnet18: out of memory");
    uint64_t rng = m->cfg.seed;
    for (int i = 0; i < m->nparams; i++) {
        init_param(&m->params[i], v, &rng);
        m->be->upload(m->be, m->params[i].data, v, m->params[i].count * sizeof(float));
    }
    free(v);
    m->be->zero(m->be, m->pmom, m->n_train * sizeof(float));
    m->be->zero(m->be, m->pgrad, m->n_train * sizeof(float));
    return m->be->sync(m->be);
}

/* ------------------------------------------------------------ activations */

/* Hands out activation tensors of the full batch from one block. */
typedef struct carver {
    float *base;
    size_t used, most; /* floats handed out; the largest tensor */
} carver;

static trn_tensor carve(carver *cv, int n, int h, int w, int c)
{
    trn_tensor t = trn_tensor4(cv->base ? cv->base + cv->used : NULL, n, h, w, c);
    size_t sz = (trn_numel(&t) + 15) & ~(size_t)15; /* keeps 64-byte alignment */
    cv->used += sz;
    cv->most = sz > cv->most ? sz : cv->most;
    return t;
}

/* Lays out every activation; run once to size, once to assign. */
static void layout_activations(trn_resnet18 *m, carver *cv)
{
    const int N = m->cfg.batch, w = m->cfg.base_width;
    int h = m->cfg.image_h, wd = m->cfg.image_w;
    h = trn_window_out(h, m->conv1.win.kh, &m->conv1.win);
    wd = trn_window_out(wd, m->conv1.win.kw, &m->conv1.win);
    m->h0 = carve(cv, N, h, wd, w);
    m->a0 = carve(cv, N, h, wd, w);
    trn_tensor cur = m->a0;
    if (!m->small_stem) {
        h = trn_window_out(h, 3, &m->pool_win);
        wd = trn_window_out(wd, 3, &m->pool_win);
        m->p0 = carve(cv, N, h, wd, w);
        cur = m->p0;
    }
    for (int i = 0; i < BLOCKS; i++) {
        block *b = &m->blocks[i];
        const trn_window *win = &b->c1.win;
        int c = m->params[b->c1.p].shape[0];
        h = trn_window_out(h, 3, win);
        wd = trn_window_out(wd, 3, win);
        b->x = cur;
        b->h1 = carve(cv, N, h, wd, c);
        b->a1 = carve(cv, N, h, wd, c);
        b->h2 = carve(cv, N, h, wd, c);
        if (b->has_down) {
            b->hd = carve(cv, N, h, wd, c);
            b->sd = carve(cv, N, h, wd, c);
        }
        b->y = carve(cv, N, h, wd, c);
        cur = b->y;
    }
    m->pooled = carve(cv, N, 1, 1, cur.c);
    m->dpooled = carve(cv, N, 1, 1, cur.c);
    m->logits = carve(cv, N, 1, 1, m->cfg.classes);
    m->dlogits = carve(cv, N, 1, 1, m->cfg.classes);
}

/* --------------------------------------------------------------- create */

static inrf_status check_range(const char *field, int v, int lo, int hi)
{
    if (v < lo || v > hi)
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: %s %d out of range %d..%d", field, v, lo,
                        hi);
    return INRF_OK;
}

static inrf_status check_config(const trn_resnet18_config *c)
{
    inrf_status st;
    if ((st = check_range("classes", c->classes, 1, 65536)) ||
        (st = check_range("base_width", c->base_width, 1, 512)) ||
        (st = check_range("image_h", c->image_h, 8, 4096)) ||
        (st = check_range("image_w", c->image_w, 8, 4096)) ||
        (st = check_range("batch", c->batch, 1, 65536)))
        return st;
    if (!(c->bn_momentum >= 0.0f) || !(c->bn_momentum <= 1.0f))
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: bn_momentum %g out of range 0..1",
                        (double)c->bn_momentum);
    if (!(c->bn_eps > 0.0f) || !isfinite(c->bn_eps))
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: bn_eps %g not finite and positive",
                        (double)c->bn_eps);
    return INRF_OK;
}

static inrf_status alloc_floats(trn_backend *be, size_t n, float **out)
{
    void *p = NULL;
    inrf_status st = be->alloc(be, (n ? n : 1) * sizeof(float), &p);
    *out = p;
    return st;
}

static inrf_status alloc_all(trn_resnet18 *m)
{
    carver cv = {NULL, 0, 0};
    layout_activations(m, &cv);
    inrf_status st;
    trn_backend *be = m->be;
    if ((st = alloc_floats(be, m->n_train, &m->pdata)) ||
        (st = alloc_floats(be, m->n_train, &m->pgrad)) ||
        (st = alloc_floats(be, m->n_train, &m->pmom)) ||
        (st = alloc_floats(be, m->n_buffer, &m->bdata)) ||
        (st = alloc_floats(be, m->n_stat, &m->stats)) ||
        (st = alloc_floats(be, cv.used, &m->act)) || (st = alloc_floats(be, 1, &m->loss_dev)))
        return st;
    for (int i = 0; i < SCRATCH; i++)
        if ((st = alloc_floats(be, cv.most, &m->scratch[i])))
            return st;
    cv = (carver){m->act, 0, 0};
    layout_activations(m, &cv);
    return INRF_OK;
}

/* A model's parameter list and shapes, nothing allocated on a backend. */
static inrf_status plan(trn_backend *be, const trn_resnet18_config *cfg, trn_resnet18 **out)
{
    *out = NULL;
    inrf_status st = check_config(cfg);
    if (st)
        return st;
    trn_resnet18 *m = calloc(1, sizeof *m);
    if (m == NULL)
        return trn_fail(INRF_E_NOMEM, "resnet18: out of memory");
    m->be = be;
    m->cfg = *cfg;
    m->small_stem = cfg->image_h <= TRN_SMALL_STEM_MAX && cfg->image_w <= TRN_SMALL_STEM_MAX;
    m->pool_win = (trn_window){3, 3, 2, 1};
    build_params(m);
    *out = m;
    return INRF_OK;
}

inrf_status trn_resnet18_memory_need(const trn_resnet18_config *cfg, trn_resnet18_memory *out)
{
    trn_resnet18 *m;
    inrf_status st = plan(NULL, cfg, &m);
    if (st)
        return st;
    carver cv = {NULL, 0, 0};
    layout_activations(m, &cv); /* as alloc_all sizes them */
    out->bytes = 4.0 * (3.0 * m->n_train + m->n_buffer + m->n_stat + cv.used + 1 +
                        (double)SCRATCH * cv.most);
    out->max_channels = 8 * cfg->base_width;
    out->image_floats = cv.most / (size_t)cfg->batch;
    free(m);
    return INRF_OK;
}

inrf_status trn_resnet18_create(trn_backend *be, const trn_resnet18_config *cfg,
                                trn_resnet18 **out)
{
    trn_resnet18 *m;
    inrf_status st = plan(be, cfg, &m);
    if (st)
        return st;
    if ((st = alloc_all(m)) == INRF_OK) {
        resolve_params(m);
        resolve_bns(m);
        st = init_params(m);
    }
    if (st) {
        trn_resnet18_free(m);
        return st;
    }
    *out = m;
    return INRF_OK;
}

void trn_resnet18_free(trn_resnet18 *m)
{
    if (m == NULL)
        return;
    trn_backend *be = m->be;
    float *blocks[] = {m->pdata, m->pgrad, m->pmom, m->bdata, m->stats, m->act, m->loss_dev};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        be->release(be, blocks[i]);
    for (int i = 0; i < SCRATCH; i++)
        be->release(be, m->scratch[i]);
    free(m);
}

const trn_param *trn_resnet18_params(const trn_resnet18 *m, int *count)
{
    *count = m->nparams;
    return m->params;
}

size_t trn_resnet18_param_count(const trn_resnet18 *m) { return m->n_train; }

int trn_resnet18_small_stem(const trn_resnet18 *m) { return m->small_stem; }

trn_tensor trn_resnet18_logits(const trn_resnet18 *m) { return m->logits; }

/* --------------------------------------------------------------- forward */

/* Parameter p as a tensor (conv (Cout,KH,KW,Cin), linear (Out,1,1,In)), or its gradient. */
static trn_tensor weight_of(const trn_resnet18 *m, int p, int grad)
{
    const trn_param *q = &m->params[p];
    return trn_tensor4(grad ? q->grad : q->data, q->shape[0], q->ndim > 2 ? q->shape[1] : 1,
                       q->ndim > 2 ? q->shape[2] : 1, q->ndim > 2 ? q->shape[3] : q->shape[1]);
}

static void conv_fwd(trn_resnet18 *m, const conv_layer *cv, const trn_tensor *x, const trn_tensor *y)
{
    trn_tensor w = weight_of(m, cv->p, 0);
    m->be->conv_forward(m->be, &cv->win, x, &w, y);
}

static void conv_bwd(trn_resnet18 *m, const conv_layer *cv, const trn_tensor *x,
                     const trn_tensor *dy, const trn_tensor *dx)
{
    trn_tensor w = weight_of(m, cv->p, 0), dw = weight_of(m, cv->p, 1);
    m->be->conv_backward(m->be, &cv->win, x, &w, dy, dx, &dw);
}

/* The same shape as t over other memory. */
static trn_tensor like(float *data, const trn_tensor *t)
{
    return trn_tensor4(data, t->n, t->h, t->w, t->c);
}

static void set_batch(trn_resnet18 *m, int n)
{
    trn_tensor *all[] = {&m->h0, &m->a0, &m->p0, &m->pooled, &m->dpooled, &m->logits, &m->dlogits};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        all[i]->n = n;
    for (int i = 0; i < BLOCKS; i++) {
        block *b = &m->blocks[i];
        b->x.n = b->h1.n = b->a1.n = b->h2.n = b->hd.n = b->sd.n = b->y.n = n;
    }
}

// x (N,H,W,Cin) -> y (N,H/s,W/s,Cout); keeps h1, a1, h2 (and hd, sd)
static void block_forward(trn_resnet18 *m, block *b, int train)
{
    trn_backend *be = m->be;
    int mode = train ? TRN_BN_TRAIN : 0;
    conv_fwd(m, &b->c1, &b->x, &b->h1);
    be->bn_forward(be, &b->b1.bn, mode | TRN_BN_RELU, &b->h1, NULL, &b->a1);
    conv_fwd(m, &b->c2, &b->a1, &b->h2);
    const trn_tensor *shortcut = &b->x;
    if (b->has_down) {
        conv_fwd(m, &b->cd, &b->x, &b->hd);
        be->bn_forward(be, &b->bd.bn, mode, &b->hd, NULL, &b->sd);
        shortcut = &b->sd;
    }
    be->bn_forward(be, &b->b2.bn, mode | TRN_BN_RELU, &b->h2, shortcut, &b->y);
}

inrf_status trn_resnet18_forward(trn_resnet18 *m, const trn_tensor *x, int train)
{
    if (x->n < 1 || x->n > m->cfg.batch || x->h != m->cfg.image_h || x->w != m->cfg.image_w ||
        x->c != 3)
        return trn_fail(INRF_E_INVALID_ARG,
                        "resnet18: input (%d,%d,%d,%d), expected (<=%d,%d,%d,3)", x->n, x->h,
                        x->w, x->c, m->cfg.batch, m->cfg.image_h, m->cfg.image_w);
    trn_backend *be = m->be;
    int mode = train ? TRN_BN_TRAIN : 0;
    set_batch(m, x->n);
    m->x = *x;
    // stem: x (N,H,W,3) -> h0 = a0 (N,H1,W1,C) [-> p0 (N,H1/2,W1/2,C)]
    conv_fwd(m, &m->conv1, x, &m->h0);
    be->bn_forward(be, &m->bn1.bn, mode | TRN_BN_RELU, &m->h0, NULL, &m->a0);
    if (!m->small_stem)
        be->maxpool_forward(be, &m->pool_win, &m->a0, &m->p0);
    for (int i = 0; i < BLOCKS; i++)
        block_forward(m, &m->blocks[i], train);
    // head: y (N,h,w,8C) -> pooled (N,1,1,8C) -> logits (N,1,1,K)
    be->avgpool_forward(be, &m->blocks[BLOCKS - 1].y, &m->pooled);
    trn_tensor fw = weight_of(m, m->fc_w, 0);
    be->linear_forward(be, &m->pooled, &fw, m->params[m->fc_b].data, &m->logits);
    m->trained = train;
    m->have_loss = 0;
    return INRF_OK;
}

inrf_status trn_resnet18_loss(trn_resnet18 *m, const int32_t *labels, float smoothing,
                              float *loss)
{
    trn_backend *be = m->be;
    be->xent(be, &m->logits, labels, smoothing, &m->dlogits, m->loss_dev);
    be->download(be, loss, m->loss_dev, sizeof(float));
    inrf_status st = be->sync(be);
    m->have_loss = st == INRF_OK;
    return st;
}

/* -------------------------------------------------------------- backward */

// dy (N,H/s,W/s,Cout) in scratch 0 -> dx (N,H,W,Cin) in scratch 0.
// Scratch roles: 1 dh2 then dh1, 2 the shortcut's gradient, 3 da1 then
// dhd then conv1's dx; each is dead before it is reused.
static void block_backward(trn_resnet18 *m, block *b)
{
    trn_backend *be = m->be;
    float **g = m->scratch;
    trn_tensor dy = like(g[0], &b->y), dh2 = like(g[1], &b->h2), ds = like(g[2], &b->y);
    be->bn_backward(be, &b->b2.bn, TRN_BN_RELU, &b->h2, &b->y, &dy, &dh2, &ds);
    trn_tensor da1 = like(g[3], &b->a1), dh1 = like(g[1], &b->h1);
    conv_bwd(m, &b->c2, &b->a1, &dh2, &da1);
    be->bn_backward(be, &b->b1.bn, TRN_BN_RELU, &b->h1, &b->a1, &da1, &dh1, NULL);
    trn_tensor dx_short = like(g[2], &b->x); /* identity: the shortcut's own gradient */
    if (b->has_down) {
        trn_tensor dhd = like(g[3], &b->hd);
        be->bn_backward(be, &b->bd.bn, 0, &b->hd, &b->sd, &ds, &dhd, NULL);
        dx_short = like(g[0], &b->x);
        conv_bwd(m, &b->cd, &b->x, &dhd, &dx_short);
    }
    trn_tensor dx_main = like(g[3], &b->x), dx = like(g[0], &b->x);
    conv_bwd(m, &b->c1, &b->x, &dh1, &dx_main);
    be->add(be, &dx_main, &dx_short, &dx);
}

inrf_status trn_resnet18_backward(trn_resnet18 *m)
{
    if (!m->trained || !m->have_loss)
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: backward needs a training forward and its loss");
    trn_backend *be = m->be;
    float **g = m->scratch;
    // head: dlogits (N,1,1,K) -> dpooled (N,1,1,8C) -> scratch 0 (N,h,w,8C)
    trn_tensor fw = weight_of(m, m->fc_w, 0), dfw = weight_of(m, m->fc_w, 1);
    be->linear_backward(be, &m->pooled, &fw, &m->dlogits, &m->dpooled, &dfw,
                        m->params[m->fc_b].grad);
    trn_tensor dy = like(g[0], &m->blocks[BLOCKS - 1].y);
    be->avgpool_backward(be, &m->dpooled, &dy);
    for (int i = BLOCKS - 1; i >= 0; i--)
        block_backward(m, &m->blocks[i]);
    // stem: scratch 0 [-> maxpool backward] -> bn1 backward -> conv1's dw
    trn_tensor da0 = like(g[0], &m->a0), dh0 = like(g[2], &m->h0);
    if (!m->small_stem) {
        trn_tensor dp0 = like(g[0], &m->p0);
        da0 = like(g[1], &m->a0);
        be->maxpool_backward(be, &m->pool_win, &m->a0, &m->p0, &dp0, &da0);
    }
    be->bn_backward(be, &m->bn1.bn, TRN_BN_RELU, &m->h0, &m->a0, &da0, &dh0, NULL);
    conv_bwd(m, &m->conv1, &m->x, &dh0, NULL);
    m->have_loss = 0;
    return INRF_OK;
}

/* ------------------------------------------------------------------ step */

inrf_status trn_resnet18_step(trn_resnet18 *m, const trn_sgd_options *opt)
{
    if (!(opt->lr >= 0.0f) || !isfinite(opt->lr))
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: SGD learning rate %g not finite and >= 0",
                        (double)opt->lr);
    if (!(opt->momentum >= 0.0f) || !(opt->momentum <= 1.0f))
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: SGD momentum %g out of range 0..1",
                        (double)opt->momentum);
    if (!(opt->weight_decay >= 0.0f) || !isfinite(opt->weight_decay))
        return trn_fail(INRF_E_INVALID_ARG, "resnet18: SGD weight decay %g not finite and >= 0",
                        (double)opt->weight_decay);
    trn_backend *be = m->be;
    for (int i = 0; i < m->nparams; i++) {
        const trn_param *p = &m->params[i];
        if (p->kind == TRN_PARAM_BUFFER)
            continue;
        float wd = p->kind == TRN_PARAM_DECAY || opt->decay_all ? opt->weight_decay : 0.0f;
        be->sgd_step(be, p->data, p->grad, p->mom, p->count, opt->lr, opt->momentum, wd);
    }
    return be->sync(be);
}

inrf_status trn_resnet18_train_batch(trn_resnet18 *m, const trn_tensor *x,
                                     const int32_t *labels, float smoothing,
                                     const trn_sgd_options *opt, float *loss)
{
    inrf_status st;
    if ((st = trn_resnet18_forward(m, x, 1)) || (st = trn_resnet18_loss(m, labels, smoothing, loss)) ||
        (st = trn_resnet18_backward(m)))
        return st;
    return trn_resnet18_step(m, opt);
}

/* ------------------------------------------------------------ conversion */

void trn_conv_weight_from_torch(const float *oihw, float *ohwi, int cout, int cin, int kh, int kw)
{
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++)
            for (int y = 0; y < kh; y++)
                for (int x = 0; x < kw; x++)
                    ohwi[(((size_t)o * kh + y) * kw + x) * cin + i] =
                        oihw[(((size_t)o * cin + i) * kh + y) * kw + x];
}

void trn_conv_weight_to_torch(const float *ohwi, float *oihw, int cout, int cin, int kh, int kw)
{
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++)
            for (int y = 0; y < kh; y++)
                for (int x = 0; x < kw; x++)
                    oihw[(((size_t)o * cin + i) * kh + y) * kw + x] =
                        ohwi[(((size_t)o * kh + y) * kw + x) * cin + i];
}
