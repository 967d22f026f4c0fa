/* error.c: the trainer's per-thread error message (error.h); kept apart
 * from libinrf's so that the trainer needs only libinrf's public API. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

static _Thread_local char last_error[512];

const char *trn_last_error(void) { return last_error; }

inrf_status trn_fail(inrf_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
