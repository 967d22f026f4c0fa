/* gen_image_seeds.c: writes the seed corpus of fuzz_image (tiny PNGs and
 * JPEGs of every layout the reader converts: grey of each depth, palette,
 * tRNS, 16-bit, alpha, Adam7; baseline, 4:2:0/4:2:2/4:4:4, progressive,
 * arithmetic, restarts, CMYK and YCCK). Built and run by gen_corpus.sh,
 * never by the build. Argument: the folder to write into. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#define W 13
#define H 9

static const char *dir;

static FILE *open_out(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

/* A sample of channel c at (x, y), 16 bits. */
static unsigned sample(unsigned x, unsigned y, unsigned c)
{
    return (x * 5041u + y * 7919u + c * 21845u + (x ^ y) * 977u) & 0xffffu;
}

/* colour: PNG colour type; depth: bits per sample; trns: add a tRNS chunk. */
static void png(const char *name, int colour, int depth, int interlace, int trns)
{
    FILE *f = open_out(name);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    if (setjmp(png_jmpbuf(p))) {
        fprintf(stderr, "%s: libpng error\n", name);
        exit(1);
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, W, H, depth, colour,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    unsigned ch = colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_PALETTE ? 1
                  : colour == PNG_COLOR_TYPE_GRAY_ALPHA                            ? 2
                  : colour == PNG_COLOR_TYPE_RGB                                   ? 3
                                                                                   : 4;
    unsigned levels = 1u << (depth < 8 ? depth : 8);
    if (colour == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        png_byte alpha[256];
        for (unsigned i = 0; i < levels; i++) {
            pal[i] = (png_color){(png_byte)(i * 37), (png_byte)(255 - i * 11), (png_byte)(i * 101)};
            alpha[i] = (png_byte)(255 - i * 29);
        }
        png_set_PLTE(p, info, pal, (int)levels);
        if (trns)
            png_set_tRNS(p, info, alpha, (int)(levels < 5 ? levels : 5), NULL);
    } else if (trns) {
        png_color_16 key = {0, 3, 5, 7, 1};
        png_set_tRNS(p, info, NULL, 0, &key);
    }
    png_text text = {PNG_TEXT_COMPRESSION_NONE, "Comment", "inrf fuzz seed", 14, 0, NULL, NULL};
    png_set_text(p, info, &text, 1);
    png_set_gAMA(p, info, 1 / 2.2);
    png_write_info(p, info);
    png_byte rows[H][W * 4 * 2];
    png_bytep ptrs[H];
    for (unsigned y = 0; y < H; y++) {
        memset(rows[y], 0, sizeof rows[y]);
        for (unsigned x = 0; x < W; x++)
            for (unsigned c = 0; c < ch; c++) {
                unsigned v = sample(x, y, c), i = x * ch + c;
                if (depth == 16) {
                    rows[y][2 * i] = (png_byte)(v >> 8);
                    rows[y][2 * i + 1] = (png_byte)v;
                } else if (depth == 8) {
                    rows[y][i] = (png_byte)(colour == PNG_COLOR_TYPE_PALETTE ? v % levels : v >> 8);
                } else { /* packed: samples of `depth` bits, first in the high bits */
                    unsigned s = v % levels, per = 8u / (unsigned)depth;
                    rows[y][i / per] |= (png_byte)(s << (8 - depth * (int)(i % per + 1)));
                }
            }
        ptrs[y] = rows[y];
    }
    png_write_image(p, ptrs);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
}

enum { BASELINE = 0, PROGRESSIVE = 1, ARITH = 2, RESTART = 4, OPTIMISE = 8 };

/* space: JCS_GRAYSCALE, JCS_RGB, JCS_CMYK (stored as YCCK when ycck);
 * h, v: the first component's sampling factors. */
static void jpeg(const char *name, J_COLOR_SPACE space, int ycck, int h, int v, int flags)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    FILE *f = open_out(name);
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = space == JCS_GRAYSCALE ? 1 : space == JCS_RGB ? 3 : 4;
    c.in_color_space = space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 80, TRUE);
    if (ycck)
        jpeg_set_colorspace(&c, JCS_YCCK);
    if (space != JCS_GRAYSCALE) {
        c.comp_info[0].h_samp_factor = h;
        c.comp_info[0].v_samp_factor = v;
    }
    if (flags & PROGRESSIVE)
        jpeg_simple_progression(&c);
    if (flags & ARITH)
        c.arith_code = TRUE;
    if (flags & RESTART)
        c.restart_in_rows = 1;
    if (flags & OPTIMISE)
        c.optimize_coding = TRUE;
    jpeg_start_compress(&c, TRUE);
    jpeg_write_marker(&c, JPEG_COM, (const JOCTET *)"inrf fuzz seed", 14);
    JSAMPLE row[W * 4];
    while (c.next_scanline < H) {
        unsigned y = c.next_scanline;
        for (unsigned x = 0; x < W; x++)
            for (int k = 0; k < c.input_components; k++)
                row[x * (unsigned)c.input_components + (unsigned)k] =
                    (JSAMPLE)(sample(x, y, (unsigned)k) >> 8);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_image_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    png("grey1.png", PNG_COLOR_TYPE_GRAY, 1, 0, 0);
    png("grey2.png", PNG_COLOR_TYPE_GRAY, 2, 0, 0);
    png("grey4-trns.png", PNG_COLOR_TYPE_GRAY, 4, 0, 1);
    png("grey8.png", PNG_COLOR_TYPE_GRAY, 8, 0, 0);
    png("grey16-adam7.png", PNG_COLOR_TYPE_GRAY, 16, 1, 0);
    png("grey-alpha8.png", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0);
    png("grey-alpha16.png", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0);
    png("palette1.png", PNG_COLOR_TYPE_PALETTE, 1, 0, 0);
    png("palette4-trns.png", PNG_COLOR_TYPE_PALETTE, 4, 0, 1);
    png("palette8-trns-adam7.png", PNG_COLOR_TYPE_PALETTE, 8, 1, 1);
    png("rgb8.png", PNG_COLOR_TYPE_RGB, 8, 0, 0);
    png("rgb8-trns.png", PNG_COLOR_TYPE_RGB, 8, 0, 1);
    png("rgb8-adam7.png", PNG_COLOR_TYPE_RGB, 8, 1, 0);
    png("rgb16.png", PNG_COLOR_TYPE_RGB, 16, 0, 0);
    png("rgba8.png", PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0);
    png("rgba16-adam7.png", PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 0);
    jpeg("grey.jpg", JCS_GRAYSCALE, 0, 1, 1, BASELINE);
    jpeg("grey-progressive.jpg", JCS_GRAYSCALE, 0, 1, 1, PROGRESSIVE);
    jpeg("rgb444.jpg", JCS_RGB, 0, 1, 1, BASELINE);
    jpeg("rgb422-optimised.jpg", JCS_RGB, 0, 2, 1, OPTIMISE);
    jpeg("rgb420.jpg", JCS_RGB, 0, 2, 2, BASELINE);
    jpeg("rgb420-restart.jpg", JCS_RGB, 0, 2, 2, RESTART);
    jpeg("rgb420-progressive.jpg", JCS_RGB, 0, 2, 2, PROGRESSIVE);
    jpeg("rgb440-arith.jpg", JCS_RGB, 0, 1, 2, ARITH);
    jpeg("rgb-progressive-arith.jpg", JCS_RGB, 0, 1, 1, PROGRESSIVE | ARITH);
    jpeg("cmyk.jpg", JCS_CMYK, 0, 1, 1, BASELINE);
    jpeg("ycck420.jpg", JCS_CMYK, 1, 2, 2, BASELINE);
    jpeg("cmyk-progressive.jpg", JCS_CMYK, 0, 1, 1, PROGRESSIVE);
    return 0;
}
