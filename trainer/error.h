/* error.h: the trainer's detailed error messages: a status plus a text kept
 * per thread, like libinrf's inrf_last_error() (which it cannot reach). */
#ifndef TRN_ERROR_H
#define TRN_ERROR_H

#include "inrf/inrf.h"

#if defined(__GNUC__)
#define TRN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TRN_PRINTF(f, a)
#endif

/* Records a message for trn_last_error() and returns status. */
inrf_status trn_fail(inrf_status status, const char *fmt, ...) TRN_PRINTF(2, 3);

/* The message of the last trn_fail() in this thread; "" when none. */
const char *trn_last_error(void);

/* A libinrf failure about a file: "PATH: detail" or, with what,
 * "PATH: what: detail", the detail being inrf_last_error() (or
 * inrf_strerror(status) when empty) without the "PATH: " that libinrf's
 * file-level messages begin with (as cli_lib_error), so the path is named
 * once. */
inrf_status trn_fail_lib(inrf_status status, const char *path, const char *what);

/* A failure that a shared helper has already reported on stderr: the
 * message stays "" and trn_error_reported() is 1 until the next trn_fail. */
inrf_status trn_fail_reported(inrf_status status);
int trn_error_reported(void);

#endif /* TRN_ERROR_H */
