/* inrpack.h: what the parts of the inrpack tool share: the source list,
 * the journal of finished encodings, and the subcommands. */
#ifndef INRF_TOOLS_INRPACK_H
#define INRF_TOOLS_INRPACK_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"

/* ------------------------------------------------------------ source list */

typedef struct src_item {
    char *path;                /* as opened */
    char *rel;                 /* as shown and hashed: relative to SRC or the list */
    uint32_t label;
    uint64_t bytes;            /* file size */
    uint64_t dev, ino;         /* the file's identity; both 0 when stat failed */
    size_t line;               /* of the list (--list), from 1; 0 for a folder */
} src_item;

typedef struct src_list {
    src_item *item;            /* in list order: seq = position */
    size_t n, cap;
    char **classes;            /* sorted class names; label = index */
    uint32_t nclasses;
} src_list;

/* An ImageFolder: class folders sorted by name (byte order), files below
 * each sorted by name, any depth; names starting with '.' ignored. 1 on
 * success, 0 after printing the reason. */
int src_scan_folder(const char *root, src_list *list);
/* A list file of PATH<TAB>LABEL lines (src_scan_folder's semantics for the
 * labels are in man/inrpack.1). A file listed twice (by any name: same
 * device and inode, or the same path when it cannot be found) is refused,
 * naming both lines. */
int src_read_list(const char *file, src_list *list);
void src_free(src_list *list);

/* ---------------------------------------------------------------- journal */

/* Finished encodings appended next to the output (OUT.journal): a header
 * naming the job by a hash of everything that shapes the result, then
 * entries (seq, label, a hash of the source file's bytes, an uncompressed
 * .inrf) each with its checksum. The job holds the file's flock. */
typedef struct journal journal;

typedef struct journal_entry {
    uint32_t seq, label;
    uint64_t source;           /* XXH3-64 of the source file it was encoded from */
    const uint8_t *inrf;       /* the .inrf bytes */
    uint32_t size;
} journal_entry;

/* Opens or creates path for the job `key` and locks it (flock) until
 * journal_close: a journal that another running job holds is refused, as
 * is an existing journal of another job; a torn tail (kill -9, full disk)
 * is cut off. path NULL: an unnamed temporary file, deleted when closed
 * (an output that is a device or a FIFO: nothing beside it to resume
 * from). 1 on success, 0 after printing the reason. *resumed: entries
 * kept. */
int journal_open(const char *path, uint64_t key, journal **out, size_t *resumed);
/* Calls fn for every entry, in file order; stops at a non-zero return. */
int journal_each(journal *j, int (*fn)(const journal_entry *e, void *user), void *user);
/* Appends one entry (not thread-safe: callers serialise). 1 on success,
 * 0 after printing the reason (disk full, ...); after a failure every
 * later append fails without a message, so that the jobs still running
 * do not repeat it. */
int journal_append(journal *j, uint32_t seq, uint32_t label, uint64_t source, const void *inrf,
                   size_t size);
/* Entries in the journal (read at opening, and appended since). */
size_t journal_entries(const journal *j);
/* Closes; with remove, deletes the file. */
void journal_close(journal *j, int remove);

/* ------------------------------------------------------------ subcommands */

int pack_create_main(int argc, char **argv);

#endif /* INRF_TOOLS_INRPACK_H */
