/* pack_journal.c: the journal of finished encodings that lets an
 * interrupted `inrpack create` resume without losing or repeating work. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "cli.h"
#include "inrpack.h"

/* Layout, little-endian:
 *   header 24 bytes: "INRPJRN2", u64 job key, u64 XXH3-64 of bytes 0..15
 *   entry: u32 seq, u32 label, u32 size, u64 source (XXH3-64 of the
 *          source file's bytes), size bytes of .inrf,
 *          u64 XXH3-64 of the 20 + size bytes before it
 * Version 1 ("INRPJRN1") had no source hash. */
#define J_MAGIC "INRPJRN2"
#define J_MAGIC_V1 "INRPJRN1"
#define J_HEADER 24
#define J_ENTRY_HEAD 20

struct journal {
    int fd;                    /* holds the job's flock until closed */
    char *path;
    off_t end;                 /* length of the valid part */
    size_t entries;            /* in the valid part */
    int failed;                /* an append failed (reported once) */
    int named;                 /* 0: an unnamed temporary file */
};

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t ld64(const uint8_t *p) { return ld32(p) | (uint64_t)ld32(p + 4) << 32; }

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* Reads the whole journal (small: ~1 KB an image). */
static uint8_t *slurp(journal *j, size_t *n)
{
    struct stat sb;
    if (fstat(j->fd, &sb) != 0)
        return NULL;
    *n = (size_t)sb.st_size;
    uint8_t *d = malloc(*n ? *n : 1);
    if (!d)
        return NULL;
    size_t got = 0;
    while (got < *n) {
        ssize_t r = pread(j->fd, d + got, *n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    *n = got;
    return d;
}

/* Length of the valid prefix of d (header included) and its entries. */
static size_t valid_length(const uint8_t *d, size_t n, size_t *entries)
{
    size_t pos = J_HEADER;
    *entries = 0;
    while (n - pos >= J_ENTRY_HEAD + 8) {
        size_t size = ld32(d + pos + 8);
        if (size > n - pos - J_ENTRY_HEAD - 8)
            break;
        if (XXH3_64bits(d + pos, J_ENTRY_HEAD + size) != ld64(d + pos + J_ENTRY_HEAD + size))
            break;
        pos += J_ENTRY_HEAD + size + 8;
        ++*entries;
    }
    return pos;
}

/* Opens (creates) j->path and takes its exclusive flock, held until
 * journal_close: a second job into the same output stops here. The name
 * must still lead to the locked file: a job that finished in between has
 * unlinked it (under its lock), and the next open makes a new one. 1 on
 * success; else 0 after printing why, j freed. */
static int lock_journal(journal *j)
{
    int busy;
    if (inrf_file_lock(j->path, &j->fd, &busy) == INRF_OK)
        return 1;
    if (busy)
        cli_error("%s: another job holds this journal (an inrpack create into the same output "
                  "is running); wait for it to end or choose another -o", j->path);
    else
        cli_error("%s", inrf_last_error());
    journal_close(j, 0);
    return 0;
}

int journal_open(const char *path, uint64_t key, journal **out, size_t *resumed)
{
    *out = NULL;
    *resumed = 0;
    journal *j = calloc(1, sizeof *j);
    if (j)
        j->fd = -1;
    if (!j || !(j->path = strdup(path ? path : "(journal in a temporary file)"))) {
        free(j);
        cli_error("out of memory");
        return 0;
    }
    if (!path) { /* unnamed: nothing to resume, nothing to lock */
        FILE *f = tmpfile();
        j->fd = f ? dup(fileno(f)) : -1;
        if (f)
            fclose(f);
        if (j->fd < 0) {
            cli_error("a temporary file for the journal: %s", strerror(errno));
            journal_close(j, 0);
            return 0;
        }
    } else if (!lock_journal(j)) {
        return 0;
    }
    j->named = path != NULL;
    uint8_t head[J_HEADER];
    memcpy(head, J_MAGIC, 8);
    st64(head + 8, key);
    st64(head + 16, XXH3_64bits(head, 16));
    size_t n = 0, entries = 0;
    uint8_t *d = slurp(j, &n);
    if (!d) {
        cli_error("%s: cannot read: %s", path, strerror(errno));
        journal_close(j, 0);
        return 0;
    }
    if (n >= 8 && memcmp(d, J_MAGIC_V1, 8) == 0) {
        cli_error("%s: a journal of an older inrpack (no source hashes); remove it to start "
                  "afresh", path);
        free(d);
        journal_close(j, 0);
        return 0;
    }
    if (n >= J_HEADER && memcmp(d, J_MAGIC, 8) == 0 &&
        XXH3_64bits(d, 16) == ld64(d + 16)) {
        if (ld64(d + 8) != key) {
            cli_error("%s: a journal of another job (other sources, encoder options, "
                      "seed, --resize, shard or channels); remove it or rerun the command that made it",
                      path);
            free(d);
            journal_close(j, 0);
            return 0;
        }
        j->end = (off_t)valid_length(d, n, &entries);
    } else if (n >= 8 && memcmp(d, J_MAGIC, 8) != 0) {
        cli_error("%s: exists and is not a journal of inrpack; remove it", path);
        free(d);
        journal_close(j, 0);
        return 0;
    } else { /* new, or a header torn while it was written */
        if (ftruncate(j->fd, 0) != 0 || pwrite(j->fd, head, J_HEADER, 0) != J_HEADER) {
            cli_error("%s: %s", path, strerror(errno));
            free(d);
            journal_close(j, 0);
            return 0;
        }
        j->end = J_HEADER;
    }
    free(d);
    /* cut a torn last entry so that appends follow the valid part */
    if (ftruncate(j->fd, j->end) != 0 || lseek(j->fd, j->end, SEEK_SET) != j->end) {
        cli_error("%s: %s", path, strerror(errno));
        journal_close(j, 0);
        return 0;
    }
    j->entries = entries;
    *resumed = entries;
    *out = j;
    return 1;
}

int journal_each(journal *j, int (*fn)(const journal_entry *e, void *user), void *user)
{
    size_t n = 0, entries;
    uint8_t *d = slurp(j, &n);
    if (!d) {
        cli_error("%s: cannot read: %s", j->path, strerror(errno));
        return 0;
    }
    size_t end = n >= J_HEADER ? valid_length(d, n, &entries) : 0;
    int ok = 1;
    for (size_t pos = J_HEADER; ok && pos < end;) {
        journal_entry e = {ld32(d + pos), ld32(d + pos + 4), ld64(d + pos + 12),
                           d + pos + J_ENTRY_HEAD, ld32(d + pos + 8)};
        ok = fn(&e, user) == 0;
        pos += J_ENTRY_HEAD + e.size + 8;
    }
    free(d);
    return ok;
}

int journal_append(journal *j, uint32_t seq, uint32_t label, uint64_t source, const void *inrf,
                   size_t size)
{
    if (j->failed) /* said once: several jobs hit the same full disk */
        return 0;
    size_t n = J_ENTRY_HEAD + size + 8;
    uint8_t *e = malloc(n);
    if (!e) {
        cli_error("out of memory");
        j->failed = 1;
        return 0;
    }
    st32(e, seq);
    st32(e + 4, label);
    st32(e + 8, (uint32_t)size);
    st64(e + 12, source);
    memcpy(e + J_ENTRY_HEAD, inrf, size);
    st64(e + J_ENTRY_HEAD + size, XXH3_64bits(e, J_ENTRY_HEAD + size));
    int ok = write_all(j->fd, e, n);
    free(e);
    if (!ok) {
        cli_error("%s: %s", j->path, strerror(errno ? errno : ENOSPC));
        j->failed = 1;
        /* leave the journal ending on a whole entry */
        if (ftruncate(j->fd, j->end) == 0)
            (void)lseek(j->fd, j->end, SEEK_SET);
        return 0;
    }
    j->end += (off_t)n;
    j->entries++;
    return 1;
}

size_t journal_entries(const journal *j) { return j ? j->entries : 0; }

void journal_close(journal *j, int remove)
{
    if (!j)
        return;
    /* unlinked while still locked: no other job can lock this file and
     * then find it gone (journal_open checks the name still leads to it) */
    if (remove && j->path && j->named)
        unlink(j->path);
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j);
}
