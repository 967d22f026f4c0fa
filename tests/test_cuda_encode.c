/* test_cuda_encode.c: the GPU batch encoder against the CPU encoder on
 * crops of the golden CIFAR model decoded at 32 x 32: files that read back
 * and a mean PSNR within 0.3 dB. Exits 77 (skipped) where no CUDA device
 * is usable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/cuda.h"
#include "inrf/inrf.h"

#include "check.h"

enum { N = 8 };

/* Image k: a 32 x 32 crop of the golden model decoded at 48 x 48. */
static int make_images(inrf_image *img)
{
    const char *top = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/cifar.inrf", top ? top : ".");
    inrf_model *m;
    if (inrf_read_file(path, NULL, &m) != INRF_OK) {
        fprintf(stderr, "%s: %s\n", path, inrf_last_error());
        return 0;
    }
    int ok = 1;
    for (int k = 0; k < N && ok; k++) {
        inrf_decode_options o;
        inrf_decode_options_init(&o);
        o.width = o.height = 32;
        o.canvas_w = o.canvas_h = 48;
        o.crop_x = (uint32_t)(2 * k), o.crop_y = (uint32_t)(16 - 2 * k);
        ok = inrf_image_alloc(&img[k], 32, 32, m->arch.channels) == INRF_OK &&
             inrf_decode_u8(m, &o, img[k].pixels, 0) == INRF_OK;
    }
    inrf_model_free(m);
    return ok;
}

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
    inrf_model *gm[N];
    inrf_encode_stats gs[N];
    inrf_status st = inrf_cuda_encode_batch(img, N, &o, 0, gm, gs);
    CHECK(st == INRF_OK, "gpu encode: %s", inrf_last_error());
    double cpu = 0, gpu = 0;
    for (int k = 0; st == INRF_OK && k < N; k++) {
        inrf_model *cm;
        inrf_encode_stats cs;
        CHECK(inrf_encode(&img[k], &o, &cm, &cs) == INRF_OK, "cpu encode: %s", inrf_last_error());
        double p = file_psnr(gm[k], &img[k]);
        CHECK(fabs(p - gs[k].psnr) < 1e-6, "image %d: file %.4f dB, stats %.4f dB", k, p,
              gs[k].psnr);
        CHECK(gs[k].steps == cs.steps, "image %d: %d steps, CPU %d", k, gs[k].steps, cs.steps);
        printf("image %d: CPU %.3f dB (fp32 %.3f), GPU %.3f dB (fp32 %.3f), %zu / %zu bytes\n",
               k, cs.psnr, cs.psnr_fp32, gs[k].psnr, gs[k].psnr_fp32, cs.bytes, gs[k].bytes);
        cpu += cs.psnr / N, gpu += gs[k].psnr / N;
        inrf_model_free(cm);
        inrf_model_free(gm[k]);
    }
    printf("mean PSNR: CPU %.3f dB, GPU %.3f dB; GPU %.2f s for %d images\n", cpu, gpu,
           st == INRF_OK ? gs[0].seconds * N : 0.0, N);
    CHECK(fabs(cpu - gpu) <= 0.3, "mean PSNR differs by %.3f dB", gpu - cpu);
    /* bad arguments come back as statuses */
    inrf_image odd = img[1];
    odd.width = 16;
    odd.height = 64;
    inrf_image two[2] = {img[0], odd};
    CHECK(inrf_cuda_encode_batch(two, 2, &o, 0, gm, NULL) == INRF_E_INVALID_ARG, "sizes");
    o.target_psnr = 30;
    CHECK(inrf_cuda_encode_batch(img, 1, &o, 0, gm, NULL) == INRF_E_UNSUPPORTED, "target");
    for (int k = 0; k < N; k++)
        inrf_image_free(&img[k]);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
