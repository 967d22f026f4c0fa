/* pack_decode.c: the CPU data path of bench/pack: batches of random padded
 * crops and flips, float NHWC, from an .inrpack against libjpeg-turbo; and
 * (--sampler) the epoch loop of inrf.torch.Loader in C, for bench/torch-loader. */
#include <getopt.h>
#include <math.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "inrf/inrf.h"
#include "../tools/cli.h"

#define PAD 4
static const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, stdv[3] = {0.2470f, 0.2435f, 0.2616f};

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* The per-sample augmentation both pipelines apply: a shift of -4..4
 * pixels each way (a 32 px crop of the image padded by 4) and a flip. */
typedef struct aug {
    int dx, dy, flip;
} aug;

static void make_augs(aug *a, size_t n, uint64_t *seed)
{
    for (size_t s = 0; s < n; s++) {
        a[s].dx = (int)(rng_next(seed) % (2 * PAD + 1)) - PAD;
        a[s].dy = (int)(rng_next(seed) % (2 * PAD + 1)) - PAD;
        a[s].flip = (int)(rng_next(seed) & 1);
    }
}

static double run_pack(const inrf_pack *p, int threads, int S, int batch, int epochs)
{
    uint32_t n = inrf_pack_count(p);
    float *out = malloc((size_t)batch * S * S * 3 * sizeof(float));
    float *win = malloc((size_t)batch * 4 * sizeof(float));
    uint32_t *idx = malloc((size_t)batch * sizeof *idx);
    aug *a = malloc((size_t)batch * sizeof *a);
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = (uint32_t)S;
    o.type = INRF_BATCH_F32;
    o.zero_outside = 1;
    o.threads = threads;
    memcpy(o.mean, mean, sizeof mean);
    memcpy(o.std, stdv, sizeof stdv);
    uint64_t seed = 1;
    double t0 = cli_now_seconds();
    size_t done = 0;
    for (int e = 0; e < epochs; e++)
        for (uint32_t first = 0; first < n; first += (uint32_t)batch) {
            int b = (int)(n - first < (uint32_t)batch ? n - first : (uint32_t)batch);
            make_augs(a, (size_t)b, &seed);
            for (int s = 0; s < b; s++) {
                idx[s] = first + (uint32_t)s;
                float x0 = -1.0f + 2.0f * (float)a[s].dx / S, x1 = x0 + 2.0f;
                float y0 = -1.0f + 2.0f * (float)a[s].dy / S;
                win[4 * s + 0] = a[s].flip ? x1 : x0;
                win[4 * s + 1] = y0;
                win[4 * s + 2] = a[s].flip ? x0 : x1;
                win[4 * s + 3] = y0 + 2.0f;
            }
            if (inrf_pack_decode_batch(p, idx, (size_t)b, win, &o, out) != INRF_OK) {
                fprintf(stderr, "pack_decode: %s\n", inrf_last_error());
                exit(1);
            }
            done += (size_t)b;
        }
    double t = cli_now_seconds() - t0;
    free(out);
    free(win);
    free(idx);
    free(a);
    return (double)done / t;
}

/* libjpeg-turbo: decode each JPEG (in memory) to RGB, then the same crop,
 * flip and normalisation into the same float NHWC batch. */
static double run_jpeg(uint8_t **jpg, size_t *jn, size_t n, int threads, int S, int batch,
                       int epochs)
{
    float *out = malloc((size_t)batch * S * S * 3 * sizeof(float));
    aug *a = malloc((size_t)batch * sizeof *a);
    uint64_t seed = 1;
    int bad = 0;
    double t0 = cli_now_seconds();
    size_t done = 0;
    for (int e = 0; e < epochs; e++)
        for (size_t first = 0; first < n; first += (size_t)batch) {
            int b = (int)(n - first < (size_t)batch ? n - first : (size_t)batch);
            make_augs(a, (size_t)b, &seed);
#pragma omp parallel num_threads(threads)
            {
                tjhandle h = tjInitDecompress();
                uint8_t *rgb = malloc((size_t)S * S * 3);
#pragma omp for schedule(dynamic, 4)
                for (int s = 0; s < b; s++) {
                    int w, hh, sub, cs;
                    size_t k = first + (size_t)s;
                    if (tjDecompressHeader3(h, jpg[k], jn[k], &w, &hh, &sub, &cs) || w != S ||
                        hh != S || tjDecompress2(h, jpg[k], jn[k], rgb, S, 0, S, TJPF_RGB, 0)) {
#pragma omp atomic write
                        bad = 1;
                        continue;
                    }
                    float *o = out + (size_t)s * S * S * 3;
                    for (int y = 0; y < S; y++)
                        for (int x = 0; x < S; x++) {
                            int sx = a[s].flip ? S - 1 - x + a[s].dx : x + a[s].dx;
                            int sy = y + a[s].dy;
                            int in = sx >= 0 && sx < S && sy >= 0 && sy < S;
                            for (int c = 0; c < 3; c++) {
                                float v = in ? rgb[((size_t)sy * S + sx) * 3 + c] / 255.0f : 0.0f;
                                o[((size_t)y * S + x) * 3 + c] = (v - mean[c]) / stdv[c];
                            }
                        }
                }
                free(rgb);
                tjDestroy(h);
            }
            done += (size_t)b;
        }
    double t = cli_now_seconds() - t0;
    free(out);
    free(a);
    if (bad) {
        fprintf(stderr, "pack_decode: a JPEG failed to decode or is not %dx%d\n", S, S);
        exit(1);
    }
    return (double)done / t;
}

/* --sampler: what inrf.torch.Loader does a batch, in C: the sampler's draw
 * (the same seed, epoch and options give the same indices and windows)
 * and inrf_pack_decode_batch into a float NHWC batch, normalised. Prints
 * "sampler,THREADS,IMAGES_PER_S,IMAGES_PER_CPU_S" over EPOCHS epochs after
 * one not timed: a second of the clock, and a second of CPU time of this
 * process's threads (what other processes on the machine disturb less). */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static int run_sampler(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"sampler", no_argument, NULL, 'S'},  {"size", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'}, {"epochs", required_argument, NULL, 'e'},
        {"augment", required_argument, NULL, 'a'}, {"threads", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    int size = 32, batch = 256, epochs = 3, threads = 0, c;
    unsigned long long seed = 0;
    const char *augment = "crop-flip";
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'S': break;
        case 's': size = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'e': epochs = atoi(optarg); break;
        case 'a': augment = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'r': seed = strtoull(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (optind != argc - 1 || size < 1 || batch < 1 || epochs < 1) {
        fprintf(stderr, "Usage: pack_decode --sampler [--size N] [--batch N] [--epochs N]\n"
                        "         [--augment none|crop-flip|rrc-flip] [--threads N] [--seed N] PACK\n");
        return 2;
    }
    inrf_sampler_options so;
    inrf_sampler_options_init(&so);
    so.seed = seed;
    so.batch_size = (uint32_t)batch;
    so.drop_last = 1;
    so.augment = strcmp(augment, "crop-flip") == 0  ? INRF_AUGMENT_CROP_FLIP
                 : strcmp(augment, "rrc-flip") == 0 ? INRF_AUGMENT_RRC_FLIP
                                                    : INRF_AUGMENT_NONE;
    inrf_pack *p;
    inrf_sampler *sm;
    if (inrf_pack_open(argv[optind], NULL, &p) != INRF_OK ||
        inrf_sampler_create_pack(p, &so, &sm) != INRF_OK) {
        fprintf(stderr, "pack_decode: %s: %s\n", argv[optind], inrf_last_error());
        return 1;
    }
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = (uint32_t)size;
    o.type = INRF_BATCH_F32;
    o.zero_outside = so.augment == INRF_AUGMENT_CROP_FLIP;
    o.threads = threads;
    memcpy(o.mean, mean, sizeof mean);
    memcpy(o.std, stdv, sizeof stdv);
    uint32_t *idx = malloc((size_t)batch * sizeof *idx);
    float *win = malloc((size_t)batch * 4 * sizeof *win);
    float *out = malloc((size_t)batch * size * size * inrf_pack_channels(p) * sizeof(float));
    double t0 = 0, c0 = 0;
    size_t done = 0;
    for (int e = 0; e <= epochs; e++) {
        if (e == 1) { /* the first epoch warms the caches, not timed */
            t0 = cli_now_seconds();
            c0 = cpu_seconds();
            done = 0;
        }
        if (inrf_sampler_set_epoch(sm, (uint64_t)e) != INRF_OK)
            goto fail;
        for (uint64_t b = 0; b < inrf_sampler_batches(sm); b++) {
            size_t n;
            if (inrf_sampler_batch(sm, b, o.width, o.height, idx, win, &n) != INRF_OK ||
                inrf_pack_decode_batch(p, idx, n, win, &o, out) != INRF_OK)
                goto fail;
            done += n;
        }
    }
    double t = cli_now_seconds() - t0, cpu = cpu_seconds() - c0;
    printf("sampler,%d,%.0f,%.0f\n", threads, (double)done / t, (double)done / cpu);
    free(idx);
    free(win);
    free(out);
    inrf_sampler_free(sm);
    inrf_pack_close(p);
    return 0;
fail:
    fprintf(stderr, "pack_decode: %s\n", inrf_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    int epochs = 3, batch = 128;
    if (argc > 1 && strcmp(argv[1], "--sampler") == 0)
        return run_sampler(argc, argv);
    if (argc < 3) {
        fprintf(stderr, "Usage: pack_decode PACK LIST.txt [EPOCHS]\n"
                        "Prints images/s of batch decoding (32x32, random crop with padding 4\n"
                        "and flip, float NHWC, normalised) from PACK and from the JPEGs named\n"
                        "one per line in LIST.txt, with 1 and 2 threads.\n"
                        "       pack_decode --sampler [OPTIONS] PACK: inrf.torch.Loader's loop in C\n");
        return 2;
    }
    if (argc > 3)
        epochs = atoi(argv[3]);
    inrf_pack *p;
    if (inrf_pack_open(argv[1], NULL, &p) != INRF_OK) {
        fprintf(stderr, "pack_decode: %s: %s\n", argv[1], inrf_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    size_t cap = 1024, n = 0;
    uint8_t **jpg = malloc(cap * sizeof *jpg);
    size_t *jn = malloc(cap * sizeof *jn);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        if (n == cap) {
            cap *= 2;
            jpg = realloc(jpg, cap * sizeof *jpg);
            jn = realloc(jn, cap * sizeof *jn);
        }
        if (!cli_read_file(line, 1 << 24, &jpg[n], &jn[n]))
            return 1;
        n++;
    }
    fclose(f);
    printf("threads,source,images_per_s\n");
    for (int t = 1; t <= 2; t++) {
        double r_pack = run_pack(p, t, 32, batch, epochs);
        double r_jpeg = run_jpeg(jpg, jn, n, t, 32, batch, epochs);
        printf("%d,inrpack,%.0f\n%d,jpeg,%.0f\n", t, r_pack, t, r_jpeg);
        fflush(stdout);
    }
    for (size_t k = 0; k < n; k++)
        inrf_free(jpg[k]);
    free(jpg);
    free(jn);
    inrf_pack_close(p);
    return 0;
}
