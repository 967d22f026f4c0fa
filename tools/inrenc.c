/* inrenc.c: encodes a PNG or JPEG image as an .inrf file (a SIREN fitted,
 * pruned and quantised by libinrf), with progress, rate control and stats. */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#ifdef INRF_HAVE_CUDA
#include "inrf/cuda.h"
#endif

enum {
    OPT_PRESET = 256,
    OPT_EFFORT,
    OPT_LAYERS,
    OPT_HIDDEN,
    OPT_W0,
    OPT_W0_HIDDEN,
    OPT_LR,
    OPT_STEPS,
    OPT_NO_PRUNE,
    OPT_QUANT,
    OPT_NO_QAT,
    OPT_QAT,
    OPT_FP32_IO,
    OPT_TARGET_PSNR,
    OPT_MAX_BYTES,
    OPT_BATCH,
    OPT_SEED,
    OPT_THREADS,
    OPT_STATS,
    OPT_COMPARE_JPEG,
    OPT_DEVICE,
};

typedef struct options {
    const char *input;         /* PNG/JPEG path or "-" */
    const char *output;        /* .inrf path or "-" */
    inrf_encode_options enc;   /* everything the encoder is told */
    int stats_json;            /* --stats json */
    int compare_jpeg;          /* --compare-jpeg */
    int verbosity;             /* -1 quiet, 0 normal, 1 verbose */
    int device;                /* CLI_DEVICE_*, default AUTO */
} options;

/* The best JPEG of the source that fits the .inrf file's size. */
typedef struct jpeg_result {
    int quality;               /* 1..100; 0 when even quality 1 is larger */
    size_t bytes;              /* of that JPEG, or of quality 1 when none fits */
    double psnr;               /* of that JPEG against the source, dB */
} jpeg_result;

/* The progress line on stderr. */
typedef struct progress_line {
    int show;                  /* stderr is a terminal and not -q */
    double last;               /* when it was last drawn */
    int width;                 /* characters drawn, to blank them */
} progress_line;


static void usage(void)
{
    printf("Usage: %s [OPTIONS] IN.{png,jpg} OUT.inrf\n"
           "   or: %s [OPTIONS] IN.{png,jpg} -o OUT.inrf\n"
           "Encode a PNG or JPEG image as an .inrf file: fit a SIREN to it, prune\n"
           "it and quantise it to int8. IN '-' reads standard input, OUT '-' writes\n"
           "standard output.\n"
           "\n"
           "  -o, --output FILE     write FILE (instead of the second argument)\n"
           "      --preset NAME     auto, cifar10 (3 x 15), flowers (10 x 32) or\n"
           "                        imagenet (10 x 40); auto chooses by image size\n"
           "                        (default auto)\n"
           "      --effort N        1 (fast) .. 9 (the paper's full schedule);\n"
           "                        default 5\n"
           "      --layers N        sine layers, 1..64 (default: the preset's)\n"
           "      --hidden N        neurons per sine layer, 1..1024 (the preset's)\n"
           "      --w0 F            omega of the first layer (cifar10 15, others 30)\n"
           "      --w0-hidden F     omega of the other layers (default 30)\n"
           "      --lr F            Adam learning rate of the fit (cifar10 3e-3,\n"
           "                        others 1e-3)\n"
           "      --steps N         fit steps; the later stages follow (default:\n"
           "                        from --effort)\n"
           "      --no-prune        skip the pruning rounds\n"
           "      --quant Q         none, int8 or int8-row (default int8)\n"
           "      --qat             fine-tune through the int8 rounding (default: off)\n"
           "      --fp32-io         first and last layers and biases in fp32\n"
           "                        (default fp16)\n"
           "      --target-psnr DB  stop once DB is reached (default: off)\n"
           "      --max-bytes N     never write more than N bytes (default: off)\n"
           "      --batch N         pixels per step (default: all, at most 65536)\n"
           "      --seed N          random seed (default 1)\n"
           "      --threads N       threads, 0 = all cores (default 0)\n"
           "      --device D        auto (the GPU when usable; default), cpu or cuda\n"
           "      --stats json      print the results as JSON on standard output\n"
           "                        (standard error when OUT is '-')\n"
           "      --compare-jpeg    also report the best JPEG of the same size\n"
           "  -q, --quiet           no progress, summary or warnings\n"
           "  -v, --verbose         also print the network and schedule used\n"
           "  -h, --help            show this help and exit\n"
           "  -V, --version         show the version and exit\n"
           "\n"
           "The same --seed and --threads give the same bytes. Exit status: 0\n"
           "success, 1 failure, 2 usage error. See inrenc(1).\n",
           cli_program(), cli_program());
}

/* ---------------------------------------------------------------- options */

static int parse_name(const char *what, const char *s, const char *const names[], int n,
                      int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 1;
        }
    cli_usage_error("%s: '%s' is not one of %s", what, s,
                    n == 4 ? "auto, cifar10, flowers, imagenet" : "none, int8, int8-row");
    return 0;
}

/* A number in (0, max): the parsers take closed ranges. */
static int parse_positive(const char *what, const char *s, double max, float *out)
{
    double v;
    if (!cli_parse_double(what, s, 0, max, &v))
        return 0;
    if (v <= 0 || v >= max) {
        cli_usage_error("%s: '%s' must be greater than 0 and less than %g", what, s, max);
        return 0;
    }
    *out = (float)v;
    return 1;
}

/* One option into *o; -1 to go on, else an exit code. */
static int parse_option(int c, options *o)
{
    static const char *const presets[] = {"auto", "cifar10", "flowers", "imagenet"};
    static const char *const quants[] = {"none", "int8", "int8-row"};
    inrf_encode_options *e = &o->enc;
    unsigned long v;
    double d;

    switch (c) {
    case 'o': o->output = optarg; break;
    case OPT_PRESET:
        if (!parse_name("--preset", optarg, presets, 4, &e->preset))
            return CLI_EXIT_USAGE;
        break;
    case OPT_EFFORT:
        if (!cli_parse_uint("--effort", optarg, 1, 9, &v))
            return CLI_EXIT_USAGE;
        e->effort = (int)v;
        break;
    case OPT_LAYERS:
        if (!cli_parse_uint("--layers", optarg, 1, INRF_MAX_SINE_LAYERS, &v))
            return CLI_EXIT_USAGE;
        e->layers = (int)v;
        break;
    case OPT_HIDDEN:
        if (!cli_parse_uint("--hidden", optarg, 1, INRF_MAX_WIDTH, &v))
            return CLI_EXIT_USAGE;
        e->hidden = (int)v;
        break;
    case OPT_W0:
        if (!parse_positive("--w0", optarg, 1e4, &e->omega_first))
            return CLI_EXIT_USAGE;
        break;
    case OPT_W0_HIDDEN:
        if (!parse_positive("--w0-hidden", optarg, 1e4, &e->omega_hidden))
            return CLI_EXIT_USAGE;
        break;
    case OPT_LR:
        if (!parse_positive("--lr", optarg, 1, &e->lr))
            return CLI_EXIT_USAGE;
        break;
    case OPT_STEPS:
        if (!cli_parse_uint("--steps", optarg, 1, 10000000, &v))
            return CLI_EXIT_USAGE;
        e->steps = (int)v;
        break;
    case OPT_NO_PRUNE: e->prune = 0; break;
    case OPT_QUANT:
        if (!parse_name("--quant", optarg, quants, 3, &e->quant))
            return CLI_EXIT_USAGE;
        break;
    case OPT_NO_QAT: e->qat = 0; break;
    case OPT_QAT: e->qat = 1; break;
    case OPT_DEVICE:
        if (!cli_parse_device(optarg, &o->device))
            return CLI_EXIT_USAGE;
        break;
    case OPT_FP32_IO: e->half_io = 0; break;
    case OPT_TARGET_PSNR:
        if (!cli_parse_double("--target-psnr", optarg, 0, 100, &d))
            return CLI_EXIT_USAGE;
        if (d <= 0)
            return cli_usage_error("--target-psnr: '%s' must be greater than 0", optarg);
        e->target_psnr = d;
        break;
    case OPT_MAX_BYTES:
        if (!cli_parse_uint("--max-bytes", optarg, 1, INRF_MAX_FILE_BYTES, &v))
            return CLI_EXIT_USAGE;
        e->max_bytes = v;
        break;
    case OPT_BATCH:
        if (!cli_parse_uint("--batch", optarg, 1, 1ul << 24, &v))
            return CLI_EXIT_USAGE;
        e->batch_pixels = (uint32_t)v;
        break;
    case OPT_SEED:
        if (!cli_parse_uint("--seed", optarg, 0, ULONG_MAX, &v))
            return CLI_EXIT_USAGE;
        e->seed = v;
        break;
    case OPT_THREADS:
        if (!cli_parse_uint("--threads", optarg, 0, 4096, &v))
            return CLI_EXIT_USAGE;
        e->threads = (int)v;
        break;
    case OPT_STATS:
        if (strcmp(optarg, "json") != 0)
            return cli_usage_error("--stats: '%s' is not json", optarg);
        o->stats_json = 1;
        break;
    case OPT_COMPARE_JPEG: o->compare_jpeg = 1; break;
    case 'q': o->verbosity = -1; break;
    case 'v': o->verbosity = 1; break;
    case 'h': usage(); return CLI_EXIT_OK;
    case 'V': cli_print_version(); return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE; /* not reached: main reports getopt errors */
    }
    return -1;
}

/* Parses the command line into *o; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"effort", required_argument, NULL, OPT_EFFORT},
        {"layers", required_argument, NULL, OPT_LAYERS},
        {"hidden", required_argument, NULL, OPT_HIDDEN},
        {"w0", required_argument, NULL, OPT_W0},
        {"w0-hidden", required_argument, NULL, OPT_W0_HIDDEN},
        {"lr", required_argument, NULL, OPT_LR},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"no-prune", no_argument, NULL, OPT_NO_PRUNE},
        {"quant", required_argument, NULL, OPT_QUANT},
        {"no-qat", no_argument, NULL, OPT_NO_QAT},
        {"qat", no_argument, NULL, OPT_QAT},
        {"fp32-io", no_argument, NULL, OPT_FP32_IO},
        {"target-psnr", required_argument, NULL, OPT_TARGET_PSNR},
        {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"stats", required_argument, NULL, OPT_STATS},
        {"compare-jpeg", no_argument, NULL, OPT_COMPARE_JPEG},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qvhV", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return cli_getopt_error(c, argv, longopts);
        int rc = parse_option(c, o);
        if (rc >= 0)
            return rc;
    }
    int nargs = argc - optind;
    if (nargs < 1)
        return cli_usage_error("no input file");
    if (nargs > 2)
        return cli_usage_error("one input and one output only ('%s' is extra)",
                               argv[optind + 2]);
    o->input = argv[optind];
    if (nargs == 2) {
        if (o->output != NULL)
            return cli_usage_error("two outputs: '%s' and -o '%s'", argv[optind + 1],
                                   o->output);
        o->output = argv[optind + 1];
    }
    if (o->output == NULL)
        return cli_usage_error("no output: give OUT.inrf (or '-' for standard output)");
    return -1;
}

/* --------------------------------------------------------------- progress */

static void progress_clear(progress_line *pl)
{
    if (pl->width > 0)
        fprintf(stderr, "\r%*s\r", pl->width, "");
    pl->width = 0;
}

/* Redraws "stage S step N/M  PSNR ..  ETA Ns" at most ten times a second;
 * returns non-zero, which stops the encoder, once a signal came. */
static int on_progress(const inrf_encode_progress *p, void *user)
{
    progress_line *pl = user;
    if (!pl->show || cli_interrupted)
        return cli_interrupted != 0;
    double t = cli_now_seconds();
    if (pl->width > 0 && t - pl->last < 0.1)
        return 0;
    pl->last = t;
    char eta[32] = "";
    if (p->step > 0 && p->steps >= p->step)
        snprintf(eta, sizeof eta, "  ETA %.0fs",
                 p->seconds * (double)(p->steps - p->step) / (double)p->step);
    char line[160];
    int n = snprintf(line, sizeof line, "stage %d step %d/%d  PSNR %.2f dB (best %.2f)%s",
                     p->stage, p->step, p->steps, p->psnr, p->best_psnr, eta);
    if (n < 0)
        return 0;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    /* pad over the end of a longer previous line */
    fprintf(stderr, "\r%s%*s", line, pl->width > n ? pl->width - n : 0, "");
    fflush(stderr);
    pl->width = n > pl->width ? n : pl->width;
    return 0;
}

/* ------------------------------------------------------------ comparison */

/* Size of img as a JPEG of quality q. */
static inrf_status jpeg_bytes(const inrf_image *img, int q, size_t *bytes)
{
    void *data;
    inrf_status st = inrf_image_write_memory(img, INRF_IMAGE_JPEG, q, &data, bytes);
    if (st == INRF_OK)
        free(data);
    return st;
}

/* Highest quality in lo..hi whose JPEG fits budget, by bisection (sizes
 * grow with quality at a fixed chroma subsampling); 0 when none does. */
static inrf_status best_quality(const inrf_image *img, int lo, int hi, size_t budget, int *q)
{
    *q = 0;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        size_t n;
        inrf_status st = jpeg_bytes(img, mid, &n);
        if (st != INRF_OK)
            return st;
        if (n <= budget) {
            *q = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return INRF_OK;
}

/* The JPEG of the highest quality that is no larger than budget bytes and
 * its PSNR. Qualities 90..100 (4:4:4) and 1..89 (4:2:0) are searched
 * apart, since the subsampling switch makes sizes jump at 90. */
static inrf_status compare_jpeg(const inrf_image *img, size_t budget, jpeg_result *r)
{
    memset(r, 0, sizeof *r);
    int q;
    inrf_status st = best_quality(img, 90, 100, budget, &q);
    if (st == INRF_OK && q == 0)
        st = best_quality(img, 1, 89, budget, &q);
    if (st != INRF_OK)
        return st;
    if (q == 0) {
        r->psnr = NAN;
        return jpeg_bytes(img, 1, &r->bytes);
    }
    void *data;
    st = inrf_image_write_memory(img, INRF_IMAGE_JPEG, q, &data, &r->bytes);
    if (st != INRF_OK)
        return st;
    inrf_image_read_options ropt;
    inrf_image_read_options_init(&ropt);
    ropt.keep_grey = img->channels == 1;
    inrf_image back;
    st = inrf_image_read_memory(data, r->bytes, &ropt, &back);
    free(data);
    if (st != INRF_OK)
        return st;
    r->quality = q;
    r->psnr = inrf_psnr_u8(back.pixels, img->pixels,
                           (size_t)img->width * img->height * img->channels);
    inrf_image_free(&back);
    return INRF_OK;
}

/* ---------------------------------------------------------------- report */

static const char *display_name(const char *path, const char *std_name)
{
    return strcmp(path, "-") == 0 ? std_name : path;
}

static double bits_per_pixel(size_t bytes, const inrf_image *img)
{
    return (double)bytes * 8.0 / ((double)img->width * img->height);
}

static void print_json(FILE *f, const options *o, const inrf_image *img,
                       const inrf_encode_stats *s, const jpeg_result *jpeg)
{
    fputs("{\n  \"input\": ", f);
    cli_json_string(f, o->input);
    fputs(",\n  \"output\": ", f);
    cli_json_string(f, o->output);
    fprintf(f, ",\n  \"width\": %u,\n  \"height\": %u,\n  \"channels\": %u,\n", img->width,
            img->height, img->channels);
    fprintf(f, "  \"bytes\": %zu,\n  \"bits_per_pixel\": ", s->bytes);
    cli_json_number(f, bits_per_pixel(s->bytes, img));
    fputs(",\n  \"psnr\": ", f);
    cli_json_number(f, s->psnr);
    fputs(",\n  \"psnr_fp32\": ", f);
    cli_json_number(f, s->psnr_fp32);
    fputs(",\n  \"seconds\": ", f);
    cli_json_number(f, s->seconds);
    fprintf(f, ",\n  \"steps\": %d,\n  \"prune_ratio\": ", s->steps);
    cli_json_number(f, s->prune_ratio);
    fprintf(f, ",\n  \"layers\": %d,\n  \"hidden\": %d", s->layers, s->hidden);
    if (jpeg != NULL) {
        fputs(",\n  \"jpeg\": ", f);
        if (jpeg->quality == 0) {
            fputs("null", f);
        } else {
            fprintf(f, "{\"bytes\": %zu, \"quality\": %d, \"bits_per_pixel\": ", jpeg->bytes,
                    jpeg->quality);
            cli_json_number(f, bits_per_pixel(jpeg->bytes, img));
            fputs(", \"psnr\": ", f);
            cli_json_number(f, jpeg->psnr);
            fputc('}', f);
        }
    }
    fputs("\n}\n", f);
}

static void print_summary(const options *o, const inrf_image *img, const inrf_encode_stats *s,
                          const jpeg_result *jpeg, double seconds)
{
    const char *out = display_name(o->output, "(stdout)");
    if (o->verbosity > 0)
        fprintf(stderr, "%s: %s: %s; SIREN %d x %d, %d steps, %.1f%% of hidden weights "
                "pruned, %s, PSNR %.2f dB before quantisation, encode %.1f s\n",
                cli_program(), display_name(o->input, "(stdin)"),
                img->channels == 1 ? "grey" : "RGB", s->layers, s->hidden, s->steps,
                100.0 * s->prune_ratio,
                o->enc.quant == INRF_QUANT_NONE ? "fp32"
                : o->enc.quant == INRF_QUANT_INT8 ? "int8" : "int8-row",
                s->psnr_fp32, s->seconds);
    fprintf(stderr, "%s: %s: %u x %u, %zu bytes (%.3f bpp), PSNR %.2f dB, %.1f s\n",
            cli_program(), out, img->width, img->height, s->bytes,
            bits_per_pixel(s->bytes, img), s->psnr, seconds);
    if (jpeg == NULL)
        return;
    if (jpeg->quality == 0)
        fprintf(stderr, "%s: jpeg at the same budget: none fits (quality 1 takes %zu "
                "bytes)\n", cli_program(), jpeg->bytes);
    else
        fprintf(stderr, "%s: jpeg at the same budget: %zu bytes (%.3f bpp), quality %d, "
                "PSNR %.2f dB\n", cli_program(), jpeg->bytes, bits_per_pixel(jpeg->bytes, img),
                jpeg->quality, jpeg->psnr);
}

/* ------------------------------------------------------------------- run */

static int report_interrupted(void)
{
    cli_error("interrupted");
    return CLI_EXIT_FAILURE;
}

static int run(options *o)
{
    double t0 = cli_now_seconds();
    int to_stdout = strcmp(o->output, "-") == 0;
    inrf_image img = {0};
    inrf_model *model = NULL;
    int rc = CLI_EXIT_FAILURE;

    inrf_image_read_options ropt;
    inrf_image_read_options_init(&ropt);
    ropt.keep_grey = 1;
    inrf_status st = inrf_image_read_file(o->input, &ropt, &img);
    if (st != INRF_OK) {
        cli_lib_error(o->input, st);
        return CLI_EXIT_FAILURE;
    }

    /* Until here a signal simply ends the process: nothing is written. */
    progress_line pl = {.show = o->verbosity >= 0 && cli_stderr_is_tty()};
    o->enc.progress = on_progress;
    o->enc.user = &pl;
    cli_catch_signals(1);
    inrf_encode_stats stats;
    int gpu = cli_use_gpu(o->device);
    if (gpu < 0) {
        progress_clear(&pl);
        goto done;
    }
#ifdef INRF_HAVE_CUDA
    if (gpu) /* the batched GPU encoder, on a batch of one: the same schedule */
        st = inrf_cuda_encode_batch(&img, 1, &o->enc, 0, &model, &stats);
    else
#endif
        st = inrf_encode(&img, &o->enc, &model, &stats);
    progress_clear(&pl);
    if (cli_interrupted || st == INRF_E_INTERRUPTED) {
        rc = report_interrupted();
        goto done;
    }
    if (st == INRF_E_INVALID_ARG) { /* the image was read: the options are at fault */
        rc = cli_usage_error("%s", inrf_last_error());
        goto done;
    }
    if (st != INRF_OK) {
        cli_lib_error(o->input, st);
        goto done;
    }

    jpeg_result jpeg;
    if (o->compare_jpeg && (st = compare_jpeg(&img, stats.bytes, &jpeg)) != INRF_OK) {
        cli_lib_error(o->input, st);
        goto done;
    }
    if (cli_interrupted) {
        rc = report_interrupted();
        goto done;
    }

    /* The write's own default options: stats.bytes is this file's size. */
    st = inrf_write_file(model, NULL, o->output);
    cli_catch_signals(0);
    if (cli_interrupted) {
        /* the handler removed the temporary file; a signal after the
         * rename leaves a complete file, which goes too */
        struct stat sb; /* only a file that the write replaced, not a link or a device */
        if (st == INRF_OK && !to_stdout && lstat(o->output, &sb) == 0 && S_ISREG(sb.st_mode))
            unlink(o->output);
        rc = report_interrupted();
        goto done;
    }
    if (st != INRF_OK) {
        cli_lib_error(o->output, st);
        goto done;
    }

    if (o->verbosity >= 0)
        print_summary(o, &img, &stats, o->compare_jpeg ? &jpeg : NULL, cli_now_seconds() - t0);
    if (o->stats_json) {
        FILE *f = to_stdout ? stderr : stdout;
        print_json(f, o, &img, &stats, o->compare_jpeg ? &jpeg : NULL);
        if (fflush(f) != 0 || ferror(f)) {
            cli_error("error writing the statistics");
            goto done;
        }
    }
    rc = CLI_EXIT_OK;

done:
    inrf_model_free(model);
    inrf_image_free(&img);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {0};

    cli_init("inrenc");
    inrf_encode_options_init(&o.enc);
    o.device = CLI_DEVICE_AUTO;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (strcmp(o.output, "-") == 0 && cli_stdout_is_tty()) {
        cli_error("refusing to write .inrf data to a terminal; redirect standard output "
                  "or give OUT.inrf");
        return CLI_EXIT_FAILURE;
    }
    if (strcmp(o.input, "-") == 0 && isatty(STDIN_FILENO)) {
        cli_error("refusing to read an image from a terminal; redirect standard input "
                  "or give IN.png");
        return CLI_EXIT_FAILURE;
    }
    if (!cli_check_output(o.output, &o.input, 1, 1))
        return CLI_EXIT_FAILURE;
    if (o.verbosity >= 0 && strcmp(o.output, "-") != 0 &&
        inrf_image_format_from_name(o.output) != INRF_IMAGE_UNKNOWN)
        cli_error("warning: writing .inrf data to '%s', whose name says PNG or JPEG",
                  o.output);
    return run(&o);
}
