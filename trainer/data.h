/* data.h: where training batches come from, behind one interface: an
 * .inrpack decoded by libinrf, or an ImageFolder decoded by CPU threads. */
#ifndef TRN_DATA_H
#define TRN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"

/* Every batch is NHWC float, 3 channels (grey sources are replicated, as
 * torchvision's RGB loader does), normalised as (v - mean[c]) / std[c]
 * with v in [0, 1]. Each sample is the source image seen through a window
 * x0, y0, x1, y1 in the normalised coordinates of spec/inrf.md (the whole
 * image is -1, -1, 1, 1; x0 > x1 flips; parts outside the image are 0
 * before normalisation): the pack decodes the window exactly, the folder
 * source samples its decoded pixels there bilinearly. */
#define TRN_CHANNELS 3

typedef struct trn_data trn_data;

/* An .inrpack, mapped, its header and directory checked (quick). */
INRF_NODISCARD inrf_status trn_data_open_pack(const char *path, trn_data **out);
/* An ImageFolder (SRC/<class>/..., labels by sorted class name), listed. */
INRF_NODISCARD inrf_status trn_data_open_folder(const char *dir, trn_data **out);
/* What takes a pass over the data, before its first batch: a pack's
 * records verified, every one (a bad record, checksum or structure, fails
 * naming it, the pack and the count of bad ones, unless skip_bad: then
 * the bad records are left out, and the others, whose check is then not
 * cached, are checked again as they are decoded); a folder's files whose
 * first bytes are not a PNG's or a JPEG's left out (an image that cannot
 * be decoded past them fails the batch that meets it). What was left out:
 * trn_data_skipped. path names the source in messages; threads as for
 * trn_data_batch (a pack's verification uses libinrf's, all cores). */
INRF_NODISCARD inrf_status trn_data_check(trn_data *d, const char *path, int skip_bad,
                                          int threads);
void trn_data_close(trn_data *d);

const char *trn_data_kind(const trn_data *d); /* "inrpack" or "folder" */
/* The images left out when opening (bad records, files not images) and,
 * in *first, the first of them and why ("PATH: record 5 (offset 4096):
 * checksum mismatch"); the other functions count only the images kept. */
size_t trn_data_skipped(const trn_data *d, const char **first);
uint32_t trn_data_count(const trn_data *d);
uint32_t trn_data_classes(const trn_data *d);
const char *trn_data_class_name(const trn_data *d, uint32_t c);
int32_t trn_data_label(const trn_data *d, uint32_t i);

/* Fills out (n x size x size x 3) and labels (n) for the images idx[0..n)
 * seen through windows (4 floats a sample; NULL: whole images), on
 * `threads` threads (0: all). */
INRF_NODISCARD inrf_status trn_data_batch(trn_data *d, const uint32_t *idx, size_t n,
                                          const float *windows, uint32_t size,
                                          const float mean[3], const float std[3], int threads,
                                          float *out, int32_t *labels);

/* A decoded image resized (bilinear) to size x size and normalised like a
 * folder sample with the whole-image window: what --predict feeds. */
void trn_sample_image(const inrf_image *img, uint32_t size, const float mean[3],
                      const float std[3], float *out);

/* A source image's size (for RandomResizedCrop's aspect ratio); 0 x 0
 * for a folder's, unknown before decoding. */
void trn_data_source_size(const trn_data *d, uint32_t i, uint32_t *w, uint32_t *h);

/* The bytes of a pack's mapping (for a tool's SIGBUS handler to tell
 * whose page vanished); NULL and 0 for a folder. */
const void *trn_data_mapping(const trn_data *d, size_t *size);

/* The width of image 0 (a folder's is decoded to know it); 0 if unreadable. */
uint32_t trn_data_first_width(const trn_data *d);

#endif /* TRN_DATA_H */
