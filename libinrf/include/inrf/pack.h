/* pack.h: .inrpack, a labelled dataset of SIREN images in one file that is
 * memory-mapped as is (spec/inrpack.md): open, verify, views of records,
 * a writer, and the CPU batch decoder of the training data path. */
#ifndef INRF_PACK_H
#define INRF_PACK_H

#include "inrf/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Format limits (spec/inrpack.md "Limits"). */
#define INRF_PACK_MAX_IMAGES (1u << 28)
#define INRF_PACK_MAX_CLASSES 65535u
#define INRF_PACK_MAX_ARCHS 255u
#define INRF_PACK_MAX_CLASS_NAME 255u

typedef struct inrf_pack inrf_pack;

typedef struct inrf_pack_options {
    int abi;                   /* set by inrf_pack_options_init */
    int verify_records;        /* 1 (default): inrf_pack_open checks every
                                  record's checksum and structure, so that a
                                  pack that opens decodes without surprise
                                  (checksum and structure: ~20 us a CIFAR
                                  record, on all cores); 0: only the header
                                  and the directory, and each record is then
                                  checked (checksum included) when it is
                                  decoded, until inrf_pack_verify passes */
    uint64_t max_file_bytes;   /* default 2^40 */
    inrf_read_options limits;  /* per-model limits (layers, widths, params) */
    uint64_t reserved_[8];     /* 0 (set by the init function); the fields of
                                  later minor ABI versions (inrf/types.h) */
} inrf_pack_options;

INRF_API void inrf_pack_options_init_(inrf_pack_options *opt, int abi);
#define inrf_pack_options_init(opt) inrf_pack_options_init_((opt), INRF_ABI_VERSION)

/* Maps path (read-only) and checks the header and directory (and every
 * record unless opt->verify_records is 0). opt may be NULL. On failure
 * inrf_last_error() names the bad part ("index entry 17: label 12 of 10
 * classes", "record 5 (offset 4096): checksum mismatch"). */
INRF_API INRF_NODISCARD inrf_status inrf_pack_open(const char *path, const inrf_pack_options *opt,
                                                   inrf_pack **out);
/* The same over bytes in memory, which must outlive the pack (no copy). */
INRF_API INRF_NODISCARD inrf_status inrf_pack_open_memory(const void *data, size_t size,
                                                          const inrf_pack_options *opt,
                                                          inrf_pack **out);
INRF_API void inrf_pack_close(inrf_pack *pack);

/* The whole file as mapped: what a device copy takes, in one transfer. */
INRF_API const void *inrf_pack_bytes(const inrf_pack *pack, size_t *size);

INRF_API uint32_t inrf_pack_count(const inrf_pack *pack);
INRF_API uint32_t inrf_pack_classes(const inrf_pack *pack);
INRF_API uint32_t inrf_pack_archs(const inrf_pack *pack);
/* Channels of every image (1 or 3). */
INRF_API unsigned inrf_pack_channels(const inrf_pack *pack);
/* Name of class c (NUL-terminated), NULL when c is out of range. */
INRF_API const char *inrf_pack_class_name(const inrf_pack *pack, uint32_t c);
/* Architecture a; width and height are 0 (they are per image). */
INRF_API const inrf_arch *inrf_pack_arch(const inrf_pack *pack, uint32_t a);

/* One image: its index entry and a view of its record, no copy. Only the
 * library makes these (callers get pointers), so later minor ABI versions
 * may append fields. */
typedef struct inrf_pack_item {
    uint64_t offset;           /* of the record in the file */
    uint64_t checksum;         /* XXH3-64 of the record */
    uint32_t size;             /* record bytes */
    uint32_t label;            /* class, < inrf_pack_classes() */
    uint32_t width, height;    /* source image size */
    float psnr;                /* stored quality (dB), NaN if unknown */
    uint32_t seq;              /* position in the source list */
    uint16_t arch;             /* architecture, < inrf_pack_archs() */
    const uint8_t *record;     /* size bytes inside the mapping */
} inrf_pack_item;

/* Item i, NULL when i is out of range. */
INRF_API const inrf_pack_item *inrf_pack_get(const inrf_pack *pack, uint32_t i);

/* Item i as a model (architecture + parsed record), for inrdec-like uses;
 * inrf_model_free() it. */
INRF_API INRF_NODISCARD inrf_status inrf_pack_model(const inrf_pack *pack, uint32_t i,
                                                    inrf_model **out);

/* Checks every record (checksum, structure, padding). bad (may be NULL)
 * receives up to max indices of bad records and *nbad their count;
 * returns the first problem (inrf_last_error() names it) or INRF_OK. */
INRF_API INRF_NODISCARD inrf_status inrf_pack_verify(const inrf_pack *pack, uint32_t *bad,
                                                     size_t max, size_t *nbad);

/* ---------------------------------------------------------- batch decode */

typedef enum inrf_batch_type {
    INRF_BATCH_U8 = 0,         /* uint8, 0..255 (mean/std ignored) */
    INRF_BATCH_F32 = 1,        /* float, (v - mean[c]) / std[c] with v in [0, 1] */
    INRF_BATCH_F16 = 2,        /* IEEE binary16 (uint16_t bits): the F32 value
                                  rounded to nearest even, as CUDA's
                                  __float2half_rn (from 65520 up: infinity;
                                  below 2^-14: subnormal), for mixed
                                  precision */
} inrf_batch_type;

typedef struct inrf_batch_options {
    int abi;                   /* set by inrf_batch_options_init */
    uint32_t width, height;    /* output size of every sample, 1..65536; required */
    int type;                  /* inrf_batch_type, default INRF_BATCH_F32 */
    float mean[3], std[3];     /* per channel, default 0 and 1; std > 0 */
    int zero_outside;          /* 1: samples whose coordinates fall outside
                                  [-1, 1] (a window reaching past the image)
                                  are 0 before normalisation, the zero padding
                                  of a padded random crop; 0 (default): the
                                  network is evaluated there too */
    int threads;               /* threads at most, 0 (default) = the CPUs this
                                  process may run on; fewer for a small batch */
    uint64_t reserved_[8];     /* 0 (set by the init function); the fields of
                                  later minor ABI versions (inrf/types.h) */
} inrf_batch_options;

INRF_API void inrf_batch_options_init_(inrf_batch_options *opt, int abi);
#define inrf_batch_options_init(opt) inrf_batch_options_init_((opt), INRF_ABI_VERSION)

/* Decodes n images into one NHWC batch: sample s is image indices[s]
 * decoded at opt->width x opt->height over the window windows[4s..4s+3] =
 * x0, y0, x1, y1 in the normalised coordinates of spec/inrf.md "Decoding"
 * (x0 > x1 mirrors horizontally, so a flip is a reversed window; windows
 * NULL = the whole image for every sample). out holds n * height * width *
 * channels values of the type asked. Each sample equals inrf_decode_u8 /
 * _f32 of inrf_pack_model() with the same window, bit for bit (then
 * normalised, and for F16 rounded). No read goes past a record, even one whose bytes changed
 * after verification (a mapped file rewritten in place): its layout
 * refused, the call fails with INRF_E_FORMAT naming it. A mapping cut
 * short raises SIGBUS, which the library leaves to its host. */
INRF_API INRF_NODISCARD inrf_status inrf_pack_decode_batch(const inrf_pack *pack,
                                                           const uint32_t *indices, size_t n,
                                                           const float *windows,
                                                           const inrf_batch_options *opt,
                                                           void *out);

/* ----------------------------------------------------------------- writer */

typedef struct inrf_pack_writer inrf_pack_writer;

/* A writer for a pack with these classes (names as the class table says:
 * 1..255 bytes of UTF-8, no '/', '\' or control characters, not "." or
 * "..", unique). The pack is built in memory: it is small by design. */
INRF_API INRF_NODISCARD inrf_status inrf_pack_writer_create(const char *const *class_names,
                                                            uint32_t classes,
                                                            inrf_pack_writer **out);
/* The pack's channel count (1 or 3) before any image is added: every image
 * must have it, and a pack left without images (an empty shard) has it.
 * Without this call the first image sets it, and an empty pack has 3. */
INRF_API INRF_NODISCARD inrf_status inrf_pack_writer_set_channels(inrf_pack_writer *w,
                                                                  unsigned channels);
/* Adds a model (its weights become the record, its psnr the entry's). */
INRF_API INRF_NODISCARD inrf_status inrf_pack_writer_add_model(inrf_pack_writer *w,
                                                               const inrf_model *model,
                                                               uint32_t label, uint32_t seq);
/* Adds a record as found in another pack (checked against arch, whose
 * width and height are the image's). */
INRF_API INRF_NODISCARD inrf_status inrf_pack_writer_add_record(inrf_pack_writer *w,
                                                                const inrf_arch *arch,
                                                                const void *record, size_t size,
                                                                uint32_t label, uint32_t seq,
                                                                float psnr);
/* Images added so far. */
INRF_API uint32_t inrf_pack_writer_count(const inrf_pack_writer *w);
/* Serialises, images in increasing seq (two with the same seq: error), to
 * a buffer (free with inrf_free) or to path as inrf_file_write_atomic
 * writes (a regular file atomically). The writer stays
 * usable. */
INRF_API INRF_NODISCARD inrf_status inrf_pack_writer_finish_memory(inrf_pack_writer *w,
                                                                   void **data, size_t *size);
INRF_API INRF_NODISCARD inrf_status inrf_pack_writer_finish(inrf_pack_writer *w,
                                                            const char *path);
INRF_API void inrf_pack_writer_free(inrf_pack_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* INRF_PACK_H */
