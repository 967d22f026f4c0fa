/* image.h: 8-bit image buffers and PNG/JPEG/PNM reading and writing through
 * libpng, libjpeg-turbo and a PNM parser of its own. Part of the public API; included by inrf.h. */
#ifndef INRF_IMAGE_H
#define INRF_IMAGE_H

#include "inrf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An 8-bit image, rows packed (stride = width * channels). */
typedef struct inrf_image {
    uint32_t width, height;
    uint8_t channels;          /* 1 (grey) or 3 (RGB) */
    uint8_t *pixels;           /* malloc'd; free with inrf_image_free */
} inrf_image;

typedef enum inrf_image_format {
    INRF_IMAGE_UNKNOWN = 0,
    INRF_IMAGE_PNG = 1,
    INRF_IMAGE_JPEG = 2,
    INRF_IMAGE_PNM = 3,        /* binary Netpbm: P5 (grey) or P6 (RGB) */
} inrf_image_format;

typedef struct inrf_image_read_options {
    int abi;                   /* set by inrf_image_read_options_init */
    uint64_t max_pixels;       /* width * height limit, default 2^28 */
    size_t max_file_bytes;     /* default 1 GiB */
    int keep_grey;             /* 1: grey sources stay 1 channel; 0 (default):
                                  everything becomes RGB */
} inrf_image_read_options;

INRF_API void inrf_image_read_options_init_(inrf_image_read_options *opt, int abi);
#define inrf_image_read_options_init(opt) inrf_image_read_options_init_((opt), INRF_ABI_VERSION)

/* Conversions on reading (documented in man/inrenc.1 and README):
 * - PNG: palette expanded; 16-bit samples scaled to 8 bits with rounding
 *   (v * 255 + 32767) / 65535; tRNS becomes alpha; alpha is composited
 *   over black (out = v * a / 255, rounded), since a SIREN codes colour
 *   only; 16-bit colour and alpha are both scaled to 8 bits first, then
 *   composited; grey becomes RGB by replication unless keep_grey.
 *   Interlaced files are read; the file is read up to IEND, so a file cut
 *   anywhere or with a bad CRC in a critical chunk fails. Chunks other than
 *   IHDR, PLTE, tRNS, IDAT and IEND are skipped unread.
 * - JPEG: decoded by libjpeg-turbo (accurate DCT); greyscale likewise;
 *   CMYK and YCCK (Adobe, inverted) become RGB as R = C*K/255 etc.
 *   Any libjpeg warning (truncated or corrupt data, which libjpeg would
 *   fill with invented pixels) fails the read with INRF_E_IMAGE.
 * - PNM: binary P6 (PPM) and P5 (PGM), maxval 1..65535 (two big-endian
 *   bytes a sample from 256), samples scaled to 8 bits as
 *   (v * 255 + maxval / 2) / maxval (the identity for maxval 255); a
 *   sample above maxval, a header cut short or fewer samples than the
 *   header says fail with INRF_E_IMAGE. Only the first image of a stream
 *   is read. Plain (P1, P2, P3), bitmap (P4) and PAM (P7) files are
 *   refused (INRF_E_IMAGE, naming the type).
 * The format is found from the data (signature), never the file name.
 * Limits are checked on the header, before pixels are allocated
 * (INRF_E_LIMIT). out is overwritten (zeroed on failure). opt may be
 * NULL (defaults). */
INRF_API INRF_NODISCARD inrf_status inrf_image_read_memory(const void *data, size_t size,
                                                           const inrf_image_read_options *opt,
                                                           inrf_image *out);
/* "-" reads standard input. */
INRF_API INRF_NODISCARD inrf_status inrf_image_read_file(const char *path,
                                                         const inrf_image_read_options *opt,
                                                         inrf_image *out);

INRF_API inrf_image_format inrf_image_sniff(const void *data, size_t size);
/* From a file name's extension (.png; .jpg, .jpeg, .jpe; .ppm, .pgm, .pnm;
 * case-insensitive). */
INRF_API inrf_image_format inrf_image_format_from_name(const char *path);

/* Encodes to a malloc'd buffer (free() it). quality 1..100 for JPEG
 * (4:2:0 below 90, 4:4:4 from 90, greyscale for 1 channel; standard
 * Huffman tables, as TurboJPEG 2.1 has no flag for optimised ones),
 * ignored for PNG (8-bit, default zlib level) and PNM (P5 for one channel,
 * P6 for three, maxval 255, whatever the extension among .ppm, .pgm and
 * .pnm). */
INRF_API INRF_NODISCARD inrf_status inrf_image_write_memory(const inrf_image *img,
                                                            inrf_image_format format,
                                                            int quality, void **data,
                                                            size_t *size);
/* Written as inrf_file_write_atomic does (a regular file atomically, a
 * device or FIFO in place); "-" is standard output.
 * INRF_IMAGE_UNKNOWN takes the format from path's extension. */
INRF_API INRF_NODISCARD inrf_status inrf_image_write_file(const inrf_image *img,
                                                          const char *path,
                                                          inrf_image_format format,
                                                          int quality);

/* An uninitialised width x height x channels buffer; INRF_E_LIMIT above
 * INRF_IMAGE_MAX_BYTES, INRF_E_NOMEM when malloc fails. */
#define INRF_IMAGE_MAX_BYTES ((uint64_t)1 << 40)
INRF_API INRF_NODISCARD inrf_status inrf_image_alloc(inrf_image *img, uint32_t width,
                                                     uint32_t height, uint8_t channels);
INRF_API void inrf_image_free(inrf_image *img);

#ifdef __cplusplus
}
#endif

/* ---------------------------------------------------------------- resize */
#ifdef __cplusplus
extern "C" {
#endif
/* Shrinks src to width x height (each 1 .. src's side; larger is
 * INRF_E_INVALID_ARG) by area averaging: every output pixel is the mean of
 * the source area it covers, partly covered pixels weighted by the part,
 * computed in integers and rounded to nearest, so the result is exact and
 * the same on every machine. out is allocated (inrf_image_free it). */
INRF_API INRF_NODISCARD inrf_status inrf_image_resize_area(const inrf_image *src, uint32_t width,
                                                           uint32_t height, inrf_image *out);
#ifdef __cplusplus
}
#endif

#endif /* INRF_IMAGE_H */
