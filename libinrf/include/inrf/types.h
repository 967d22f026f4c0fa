/* types.h: what every public header of libinrf shares: the export and
 * result-check attributes, the library version, and the one status enum. */
#ifndef INRF_TYPES_H
#define INRF_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(INRF_BUILDING_LIBRARY)
#define INRF_API __attribute__((visibility("default")))
#else
#define INRF_API
#endif
#if defined(__GNUC__)
#define INRF_NODISCARD __attribute__((warn_unused_result))
#else
#define INRF_NODISCARD
#endif

/* Library version (semantic); also the ABI version that option structs
 * record through their init functions. */
#define INRF_VERSION_MAJOR 0
#define INRF_VERSION_MINOR 1
#define INRF_VERSION_PATCH 0
#define INRF_VERSION_STRING "0.1.0"
#define INRF_ABI_VERSION 1

/* ---------------------------------------------------------------- status */

/* One status enum for the whole library. Values are pinned forever:
 * new codes are appended, none is renumbered or reused. */
typedef enum inrf_status {
    INRF_OK = 0,
    INRF_E_INVALID_ARG = 1,  /* caller passed a bad argument or option */
    INRF_E_NOMEM = 2,        /* an allocation failed */
    INRF_E_IO = 3,           /* read, write, open, rename, mmap failed */
    INRF_E_NOT_INRF = 4,     /* the data does not start with the .inrf magic */
    INRF_E_VERSION = 5,      /* unknown major version of a format */
    INRF_E_TRUNCATED = 6,    /* the data ends before the structure does */
    INRF_E_CHECKSUM = 7,     /* an XXH3-64 checksum does not match */
    INRF_E_FORMAT = 8,       /* a structure or value breaks the spec */
    INRF_E_UNSUPPORTED = 9,  /* a valid but unknown critical feature */
    INRF_E_LIMIT = 10,       /* exceeds a configured reader limit */
    INRF_E_IMAGE = 11,       /* an image file (PNG/JPEG) cannot be read/written */
    INRF_E_COMPRESS = 12,    /* zstd failed to compress or decompress */
    INRF_E_CUDA = 13,        /* a CUDA runtime, cuBLAS or cuDNN call failed */
    INRF_E_NO_DEVICE = 14,   /* no usable GPU */
    INRF_E_INTERRUPTED = 15, /* stopped by a signal or a callback */
} inrf_status;
#define INRF_STATUS_COUNT 16

/* A fixed, human-readable text for a status ("checksum mismatch"). */
INRF_API const char *inrf_strerror(inrf_status status);

/* The detailed message of the last failing call in this thread, such as
 * "chunk WGHT at offset 52: checksum mismatch"; "" when none. Valid until
 * the next failing call in the same thread. */
INRF_API const char *inrf_last_error(void);

/* Records message as this thread's inrf_last_error() and returns status:
 * for modules built outside the library, such as the CUDA kernels, so
 * that their failures read like the library's own. */
INRF_API inrf_status inrf_report(inrf_status status, const char *message);

/* Library version as "0.1.0". */
INRF_API const char *inrf_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* INRF_TYPES_H */
