/* codec_jpeg.c: the reference codecs' side of bench/codec: the best
 * libjpeg-turbo file within a byte budget, and PSNR and PNG helpers for WebP. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "inrf/inrf.h"
#include "../tools/cli.h"

/* One JPEG candidate. */
typedef struct jpeg_result {
    int quality;              /* 1..100; 0 when nothing fits */
    int subsamp;              /* TJSAMP_444 or TJSAMP_420 */
    unsigned long bytes;      /* whole file */
    double psnr;              /* dB, RGB, against the source pixels */
    unsigned char *data;      /* the file (tjFree it) */
} jpeg_result;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: codec_jpeg [-o OUT.jpg] BUDGET_BYTES IMAGE\n"
            "       codec_jpeg --psnr REFERENCE TEST\n"
            "       codec_jpeg --png IMAGE OUT.png\n"
            "\n"
            "First form: for 4:4:4 and 4:2:0 each, the highest TurboJPEG quality (1..100,\n"
            "accurate DCT, optimised Huffman tables) whose whole file is at most\n"
            "BUDGET_BYTES; prints the one with the higher PSNR as the CSV line\n"
            "  quality,subsampling,bytes,bpp,psnr\n"
            "or ',,,,' when even quality 1 does not fit. PSNR is over the RGB samples of\n"
            "the decoded file against IMAGE as libinrf reads it (grey becomes RGB).\n"
            "Second form: prints the PSNR of TEST against REFERENCE (same size; PNG or\n"
            "JPEG, as libinrf reads them). Third form: writes IMAGE's pixels, as libinrf\n"
            "reads them, to a PNG, so that other encoders see exactly those pixels.\n"
            "\n"
            "  -o, --output FILE   also write the chosen JPEG to FILE\n"
            "      --psnr          the second form\n"
            "      --png           the third form\n"
            "  -h, --help          this help\n"
            "  -V, --version       library version\n"
            "\n"
            "Optimised Huffman tables: TurboJPEG 2.1 has no tjCompress2 flag for them,\n"
            "only the TJ_OPTIMIZE environment variable, which this program sets to 1\n"
            "unless it is already set (TJ_OPTIMIZE=0 gives the standard tables).\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int read_image(const char *path, inrf_image *img)
{
    inrf_image_read_options ro;
    inrf_image_read_options_init(&ro);
    ro.keep_grey = 0;
    inrf_status st = inrf_image_read_file(path, &ro, img);
    if (st != INRF_OK)
        cli_lib_error(path, st);
    return st == INRF_OK;
}

/* PSNR of a JPEG file against the source pixels; 0 on a decode failure. */
static int jpeg_psnr(tjhandle dec, const inrf_image *img, unsigned char *data,
                     unsigned long size, uint8_t *scratch, double *psnr)
{
    if (tjDecompress2(dec, data, size, scratch, (int)img->width, 0, (int)img->height, TJPF_RGB,
                      TJFLAG_ACCURATEDCT) != 0) {
        cli_error("tjDecompress2: %s", tjGetErrorStr2(dec));
        return 0;
    }
    *psnr = inrf_psnr_u8(scratch, img->pixels, (size_t)img->width * img->height * 3);
    return 1;
}

/* The highest quality of one subsampling whose file fits the budget. The
 * sizes are not strictly monotonic in quality, so the qualities are tried
 * from 100 down (at most 100 compressions) rather than bisected: the first
 * that fits is by definition the highest. */
static int best_quality(tjhandle enc, const inrf_image *img, int subsamp, unsigned long budget,
                        jpeg_result *r)
{
    r->quality = 0;
    r->subsamp = subsamp;
    r->data = NULL;
    for (int q = 100; q >= 1; q--) {
        unsigned char *data = NULL;
        unsigned long size = 0;
        if (tjCompress2(enc, img->pixels, (int)img->width, 0, (int)img->height, TJPF_RGB, &data,
                        &size, subsamp, q, TJFLAG_ACCURATEDCT) != 0) {
            cli_error("tjCompress2: %s", tjGetErrorStr2(enc));
            tjFree(data);
            return 0;
        }
        if (size <= budget) {
            r->quality = q;
            r->bytes = size;
            r->data = data;
            return 1;
        }
        tjFree(data);
    }
    return 1;
}

static int budget_mode(const char *budget_arg, const char *path, const char *out)
{
    unsigned long budget;
    if (!cli_parse_uint("BUDGET_BYTES", budget_arg, 1, 1ul << 31, &budget))
        return CLI_EXIT_USAGE;
    inrf_image img;
    if (!read_image(path, &img))
        return CLI_EXIT_FAILURE;
    int rc = CLI_EXIT_FAILURE;
    tjhandle enc = tjInitCompress(), dec = tjInitDecompress();
    uint8_t *scratch = malloc((size_t)img.width * img.height * 3);
    jpeg_result r[2] = {{0}, {0}};
    if (enc == NULL || dec == NULL || scratch == NULL) {
        cli_error("out of memory");
        goto done;
    }
    static const int samps[2] = {TJSAMP_444, TJSAMP_420};
    for (int i = 0; i < 2; i++) {
        if (!best_quality(enc, &img, samps[i], budget, &r[i]))
            goto done;
        if (r[i].quality && !jpeg_psnr(dec, &img, r[i].data, r[i].bytes, scratch, &r[i].psnr))
            goto done;
    }
    const jpeg_result *best = NULL;
    for (int i = 0; i < 2; i++)
        if (r[i].quality && (best == NULL || r[i].psnr > best->psnr))
            best = &r[i];
    if (best == NULL) {
        printf(",,,,\n");
    } else {
        double bpp = 8.0 * (double)best->bytes / ((double)img.width * img.height);
        printf("%d,%s,%lu,%.4f,%.3f\n", best->quality,
               best->subsamp == TJSAMP_444 ? "444" : "420", best->bytes, bpp, best->psnr);
        if (out != NULL) {
            inrf_status st = inrf_file_write_atomic(out, best->data, best->bytes);
            if (st != INRF_OK) {
                cli_lib_error(out, st);
                goto done;
            }
        }
    }
    rc = CLI_EXIT_OK;
done:
    for (int i = 0; i < 2; i++)
        tjFree(r[i].data);
    free(scratch);
    if (enc != NULL)
        tjDestroy(enc);
    if (dec != NULL)
        tjDestroy(dec);
    inrf_image_free(&img);
    return rc;
}

static int psnr_mode(const char *ref_path, const char *test_path)
{
    inrf_image ref, test;
    if (!read_image(ref_path, &ref))
        return CLI_EXIT_FAILURE;
    if (!read_image(test_path, &test)) {
        inrf_image_free(&ref);
        return CLI_EXIT_FAILURE;
    }
    int ok = ref.width == test.width && ref.height == test.height;
    if (ok)
        printf("%.3f\n", inrf_psnr_u8(ref.pixels, test.pixels,
                                      (size_t)ref.width * ref.height * 3));
    else
        cli_error("%s is %ux%u but %s is %ux%u", test_path, test.width, test.height, ref_path,
                  ref.width, ref.height);
    inrf_image_free(&ref);
    inrf_image_free(&test);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static int png_mode(const char *in, const char *out)
{
    inrf_image img;
    if (!read_image(in, &img))
        return CLI_EXIT_FAILURE;
    inrf_status st = inrf_image_write_file(&img, out, INRF_IMAGE_PNG, 0);
    if (st != INRF_OK)
        cli_lib_error(out, st);
    inrf_image_free(&img);
    return st == INRF_OK ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"psnr", no_argument, NULL, 'P'},
        {"png", no_argument, NULL, 'N'},          {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    cli_init("codec_jpeg");
    const char *out = NULL;
    int mode = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'P':
        case 'N':
            if (mode && mode != c)
                return cli_usage_error("--psnr and --png exclude each other");
            mode = c;
            break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("expected two arguments, got %d", argc - optind);
    if (mode && out != NULL)
        return cli_usage_error("--output goes with the budget form only");
    if (mode == 'P')
        return psnr_mode(argv[optind], argv[optind + 1]);
    if (mode == 'N')
        return png_mode(argv[optind], argv[optind + 1]);
    /* Must precede the first tjCompress2, which reads it (TurboJPEG 2.1). */
    setenv("TJ_OPTIMIZE", "1", 0);
    return budget_mode(argv[optind], argv[optind + 1], out);
}
