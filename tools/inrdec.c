/* inrdec.c: decodes .inrf files to PNG, JPEG or PNM at any size, or a pixel
 * rectangle of them, sampling the same continuous image every time. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#ifdef INRF_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "inrf/cuda.h"
#endif

/* Largest image written, in pixels (and so the largest side). */
#define MAX_PIXELS CLI_MAX_PIXELS

enum {
    OPT_SCALE = 256,
    OPT_CROP,
    OPT_QUALITY,
    OPT_FORMAT,
    OPT_DEVICE,
    OPT_JSON,
};

typedef struct options {
    const char **inputs;       /* .inrf paths or "-" */
    size_t n;                  /* how many */
    const char *output;        /* image path or "-"; NULL with -d */
    const char *dir;           /* -d DIR: DIR/NAME.EXT for each input */
    const char *ext;           /* EXT of -d: png, jpg, ppm, pgm or pnm */
    int force;                 /* -f: existing outputs are replaced */
    int json;                  /* --json */
    cli_size size;             /* --size N or WxH; zero = not given */
    double scale;              /* --scale F; 0 = not given */
    int crop;                  /* 1: crop_rect applies */
    uint32_t crop_rect[4];     /* x, y, w, h at the output size */
    int quality;               /* JPEG 1..100, default 90; -1 = not given */
    inrf_image_format format;  /* --format, or UNKNOWN = from the name */
    int threads;               /* 0 = runtime default */
    int cuda;                  /* --device cuda */
    int verbosity;             /* -1 quiet, 0 normal, 1 verbose */
} options;

/* What became of one file, for --json. */
typedef struct result {
    const char *input;
    char *output;              /* malloc'd */
    int ok;
    char error[600];
    int have_model;            /* the fields below are known */
    inrf_arch arch;
    float psnr;                /* stored in the file; NaN if none */
    long long bytes;           /* of the .inrf file; -1 unknown (a pipe) */
    uint64_t out_w, out_h;     /* the image written */
    double seconds;
} result;

static void usage(void)
{
    printf("Usage: %s [OPTIONS] IN.inrf OUT\n"
           "   or: %s [OPTIONS] IN.inrf -o OUT\n"
           "   or: %s [OPTIONS] IN.inrf... -d DIR\n"
           "Decode .inrf images to PNG, JPEG or PNM at any size. IN '-' reads\n"
           "standard input. With -d, every IN becomes DIR/NAME.png (or the --format's\n"
           "extension), decoded one after the other, each on all cores.\n"
           "\n"
           "  -o, --output FILE   write FILE; the format follows its extension\n"
           "                      (.png; .jpg, .jpeg; .ppm, .pgm, .pnm); '-' writes\n"
           "                      PNG (or --format's) to standard output\n"
           "  -d, --dir DIR       write DIR/NAME.EXT for each IN (NAME: IN's base name\n"
           "                      without its extension; EXT from --format, png)\n"
           "  -f, --force         replace existing output files (never an input)\n"
           "      --size N        shorter side N pixels, aspect ratio kept\n"
           "      --size WxH      exactly W x H pixels\n"
           "      --scale F       both sides F times the source size (rounded)\n"
           "      --crop X,Y,W,H  write only the W x H rectangle at X,Y of the image\n"
           "                      at the size chosen above (default: source size)\n"
           "      --quality Q     JPEG quality 1..100 (default 90)\n"
           "      --format FMT    png, jpeg (jpg), ppm, pgm or pnm (default: from the\n"
           "                      output name; PNM is P6 for RGB, P5 for grey)\n"
           "  -j, --threads N     decode threads, 0 = all cores (default 0)\n"
           "      --device D      cpu (default) or cuda (the GPU kernel; no --crop)\n"
           "      --json          print the results as a JSON array on standard\n"
           "                      output (standard error when OUT is '-'); see\n"
           "                      inrf-json(7)\n"
           "  -q, --quiet         no progress or warnings\n"
           "  -v, --verbose       print size, time and speed on stderr\n"
           "  -h, --help          show this help and exit\n"
           "  -V, --version       show the version and exit\n"
           "\n"
           "Every size samples the same continuous image. At most 2^28 pixels are\n"
           "written. Exit status: 0 success, 1 failure (of any file), 2 usage error.\n"
           "See inrdec(1).\n",
           cli_program(), cli_program(), cli_program());
}

static const char *format_name(inrf_image_format f)
{
    return f == INRF_IMAGE_JPEG ? "JPEG" : f == INRF_IMAGE_PNM ? "PNM" : "PNG";
}

/* Parses the command line into *o; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"dir", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, OPT_JSON},
        {"size", required_argument, NULL, 's'},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"crop", required_argument, NULL, OPT_CROP},
        {"quality", required_argument, NULL, OPT_QUALITY},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"threads", required_argument, NULL, 'j'},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int c;

    opterr = 0;
    /* 's' is not in the short options: --size has no short form, and the
     * table's val only tells the cases apart. */
    while ((c = getopt_long(argc, argv, ":o:d:fj:qvhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'd': o->dir = optarg; break;
        case 'f': o->force = 1; break;
        case OPT_JSON: o->json = 1; break;
        case 's':
            if (!cli_parse_size_option(optarg, &o->size))
                return CLI_EXIT_USAGE;
            break;
        case OPT_SCALE:
            if (!cli_parse_double("--scale", optarg, 0, (double)MAX_PIXELS, &o->scale))
                return CLI_EXIT_USAGE;
            if (o->scale <= 0)
                return cli_usage_error("--scale: '%s' must be greater than 0", optarg);
            break;
        case OPT_CROP:
            if (!cli_parse_rect("--crop", optarg, MAX_PIXELS, o->crop_rect))
                return CLI_EXIT_USAGE;
            o->crop = 1;
            break;
        case OPT_QUALITY:
            if (!cli_parse_uint("--quality", optarg, 1, 100, &v))
                return CLI_EXIT_USAGE;
            o->quality = (int)v;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "png") == 0)
                o->format = INRF_IMAGE_PNG, o->ext = "png";
            else if (strcmp(optarg, "jpeg") == 0 || strcmp(optarg, "jpg") == 0)
                o->format = INRF_IMAGE_JPEG, o->ext = "jpg";
            else if (strcmp(optarg, "ppm") == 0 || strcmp(optarg, "pgm") == 0 ||
                     strcmp(optarg, "pnm") == 0)
                o->format = INRF_IMAGE_PNM, o->ext = optarg;
            else
                return cli_usage_error("--format: '%s' is not png, jpeg, ppm, pgm or pnm",
                                       optarg);
            break;
        case OPT_DEVICE: {
            int d;
            if (!cli_parse_device(optarg, &d))
                return CLI_EXIT_USAGE;
            if (d == CLI_DEVICE_AUTO)
                return cli_usage_error("--device: 'cpu' or 'cuda' (a single image: no auto)");
            o->cuda = d == CLI_DEVICE_CUDA;
            break;
        }
        case 'j':
            if (!cli_parse_uint("--threads", optarg, 0, 4096, &v))
                return CLI_EXIT_USAGE;
            o->threads = (int)v;
            break;
        case 'q': o->verbosity = -1; break;
        case 'v': o->verbosity = 1; break;
        case 'h': usage(); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    int rc = cli_file_args(argc - optind, argv + optind, o->dir, &o->output, &o->inputs, &o->n,
                           "OUT or -o FILE (- for standard output)");
    if (rc >= 0)
        return rc;
    if ((o->size.n || o->size.w) && o->scale > 0)
        return cli_usage_error("--size and --scale cannot be used together");
    if (o->cuda && o->crop)
        return cli_usage_error("--crop is decoded on the CPU only (drop --device cuda)");
    return -1;
}

/* The output format from --format, else "-" (PNG), else the extension;
 * -d: --format's, else PNG. */
static int choose_format(options *o)
{
    if (o->dir != NULL) {
        if (o->format == INRF_IMAGE_UNKNOWN)
            o->format = INRF_IMAGE_PNG, o->ext = "png";
        if (o->format != INRF_IMAGE_JPEG && o->quality >= 0 && o->verbosity >= 0)
            cli_error("warning: --quality has no effect on %s output", format_name(o->format));
        if (o->quality < 0)
            o->quality = 90;
        return -1;
    }
    int is_stdout = strcmp(o->output, "-") == 0;
    inrf_image_format by_name = is_stdout ? INRF_IMAGE_UNKNOWN
                                          : inrf_image_format_from_name(o->output);
    if (o->format == INRF_IMAGE_UNKNOWN) {
        if (is_stdout)
            o->format = INRF_IMAGE_PNG;
        else if (by_name == INRF_IMAGE_UNKNOWN)
            return cli_usage_error("cannot tell the format of '%s' from its name: use "
                                   ".png, .jpg, .jpeg, .ppm, .pgm or .pnm, or --format",
                                   o->output);
        else
            o->format = by_name;
    } else if (by_name != INRF_IMAGE_UNKNOWN && by_name != o->format && o->verbosity >= 0) {
        cli_error("warning: writing %s to '%s' as --format asks", format_name(o->format),
                  o->output);
    }
    if (o->format != INRF_IMAGE_JPEG && o->quality >= 0 && o->verbosity >= 0)
        cli_error("warning: --quality has no effect on %s output", format_name(o->format));
    if (o->quality < 0)
        o->quality = 90;
    return -1;
}

/* --device cuda: the GPU batch decoder on a pack of this one image, the
 * same kernel that decodes training batches (bit for bit the CPU's). */
static inrf_status decode_cuda(const inrf_model *m, uint32_t w, uint32_t h, uint8_t *px)
{
#ifdef INRF_HAVE_CUDA
    const char *name = "image";
    inrf_pack_writer *wr = NULL;
    inrf_pack *pack = NULL;
    inrf_cuda_pack *gpu = NULL;
    void *data = NULL, *dev = NULL;
    size_t size, bytes = (size_t)w * h * m->arch.channels;
    inrf_status st = inrf_pack_writer_create(&name, 1, &wr);
    if (st == INRF_OK)
        st = inrf_pack_writer_add_model(wr, m, 0, 0);
    if (st == INRF_OK)
        st = inrf_pack_writer_finish_memory(wr, &data, &size);
    if (st == INRF_OK)
        st = inrf_pack_open_memory(data, size, NULL, &pack);
    if (st == INRF_OK)
        st = inrf_cuda_pack_upload(pack, 0, &gpu);
    if (st == INRF_OK && cudaMalloc(&dev, bytes) != cudaSuccess)
        st = inrf_report(INRF_E_NOMEM, "cudaMalloc: out of device memory");
    if (st == INRF_OK) {
        inrf_batch_options o;
        inrf_batch_options_init(&o);
        o.width = w, o.height = h, o.type = INRF_BATCH_U8;
        uint32_t zero = 0;
        st = inrf_cuda_decode_batch(gpu, &zero, 1, NULL, &o, dev, NULL);
    }
    if (st == INRF_OK)
        st = inrf_cuda_sync(NULL);
    if (st == INRF_OK && cudaMemcpy(px, dev, bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
        st = inrf_report(INRF_E_CUDA, "copying the image from the device failed");
    if (dev)
        cudaFree(dev);
    inrf_cuda_pack_free(gpu);
    inrf_pack_close(pack);
    inrf_free(data);
    inrf_pack_writer_free(wr);
    return st;
#else
    (void)m, (void)w, (void)h, (void)px;
    return inrf_report(INRF_E_NO_DEVICE, "--device cuda: this build has no CUDA kernels "
                                         "(configure found no nvcc)");
#endif
}

/* Records a failure ("PATH: detail", cli_lib_error's wording) and prints
 * it. */
static void fail(result *r, const char *path, const char *fmt, ...) CLI_PRINTF(3, 4);
static void fail(result *r, const char *path, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
    size_t n = strlen(name);
    /* file-level messages of libinrf already start with "PATH: " */
    if (strncmp(detail, name, n) == 0 && detail[n] == ':')
        snprintf(r->error, sizeof r->error, "%s", detail);
    else
        snprintf(r->error, sizeof r->error, "%s: %s", name, detail);
    cli_error("%s", r->error);
}

static const char *lib_detail(inrf_status st)
{
    const char *d = inrf_last_error();
    return d != NULL && d[0] ? d : inrf_strerror(st);
}

/* The size of the whole image at the requested resolution (before any
 * crop), in pixels; 0 on error (reported). */
static int full_size(const options *o, const inrf_arch *a, result *r, uint64_t *w, uint64_t *h)
{
    cli_apply_size(&o->size, a->width, a->height, w, h);
    if (o->scale > 0) {
        double fw = floor((double)a->width * o->scale + 0.5);
        double fh = floor((double)a->height * o->scale + 0.5);
        if (fw > (double)MAX_PIXELS || fh > (double)MAX_PIXELS) {
            fail(r, r->input, "--scale %g: a %.0fx%.0f image is larger than the limit of "
                 "2^28 pixels", o->scale, fw, fh);
            return 0;
        }
        *w = fw < 1 ? 1 : (uint64_t)fw;
        *h = fh < 1 ? 1 : (uint64_t)fh;
    }
    /* Each side fits inrf_window_from_pixels' u32 arguments. */
    if (*w > MAX_PIXELS || *h > MAX_PIXELS) {
        fail(r, r->input, "a %llux%llu image is larger than the limit of 2^28 pixels",
             (unsigned long long)*w, (unsigned long long)*h);
        return 0;
    }
    return 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Writes img to r->output, catching signals for the time of the write: a
 * signal before it simply ends the process, nothing written; during it,
 * the handler removes the temporary file and the output goes too. */
static int write_output(const options *o, const inrf_image *img, result *r)
{
    cli_catch_signals(1);
    inrf_status st = inrf_image_write_file(img, r->output, o->format, o->quality);
    cli_catch_signals(0);
    if (cli_interrupted) {
        struct stat sb; /* only a file that the write replaced, not a link or a device */
        if (st == INRF_OK && strcmp(r->output, "-") != 0 && lstat(r->output, &sb) == 0 &&
            S_ISREG(sb.st_mode))
            unlink(r->output);
        snprintf(r->error, sizeof r->error, "%s: interrupted", r->output);
        return 0;
    }
    if (st != INRF_OK) {
        fail(r, r->output, "%s", lib_detail(st));
        return 0;
    }
    return 1;
}

/* Decodes one file into r->output; 1 on success, 0 after printing why
 * (*usage set when the options are at fault). */
static int decode_one(const options *o, result *r, int *usage)
{
    inrf_model *model = NULL;
    inrf_image img = {0};
    int ok = 0;
    double t0 = now_seconds();

    inrf_status st = inrf_read_file(r->input, NULL, &model);
    if (st != INRF_OK) {
        fail(r, r->input, "%s", lib_detail(st));
        return 0;
    }
    const inrf_arch *a = &model->arch;
    r->have_model = 1;
    r->arch = *a;
    r->psnr = model->psnr;
    struct stat sb;
    r->bytes = strcmp(r->input, "-") != 0 && stat(r->input, &sb) == 0 && S_ISREG(sb.st_mode)
                   ? (long long)sb.st_size : -1;

    uint64_t fw, fh;
    if (!full_size(o, a, r, &fw, &fh))
        goto done;

    inrf_decode_options dopt;
    inrf_decode_options_init(&dopt);
    dopt.threads = o->threads;
    uint64_t ow = fw, oh = fh;
    if (o->crop) {
        const uint32_t *c = o->crop_rect;
        if ((uint64_t)c[0] + c[2] > fw || (uint64_t)c[1] + c[3] > fh) {
            fail(r, r->input, "--crop %u,%u,%u,%u lies outside the %llux%llu image", c[0], c[1],
                 c[2], c[3], (unsigned long long)fw, (unsigned long long)fh);
            *usage = 1;
            goto done;
        }
        /* a pixel crop: bit for bit the same pixels as the full decode */
        dopt.canvas_w = (uint32_t)fw;
        dopt.canvas_h = (uint32_t)fh;
        dopt.crop_x = c[0];
        dopt.crop_y = c[1];
        ow = c[2];
        oh = c[3];
    }
    if (ow * oh > MAX_PIXELS) { /* cli_check_pixels, its message kept for the JSON */
        fail(r, r->input, "a %llux%llu image is larger than the limit of 2^28 pixels (--size "
             "sets a smaller one)", (unsigned long long)ow, (unsigned long long)oh);
        goto done;
    }
    dopt.width = (uint32_t)ow;
    dopt.height = (uint32_t)oh;
    r->out_w = ow, r->out_h = oh;

    st = inrf_image_alloc(&img, dopt.width, dopt.height, a->channels);
    if (st != INRF_OK) {
        fail(r, r->input, "%s", lib_detail(st));
        goto done;
    }
    double t1 = now_seconds();
    st = o->cuda ? decode_cuda(model, dopt.width, dopt.height, img.pixels)
                 : inrf_decode_u8(model, &dopt, img.pixels, 0);
    double t2 = now_seconds();
    if (st != INRF_OK) {
        fail(r, r->input, "%s", lib_detail(st));
        goto done;
    }
    if (o->format == INRF_IMAGE_PNM && o->verbosity >= 0) {
        /* one PNM writer: P6 for RGB, P5 for grey, whatever the name */
        const char *dot = strrchr(r->output, '.');
        int says_grey = dot && strcasecmp(dot, ".pgm") == 0;
        int says_rgb = dot && strcasecmp(dot, ".ppm") == 0;
        if ((a->channels == 3 && says_grey) || (a->channels == 1 && says_rgb))
            cli_error("warning: %s: a %s image, written as %s", r->output,
                      a->channels == 3 ? "colour" : "grey",
                      a->channels == 3 ? "P6 (PPM)" : "P5 (PGM)");
    }
    if (!write_output(o, &img, r))
        goto done;
    double t3 = now_seconds();
    r->seconds = t3 - t0;
    if (o->verbosity > 0) {
        double mpix = (double)ow * (double)oh / 1e6;
        fprintf(stderr, "%s: %s: %ux%u -> %llux%llu %s %s", cli_program(),
                strcmp(r->output, "-") == 0 ? "(stdout)" : r->output, a->width, a->height,
                (unsigned long long)ow, (unsigned long long)oh,
                a->channels == 1 ? "grey" : "RGB", format_name(o->format));
        if (o->crop)
            fprintf(stderr, " (crop of %llux%llu)", (unsigned long long)fw,
                    (unsigned long long)fh);
        fprintf(stderr, "; decode %.3f s", t2 - t1);
        if (t2 > t1)
            fprintf(stderr, ", %.2f Mpixels/s", mpix / (t2 - t1));
        fprintf(stderr, " (%s kernel); write %.3f s\n",
                o->cuda ? "cuda" : inrf_decode_kernel_name(), t3 - t2);
    }
    ok = 1;

done:
    inrf_image_free(&img);
    inrf_model_free(model);
    return ok;
}

/* ---------------------------------------------------------------- JSON */

/* One object of inrf-json(7)'s INRDEC section. */
static void print_json_result(FILE *f, const options *o, const result *r)
{
    int first = 1;
    fputs("  {\n", f);
    cli_json_key(f, &first, "path");
    cli_json_string(f, r->input);
    cli_json_key(f, &first, "output");
    cli_json_string(f, r->output);
    if (r->have_model) {
        const inrf_arch *a = &r->arch;
        cli_json_key(f, &first, "width");
        fprintf(f, "%u", a->width);
        cli_json_key(f, &first, "height");
        fprintf(f, "%u", a->height);
        cli_json_key(f, &first, "channels");
        fprintf(f, "%u", a->channels);
        cli_json_key(f, &first, "kind");
        fputs("\"siren\"", f);
        cli_json_key(f, &first, "layers");
        fprintf(f, "%u", a->layers);
        cli_json_key(f, &first, "widths");
        for (unsigned l = 0; l < a->layers; l++)
            fprintf(f, "%s%u", l ? ", " : "[", a->hidden[l]);
        fputc(']', f);
        if (r->bytes >= 0) {
            cli_json_key(f, &first, "bytes");
            fprintf(f, "%lld", r->bytes);
            cli_json_key(f, &first, "bits_per_pixel");
            cli_json_number(f, (double)r->bytes * 8.0 / ((double)a->width * a->height));
        }
        cli_json_key(f, &first, "psnr");
        cli_json_number(f, r->psnr);
    }
    if (!r->ok) {
        cli_json_key(f, &first, "error");
        cli_json_string(f, r->error[0] ? r->error : "not decoded (interrupted)");
        fputs("\n  }", f);
        return;
    }
    cli_json_key(f, &first, "output_width");
    fprintf(f, "%llu", (unsigned long long)r->out_w);
    cli_json_key(f, &first, "output_height");
    fprintf(f, "%llu", (unsigned long long)r->out_h);
    cli_json_key(f, &first, "format");
    fputs(o->format == INRF_IMAGE_JPEG ? "\"jpeg\"" : o->format == INRF_IMAGE_PNM ? "\"pnm\""
                                                                                  : "\"png\"", f);
    cli_json_key(f, &first, "seconds");
    cli_json_number(f, r->seconds);
    fputs("\n  }", f);
}

typedef struct json_ctx {
    const options *o;
    const result *res;
} json_ctx;

static void json_item(FILE *f, size_t i, const void *ctx)
{
    const json_ctx *c = ctx;
    print_json_result(f, c->o, &c->res[i]);
}

static int print_json(const options *o, const result *res)
{
    json_ctx c = {o, res};
    return cli_json_array(o->output != NULL && strcmp(o->output, "-") == 0, o->n, json_item, &c);
}

/* ----------------------------------------------------------------- run */

/* The outputs, each checked before any decoding: -1 to go on, else an exit
 * code. */
static int make_outputs(const options *o, result *res)
{
    char **outs = calloc(o->n, sizeof *outs);
    if (outs == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAILURE;
    }
    int rc = cli_plan_outputs(o->dir, o->ext, o->output, o->inputs, o->n, o->force, outs);
    for (size_t i = 0; i < o->n; i++) {
        res[i].input = o->inputs[i];
        res[i].psnr = NAN;
        res[i].output = outs[i];
    }
    free(outs);
    return rc;
}

static int run(const options *o)
{
    result *res = calloc(o->n, sizeof *res);
    if (res == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAILURE;
    }
    int rc = make_outputs(o, res);
    if (rc < 0) {
        size_t failed = 0, usage = 0;
        cli_progress pl;
        cli_progress_init(&pl, o->verbosity < 0 || o->n < 2);
        double t0 = now_seconds();
        for (size_t i = 0; i < o->n && !cli_interrupted; i++) {
            if (cli_progress_due(&pl, 0.1)) {
                char bar[40];
                cli_bar(bar, 24, (double)i / (double)o->n);
                cli_progress_draw(&pl, "%s %zu/%zu files", bar, i, o->n);
            }
            int u = 0;
            res[i].ok = decode_one(o, &res[i], &u);
            if (!res[i].ok) {
                cli_progress_clear(&pl);
                failed++;
                usage += (size_t)u;
            }
        }
        cli_progress_clear(&pl);
        if (cli_interrupted)
            cli_error("interrupted");
        else if (o->n > 1 && o->verbosity >= 0)
            cli_error("%zu of %zu files decoded%s, %.1f s", o->n - failed, o->n,
                      failed ? " (the others failed)" : "", now_seconds() - t0);
        rc = cli_interrupted ? CLI_EXIT_FAILURE
             : failed == 0   ? CLI_EXIT_OK
             : usage == failed ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
        if (rc == CLI_EXIT_USAGE) /* as cli_usage_error ends */
            fprintf(stderr, "Try '%s --help' for more information.\n", cli_program());
        if (o->json && !print_json(o, res))
            rc = CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < o->n; i++)
        free(res[i].output);
    free(res);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {.quality = -1, .format = INRF_IMAGE_UNKNOWN};

    cli_init("inrdec");
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    rc = choose_format(&o);
    if (rc >= 0)
        return rc;
    if (o.output != NULL && strcmp(o.output, "-") == 0 && cli_stdout_is_tty()) {
        cli_error("refusing to write %s data to a terminal; redirect standard output "
                  "or give -o FILE", format_name(o.format));
        return CLI_EXIT_FAILURE;
    }
    return run(&o);
}
