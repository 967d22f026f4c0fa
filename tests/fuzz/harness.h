/* harness.h: the shape of every harness: the input as it is, then a
 * copy with its checksums recomputed so that mutations reach the parser
 * behind them; and a file holding the input, for parsers that take a path. */
#ifndef INRF_FUZZ_HARNESS_H
#define INRF_FUZZ_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int fuzz_twice(const uint8_t *data, size_t size,
                             void (*one_input)(const uint8_t *, size_t),
                             void (*fix_checksums)(uint8_t *, size_t))
{
    one_input(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_checksums(copy, size);
    one_input(copy, size);
    free(copy);
    return 0;
}

/* A path whose file holds exactly data, rewritten at each call: an
 * anonymous memory file (nothing left behind after a crash), else a
 * temporary file removed at exit. NULL when neither can be made. */
static inline char *fuzz_path(void)
{
    static char path[4096];
    return path;
}

static inline void fuzz_remove_file(void) { unlink(fuzz_path()); }

static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char *path = fuzz_path();
    if (fd < 0) {
        fd = (int)syscall(SYS_memfd_create, "inrf-fuzz", 0);
        if (fd >= 0) {
            snprintf(path, 4096, "/proc/self/fd/%d", fd);
            if (access(path, R_OK | W_OK) != 0) { /* no /proc */
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0) {
            const char *tmp = getenv("TMPDIR");
            snprintf(path, 4096, "%s/inrf-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            if ((fd = mkstemp(path)) < 0)
                return NULL;
            atexit(fuzz_remove_file);
        }
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        return NULL;
    return path;
}

#endif /* INRF_FUZZ_HARNESS_H */
