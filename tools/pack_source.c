/* pack_source.c: the images and labels that `inrpack create` encodes: an
 * ImageFolder tree (labels by sorted class name, as torchvision's) or a list. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pack_source.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    size_t k = na;
    if (na && a[na - 1] != '/')
        s[k++] = '/';
    memcpy(s + k, b, nb + 1);
    return s;
}

static int add_item(src_list *l, char *path, char *rel, uint32_t label)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        src_item *it = realloc(l->item, cap * sizeof *it);
        if (!it)
            return 0;
        l->item = it;
        l->cap = cap;
    }
    struct stat sb;
    src_item it = {path, rel, label, 0, 0, 0, 0};
    if (stat(path, &sb) == 0)
        it.bytes = (uint64_t)sb.st_size, it.dev = (uint64_t)sb.st_dev, it.ino = (uint64_t)sb.st_ino;
    l->item[l->n++] = it;
    return 1;
}

/* Names in dir (not starting with '.'), sorted by bytes; NULL on error. */
static char **sorted_names(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    size_t cap = 64;
    char **v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            char **w = realloc(v, 2 * cap * sizeof *v);
            if (!w)
                break;
            v = w, cap *= 2;
        }
        if (!(v[*n] = strdup(e->d_name)))
            break;
        ++*n;
    }
    closedir(d);
    if (v)
        qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* A list of strings that grows. */
typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static int strv_push(strv *s, char *x)
{
    if (!x)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(x);
            return 0;
        }
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = x;
    return 1;
}

/* The folders below dir (dir included), relative to the class folder. */
static int list_dirs(const char *dir, const char *rel, strv *out, int depth)
{
    if (!strv_push(out, strdup(rel)))
        return 0;
    size_t n;
    char **names = sorted_names(dir, &n);
    if (!names) {
        cli_error("%s: %s", dir, strerror(errno));
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        char *path = join(dir, names[i]), *r = join(rel, names[i]);
        struct stat sb;
        ok = path && r;
        if (ok && depth < 32 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            ok = list_dirs(path, r, out, depth + 1);
        free(path);
        free(r);
    }
    free_names(names, n);
    return ok;
}

/* Every regular file of a class, in torchvision's ImageFolder order:
 * folders sorted by their path, files sorted by name within each. */
static int walk(src_list *l, const char *root, const char *cls, uint32_t label)
{
    strv dirs = {0};
    char *top = join(root, cls);
    int ok = top && list_dirs(top, cls, &dirs, 0);
    if (ok)
        qsort(dirs.v, dirs.n, sizeof *dirs.v, cmp_str);
    for (size_t d = 0; ok && d < dirs.n; d++) {
        char *dir = join(root, dirs.v[d]);
        size_t n = 0;
        char **names = dir ? sorted_names(dir, &n) : NULL;
        ok = names != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            char *path = join(dir, names[i]), *r = join(dirs.v[d], names[i]);
            struct stat sb;
            if (!path || !r) {
                ok = 0;
            } else if (stat(path, &sb) != 0) {
                cli_error("warning: %s: %s", path, strerror(errno));
            } else if (S_ISREG(sb.st_mode)) {
                if (add_item(l, path, r, label))
                    path = r = NULL; /* owned by the list now */
                else
                    ok = 0;
            }
            free(path);
            free(r);
        }
        free_names(names, n);
        free(dir);
    }
    free_names(dirs.v, dirs.n);
    free(top);
    return ok;
}

int src_scan_folder(const char *root, src_list *l)
{
    memset(l, 0, sizeof *l);
    size_t n;
    char **names = sorted_names(root, &n);
    if (!names) {
        cli_error("%s: %s", root, strerror(errno));
        return 0;
    }
    l->classes = malloc((n ? n : 1) * sizeof *l->classes);
    int ok = l->classes != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        char *dir = join(root, names[i]);
        struct stat sb;
        if (dir && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            l->classes[l->nclasses] = names[i];
            names[i] = NULL;
            ok = walk(l, root, l->classes[l->nclasses], l->nclasses);
            l->nclasses++;
        }
        free(dir);
    }
    free_names(names, n);
    if (ok && l->nclasses == 0) {
        cli_error("%s: no class folders (expected SRC/<class>/<images>)", root);
        ok = 0;
    }
    if (!ok)
        src_free(l);
    return ok;
}

/* A list is read line by line within these bounds, so that no input
 * (/dev/zero, a file of one endless line) makes it allocate without limit:
 * a line holds a path (PATH_MAX, 4096 on Linux) and a label (a class name,
 * 255 bytes); a list at most 1 GiB, ImageNet-21k's 14 million files. */
#define LIST_MAX_LINE (4096 + 1 + INRF_PACK_MAX_CLASS_NAME)
#define LIST_MAX_BYTES ((uint64_t)1 << 30)

/* Numeric labels: ASCII digits only (no sign, blank or exponent), the
 * class number itself; classes 0..max must fit the pack's 65535. */
#define LIST_MAX_NUMBER (INRF_PACK_MAX_CLASSES - 1)

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* The value of a label of digits, saturated at ULONG_MAX. */
static unsigned long label_number(const char *s)
{
    unsigned long v = 0;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULONG_MAX - d) / 10)
            return ULONG_MAX;
        v = v * 10 + d;
    }
    return v;
}

/* Reads the next line of f into buf (LIST_MAX_LINE + 2 bytes), without its
 * end of line: its length, -1 at the end, -2 when too long, -3 when it
 * holds a NUL byte, -4 on a read error. *total counts the bytes read. */
static long read_line(FILE *f, char *buf, uint64_t *total)
{
    long n = 0;
    int c, nul = 0;
    while ((c = getc(f)) != EOF) {
        ++*total;
        if (c == '\n')
            break;
        if (n == LIST_MAX_LINE)
            return -2;
        nul |= c == 0;
        buf[n++] = (char)c;
    }
    if (c == EOF && ferror(f))
        return -4;
    if (c == EOF && n == 0)
        return -1;
    if (nul)
        return -3;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = 0;
    return n;
}

/* The lines of the list as items, their labels (text) in labels[]. */
static int read_lines(const char *file, FILE *f, const char *base, src_list *l, char ***labels)
{
    char *line = malloc(LIST_MAX_LINE + 2);
    size_t cap = 0, lineno = 0;
    uint64_t total = 0;
    long len;
    int ok = line != NULL;
    while (ok && (len = read_line(f, line, &total)) != -1) {
        lineno++;
        if (len < -1 || total > LIST_MAX_BYTES || l->n == INRF_PACK_MAX_IMAGES) {
            if (len == -4)
                cli_error("%s: %s", file, strerror(errno));
            else if (len == -2)
                cli_error("%s:%zu: line longer than %d bytes", file, lineno, LIST_MAX_LINE);
            else if (len == -3)
                cli_error("%s:%zu: a NUL byte in the line", file, lineno);
            else if (total > LIST_MAX_BYTES)
                cli_error("%s: more than %llu bytes, the most a list may hold", file,
                          (unsigned long long)LIST_MAX_BYTES);
            else
                cli_error("%s:%zu: more than %u images, the most a pack holds", file, lineno,
                          INRF_PACK_MAX_IMAGES);
            ok = 0;
            break;
        }
        if (len == 0 || line[0] == '#')
            continue;
        char *tab = strrchr(line, '\t');
        if (!tab || tab == line || !tab[1]) {
            cli_error("%s:%zu: expected PATH<TAB>LABEL", file, lineno);
            ok = 0;
            break;
        }
        *tab = 0;
        if (all_digits(tab + 1) && label_number(tab + 1) > LIST_MAX_NUMBER) {
            cli_error("%s:%zu: label %s: a numeric label is a class number, 0..%u", file,
                      lineno, tab + 1, LIST_MAX_NUMBER);
            ok = 0;
            break;
        }
        if (l->n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **v = realloc(*labels, cap * sizeof *v);
            if (!v) {
                ok = 0;
                break;
            }
            *labels = v;
        }
        char *label = strdup(tab + 1);
        char *path = line[0] == '/' ? strdup(line) : join(base, line);
        char *rel = strdup(line);
        if (!label || !path || !rel || !add_item(l, path, rel, 0)) {
            free(label);
            free(path);
            free(rel);
            ok = 0;
            break;
        }
        (*labels)[l->n - 1] = label;
        l->item[l->n - 1].line = lineno;
    }
    free(line);
    return ok;
}

/* Items ordered by the file they name: device and inode, then path. */
static const src_item *dup_items;
static int cmp_file(const void *a, const void *b)
{
    const src_item *x = &dup_items[*(const size_t *)a], *y = &dup_items[*(const size_t *)b];
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    if (x->dev == 0 && x->ino == 0) {
        int c = strcmp(x->path, y->path);
        if (c)
            return c;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

/* A file listed twice would be encoded twice: refused, naming both lines
 * (the first pair in list order). */
static int check_duplicates(const char *file, const src_list *l)
{
    size_t *ord = malloc((l->n ? l->n : 1) * sizeof *ord);
    if (!ord) {
        cli_error("out of memory");
        return 0;
    }
    for (size_t i = 0; i < l->n; i++)
        ord[i] = i;
    dup_items = l->item;
    qsort(ord, l->n, sizeof *ord, cmp_file);
    const src_item *first = NULL, *second = NULL;
    for (size_t k = 1; k < l->n; k++) {
        const src_item *x = &l->item[ord[k - 1]], *y = &l->item[ord[k]];
        int same = x->dev == y->dev && x->ino == y->ino &&
                   (x->dev || x->ino || strcmp(x->path, y->path) == 0);
        if (same && (!second || y->line < second->line))
            first = x, second = y;
    }
    free(ord);
    if (second)
        cli_error("%s:%zu: %s is the file of line %zu already (%s); a file is listed once",
                  file, second->line, second->rel, first->line, first->rel);
    return second == NULL;
}

/* Labels to classes: numbers 0..max when every label is a number, else
 * the sorted distinct names. */
static int make_classes(src_list *l, char **labels)
{
    size_t nlab = l->n;
    int numeric = 1;
    for (size_t i = 0; i < nlab; i++)
        numeric &= all_digits(labels[i]);
    if (numeric) { /* classes "0".."max" */
        unsigned long max = 0;
        for (size_t i = 0; i < nlab; i++) {
            l->item[i].label = (uint32_t)label_number(labels[i]);
            if (l->item[i].label > max)
                max = l->item[i].label;
        }
        l->classes = calloc(max + 1, sizeof *l->classes);
        for (unsigned long c = 0; l->classes && c <= max; c++) {
            char num[24];
            snprintf(num, sizeof num, "%lu", c);
            if (!(l->classes[c] = strdup(num)))
                return 0;
            l->nclasses = (uint32_t)c + 1;
        }
        return l->classes != NULL;
    }
    /* classes: the sorted distinct names */
    char **v = malloc(nlab * sizeof *v);
    l->classes = malloc(nlab * sizeof *l->classes);
    if (!v || !l->classes) {
        free(v);
        return 0;
    }
    memcpy(v, labels, nlab * sizeof *v);
    qsort(v, nlab, sizeof *v, cmp_str);
    int ok = 1;
    for (size_t i = 0; ok && i < nlab; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            ok = (l->classes[l->nclasses++] = strdup(v[i])) != NULL;
    for (size_t i = 0; ok && i < nlab; i++) {
        char **hit = bsearch(&labels[i], l->classes, l->nclasses, sizeof *l->classes, cmp_str);
        l->item[i].label = (uint32_t)(hit - l->classes);
    }
    free(v);
    return ok;
}

int src_read_list(const char *file, src_list *l)
{
    memset(l, 0, sizeof *l);
    /* O_NONBLOCK: a FIFO is refused below rather than waited on */
    int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        cli_error("%s: %s", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    /* a device (/dev/zero), FIFO or folder: no size to bound it by */
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > LIST_MAX_BYTES) {
        if (S_ISREG(sb.st_mode))
            cli_error("%s: %llu bytes, more than the %llu a list may hold", file,
                      (unsigned long long)sb.st_size, (unsigned long long)LIST_MAX_BYTES);
        else
            cli_error("%s: not a regular file (a list is read from a file)", file);
        fclose(f);
        return 0;
    }
    /* the list's folder: relative paths are relative to it */
    char *base = strdup(file);
    char *slash = base ? strrchr(base, '/') : NULL;
    if (base)
        *(slash ? slash + 1 : base) = 0;
    char **labels = NULL;
    int ok = base != NULL && read_lines(file, f, base, l, &labels);
    fclose(f);
    free(base);
    if (ok && l->n == 0) {
        cli_error("%s: no images listed", file);
        ok = 0;
    }
    if (ok && !check_duplicates(file, l))
        ok = 0;
    if (ok && !make_classes(l, labels)) {
        cli_error("out of memory");
        ok = 0;
    }
    for (size_t i = 0; labels && i < l->n; i++)
        free(labels[i]);
    free(labels);
    if (!ok)
        src_free(l);
    return ok;
}

void src_free(src_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->item[i].path);
        free(l->item[i].rel);
    }
    free(l->item);
    for (uint32_t c = 0; l->classes && c < l->nclasses; c++)
        free(l->classes[c]);
    free(l->classes);
    memset(l, 0, sizeof *l);
}
