/* test_image.c: cmocka suite for libinrf/image.c; every PNG and JPEG fixture
 * is generated here with libpng and TurboJPEG directly, every PNM one by
 * hand, none is committed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <png.h>
#include <turbojpeg.h>

#include "inrf/inrf.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
    /* xorshift64*: reproducible fixtures without rand()'s platform drift. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng();
}

static uint8_t scale16(unsigned v) { return (uint8_t)((v * 255u + 32767u) / 65535u); }
static uint8_t over_black(unsigned v, unsigned a) { return (uint8_t)((v * a + 127u) / 255u); }

/* The message of the last failure must name its module. */
static void assert_error_message(void)
{
    const char *msg = inrf_last_error();
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_true(strncmp(msg, "PNG:", 4) == 0 || strncmp(msg, "JPEG:", 5) == 0 ||
                strncmp(msg, "PNM:", 4) == 0 || strncmp(msg, "image:", 6) == 0);
}

static inrf_status read_opt(const void *data, size_t size, int keep_grey, inrf_image *img)
{
    inrf_image_read_options opt;
    inrf_image_read_options_init(&opt);
    opt.keep_grey = keep_grey;
    return inrf_image_read_memory(data, size, &opt, img);
}

/* A PNG as libpng writes it, for kinds inrf_image_write_memory never
 * produces. raw holds the rows in PNG byte order (big-endian 16-bit). */
typedef struct png_spec {
    uint32_t width, height;
    int colour_type, depth, interlace;
    const uint8_t *raw;
    const png_color *palette;
    int npalette;
    const png_byte *trans;       /* palette alpha */
    int ntrans;
    const png_color_16 *key;     /* grey or RGB colour key */
} png_spec;

typedef struct byte_buf {
    uint8_t *data;
    size_t size, cap;
} byte_buf;

static void buf_append(byte_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->size + n > b->cap) {
        b->cap = (b->size + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void spec_write(png_structp png, png_bytep p, size_t n)
{
    buf_append(png_get_io_ptr(png), p, n);
}

static void spec_flush(png_structp png) { (void)png; }

static unsigned png_channels(int colour_type)
{
    switch (colour_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

static size_t spec_rowbytes(const png_spec *s)
{
    return ((size_t)s->width * png_channels(s->colour_type) * (size_t)s->depth + 7) / 8;
}

static int spec_encode(png_structp png, png_infop info, const png_spec *s, byte_buf *out)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, out, spec_write, spec_flush);
    png_set_IHDR(png, info, s->width, s->height, s->depth, s->colour_type,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->trans || s->key)
        png_set_tRNS(png, info, s->trans, s->ntrans, s->key);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    size_t rowbytes = spec_rowbytes(s);
    for (int p = 0; p < passes; p++)
        for (uint32_t y = 0; y < s->height; y++)
            png_write_row(png, s->raw + y * rowbytes);
    png_write_end(png, NULL);
    return 0;
}

static uint8_t *make_png(const png_spec *s, size_t *size)
{
    byte_buf out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    assert_non_null(png);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    int rc = spec_encode(png, info, s, &out);
    png_destroy_write_struct(&png, &info);
    assert_int_equal(rc, 0);
    *size = out.size;
    return out.data;
}

/* A JPEG as TurboJPEG writes it, in a malloc'd buffer. */
static uint8_t *make_jpeg(const uint8_t *pixels, int width, int height, int format, int subsamp,
                          int quality, size_t *size)
{
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    unsigned char *jpeg = NULL;
    unsigned long n = 0;
    int rc = tjCompress2(tj, pixels, width, 0, height, format, &jpeg, &n, subsamp, quality,
                         TJFLAG_ACCURATEDCT);
    if (rc != 0)
        fail_msg("tjCompress2: %s", tjGetErrorStr2(tj));
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, jpeg, n);
    tjFree(jpeg);
    tjDestroy(tj);
    *size = n;
    return copy;
}

static void jpeg_header(const uint8_t *data, size_t size, int *subsamp, int *colourspace)
{
    tjhandle tj = tjInitDecompress();
    assert_non_null(tj);
    int w, h;
    assert_int_equal(tjDecompressHeader3(tj, data, size, &w, &h, subsamp, colourspace), 0);
    tjDestroy(tj);
}

/* A smooth picture with some edges: what a JPEG is meant for. */
static void make_pattern(uint8_t *rgb, uint32_t width, uint32_t height)
{
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = rgb + ((size_t)y * width + x) * 3;
            p[0] = (uint8_t)(x * 255 / (width - 1));
            p[1] = (uint8_t)(y * 255 / (height - 1));
            p[2] = (x / 16 + y / 16) % 2 ? 200 : 60;
        }
}

/* ------------------------------------------------------------- formats */

static void test_sniff_and_names(void **state)
{
    (void)state;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    static const uint8_t jpeg_sig[3] = {0xff, 0xd8, 0xff};
    assert_int_equal(inrf_image_sniff(png_sig, 8), INRF_IMAGE_PNG);
    assert_int_equal(inrf_image_sniff(png_sig, 7), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_sniff(jpeg_sig, 3), INRF_IMAGE_JPEG);
    assert_int_equal(inrf_image_sniff(jpeg_sig, 2), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_sniff("GIF89a", 6), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_sniff(NULL, 10), INRF_IMAGE_UNKNOWN);

    assert_int_equal(inrf_image_format_from_name("a.png"), INRF_IMAGE_PNG);
    assert_int_equal(inrf_image_format_from_name("dir.jpg/A.PNG"), INRF_IMAGE_PNG);
    assert_int_equal(inrf_image_format_from_name("x.jpg"), INRF_IMAGE_JPEG);
    assert_int_equal(inrf_image_format_from_name("x.JPeG"), INRF_IMAGE_JPEG);
    assert_int_equal(inrf_image_format_from_name("x.jpe"), INRF_IMAGE_JPEG);
    assert_int_equal(inrf_image_format_from_name("x.png.gz"), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_format_from_name("png"), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_format_from_name("dir.png/file"), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_format_from_name(".png"), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_format_from_name("-"), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_format_from_name(NULL), INRF_IMAGE_UNKNOWN);
}

static void test_alloc_free(void **state)
{
    (void)state;
    inrf_image img;
    assert_int_equal(inrf_image_alloc(&img, 5, 3, 3), INRF_OK);
    assert_non_null(img.pixels);
    assert_int_equal(img.width, 5);
    assert_int_equal(img.height, 3);
    assert_int_equal(img.channels, 3);
    memset(img.pixels, 7, 5 * 3 * 3);
    inrf_image_free(&img);
    assert_null(img.pixels);
    inrf_image_free(&img); /* twice is harmless */
    inrf_image_free(NULL);

    assert_int_equal(inrf_image_alloc(&img, 5, 3, 2), INRF_E_INVALID_ARG);
    assert_null(img.pixels);
    assert_int_equal(inrf_image_alloc(&img, 0, 3, 1), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_image_alloc(&img, 3, 0, 1), INRF_E_INVALID_ARG);
    /* (2^32 - 1)^2 * 3 does not fit 64 bits, let alone memory. */
    assert_int_not_equal(inrf_image_alloc(&img, UINT32_MAX, UINT32_MAX, 3), INRF_OK);
    assert_null(img.pixels);
    /* The largest size a file may claim: refused, not asked of malloc (an
     * abort under AddressSanitizer). */
    assert_int_equal(inrf_image_alloc(&img, 1u << 24, 1u << 24, 3), INRF_E_LIMIT);
    assert_null(img.pixels);
}

/* ------------------------------------------------------------------ PNG */

static void test_png_rgb8_roundtrip(void **state)
{
    (void)state;
    inrf_image src, got;
    assert_int_equal(inrf_image_alloc(&src, 37, 23, 3), INRF_OK);
    fill_random(src.pixels, 37 * 23 * 3);
    void *data;
    size_t size;
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNG, 0, &data, &size), INRF_OK);
    assert_int_equal(inrf_image_sniff(data, size), INRF_IMAGE_PNG);
    assert_int_equal(inrf_image_read_memory(data, size, NULL, &got), INRF_OK);
    assert_int_equal(got.width, 37);
    assert_int_equal(got.height, 23);
    assert_int_equal(got.channels, 3);
    assert_memory_equal(got.pixels, src.pixels, 37 * 23 * 3);
    free(data);
    inrf_image_free(&got);
    inrf_image_free(&src);
}

static void test_png_grey8(void **state)
{
    (void)state;
    enum { W = 31, H = 9 };
    uint8_t raw[W * H];
    fill_random(raw, sizeof raw);
    png_spec s = {.width = W, .height = H, .colour_type = PNG_COLOR_TYPE_GRAY, .depth = 8,
                  .raw = raw};
    size_t size;
    uint8_t *png = make_png(&s, &size);
    inrf_image grey, rgb;
    assert_int_equal(read_opt(png, size, 1, &grey), INRF_OK);
    assert_int_equal(grey.channels, 1);
    assert_memory_equal(grey.pixels, raw, sizeof raw);
    assert_int_equal(read_opt(png, size, 0, &rgb), INRF_OK);
    assert_int_equal(rgb.channels, 3);
    for (size_t i = 0; i < sizeof raw; i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(rgb.pixels[3 * i + k], raw[i]);

    /* A grey image written by the library comes back bit-exact. */
    void *again;
    size_t again_size;
    inrf_image back;
    assert_int_equal(inrf_image_write_memory(&grey, INRF_IMAGE_PNG, 75, &again, &again_size),
                     INRF_OK);
    assert_int_equal(read_opt(again, again_size, 1, &back), INRF_OK);
    assert_int_equal(back.channels, 1);
    assert_memory_equal(back.pixels, raw, sizeof raw);
    free(again);
    free(png);
    inrf_image_free(&back);
    inrf_image_free(&grey);
    inrf_image_free(&rgb);
}

/* Every (value, alpha) pair: grey = x, alpha = y. */
static void test_png_grey_alpha8(void **state)
{
    (void)state;
    static uint8_t raw[256 * 256 * 2];
    for (unsigned y = 0; y < 256; y++)
        for (unsigned x = 0; x < 256; x++) {
            raw[(y * 256 + x) * 2] = (uint8_t)x;
            raw[(y * 256 + x) * 2 + 1] = (uint8_t)y;
        }
    png_spec s = {.width = 256, .height = 256, .colour_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                  .depth = 8, .raw = raw};
    size_t size;
    uint8_t *png = make_png(&s, &size);
    inrf_image grey, rgb;
    assert_int_equal(read_opt(png, size, 1, &grey), INRF_OK);
    assert_int_equal(read_opt(png, size, 0, &rgb), INRF_OK);
    assert_int_equal(grey.channels, 1);
    assert_int_equal(rgb.channels, 3);
    for (unsigned y = 0; y < 256; y++)
        for (unsigned x = 0; x < 256; x++) {
            uint8_t want = over_black(x, y);
            size_t i = y * 256 + x;
            assert_int_equal(grey.pixels[i], want);
            assert_int_equal(rgb.pixels[3 * i], want);
            assert_int_equal(rgb.pixels[3 * i + 1], want);
            assert_int_equal(rgb.pixels[3 * i + 2], want);
        }
    /* Fully transparent is black, opaque is untouched. */
    assert_int_equal(grey.pixels[255 * 256 + 77], 77);
    assert_int_equal(grey.pixels[0 * 256 + 200], 0);
    free(png);
    inrf_image_free(&grey);
    inrf_image_free(&rgb);
}

static void test_png_rgba8(void **state)
{
    (void)state;
    static uint8_t raw[256 * 256 * 4];
    for (unsigned y = 0; y < 256; y++)
        for (unsigned x = 0; x < 256; x++) {
            uint8_t *p = raw + (y * 256 + x) * 4;
            p[0] = (uint8_t)x;
            p[1] = (uint8_t)(x ^ y);
            p[2] = (uint8_t)(255 - x);
            p[3] = (uint8_t)y;
        }
    png_spec s = {.width = 256, .height = 256, .colour_type = PNG_COLOR_TYPE_RGB_ALPHA,
                  .depth = 8, .raw = raw};
    size_t size;
    uint8_t *png = make_png(&s, &size);
    inrf_image img;
    /* keep_grey has no effect on colour sources. */
    assert_int_equal(read_opt(png, size, 1, &img), INRF_OK);
    assert_int_equal(img.channels, 3);
    for (size_t i = 0; i < 256 * 256; i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(img.pixels[3 * i + k], over_black(raw[4 * i + k], raw[4 * i + 3]));
    free(png);
    inrf_image_free(&img);
}

static void test_png_16bit(void **state)
{
    (void)state;
    /* The rounding formula at its turning points: 128/257 < 0.5 < 129/257. */
    assert_int_equal(scale16(0), 0);
    assert_int_equal(scale16(128), 0);
    assert_int_equal(scale16(129), 1);
    assert_int_equal(scale16(257), 1);
    assert_int_equal(scale16(65535), 255);

    /* Every 16-bit grey value once. */
    static uint8_t raw[256 * 256 * 2];
    for (unsigned v = 0; v < 65536; v++) {
        raw[2 * v] = (uint8_t)(v >> 8);
        raw[2 * v + 1] = (uint8_t)v;
    }
    png_spec s = {.width = 256, .height = 256, .colour_type = PNG_COLOR_TYPE_GRAY, .depth = 16,
                  .raw = raw};
    size_t size;
    uint8_t *png = make_png(&s, &size);
    inrf_image grey, rgb;
    assert_int_equal(read_opt(png, size, 1, &grey), INRF_OK);
    assert_int_equal(grey.channels, 1);
    assert_int_equal(read_opt(png, size, 0, &rgb), INRF_OK);
    for (unsigned v = 0; v < 65536; v++) {
        assert_int_equal(grey.pixels[v], scale16(v));
        assert_int_equal(rgb.pixels[3 * v + 2], scale16(v));
    }
    free(png);
    inrf_image_free(&grey);
    inrf_image_free(&rgb);

    /* 16-bit RGB. */
    enum { W = 40, H = 30 };
    static uint8_t rgb16[W * H * 6];
    fill_random(rgb16, sizeof rgb16);
    png_spec c = {.width = W, .height = H, .colour_type = PNG_COLOR_TYPE_RGB, .depth = 16,
                  .raw = rgb16};
    png = make_png(&c, &size);
    assert_int_equal(read_opt(png, size, 0, &rgb), INRF_OK);
    assert_int_equal(rgb.channels, 3);
    for (size_t i = 0; i < W * H * 3; i++)
        assert_int_equal(rgb.pixels[i], scale16((unsigned)rgb16[2 * i] << 8 | rgb16[2 * i + 1]));
    free(png);
    inrf_image_free(&rgb);

    /* 16-bit RGBA: both samples are scaled to 8 bits, then composited. */
    static uint8_t rgba16[W * H * 8];
    fill_random(rgba16, sizeof rgba16);
    png_spec a = {.width = W, .height = H, .colour_type = PNG_COLOR_TYPE_RGB_ALPHA, .depth = 16,
                  .raw = rgba16};
    png = make_png(&a, &size);
    assert_int_equal(read_opt(png, size, 0, &rgb), INRF_OK);
    for (size_t i = 0; i < W * H; i++) {
        const uint8_t *p = rgba16 + 8 * i;
        uint8_t alpha = scale16((unsigned)p[6] << 8 | p[7]);
        for (int k = 0; k < 3; k++) {
            uint8_t v = scale16((unsigned)p[2 * k] << 8 | p[2 * k + 1]);
            assert_int_equal(rgb.pixels[3 * i + k], over_black(v, alpha));
        }
    }
    free(png);
    inrf_image_free(&rgb);
}

static void test_png_palette_trns(void **state)
{
    (void)state;
    enum { W = 17, H = 9, ROW = (W * 4 + 7) / 8 };
    png_color palette[16];
    for (int i = 0; i < 16; i++)
        palette[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 13), (png_byte)(i * 7)};
    const png_byte trans[5] = {0, 64, 128, 200, 255}; /* entries 5..15: opaque */
    uint8_t raw[ROW * H] = {0};
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++) {
            unsigned idx = (x + 3 * y) % 16;
            raw[y * ROW + x / 2] |= (uint8_t)(idx << (x % 2 ? 0 : 4));
        }
    png_spec s = {.width = W, .height = H, .colour_type = PNG_COLOR_TYPE_PALETTE, .depth = 4,
                  .raw = raw, .palette = palette, .npalette = 16, .trans = trans, .ntrans = 5};
    size_t size;
    uint8_t *png = make_png(&s, &size);
    inrf_image img;
    assert_int_equal(read_opt(png, size, 1, &img), INRF_OK);
    assert_int_equal(img.channels, 3);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++) {
            unsigned idx = (x + 3 * y) % 16;
            unsigned alpha = idx < 5 ? trans[idx] : 255;
            const uint8_t *p = img.pixels + (y * W + x) * 3;
            assert_int_equal(p[0], over_black(palette[idx].red, alpha));
            assert_int_equal(p[1], over_black(palette[idx].green, alpha));
            assert_int_equal(p[2], over_black(palette[idx].blue, alpha));
        }
    free(png);
    inrf_image_free(&img);
}

/* An RGB colour key (tRNS without palette) turns matching pixels black. */
static void test_png_rgb_colour_key(void **state)
{
    (void)state;
    enum { W = 12, H = 5 };
    uint8_t raw[W * H * 3];
    fill_random(raw, sizeof raw);
    for (size_t i = 0; i < W * H; i += 3) {
        raw[3 * i] = 10;
        raw[3 * i + 1] = 20;
        raw[3 * i + 2] = 30;
    }
    png_color_16 key = {.red = 10, .green = 20, .blue = 30};
    png_spec s = {.width = W, .height = H, .colour_type = PNG_COLOR_TYPE_RGB, .depth = 8,
                  .raw = raw, .key = &key};
    size_t size;
    uint8_t *png = make_png(&s, &size);
    inrf_image img;
    assert_int_equal(read_opt(png, size, 0, &img), INRF_OK);
    for (size_t i = 0; i < W * H; i++) {
        int keyed = raw[3 * i] == 10 && raw[3 * i + 1] == 20 && raw[3 * i + 2] == 30;
        for (int k = 0; k < 3; k++)
            assert_int_equal(img.pixels[3 * i + k], keyed ? 0 : raw[3 * i + k]);
    }
    free(png);
    inrf_image_free(&img);
}

/* Grey at 1, 2 and 4 bits: value v of depth d becomes v * 255 / (2^d - 1). */
static void test_png_low_bit_grey(void **state)
{
    (void)state;
    enum { W = 19, H = 7 };
    for (int depth = 1; depth <= 4; depth *= 2) {
        unsigned levels = 1u << depth, per_byte = 8u / (unsigned)depth;
        size_t row = (W * (size_t)depth + 7) / 8;
        uint8_t raw[W * H] = {0};
        unsigned values[W * H];
        for (unsigned y = 0; y < H; y++)
            for (unsigned x = 0; x < W; x++) {
                unsigned v = rng() % levels;
                values[y * W + x] = v;
                unsigned shift = (unsigned)depth * (per_byte - 1 - x % per_byte);
                raw[y * row + x / per_byte] |= (uint8_t)(v << shift);
            }
        for (int interlace = 0; interlace <= 1; interlace++) {
            png_spec s = {.width = W, .height = H, .colour_type = PNG_COLOR_TYPE_GRAY,
                          .depth = depth, .interlace = interlace, .raw = raw};
            size_t size;
            uint8_t *png = make_png(&s, &size);
            inrf_image grey, rgb;
            assert_int_equal(read_opt(png, size, 1, &grey), INRF_OK);
            assert_int_equal(read_opt(png, size, 0, &rgb), INRF_OK);
            assert_int_equal(grey.channels, 1);
            assert_int_equal(rgb.channels, 3);
            for (size_t i = 0; i < W * H; i++) {
                unsigned want = values[i] * 255 / (levels - 1);
                assert_int_equal(grey.pixels[i], want);
                assert_int_equal(rgb.pixels[3 * i + 1], want);
            }
            free(png);
            inrf_image_free(&grey);
            inrf_image_free(&rgb);
        }
    }
}

static void test_png_interlaced(void **state)
{
    (void)state;
    /* Odd sizes, so that some Adam7 passes are empty or partial. */
    static const uint32_t sizes[][2] = {{33, 17}, {1, 1}, {3, 2}, {8, 8}, {9, 1}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        uint32_t w = sizes[t][0], h = sizes[t][1];
        uint8_t *raw = malloc((size_t)w * h * 3);
        assert_non_null(raw);
        fill_random(raw, (size_t)w * h * 3);
        png_spec s = {.width = w, .height = h, .colour_type = PNG_COLOR_TYPE_RGB, .depth = 8,
                      .interlace = 1, .raw = raw};
        size_t size;
        uint8_t *png = make_png(&s, &size);
        assert_int_equal(png[8 + 8 + 12], 1); /* IHDR interlace method: Adam7 */
        inrf_image img;
        assert_int_equal(read_opt(png, size, 0, &img), INRF_OK);
        assert_int_equal(img.width, w);
        assert_int_equal(img.height, h);
        assert_memory_equal(img.pixels, raw, (size_t)w * h * 3);
        free(png);
        free(raw);
        inrf_image_free(&img);
    }
}

/* ----------------------------------------------------------------- JPEG */

static void test_jpeg_rgb(void **state)
{
    (void)state;
    enum { W = 96, H = 64 };
    static uint8_t src[W * H * 3];
    make_pattern(src, W, H);
    static const struct { int subsamp, quality; double min_psnr; } cases[] = {
        /* 4:2:0 is held near 30 dB by the sharp blue squares. */
        {TJSAMP_420, 85, 28.5},
        {TJSAMP_444, 95, 45.0},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        size_t size;
        uint8_t *jpeg = make_jpeg(src, W, H, TJPF_RGB, cases[t].subsamp, cases[t].quality, &size);
        assert_int_equal(inrf_image_sniff(jpeg, size), INRF_IMAGE_JPEG);
        inrf_image img;
        assert_int_equal(read_opt(jpeg, size, 1, &img), INRF_OK);
        assert_int_equal(img.width, W);
        assert_int_equal(img.height, H);
        assert_int_equal(img.channels, 3);
        double psnr = inrf_psnr_u8(img.pixels, src, sizeof src);
        if (psnr < cases[t].min_psnr)
            fail_msg("case %zu: PSNR %.2f dB < %.1f", t, psnr, cases[t].min_psnr);
        free(jpeg);
        inrf_image_free(&img);
    }
}

/* The library's JPEG writer: 4:2:0 below quality 90, 4:4:4 from 90, grey for
 * one channel; and it reads its own output back close to the source. */
static void test_jpeg_write(void **state)
{
    (void)state;
    enum { W = 96, H = 64 };
    inrf_image src;
    assert_int_equal(inrf_image_alloc(&src, W, H, 3), INRF_OK);
    make_pattern(src.pixels, W, H);
    static const struct { int quality, subsamp; double min_psnr; } cases[] = {
        {50, TJSAMP_420, 27.0}, {89, TJSAMP_420, 28.5}, {90, TJSAMP_444, 45.0},
        {100, TJSAMP_444, 50.0},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        void *data;
        size_t size;
        assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_JPEG, cases[t].quality, &data,
                                                 &size), INRF_OK);
        int subsamp, cs;
        jpeg_header(data, size, &subsamp, &cs);
        assert_int_equal(subsamp, cases[t].subsamp);
        assert_int_equal(cs, TJCS_YCbCr);
        inrf_image img;
        assert_int_equal(inrf_image_read_memory(data, size, NULL, &img), INRF_OK);
        double psnr = inrf_psnr_u8(img.pixels, src.pixels, W * H * 3);
        if (psnr < cases[t].min_psnr)
            fail_msg("quality %d: PSNR %.2f dB < %.1f", cases[t].quality, psnr, cases[t].min_psnr);
        free(data);
        inrf_image_free(&img);
    }

    inrf_image grey;
    assert_int_equal(inrf_image_alloc(&grey, W, H, 1), INRF_OK);
    for (size_t i = 0; i < W * H; i++)
        grey.pixels[i] = src.pixels[3 * i + 1];
    void *data;
    size_t size;
    assert_int_equal(inrf_image_write_memory(&grey, INRF_IMAGE_JPEG, 92, &data, &size), INRF_OK);
    int subsamp, cs;
    jpeg_header(data, size, &subsamp, &cs);
    assert_int_equal(subsamp, TJSAMP_GRAY);
    assert_int_equal(cs, TJCS_GRAY);
    inrf_image img;
    assert_int_equal(read_opt(data, size, 1, &img), INRF_OK);
    assert_int_equal(img.channels, 1);
    assert_true(inrf_psnr_u8(img.pixels, grey.pixels, W * H) > 40.0);
    free(data);
    inrf_image_free(&img);
    inrf_image_free(&grey);
    inrf_image_free(&src);
}

static void test_jpeg_grey(void **state)
{
    (void)state;
    enum { W = 80, H = 48 };
    static uint8_t rgb[W * H * 3], src[W * H];
    make_pattern(rgb, W, H);
    for (size_t i = 0; i < W * H; i++)
        src[i] = (uint8_t)((rgb[3 * i] + rgb[3 * i + 2]) / 2);
    size_t size;
    uint8_t *jpeg = make_jpeg(src, W, H, TJPF_GRAY, TJSAMP_GRAY, 90, &size);
    inrf_image grey, colour;
    assert_int_equal(read_opt(jpeg, size, 1, &grey), INRF_OK);
    assert_int_equal(grey.channels, 1);
    double psnr = inrf_psnr_u8(grey.pixels, src, sizeof src);
    if (psnr < 36.0)
        fail_msg("grey JPEG: PSNR %.2f dB", psnr);
    assert_int_equal(read_opt(jpeg, size, 0, &colour), INRF_OK);
    assert_int_equal(colour.channels, 3);
    for (size_t i = 0; i < W * H; i++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(colour.pixels[3 * i + k], grey.pixels[i]);
    free(jpeg);
    inrf_image_free(&grey);
    inrf_image_free(&colour);
}

/* CMYK as Adobe stores it (inverted): RGB = C*K/255, M*K/255, Y*K/255. */
static void test_jpeg_cmyk(void **state)
{
    (void)state;
    enum { W = 64, H = 64 };
    static uint8_t cmyk[W * H * 4], want[W * H * 3], wrong[W * H * 3];
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++) {
            uint8_t *p = cmyk + (y * W + x) * 4;
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 4);
            p[2] = (uint8_t)(255 - x * 2);
            p[3] = (uint8_t)(255 - (x + y));
            for (int k = 0; k < 3; k++) {
                want[(y * W + x) * 3 + k] = over_black(p[k], p[3]);
                /* The uninverted reading, which the library must not use. */
                wrong[(y * W + x) * 3 + k] = over_black(255 - p[k], 255 - p[3]);
            }
        }
    size_t size;
    uint8_t *jpeg = make_jpeg(cmyk, W, H, TJPF_CMYK, TJSAMP_444, 95, &size);
    int subsamp, cs;
    jpeg_header(jpeg, size, &subsamp, &cs);
    assert_int_equal(cs, TJCS_YCCK);
    inrf_image img;
    assert_int_equal(read_opt(jpeg, size, 1, &img), INRF_OK);
    assert_int_equal(img.channels, 3);
    double psnr = inrf_psnr_u8(img.pixels, want, sizeof want);
    double psnr_wrong = inrf_psnr_u8(img.pixels, wrong, sizeof wrong);
    if (psnr < 35.0 || psnr_wrong > psnr - 10.0)
        fail_msg("CMYK: PSNR %.2f dB, %.2f dB uninverted", psnr, psnr_wrong);
    free(jpeg);
    inrf_image_free(&img);
}

/* ------------------------------------------------------------- failures */

static void expect_truncations_fail(const uint8_t *data, size_t size)
{
    for (size_t n = 0; n < size; n++) {
        inrf_image img = {.pixels = (uint8_t *)1};
        inrf_status st = inrf_image_read_memory(data, n, NULL, &img);
        if (st != INRF_E_IMAGE)
            fail_msg("cut to %zu of %zu bytes: status %d (%s)", n, size, (int)st,
                     inrf_last_error());
        assert_error_message();
        assert_null(img.pixels);
    }
}

static void test_truncated_png(void **state)
{
    (void)state;
    inrf_image src;
    assert_int_equal(inrf_image_alloc(&src, 16, 12, 3), INRF_OK);
    fill_random(src.pixels, 16 * 12 * 3);
    void *data;
    size_t size;
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNG, 0, &data, &size), INRF_OK);
    expect_truncations_fail(data, size);
    /* Cut inside the image data, the message says so. */
    inrf_image img;
    assert_int_equal(inrf_image_read_memory(data, size / 2, NULL, &img), INRF_E_IMAGE);
    assert_non_null(strstr(inrf_last_error(), "truncated"));
    free(data);

    /* An interlaced 16-bit file takes the other row path. */
    static uint8_t raw[9 * 7 * 4];
    fill_random(raw, sizeof raw);
    png_spec s = {.width = 9, .height = 7, .colour_type = PNG_COLOR_TYPE_GRAY_ALPHA,
                  .depth = 16, .interlace = 1, .raw = raw};
    uint8_t *png = make_png(&s, &size);
    expect_truncations_fail(png, size);
    free(png);
    inrf_image_free(&src);
}


/* ------------------------------------------------------------------ PNM */

/* A PNM file from a header and raw sample bytes. */
static uint8_t *make_pnm(const char *header, const uint8_t *raw, size_t n, size_t *size)
{
    size_t h = strlen(header);
    uint8_t *d = malloc(h + n + 1);
    assert_non_null(d);
    memcpy(d, header, h);
    if (n)
        memcpy(d + h, raw, n);
    *size = h + n;
    return d;
}

static void test_pnm_sniff_and_names(void **state)
{
    (void)state;
    assert_int_equal(inrf_image_sniff("P6\n", 3), INRF_IMAGE_PNM);
    assert_int_equal(inrf_image_sniff("P5 ", 3), INRF_IMAGE_PNM);
    assert_int_equal(inrf_image_sniff("P3\t", 3), INRF_IMAGE_PNM); /* found, then refused */
    assert_int_equal(inrf_image_sniff("P6", 2), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_sniff("P8\n", 3), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_sniff("P6x", 3), INRF_IMAGE_UNKNOWN);
    assert_int_equal(inrf_image_format_from_name("a.ppm"), INRF_IMAGE_PNM);
    assert_int_equal(inrf_image_format_from_name("a.PGM"), INRF_IMAGE_PNM);
    assert_int_equal(inrf_image_format_from_name("d/a.pnm"), INRF_IMAGE_PNM);
    assert_int_equal(inrf_image_format_from_name(".ppm"), INRF_IMAGE_UNKNOWN);
}

/* What the writer makes, the reader gives back: P6 for RGB, P5 for grey. */
static void test_pnm_roundtrip(void **state)
{
    (void)state;
    for (uint8_t ch = 1; ch <= 3; ch += 2) {
        inrf_image src, back;
        assert_int_equal(inrf_image_alloc(&src, 16, 12, ch), INRF_OK);
        fill_random(src.pixels, (size_t)16 * 12 * ch);
        void *data;
        size_t size;
        assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNM, 0, &data, &size), INRF_OK);
        const char *head = ch == 3 ? "P6\n16 12\n255\n" : "P5\n16 12\n255\n";
        assert_int_equal(size, strlen(head) + (size_t)16 * 12 * ch);
        assert_memory_equal(data, head, strlen(head));
        assert_int_equal(read_opt(data, size, 1, &back), INRF_OK);
        assert_int_equal(back.channels, ch);
        assert_memory_equal(back.pixels, src.pixels, (size_t)16 * 12 * ch);
        inrf_image_free(&back);
        assert_int_equal(read_opt(data, size, 0, &back), INRF_OK); /* grey replicated */
        assert_int_equal(back.channels, 3);
        for (size_t i = 0; i < (size_t)16 * 12 * 3; i++)
            assert_int_equal(back.pixels[i], src.pixels[ch == 3 ? i : i / 3]);
        inrf_image_free(&back);
        expect_truncations_fail(data, size);
        free(data);
        inrf_image_free(&src);
    }
}

/* maxval other than 255, one and two bytes a sample, comments and any
 * whitespace in the header; trailing data (a next image) ignored. */
static void test_pnm_maxval(void **state)
{
    (void)state;
    inrf_image img;
    size_t size;
    const uint8_t one[] = {0, 50, 100, 7};
    uint8_t *d = make_pnm("P5 # grey\n#more\n\t2\r2 100\n", one, sizeof one, &size);
    assert_int_equal(read_opt(d, size, 1, &img), INRF_OK);
    assert_int_equal(img.width, 2);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.pixels[0], 0);
    assert_int_equal(img.pixels[1], 128); /* 50 * 255 / 100 = 127.5, rounded up */
    assert_int_equal(img.pixels[2], 255);
    assert_int_equal(img.pixels[3], 18);  /* 17.85 */
    inrf_image_free(&img);
    free(d);
    const uint8_t two[] = {0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0xde, 0xad};
    d = make_pnm("P5\n2 2\n65535\n", two, sizeof two, &size);
    assert_int_equal(read_opt(d, size, 1, &img), INRF_OK);
    assert_int_equal(img.pixels[0], 255);
    assert_int_equal(img.pixels[1], scale16(0x8000));
    assert_int_equal(img.pixels[2], 0);
    assert_int_equal(img.pixels[3], 0);
    inrf_image_free(&img);
    free(d);
}

/* Hostile headers: INRF_E_IMAGE (INRF_E_LIMIT past max_pixels), a message
 * naming the field, a zeroed image, no allocation of the claimed size. */
static void test_pnm_hostile(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        inrf_status st;
        const char *says;
        size_t size;               /* 0: strlen(file) */
    } cases[] = {
        {"P3\n1 1\n255\n0 0 0\n", INRF_E_IMAGE, "P3 (plain text)", 0},
        {"P2\n1 1\n255\n0\n", INRF_E_IMAGE, "P2", 0},
        {"P1\n1 1\n0\n", INRF_E_IMAGE, "P1", 0},
        {"P4\n8 1\n\xff", INRF_E_IMAGE, "P4 (binary bitmap)", 0},
        {"P7\nWIDTH 1\n", INRF_E_IMAGE, "P7 (PAM)", 0},
        {"P6\n0 1\n255\n", INRF_E_IMAGE, "width is 0", 0},
        {"P6\n1 0\n255\n", INRF_E_IMAGE, "height is 0", 0},
        {"P6\n4294967296 1\n255\n", INRF_E_IMAGE, "width is larger", 0},
        {"P6\n99999 99999\n255\n", INRF_E_LIMIT, "max_pixels", 0},
        {"P6\n1 1\n0\n", INRF_E_IMAGE, "maxval is 0", 0},
        {"P6\n1 1\n65536\n", INRF_E_IMAGE, "maxval is larger", 0},
        {"P6\n1 1\n255x\n", INRF_E_IMAGE, "maxval is not a number", 0},
        {"P6\n1 1\n255#\nabc", INRF_E_IMAGE, "no whitespace after the maxval", 0},
        {"P6\n-1 1\n255\n", INRF_E_IMAGE, "width is not a number", 0},
        {"P6\n1 1\n255\nab", INRF_E_IMAGE, "cut short (3 bytes of samples, 2 present)", 0},
        {"P6\n1 1\n", INRF_E_IMAGE, "cut short before the maxval", 0},
        {"P5\n2 1\n100\n\x65\x00", INRF_E_IMAGE, "sample 101 exceeds maxval 100", 13},
        {"P5\n1 1\n1000\n\x03\xe9", INRF_E_IMAGE, "sample 1001 exceeds maxval 1000", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        inrf_image img = {.pixels = (uint8_t *)1};
        size_t n = cases[i].size ? cases[i].size : strlen(cases[i].file);
        inrf_status st = read_opt(cases[i].file, n, 1, &img);
        if (st != cases[i].st || strstr(inrf_last_error(), cases[i].says) == NULL)
            fail_msg("case %zu: status %d, '%s'; expected %d, '%s'", i, (int)st,
                     inrf_last_error(), (int)cases[i].st, cases[i].says);
        assert_error_message();
        assert_null(img.pixels);
        assert_int_equal(img.width, 0);
    }
}

static void test_truncated_jpeg(void **state)
{
    (void)state;
    enum { W = 40, H = 24 };
    static uint8_t src[W * H * 3];
    make_pattern(src, W, H);
    size_t size;
    uint8_t *jpeg = make_jpeg(src, W, H, TJPF_RGB, TJSAMP_420, 90, &size);
    expect_truncations_fail(jpeg, size);
    inrf_image img;
    assert_int_equal(inrf_image_read_memory(jpeg, size - 2, NULL, &img), INRF_E_IMAGE);
    assert_non_null(strstr(inrf_last_error(), "truncated"));
    free(jpeg);

    static uint8_t grey[W * H];
    fill_random(grey, sizeof grey);
    jpeg = make_jpeg(grey, W, H, TJPF_GRAY, TJSAMP_GRAY, 75, &size);
    expect_truncations_fail(jpeg, size);
    free(jpeg);
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void png_chunk(byte_buf *b, const char *type, const uint8_t *data, uint32_t n)
{
    uint8_t head[8], crc[4];
    put32be(head, n);
    memcpy(head + 4, type, 4);
    buf_append(b, head, 8);
    buf_append(b, data, n);
    uint8_t *typed = b->data + b->size - n - 4;
    put32be(crc, crc32_png(typed, n + 4));
    buf_append(b, crc, 4);
}

/* A well-formed PNG header claiming width x height RGB, with a token IDAT. */
static uint8_t *png_claiming(uint32_t width, uint32_t height, size_t *size)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    static const uint8_t idat[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    byte_buf b = {0};
    buf_append(&b, sig, 8);
    uint8_t ihdr[13] = {0};
    put32be(ihdr, width);
    put32be(ihdr + 4, height);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    png_chunk(&b, "IHDR", ihdr, 13);
    png_chunk(&b, "IDAT", idat, sizeof idat);
    png_chunk(&b, "IEND", NULL, 0);
    *size = b.size;
    return b.data;
}

static void test_limits(void **state)
{
    (void)state;
    inrf_image img;
    size_t size;
    /* 10^10 pixels: refused from the header, long before 30 GB are asked for. */
    uint8_t *png = png_claiming(100000, 100000, &size);
    clock_t t0 = clock();
    assert_int_equal(inrf_image_read_memory(png, size, NULL, &img), INRF_E_LIMIT);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
    assert_null(img.pixels);
    assert_non_null(strstr(inrf_last_error(), "max_pixels"));
    free(png);
    /* The largest size PNG allows; width * height does not overflow the check. */
    png = png_claiming(0x7fffffffu, 0x7fffffffu, &size);
    assert_int_equal(inrf_image_read_memory(png, size, NULL, &img), INRF_E_LIMIT);
    free(png);
    /* Width 0 breaks the PNG spec. */
    png = png_claiming(0, 5, &size);
    assert_int_equal(inrf_image_read_memory(png, size, NULL, &img), INRF_E_IMAGE);
    assert_error_message();
    free(png);

    /* The limit is inclusive: 16 x 16 passes max_pixels 256, not 255. */
    inrf_image src;
    assert_int_equal(inrf_image_alloc(&src, 16, 16, 3), INRF_OK);
    make_pattern(src.pixels, 16, 16);
    inrf_image_read_options opt;
    inrf_image_read_options_init(&opt);
    assert_true(opt.max_pixels == (uint64_t)1 << 28);
    assert_true(opt.max_file_bytes == (size_t)1 << 30);
    assert_int_equal(opt.keep_grey, 0);
    for (int f = INRF_IMAGE_PNG; f <= INRF_IMAGE_JPEG; f++) {
        void *data;
        assert_int_equal(inrf_image_write_memory(&src, (inrf_image_format)f, 90, &data, &size),
                         INRF_OK);
        opt.max_pixels = 256;
        assert_int_equal(inrf_image_read_memory(data, size, &opt, &img), INRF_OK);
        inrf_image_free(&img);
        opt.max_pixels = 255;
        assert_int_equal(inrf_image_read_memory(data, size, &opt, &img), INRF_E_LIMIT);
        assert_null(img.pixels);
        opt.max_pixels = (uint64_t)1 << 28;
        opt.max_file_bytes = size;
        assert_int_equal(inrf_image_read_memory(data, size, &opt, &img), INRF_OK);
        inrf_image_free(&img);
        opt.max_file_bytes = size - 1;
        assert_int_equal(inrf_image_read_memory(data, size, &opt, &img), INRF_E_LIMIT);
        opt.max_file_bytes = (size_t)1 << 30;

        /* A JPEG whose frame header claims 60000 x 60000. */
        if (f == INRF_IMAGE_JPEG) {
            uint8_t *jpeg = data;
            size_t sof = 0;
            for (size_t i = 2; i + 9 < size; i++)
                if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {
                    sof = i;
                    break;
                }
            assert_true(sof > 0);
            jpeg[sof + 5] = 60000 >> 8; /* height */
            jpeg[sof + 6] = 60000 & 0xff;
            jpeg[sof + 7] = 60000 >> 8; /* width */
            jpeg[sof + 8] = 60000 & 0xff;
            assert_int_equal(inrf_image_read_memory(data, size, NULL, &img), INRF_E_LIMIT);
            assert_null(img.pixels);
        }
        free(data);
    }
    inrf_image_free(&src);
}

/* Chunks other than IHDR, PLTE, tRNS, IDAT and IEND do not change the
 * pixels and are skipped unread: a tiny file whose tEXt chunk claims 1 GiB
 * is refused as truncated without libpng allocating (and zeroing) the
 * gigabyte first, which the fuzz harness found. Measured in a child by its
 * peak resident memory. */
static void test_png_ancillary_chunks(void **state)
{
    (void)state;
    inrf_image src, plain, extra;
    assert_int_equal(inrf_image_alloc(&src, 5, 3, 3), INRF_OK);
    fill_random(src.pixels, 5 * 3 * 3);
    void *data;
    size_t size;
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNG, 0, &data, &size), INRF_OK);
    const uint8_t *p = data;
    size_t after_ihdr = 8 + 12 + 13;
    assert_memory_equal(p + 12, "IHDR", 4);

    /* text, gamma, a broken ICC profile and a private chunk: same pixels */
    static const uint8_t gama[4] = {0, 0, 0xb1, 0x8f}, icc[12] = "x\0\0garbage!";
    byte_buf b = {0};
    buf_append(&b, p, after_ihdr);
    png_chunk(&b, "tEXt", (const uint8_t *)"Comment\0hello", 13);
    png_chunk(&b, "gAMA", gama, 4);
    png_chunk(&b, "iCCP", icc, sizeof icc);
    png_chunk(&b, "prIv", (const uint8_t *)"private", 7);
    buf_append(&b, p + after_ihdr, size - after_ihdr);
    assert_int_equal(read_opt(data, size, 0, &plain), INRF_OK);
    assert_int_equal(read_opt(b.data, b.size, 0, &extra), INRF_OK);
    assert_memory_equal(plain.pixels, src.pixels, 5 * 3 * 3);
    assert_memory_equal(extra.pixels, src.pixels, 5 * 3 * 3);
    inrf_image_free(&plain);
    inrf_image_free(&extra);

    /* a tEXt chunk that claims 1 GiB, then the file ends */
    b.size = after_ihdr;
    uint8_t head[8];
    put32be(head, 1u << 30);
    memcpy(head + 4, "tEXt", 4);
    buf_append(&b, head, 8);
    buf_append(&b, "Comment\0hello", 13);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        inrf_image img;
        inrf_status st = read_opt(b.data, b.size, 0, &img);
        getrusage(RUSAGE_SELF, &after);
        long grew_kib = after.ru_maxrss - before.ru_maxrss;
        if (st != INRF_E_IMAGE || !strstr(inrf_last_error(), "truncated"))
            _exit(2);
        _exit(grew_kib < 256 * 1024 ? 0 : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        fail_msg("a 1 GiB tEXt claim in a %zu-byte file raised the peak memory by 256 MiB or more",
                 b.size);
    assert_int_equal(WEXITSTATUS(status), 0);
    free(b.data);
    free(data);
    inrf_image_free(&src);
}

static void test_not_an_image(void **state)
{
    (void)state;
    inrf_image img;
    assert_int_equal(inrf_image_read_memory("", 0, NULL, &img), INRF_E_IMAGE);
    assert_error_message();
    assert_int_equal(inrf_image_read_memory(NULL, 0, NULL, &img), INRF_E_IMAGE);
    assert_int_equal(inrf_image_read_memory("GIF89a", 6, NULL, &img), INRF_E_IMAGE);
    assert_non_null(strstr(inrf_last_error(), "not a PNG or JPEG file"));

    uint8_t buf[4096];
    for (int t = 0; t < 200; t++) {
        size_t n = 1 + rng() % sizeof buf;
        fill_random(buf, n);
        if (buf[0] == 0x89 || buf[0] == 0xff)
            buf[0] = 0;
        assert_int_equal(inrf_image_read_memory(buf, n, NULL, &img), INRF_E_IMAGE);
        assert_non_null(strstr(inrf_last_error(), "not a PNG or JPEG file"));
    }
    /* Right signatures, random bodies: refused, never a crash. */
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    for (int t = 0; t < 200; t++) {
        size_t n = 16 + rng() % (sizeof buf - 16);
        fill_random(buf, n);
        if (t % 2)
            memcpy(buf, png_sig, 8);
        else
            memcpy(buf, "\xff\xd8\xff", 3);
        assert_int_equal(inrf_image_read_memory(buf, n, NULL, &img), INRF_E_IMAGE);
        assert_error_message();
        assert_null(img.pixels);
    }
}

/* Every single-bit error in a PNG of critical chunks only is caught: by the
 * signature, by zlib, or at the latest by the chunk's CRC. */
static void test_corrupt_png(void **state)
{
    (void)state;
    inrf_image src, img;
    assert_int_equal(inrf_image_alloc(&src, 20, 10, 3), INRF_OK);
    fill_random(src.pixels, 20 * 10 * 3);
    void *data;
    size_t size;
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNG, 0, &data, &size), INRF_OK);
    uint8_t *p = data;
    for (size_t i = 0; i < size; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        p[i] ^= bit;
        inrf_status st = inrf_image_read_memory(data, size, NULL, &img);
        if (st != INRF_E_IMAGE)
            fail_msg("bit %u of byte %zu flipped: status %d", (unsigned)(i % 8), i, (int)st);
        assert_error_message();
        assert_null(img.pixels);
        p[i] ^= bit;
    }
    /* A damaged checksum alone is reported as such. */
    size_t idat = 0;
    for (size_t i = 8; i + 4 < size; i++)
        if (memcmp(p + i, "IDAT", 4) == 0) {
            idat = i;
            break;
        }
    assert_true(idat > 0);
    uint32_t len = (uint32_t)p[idat - 4] << 24 | (uint32_t)p[idat - 3] << 16 |
                   (uint32_t)p[idat - 2] << 8 | p[idat - 1];
    p[idat + 4 + len] ^= 0x01;
    assert_int_equal(inrf_image_read_memory(data, size, NULL, &img), INRF_E_IMAGE);
    assert_string_equal(inrf_last_error(), "PNG: IDAT: CRC error");
    free(data);
    inrf_image_free(&src);
}

/* JPEG has no checksum, so damage may go unseen; it must never crash
 * (run under ASan/UBSan) and a failure must leave no image behind. */
static void test_corrupt_jpeg(void **state)
{
    (void)state;
    enum { W = 24, H = 16 };
    static uint8_t src[W * H * 3];
    make_pattern(src, W, H);
    size_t size;
    uint8_t *jpeg = make_jpeg(src, W, H, TJPF_RGB, TJSAMP_420, 80, &size);
    size_t failed = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        jpeg[i] ^= bit;
        inrf_image img = {.pixels = (uint8_t *)1};
        inrf_status st = inrf_image_read_memory(jpeg, size, NULL, &img);
        if (st == INRF_OK) {
            assert_int_equal(img.channels, 3);
            inrf_image_free(&img);
        } else {
            assert_int_equal(st, INRF_E_IMAGE);
            assert_error_message();
            assert_null(img.pixels);
            failed++;
        }
        jpeg[i] ^= bit;
    }
    /* Damage to markers and tables at least is found. */
    assert_true(failed > 0);
    free(jpeg);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    inrf_image src, img;
    assert_int_equal(inrf_image_alloc(&src, 8, 8, 3), INRF_OK);
    make_pattern(src.pixels, 8, 8);
    void *data = (void *)1;
    size_t size = 1;
    static const int bad_quality[] = {0, -1, 101, 1000};
    for (size_t i = 0; i < sizeof bad_quality / sizeof bad_quality[0]; i++) {
        assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_JPEG, bad_quality[i], &data,
                                                 &size), INRF_E_INVALID_ARG);
        assert_null(data);
        assert_int_equal(size, 0);
    }
    /* quality is ignored for PNG. */
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNG, 0, &data, &size), INRF_OK);
    free(data);
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_JPEG, 1, &data, &size), INRF_OK);
    free(data);
    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_UNKNOWN, 90, &data, &size),
                     INRF_E_INVALID_ARG);
    assert_int_equal(inrf_image_write_memory(&src, (inrf_image_format)7, 90, &data, &size),
                     INRF_E_INVALID_ARG);
    inrf_image two = src;
    two.channels = 2;
    assert_int_equal(inrf_image_write_memory(&two, INRF_IMAGE_PNG, 90, &data, &size),
                     INRF_E_INVALID_ARG);
    two = src;
    two.pixels = NULL;
    assert_int_equal(inrf_image_write_memory(&two, INRF_IMAGE_PNG, 90, &data, &size),
                     INRF_E_INVALID_ARG);
    assert_int_equal(inrf_image_write_memory(NULL, INRF_IMAGE_PNG, 90, &data, &size),
                     INRF_E_INVALID_ARG);

    assert_int_equal(inrf_image_write_memory(&src, INRF_IMAGE_PNG, 0, &data, &size), INRF_OK);
    assert_int_equal(inrf_image_read_memory(data, size, NULL, NULL), INRF_E_INVALID_ARG);
    assert_int_equal(inrf_image_read_memory(NULL, size, NULL, &img), INRF_E_INVALID_ARG);
    /* Options not set up by the init function are refused. */
    inrf_image_read_options opt;
    memset(&opt, 0, sizeof opt);
    assert_int_equal(inrf_image_read_memory(data, size, &opt, &img), INRF_E_INVALID_ARG);
    free(data);
    inrf_image_free(&src);
}

/* ---------------------------------------------------------------- files */

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_files(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/test_image.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));

    inrf_image src, img;
    assert_int_equal(inrf_image_alloc(&src, 29, 13, 3), INRF_OK);
    fill_random(src.pixels, 29 * 13 * 3);

    /* PNG, exact. */
    snprintf(path, sizeof path, "%s/a.png", dir);
    assert_int_equal(inrf_image_write_file(&src, path, INRF_IMAGE_PNG, 0), INRF_OK);
    assert_int_equal(inrf_image_read_file(path, NULL, &img), INRF_OK);
    assert_memory_equal(img.pixels, src.pixels, 29 * 13 * 3);
    inrf_image_free(&img);
    assert_int_equal(unlink(path), 0);

    /* The format follows the name when none is given. */
    snprintf(path, sizeof path, "%s/b.JPG", dir);
    assert_int_equal(inrf_image_write_file(&src, path, INRF_IMAGE_UNKNOWN, 95), INRF_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t head[3];
    assert_int_equal(fread(head, 1, 3, f), 3);
    fclose(f);
    assert_int_equal(inrf_image_sniff(head, 3), INRF_IMAGE_JPEG);
    assert_int_equal(inrf_image_read_file(path, NULL, &img), INRF_OK);
    assert_int_equal(img.channels, 3);
    inrf_image_free(&img);
    assert_int_equal(unlink(path), 0);

    /* The reader never trusts the name: PNG bytes in a .jpg file. */
    snprintf(path, sizeof path, "%s/c.jpg", dir);
    assert_int_equal(inrf_image_write_file(&src, path, INRF_IMAGE_PNG, 0), INRF_OK);
    assert_int_equal(inrf_image_read_file(path, NULL, &img), INRF_OK);
    assert_memory_equal(img.pixels, src.pixels, 29 * 13 * 3);
    inrf_image_free(&img);
    /* Reader limits apply to files too. */
    inrf_image_read_options opt;
    inrf_image_read_options_init(&opt);
    opt.max_pixels = 100;
    assert_int_equal(inrf_image_read_file(path, &opt, &img), INRF_E_LIMIT);
    inrf_image_read_options_init(&opt);
    opt.max_file_bytes = 10;
    assert_int_equal(inrf_image_read_file(path, &opt, &img), INRF_E_LIMIT);
    assert_null(img.pixels);
    assert_int_equal(unlink(path), 0);

    /* An empty file is no image. */
    snprintf(path, sizeof path, "%s/empty.png", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(inrf_image_read_file(path, NULL, &img), INRF_E_IMAGE);
    assert_error_message();
    assert_int_equal(unlink(path), 0);

    snprintf(path, sizeof path, "%s/d.gif", dir);
    assert_int_equal(inrf_image_write_file(&src, path, INRF_IMAGE_UNKNOWN, 90),
                     INRF_E_INVALID_ARG);

    /* A folder that does not exist: an error and nothing left behind. */
    snprintf(path, sizeof path, "%s/missing/e.png", dir);
    assert_int_not_equal(inrf_image_write_file(&src, path, INRF_IMAGE_PNG, 0), INRF_OK);
    assert_true(strlen(inrf_last_error()) > 0);
    struct stat st;
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(count_entries(dir), 0);

    snprintf(path, sizeof path, "%s/absent.png", dir);
    assert_int_not_equal(inrf_image_read_file(path, NULL, &img), INRF_OK);
    assert_null(img.pixels);
    assert_true(strlen(inrf_last_error()) > 0);

    assert_int_equal(rmdir(dir), 0);
    inrf_image_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff_and_names),
        cmocka_unit_test(test_alloc_free),
        cmocka_unit_test(test_png_rgb8_roundtrip),
        cmocka_unit_test(test_png_grey8),
        cmocka_unit_test(test_png_grey_alpha8),
        cmocka_unit_test(test_png_rgba8),
        cmocka_unit_test(test_png_16bit),
        cmocka_unit_test(test_png_palette_trns),
        cmocka_unit_test(test_png_rgb_colour_key),
        cmocka_unit_test(test_png_low_bit_grey),
        cmocka_unit_test(test_png_interlaced),
        cmocka_unit_test(test_jpeg_rgb),
        cmocka_unit_test(test_jpeg_write),
        cmocka_unit_test(test_jpeg_grey),
        cmocka_unit_test(test_jpeg_cmyk),
        cmocka_unit_test(test_truncated_png),
        cmocka_unit_test(test_truncated_jpeg),
        cmocka_unit_test(test_pnm_sniff_and_names),
        cmocka_unit_test(test_pnm_roundtrip),
        cmocka_unit_test(test_pnm_maxval),
        cmocka_unit_test(test_pnm_hostile),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_png_ancillary_chunks),
        cmocka_unit_test(test_not_an_image),
        cmocka_unit_test(test_corrupt_png),
        cmocka_unit_test(test_corrupt_jpeg),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
