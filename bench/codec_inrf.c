/* codec_inrf.c: the inrf side of bench/codec: encodes images one after
 * another and prints, per image, the whole-file size, PSNR and encode time. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "inrf/inrf.h"
#include "../tools/cli.h"

/* State of the --verbose progress lines. */
typedef struct progress_state {
    const char *path;
    double last;              /* seconds of the last line printed */
    inrf_encode_progress prev; /* the previous report; stage 0 before the first */
} progress_state;

/* Seconds between progress lines under --verbose. */
#define PROGRESS_EVERY 10.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* User plus system CPU seconds of the whole process (all threads). */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: codec_inrf [OPTION]... IMAGE...\n"
            "Encodes each PNG or JPEG IMAGE with libinrf, one after another, and prints\n"
            "one CSV line per image on stdout:\n"
            "  path,width,height,bytes,bpp,psnr,seconds,cpu_seconds\n"
            "and, with a rate option, target_reached (1 or 0 with --target-psnr, else -1).\n"
            "bytes is the whole .inrf file (default write options), psnr that of the\n"
            "file decoded to 8 bits at the source size against the source pixels (RGB),\n"
            "seconds the wall time of the encode and cpu_seconds its CPU time over all\n"
            "threads (on a busy machine, cpu_seconds / threads hints at the wall time\n"
            "the encode would take alone).\n"
            "\n"
            "  -e, --effort N      encoder effort, 1..9 (default 5)\n"
            "  -t, --threads N     threads per encode, 1..1024 (default 2)\n"
            "  -p, --preset P      auto, cifar10, flowers or imagenet (default auto)\n"
            "  -o, --output DIR    also write DIR/PARENT_STEM.inrf per image\n"
            "      --max-bytes N   rate control: a budget of N bytes for the whole file\n"
            "      --bpp F         rate control: a budget of F bits per pixel\n"
            "      --target-psnr D rate control: the smallest file reaching D dB\n"
            "      --keep-going    an image that fails its budget prints a line with\n"
            "                      bytes 0 and does not fail the run\n"
            "      --header        print the CSV header line first\n"
            "  -v, --verbose       progress on stderr every 10 s, even when it is\n"
            "                      not a terminal\n"
            "  -q, --quiet         no progress\n"
            "  -h, --help          this help\n"
            "  -V, --version       library version\n"
            "\n"
            "Exit status: 0 all encoded, 1 some image failed, 2 usage error.\n");
}

static int parse_preset(const char *s, int *preset)
{
    static const char *names[] = {"auto", "cifar10", "flowers", "imagenet"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *preset = i; /* the order of inrf_preset */
            return 1;
        }
    cli_usage_error("--preset: '%s' is not auto, cifar10, flowers or imagenet", s);
    return 0;
}

static void print_progress(const char *path, const inrf_encode_progress *p, const char *what)
{
    fprintf(stderr, "%s: %s: %s %d, step %d/%d, %.2f dB (best %.2f), %.1f s, %.2f ms/step\n",
            cli_program(), path, what, p->stage, p->step, p->steps, p->psnr, p->best_psnr,
            p->seconds, p->step > 0 ? 1e3 * p->seconds / p->step : 0.0);
}

/* A line every PROGRESS_EVERY seconds, and the last report of each stage
 * (where an encode stands when a stage ends is what tuning needs). */
static int on_progress(const inrf_encode_progress *p, void *user)
{
    progress_state *s = user;
    if (s->prev.stage != 0 && p->stage != s->prev.stage)
        print_progress(s->path, &s->prev, "end of stage");
    if (p->seconds - s->last >= PROGRESS_EVERY) {
        s->last = p->seconds;
        print_progress(s->path, p, "stage");
    }
    s->prev = *p;
    return 0;
}

/* "DIR/PARENT_STEM.inrf" for "…/PARENT/STEM.ext": CIFAR's test/<class>/0000.jpg
 * would collide on the stem alone. */
static char *output_path(const char *dir, const char *path)
{
    const char *base = strrchr(path, '/');
    const char *parent = path;
    size_t plen = 0;
    if (base != NULL) {
        const char *p = base;
        while (p > path && p[-1] != '/')
            p--;
        parent = p;
        plen = (size_t)(base - p);
        base++;
    } else {
        base = path;
    }
    const char *dot = strrchr(base, '.');
    size_t blen = dot != NULL && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t n = strlen(dir) + plen + blen + 16;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%.*s%s%.*s.inrf", dir, (int)plen, parent, plen ? "_" : "",
                 (int)blen, base);
    return out;
}

/* Whether a rate option is set (the lines then end with target_reached). */
static int rate_options(const inrf_encode_options *o)
{
    return o->max_bytes > 0 || o->bpp > 0 || o->target_psnr > 0;
}

/* Encodes one image and prints its line; 1 on success. */
static int encode_one(const char *path, const inrf_encode_options *base, const char *outdir,
                      int verbose, int keep_going)
{
    inrf_image_read_options ro;
    inrf_image_read_options_init(&ro);
    ro.keep_grey = 0; /* RGB always, as the other codecs of the benchmark see it */
    inrf_image img;
    inrf_status st = inrf_image_read_file(path, &ro, &img);
    if (st != INRF_OK) {
        cli_lib_error(path, st);
        return 0;
    }
    inrf_encode_options opt = *base;
    progress_state ps = {path, 0.0, {0}};
    if (verbose) {
        opt.progress = on_progress;
        opt.user = &ps;
    }
    inrf_model *m = NULL;
    inrf_encode_stats stats;
    double t0 = now(), c0 = cpu_seconds();
    st = inrf_encode(&img, &opt, &m, &stats);
    double seconds = now() - t0, cpu = cpu_seconds() - c0;
    void *data = NULL;
    size_t size = 0;
    if (st == INRF_OK)
        st = inrf_write_memory(m, NULL, &data, &size); /* the whole file */
    if (st == INRF_OK && outdir != NULL) {
        char *out = output_path(outdir, path);
        st = out != NULL ? inrf_file_write_atomic(out, data, size) : INRF_E_NOMEM;
        if (st != INRF_OK)
            cli_lib_error(out != NULL ? out : path, st);
        free(out);
    } else if (st == INRF_E_LIMIT && keep_going) {
        /* a budget below the smallest file (only rate options give one):
         * a line, not a failure */
        printf("%s,%u,%u,0,0,0,%.3f,%.3f,-1\n", path, img.width, img.height, seconds, cpu);
        fflush(stdout);
        inrf_image_free(&img);
        return 1;
    } else if (st != INRF_OK) {
        cli_lib_error(path, st);
    }
    if (st == INRF_OK) {
        if (verbose) {
            if (ps.prev.stage != 0)
                print_progress(path, &ps.prev, "end of stage");
            fprintf(stderr,
                    "%s: %s: %ux%u, %d x %d, %d steps, %.1f %% pruned, %.2f dB best in fp32, "
                    "%.2f dB as stored\n",
                    cli_program(), path, img.width, img.height, stats.layers, stats.hidden,
                    stats.steps, 100.0 * stats.prune_ratio, stats.psnr_fp32, stats.psnr);
        }
        double bpp = 8.0 * (double)size / ((double)img.width * img.height);
        printf("%s,%u,%u,%zu,%.4f,%.3f,%.3f,%.3f", path, img.width, img.height, size, bpp,
               stats.psnr, seconds, cpu);
        if (rate_options(&opt))
            printf(",%d", stats.target_reached);
        printf("\n");
        fflush(stdout); /* a long run can be followed line by line */
    }
    inrf_free(data);
    inrf_model_free(m);
    inrf_image_free(&img);
    return st == INRF_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"effort", required_argument, NULL, 'e'}, {"threads", required_argument, NULL, 't'},
        {"preset", required_argument, NULL, 'p'}, {"output", required_argument, NULL, 'o'},
        {"header", no_argument, NULL, 'H'},       {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {"max-bytes", required_argument, NULL, 'M'},
        {"bpp", required_argument, NULL, 'B'},    {"target-psnr", required_argument, NULL, 'T'},
        {"keep-going", no_argument, NULL, 'K'},   {NULL, 0, NULL, 0}};
    cli_init("codec_inrf");
    inrf_encode_options opt;
    inrf_encode_options_init(&opt);
    opt.threads = 2;
    const char *outdir = NULL;
    int header = 0, verbose = 0, keep_going = 0, c;
    double d;
    unsigned long v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":e:t:p:o:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (!cli_parse_uint("--effort", optarg, 1, 9, &v))
                return CLI_EXIT_USAGE;
            opt.effort = (int)v;
            break;
        case 't':
            if (!cli_parse_uint("--threads", optarg, 1, 1024, &v))
                return CLI_EXIT_USAGE;
            opt.threads = (int)v;
            break;
        case 'p':
            if (!parse_preset(optarg, &opt.preset))
                return CLI_EXIT_USAGE;
            break;
        case 'o': outdir = optarg; break;
        case 'M':
            if (!cli_parse_uint("--max-bytes", optarg, 1, 1ul << 30, &v))
                return CLI_EXIT_USAGE;
            opt.max_bytes = v;
            break;
        case 'B':
            if (!cli_parse_double("--bpp", optarg, 1e-6, 1e5, &d))
                return CLI_EXIT_USAGE;
            opt.bpp = d;
            break;
        case 'T':
            if (!cli_parse_double("--target-psnr", optarg, 1e-6, 200, &d))
                return CLI_EXIT_USAGE;
            opt.target_psnr = d;
            break;
        case 'K': keep_going = 1; break;
        case 'H': header = 1; break;
        case 'v': verbose = 1; break;
        case 'q': verbose = 0; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    if (optind == argc)
        return cli_usage_error("no image given");
    if (header)
        printf("path,width,height,bytes,bpp,psnr,seconds,cpu_seconds%s\n",
               rate_options(&opt) ? ",target_reached" : "");
    int failed = 0;
    for (int i = optind; i < argc; i++)
        failed += !encode_one(argv[i], &opt, outdir, verbose, keep_going);
    return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
