/* pack_source.h: the images and labels of an ImageFolder tree or a list
 * file, as `inrpack create` encodes them and inrtrain reads them. Part of
 * the tools' application layer (tools/libcli.la). */
#ifndef INRF_TOOLS_PACK_SOURCE_H
#define INRF_TOOLS_PACK_SOURCE_H

#include <stddef.h>
#include <stdint.h>

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

#endif /* INRF_TOOLS_PACK_SOURCE_H */
