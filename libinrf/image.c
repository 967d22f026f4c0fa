/* image.c: 8-bit image buffers and PNG/JPEG/PNM reading and writing, through
 * libpng's classic API, TurboJPEG and a small PNM parser; every setjmp stays
 * in this file. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#ifdef INRF_IMAGE_IO
#include <png.h>
#include <turbojpeg.h>
#endif

#include "internal.h"

#define DEFAULT_MAX_PIXELS ((uint64_t)1 << 28)
#define DEFAULT_MAX_FILE_BYTES ((size_t)1 << 30)
/* libjpeg's JPEG_MAX_DIMENSION: larger images cannot be coded. */
#define JPEG_MAX_SIDE 65500u

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
static const uint8_t jpeg_signature[3] = {0xff, 0xd8, 0xff};

static int is_pnm_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* ------------------------------------------------------------- buffers */

inrf_status inrf_image_alloc(inrf_image *img, uint32_t width, uint32_t height, uint8_t channels)
{
    if (img == NULL)
        return inrf_fail(INRF_E_INVALID_ARG, "inrf_image_alloc: img is NULL");
    memset(img, 0, sizeof *img);
    if (channels != 1 && channels != 3)
        return inrf_fail(INRF_E_INVALID_ARG, "image: %u channels (must be 1 or 3)", channels);
    if (width == 0 || height == 0)
        return inrf_fail(INRF_E_INVALID_ARG, "image: empty size %" PRIu32 " x %" PRIu32, width,
                         height);
    size_t row, bytes;
    if (!inrf_mul_ok(width, channels, &row) || !inrf_mul_ok(row, height, &bytes))
        return inrf_fail(INRF_E_NOMEM, "image: %" PRIu32 " x %" PRIu32 " x %u bytes overflow size_t",
                         width, height, channels);
    /* More than any machine holds (a file may claim 2^24 x 2^24 pixels):
     * refused rather than asked of malloc, whose sanitizer versions abort
     * above 2^40 bytes instead of returning NULL. */
    if ((uint64_t)bytes > INRF_IMAGE_MAX_BYTES)
        return inrf_fail(INRF_E_LIMIT, "image: %" PRIu32 " x %" PRIu32 " x %u bytes exceed 2^40",
                         width, height, channels);
    img->pixels = malloc(bytes);
    if (img->pixels == NULL)
        return inrf_fail(INRF_E_NOMEM, "image: cannot allocate %zu bytes", bytes);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return INRF_OK;
}

void inrf_image_free(inrf_image *img)
{
    if (img == NULL)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* ------------------------------------------------------------ formats */

inrf_image_format inrf_image_sniff(const void *data, size_t size)
{
    if (data == NULL)
        return INRF_IMAGE_UNKNOWN;
    if (size >= sizeof png_signature && memcmp(data, png_signature, sizeof png_signature) == 0)
        return INRF_IMAGE_PNG;
    if (size >= sizeof jpeg_signature && memcmp(data, jpeg_signature, sizeof jpeg_signature) == 0)
        return INRF_IMAGE_JPEG;
    /* Netpbm: 'P', a digit 1..7, then whitespace. P1..P4 and P7 are found
     * so that the reader can say which format it refuses. */
    const uint8_t *d = data;
    if (size >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && is_pnm_space(d[2]))
        return INRF_IMAGE_PNM;
    return INRF_IMAGE_UNKNOWN;
}

inrf_image_format inrf_image_format_from_name(const char *path)
{
    if (path == NULL)
        return INRF_IMAGE_UNKNOWN;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    /* ".png" alone is a hidden file's name, not an extension. */
    if (dot == NULL || dot == base)
        return INRF_IMAGE_UNKNOWN;
    const char *ext = dot + 1;
    if (strcasecmp(ext, "png") == 0)
        return INRF_IMAGE_PNG;
    if (strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0 || strcasecmp(ext, "jpe") == 0)
        return INRF_IMAGE_JPEG;
    if (strcasecmp(ext, "ppm") == 0 || strcasecmp(ext, "pgm") == 0 || strcasecmp(ext, "pnm") == 0)
        return INRF_IMAGE_PNM;
    return INRF_IMAGE_UNKNOWN;
}

void inrf_image_read_options_init_(inrf_image_read_options *opt, int abi)
{
    if (opt == NULL)
        return;
    if (!inrf_abi_init_ok(abi)) {
        opt->abi = abi; /* another layout: nothing else is written */
        return;
    }
    memset(opt, 0, sizeof *opt);
    opt->abi = abi;
    opt->max_pixels = DEFAULT_MAX_PIXELS;
    opt->max_file_bytes = DEFAULT_MAX_FILE_BYTES;
    opt->keep_grey = 0;
}

/* The reader limit on width * height, without overflow (QOI style). */
static inrf_status check_pixels(const char *what, uint32_t width, uint32_t height,
                                const inrf_image_read_options *opt)
{
    if (width == 0 || height == 0)
        return inrf_fail(INRF_E_IMAGE, "%s: empty image (%" PRIu32 " x %" PRIu32 ")", what, width,
                         height);
    if ((uint64_t)height > opt->max_pixels / width)
        return inrf_fail(INRF_E_LIMIT,
                         "%s: %" PRIu32 " x %" PRIu32 " pixels exceeds max_pixels (%" PRIu64 ")",
                         what, width, height, opt->max_pixels);
    return INRF_OK;
}

#ifdef INRF_IMAGE_IO
/* ------------------------------------------------- sample conversions */

static inline uint8_t scale16(unsigned v) { return (uint8_t)((v * 255u + 32767u) / 65535u); }

/* v * a / 255 rounded to nearest: a SIREN codes colour only, so
 * transparency becomes black (image.h). */
static inline uint8_t over_black(unsigned v, unsigned a) { return (uint8_t)((v * a + 127u) / 255u); }

static inline uint8_t sample8(const uint8_t *p, unsigned depth, unsigned i)
{
    return depth == 16 ? scale16((unsigned)p[2 * i] << 8 | p[2 * i + 1]) : p[i];
}

/* One row after libpng's expansion (8- or 16-bit grey, grey+alpha, RGB or
 * RGBA, big-endian 16-bit) to out_ch (1 or 3) 8-bit samples. Samples are
 * scaled to 8 bits first, then composited. */
static void png_convert_row(const uint8_t *src, unsigned depth, unsigned in_ch, uint8_t *dst,
                            unsigned out_ch, uint32_t width)
{
    unsigned colour = in_ch >= 3 ? 3 : 1;
    int alpha = in_ch == 2 || in_ch == 4;
    size_t step = (size_t)in_ch * (depth / 8);
    for (uint32_t x = 0; x < width; x++, src += step) {
        uint8_t c[3];
        for (unsigned k = 0; k < colour; k++)
            c[k] = sample8(src, depth, k);
        if (alpha) {
            unsigned a = sample8(src, depth, colour);
            for (unsigned k = 0; k < colour; k++)
                c[k] = over_black(c[k], a);
        }
        if (colour == 1)
            c[1] = c[2] = c[0];
        for (unsigned k = 0; k < out_ch; k++)
            *dst++ = c[k];
    }
}

/* -------------------------------------------------------- PNG reading */

typedef struct png_reader {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, pos;
    const inrf_image_read_options *opt;
    inrf_image img;    /* the result, owned until handed to the caller */
    uint8_t *rows;     /* one decoded row, or the whole image if interlaced */
    char msg[200];     /* libpng's error text */
    char warning[200]; /* its last warning, kept for debugging, never printed */
} png_reader;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->warning, sizeof r->warning, "%s", msg);
}

static void png_read_from_memory(png_structp png, png_bytep out, size_t n)
{
    png_reader *r = png_get_io_ptr(png);
    if (n > r->size - r->pos)
        png_error(png, "unexpected end of data (truncated file)");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

/* Everything that may longjmp happens here; r lives in the caller's frame,
 * so its contents stay valid after a longjmp. */
static inrf_status png_decode(png_reader *r)
{
    if (setjmp(png_jmpbuf(r->png)))
        return inrf_fail(INRF_E_IMAGE, "PNG: %s", r->msg);

    png_read_info(r->png, r->info);
    png_uint_32 width, height;
    int depth, colour_type, interlace;
    png_get_IHDR(r->png, r->info, &width, &height, &depth, &colour_type, &interlace, NULL, NULL);
    inrf_status st = check_pixels("PNG", width, height, r->opt);
    if (st != INRF_OK)
        return st;

    /* Palette to RGB, grey below 8 bits to 8 bits, tRNS to an alpha channel. */
    png_set_expand(r->png);
    int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);
    unsigned in_ch = png_get_channels(r->png, r->info);
    unsigned bits = png_get_bit_depth(r->png, r->info);
    size_t rowbytes = png_get_rowbytes(r->png, r->info);
    if ((bits != 8 && bits != 16) || in_ch < 1 || in_ch > 4)
        return inrf_fail(INRF_E_IMAGE, "PNG: unexpected layout after expansion (%u x %u-bit)",
                         in_ch, bits);
    unsigned out_ch = in_ch >= 3 || !r->opt->keep_grey ? 3 : 1;

    st = inrf_image_alloc(&r->img, width, height, (uint8_t)out_ch);
    if (st != INRF_OK)
        return st;
    size_t buffered = passes > 1 ? height : 1, bytes;
    if (!inrf_mul_ok(rowbytes, buffered, &bytes) || (r->rows = malloc(bytes)) == NULL)
        return inrf_fail(INRF_E_NOMEM, "PNG: cannot allocate %zu rows of %zu bytes", buffered,
                         rowbytes);

    size_t out_stride = (size_t)width * out_ch;
    if (passes > 1) {
        /* Adam7: each pass fills in pixels of rows read before. */
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < height; y++)
                png_read_row(r->png, r->rows + y * rowbytes, NULL);
        for (png_uint_32 y = 0; y < height; y++)
            png_convert_row(r->rows + y * rowbytes, bits, in_ch, r->img.pixels + y * out_stride,
                            out_ch, width);
    } else {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(r->png, r->rows, NULL);
            png_convert_row(r->rows, bits, in_ch, r->img.pixels + y * out_stride, out_ch, width);
        }
    }
    /* Reads up to IEND, so that a file cut after its last IDAT and CRC
     * errors in the trailing chunks are found too. */
    png_read_end(r->png, NULL);
    return INRF_OK;
}

static inrf_status png_read_memory(const uint8_t *data, size_t size,
                                   const inrf_image_read_options *opt, inrf_image *out)
{
    png_reader r;
    memset(&r, 0, sizeof r);
    r.data = data;
    r.size = size;
    r.opt = opt;
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, png_on_error, png_on_warning);
    if (r.png == NULL)
        return inrf_fail(INRF_E_NOMEM, "PNG: cannot create a reader");
    r.info = png_create_info_struct(r.png);
    inrf_status st;
    if (r.info == NULL) {
        st = inrf_fail(INRF_E_NOMEM, "PNG: cannot create a reader");
    } else {
        png_set_read_fn(r.png, &r, png_read_from_memory);
        /* Our max_pixels decides, not libpng's default of 10^6 per side. */
        png_set_user_limits(r.png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
        /* Only IHDR, PLTE, tRNS, IDAT and IEND shape the pixels: every other
         * chunk is skipped unread (CRC still checked), so that a text or ICC
         * chunk claiming 2 GiB in a tiny file is not first allocated (and
         * zeroed) by libpng. */
        png_set_keep_unknown_chunks(r.png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
        st = png_decode(&r);
    }
    png_destroy_read_struct(&r.png, r.info ? &r.info : NULL, NULL);
    free(r.rows);
    if (st != INRF_OK) {
        inrf_image_free(&r.img);
        return st;
    }
    *out = r.img;
    return INRF_OK;
}

/* ------------------------------------------------------- JPEG reading */

/* TurboJPEG reports corrupt and truncated data ("Premature end of JPEG
 * file") as warnings and fills the missing pixels with grey; a source image
 * with invented pixels is no use, so every warning fails the read. */
static inrf_status jpeg_error(tjhandle tj, const char *step)
{
    const char *text = tjGetErrorStr2(tj);
    if (tj != NULL && tjGetErrorCode(tj) == TJERR_WARNING)
        return inrf_fail(INRF_E_IMAGE, "JPEG: %s (corrupt or truncated data)", text);
    return inrf_fail(INRF_E_IMAGE, "JPEG: %s: %s", step, text);
}

/* Adobe CMYK as stored is inverted (255 = no ink), so each RGB value is
 * the stored C, M or Y scaled by the stored K. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++, cmyk += 4, rgb += 3) {
        unsigned k = cmyk[3];
        rgb[0] = over_black(cmyk[0], k);
        rgb[1] = over_black(cmyk[1], k);
        rgb[2] = over_black(cmyk[2], k);
    }
}

static inrf_status jpeg_decode(tjhandle tj, const uint8_t *data, size_t size,
                               const inrf_image_read_options *opt, inrf_image *img,
                               uint8_t **cmyk)
{
    if (size > (unsigned long)-1)
        return inrf_fail(INRF_E_LIMIT, "JPEG: %zu bytes is too large for TurboJPEG", size);
    /* A tables-only stream (or one cut after its tables) succeeds without
     * setting the size, hence the zeros. */
    int width = 0, height = 0, subsamp = -1, colourspace = -1;
    if (tjDecompressHeader3(tj, data, (unsigned long)size, &width, &height, &subsamp,
                            &colourspace) != 0)
        return jpeg_error(tj, "header");
    if (width <= 0 || height <= 0)
        return inrf_fail(INRF_E_IMAGE, "JPEG: no frame header (truncated, or tables only)");
    inrf_status st = check_pixels("JPEG", (uint32_t)width, (uint32_t)height, opt);
    if (st != INRF_OK)
        return st;

    int grey = colourspace == TJCS_GRAY;
    int inverted = colourspace == TJCS_CMYK || colourspace == TJCS_YCCK;
    uint8_t channels = grey && opt->keep_grey ? 1 : 3;
    st = inrf_image_alloc(img, (uint32_t)width, (uint32_t)height, channels);
    if (st != INRF_OK)
        return st;

    size_t pixels = (size_t)width * (size_t)height;
    uint8_t *dst = img->pixels;
    int format = channels == 1 ? TJPF_GRAY : TJPF_RGB;
    if (inverted) {
        size_t bytes;
        if (!inrf_mul_ok(pixels, 4, &bytes) || (*cmyk = malloc(bytes)) == NULL)
            return inrf_fail(INRF_E_NOMEM, "JPEG: cannot allocate a CMYK buffer");
        dst = *cmyk;
        format = TJPF_CMYK;
    }
    /* Greyscale to TJPF_RGB is replication inside libjpeg-turbo. */
    if (tjDecompress2(tj, data, (unsigned long)size, dst, width, 0, height, format,
                      TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING) != 0)
        return jpeg_error(tj, "decompress");
    if (inverted)
        cmyk_to_rgb(*cmyk, img->pixels, pixels);
    return INRF_OK;
}

static inrf_status jpeg_read_memory(const uint8_t *data, size_t size,
                                    const inrf_image_read_options *opt, inrf_image *out)
{
    tjhandle tj = tjInitDecompress();
    if (tj == NULL)
        return inrf_fail(INRF_E_NOMEM, "JPEG: cannot create a decompressor: %s",
                         tjGetErrorStr2(NULL));
    inrf_image img;
    memset(&img, 0, sizeof img);
    uint8_t *cmyk = NULL;
    inrf_status st = jpeg_decode(tj, data, size, opt, &img, &cmyk);
    free(cmyk);
    tjDestroy(tj);
    if (st != INRF_OK) {
        inrf_image_free(&img);
        return st;
    }
    *out = img;
    return INRF_OK;
}

#else /* !INRF_IMAGE_IO */

/* Built --without-image-io: PNG and JPEG are refused, PNM stays. */
static inrf_status no_image_io(const char *format)
{
    return inrf_fail(INRF_E_UNSUPPORTED,
                     "%s: this libinrf was built without PNG and JPEG (configure "
                     "--without-image-io); only PNM (P5, P6) is read and written",
                     format);
}

static inrf_status png_read_memory(const uint8_t *data, size_t size,
                                   const inrf_image_read_options *opt, inrf_image *out)
{
    (void)data, (void)size, (void)opt, (void)out;
    return no_image_io("PNG");
}

static inrf_status jpeg_read_memory(const uint8_t *data, size_t size,
                                    const inrf_image_read_options *opt, inrf_image *out)
{
    (void)data, (void)size, (void)opt, (void)out;
    return no_image_io("JPEG");
}
#endif /* INRF_IMAGE_IO */

/* -------------------------------------------------------- PNM reading */

/* Netpbm's binary formats (netpbm.sourceforge.net/doc/ppm.html, pgm.html):
 * "P6" or "P5", whitespace, width, height, maxval (decimal, separated by
 * whitespace, with '#' comments to the end of a line before the maxval),
 * exactly one whitespace byte, then width * height * channels samples of
 * one byte (maxval < 256) or two big-endian bytes (maxval 256..65535).
 * Only the first image of a multi-image stream is read. */
typedef struct pnm_cursor {
    const uint8_t *d;
    size_t size, pos;
} pnm_cursor;

/* Skips whitespace and comments; 0 when the data ends. */
static int pnm_skip(pnm_cursor *c)
{
    while (c->pos < c->size) {
        uint8_t b = c->d[c->pos];
        if (b == '#') {
            while (c->pos < c->size && c->d[c->pos] != '\n' && c->d[c->pos] != '\r')
                c->pos++;
        } else if (is_pnm_space(b)) {
            c->pos++;
        } else {
            return 1;
        }
    }
    return 0;
}

/* One header field, a decimal number in 1..max. */
static inrf_status pnm_field(pnm_cursor *c, const char *name, uint32_t max, uint32_t *out)
{
    if (!pnm_skip(c))
        return inrf_fail(INRF_E_IMAGE, "PNM: header cut short before the %s", name);
    uint64_t v = 0;
    size_t start = c->pos;
    while (c->pos < c->size && c->d[c->pos] >= '0' && c->d[c->pos] <= '9') {
        v = v * 10 + (uint64_t)(c->d[c->pos++] - '0');
        if (v > max)
            return inrf_fail(INRF_E_IMAGE, "PNM: %s is larger than %" PRIu32, name, max);
    }
    if (c->pos == start)
        return inrf_fail(INRF_E_IMAGE, "PNM: %s is not a number", name);
    if (c->pos < c->size && !is_pnm_space(c->d[c->pos]) && c->d[c->pos] != '#')
        return inrf_fail(INRF_E_IMAGE, "PNM: %s is not a number", name);
    if (v == 0)
        return inrf_fail(INRF_E_IMAGE, "PNM: %s is 0", name);
    *out = (uint32_t)v;
    return INRF_OK;
}

static inrf_status pnm_read_memory(const uint8_t *data, size_t size,
                                   const inrf_image_read_options *opt, inrf_image *out)
{
    char type = (char)data[1];
    if (type == '1' || type == '2' || type == '3' || type == '4')
        return inrf_fail(INRF_E_IMAGE, "PNM: P%c (%s) is not supported; only binary P5 "
                         "(PGM) and P6 (PPM)", type, type == '4' ? "binary bitmap" : "plain text");
    if (type == '7')
        return inrf_fail(INRF_E_IMAGE, "PNM: P7 (PAM) is not supported; only binary P5 (PGM) "
                         "and P6 (PPM)");
    unsigned in_ch = type == '6' ? 3 : 1;
    pnm_cursor c = {data, size, 2};
    uint32_t width, height, maxval;
    inrf_status st = pnm_field(&c, "width", UINT32_MAX, &width);
    if (st == INRF_OK)
        st = pnm_field(&c, "height", UINT32_MAX, &height);
    if (st == INRF_OK)
        st = pnm_field(&c, "maxval", 65535, &maxval);
    if (st != INRF_OK)
        return st;
    if (c.pos >= size)
        return inrf_fail(INRF_E_IMAGE, "PNM: data cut short after the header");
    if (!is_pnm_space(data[c.pos]))
        return inrf_fail(INRF_E_IMAGE, "PNM: no whitespace after the maxval");
    c.pos++; /* the one whitespace byte after maxval */
    st = check_pixels("PNM", width, height, opt);
    if (st != INRF_OK)
        return st;
    unsigned bps = maxval < 256 ? 1 : 2;
    /* within max_pixels (<= 2^64 / 6 is not assumed: checked) */
    uint64_t pixels = (uint64_t)width * height, need;
    if (pixels > UINT64_MAX / (in_ch * bps))
        return inrf_fail(INRF_E_LIMIT, "PNM: %" PRIu32 " x %" PRIu32 " is too large", width,
                         height);
    need = pixels * in_ch * bps;
    if (need > size - c.pos)
        return inrf_fail(INRF_E_IMAGE, "PNM: data cut short (%" PRIu64 " bytes of samples, "
                         "%zu present)", need, size - c.pos);
    unsigned out_ch = in_ch == 3 || !opt->keep_grey ? 3 : 1;
    st = inrf_image_alloc(out, width, height, (uint8_t)out_ch);
    if (st != INRF_OK)
        return st;
    const uint8_t *p = data + c.pos;
    uint8_t *dst = out->pixels;
    for (uint64_t i = 0; i < pixels; i++) {
        uint8_t v[3];
        for (unsigned k = 0; k < in_ch; k++, p += bps) {
            unsigned s = bps == 2 ? (unsigned)p[0] << 8 | p[1] : p[0];
            if (s > maxval) {
                inrf_image_free(out);
                return inrf_fail(INRF_E_IMAGE, "PNM: sample %u exceeds maxval %" PRIu32, s,
                                 maxval);
            }
            /* to 8 bits, rounded (the identity for maxval 255) */
            v[k] = (uint8_t)((s * 255u + maxval / 2) / maxval);
        }
        if (in_ch == 1)
            v[1] = v[2] = v[0];
        for (unsigned k = 0; k < out_ch; k++)
            *dst++ = v[k];
    }
    return INRF_OK;
}

/* ------------------------------------------------------------ reading */

static inrf_status check_read_options(const inrf_image_read_options *opt)
{
    if (opt == NULL)
        return INRF_OK;
    return inrf_check_abi(opt->abi, opt->reserved_, INRF_RESERVED_COUNT(opt), "image read options",
                          "inrf_image_read_options_init");
}

inrf_status inrf_image_read_memory(const void *data, size_t size,
                                   const inrf_image_read_options *opt, inrf_image *out)
{
    if (out == NULL || (data == NULL && size != 0))
        return inrf_fail(INRF_E_INVALID_ARG, "inrf_image_read_memory: NULL argument");
    memset(out, 0, sizeof *out);
    inrf_status st = check_read_options(opt);
    if (st != INRF_OK)
        return st;
    inrf_image_read_options defaults;
    if (opt == NULL) {
        inrf_image_read_options_init(&defaults);
        opt = &defaults;
    }
    if (size > opt->max_file_bytes)
        return inrf_fail(INRF_E_LIMIT, "image: %zu bytes exceeds max_file_bytes (%zu)", size,
                         opt->max_file_bytes);
    if (size == 0)
        return inrf_fail(INRF_E_IMAGE, "image: empty input (not a PNG or JPEG file)");
    switch (inrf_image_sniff(data, size)) {
    case INRF_IMAGE_PNG:
        return png_read_memory(data, size, opt, out);
    case INRF_IMAGE_JPEG:
        return jpeg_read_memory(data, size, opt, out);
    case INRF_IMAGE_PNM:
        return pnm_read_memory(data, size, opt, out);
    default:
        return inrf_fail(INRF_E_IMAGE, "image: not a PNG or JPEG file (nor PNM)");
    }
}

/* inrf_image_read_memory's test of the signature, on the first bytes of a
 * pipe or device before it is read on (an empty file: the parser says). */
static inrf_status check_signature(const uint8_t *d, size_t n, const void *unused)
{
    (void)unused;
    if (n > 0 && inrf_image_sniff(d, n) == INRF_IMAGE_UNKNOWN)
        return inrf_fail(INRF_E_IMAGE, "image: not a PNG or JPEG file (nor PNM)");
    return INRF_OK;
}

inrf_status inrf_image_read_file(const char *path, const inrf_image_read_options *opt,
                                 inrf_image *out)
{
    if (path == NULL || out == NULL)
        return inrf_fail(INRF_E_INVALID_ARG, "inrf_image_read_file: NULL argument");
    memset(out, 0, sizeof *out);
    inrf_status st = check_read_options(opt);
    if (st != INRF_OK)
        return st;
    inrf_blob blob;
    const inrf_magic_check sig = {sizeof png_signature, check_signature, NULL};
    st = inrf_blob_open_checked(path, opt ? opt->max_file_bytes : DEFAULT_MAX_FILE_BYTES, &sig,
                                &blob);
    if (st != INRF_OK)
        return st;
    st = inrf_image_read_memory(blob.data, blob.size, opt, out);
    inrf_blob_close(&blob);
    return st;
}

#ifdef INRF_IMAGE_IO
/* -------------------------------------------------------- PNG writing */

typedef struct png_writer {
    png_structp png;
    png_infop info;
    uint8_t *data;
    size_t size, cap;
    int nomem;
    char msg[200];
} png_writer;

static void png_write_on_error(png_structp png, png_const_charp msg)
{
    png_writer *w = png_get_error_ptr(png);
    snprintf(w->msg, sizeof w->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_write_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_write_to_memory(png_structp png, png_bytep in, size_t n)
{
    png_writer *w = png_get_io_ptr(png);
    if (n > w->cap - w->size) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->size < n) {
            if (cap > SIZE_MAX / 2) {
                w->nomem = 1;
                png_error(png, "output too large");
            }
            cap *= 2;
        }
        uint8_t *grown = realloc(w->data, cap);
        if (grown == NULL) {
            w->nomem = 1;
            png_error(png, "out of memory");
        }
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->size, in, n);
    w->size += n;
}

static void png_flush_memory(png_structp png) { (void)png; }

static inrf_status png_encode(png_writer *w, const inrf_image *img)
{
    if (setjmp(png_jmpbuf(w->png)))
        return inrf_fail(w->nomem ? INRF_E_NOMEM : INRF_E_IMAGE, "PNG: %s", w->msg);
    png_set_write_fn(w->png, w, png_write_to_memory, png_flush_memory);
    /* libpng's default 10^6 pixels a side binds writers too. */
    png_set_user_limits(w->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_IHDR(w->png, w->info, img->width, img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    size_t stride = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++)
        png_write_row(w->png, img->pixels + y * stride);
    png_write_end(w->png, NULL);
    return INRF_OK;
}

static inrf_status png_write_memory(const inrf_image *img, void **data, size_t *size)
{
    png_writer w;
    memset(&w, 0, sizeof w);
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, png_write_on_error,
                                    png_write_on_warning);
    if (w.png == NULL)
        return inrf_fail(INRF_E_NOMEM, "PNG: cannot create a writer");
    w.info = png_create_info_struct(w.png);
    inrf_status st = w.info ? png_encode(&w, img)
                            : inrf_fail(INRF_E_NOMEM, "PNG: cannot create a writer");
    png_destroy_write_struct(&w.png, w.info ? &w.info : NULL);
    if (st != INRF_OK) {
        free(w.data);
        return st;
    }
    *data = w.data;
    *size = w.size;
    return INRF_OK;
}

/* ------------------------------------------------------- JPEG writing */

/* TurboJPEG 2.1 has no flag for optimised Huffman tables (only the
 * TJ_OPTIMIZE environment variable, which a library must not set), so the
 * standard tables are used. */
static inrf_status jpeg_write_memory(const inrf_image *img, int quality, void **data, size_t *size)
{
    if (img->width > JPEG_MAX_SIDE || img->height > JPEG_MAX_SIDE)
        return inrf_fail(INRF_E_IMAGE, "JPEG: %" PRIu32 " x %" PRIu32 " exceeds %u pixels a side",
                         img->width, img->height, JPEG_MAX_SIDE);
    tjhandle tj = tjInitCompress();
    if (tj == NULL)
        return inrf_fail(INRF_E_NOMEM, "JPEG: cannot create a compressor: %s",
                         tjGetErrorStr2(NULL));
    int grey = img->channels == 1;
    int subsamp = grey ? TJSAMP_GRAY : quality < 90 ? TJSAMP_420 : TJSAMP_444;
    unsigned char *jpeg = NULL;
    unsigned long jpeg_size = 0;
    inrf_status st = INRF_OK;
    if (tjCompress2(tj, img->pixels, (int)img->width, 0, (int)img->height,
                    grey ? TJPF_GRAY : TJPF_RGB, &jpeg, &jpeg_size, subsamp, quality,
                    TJFLAG_ACCURATEDCT) != 0) {
        st = inrf_fail(INRF_E_IMAGE, "JPEG: compress: %s", tjGetErrorStr2(tj));
    } else {
        /* Callers free() the result; TurboJPEG's buffer needs tjFree(). */
        *data = malloc(jpeg_size);
        if (*data == NULL)
            st = inrf_fail(INRF_E_NOMEM, "JPEG: cannot allocate %lu bytes", jpeg_size);
        else {
            memcpy(*data, jpeg, jpeg_size);
            *size = jpeg_size;
        }
    }
    tjFree(jpeg);
    tjDestroy(tj);
    return st;
}

#else /* !INRF_IMAGE_IO */

static inrf_status png_write_memory(const inrf_image *img, void **data, size_t *size)
{
    (void)img, (void)data, (void)size;
    return no_image_io("PNG");
}

static inrf_status jpeg_write_memory(const inrf_image *img, int quality, void **data, size_t *size)
{
    (void)img, (void)quality, (void)data, (void)size;
    return no_image_io("JPEG");
}
#endif /* INRF_IMAGE_IO */

/* -------------------------------------------------------- PNM writing */

/* P5 for one channel, P6 for three; maxval 255. */
static inrf_status pnm_write_memory(const inrf_image *img, void **data, size_t *size)
{
    char head[64];
    int n = snprintf(head, sizeof head, "P%c\n%" PRIu32 " %" PRIu32 "\n255\n",
                     img->channels == 1 ? '5' : '6', img->width, img->height);
    size_t px, total;
    if (n < 0 || !inrf_mul_ok((size_t)img->width * img->channels, img->height, &px) ||
        px > SIZE_MAX - (size_t)n)
        return inrf_fail(INRF_E_NOMEM, "PNM: image too large");
    total = (size_t)n + px;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        return inrf_fail(INRF_E_NOMEM, "PNM: cannot allocate %zu bytes", total);
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, img->pixels, px);
    *data = buf;
    *size = total;
    return INRF_OK;
}

/* ------------------------------------------------------------ writing */

inrf_status inrf_image_write_memory(const inrf_image *img, inrf_image_format format, int quality,
                                    void **data, size_t *size)
{
    if (data == NULL || size == NULL)
        return inrf_fail(INRF_E_INVALID_ARG, "inrf_image_write_memory: NULL output");
    *data = NULL;
    *size = 0;
    if (img == NULL || img->pixels == NULL || img->width == 0 || img->height == 0 ||
        (img->channels != 1 && img->channels != 3))
        return inrf_fail(INRF_E_INVALID_ARG, "image write: no pixels, empty size or %u channels",
                         img ? img->channels : 0);
    switch (format) {
    case INRF_IMAGE_PNG:
        return png_write_memory(img, data, size);
    case INRF_IMAGE_JPEG:
        if (quality < 1 || quality > 100)
            return inrf_fail(INRF_E_INVALID_ARG, "JPEG quality %d is outside 1..100", quality);
        return jpeg_write_memory(img, quality, data, size);
    case INRF_IMAGE_PNM:
        return pnm_write_memory(img, data, size);
    default:
        return inrf_fail(INRF_E_INVALID_ARG, "image write: unknown format %d", (int)format);
    }
}

inrf_status inrf_image_write_file(const inrf_image *img, const char *path,
                                  inrf_image_format format, int quality)
{
    if (path == NULL)
        return inrf_fail(INRF_E_INVALID_ARG, "inrf_image_write_file: path is NULL");
    if (format == INRF_IMAGE_UNKNOWN)
        format = inrf_image_format_from_name(path);
    if (format == INRF_IMAGE_UNKNOWN)
        return inrf_fail(INRF_E_INVALID_ARG, "%s: cannot tell the image format from the name",
                         path);
    void *data;
    size_t size;
    inrf_status st = inrf_image_write_memory(img, format, quality, &data, &size);
    if (st != INRF_OK)
        return st;
    st = inrf_file_write_atomic(path, data, size);
    free(data);
    return st;
}
