/* fileio.c: whole-file input (memory-mapped, or read from a pipe after a
 * look at its magic) and output (atomic replacement of a regular file:
 * temporary file in the same folder, fsync, rename; special files written
 * directly). */
#define _GNU_SOURCE 1 /* mkostemp */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Whether the first n bytes read pass the reader's check; called once, when
 * check->need bytes are in or the file has ended before. */
static inrf_status check_prefix(const inrf_magic_check *check, const uint8_t *d, size_t n)
{
    if (!check)
        return INRF_OK;
    return check->fn(d, n < check->need ? n : check->need, check->user);
}

/* A pipe or a device: read in growing chunks, the magic checked as soon as
 * its bytes are in, so that /dev/zero fails at once rather than at the
 * limit. */
static inrf_status read_all(int fd, const char *path, size_t max_bytes,
                            const inrf_magic_check *check, inrf_blob *blob)
{
    size_t cap = 1 << 16, n = 0;
    int checked = check == NULL;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return inrf_fail(INRF_E_NOMEM, "%s: out of memory", path);
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) {
                free(buf);
                return inrf_fail(INRF_E_LIMIT, "%s: more than %zu bytes", path, max_bytes);
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return inrf_fail(INRF_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return inrf_fail(INRF_E_IO, "%s: %s", path, strerror(e));
        }
        n += (size_t)r;
        if (!checked && (r == 0 || n >= check->need)) {
            checked = 1;
            inrf_status st = check_prefix(check, buf, n);
            if (st != INRF_OK) {
                free(buf);
                return st;
            }
        }
        if (r == 0)
            break;
    }
    if (n > max_bytes) {
        free(buf);
        return inrf_fail(INRF_E_LIMIT, "%s: %zu bytes over the limit %zu", path, n, max_bytes);
    }
    blob->data = buf;
    blob->size = n;
    blob->heap_ = buf;
    return INRF_OK;
}

inrf_status inrf_blob_open_checked(const char *path, size_t max_bytes,
                                   const inrf_magic_check *check, inrf_blob *blob)
{
    memset(blob, 0, sizeof *blob);
    if (strcmp(path, "-") == 0)
        return read_all(STDIN_FILENO, "standard input", max_bytes, check, blob);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    inrf_status st = INRF_OK;
    if (fstat(fd, &sb) != 0) {
        st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        st = inrf_fail(INRF_E_IO, "%s: is a directory", path);
    } else if (S_ISREG(sb.st_mode)) {
        if ((uint64_t)sb.st_size > max_bytes) {
            st = inrf_fail(INRF_E_LIMIT, "%s: %lld bytes over the limit %zu", path,
                           (long long)sb.st_size, max_bytes);
        } else if (sb.st_size == 0) {
            blob->data = (const uint8_t *)"";
        } else {
            void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (map == MAP_FAILED) {
                st = read_all(fd, path, max_bytes, check, blob);
                check = NULL; /* done by read_all */
            } else {
                blob->data = map;
                blob->size = (size_t)sb.st_size;
                blob->map_ = map;
            }
        }
        if (st == INRF_OK && (st = check_prefix(check, blob->data, blob->size)) != INRF_OK)
            inrf_blob_close(blob);
    } else {
        st = read_all(fd, path, max_bytes, check, blob);
    }
    close(fd);
    return st;
}

inrf_status inrf_blob_open(const char *path, size_t max_bytes, inrf_blob *blob)
{
    return inrf_blob_open_checked(path, max_bytes, NULL, blob);
}

void inrf_blob_close(inrf_blob *blob)
{
    if (blob->map_)
        munmap(blob->map_, blob->size);
    free(blob->heap_);
    memset(blob, 0, sizeof *blob);
}

/* Hands a blob over as a malloc'd buffer. */
static inrf_status blob_to_heap(const char *path, inrf_blob *blob, void **data, size_t *size)
{
    if (blob->heap_) { /* already a heap copy: hand it over */
        *data = blob->heap_;
        *size = blob->size;
        return INRF_OK;
    }
    void *copy = malloc(blob->size ? blob->size : 1);
    if (!copy) {
        inrf_blob_close(blob);
        return inrf_fail(INRF_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(copy, blob->data, blob->size);
    *data = copy;
    *size = blob->size;
    inrf_blob_close(blob);
    return INRF_OK;
}

inrf_status inrf_file_read(const char *path, size_t max_bytes, void **data, size_t *size)
{
    return inrf_file_read_magic(path, max_bytes, NULL, 0, 0, NULL, data, size);
}

typedef struct magic_list {
    const char *const *magics;
    size_t count, size;
    const char *kind;
} magic_list;

/* The first n bytes must be one of the magics, or (a short file) the start
 * of one. */
static inrf_status check_magic_list(const uint8_t *d, size_t n, const void *user)
{
    const magic_list *m = user;
    for (size_t i = 0; i < m->count; i++)
        if (memcmp(d, m->magics[i], n < m->size ? n : m->size) == 0)
            return INRF_OK;
    return inrf_fail(INRF_E_NOT_INRF, "not %s (bad magic)", m->kind);
}

inrf_status inrf_file_read_magic(const char *path, size_t max_bytes, const char *const *magics,
                                 size_t count, size_t magic_size, const char *kind, void **data,
                                 size_t *size)
{
    if (!path || !data || !size || (count && (!magics || !magic_size)))
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    *data = NULL;
    *size = 0;
    magic_list list = {magics, count, magic_size, kind ? kind : "the expected kind of file"};
    inrf_magic_check check = {magic_size, check_magic_list, &list};
    inrf_blob blob;
    inrf_status st = inrf_blob_open_checked(path, max_bytes, count ? &check : NULL, &blob);
    if (st != INRF_OK)
        return st;
    return blob_to_heap(path, &blob, data, size);
}

/* Temporary files being written, for inrf_remove_temp_files(). A signal
 * handler reads the table; a slot's path is complete before it is marked
 * used and unmarked before it is reused. */
#define TEMP_SLOTS 64
static struct {
    volatile sig_atomic_t used;
    char path[4096];
} temp_files[TEMP_SLOTS];
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;

static int temp_register(const char *path)
{
    pthread_mutex_lock(&temp_lock);
    int slot = -1;
    for (int i = 0; i < TEMP_SLOTS && slot < 0; i++)
        if (!temp_files[i].used && strlen(path) < sizeof temp_files[i].path) {
            strcpy(temp_files[i].path, path);
            temp_files[i].used = 1;
            slot = i;
        }
    pthread_mutex_unlock(&temp_lock);
    return slot;
}

static void temp_release(int slot)
{
    if (slot >= 0)
        temp_files[slot].used = 0;
}

void inrf_remove_temp_files(void)
{
    for (int i = 0; i < TEMP_SLOTS; i++)
        if (temp_files[i].used)
            unlink(temp_files[i].path);
}

static mode_t process_umask;
static void read_umask(void)
{
    /* umask() can only be read by setting it; done once per process. */
    process_umask = umask(022);
    umask(process_umask);
}

/* mkstemp makes 0600 files; the result gets the usual 0666 & ~umask. */
static mode_t file_mode(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_umask);
    return 0666 & ~process_umask;
}

static inrf_status write_fd(int fd, const char *path, const void *data, size_t size)
{
    const uint8_t *p = data;
    while (size) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
        p += w;
        size -= (size_t)w;
    }
    return INRF_OK;
}

/* A device, a FIFO (a socket cannot be opened: ENXIO): written in place,
 * as standard output is (no temporary file, no rename, which would replace
 * it). */
static inrf_status write_special(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    inrf_status st = write_fd(fd, path, data, size);
    if (close(fd) != 0 && st == INRF_OK)
        st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    return st;
}

/* A new or regular file at target: temporary file beside it, fsync, rename. */
static inrf_status write_replace(const char *path, const char *target, const void *data,
                                 size_t size)
{
    size_t n = strlen(target);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    snprintf(tmp, n + 16, "%s.tmp-XXXXXX", target);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        inrf_status st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    int slot = temp_register(tmp);
    inrf_status st = write_fd(fd, path, data, size);
    if (st == INRF_OK && fchmod(fd, file_mode()) != 0)
        st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    if (st == INRF_OK && fsync(fd) != 0)
        st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    if (close(fd) != 0 && st == INRF_OK)
        st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    if (st == INRF_OK && rename(tmp, target) != 0)
        st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
    if (st != INRF_OK)
        unlink(tmp);
    temp_release(slot);
    free(tmp);
    return st;
}

enum output_kind { OUTPUT_REPLACE, OUTPUT_SPECIAL };

/* What writing path means (inrf.h, inrf_file_write_atomic): a regular or
 * new file is replaced at *target (path, or the end of its symbolic links,
 * malloc'd); a special file is written in place; a directory and a dangling
 * link are refused. */
static inrf_status classify_output(const char *path, enum output_kind *kind, char **target)
{
    struct stat sb, lsb;
    *target = NULL;
    *kind = OUTPUT_REPLACE;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode))
            return inrf_fail(INRF_E_IO, "%s: dangling symbolic link; not writing through it",
                             path);
        /* a new file (or ENOTDIR, EACCES...: the temporary file says) */
    } else if (S_ISDIR(sb.st_mode)) {
        return inrf_fail(INRF_E_IO, "%s: is a directory", path);
    } else if (!S_ISREG(sb.st_mode)) {
        *kind = OUTPUT_SPECIAL;
        return INRF_OK;
    } else if (lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode)) {
        if (!(*target = realpath(path, NULL)))
            return inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
        return INRF_OK;
    }
    if (!(*target = strdup(path)))
        return inrf_fail(INRF_E_NOMEM, "out of memory");
    return INRF_OK;
}

/* The folder of a file path ("." when it has none), malloc'd. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = 0;
    }
    return d;
}

inrf_status inrf_file_check_output(const char *path)
{
    if (!path)
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    if (strcmp(path, "-") == 0)
        return INRF_OK;
    enum output_kind kind;
    char *target;
    inrf_status st = classify_output(path, &kind, &target);
    if (st != INRF_OK || kind == OUTPUT_SPECIAL) {
        if (st == INRF_OK && access(path, W_OK) != 0)
            st = inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
        return st;
    }
    /* the temporary file and the rename need a folder that takes files */
    char *dir = folder_of(target);
    struct stat sb;
    if (!dir)
        st = inrf_fail(INRF_E_NOMEM, "out of memory");
    else if (stat(dir, &sb) != 0)
        st = inrf_fail(INRF_E_IO, "%s: folder %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        st = inrf_fail(INRF_E_IO, "%s: %s is not a folder", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        st = inrf_fail(INRF_E_IO, "%s: folder %s: %s", path, dir, strerror(errno));
    free(dir);
    free(target);
    return st;
}

/* Whether name is base + ".tmp-" + six characters of mkstemp's set (the
 * temporary name write_replace makes). */
static int is_temp_of(const char *name, const char *base, size_t nb)
{
    if (strncmp(name, base, nb) != 0 || strncmp(name + nb, ".tmp-", 5) != 0)
        return 0;
    const char *x = name + nb + 5;
    size_t n = strspn(x, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    return n == 6 && x[6] == '\0';
}

size_t inrf_file_remove_stale_temps(const char *path,
                                    void (*on_removed)(const char *file, void *ctx), void *ctx)
{
    enum output_kind kind;
    char *target = NULL;
    if (!path || strcmp(path, "-") == 0 || classify_output(path, &kind, &target) != INRF_OK ||
        kind == OUTPUT_SPECIAL) {
        free(target);
        return 0;
    }
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    size_t nd = slash ? (size_t)(slash - target) + 1 : 0, nb = strlen(base), removed = 0;
    char *dir = folder_of(target), *file = malloc(nd + nb + 16);
    DIR *d = dir && file ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        struct stat sb;
        if (!is_temp_of(e->d_name, base, nb))
            continue;
        memcpy(file, target, nd);
        strcpy(file + nd, e->d_name);
        if (lstat(file, &sb) != 0 || !S_ISREG(sb.st_mode) || unlink(file) != 0)
            continue;
        removed++;
        if (on_removed)
            on_removed(file, ctx);
    }
    if (d)
        closedir(d);
    free(dir);
    free(file);
    free(target);
    return removed;
}

inrf_status inrf_file_lock(const char *path, int *fd, int *busy)
{
    *fd = -1;
    *busy = 0;
    for (int tries = 0; tries < 100; tries++) {
        int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (f < 0)
            return inrf_fail(INRF_E_IO, "%s: %s", path, strerror(errno));
        if (flock(f, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(f);
            *busy = e == EWOULDBLOCK;
            return inrf_fail(INRF_E_IO, "%s: %s", path,
                             *busy ? "locked by another process" : strerror(e));
        }
        struct stat a, b;
        if (fstat(f, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            *fd = f;
            return INRF_OK;
        }
        close(f);
    }
    return inrf_fail(INRF_E_IO, "%s: replaced by other processes as fast as it is opened", path);
}

inrf_status inrf_file_write_atomic(const char *path, const void *data, size_t size)
{
    if (!path || (!data && size))
        return inrf_fail(INRF_E_INVALID_ARG, "NULL argument");
    if (strcmp(path, "-") == 0)
        return write_fd(STDOUT_FILENO, "standard output", data, size);
    enum output_kind kind;
    char *target;
    inrf_status st = classify_output(path, &kind, &target);
    if (st != INRF_OK)
        return st;
    if (kind == OUTPUT_SPECIAL)
        return write_special(path, data, size);
    st = write_replace(path, target, data, size);
    free(target);
    return st;
}
