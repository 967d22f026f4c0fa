/* status.c: status texts, the per-thread detailed error message, the
 * library and ABI versions, and inrf_free. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

void inrf_free(void *ptr) { free(ptr); }

inrf_status inrf_check_abi(int abi, const uint64_t *reserved, size_t count, const char *what,
                           const char *init)
{
    unsigned major = (unsigned)abi >> 8, minor = (unsigned)abi & 0xff;
    if (abi == 0)
        return inrf_fail(INRF_E_INVALID_ARG, "%s: not initialised (call %s first)", what, init);
    if (!INRF_ABI_COMPATIBLE(abi))
        return inrf_fail(INRF_E_INVALID_ARG,
                         "%s: initialised for libinrf ABI %u.%u, this library's is %d.%d "
                         "(another major version: rebuild against its headers)",
                         what, major, minor, INRF_ABI_MAJOR, INRF_ABI_MINOR);
    for (size_t i = 0; i < count; i++)
        if (reserved[i] != 0)
            return inrf_fail(INRF_E_INVALID_ARG,
                             "%s: reserved_[%zu] is set (ABI %u.%u has fields that this "
                             "library, ABI %d.%d, does not know)",
                             what, i, major, minor, INRF_ABI_MAJOR, INRF_ABI_MINOR);
    return INRF_OK;
}
