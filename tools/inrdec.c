/* inrdec.c: decodes an .inrf file to PNG or JPEG at any size, or a pixel
 * rectangle of it, sampling the same continuous image every time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    OPT_THREADS,
    OPT_DEVICE,
};

typedef struct options {
    const char *input;         /* .inrf path or "-" */
    const char *output;        /* image path or "-" */
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

static void usage(void)
{
    printf("Usage: %s [OPTIONS] IN.inrf -o OUT\n"
           "Decode an .inrf image to PNG or JPEG at any size. IN '-' reads\n"
           "standard input.\n"
           "\n"
           "  -o, --output FILE   write FILE; the format follows its extension\n"
           "                      (.png, .jpg, .jpeg); '-' writes PNG (or JPEG with\n"
           "                      --format jpeg) to standard output\n"
           "      --size N        shorter side N pixels, aspect ratio kept\n"
           "      --size WxH      exactly W x H pixels\n"
           "      --scale F       both sides F times the source size (rounded)\n"
           "      --crop X,Y,W,H  write only the W x H rectangle at X,Y of the image\n"
           "                      at the size chosen above (default: source size)\n"
           "      --quality Q     JPEG quality 1..100 (default 90)\n"
           "      --format FMT    png or jpeg (default: from the output name)\n"
           "      --threads N     decode threads, 0 = all cores (default 0)\n"
           "      --device D      cpu (default) or cuda (the GPU kernel; no --crop)\n"
           "  -q, --quiet         no warnings\n"
           "  -v, --verbose       print size, time and speed on stderr\n"
           "  -h, --help          show this help and exit\n"
           "  -V, --version       show the version and exit\n"
           "\n"
           "Every size samples the same continuous image. At most 2^28 pixels are\n"
           "written. Exit status: 0 success, 1 failure, 2 usage error. See inrdec(1).\n",
           cli_program());
}

static const char *format_name(inrf_image_format f)
{
    return f == INRF_IMAGE_JPEG ? "JPEG" : "PNG";
}

/* Parses the command line into *o; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"size", required_argument, NULL, 's'},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"crop", required_argument, NULL, OPT_CROP},
        {"quality", required_argument, NULL, OPT_QUALITY},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"threads", required_argument, NULL, OPT_THREADS},
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
    while ((c = getopt_long(argc, argv, ":o:qvhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
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
                o->format = INRF_IMAGE_PNG;
            else if (strcmp(optarg, "jpeg") == 0 || strcmp(optarg, "jpg") == 0)
                o->format = INRF_IMAGE_JPEG;
            else
                return cli_usage_error("--format: '%s' is not png or jpeg", optarg);
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
        case OPT_THREADS:
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
    if (optind >= argc)
        return cli_usage_error("no input file");
    if (argc - optind > 1)
        return cli_usage_error("one input file only ('%s' is extra)", argv[optind + 1]);
    o->input = argv[optind];
    if (o->output == NULL)
        return cli_usage_error("no output: give -o FILE (or -o - for standard output)");
    if ((o->size.n || o->size.w) && o->scale > 0)
        return cli_usage_error("--size and --scale cannot be used together");
    if (o->cuda && o->crop)
        return cli_usage_error("--crop is decoded on the CPU only (drop --device cuda)");
    return -1;
}

/* The output format from --format, else "-" (PNG), else the extension. */
static int choose_format(options *o)
{
    int is_stdout = strcmp(o->output, "-") == 0;
    inrf_image_format by_name = is_stdout ? INRF_IMAGE_UNKNOWN
                                          : inrf_image_format_from_name(o->output);
    if (o->format == INRF_IMAGE_UNKNOWN) {
        if (is_stdout)
            o->format = INRF_IMAGE_PNG;
        else if (by_name == INRF_IMAGE_UNKNOWN)
            return cli_usage_error("cannot tell the format of '%s' from its name: use "
                                   ".png, .jpg or .jpeg, or --format", o->output);
        else
            o->format = by_name;
    } else if (by_name != INRF_IMAGE_UNKNOWN && by_name != o->format && o->verbosity >= 0) {
        cli_error("warning: writing %s to '%s' as --format asks", format_name(o->format),
                  o->output);
    }
    if (o->format == INRF_IMAGE_PNG && o->quality >= 0 && o->verbosity >= 0)
        cli_error("warning: --quality has no effect on PNG output");
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
    free(data);
    inrf_pack_writer_free(wr);
    return st;
#else
    (void)m, (void)w, (void)h, (void)px;
    return inrf_report(INRF_E_NO_DEVICE, "--device cuda: this build has no CUDA kernels "
                                         "(configure found no nvcc)");
#endif
}

/* The size of the whole image at the requested resolution (before any
 * crop), in pixels; 0 on error (reported). */
static int full_size(const options *o, const inrf_arch *a, uint64_t *w, uint64_t *h)
{
    cli_apply_size(&o->size, a->width, a->height, w, h);
    if (o->scale > 0) {
        double fw = floor((double)a->width * o->scale + 0.5);
        double fh = floor((double)a->height * o->scale + 0.5);
        if (fw > (double)MAX_PIXELS || fh > (double)MAX_PIXELS) {
            cli_error("--scale %g: a %.0fx%.0f image is larger than the limit of 2^28 "
                      "pixels", o->scale, fw, fh);
            return 0;
        }
        *w = fw < 1 ? 1 : (uint64_t)fw;
        *h = fh < 1 ? 1 : (uint64_t)fh;
    }
    /* Each side fits inrf_window_from_pixels' u32 arguments. */
    if (*w > MAX_PIXELS || *h > MAX_PIXELS) {
        cli_error("a %llux%llu image is larger than the limit of 2^28 pixels",
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

static int run(const options *o)
{
    inrf_model *model = NULL;
    inrf_image img = {0};
    int rc = CLI_EXIT_FAILURE;

    inrf_status st = inrf_read_file(o->input, NULL, &model);
    if (st != INRF_OK) {
        cli_lib_error(o->input, st);
        return CLI_EXIT_FAILURE;
    }
    const inrf_arch *a = &model->arch;

    uint64_t fw, fh;
    if (!full_size(o, a, &fw, &fh))
        goto done;

    inrf_decode_options dopt;
    inrf_decode_options_init(&dopt);
    dopt.threads = o->threads;
    uint64_t ow = fw, oh = fh;
    if (o->crop) {
        const uint32_t *r = o->crop_rect;
        if ((uint64_t)r[0] + r[2] > fw || (uint64_t)r[1] + r[3] > fh) {
            rc = cli_usage_error("--crop %u,%u,%u,%u lies outside the %llux%llu image",
                                 r[0], r[1], r[2], r[3], (unsigned long long)fw,
                                 (unsigned long long)fh);
            goto done;
        }
        /* a pixel crop: bit for bit the same pixels as the full decode */
        dopt.canvas_w = (uint32_t)fw;
        dopt.canvas_h = (uint32_t)fh;
        dopt.crop_x = r[0];
        dopt.crop_y = r[1];
        ow = r[2];
        oh = r[3];
    }
    if (!cli_check_pixels(o->input, ow, oh))
        goto done;
    dopt.width = (uint32_t)ow;
    dopt.height = (uint32_t)oh;

    st = inrf_image_alloc(&img, dopt.width, dopt.height, a->channels);
    if (st != INRF_OK) {
        cli_lib_error(o->input, st);
        goto done;
    }
    double t0 = now_seconds();
    st = o->cuda ? decode_cuda(model, dopt.width, dopt.height, img.pixels)
                 : inrf_decode_u8(model, &dopt, img.pixels, 0);
    double t1 = now_seconds();
    if (st != INRF_OK) {
        cli_lib_error(o->input, st);
        goto done;
    }
    st = inrf_image_write_file(&img, o->output, o->format, o->quality);
    double t2 = now_seconds();
    if (st != INRF_OK) {
        cli_lib_error(o->output, st);
        goto done;
    }
    if (o->verbosity > 0) {
        double mpix = (double)ow * (double)oh / 1e6;
        fprintf(stderr, "%s: %s: %ux%u -> %llux%llu %s %s", cli_program(),
                strcmp(o->output, "-") == 0 ? "(stdout)" : o->output, a->width, a->height,
                (unsigned long long)ow, (unsigned long long)oh,
                a->channels == 1 ? "grey" : "RGB", format_name(o->format));
        if (o->crop)
            fprintf(stderr, " (crop of %llux%llu)", (unsigned long long)fw,
                    (unsigned long long)fh);
        fprintf(stderr, "; decode %.3f s", t1 - t0);
        if (t1 > t0)
            fprintf(stderr, ", %.2f Mpixels/s", mpix / (t1 - t0));
        fprintf(stderr, " (%s kernel); write %.3f s\n", o->cuda ? "cuda" : inrf_decode_kernel_name(),
                t2 - t1);
    }
    rc = CLI_EXIT_OK;

done:
    inrf_image_free(&img);
    inrf_model_free(model);
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
    if (strcmp(o.output, "-") == 0 && cli_stdout_is_tty()) {
        cli_error("refusing to write %s data to a terminal; redirect standard output "
                  "or give -o FILE", format_name(o.format));
        return CLI_EXIT_FAILURE;
    }
    if (!cli_check_output(o.output, &o.input, 1, 1))
        return CLI_EXIT_FAILURE;
    return run(&o);
}
