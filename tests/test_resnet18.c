/* test_resnet18.c: the whole model on the CPU backend against PyTorch's
 * values in tests/golden/resnet18.bin (tests/gen_resnet18_golden.py).
 *
 * Both variants (3x3 stem at 16x16, 7x7 stem with max-pool at 72x72) are
 * loaded with PyTorch's initial weights and must give its train-mode logits
 * and loss, every parameter's gradient, the loss of a second step, the
 * weights and running statistics after two SGD steps, and the eval-mode
 * logits. Tolerances are per tensor, against its largest reference
 * magnitude S (see TOL_* below); for the state after two steps it is the
 * change from the initial state that is compared, so that an update error
 * cannot hide under the size of the weights. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../trainer/cpu_backend.h"
#include "../trainer/error.h"
#include "../trainer/resnet18.h"

/* Measured worst errors, relative to S: logits 9e-7, gradients 3.4e-6,
 * two-step changes 2.8e-5 (layer4's batch-norm weights: their second
 * gradient comes through a batch-norm over 16-18 values per channel, which
 * amplifies the first step's rounding). PyTorch sums in other orders, so
 * float rounding differs; the bounds leave a margin of about 10. A real bug
 * (a wrong statistic, a transposed weight, a lost residual, decay on a
 * batch-norm weight) moves whole tensors by O(S). */
#define TOL_FWD 1e-5
#define TOL_GRAD 5e-5
#define TOL_STEP 3e-4

/* ------------------------------------------------------- golden reader */

typedef struct golden_tensor {
    char name[96];
    int dtype;       /* 0 f32, 1 i32 */
    int ndim;
    uint32_t dims[4];
    size_t count;
    const uint8_t *data;
} golden_tensor;

typedef struct golden_file {
    uint8_t *bytes;
    size_t size;
    golden_tensor *t;
    uint32_t count;
} golden_file;

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static float rd_f32(const uint8_t *p)
{
    uint32_t u = rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Parses one record at *off; 0 when it runs past the end or is malformed. */
static int parse_tensor(const golden_file *g, size_t *off, golden_tensor *t)
{
    const uint8_t *b = g->bytes;
    size_t o = *off;
    if (g->size - o < 2)
        return 0;
    uint16_t len = rd_u16(b + o);
    o += 2;
    if (len >= sizeof t->name || g->size - o < (size_t)len + 2)
        return 0;
    memcpy(t->name, b + o, len);
    t->name[len] = '\0';
    o += len;
    t->dtype = b[o];
    t->ndim = b[o + 1];
    o += 2;
    if (t->dtype > 1 || t->ndim > 4 || g->size - o < 4 * (size_t)t->ndim)
        return 0;
    t->count = 1;
    for (int i = 0; i < t->ndim; i++) {
        t->dims[i] = rd_u32(b + o);
        o += 4;
        t->count *= t->dims[i];
    }
    if (t->count > (g->size - o) / 4)
        return 0;
    t->data = b + o;
    *off = o + 4 * t->count;
    return 1;
}

static void golden_load(golden_file *g)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/golden/resnet18.bin", top ? top : ".");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(size > 16);
    g->size = (size_t)size;
    g->bytes = malloc(g->size);
    assert_non_null(g->bytes);
    assert_int_equal(fread(g->bytes, 1, g->size, f), g->size);
    fclose(f);
    assert_memory_equal(g->bytes, "\x89TRGOLD\n", 8);
    assert_int_equal(rd_u16(g->bytes + 8), 1); /* major */
    g->count = rd_u32(g->bytes + 12);
    assert_true(g->count > 0 && g->count < 100000);
    g->t = calloc(g->count, sizeof *g->t);
    assert_non_null(g->t);
    size_t off = 16;
    for (uint32_t i = 0; i < g->count; i++)
        assert_true(parse_tensor(g, &off, &g->t[i]));
    assert_int_equal(off, g->size);
}

static void golden_free(golden_file *g)
{
    free(g->bytes);
    free(g->t);
}

static const golden_tensor *golden_find(const golden_file *g, const char *variant,
                                        const char *what, const char *key)
{
    char name[96];
    snprintf(name, sizeof name, "%s/%s%s%s", variant, what, key ? "/" : "", key ? key : "");
    for (uint32_t i = 0; i < g->count; i++)
        if (strcmp(g->t[i].name, name) == 0)
            return &g->t[i];
    fprintf(stderr, "golden file has no %s\n", name);
    fail();
    return NULL;
}

/* A golden f32 tensor as floats, in this model's layout: convolution
 * weights (Cout,Cin,KH,KW) become (Cout,KH,KW,Cin), images NCHW NHWC. */
static float *golden_floats(const golden_tensor *t)
{
    assert_int_equal(t->dtype, 0);
    float *raw = malloc(t->count * sizeof(float)), *out = malloc(t->count * sizeof(float));
    assert_non_null(raw);
    assert_non_null(out);
    for (size_t i = 0; i < t->count; i++)
        raw[i] = rd_f32(t->data + 4 * i);
    if (t->ndim == 4) {
        /* both are "move axis 1 last", (O,I,KH,KW) and (N,C,H,W) alike */
        trn_conv_weight_from_torch(raw, out, (int)t->dims[0], (int)t->dims[1], (int)t->dims[2],
                                   (int)t->dims[3]);
    } else {
        memcpy(out, raw, t->count * sizeof(float));
    }
    free(raw);
    return out;
}

/* ---------------------------------------------------------- comparison */

static double max_abs(const float *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* got within tol * max|want| of want, element by element. */
static void expect_close(const char *what, const char *name, const float *got,
                         const float *want, size_t n, double tol)
{
    double scale = max_abs(want, n);
    if (!(scale > 0.0)) {
        fprintf(stderr, "%s %s: reference is zero\n", what, name);
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (!(e <= tol * scale)) {
            fprintf(stderr, "%s %s[%zu]: got %.8g, want %.8g (scale %.3g)\n", what, name, i,
                    (double)got[i], (double)want[i], scale);
            fail();
        }
    }
}

/* ---------------------------------------------------------------- test */

typedef struct variant_run {
    const golden_file *g;
    const char *v;
    trn_backend *be;
    trn_resnet18 *m;
    const trn_param *params;
    int nparams;
    size_t most; /* the largest parameter, in floats */
} variant_run;

static void load_initial_state(variant_run *r)
{
    for (int i = 0; i < r->nparams; i++) {
        const trn_param *p = &r->params[i];
        const golden_tensor *t = golden_find(r->g, r->v, "init", p->name);
        assert_int_equal(t->count, p->count);
        assert_int_equal(t->ndim, p->ndim);
        if (p->ndim == 4) /* torch (O,I,KH,KW), here (O,KH,KW,I) */
            assert_true(t->dims[0] == (uint32_t)p->shape[0] && t->dims[1] == (uint32_t)p->shape[3] &&
                        t->dims[2] == (uint32_t)p->shape[1] && t->dims[3] == (uint32_t)p->shape[2]);
        float *v = golden_floats(t);
        r->be->upload(r->be, p->data, v, p->count * sizeof(float));
        free(v);
        r->most = p->count > r->most ? p->count : r->most;
    }
}

/* Every parameter's gradient (what = "grad"), or the change of every
 * parameter and buffer from its initial value (what = "step2"). */
static void compare_params(const variant_run *r, const char *what)
{
    int step2 = strcmp(what, "step2") == 0;
    float *got = malloc(r->most * sizeof(float));
    assert_non_null(got);
    for (int i = 0; i < r->nparams; i++) {
        const trn_param *p = &r->params[i];
        if (!step2 && p->kind == TRN_PARAM_BUFFER)
            continue;
        float *want = golden_floats(golden_find(r->g, r->v, what, p->name));
        r->be->download(r->be, got, step2 ? p->data : p->grad, p->count * sizeof(float));
        assert_int_equal(r->be->sync(r->be), INRF_OK);
        if (step2) {
            float *init = golden_floats(golden_find(r->g, r->v, "init", p->name));
            for (size_t k = 0; k < p->count; k++) {
                got[k] -= init[k];
                want[k] -= init[k];
            }
            free(init);
        }
        expect_close(what, p->name, got, want, p->count, step2 ? TOL_STEP : TOL_GRAD);
        free(want);
    }
    free(got);
}

static void compare_logits(const variant_run *r, const char *what)
{
    trn_tensor lg = trn_resnet18_logits(r->m);
    size_t n = trn_numel(&lg);
    const golden_tensor *t = golden_find(r->g, r->v, what, NULL);
    assert_int_equal(t->count, n);
    float *want = golden_floats(t), *got = malloc(n * sizeof(float));
    assert_non_null(got);
    r->be->download(r->be, got, lg.data, n * sizeof(float));
    assert_int_equal(r->be->sync(r->be), INRF_OK);
    expect_close(what, "", got, want, n, TOL_FWD);
    free(want);
    free(got);
}

static void run_variant(const golden_file *g, const char *v)
{
    const golden_tensor *cfg_t = golden_find(g, v, "config", NULL);
    assert_true(cfg_t->dtype == 1 && cfg_t->count == 6);
    int32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = (int32_t)rd_u32(cfg_t->data + 4 * i);
    float *hp = golden_floats(golden_find(g, v, "hparams", NULL));

    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.batch = c[0], cfg.image_h = c[1], cfg.image_w = c[2], cfg.classes = c[3];
    cfg.base_width = c[4];
    variant_run r = {g, v, NULL, NULL, NULL, 0, 0};
    assert_int_equal(trn_cpu_backend_create(2, &r.be), INRF_OK);
    assert_int_equal(trn_resnet18_create(r.be, &cfg, &r.m), INRF_OK);
    assert_int_equal(trn_resnet18_small_stem(r.m), c[5]);
    r.params = trn_resnet18_params(r.m, &r.nparams);
    load_initial_state(&r);

    /* the input (NHWC here) and labels on the device */
    const golden_tensor *xt = golden_find(g, v, "input", NULL), *lt = golden_find(g, v, "labels", NULL);
    float *x_host = golden_floats(xt);
    void *x_dev = NULL, *l_dev = NULL;
    assert_int_equal(r.be->alloc(r.be, xt->count * sizeof(float), &x_dev), INRF_OK);
    assert_int_equal(r.be->alloc(r.be, lt->count * sizeof(int32_t), &l_dev), INRF_OK);
    r.be->upload(r.be, x_dev, x_host, xt->count * sizeof(float));
    r.be->upload(r.be, l_dev, lt->data, lt->count * sizeof(int32_t)); /* little-endian host */
    trn_tensor x = trn_tensor4(x_dev, c[0], c[1], c[2], 3);
    float *want_loss = golden_floats(golden_find(g, v, "loss", NULL));
    trn_sgd_options opt;
    trn_sgd_options_init(&opt);
    opt.lr = hp[0], opt.momentum = hp[1], opt.weight_decay = hp[2];

    /* step 1: logits, loss, gradients */
    float loss = 0.0f;
    assert_int_equal(trn_resnet18_forward(r.m, &x, 1), INRF_OK);
    compare_logits(&r, "logits");
    assert_int_equal(trn_resnet18_loss(r.m, l_dev, hp[3], &loss), INRF_OK);
    assert_true(fabs(loss - want_loss[0]) <= TOL_FWD * want_loss[0]);
    assert_int_equal(trn_resnet18_backward(r.m), INRF_OK);
    compare_params(&r, "grad");
    assert_int_equal(trn_resnet18_step(r.m, &opt), INRF_OK);
    /* step 2: with momentum; then the state and eval-mode logits */
    assert_int_equal(trn_resnet18_train_batch(r.m, &x, l_dev, hp[3], &opt, &loss), INRF_OK);
    assert_true(fabs(loss - want_loss[1]) <= TOL_FWD * want_loss[1]);
    compare_params(&r, "step2");
    assert_int_equal(trn_resnet18_forward(r.m, &x, 0), INRF_OK);
    compare_logits(&r, "eval_logits");
    /* backward after an eval forward is refused */
    assert_int_equal(trn_resnet18_backward(r.m), INRF_E_INVALID_ARG);

    free(hp), free(x_host), free(want_loss);
    r.be->release(r.be, x_dev);
    r.be->release(r.be, l_dev);
    trn_resnet18_free(r.m);
    r.be->destroy(r.be);
}

static void test_small_stem(void **state)
{
    run_variant(*state, "small");
}

static void test_large_stem(void **state)
{
    run_variant(*state, "large");
}

/* torchvision's names and order, and the sizes of the full model. */
static void test_layout(void **state)
{
    (void)state;
    trn_backend *be = NULL;
    trn_resnet18 *m = NULL;
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.batch = 1;
    cfg.image_h = cfg.image_w = 224;
    cfg.classes = 1000;
    assert_int_equal(trn_cpu_backend_create(1, &be), INRF_OK);
    assert_int_equal(trn_resnet18_create(be, &cfg, &m), INRF_OK);
    int n = 0;
    const trn_param *p = trn_resnet18_params(m, &n);
    assert_int_equal(n, 102); /* 62 trainable, 40 running statistics */
    assert_string_equal(p[0].name, "conv1.weight");
    assert_int_equal(p[0].shape[1], 7);
    assert_string_equal(p[5].name, "layer1.0.conv1.weight");
    assert_string_equal(p[n - 1].name, "fc.bias");
    assert_string_equal(p[n - 2].name, "fc.weight");
    /* torchvision's resnet18(): 11,689,512 parameters */
    assert_int_equal(trn_resnet18_param_count(m), 11689512);
    /* kaiming_normal_(fan_out): conv1's std is sqrt(2 / (64*7*7)) */
    double s = 0.0, s2 = 0.0;
    for (size_t i = 0; i < p[0].count; i++) {
        s += p[0].data[i];
        s2 += (double)p[0].data[i] * p[0].data[i];
    }
    double sd = sqrt(s2 / p[0].count - (s / p[0].count) * (s / p[0].count));
    assert_true(fabs(sd / sqrt(2.0 / (64 * 49)) - 1.0) < 0.05);
    trn_resnet18_free(m);
    be->destroy(be);
}

/* Weight decay goes to convolution and linear weights only, unless
 * decay_all; running statistics are never touched. With zero gradients,
 * no momentum, lr 1 and decay 0.5 a decayed parameter halves exactly. */
static void check_decay(int decay_all)
{
    trn_backend *be = NULL;
    trn_resnet18 *m = NULL;
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.batch = 2, cfg.base_width = 2, cfg.image_h = cfg.image_w = 8, cfg.classes = 3;
    assert_int_equal(trn_cpu_backend_create(1, &be), INRF_OK);
    assert_int_equal(trn_resnet18_create(be, &cfg, &m), INRF_OK);
    int n = 0;
    const trn_param *p = trn_resnet18_params(m, &n);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += p[i].count;
    float *before = malloc(total * sizeof(float)), *v = before;
    assert_non_null(before);
    for (int i = 0; i < n; i++) {
        memcpy(v, p[i].data, p[i].count * sizeof(float)); /* CPU: device is host */
        v += p[i].count;
        if (p[i].grad)
            be->zero(be, p[i].grad, p[i].count * sizeof(float));
    }
    trn_sgd_options opt = {1.0f, 0.0f, 0.5f, decay_all};
    assert_int_equal(trn_resnet18_step(m, &opt), INRF_OK);
    v = before;
    int decayed = 0;
    for (int i = 0; i < n; i++) {
        int decay = p[i].kind == TRN_PARAM_DECAY || (decay_all && p[i].kind == TRN_PARAM_NO_DECAY);
        decayed += decay;
        for (size_t k = 0; k < p[i].count; k++)
            assert_true(p[i].data[k] == (decay ? 0.5f * v[k] : v[k]));
        v += p[i].count;
    }
    assert_int_equal(decayed, decay_all ? 62 : 21); /* 20 convolutions and fc.weight */
    free(before);
    trn_resnet18_free(m);
    be->destroy(be);
}

static void test_decay_flags(void **state)
{
    (void)state;
    check_decay(0);
    check_decay(1);
}

/* A configuration or SGD option out of range: the field, its value and
 * its range; trn_resnet18_memory_need refuses the same. */
static void test_messages(void **state)
{
    (void)state;
    static const struct {
        int field, value;
        const char *want;
    } cases[] = {
        {0, 0, "resnet18: classes 0 out of range 1..65536"},
        {1, 0, "resnet18: base_width 0 out of range 1..512"},
        {1, 1024, "resnet18: base_width 1024 out of range 1..512"},
        {2, 4, "resnet18: image_h 4 out of range 8..4096"},
        {3, 5000, "resnet18: image_w 5000 out of range 8..4096"},
        {4, 0, "resnet18: batch 0 out of range 1..65536"},
        {5, -1, "resnet18: bn_momentum -1 out of range 0..1"},
        {6, 0, "resnet18: bn_eps 0 not finite and positive"},
    };
    trn_backend *be = NULL;
    trn_resnet18 *m = NULL;
    assert_int_equal(trn_cpu_backend_create(1, &be), INRF_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        trn_resnet18_config cfg;
        trn_resnet18_config_init(&cfg);
        int v = cases[i].value;
        switch (cases[i].field) {
        case 0: cfg.classes = v; break;
        case 1: cfg.base_width = v; break;
        case 2: cfg.image_h = v; break;
        case 3: cfg.image_w = v; break;
        case 4: cfg.batch = v; break;
        case 5: cfg.bn_momentum = (float)v; break;
        case 6: cfg.bn_eps = (float)v; break;
        }
        assert_int_equal(trn_resnet18_create(be, &cfg, &m), INRF_E_INVALID_ARG);
        assert_null(m);
        assert_string_equal(trn_last_error(), cases[i].want);
        trn_resnet18_memory mem;
        assert_int_equal(trn_resnet18_memory_need(&cfg, &mem), INRF_E_INVALID_ARG);
        assert_string_equal(trn_last_error(), cases[i].want);
    }
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.batch = 2, cfg.base_width = 1, cfg.image_h = cfg.image_w = 8;
    assert_int_equal(trn_resnet18_create(be, &cfg, &m), INRF_OK);
    trn_sgd_options opt;
    trn_sgd_options_init(&opt);
    opt.lr = -0.5f;
    assert_int_equal(trn_resnet18_step(m, &opt), INRF_E_INVALID_ARG);
    assert_string_equal(trn_last_error(), "resnet18: SGD learning rate -0.5 not finite and >= 0");
    opt.lr = 0.1f, opt.momentum = 1.5f;
    assert_int_equal(trn_resnet18_step(m, &opt), INRF_E_INVALID_ARG);
    assert_string_equal(trn_last_error(), "resnet18: SGD momentum 1.5 out of range 0..1");
    opt.momentum = 0.9f, opt.weight_decay = INFINITY;
    assert_int_equal(trn_resnet18_step(m, &opt), INRF_E_INVALID_ARG);
    assert_string_equal(trn_last_error(), "resnet18: SGD weight decay inf not finite and >= 0");
    trn_resnet18_free(m);
    be->destroy(be);
}

/* The memory estimate is what trn_resnet18_create allocates: the model's
 * blocks laid out for the batch (a larger batch, more activations). */
static void test_memory_need(void **state)
{
    (void)state;
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.batch = 2, cfg.base_width = 2, cfg.image_h = cfg.image_w = 16, cfg.classes = 3;
    trn_resnet18_memory a, b;
    assert_int_equal(trn_resnet18_memory_need(&cfg, &a), INRF_OK);
    cfg.batch = 4;
    assert_int_equal(trn_resnet18_memory_need(&cfg, &b), INRF_OK);
    assert_int_equal(a.max_channels, 16);
    assert_int_equal(a.image_floats, 16 * 16 * 2);
    /* parameters x 3 (data, gradient, momentum) at least */
    trn_backend *be = NULL;
    trn_resnet18 *m = NULL;
    assert_int_equal(trn_cpu_backend_create(1, &be), INRF_OK);
    assert_int_equal(trn_resnet18_create(be, &cfg, &m), INRF_OK);
    assert_true(b.bytes >= 12.0 * trn_resnet18_param_count(m));
    /* the activations double with the batch; the parameters stay */
    assert_true(b.bytes > a.bytes && b.bytes < 2 * a.bytes);
    trn_resnet18_free(m);
    be->destroy(be);
}

static void test_lr_cosine(void **state)
{
    (void)state;
    assert_true(trn_lr_cosine(0.4f, 0, 100) == 0.4f);
    assert_true(fabsf(trn_lr_cosine(0.4f, 50, 100) - 0.2f) < 1e-7f);
    assert_true(fabsf(trn_lr_cosine(0.4f, 25, 100) - 0.2f * (1.0f + sqrtf(0.5f))) < 1e-6f);
    assert_true(trn_lr_cosine(0.4f, 100, 100) == 0.0f);
    assert_true(trn_lr_cosine(0.4f, 150, 100) == 0.0f);
    for (long s = 1; s < 100; s++) /* strictly falling */
        assert_true(trn_lr_cosine(0.4f, s, 100) < trn_lr_cosine(0.4f, s - 1, 100));
}

static int setup(void **state)
{
    static golden_file g;
    golden_load(&g);
    *state = &g;
    return 0;
}

static int teardown(void **state)
{
    golden_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_stem),
        cmocka_unit_test(test_large_stem),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_decay_flags),
        cmocka_unit_test(test_lr_cosine),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_memory_need),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
