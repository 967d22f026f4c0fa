/* model.h: the in-memory model, reading, validating and writing .inrf
 * files, safe file output, and decoding to pixels. */
#ifndef INRF_MODEL_H
#define INRF_MODEL_H

#include "inrf/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ format consts */

/* Spec limits (spec/inrf.md, "Limits"). A reader may be stricter through
 * inrf_read_options; never looser. */
#define INRF_MAX_DIM (1u << 24)   /* width and height, each */
#define INRF_MAX_SINE_LAYERS 64   /* sine layers (the linear output layer excluded) */
#define INRF_MAX_WIDTH 1024       /* neurons in a sine layer */
#define INRF_MAX_FILE_BYTES (1u << 31)

/* Network kinds (NHDR.kind): values are allocated by spec/inrf.md
 * ("Network kinds"), never by an implementation; a reader refuses a kind
 * it does not implement with INRF_E_UNSUPPORTED naming the value. */
typedef enum inrf_kind { INRF_KIND_SIREN = 0 } inrf_kind;

/* Output mapping (NHDR.output): how the linear output becomes [0, 1]. */
typedef enum inrf_output_map {
    INRF_OUTPUT_UNIT = 0,   /* value used as is */
    INRF_OUTPUT_SIGNED = 1, /* value in [-1, 1]: (v + 1) / 2 */
} inrf_output_map;

/* Weight encodings of a layer (layer record, "encoding"). */
typedef enum inrf_encoding {
    INRF_ENC_F32 = 0,      /* IEEE binary32 */
    INRF_ENC_F16 = 1,      /* IEEE binary16 */
    INRF_ENC_INT8 = 2,     /* int8 in [-127, 127], one f32 scale per layer */
    INRF_ENC_INT8_ROW = 3, /* int8 in [-127, 127], one f32 scale per output row */
} inrf_encoding;
#define INRF_ENC_COUNT 4

/* ------------------------------------------------------------------ model */

/* One weight layer in decode-ready form. w is dense (out x in, row-major,
 * 0 at pruned positions) and already dequantised; the other fields keep
 * what the file stores so that writing a read model gives the same bytes. */
typedef struct inrf_layer {
    uint16_t in, out;          /* fan-in and fan-out */
    uint8_t encoding;          /* inrf_encoding of the weights */
    uint8_t bias_encoding;     /* INRF_ENC_F32 or INRF_ENC_F16 */
    uint32_t nnz;              /* kept weights (in*out when not pruned) */
    float *w;                  /* [out][in] dequantised weights */
    float *b;                  /* [out] biases */
    uint8_t *mask;             /* kept-weight bitmap, bit k = weight k (row-major),
                                  LSB first; NULL when the layer is not pruned */
    int8_t *q;                 /* [out][in] int8 values (int8 encodings), else NULL */
    float *scale;              /* 1 (INT8) or out (INT8_ROW) scales, else NULL */
} inrf_layer;

/* The unions of inrf_arch and inrf_model are anonymous (C11, C++ and a
 * GNU extension before C11): __extension__ keeps a C99 -pedantic build
 * of a program that includes this header quiet. */
#if defined(__GNUC__)
#define INRF_ANONYMOUS __extension__
#else
#define INRF_ANONYMOUS
#endif

/* The architecture: everything but the weights. The first fields are
 * every kind's (IHDR, and NHDR's kind and output mapping); the union holds
 * the kind's own NHDR fields, SIREN's by name, any other kind's in params
 * as that kind defines them. The size of the struct is fixed: a kind whose
 * fields do not fit in the union cannot be added without a new ABI.
 * Callers may build one on the stack (inrf_arch_siren). */
typedef struct inrf_arch {
    uint32_t width, height;    /* source image size in pixels, 1..INRF_MAX_DIM */
    uint8_t channels;          /* 1 (grey) or 3 (RGB) */
    uint8_t kind;              /* inrf_kind: the tag of the union below and of
                                  inrf_model's */
    uint8_t output_map;        /* inrf_output_map; default INRF_OUTPUT_UNIT */
    uint8_t layers;            /* SIREN: sine layers L, 1..INRF_MAX_SINE_LAYERS;
                                  0 for kinds without layers */
    uint8_t colour_space;      /* 0 = sRGB, the only one of format 1.0 */
    uint8_t reserved_[3];      /* 0; keeps the struct free of padding */
    INRF_ANONYMOUS union {
        struct {               /* kind INRF_KIND_SIREN */
            uint16_t hidden[INRF_MAX_SINE_LAYERS]; /* width of each sine layer, 1..1024 */
            float omega_first; /* w0 of the first sine layer, > 0 (default 30) */
            float omega_hidden; /* w0 of the other sine layers, > 0 (default 30) */
        };
        uint32_t params[34];   /* other kinds: their fields (136 bytes) */
    };
} inrf_arch;

/* Version of inrf_model's layout, recorded in every model the library
 * makes (struct_version, struct_size). The ABI rule: models are allocated
 * by the library only (inrf_model_create, inrf_read_*, inrf_pack_model,
 * the encoders), never by value or by a caller's malloc; the fields below
 * never move; a new field takes reserved_ room or goes at the end, with a
 * new version, and a caller built against a newer header reads it only
 * when struct_version (or struct_size) says the model holds it. The union
 * is the room every kind shares: its size is SIREN's layer table, and a
 * kind that is not SIREN keeps its weights behind `weights` (a private
 * layout, read through the library's functions and inrf_model_info). */
#define INRF_MODEL_VERSION 1

typedef struct inrf_model {
    inrf_arch arch;            /* arch.kind tags the union */
    INRF_ANONYMOUS union {
        inrf_layer layer[INRF_MAX_SINE_LAYERS + 1]; /* SIREN: L sine layers, then
                                                        the output layer */
        void *weights;         /* other kinds: their weights (private) */
    };
    float psnr;                /* stored quality in dB ('qual' chunk); NaN if none */
    uint32_t compress_mask;    /* bit 0: WGHT payload is zstd-compressed */
    uint8_t format_major;      /* version of the file read; 0 if not read */
    uint8_t format_minor;
    uint16_t struct_version;   /* INRF_MODEL_VERSION of the library that made it */
    uint32_t struct_size;      /* sizeof(inrf_model) of that library */
    void *arena_;              /* private: owner of all arrays above */
    void *reserved_[4];        /* NULL; room for fields of later versions */
} inrf_model;

/* Fills arch with a plain SIREN of `layers` sine layers of `width` neurons,
 * w0 = 30, for an image of width x height x channels. */
INRF_API void inrf_arch_siren(inrf_arch *arch, uint32_t width, uint32_t height,
                              uint8_t channels, uint8_t layers, uint16_t hidden);

/* Checks an architecture against the spec (not reader limits). */
INRF_API INRF_NODISCARD inrf_status inrf_arch_check(const inrf_arch *arch);

/* Allocates a model with all weights zero, all layers fp32, unpruned. */
INRF_API INRF_NODISCARD inrf_status inrf_model_create(const inrf_arch *arch, inrf_model **out);
INRF_API void inrf_model_free(inrf_model *model);

/* Deep copy. */
INRF_API INRF_NODISCARD inrf_status inrf_model_clone(const inrf_model *model, inrf_model **out);

/* SIREN initialisation (Sitzmann et al., 2020): first layer U(-1/in, 1/in), the others
 * U(+-sqrt(6/in)/w0); biases U(+-1/sqrt(in)). Deterministic for a seed. */
INRF_API void inrf_model_init(inrf_model *model, uint64_t seed);

/* Total weights and biases, and how many of them a file stores. */
INRF_API size_t inrf_model_params(const inrf_model *model);

/* Re-encodes layer l: INRF_ENC_F32 keeps w, F16 rounds w to binary16,
 * INT8 / INT8_ROW quantise symmetrically (scale = max|w| / 127 per layer or
 * row, 1 where all weights are 0; q = round(w / scale)) and set
 * w = q * scale. The bias is rounded to
 * binary16 when bias_encoding is F16. Pruned positions stay 0. */
INRF_API INRF_NODISCARD inrf_status inrf_layer_encode(inrf_model *model, unsigned l,
                                                      inrf_encoding encoding,
                                                      inrf_encoding bias_encoding);

/* Prunes layer l with a kept-weight bitmap (layout as inrf_layer.mask; NULL
 * removes pruning). Pruned weights become 0; int8 values and scales are
 * recomputed if the layer is int8. */
INRF_API INRF_NODISCARD inrf_status inrf_layer_set_mask(inrf_model *model, unsigned l,
                                                        const uint8_t *mask);

/* Names for display: "f32", "f16", "int8", "int8-row"; "SIREN"; "unit",
 * "signed". "unknown" for values this library does not know. */
INRF_API const char *inrf_encoding_name(unsigned encoding);
INRF_API const char *inrf_kind_name(unsigned kind);
INRF_API const char *inrf_output_map_name(unsigned output_map);

/* Kind-specific text for inspection tools (inrinfo, inrpack info),
 * written by the model's kind (spec "Network kinds") into buf as snprintf
 * writes (NUL-terminated, cut to size); returns the length it needs, 0
 * for a kind this library does not know or a part not of the function. */
typedef enum inrf_info_part {
    INRF_INFO_NETWORK = 0,     /* inrf_model_info: text lines on the network
                                  ("  network:     SIREN, 3 sine layers, ...") */
    INRF_INFO_WEIGHTS = 1,     /* inrf_model_info: text lines on the weights
                                  (SIREN: the layer table) */
    INRF_INFO_JSON = 2,        /* inrf_model_info: JSON members from "kind" on,
                                  a line each, indented 4, ",\n" between */
    INRF_INFO_SUMMARY = 3,     /* inrf_arch_info: the architecture in a few
                                  words ("SIREN 3 x 15, w0 30/30") */
    INRF_INFO_ARCH_JSON = 4,   /* inrf_arch_info: its JSON members on one line,
                                  ", " between */
} inrf_info_part;
INRF_API size_t inrf_model_info(const inrf_model *model, int part, char *buf, size_t size);
INRF_API size_t inrf_arch_info(const inrf_arch *arch, int part, char *buf, size_t size);

/* Bytes of a layer's record in the WGHT chunk (spec "Layer record"). */
INRF_API size_t inrf_layer_bytes(const inrf_layer *layer);

/* Bytes of the weights-only payload (all layer records, uncompressed). */
INRF_API size_t inrf_model_weight_bytes(const inrf_model *model);

/* -------------------------------------------------------------- reading */

/* Reader limits: refusals happen before any allocation. */
typedef struct inrf_read_options {
    int abi;                   /* set by inrf_read_options_init; do not touch */
    size_t max_file_bytes;     /* file size, default 64 MiB, at most 2^31 */
    uint32_t max_dim;          /* width/height, default INRF_MAX_DIM */
    unsigned max_layers;       /* sine layers, 1..64, default 64 */
    unsigned max_width;        /* neurons per layer, 1..1024, default 1024 */
    size_t max_params;         /* weights + biases, default 2^22 */
    uint64_t reserved_[8];     /* 0 (set by the init function); the fields of
                                  later minor ABI versions (inrf/types.h) */
} inrf_read_options;

INRF_API void inrf_read_options_init_(inrf_read_options *opt, int abi);
#define inrf_read_options_init(opt) inrf_read_options_init_((opt), INRF_ABI_VERSION)

/* Parses and fully validates a file image. opt may be NULL (defaults). */
INRF_API INRF_NODISCARD inrf_status inrf_read_memory(const void *data, size_t size,
                                                     const inrf_read_options *opt,
                                                     inrf_model **out);
/* Same from a path (memory-mapped); "-" reads standard input. */
INRF_API INRF_NODISCARD inrf_status inrf_read_file(const char *path,
                                                   const inrf_read_options *opt,
                                                   inrf_model **out);

/* One chunk as found in a file, for inspection tools. */
typedef struct inrf_chunk_info {
    char type[5];              /* four letters and NUL */
    uint32_t flags;            /* chunk flags as stored */
    uint64_t offset;           /* of the chunk header from the file start */
    uint32_t stored_bytes;     /* payload bytes as stored */
    uint32_t raw_bytes;        /* payload bytes after decompression */
    int checksum_ok;           /* 1 good, 0 bad, -1 not checked (truncated) */
    uint64_t reserved_[2];     /* 0 as returned; the fields of later minor ABI
                                  versions (inrf/types.h) */
} inrf_chunk_info;

/* Walks the chunks without building a model: checks the file header and
 * every checksum. Fills up to max entries of chunks (may be NULL) and the
 * total count; returns the first problem found (the walk stops at framing
 * errors but goes on past checksum mismatches). */
INRF_API INRF_NODISCARD inrf_status inrf_scan_memory(const void *data, size_t size,
                                                     inrf_chunk_info *chunks, size_t max,
                                                     size_t *count);

/* -------------------------------------------------------------- writing */

typedef struct inrf_write_options {
    int abi;                   /* set by inrf_write_options_init */
    int compress;              /* 0 never, 1 zstd the WGHT payload when smaller
                                  (default), 2 always */
    int zstd_level;            /* 1..22, default 19 */
    int store_psnr;            /* write a 'qual' chunk when model->psnr is
                                  finite; default 1 */
    uint64_t reserved_[8];     /* 0 (set by the init function); the fields of
                                  later minor ABI versions (inrf/types.h) */
} inrf_write_options;

INRF_API void inrf_write_options_init_(inrf_write_options *opt, int abi);
#define inrf_write_options_init(opt) inrf_write_options_init_((opt), INRF_ABI_VERSION)

/* Serialises to a buffer (free with inrf_free). opt may be NULL. */
INRF_API INRF_NODISCARD inrf_status inrf_write_memory(const inrf_model *model,
                                                      const inrf_write_options *opt,
                                                      void **data, size_t *size);
/* Writes path as inrf_file_write_atomic does (a regular file atomically,
 * a device or FIFO in place); "-" writes standard output. */
INRF_API INRF_NODISCARD inrf_status inrf_write_file(const inrf_model *model,
                                                    const inrf_write_options *opt,
                                                    const char *path);

/* The model's weights as one record: the WGHT payload of spec/inrf.md,
 * uncompressed, which is also the record of an .inrpack (spec/inrpack.md).
 * Free with inrf_free. */
INRF_API INRF_NODISCARD inrf_status inrf_model_record(const inrf_model *model, void **data,
                                                      size_t *size);

/* Writes size bytes to path, never replacing what is not a regular file:
 * - a new or regular file is replaced atomically (temporary file in the
 *   same folder, fsync, rename): readers see the old file or the new one,
 *   and nothing is left behind on failure;
 * - a symbolic link is followed, as cp does: its target is replaced (the
 *   temporary file beside the target) and the link stays; a dangling link
 *   is refused;
 * - a device or a FIFO is opened and written in place, as standard output
 *   ("-") is; its errors (ENOSPC of /dev/full) fail;
 * - a directory is refused.
 * Every message names path. */
INRF_API INRF_NODISCARD inrf_status inrf_file_write_atomic(const char *path, const void *data,
                                                           size_t size);

/* Whether inrf_file_write_atomic could write path, for callers that check
 * their output before any long work: a directory, a dangling link, a
 * folder that is missing or not writable, a special file that cannot be
 * written fail with a message naming path. Creates nothing; "-" is OK. */
INRF_API INRF_NODISCARD inrf_status inrf_file_check_output(const char *path);

/* Reads a whole file (or standard input for "-") into a buffer (free with
 * inrf_free); INRF_E_LIMIT past max_bytes. */
INRF_API INRF_NODISCARD inrf_status inrf_file_read(const char *path, size_t max_bytes,
                                                   void **data, size_t *size);

/* inrf_file_read for a file that must begin with one of `count` magics of
 * magic_size bytes each: when the first magic_size bytes (or all of a
 * shorter file) begin none of them, fails with INRF_E_NOT_INRF, "not KIND
 * (bad magic)" (kind e.g. "an .inrf file"), having read only those bytes:
 * a pipe or a device (/dev/zero) is refused at once rather than read up to
 * max_bytes. A file shorter than the magic is returned for the caller's
 * parser to call truncated. Free *data with inrf_free. */
INRF_API INRF_NODISCARD inrf_status inrf_file_read_magic(const char *path, size_t max_bytes,
                                                         const char *const *magics,
                                                         size_t count, size_t magic_size,
                                                         const char *kind, void **data,
                                                         size_t *size);

/* Opens (creating it) and locks path with an exclusive flock, without
 * waiting, and checks that path still names the locked file (a holder that
 * removed it as it let go would otherwise hand over a lock on nothing).
 * *fd receives the descriptor; closing it lets go. When another process
 * holds the lock, fails with INRF_E_IO and *busy = 1 (else *busy = 0). */
INRF_API INRF_NODISCARD inrf_status inrf_file_lock(const char *path, int *fd, int *busy);

/* Removes the temporary files (PATH.tmp-XXXXXX beside path, or beside the
 * target of its symbolic links) that inrf_file_write_atomic leaves when its
 * process is killed; calls on_removed (may be NULL) with each removed
 * file's name; returns how many. Only for a caller that has proved that
 * no one else writes path now (a lock every writer of path takes): then
 * each such file is stale. Best effort: what cannot be read or removed is
 * left. */
INRF_API size_t inrf_file_remove_stale_temps(const char *path,
                                            void (*on_removed)(const char *file, void *ctx),
                                            void *ctx);

/* Removes the temporary files of atomic writes in progress. Async-signal-
 * safe: tools call it from their SIGINT/SIGTERM handler so that an
 * interrupted write leaves nothing behind. */
INRF_API void inrf_remove_temp_files(void);

/* -------------------------------------------------------------- decoding */

typedef struct inrf_decode_options {
    int abi;                   /* set by inrf_decode_options_init */
    uint32_t width, height;    /* output size in pixels; 0 = the source size */
    double window[4];          /* x0, y0, x1, y1: the region decoded, in the
                                  normalised coordinates of spec "Decoding";
                                  default -1, -1, 1, 1 (the whole image);
                                  x0 > x1 mirrors horizontally */
    uint32_t canvas_w, canvas_h; /* pixel crop: when canvas_w > 0, output pixel
                                  (i, j) is pixel (crop_x + i, crop_y + j) of
                                  the decode at canvas_w x canvas_h, bit for
                                  bit, and window is ignored; default 0 */
    uint32_t crop_x, crop_y;   /* origin of the pixel crop, default 0 */
    int threads;               /* threads at most, 0 (default) = the CPUs this
                                  process may run on; fewer when the image is
                                  small (none for a few thousand pixels) */
    uint64_t reserved_[8];     /* 0 (set by the init function); the fields of
                                  later minor ABI versions (inrf/types.h) */
} inrf_decode_options;

INRF_API void inrf_decode_options_init_(inrf_decode_options *opt, int abi);
#define inrf_decode_options_init(opt) inrf_decode_options_init_((opt), INRF_ABI_VERSION)

/* Window for a pixel rectangle (x, y, w, h) of an image decoded at
 * full_w x full_h: decoding it at w x h gives those pixels up to binary32
 * rounding of the coordinates (use canvas_w/crop_x for bit-exact crops). */
INRF_API void inrf_window_from_pixels(double window[4], uint32_t full_w, uint32_t full_h,
                                      uint32_t x, uint32_t y, uint32_t w, uint32_t h);

/* Decodes to 8-bit samples, rows of width*channels bytes, stride bytes
 * apart (0 = packed). channels is the model's (1 or 3). */
INRF_API INRF_NODISCARD inrf_status inrf_decode_u8(const inrf_model *model,
                                                   const inrf_decode_options *opt,
                                                   uint8_t *pixels, size_t stride);
/* Same to floats in [0, 1] (mapped and clamped, not rounded). */
INRF_API INRF_NODISCARD inrf_status inrf_decode_f32(const inrf_model *model,
                                                    const inrf_decode_options *opt,
                                                    float *pixels, size_t stride);

/* Multiply-adds per decoded pixel (for throughput figures). */
INRF_API uint64_t inrf_model_macs_per_pixel(const inrf_model *model);

/* Name of the decode kernel chosen for this CPU ("avx512", "avx2", "generic"). */
INRF_API const char *inrf_decode_kernel_name(void);

/* -------------------------------------------------------------- quality */

/* Mean squared error and PSNR (dB, peak 255) between two 8-bit buffers of
 * n samples; PSNR is INFINITY when they are equal. */
INRF_API double inrf_mse_u8(const uint8_t *a, const uint8_t *b, size_t n);
INRF_API double inrf_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n);
/* PSNR from an MSE (peak 255). */
INRF_API double inrf_psnr_from_mse(double mse);

#ifdef __cplusplus
}
#endif

#endif /* INRF_MODEL_H */
