/* gpu_encode.c: batched GPU encode throughput and quality (bench/gpu):
 * images of one size from a list, encoded by inrf_cuda_encode_batch in
 * batches, with the CPU encoder on the first few for the PSNR comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inrf/cuda.h"
#include "../tools/cli.h"

static int usage(void)
{
    fprintf(stderr,
            "Usage: gpu_encode LIST.txt [EFFORT [BATCH [CPU_CHECK]]]\n"
            "Encodes the images named one per line in LIST.txt (all of one size) on\n"
            "the GPU, BATCH at a time (default 8192), at EFFORT (default 9, the paper's\n"
            "schedule); prints images/s and mean PSNR, and the CPU encoder's mean PSNR\n"
            "on the first CPU_CHECK images (default 100; 0 skips) beside the GPU's;\n"
            "every file is written and read back with the reader's checks (outside\n"
            "the timing). Also prints the schedule's mean steps an image.\n");
    return 2;
}

/* The model written as an .inrf and read back with every check of the
 * reader (the chunks' checksums, the header, the weights). */
static int file_ok(const inrf_model *m)
{
    void *d = NULL;
    size_t size = 0;
    inrf_model *r = NULL;
    int ok = inrf_write_memory(m, NULL, &d, &size) == INRF_OK &&
             inrf_read_memory(d, size, NULL, &r) == INRF_OK;
    inrf_model_free(r);
    inrf_free(d);
    return ok;
}

static inrf_image *read_list(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1024;
    inrf_image *v = calloc(cap, sizeof *v);
    char line[4096];
    *n = 0;
    while (v && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        if (*n == cap) {
            inrf_image *w = realloc(v, 2 * cap * sizeof *v);
            if (!w)
                break;
            v = w, cap *= 2;
        }
        if (inrf_image_read_file(line, NULL, &v[*n]) != INRF_OK) {
            fprintf(stderr, "gpu_encode: %s: %s\n", line, inrf_last_error());
            continue;
        }
        ++*n;
    }
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5)
        return usage();
    int effort = argc > 2 ? atoi(argv[2]) : 9;
    size_t batch = argc > 3 ? (size_t)atol(argv[3]) : 8192;
    size_t check = argc > 4 ? (size_t)atol(argv[4]) : 100;
    int devices;
    if (inrf_cuda_devices(&devices) != INRF_OK) {
        fprintf(stderr, "gpu_encode: %s\n", inrf_last_error());
        return 77;
    }
    size_t n;
    inrf_image *img = read_list(argv[1], &n);
    if (!img || n == 0 || batch == 0 || effort < 1 || effort > 9)
        return usage();
    inrf_encode_options eo;
    inrf_encode_options_init(&eo);
    eo.effort = effort;
    inrf_model **m = calloc(batch, sizeof *m);
    inrf_encode_stats *st = calloc(batch, sizeof *st);
    double *gpu_psnr = calloc(n, sizeof *gpu_psnr), sum = 0;
    size_t bad_files = 0;
    double t = 0, steps = 0;
    for (size_t b0 = 0; b0 < n; b0 += batch) {
        size_t k = n - b0 < batch ? n - b0 : batch;
        double t0 = cli_now_seconds();
        if (inrf_cuda_encode_batch(img + b0, k, &eo, 0, m, st, NULL) != INRF_OK) {
            fprintf(stderr, "gpu_encode: %s\n", inrf_last_error());
            return 1;
        }
        t += cli_now_seconds() - t0; /* the encode alone: file checks are not timed */
        for (size_t i = 0; i < k; i++) {
            gpu_psnr[b0 + i] = st[i].psnr;
            sum += st[i].psnr;
            steps += st[i].steps;
            bad_files += !file_ok(m[i]);
            inrf_model_free(m[i]);
        }
    }
    printf("gpu: %zu images, effort %d, %.1f s, %.1f images/s, %.0f image-steps/s, "
           "mean PSNR %.3f dB; %zu files written, %zu failed to read back and validate\n",
           n, effort, t, n / t, steps / t, sum / n, n, bad_files);
    /* the schedule as run (stage 3 is skipped where pruning gains nothing),
     * for bench/gpu's PyTorch fits */
    printf("schedule: %.0f steps an image (mean over the batch)\n", steps / n);
    if (check > n)
        check = n;
    double cpu = 0, gpu = 0;
    for (size_t i = 0; i < check; i++) {
        inrf_model *cm;
        inrf_encode_stats cs;
        eo.threads = 0;
        if (inrf_encode(&img[i], &eo, &cm, &cs) != INRF_OK)
            return 1;
        cpu += cs.psnr, gpu += gpu_psnr[i];
        inrf_model_free(cm);
    }
    if (check)
        printf("first %zu images: CPU mean %.3f dB, GPU mean %.3f dB, difference %+.3f dB\n",
               check, cpu / check, gpu / check, (gpu - cpu) / check);
    for (size_t i = 0; i < n; i++)
        inrf_image_free(&img[i]);
    free(img);
    free(m);
    free(st);
    free(gpu_psnr);
    return 0;
}
