/* test_cuda_decode.c: the GPU batch decoder against the CPU one on packs of
 * the golden models (every encoding, pruning, grey and RGB), with crops,
 * flips and zero padding: u8 and f32 bit for bit, f16 to its rounding;
 * concurrent decodes from one uploaded pack on two threads and streams;
 * the caller's current device kept. Exits 77 (skipped) where no CUDA
 * device is usable; the test suite also runs it on the kernel emulator
 * (kernels/emu), with two emulated devices. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "golden.h"
#include "inrf/cuda.h"

#include "check.h"

/* Model k of a pack: a golden model (k < GOLDEN_COUNT), else a seeded
 * RGB network whose sine layers are `hidden` wide: packs whose widest
 * layer selects each of the kernel's variants (16, 32, 48, 64). */
static inrf_status model_of(unsigned k, inrf_model **m)
{
    if (k < GOLDEN_COUNT)
        return golden_build(k, m);
    unsigned hidden = k;
    inrf_arch a;
    inrf_arch_siren(&a, 32, 32, 3, 3, (uint16_t)hidden);
    inrf_status st = inrf_model_create(&a, m);
    if (st == INRF_OK)
        inrf_model_init(*m, 500 + hidden);
    for (unsigned l = 1; st == INRF_OK && l < a.layers; l++)
        st = inrf_layer_encode(*m, l, INRF_ENC_INT8_ROW, INRF_ENC_F16);
    return st;
}

static void *pack_of(const unsigned *models, int n, size_t *size)
{
    static const char *const names[] = {"a", "b"};
    inrf_pack_writer *w;
    void *d = NULL;
    if (inrf_pack_writer_create(names, 2, &w) != INRF_OK)
        return NULL;
    for (int i = 0; i < n; i++) {
        inrf_model *m;
        if (model_of(models[i], &m) != INRF_OK ||
            inrf_pack_writer_add_model(w, m, (unsigned)i % 2, (unsigned)i) != INRF_OK)
            return NULL;
        inrf_model_free(m);
    }
    if (inrf_pack_writer_finish_memory(w, &d, size) != INRF_OK)
        d = NULL;
    inrf_pack_writer_free(w);
    return d;
}

static void compare(const inrf_pack *pack, inrf_cuda_pack *gpu, int type, int zero, uint32_t W,
                    uint32_t H)
{
    enum { N = 7 };
    uint32_t idx[N];
    float win[4 * N];
    for (int s = 0; s < N; s++) {
        idx[s] = (uint32_t)s % inrf_pack_count(pack);
        float x0 = -1.2f + 0.1f * (float)s, y0 = -1.0f + 0.07f * (float)s;
        win[4 * s + 0] = s % 2 ? x0 + 1.8f : x0; /* odd samples flipped */
        win[4 * s + 1] = y0;
        win[4 * s + 2] = s % 2 ? x0 : x0 + 1.8f;
        win[4 * s + 3] = y0 + 1.5f;
    }
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = W, o.height = H, o.zero_outside = zero;
    o.type = type;
    const float mean[3] = {0.4f, 0.5f, 0.6f}, sd[3] = {0.2f, 0.25f, 0.3f};
    memcpy(o.mean, mean, sizeof mean);
    memcpy(o.std, sd, sizeof sd);
    size_t vals = (size_t)N * W * H * inrf_pack_channels(pack);
    size_t esz = type == INRF_BATCH_U8 ? 1 : type == INRF_BATCH_F32 ? 4 : 2;
    void *cpu = malloc(vals * esz), *host = malloc(vals * esz), *dev = NULL;
    CHECK(inrf_pack_decode_batch(pack, idx, N, win, &o, cpu) == INRF_OK, "cpu decode");
    CHECK(cudaMalloc(&dev, vals * esz) == cudaSuccess, "cudaMalloc");
    CHECK(inrf_cuda_decode_batch(gpu, idx, N, win, &o, dev, NULL) == INRF_OK, "gpu: %s",
          inrf_last_error());
    CHECK(inrf_cuda_sync(NULL) == INRF_OK, "gpu sync: %s", inrf_last_error());
    CHECK(cudaMemcpy(host, dev, vals * esz, cudaMemcpyDeviceToHost) == cudaSuccess, "copy");
    /* every type bit for bit (f16: both the f32 value rounded to nearest) */
    size_t bad = 0;
    for (size_t k = 0; k < vals; k++)
        bad += memcmp((uint8_t *)cpu + k * esz, (uint8_t *)host + k * esz, esz) != 0;
    CHECK(bad == 0, "type %d zero %d %ux%u: %zu of %zu values differ", type, zero, W, H, bad, vals);
    cudaFree(dev);
    free(cpu);
    free(host);
}

/* One of two threads decoding their own samples from one uploaded pack on
 * their own stream, again and again, each batch checked against the CPU
 * decoder: a decode must not see the other's indices or windows. */
typedef struct racer {
    const inrf_pack *pack;
    inrf_cuda_pack *gpu;
    unsigned first;                 /* the images: first, first + 1 */
    size_t bad;
    int failed;
} racer;

static void *race(void *arg)
{
    enum { N = 6, W = 16, H = 12, ROUNDS = 40 };
    racer *r = (racer *)arg;
    uint32_t idx[N];
    float win[4 * N];
    for (int s = 0; s < N; s++) {
        idx[s] = r->first + (uint32_t)s % 2;
        float x0 = -1.0f + 0.05f * (float)(s + 3 * r->first);
        win[4 * s + 0] = x0, win[4 * s + 1] = -0.9f;
        win[4 * s + 2] = x0 + 1.5f, win[4 * s + 3] = 0.8f - 0.1f * (float)r->first;
    }
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = W, o.height = H, o.type = INRF_BATCH_U8;
    const size_t vals = (size_t)N * W * H * inrf_pack_channels(r->pack);
    uint8_t *cpu = malloc(vals), *host = malloc(vals);
    void *dev = NULL;
    cudaStream_t stream = NULL;
    if (!cpu || !host || inrf_pack_decode_batch(r->pack, idx, N, win, &o, cpu) != INRF_OK ||
        cudaMalloc(&dev, vals) != cudaSuccess || cudaStreamCreate(&stream) != cudaSuccess)
        r->failed = 1;
    for (int k = 0; !r->failed && k < ROUNDS; k++) {
        if (inrf_cuda_decode_batch(r->gpu, idx, N, win, &o, dev, stream) != INRF_OK ||
            inrf_cuda_sync(stream) != INRF_OK ||
            cudaMemcpy(host, dev, vals, cudaMemcpyDeviceToHost) != cudaSuccess)
            r->failed = 1;
        for (size_t v = 0; !r->failed && v < vals; v++)
            r->bad += cpu[v] != host[v];
    }
    if (stream)
        cudaStreamDestroy(stream);
    cudaFree(dev);
    free(cpu);
    free(host);
    return NULL;
}

static void concurrent(const inrf_pack *pack, inrf_cuda_pack *gpu)
{
    racer r[2] = {{pack, gpu, 0, 0, 0}, {pack, gpu, 2, 0, 0}};
    pthread_t t[2];
    int started[2];
    for (int k = 0; k < 2; k++)
        started[k] = pthread_create(&t[k], NULL, race, &r[k]) == 0;
    for (int k = 0; k < 2; k++) {
        if (started[k])
            pthread_join(t[k], NULL);
        CHECK(started[k] && !r[k].failed, "concurrent decode %d failed: %s", k,
              inrf_last_error());
        CHECK(r[k].bad == 0, "concurrent decode %d: %zu values differ", k, r[k].bad);
    }
}

/* Upload, decode and free on device 0 with the last device current: it is
 * current after each. */
static void keeps_device(const inrf_pack *pack, int devices)
{
    const int mine = devices - 1;
    int current = -1;
    inrf_cuda_pack *gpu = NULL;
    void *dev = NULL;
    const uint32_t idx = 0;
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = 8, o.type = INRF_BATCH_U8;
    CHECK(cudaMalloc(&dev, 64 * inrf_pack_channels(pack)) == cudaSuccess, "cudaMalloc");
    CHECK(cudaSetDevice(mine) == cudaSuccess, "cudaSetDevice");
    CHECK(inrf_cuda_pack_upload(pack, 0, &gpu) == INRF_OK, "upload: %s", inrf_last_error());
    CHECK(cudaGetDevice(&current) == cudaSuccess && current == mine,
          "the upload left device %d current, not %d", current, mine);
    CHECK(gpu && inrf_cuda_decode_batch(gpu, &idx, 1, NULL, &o, dev, NULL) == INRF_OK &&
              inrf_cuda_sync(NULL) == INRF_OK,
          "decode: %s", inrf_last_error());
    CHECK(cudaGetDevice(&current) == cudaSuccess && current == mine,
          "the decode left device %d current, not %d", current, mine);
    inrf_cuda_pack_free(gpu);
    CHECK(cudaGetDevice(&current) == cudaSuccess && current == mine,
          "freeing the pack left device %d current, not %d", current, mine);
    CHECK(cudaSetDevice(0) == cudaSuccess, "cudaSetDevice");
    cudaFree(dev);
}

int main(void)
{
    int devices = 0;
#ifdef INRF_CUDA_EMU
    setenv("INRF_EMU_DEVICES", "2", 0); /* unless the run asks for another count */
#endif
    if (inrf_cuda_devices(&devices) != INRF_OK) {
        printf("SKIP: %s\n", inrf_last_error());
        return 77;
    }
    /* widest sine layers 40 (mixed architectures), 12 (grey), 15 (the
     * cifar10 preset), 24, 44 and 60: every kernel variant */
    static const unsigned rgb[] = {0, 1, 3, 1}, grey[] = {2, 2}, cifar[] = {1, 0},
                          w24[] = {24, 0}, w44[] = {44}, w60[] = {60};
    const unsigned *sets[] = {rgb, grey, cifar, w24, w44, w60};
    const int sizes[] = {4, 2, 2, 2, 1, 1};
    for (int k = 0; k < 6; k++) {
        size_t size;
        void *d = pack_of(sets[k], sizes[k], &size);
        inrf_pack *pack = NULL;
        inrf_cuda_pack *gpu = NULL;
        CHECK(d && inrf_pack_open_memory(d, size, NULL, &pack) == INRF_OK, "pack");
        CHECK(inrf_cuda_pack_upload(pack, 0, &gpu) == INRF_OK, "upload: %s", inrf_last_error());
        for (int type = 0; gpu && type <= 2; type++)
            for (int zero = 0; zero <= 1; zero++) {
                compare(pack, gpu, type, zero, 32, 32);
                compare(pack, gpu, type, zero, 13, 9);
            }
        if (gpu && k == 0) {
            concurrent(pack, gpu);
            keeps_device(pack, devices);
        }
        if (gpu && k == 2) /* a row too long for the coordinate table */
            compare(pack, gpu, INRF_BATCH_F32, 1, 60000, 1);
        if (gpu) { /* a wave: the multiprocessors times a whole number of blocks */
            inrf_batch_options o;
            inrf_batch_options_init(&o);
            o.width = o.height = 32;
            size_t wave = 0;
            int sms = 0;
            CHECK(inrf_cuda_decode_wave(gpu, &o, &wave) == INRF_OK, "wave: %s",
                  inrf_last_error());
            CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) ==
                      cudaSuccess && sms > 0 && wave >= (size_t)sms && wave % sms == 0,
                  "wave %zu on %d multiprocessors", wave, sms);
            CHECK(inrf_cuda_decode_wave(gpu, NULL, &wave) == INRF_E_INVALID_ARG,
                  "wave without options");
        }
        inrf_cuda_pack_free(gpu);
        inrf_pack_close(pack);
        free(d);
    }
    /* a pack opened without verifying its records is verified by the
     * upload: a changed record byte fails it, and nothing reaches the GPU */
    {
        size_t size;
        void *d = pack_of(rgb, 2, &size);
        inrf_pack *pack = NULL;
        inrf_cuda_pack *gpu = NULL;
        CHECK(d && inrf_pack_open_memory(d, size, NULL, &pack) == INRF_OK, "pack");
        size_t at = pack ? (size_t)(inrf_pack_get(pack, 1)->record - (const uint8_t *)d) : 0;
        inrf_pack_close(pack);
        ((uint8_t *)d)[at + 3] ^= 0x40;
        inrf_pack_options po;
        inrf_pack_options_init(&po);
        po.verify_records = 0;
        CHECK(inrf_pack_open_memory(d, size, &po, &pack) == INRF_OK, "unverified pack: %s",
              inrf_last_error());
        CHECK(inrf_cuda_pack_upload(pack, 0, &gpu) != INRF_OK && !gpu,
              "a changed record was uploaded");
        CHECK(strstr(inrf_last_error(), "record 1") != NULL, "the error names the record: %s",
              inrf_last_error());
        inrf_pack_close(pack);
        free(d);
    }
    /* bad arguments come back as statuses; more samples than a launch has
     * blocks, or output bytes beyond size_t, are INRF_E_LIMIT before the
     * indices are read (the array here holds one) */
    {
        static const unsigned one[] = {1};
        size_t size;
        void *d = pack_of(one, 1, &size);
        inrf_pack *pack = NULL;
        inrf_cuda_pack *gpu = NULL;
        CHECK(d && inrf_pack_open_memory(d, size, NULL, &pack) == INRF_OK, "pack");
        CHECK(inrf_cuda_pack_upload(pack, 0, &gpu) == INRF_OK, "upload: %s", inrf_last_error());
        const uint32_t idx = 0;
        inrf_batch_options o;
        inrf_batch_options_init(&o);
        o.width = o.height = 8, o.type = INRF_BATCH_U8;
        void *dev = NULL;
        CHECK(cudaMalloc(&dev, 64 * 3) == cudaSuccess, "cudaMalloc");
        CHECK(gpu && inrf_cuda_decode_batch(gpu, &idx, (size_t)1 << 31, NULL, &o, dev, NULL) ==
                         INRF_E_LIMIT,
              "2^31 samples: %s", inrf_last_error());
        o.width = 65536, o.height = 65535, o.type = INRF_BATCH_F32;
        CHECK(gpu && inrf_cuda_decode_batch(gpu, &idx, ((size_t)1 << 31) - 1, NULL, &o, dev,
                                            NULL) == INRF_E_LIMIT,
              "2^31 - 1 samples of 2^32 pixels: %s", inrf_last_error());
        o.width = o.height = 8, o.type = INRF_BATCH_U8;
        CHECK(gpu && inrf_cuda_decode_batch(gpu, &idx, 1, NULL, &o, dev, NULL) == INRF_OK &&
                  inrf_cuda_sync(NULL) == INRF_OK,
              "one sample after: %s", inrf_last_error());
        cudaFree(dev);
        inrf_cuda_pack_free(gpu);
        inrf_pack_close(pack);
        free(d);
    }
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
