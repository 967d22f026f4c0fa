/* fuzz_image.c: libFuzzer entry point for libinrf's PNG and JPEG reader as
 * inrenc and inrpack call it (inrf_image_read_memory, which
 * inrf_image_read_file calls on the file's bytes; keep_grey 1 as inrenc
 * sets it, 0 as the other tools leave it), with the reader's limits on.
 * max_pixels is 2^22 rather than the default 2^28 so that one input cannot
 * make the fuzzer allocate gigabytes; the check is the same code.
 *
 * What it asserts: a failure is INRF_E_IMAGE or INRF_E_LIMIT with a
 * message and a zeroed image; a success is within the limit, RGB or (with
 * keep_grey only) grey; both settings of keep_grey agree (grey replicated
 * into RGB); one byte under max_file_bytes is refused; and what it reads
 * writes to PNG and reads back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "inrf/inrf.h"

#ifndef FUZZ_MAX_PIXELS /* -DFUZZ_MAX_PIXELS='((uint64_t)1 << 28)': inrenc's own */
#define FUZZ_MAX_PIXELS ((uint64_t)1 << 22)
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t crc_table[256];

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    if (!crc_table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Recomputes the CRC of every PNG chunk the framing lets it find, so that
 * mutations reach libpng's parsing rather than its CRC check. JPEG has no
 * checksums. */
static void fix_checksums(uint8_t *d, size_t size)
{
    if (inrf_image_sniff(d, size) != INRF_IMAGE_PNG)
        return;
    for (size_t pos = 8; pos + 12 <= size;) {
        size_t len = be32(d + pos);
        if (len > size - pos - 12)
            break;
        uint32_t crc = crc32_png(d + pos + 4, len + 4);
        uint8_t *c = d + pos + 8 + len;
        c[0] = (uint8_t)(crc >> 24), c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8), c[3] = (uint8_t)crc;
        pos += 12 + len;
    }
}

static int zeroed(const inrf_image *img)
{
    return img->width == 0 && img->height == 0 && img->channels == 0 && img->pixels == NULL;
}

static inrf_status read_image(const uint8_t *data, size_t size, int keep_grey, inrf_image *img)
{
    inrf_image_read_options o;
    inrf_image_read_options_init(&o);
    o.max_pixels = FUZZ_MAX_PIXELS;
    o.keep_grey = keep_grey;
    memset(img, 0xa5, sizeof *img); /* the reader overwrites it either way */
    inrf_status st = inrf_image_read_memory(data, size, &o, img);
    if (st != INRF_OK) {
        const char *msg = inrf_last_error();
        if ((st != INRF_E_IMAGE && st != INRF_E_LIMIT) || !zeroed(img) || !msg || !*msg)
            abort();
        return st;
    }
    if (img->width == 0 || img->height == 0 || !img->pixels ||
        (uint64_t)img->width * img->height > FUZZ_MAX_PIXELS ||
        !(img->channels == 3 || (img->channels == 1 && keep_grey)))
        abort();
    return st;
}

/* The reader's own writer and reader give back the same pixels. */
static void round_trip(const inrf_image *img, int keep_grey)
{
    if ((uint64_t)img->width * img->height > 1u << 16)
        return;
    void *png;
    size_t n;
    if (inrf_image_write_memory(img, INRF_IMAGE_PNG, 0, &png, &n) != INRF_OK)
        abort();
    inrf_image back;
    if (read_image(png, n, keep_grey, &back) != INRF_OK || back.width != img->width ||
        back.height != img->height || back.channels != img->channels ||
        memcmp(back.pixels, img->pixels, (size_t)img->width * img->height * img->channels) != 0)
        abort();
    inrf_image_free(&back);
    free(png);
}

static void one_input(const uint8_t *data, size_t size)
{
    inrf_image grey, rgb;
    inrf_status a = read_image(data, size, 1, &grey); /* inrenc */
    inrf_status b = read_image(data, size, 0, &rgb);  /* the defaults */
    if (a != b)
        abort();
    if (a == INRF_OK) {
        size_t pixels = (size_t)grey.width * grey.height;
        if (grey.width != rgb.width || grey.height != rgb.height)
            abort();
        for (size_t i = 0; i < pixels * 3; i++)
            if (rgb.pixels[i] != grey.pixels[grey.channels == 1 ? i / 3 : i])
                abort();
        round_trip(&grey, 1);
        round_trip(&rgb, 0);
    }
    inrf_image_free(&grey);
    inrf_image_free(&rgb);

    if (size > 0) { /* the byte limit comes first */
        inrf_image_read_options o;
        inrf_image_read_options_init(&o);
        o.max_file_bytes = size - 1;
        inrf_image img;
        if (inrf_image_read_memory(data, size, &o, &img) != INRF_E_LIMIT || !zeroed(&img))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_twice(data, size, one_input, fix_checksums);
}
