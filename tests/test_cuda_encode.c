/* test_cuda_encode.c: the GPU batch encoder against the CPU encoder on
 * synthetic 32 x 32 images (RGB and grey) with every stage of the schedule
 * (fit, both pruning rounds, quantisation-aware fine-tuning) and rate
 * control (target PSNR, maximum size): files that read back to the PSNR
 * reported, the step counts of the CPU, and a mean PSNR within 0.3 dB of
 * the CPU's; an encode on a stream of its own, called from another current
 * device, gives the same file and the caller's device back. Exits 77
 * (skipped) where no CUDA device is usable; the test suite also runs it on
 * the kernel emulator (kernels/emu), with two emulated devices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "inrf/cuda.h"
#include "inrf/inrf.h"
#include "inrf/train_math.h"

#include "check.h"

enum { N = 4, SIZE = 32 };

/* A w x h image of C channels, k its variant: smooth waves, an edge and
 * hashed noise of +-8 levels: a fit that ends near 30 dB, as CIFAR-10
 * images do, rather than at an exact reproduction. */
static int texture(inrf_image *img, unsigned w, unsigned h, unsigned C, int k)
{
    if (inrf_image_alloc(img, w, h, C) != INRF_OK)
        return 0;
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++)
            for (unsigned c = 0; c < C; c++) {
                uint32_t q = (x * 73856093u) ^ (y * 19349663u) ^ (c * 83492791u) ^
                             ((uint32_t)k * 2654435761u);
                q ^= q >> 13, q *= 0x5bd1e995u, q ^= q >> 15;
                double v = 128 + 60 * sin(0.31 * x + 0.17 * y * (1 + k) + c) +
                           35 * cos(0.05 * x * y + 0.7 * k) + ((int)x > 20 - k ? 30 : -30) +
                           (double)(q % 17) - 8;
                img->pixels[((size_t)y * w + x) * C + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return 1;
}

/* Images 0 .. N - 2 RGB, N - 1 grey, all SIZE x SIZE. */
static int make_images(inrf_image *img)
{
    int ok = 1;
    for (int k = 0; k < N && ok; k++)
        ok = texture(&img[k], SIZE, SIZE, k == N - 1 ? 1 : 3, k);
    return ok;
}

/* Over 16,384 pixels each step trains on a random sample: an image's file
 * is the same alone and second in a batch. The one alone runs on a stream
 * of its own, called with the last device current (encoding on device 0):
 * that device is current again after the call. */
static void test_place_in_batch(int devices)
{
    inrf_image big[2];
    memset(big, 0, sizeof big);
    CHECK(texture(&big[0], 160, 128, 3, 5) && texture(&big[1], 160, 128, 3, 6), "images");
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.steps = 10;
    o.prune = 0;
    inrf_model *pair[2] = {NULL, NULL}, *alone = NULL;
    void *d1 = NULL, *d2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK(inrf_cuda_encode_batch(big, 2, &o, 0, pair, NULL, NULL) == INRF_OK, "pair: %s",
          inrf_last_error());
    cudaStream_t stream = NULL;
    int current = -1;
    CHECK(cudaSetDevice(devices - 1) == cudaSuccess && cudaStreamCreate(&stream) == cudaSuccess,
          "stream");
    CHECK(inrf_cuda_encode_batch(big + 1, 1, &o, 0, &alone, NULL, stream) == INRF_OK,
          "alone: %s", inrf_last_error());
    CHECK(cudaGetDevice(&current) == cudaSuccess && current == devices - 1,
          "the encoder left device %d current, not the caller's %d", current, devices - 1);
    if (stream)
        cudaStreamDestroy(stream);
    CHECK(cudaSetDevice(0) == cudaSuccess, "cudaSetDevice");
    CHECK(pair[1] && alone && inrf_write_memory(pair[1], NULL, &d1, &n1) == INRF_OK &&
              inrf_write_memory(alone, NULL, &d2, &n2) == INRF_OK && n1 == n2 &&
              memcmp(d1, d2, n1) == 0,
          "image 1 of a pair differs from the same image alone");
    free(d1), free(d2);
    inrf_model_free(pair[0]), inrf_model_free(pair[1]), inrf_model_free(alone);
    inrf_image_free(&big[0]), inrf_image_free(&big[1]);
}

#ifdef INRF_CUDA_EMU
/* The block size is a function of the network (cuda.h): the largest of
 * 256, 128, 64, 32 threads whose shared memory (the weights and their
 * gradient, a column of net.rows + the 33 doubles of the block sum, a
 * pixel a thread) fits 99 KiB; and an image encodes to the same file on
 * an emulated H100 and on a device of 100 KiB an SM, where an occupancy
 * query would pick another block size. */
static void test_block_size(void)
{
    inrf_image img;
    memset(&img, 0, sizeof img);
    CHECK(texture(&img, SIZE, SIZE, 3, 2), "image");
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.steps = 10;
    o.prune = 0;
    o.layers = 3, o.hidden = 15;
    inrf_arch arch;
    inrf_arch_siren(&arch, SIZE, SIZE, 3, 3, 15);
    inrf_tm_net net;
    inrf_tm_net_init(&net, &arch);
    unsigned want = 256;
    for (;;) {
        size_t floats = (2 * (size_t)net.nparams + (size_t)net.rows * (want + 1) + 1) & ~(size_t)1;
        if (want == 32 || floats * 4 + 33 * 8 <= 99 * 1024)
            break;
        want /= 2;
    }
    CHECK(want == 128, "3 x 15 RGB: %u threads a block, not 128", want);
    static const char *const profiles[] = {NULL, "102400"};
    void *file[2] = {NULL, NULL};
    size_t bytes[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        if (profiles[k])
            setenv("INRF_EMU_SMEM_PER_SM", profiles[k], 1);
        inrf_model *m = NULL;
        CHECK(inrf_cuda_encode_batch(&img, 1, &o, 0, &m, NULL, NULL) == INRF_OK, "encode: %s",
              inrf_last_error());
        CHECK(inrf_emu_last_block_threads() == want, "profile %d: %u threads a block, not %u", k,
              inrf_emu_last_block_threads(), want);
        CHECK(m && inrf_write_memory(m, NULL, &file[k], &bytes[k]) == INRF_OK, "write");
        inrf_model_free(m);
        unsetenv("INRF_EMU_SMEM_PER_SM");
    }
    CHECK(bytes[0] == bytes[1] && file[0] && file[1] && memcmp(file[0], file[1], bytes[0]) == 0,
          "the file depends on the device");
    free(file[0]), free(file[1]);
    inrf_image_free(&img);
}
#endif

/* The model's file read back, decoded, against the source. */
static double file_psnr(const inrf_model *m, const inrf_image *img)
{
    void *d = NULL;
    size_t n = 0;
    inrf_model *r = NULL;
    double psnr = -1;
    size_t px = (size_t)img->width * img->height * img->channels;
    uint8_t *out = malloc(px);
    inrf_decode_options o;
    inrf_decode_options_init(&o);
    if (out && inrf_write_memory(m, NULL, &d, &n) == INRF_OK &&
        inrf_read_memory(d, n, NULL, &r) == INRF_OK && inrf_decode_u8(r, &o, out, 0) == INRF_OK)
        psnr = inrf_psnr_u8(out, img->pixels, px);
    inrf_model_free(r);
    free(d);
    free(out);
    return psnr;
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
    inrf_image img[N];
    memset(img, 0, sizeof img);
    CHECK(make_images(img), "images");
    if (failures)
        return 1;
    inrf_encode_options o;
    inrf_encode_options_init(&o);
    o.effort = 1;
    o.steps = 100; /* then 100 + 100 pruning steps and 50 of fine-tuning */
    o.qat = 1;
    inrf_model *gm[N];
    inrf_encode_stats gs[N];
    /* the RGB images in one batch, the grey one in another */
    inrf_status st = inrf_cuda_encode_batch(img, N - 1, &o, 0, gm, gs, NULL);
    CHECK(st == INRF_OK, "gpu encode: %s", inrf_last_error());
    if (st == INRF_OK) {
        st = inrf_cuda_encode_batch(img + N - 1, 1, &o, 0, gm + N - 1, gs + N - 1, NULL);
        CHECK(st == INRF_OK, "gpu encode (grey): %s", inrf_last_error());
    }
    double cpu = 0, gpu = 0;
    for (int k = 0; st == INRF_OK && k < N; k++) {
        inrf_model *cm;
        inrf_encode_stats cs;
        CHECK(inrf_encode(&img[k], &o, &cm, &cs) == INRF_OK, "cpu encode: %s", inrf_last_error());
        double p = file_psnr(gm[k], &img[k]);
        CHECK(fabs(p - gs[k].psnr) < 1e-6, "image %d: file %.4f dB, stats %.4f dB", k, p,
              gs[k].psnr);
        CHECK(gs[k].steps == cs.steps, "image %d: %d steps, CPU %d", k, gs[k].steps, cs.steps);
        CHECK(gm[k]->arch.channels == img[k].channels, "image %d: channels", k);
        printf("image %d: CPU %.3f dB (fp32 %.3f), GPU %.3f dB (fp32 %.3f), %zu / %zu bytes\n",
               k, cs.psnr, cs.psnr_fp32, gs[k].psnr, gs[k].psnr_fp32, cs.bytes, gs[k].bytes);
        cpu += cs.psnr / N, gpu += gs[k].psnr / N;
        inrf_model_free(cm);
        inrf_model_free(gm[k]);
    }
    printf("mean PSNR: CPU %.3f dB, GPU %.3f dB\n", cpu, gpu);
    CHECK(cpu > 20 && fabs(cpu - gpu) <= 0.3, "mean PSNR: CPU %.3f dB, GPU %.3f dB", cpu, gpu);
    test_place_in_batch(devices);
#ifdef INRF_CUDA_EMU
    test_block_size();
#endif
    /* bad arguments come back as statuses */
    inrf_image odd = img[1];
    odd.width = 16;
    odd.height = 64;
    inrf_image two[2] = {img[0], odd};
    CHECK(inrf_cuda_encode_batch(two, 2, &o, 0, gm, NULL, NULL) == INRF_E_INVALID_ARG,
          "sizes");
    /* more images than a launch has blocks: INRF_E_LIMIT before the images
     * are read (the array holds N) */
    CHECK(inrf_cuda_encode_batch(img, (size_t)1 << 31, &o, 0, gm, NULL, NULL) == INRF_E_LIMIT,
          "2^31 images: %s", inrf_last_error());
    inrf_image grey_rgb[2] = {img[0], img[N - 1]};
    CHECK(inrf_cuda_encode_batch(grey_rgb, 2, &o, 0, gm, NULL, NULL) == INRF_E_INVALID_ARG,
          "channels");
    /* rate control: a target PSNR, then a maximum size, against the CPU */
    for (int mode = 0; mode < 2 && st == INRF_OK; mode++) {
        o.target_psnr = mode == 0 ? 23.5 : 0.0;
        o.max_bytes = mode == 1 ? 760 : 0;
        st = inrf_cuda_encode_batch(img, N - 1, &o, 0, gm, gs, NULL);
        CHECK(st == INRF_OK, "gpu encode, rate control: %s", inrf_last_error());
        for (int k = 0; st == INRF_OK && k < N - 1; k++) {
            inrf_model *cm;
            inrf_encode_stats cs;
            CHECK(inrf_encode(&img[k], &o, &cm, &cs) == INRF_OK, "cpu encode: %s",
                  inrf_last_error());
            printf("%s image %d: CPU %.3f dB %zu bytes %d steps, GPU %.3f dB %zu bytes %d "
                   "steps\n", mode ? "max_bytes" : "target", k, cs.psnr, cs.bytes, cs.steps,
                   gs[k].psnr, gs[k].bytes, gs[k].steps);
            if (mode == 0)
                CHECK(gs[k].psnr >= o.target_psnr, "image %d: %.3f dB", k, gs[k].psnr);
            else
                CHECK(gs[k].bytes <= o.max_bytes, "image %d: %zu bytes", k, gs[k].bytes);
            CHECK(abs(gs[k].steps - cs.steps) <= cs.steps / 10, "image %d: %d steps, CPU %d",
                  k, gs[k].steps, cs.steps);
            CHECK(fabs(file_psnr(gm[k], &img[k]) - gs[k].psnr) < 1e-6, "image %d: file", k);
            inrf_model_free(cm);
            inrf_model_free(gm[k]);
        }
    }
    for (int k = 0; k < N; k++)
        inrf_image_free(&img[k]);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
