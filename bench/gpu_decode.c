/* gpu_decode.c: GPU batch decode throughput (bench/gpu): packs of seeded
 * networks of the cifar10 and imagenet presets, decoded into fp16 NHWC
 * batches by inrf_cuda_decode_batch; images/s, with the CPU's beside. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "inrf/cuda.h"
#include "../tools/cli.h"

/* A pack of n networks like the encoder's files: int8 hidden layers with
 * 30 % of their weights pruned, f16 first and last layers. */
static void *make_pack(unsigned layers, unsigned width, uint32_t side, unsigned n, size_t *size)
{
    static const char *const names[] = {"a"};
    inrf_pack_writer *w;
    void *d = NULL;
    if (inrf_pack_writer_create(names, 1, &w) != INRF_OK)
        return NULL;
    for (unsigned i = 0; i < n; i++) {
        inrf_arch a;
        inrf_model *m;
        inrf_arch_siren(&a, side, side, 3, (uint8_t)layers, (uint16_t)width);
        if (inrf_model_create(&a, &m) != INRF_OK)
            return NULL;
        inrf_model_init(m, 1000 + i);
        inrf_status st = INRF_OK;
        for (unsigned l = 0; l <= layers && st == INRF_OK; l++) {
            int hidden = l > 0 && l < layers;
            if (hidden) {
                size_t cnt = (size_t)m->layer[l].in * m->layer[l].out;
                uint8_t *mask = calloc((cnt + 7) / 8, 1);
                for (size_t k = 0; mask && k < cnt; k++)
                    if ((k * 2654435761u + i) % 10 >= 3)
                        mask[k >> 3] |= (uint8_t)(1u << (k & 7));
                st = mask ? inrf_layer_set_mask(m, l, mask) : INRF_E_NOMEM;
                free(mask);
            }
            if (st == INRF_OK)
                st = inrf_layer_encode(m, l, hidden ? INRF_ENC_INT8 : INRF_ENC_F16, INRF_ENC_F16);
        }
        if (st == INRF_OK)
            st = inrf_pack_writer_add_model(w, m, 0, i);
        inrf_model_free(m);
        if (st != INRF_OK)
            return NULL;
    }
    if (inrf_pack_writer_finish_memory(w, &d, size) != INRF_OK)
        d = NULL;
    inrf_pack_writer_free(w);
    return d;
}

static int bench(const char *name, unsigned layers, unsigned width, uint32_t side, uint32_t out,
                 unsigned images, unsigned batch, int reps)
{
    size_t size;
    void *d = make_pack(layers, width, side, images, &size);
    inrf_pack *pack = NULL;
    inrf_cuda_pack *gpu = NULL;
    if (!d || inrf_pack_open_memory(d, size, NULL, &pack) != INRF_OK ||
        inrf_cuda_pack_upload(pack, 0, &gpu) != INRF_OK) {
        fprintf(stderr, "gpu_decode: %s\n", inrf_last_error());
        return 1;
    }
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = out;
    o.type = INRF_BATCH_F16;
    /* the batch rounded to whole waves: a multiple of the samples that the
     * device holds resident at once (at least one wave) */
    size_t wave = 0;
    if (inrf_cuda_decode_wave(gpu, &o, &wave) != INRF_OK) {
        fprintf(stderr, "gpu_decode: %s\n", inrf_last_error());
        return 1;
    }
    if (wave == 0) {
        fprintf(stderr, "gpu_decode: %s: no block of the decode kernel fits a multiprocessor\n",
                name);
        return 1;
    }
    size_t waves = (batch + wave / 2) / wave;
    batch = (unsigned)((waves ? waves : 1) * wave);
    uint32_t *idx = malloc(batch * sizeof *idx);
    float *win = malloc(batch * 4 * sizeof *win);
    for (unsigned s = 0; s < batch; s++) {
        idx[s] = s % images;
        int flip = s & 1;
        win[4 * s + 0] = flip ? 0.9f : -0.9f, win[4 * s + 1] = -0.8f;
        win[4 * s + 2] = flip ? -0.9f : 0.9f, win[4 * s + 3] = 0.95f;
    }
    void *dev = NULL;
    if (cudaMalloc(&dev, (size_t)batch * out * out * 3 * 2) != cudaSuccess)
        return 1;
    inrf_status st = inrf_cuda_decode_batch(gpu, idx, batch, win, &o, dev, NULL); /* warm-up */
    if (st == INRF_OK)
        st = inrf_cuda_sync(NULL);
    double t0 = cli_now_seconds();
    for (int r = 0; r < reps && st == INRF_OK; r++)
        st = inrf_cuda_decode_batch(gpu, idx, batch, win, &o, dev, NULL);
    if (st == INRF_OK)
        st = inrf_cuda_sync(NULL);
    double t = cli_now_seconds() - t0;
    if (st != INRF_OK) {
        fprintf(stderr, "gpu_decode: %s\n", inrf_last_error());
        return 1;
    }
    /* the CPU decoder on one batch, all cores, for scale */
    o.type = INRF_BATCH_F32;
    float *host = malloc((size_t)batch * out * out * 3 * sizeof(float));
    double c0 = cli_now_seconds();
    st = inrf_pack_decode_batch(pack, idx, batch, win, &o, host);
    double c = cli_now_seconds() - c0;
    printf("%s,%u,%u,%zu,%.0f,%.0f\n", name, out, batch, wave, (double)batch * reps / t,
           st == INRF_OK ? batch / c : 0.0);
    cudaFree(dev);
    free(host);
    free(idx);
    free(win);
    inrf_cuda_pack_free(gpu);
    inrf_pack_close(pack);
    inrf_free(d);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    int n;
    if (inrf_cuda_devices(&n) != INRF_OK) {
        fprintf(stderr, "gpu_decode: %s\n", inrf_last_error());
        return 77;
    }
    /* batch: about 16384 and 512 samples, rounded to whole waves (wave:
     * the samples resident at once) */
    printf("preset,output,batch,wave,gpu_images_per_s,cpu_images_per_s\n");
    int rc = bench("cifar10", 3, 15, 32, 32, 4096, 16384, reps);
    rc |= bench("imagenet", 10, 40, 224, 224, 512, 512, reps > 4 ? reps / 4 : 1);
    return rc;
}
