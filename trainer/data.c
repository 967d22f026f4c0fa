/* data.c: the training data sources (an .inrpack through libinrf's batch
 * decoder, an ImageFolder through libjpeg-turbo/libpng); the augmentation
 * windows come from libinrf's sampler (inrtrain.c). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../tools/pack_source.h"
#include "data.h"
#include "error.h"
#include "inrf/siren_math.h"

static int nthreads(int t)
{
#ifdef _OPENMP
    return t > 0 ? t : omp_get_max_threads();
#else
    (void)t;
    return 1;
#endif
}

struct trn_data {
    inrf_pack *pack;           /* an .inrpack, or */
    src_list folder;           /* an ImageFolder */
    uint32_t *keep;            /* pack with bad records left out: image i is
                                  record keep[i]; NULL: every record */
    uint32_t nkeep;
    size_t skipped;            /* bad records, or folder files not images */
    char skip_first[400];      /* the first of them and why */
    uint8_t *buf;              /* pack: u8 batch of the pack's channels */
    size_t buf_bytes;
    uint32_t *map;             /* pack: a batch's record indices */
    size_t map_n;
};

/* The pack's record of image i. */
static uint32_t rec(const trn_data *d, uint32_t i) { return d->keep ? d->keep[i] : i; }

/* --------------------------------------------------------------- sources */

/* Every record checked (inrf_pack_verify); the bad ones are an error
 * naming the first, or with skip_bad left out. */
static inrf_status check_records(trn_data *d, const char *path, int skip_bad)
{
    uint32_t n = inrf_pack_count(d->pack);
    uint32_t *bad = malloc((size_t)n * sizeof *bad + 1);
    if (!bad)
        return trn_fail(INRF_E_NOMEM, "out of memory");
    size_t nbad = 0;
    inrf_status st = inrf_pack_verify(d->pack, bad, n, &nbad);
    if (st == INRF_OK || nbad == 0) { /* verified, or a fault outside the records */
        free(bad);
        return st == INRF_OK ? INRF_OK : trn_fail_lib(st, path, NULL);
    }
    (void)trn_fail_lib(st, path, NULL); /* "PATH: record 5 (offset 4096): why" */
    snprintf(d->skip_first, sizeof d->skip_first, "%s", trn_last_error());
    if (!skip_bad || nbad == n) {
        free(bad);
        if (nbad == n)
            return trn_fail(st, "%s (all %u records are bad)", d->skip_first, n);
        return trn_fail(st, "%s (%zu bad record%s of %u; --skip-bad leaves %s out)",
                        d->skip_first, nbad, nbad == 1 ? "" : "s", n,
                        nbad == 1 ? "it" : "them");
    }
    /* bad[] is in record order: keep the others */
    d->keep = malloc((size_t)(n - nbad) * sizeof *d->keep);
    if (!d->keep) {
        free(bad);
        return trn_fail(INRF_E_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (uint32_t i = 0, b = 0; i < n; i++) {
        while (b < nbad && bad[b] < i)
            b++;
        if (b < nbad && bad[b] == i)
            continue;
        d->keep[k++] = i;
    }
    d->nkeep = (uint32_t)k;
    d->skipped = nbad;
    free(bad);
    return INRF_OK;
}

inrf_status trn_data_open_pack(const char *path, trn_data **out)
{
    *out = NULL;
    trn_data *d = calloc(1, sizeof *d);
    if (!d)
        return trn_fail(INRF_E_NOMEM, "out of memory");
    /* the header and directory now, every record in trn_data_check: a bad
     * record is then one to leave out, not a pack that cannot be opened */
    inrf_pack_options po;
    inrf_pack_options_init(&po);
    po.verify_records = 0;
    inrf_status st = inrf_pack_open(path, &po, &d->pack);
    if (st != INRF_OK) {
        free(d);
        return trn_fail_lib(st, path, NULL);
    }
    /* labels out of range, like every other fault, are refused by the
     * pack reader ("index entry 5: label 7 of 2 classes") */
    *out = d;
    return INRF_OK;
}

/* Whether a file starts as a PNG or a JPEG does: "" or why not. */
static const char *not_an_image(const char *path, char why[128])
{
    unsigned char head[16];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, 128, "%s", strerror(errno));
        return why;
    }
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (inrf_image_sniff(head, n) == INRF_IMAGE_UNKNOWN)
        snprintf(why, 128, "%s", n ? "not a PNG or JPEG file" : "empty file");
    else
        why[0] = 0;
    return why;
}

inrf_status trn_data_open_folder(const char *dir, trn_data **out)
{
    *out = NULL;
    trn_data *d = calloc(1, sizeof *d);
    if (!d)
        return trn_fail(INRF_E_NOMEM, "out of memory");
    if (!src_scan_folder(dir, &d->folder)) { /* it said why */
        free(d);
        return trn_fail_reported(INRF_E_IO);
    }
    *out = d;
    return INRF_OK;
}

/* Files that are not images (a README, a stray .txt) are left out before
 * training, as inrpack create skips them, rather than failing the first
 * batch that meets them. */
static inrf_status skip_non_images(trn_data *d, int threads)
{
    src_list *l = &d->folder;
    uint8_t *bad = calloc(l->n + 1, 1);
    if (!bad)
        return trn_fail(INRF_E_NOMEM, "out of memory");
    /* one open and read a file: on all threads, for a large folder on a
     * slow disk */
#pragma omp parallel for schedule(dynamic, 256) num_threads(nthreads(threads))
    for (size_t i = 0; i < l->n; i++) {
        char why[128];
        bad[i] = not_an_image(l->item[i].path, why)[0] != 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        char why[128];
        if (!bad[i]) {
            l->item[k++] = l->item[i];
            continue;
        }
        if (!d->skipped++) /* the first, and why (read again: rare) */
            snprintf(d->skip_first, sizeof d->skip_first, "%s: %s", l->item[i].path,
                     not_an_image(l->item[i].path, why));
        free(l->item[i].path);
        free(l->item[i].rel);
    }
    l->n = k;
    free(bad);
    return INRF_OK;
}

inrf_status trn_data_check(trn_data *d, const char *path, int skip_bad, int threads)
{
    return d->pack ? check_records(d, path, skip_bad) : skip_non_images(d, threads);
}

void trn_data_close(trn_data *d)
{
    if (!d)
        return;
    inrf_pack_close(d->pack);
    if (!d->pack)
        src_free(&d->folder);
    free(d->keep);
    free(d->map);
    free(d->buf);
    free(d);
}

const char *trn_data_kind(const trn_data *d) { return d->pack ? "inrpack" : "folder"; }

uint32_t trn_data_count(const trn_data *d)
{
    return d->pack ? (d->keep ? d->nkeep : inrf_pack_count(d->pack)) : (uint32_t)d->folder.n;
}

size_t trn_data_skipped(const trn_data *d, const char **first)
{
    *first = d->skip_first;
    return d->skipped;
}

uint32_t trn_data_classes(const trn_data *d)
{
    return d->pack ? inrf_pack_classes(d->pack) : d->folder.nclasses;
}

const char *trn_data_class_name(const trn_data *d, uint32_t c)
{
    if (c >= trn_data_classes(d))
        return NULL;
    return d->pack ? inrf_pack_class_name(d->pack, c) : d->folder.classes[c];
}

int32_t trn_data_label(const trn_data *d, uint32_t i)
{
    return (int32_t)(d->pack ? inrf_pack_get(d->pack, rec(d, i))->label : d->folder.item[i].label);
}

void trn_data_source_size(const trn_data *d, uint32_t i, uint32_t *w, uint32_t *h)
{
    if (d->pack) {
        *w = inrf_pack_get(d->pack, rec(d, i))->width;
        *h = inrf_pack_get(d->pack, rec(d, i))->height;
    } else { /* unknown before decoding: taken as square */
        *w = *h = 0;
    }
}

const void *trn_data_mapping(const trn_data *d, size_t *size)
{
    *size = 0;
    return d->pack ? inrf_pack_bytes(d->pack, size) : NULL;
}

uint32_t trn_data_first_width(const trn_data *d)
{
    if (trn_data_count(d) == 0)
        return 0;
    if (d->pack)
        return inrf_pack_get(d->pack, rec(d, 0))->width;
    inrf_image img;
    if (inrf_image_read_file(d->folder.item[0].path, NULL, &img) != INRF_OK)
        return 0;
    uint32_t w = img.width;
    inrf_image_free(&img);
    return w;
}

/* u8 pixels of `ch` channels to the normalised 3-channel float batch. */
static void normalise(const uint8_t *px, unsigned ch, size_t pixels, const float mean[3],
                      const float std[3], float *out)
{
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < TRN_CHANNELS; c++) {
            float v = px[p * ch + (ch == 1 ? 0 : (unsigned)c)] / 255.0f;
            out[p * TRN_CHANNELS + c] = (v - mean[c]) / std[c];
        }
}

/* The pack: libinrf decodes the windows to u8 at the pack's channel count
 * (bit-exact with inrdec), then the shared normalisation. */
static inrf_status pack_batch(trn_data *d, const uint32_t *idx, size_t n, const float *win,
                              uint32_t size, const float mean[3], const float std[3],
                              int threads, float *out)
{
    unsigned ch = inrf_pack_channels(d->pack);
    size_t per = (size_t)size * size * ch;
    if (d->buf_bytes < per * n) {
        free(d->buf);
        d->buf_bytes = 0;
        if (!(d->buf = malloc(per * n)))
            return trn_fail(INRF_E_NOMEM, "out of memory");
        d->buf_bytes = per * n;
    }
    if (d->keep) { /* the images' records */
        if (d->map_n < n) {
            free(d->map);
            d->map_n = 0;
            if (!(d->map = malloc(n * sizeof *d->map)))
                return trn_fail(INRF_E_NOMEM, "out of memory");
            d->map_n = n;
        }
        for (size_t s = 0; s < n; s++)
            d->map[s] = d->keep[idx[s]];
        idx = d->map;
    }
    inrf_batch_options o;
    inrf_batch_options_init(&o);
    o.width = o.height = size;
    o.type = INRF_BATCH_U8;
    o.zero_outside = 1;
    o.threads = threads;
    inrf_status st = inrf_pack_decode_batch(d->pack, idx, n, win, &o, d->buf);
    if (st != INRF_OK)
        return trn_fail(st, "%s", inrf_last_error());
#pragma omp parallel for num_threads(nthreads(threads))
    for (size_t s = 0; s < n; s++)
        normalise(d->buf + per * s, ch, (size_t)size * size, mean, std,
                  out + (size_t)size * size * TRN_CHANNELS * s);
    return INRF_OK;
}

/* One folder image seen through a window: bilinear samples of its pixels
 * at the window's sample coordinates, 0 outside. */
static void sample_window(const inrf_image *img, const float win[4], uint32_t size,
                          const float mean[3], const float std[3], float *out)
{
    const unsigned ch = img->channels;
    for (uint32_t j = 0; j < size; j++) {
        double y = inrf_coord(j, size, win ? win[1] : -1.0, win ? win[3] : 1.0);
        double v = (y + 1) / 2 * img->height - 0.5; /* pixel centres at integers */
        for (uint32_t i = 0; i < size; i++) {
            double x = inrf_coord(i, size, win ? win[0] : -1.0, win ? win[2] : 1.0);
            double u = (x + 1) / 2 * img->width - 0.5;
            float *o = out + ((size_t)j * size + i) * TRN_CHANNELS;
            int inside = x >= -1 && x <= 1 && y >= -1 && y <= 1;
            double fu = floor(u), fv = floor(v), au = u - fu, av = v - fv;
            for (int c = 0; c < TRN_CHANNELS; c++) {
                double acc = 0;
                for (int k = 0; inside && k < 4; k++) {
                    long px = (long)fu + (k & 1), py = (long)fv + (k >> 1);
                    px = px < 0 ? 0 : px >= (long)img->width ? (long)img->width - 1 : px;
                    py = py < 0 ? 0 : py >= (long)img->height ? (long)img->height - 1 : py;
                    double wgt = ((k & 1) ? au : 1 - au) * ((k >> 1) ? av : 1 - av);
                    acc += wgt * img->pixels[((size_t)py * img->width + (size_t)px) * ch +
                                             (ch == 1 ? 0 : (unsigned)c)];
                }
                o[c] = ((float)(acc / 255.0) - mean[c]) / std[c];
            }
        }
    }
}

void trn_sample_image(const inrf_image *img, uint32_t size, const float mean[3],
                      const float std[3], float *out)
{
    sample_window(img, NULL, size, mean, std, out);
}

/* The conventional pipeline: each image read and decoded by libjpeg-turbo
 * or libpng on one of `threads` threads, as a DataLoader's workers do. */
static inrf_status folder_batch(trn_data *d, const uint32_t *idx, size_t n, const float *win,
                                uint32_t size, const float mean[3], const float std[3],
                                int threads, float *out)
{
    inrf_status first = INRF_OK;
    size_t bad = 0;
    char why[400] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads(threads))
    for (size_t s = 0; s < n; s++) {
        inrf_image img;
        const char *path = d->folder.item[idx[s]].path;
        inrf_status st = inrf_image_read_file(path, NULL, &img);
        if (st != INRF_OK) {
            /* the reason lives in this thread's inrf_last_error() */
#pragma omp critical(trn_folder_bad)
            if (first == INRF_OK || s < bad) {
                first = st, bad = s;
                (void)trn_fail_lib(st, path, "cannot be decoded");
                snprintf(why, sizeof why, "%s", trn_last_error());
            }
            continue;
        }
        sample_window(&img, win ? win + 4 * s : NULL, size, mean, std,
                      out + (size_t)size * size * TRN_CHANNELS * s);
        inrf_image_free(&img);
    }
    if (first != INRF_OK) /* "PATH: reason" */
        return trn_fail(first, "%s", why);
    return INRF_OK;
}

inrf_status trn_data_batch(trn_data *d, const uint32_t *idx, size_t n, const float *win,
                           uint32_t size, const float mean[3], const float std[3], int threads,
                           float *out, int32_t *labels)
{
    for (size_t s = 0; s < n; s++) {
        if (idx[s] >= trn_data_count(d))
            return trn_fail(INRF_E_INVALID_ARG, "image %u of %u", idx[s], trn_data_count(d));
        labels[s] = trn_data_label(d, idx[s]);
    }
    return d->pack ? pack_batch(d, idx, n, win, size, mean, std, threads, out)
                   : folder_batch(d, idx, n, win, size, mean, std, threads, out);
}
