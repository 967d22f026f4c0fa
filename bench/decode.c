/* decode.c: CPU decode throughput of libinrf (pixels/s and GFLOP/s) for
 * SIREN networks of two sizes, against the machine's FMA peak measured in
 * the same run (bench/fma_peak.h). Prints figures; always exits 0 once run. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fma_peak.h"
#include "inrf/inrf.h"

#define MAX_THREADS 16 /* entries of --threads */

/* The target: this network, size and thread count reaches at
 * least TARGET_PCT of the FMA peak of that thread count. */
#define TARGET_LAYERS 10
#define TARGET_HIDDEN 40
#define TARGET_W 224
#define TARGET_H 224
#define TARGET_THREADS 2
#define TARGET_PCT 50.0

typedef struct net_shape {
    uint8_t layers;  /* sine layers */
    uint16_t hidden; /* neurons in each */
} net_shape;

static const net_shape nets[] = {{3, 15}, {10, 40}};
static const uint32_t sizes[][2] = {{32, 32}, {224, 224}, {768, 512}};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: decode [OPTION]...\n"
            "Measures libinrf's CPU decode speed for 3x15 and 10x40 SIRENs at 32x32,\n"
            "224x224 and 768x512 against the fp32 FMA peak of this machine.\n"
            "\n"
            "  -s, --seconds S     time per measurement, 0.01..600 (default 1.0)\n"
            "  -t, --threads LIST  comma-separated thread counts, each 1..1024\n"
            "                      (default 1,2)\n"
            "      --csv           the table as comma-separated values on stdout;\n"
            "                      the peaks and the target line go to stderr\n"
            "  -h, --help          this help\n"
            "  -V, --version       library version\n"
            "\n"
            "GFLOP/s counts 2 flops per multiply-add of the network (sines and\n"
            "biases not counted). INRF_KERNEL=generic|avx2 selects a narrower\n"
            "kernel for both the decode and the peak.\n");
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "decode: %s '%s'\nTry 'decode --help' for more information.\n", msg, arg);
    return 2;
}

/* "1,2,4" into counts; 0 when malformed. */
static int parse_threads(const char *s, int *counts, int *n)
{
    *n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1024 || *n == MAX_THREADS || (*end && *end != ','))
            return 0;
        counts[(*n)++] = (int)v;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return 0;
    }
    return *n > 0;
}

/* Decodes repeatedly for at least `seconds` after a warm-up; pixels/s. */
static int measure(const inrf_model *m, uint32_t w, uint32_t h, int threads, double seconds,
                   uint8_t *pixels, double *pps)
{
    inrf_decode_options opt;
    inrf_decode_options_init(&opt);
    opt.width = w;
    opt.height = h;
    opt.threads = threads;
    double warm_end = now() + 0.1 * seconds;
    do {
        if (inrf_decode_u8(m, &opt, pixels, 0) != INRF_OK)
            return 0;
    } while (now() < warm_end);
    long n = 0;
    double t0 = now(), t;
    do {
        if (inrf_decode_u8(m, &opt, pixels, 0) != INRF_OK)
            return 0;
        n++;
        t = now() - t0;
    } while (t < seconds);
    *pps = (double)n * w * h / t;
    return 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seconds", required_argument, NULL, 's'}, {"threads", required_argument, NULL, 't'},
        {"csv", no_argument, NULL, 'c'},           {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
    double seconds = 1.0;
    int counts[MAX_THREADS] = {1, 2}, ncounts = 2, csv = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:t:hV", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            seconds = strtod(optarg, &end);
            if (end == optarg || *end || !(seconds >= 0.01 && seconds <= 600.0))
                return usage_error("--seconds wants a number in 0.01..600, not", optarg);
            break;
        case 't':
            if (!parse_threads(optarg, counts, &ncounts))
                return usage_error("--threads wants a list such as 1,2, not", optarg);
            break;
        case 'c': csv = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("decode (inrf) %s\n", inrf_version_string()); return 0;
        default: {
            /* A long option is argv[optind - 1]; a short one is optopt. */
            char shortopt[3] = {'-', (char)optopt, 0};
            const char *last = argv[optind - 1];
            const char *name = strncmp(last, "--", 2) == 0 || !optopt ? last : shortopt;
            return usage_error(c == ':' ? "option needs an argument:" : "unknown option", name);
        }
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);

    const char *kernel = inrf_decode_kernel_name();
    double peak[MAX_THREADS];
    for (int i = 0; i < ncounts; i++)
        peak[i] = fma_peak(counts[i], seconds);

    /* Summary lines go to stderr under --csv so stdout stays one table. */
    FILE *info = csv ? stderr : stdout;
    fprintf(info, "inrf %s bench/decode: decode kernel %s, %.2f s per measurement\n",
            inrf_version_string(), kernel, seconds);
    for (int i = 0; i < ncounts; i++)
        fprintf(info, "fp32 FMA peak (%s), %d thread%s: %.1f GFLOP/s\n", fma_peak_name(),
                counts[i], counts[i] == 1 ? "" : "s", peak[i]);
    if (csv)
        printf("network,width,height,threads,mpixels_per_s,gflops,peak_gflops,percent_of_peak,"
               "kernel\n");
    else
        printf("\n%-8s %-9s %7s %10s %8s %7s  %s\n", "network", "size", "threads", "Mpixels/s",
               "GFLOP/s", "%peak", "kernel");

    double target_pct = -1.0;
    uint8_t *pixels = malloc((size_t)768 * 512 * 3);
    if (!pixels) {
        fprintf(stderr, "decode: out of memory\n");
        return 1;
    }
    for (size_t ni = 0; ni < sizeof nets / sizeof nets[0]; ni++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            uint32_t w = sizes[si][0], h = sizes[si][1];
            inrf_arch arch;
            inrf_model *m = NULL;
            inrf_arch_siren(&arch, w, h, 3, nets[ni].layers, nets[ni].hidden);
            inrf_status st = inrf_model_create(&arch, &m);
            if (st != INRF_OK) {
                fprintf(stderr, "decode: %s\n", inrf_strerror(st));
                free(pixels);
                return 1;
            }
            inrf_model_init(m, 1234 + ni);
            double flop_per_pixel = 2.0 * (double)inrf_model_macs_per_pixel(m);
            for (int i = 0; i < ncounts; i++) {
                double pps;
                if (!measure(m, w, h, counts[i], seconds, pixels, &pps)) {
                    fprintf(stderr, "decode: %s\n", inrf_last_error());
                    inrf_model_free(m);
                    free(pixels);
                    return 1;
                }
                double gflops = pps * flop_per_pixel * 1e-9;
                double pct = 100.0 * gflops / peak[i];
                if (nets[ni].layers == TARGET_LAYERS && nets[ni].hidden == TARGET_HIDDEN &&
                    w == TARGET_W && h == TARGET_H && counts[i] == TARGET_THREADS)
                    target_pct = pct;
                char net[16], size[24];
                snprintf(net, sizeof net, "%ux%u", nets[ni].layers, nets[ni].hidden);
                snprintf(size, sizeof size, "%ux%u", w, h);
                if (csv)
                    printf("%s,%u,%u,%d,%.3f,%.2f,%.2f,%.1f,%s\n", net, w, h, counts[i],
                           pps * 1e-6, gflops, peak[i], pct, kernel);
                else
                    printf("%-8s %-9s %7d %10.3f %8.2f %6.1f%%  %s\n", net, size, counts[i],
                           pps * 1e-6, gflops, pct, kernel);
                fflush(stdout);
            }
            inrf_model_free(m);
        }
    }
    free(pixels);

    if (target_pct < 0.0)
        fprintf(info, "\ntarget (10x40 at 224x224, 2 threads >= 50%% of the 2-thread FMA "
                      "peak): not measured (--threads lacks 2)\n");
    else
        fprintf(info, "\ntarget (10x40 at 224x224, 2 threads >= 50%% of the 2-thread FMA "
                      "peak): %s (%.1f%%)\n",
                target_pct >= TARGET_PCT ? "met" : "NOT met", target_pct);
    return 0;
}
