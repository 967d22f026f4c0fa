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

#endif /* TRN_ERROR_H */
