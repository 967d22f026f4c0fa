/* pack_source.c: the images and labels that `inrpack create` encodes: an
 * ImageFolder tree (labels by sorted class name, as torchvision's) or a list. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "inrpack.h"

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
    l->item[l->n++] = (src_item){path, rel, label, stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0};
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

static int all_digits(const char *s)
{
    if (!*s || strlen(s) > 5)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

int src_read_list(const char *file, src_list *l)
{
    memset(l, 0, sizeof *l);
    FILE *f = fopen(file, "r");
    if (!f) {
        cli_error("%s: %s", file, strerror(errno));
        return 0;
    }
    /* the list's folder: relative paths are relative to it */
    char *base = strdup(file);
    char *slash = base ? strrchr(base, '/') : NULL;
    if (base)
        *(slash ? slash + 1 : base) = 0;
    char **labels = NULL;
    size_t nlab = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int ok = base != NULL, numeric = 1;
    while (ok && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#')
            continue;
        char *tab = strrchr(line, '\t');
        if (!tab || tab == line || !tab[1]) {
            cli_error("%s:%zu: expected PATH<TAB>LABEL", file, lineno);
            ok = 0;
            break;
        }
        *tab = 0;
        if (nlab == cap) {
            cap = cap ? 2 * cap : 1024;
            char **v = realloc(labels, cap * sizeof *v);
            if (!v) {
                ok = 0;
                break;
            }
            labels = v;
        }
        labels[nlab] = strdup(tab + 1);
        char *path = line[0] == '/' ? strdup(line) : join(base, line);
        char *rel = strdup(line);
        if (!labels[nlab] || !path || !rel || !add_item(l, path, rel, 0)) {
            free(path);
            free(rel);
            ok = 0;
            break;
        }
        numeric &= all_digits(labels[nlab]);
        nlab++;
    }
    free(line);
    fclose(f);
    free(base);
    if (ok && nlab == 0) {
        cli_error("%s: no images listed", file);
        ok = 0;
    }
    if (ok && numeric) { /* classes "0".."max" */
        unsigned long max = 0;
        for (size_t i = 0; i < nlab; i++)
            if (strtoul(labels[i], NULL, 10) > max)
                max = strtoul(labels[i], NULL, 10);
        l->classes = calloc(max + 1, sizeof *l->classes);
        for (unsigned long c = 0; l->classes && c <= max; c++) {
            char num[16];
            snprintf(num, sizeof num, "%lu", c);
            l->classes[c] = strdup(num);
        }
        l->nclasses = l->classes ? (uint32_t)max + 1 : 0;
        for (size_t i = 0; i < nlab; i++)
            l->item[i].label = (uint32_t)strtoul(labels[i], NULL, 10);
    } else if (ok) { /* classes: the sorted distinct names */
        char **v = malloc(nlab * sizeof *v);
        if (v) {
            memcpy(v, labels, nlab * sizeof *v);
            qsort(v, nlab, sizeof *v, cmp_str);
            l->classes = malloc(nlab * sizeof *l->classes);
            for (size_t i = 0; l->classes && i < nlab; i++)
                if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
                    l->classes[l->nclasses++] = strdup(v[i]);
            for (size_t i = 0; l->classes && i < nlab; i++) {
                char **hit = bsearch(&labels[i], l->classes, l->nclasses, sizeof *l->classes,
                                     cmp_str);
                l->item[i].label = (uint32_t)(hit - l->classes);
            }
            free(v);
        }
    }
    if (ok && !l->classes) {
        cli_error("out of memory");
        ok = 0;
    }
    for (size_t i = 0; i < nlab; i++)
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
