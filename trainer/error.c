/* error.c: the trainer's per-thread error message (error.h); kept apart
 * from libinrf's so that the trainer needs only libinrf's public API. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static _Thread_local char last_error[512];
static _Thread_local int reported;

const char *trn_last_error(void) { return last_error; }

int trn_error_reported(void) { return reported; }

inrf_status trn_fail_reported(inrf_status status)
{
    last_error[0] = 0;
    reported = 1;
    return status;
}

inrf_status trn_fail_lib(inrf_status status, const char *path, const char *what)
{
    const char *detail = inrf_last_error();
    if (!detail || !detail[0])
        detail = inrf_strerror(status);
    size_t n = strlen(path);
    if (strncmp(detail, path, n) == 0 && detail[n] == ':' && detail[n + 1] == ' ')
        detail += n + 2;
    return trn_fail(status, "%s: %s%s%s", path, what ? what : "", what ? ": " : "", detail);
}

inrf_status trn_fail(inrf_status status, const char *fmt, ...)
{
    reported = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
