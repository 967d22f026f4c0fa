/* status.c: status texts, the per-thread detailed error message, and the
 * library version. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const status_text[INRF_STATUS_COUNT] = {
    [INRF_OK] = "success",
    [INRF_E_INVALID_ARG] = "invalid argument",
    [INRF_E_NOMEM] = "out of memory",
    [INRF_E_IO] = "input/output error",
    [INRF_E_NOT_INRF] = "not an .inrf file",
    [INRF_E_VERSION] = "unsupported format version",
    [INRF_E_TRUNCATED] = "truncated data",
    [INRF_E_CHECKSUM] = "checksum mismatch",
    [INRF_E_FORMAT] = "malformed data",
    [INRF_E_UNSUPPORTED] = "unsupported feature",
    [INRF_E_LIMIT] = "exceeds a configured limit",
    [INRF_E_IMAGE] = "image error",
    [INRF_E_COMPRESS] = "compression error",
    [INRF_E_CUDA] = "CUDA error",
    [INRF_E_NO_DEVICE] = "no usable GPU",
    [INRF_E_INTERRUPTED] = "interrupted",
};

const char *inrf_strerror(inrf_status status)
{
    if ((unsigned)status >= INRF_STATUS_COUNT)
        return "unknown status";
    return status_text[status];
}

static _Thread_local char last_error[512];

const char *inrf_last_error(void) { return last_error; }

inrf_status inrf_fail(inrf_status status, const char *fmt, ...)
{
    /* Formatted aside first: callers often wrap the previous message
     * ("record 5: %s", inrf_last_error()), which lives in last_error. */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return status;
}

inrf_status inrf_report(inrf_status status, const char *message)
{
    return inrf_fail(status, "%s", message ? message : "");
}

const char *inrf_version_string(void) { return INRF_VERSION_STRING; }
