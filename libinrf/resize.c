/* resize.c: shrinking an 8-bit image by area averaging (a box filter with
 * exact fractional coverage), for encoders given sources larger than needed. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Output pixel x of n covers [x * N, (x + 1) * N) in units where source
 * pixel i of N covers [i * n, (i + 1) * n): every weight is an integer and
 * the weights of one output pixel sum to N. */
static uint64_t overlap(uint64_t i, uint64_t x, uint64_t n, uint64_t N)
{
    uint64_t lo = i * n > x * N ? i * n : x * N;
    uint64_t hi = (i + 1) * n < (x + 1) * N ? (i + 1) * n : (x + 1) * N;
    return hi > lo ? hi - lo : 0;
}

/* Source row j reduced horizontally: out[x * c + k] = sum of weight x
 * source, in units of 1/W per output pixel. */
static void reduce_row(const uint8_t *row, uint32_t W, uint32_t w, unsigned c, uint64_t *out)
{
    for (uint64_t x = 0; x < w; x++) {
        uint64_t i0 = x * W / w, i1 = ((x + 1) * W + w - 1) / w; /* [i0, i1) */
        for (unsigned k = 0; k < c; k++)
            out[x * c + k] = 0;
        for (uint64_t i = i0; i < i1 && i < W; i++) {
            uint64_t wt = overlap(i, x, w, W);
            for (unsigned k = 0; k < c; k++)
                out[x * c + k] += wt * row[i * c + k];
        }
    }
}

inrf_status inrf_image_resize_area(const inrf_image *src, uint32_t width, uint32_t height,
                                   inrf_image *out)
{
    if (!src || !out || !src->pixels)
        return inrf_fail(INRF_E_INVALID_ARG, "inrf_image_resize_area: NULL argument");
    memset(out, 0, sizeof *out);
    if (width == 0 || height == 0 || width > src->width || height > src->height)
        return inrf_fail(INRF_E_INVALID_ARG,
                         "resize: %" PRIu32 " x %" PRIu32 " to %" PRIu32 " x %" PRIu32
                         ": only shrinks (1 .. the source size on each side)",
                         src->width, src->height, width, height);
    inrf_status st = inrf_image_alloc(out, width, height, src->channels);
    if (st != INRF_OK)
        return st;
    const uint32_t W = src->width, H = src->height;
    const unsigned c = src->channels;
    uint64_t *hrow = malloc((size_t)width * c * sizeof *hrow);
    uint64_t *acc = malloc((size_t)width * c * sizeof *acc);
    if (!hrow || !acc) {
        free(hrow);
        free(acc);
        inrf_image_free(out);
        return inrf_fail(INRF_E_NOMEM, "resize: out of memory");
    }
    /* 255 * W * H < 2^56 for sides up to 2^24: no overflow */
    const uint64_t total = (uint64_t)W * H;
    const size_t stride = (size_t)W * c;
    for (uint64_t y = 0; y < height; y++) {
        uint64_t j0 = y * H / height, j1 = ((y + 1) * H + height - 1) / height;
        memset(acc, 0, (size_t)width * c * sizeof *acc);
        for (uint64_t j = j0; j < j1 && j < H; j++) {
            uint64_t wt = overlap(j, y, height, H);
            reduce_row(src->pixels + j * stride, W, width, c, hrow);
            for (size_t k = 0; k < (size_t)width * c; k++)
                acc[k] += wt * hrow[k];
        }
        uint8_t *o = out->pixels + y * (size_t)width * c;
        for (size_t k = 0; k < (size_t)width * c; k++)
            o[k] = (uint8_t)((acc[k] + total / 2) / total);
    }
    free(hrow);
    free(acc);
    return INRF_OK;
}
