/* inrpack.h: what the parts of the inrpack tool share: the journal of
 * finished encodings and the subcommands (the source list is the
 * application layer's, pack_source.h). */
#ifndef INRF_TOOLS_INRPACK_H
#define INRF_TOOLS_INRPACK_H

#include <stddef.h>
#include <stdint.h>

#include "inrf/inrf.h"
#include "pack_source.h"

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
