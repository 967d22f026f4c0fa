/* train_cpu.c: training throughput of the CPU backend: forward, backward and
 * SGD of full-width ResNet-18 (3x3 stem, 32x32, batch 64, 10 classes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../trainer/cpu_backend.h"
#include "../trainer/error.h"
#include "../trainer/resnet18.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: train_cpu THREADS [STEPS [BATCH [WIDTH]]]\n"
                    "  times STEPS (default 5) training steps after one warm-up step and\n"
                    "  prints images/s; BATCH default 64, WIDTH (base channels) default 64\n");
    return 2;
}

/* Random images in [-1, 1] and labels: what the data does not matter here. */
static void fill_batch(float *x, size_t n, int32_t *labels, int batch, int classes)
{
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 8388608.0f - 1.0f;
    }
    for (int i = 0; i < batch; i++)
        labels[i] = i % classes;
}

static int run(int threads, int steps, int batch, int width)
{
    trn_backend *be = NULL;
    trn_resnet18 *m = NULL;
    trn_resnet18_config cfg;
    trn_resnet18_config_init(&cfg);
    cfg.batch = batch;
    cfg.base_width = width;
    inrf_status st = trn_cpu_backend_create(threads, &be);
    if (st == INRF_OK)
        st = trn_resnet18_create(be, &cfg, &m);
    size_t n = (size_t)batch * 32 * 32 * 3;
    float *x = malloc(n * sizeof(float));
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));
    if (st == INRF_OK && (x == NULL || labels == NULL))
        st = trn_fail(INRF_E_NOMEM, "out of memory");
    if (st == INRF_OK) {
        fill_batch(x, n, labels, batch, cfg.classes);
        trn_tensor in = trn_tensor4(x, batch, 32, 32, 3);
        trn_sgd_options opt;
        trn_sgd_options_init(&opt);
        opt.lr = 0.01f;
        float loss = 0.0f;
        st = trn_resnet18_train_batch(m, &in, labels, 0.0f, &opt, &loss); /* warm-up */
        double t0 = now();
        for (int i = 0; i < steps && st == INRF_OK; i++)
            st = trn_resnet18_train_batch(m, &in, labels, 0.0f, &opt, &loss);
        double dt = now() - t0;
        if (st == INRF_OK)
            printf("inrf cpu: %d threads, batch %d, width %d: %.1f images/s (%.3f s/step, loss %.3f)\n",
                   trn_cpu_backend_threads(be), batch, width, steps * batch / dt, dt / steps, loss);
    }
    if (st != INRF_OK)
        fprintf(stderr, "train_cpu: %s: %s\n", inrf_strerror(st), trn_last_error());
    free(x);
    free(labels);
    trn_resnet18_free(m);
    if (be)
        be->destroy(be);
    return st == INRF_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return usage();
    int threads = atoi(argv[1]);
    int steps = argc > 2 ? atoi(argv[2]) : 5;
    int batch = argc > 3 ? atoi(argv[3]) : 64;
    int width = argc > 4 ? atoi(argv[4]) : 64;
    if (threads < 1 || steps < 1 || batch < 1 || width < 1)
        return usage();
    return run(threads, steps, batch, width);
}
