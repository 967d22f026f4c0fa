/* inrpack.c: the inrpack tool: labelled datasets in one .inrpack: create
 * (pack_create.c), info, verify, extract and merge. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "inrpack.h"

static void help(void)
{
    printf("Usage: inrpack COMMAND [OPTIONS] ...\n"
           "Labelled image sets as SIREN networks in one memory-mappable .inrpack.\n\n"
           "  create SRC -o OUT.inrpack   encode an ImageFolder (or --list FILE.tsv)\n"
           "  info PACK...                images, classes, architectures, sizes, quality\n"
           "  verify PACK...              check every checksum; name the bad records\n"
           "  extract PACK [INDEX...] -o DIR\n"
           "                              decode images to DIR/<class>/<seq>.png\n"
           "  merge A B ... -o OUT        combine shards made with --shard\n\n"
           "  -h, --help                  this help ('inrpack COMMAND --help' for more)\n"
           "  -V, --version               version\n");
}

/* The options of the small subcommands; each accepts only its own. */
enum {
    SUB_OUT = 1 << 0, SUB_FORCE = 1 << 1, SUB_JSON = 1 << 2, SUB_SIZE = 1 << 3,
    SUB_FORMAT = 1 << 4, SUB_QUIET = 1 << 5, SUB_VERBOSE = 1 << 6, SUB_THREADS = 1 << 7
};

typedef struct sub_opts {
    const char *out;
    int json, verbosity, format_inrf, force;
    cli_size size;             /* extract --size */
    int threads;               /* extract --threads: 0 = the CPUs */
    int first_arg;
} sub_opts;

/* A subcommand: its usage line, what it accepts, and what the options do. */
typedef struct sub_spec {
    const char *name, *usage, *about;
    unsigned opts;
    int want_out;
} sub_spec;

static void sub_help(const sub_spec *sp)
{
    printf("Usage: %s\n%s\n\n", sp->usage, sp->about);
    if (sp->opts & SUB_OUT)
        printf("  -o, --output PATH     %s (required)\n",
               strcmp(sp->name, "extract") == 0 ? "the folder to write into" : "the pack to write");
    if (sp->opts & SUB_FORCE)
        printf("  -f, --force           replace existing files (never an input)\n");
    if (sp->opts & SUB_JSON)
        printf("      --json            one JSON array on standard output, one object per "
               "pack\n");
    if (sp->opts & SUB_SIZE)
        printf("      --size N|WxH      decode at shorter side N (aspect kept) or at WxH\n");
    if (sp->opts & SUB_FORMAT)
        printf("      --format png|inrf PNG images (default) or the records as .inrf files\n");
    if (sp->opts & SUB_THREADS)
        printf("  -j, --threads N       decode threads, 0 = all cores (default 0; a small\n"
               "                        image decodes on one)\n");
    if (sp->opts & SUB_QUIET)
        printf("  -q, --quiet           %s\n", strcmp(sp->name, "verify") == 0
                                                      ? "no OK line: the exit status says it"
                                                      : "no messages but errors");
    if (sp->opts & SUB_VERBOSE)
        printf("  -v, --verbose         %s\n", strcmp(sp->name, "info") == 0
                                                      ? "also the 10 images of lowest PSNR"
                                                      : "one line per file written");
    printf("  -h, --help            this help\n\nSee inrpack(1).\n");
}

static int parse_sub(int argc, char **argv, const sub_spec *sp, sub_opts *o)
{
    enum { OPT_JSON = 256, OPT_SIZE, OPT_FORMAT };
    static const struct {
        unsigned bit;
        struct option opt;
    } all[] = {{SUB_OUT, {"output", required_argument, NULL, 'o'}},
               {SUB_FORCE, {"force", no_argument, NULL, 'f'}},
               {SUB_JSON, {"json", no_argument, NULL, OPT_JSON}},
               {SUB_SIZE, {"size", required_argument, NULL, OPT_SIZE}},
               {SUB_FORMAT, {"format", required_argument, NULL, OPT_FORMAT}},
               {SUB_QUIET, {"quiet", no_argument, NULL, 'q'}},
               {SUB_VERBOSE, {"verbose", no_argument, NULL, 'v'}},
               {SUB_THREADS, {"threads", required_argument, NULL, 'j'}}};
    struct option longopts[sizeof all / sizeof all[0] + 2];
    char shorts[16] = ":h";
    size_t n = 0;
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (sp->opts & all[k].bit) {
            longopts[n++] = all[k].opt;
            if (all[k].opt.val < 256) {
                size_t len = strlen(shorts);
                shorts[len] = (char)all[k].opt.val;
                shorts[len + 1] = all[k].opt.has_arg ? ':' : 0;
                shorts[len + 2] = 0;
            }
        }
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    int c;
    memset(o, 0, sizeof *o);
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'f': o->force = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_SIZE:
            if (!cli_parse_size_option(optarg, &o->size))
                return CLI_EXIT_USAGE;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "png") && strcmp(optarg, "inrf"))
                return cli_usage_error("--format: 'png' or 'inrf', not '%s'", optarg);
            o->format_inrf = strcmp(optarg, "inrf") == 0;
            break;
        case 'q': o->verbosity = -1; break;
        case 'v': o->verbosity = 1; break;
        case 'j': {
            unsigned long v;
            if (!cli_parse_uint("--threads", optarg, 0, 4096, &v))
                return CLI_EXIT_USAGE;
            o->threads = (int)v;
            break;
        }
        case 'h': sub_help(sp); return -1;
        default:
            return cli_getopt_error(c, argv, longopts);
        }
    }
    o->first_arg = optind;
    if (optind >= argc)
        return cli_usage_error("%s: missing PACK", sp->name);
    if (sp->want_out && !o->out)
        return cli_usage_error("%s: -o is required", sp->name);
    if (o->verbosity < 0)
        cli_set_silent(1);
    return CLI_EXIT_OK;
}

/* Opens a pack; reports failures as "inrpack: PATH: detail", and copies
 * "PATH: detail" into err (may be NULL) for JSON. */
static inrf_pack *open_pack(const char *path, int verify, char *err, size_t errn)
{
    inrf_pack_options po;
    inrf_pack_options_init(&po);
    po.verify_records = verify;
    inrf_pack *p;
    inrf_status st = inrf_pack_open(path, &po, &p);
    if (st != INRF_OK) {
        if (err)
            cli_lib_message(err, errn, path, st);
        cli_lib_error(path, st);
        return NULL;
    }
    size_t n;
    const void *lo = inrf_pack_bytes(p, &n);
    cli_watch_mapping(lo, n, path);
    return p;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The bad records of a pack opened without verifying them, in increasing
 * order (malloc'd, *nbad of them; NULL when none or out of memory), each
 * named on stderr in one line ("PACK: record 7 (class cat, offset ...):
 * checksum mismatch") unless quiet. */
static uint32_t *bad_records(const inrf_pack *p, const char *path, size_t *nbad, int quiet)
{
    uint32_t n = inrf_pack_count(p);
    uint32_t *bad = malloc((n ? n : 1) * sizeof *bad);
    *nbad = 0;
    if (!bad || inrf_pack_verify(p, bad, n, nbad) == INRF_OK || *nbad == 0) {
        free(bad);
        return NULL;
    }
    qsort(bad, *nbad, sizeof *bad, cmp_u32);
    for (size_t k = 0; k < *nbad && !quiet; k++) {
        inrf_model *m;
        inrf_status st = inrf_pack_model(p, bad[k], &m); /* for its message */
        cli_lib_error(path, st);
        inrf_model_free(m);
    }
    return bad;
}

/* Architecture a as its kind describes it (inrf_arch_info: a summary,
 * or JSON members); short, so a line's buffer holds it. */
static const char *arch_text(const inrf_pack *p, uint32_t a, int part, char *buf, size_t n)
{
    inrf_arch_info(inrf_pack_arch(p, a), part, buf, n);
    return buf;
}

static void json_u32_array(const uint32_t *v, size_t n)
{
    putchar('[');
    for (size_t k = 0; k < n; k++)
        printf("%s%u", k ? ", " : "", v[k]);
    putchar(']');
}

/* ------------------------------------------------------------------- info */

enum { WORST = 10 }; /* images listed by info -v */

/* What info says of one pack. */
typedef struct pack_stats {
    uint32_t n, nc, na, pn;
    uint32_t *per_class, *per_arch;
    uint64_t rec_bytes;
    size_t bytes;
    double mean, pmin;
    uint32_t worst[WORST];     /* indices of the lowest PSNRs, lowest first */
    uint32_t nworst;
} pack_stats;

static int gather(const inrf_pack *p, pack_stats *s)
{
    memset(s, 0, sizeof *s);
    s->n = inrf_pack_count(p), s->nc = inrf_pack_classes(p), s->na = inrf_pack_archs(p);
    s->per_class = calloc(s->nc, sizeof *s->per_class);
    s->per_arch = calloc(s->na, sizeof *s->per_arch);
    if (!s->per_class || !s->per_arch)
        return 0;
    double psum = 0;
    s->pmin = INFINITY;
    for (uint32_t i = 0; i < s->n; i++) {
        const inrf_pack_item *it = inrf_pack_get(p, i);
        s->per_class[it->label]++;
        s->per_arch[it->arch]++;
        s->rec_bytes += it->size;
        if (!isfinite(it->psnr))
            continue;
        psum += it->psnr, s->pn++;
        s->pmin = it->psnr < s->pmin ? it->psnr : s->pmin;
        /* insertion into the WORST lowest, ties by index */
        uint32_t k = s->nworst < WORST ? s->nworst++ : WORST;
        while (k > 0 && inrf_pack_get(p, s->worst[k - 1])->psnr > it->psnr) {
            if (k < WORST)
                s->worst[k] = s->worst[k - 1];
            k--;
        }
        if (k < WORST)
            s->worst[k] = i;
    }
    inrf_pack_bytes(p, &s->bytes);
    s->mean = s->pn ? psum / s->pn : NAN;
    if (!s->pn)
        s->pmin = NAN;
    return 1;
}

static void info_json(const inrf_pack *p, const char *path, const pack_stats *s,
                      const uint32_t *bad, size_t nbad)
{
    printf("{\"path\": ");
    cli_json_string(stdout, path);
    printf(", \"images\": %u, \"bytes\": %zu, \"record_bytes\": %llu, \"channels\": %u, "
           "\"psnr_mean\": ", s->n, s->bytes, (unsigned long long)s->rec_bytes,
           inrf_pack_channels(p));
    cli_json_number(stdout, s->mean);
    printf(", \"psnr_min\": ");
    cli_json_number(stdout, s->pmin);
    printf(", \"images_without_psnr\": %u, \"bad_records\": ", s->n - s->pn);
    json_u32_array(bad, nbad);
    printf(",\n  \"classes\": [");
    for (uint32_t c = 0; c < s->nc; c++) {
        printf("%s{\"name\": ", c ? ", " : "");
        cli_json_string(stdout, inrf_pack_class_name(p, c));
        printf(", \"images\": %u}", s->per_class[c]);
    }
    printf("],\n  \"architectures\": [");
    for (uint32_t a = 0; a < s->na; a++) {
        char buf[1024];
        printf("%s{%s, \"images\": %u}", a ? ", " : "",
               arch_text(p, a, INRF_INFO_ARCH_JSON, buf, sizeof buf), s->per_arch[a]);
    }
    printf("],\n  \"lowest_psnr\": [");
    for (uint32_t k = 0; k < s->nworst; k++) {
        const inrf_pack_item *it = inrf_pack_get(p, s->worst[k]);
        printf("%s{\"index\": %u, \"seq\": %u, \"class\": ", k ? ", " : "", s->worst[k], it->seq);
        cli_json_string(stdout, inrf_pack_class_name(p, it->label));
        printf(", \"psnr\": ");
        cli_json_number(stdout, it->psnr);
        putchar('}');
    }
    printf("]}");
}

static void info_text(const inrf_pack *p, const char *path, const pack_stats *s,
                      const uint32_t *bad, size_t nbad, int verbose)
{
    unsigned ch = inrf_pack_channels(p);
    printf("%s: .inrpack, %u images, %u classes, %u channel%s\n", path, s->n, s->nc, ch,
           ch == 1 ? "" : "s");
    printf("  bytes        %zu (records %llu, %.0f per image; directory and padding %llu)\n",
           s->bytes, (unsigned long long)s->rec_bytes, s->n ? (double)s->bytes / s->n : 0.0,
           (unsigned long long)(s->bytes - s->rec_bytes));
    if (s->pn)
        printf("  PSNR         mean %.2f dB, min %.2f dB%s\n", s->mean, s->pmin,
               s->pn < s->n ? " (of the images that have one)" : "");
    if (s->pn < s->n) /* NaN in the index: no qual (inrf 8), exact when inrpack made it */
        printf("  no PSNR      %u images (exact, or not recorded)\n", s->n - s->pn);
    if (nbad) {
        printf("  bad records  %zu:", nbad);
        for (size_t k = 0; k < nbad && k < 20; k++)
            printf(" %u", bad[k]);
        printf("%s (inrpack verify names each)\n", nbad > 20 ? " ..." : "");
    }
    for (uint32_t a = 0; a < s->na; a++) {
        char buf[256];
        printf("  arch %-7u %s: %u images\n", a,
               arch_text(p, a, INRF_INFO_SUMMARY, buf, sizeof buf), s->per_arch[a]);
    }
    for (uint32_t c = 0; c < s->nc; c++)
        printf("  class %-6u %s: %u images\n", c, inrf_pack_class_name(p, c), s->per_class[c]);
    if (verbose && s->nworst) {
        printf("  lowest PSNR  (index, seq, class, PSNR)\n");
        for (uint32_t k = 0; k < s->nworst; k++) {
            const inrf_pack_item *it = inrf_pack_get(p, s->worst[k]);
            printf("    %8u %8u  %s  %.2f dB\n", s->worst[k], it->seq,
                   inrf_pack_class_name(p, it->label), it->psnr);
        }
    }
}

static const sub_spec info_spec = {
    "info", "inrpack info [OPTIONS] PACK...",
    "Images, classes, architectures, sizes and quality of each pack; a damaged\n"
    "record is named and counted, and the rest still described.",
    SUB_JSON | SUB_QUIET | SUB_VERBOSE, 0};

static int cmd_info(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, &info_spec, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    int failed = 0;
    if (o.json)
        putchar('[');
    for (int a = o.first_arg; a < argc; a++) {
        const char *path = argv[a];
        char err[600];
        if (o.json)
            printf(a > o.first_arg ? ",\n " : "");
        /* the directory only: one bad record must not hide the others */
        inrf_pack *p = open_pack(path, 0, err, sizeof err);
        if (!p) {
            failed = 1;
            if (o.json) {
                printf("{\"path\": ");
                cli_json_string(stdout, path);
                printf(", \"error\": ");
                cli_json_string(stdout, err);
                putchar('}');
            }
            continue;
        }
        size_t nbad;
        uint32_t *bad = bad_records(p, path, &nbad, 0);
        failed |= nbad > 0;
        pack_stats st;
        if (!gather(p, &st)) {
            cli_error("out of memory");
            failed = 1;
            if (o.json) {
                printf("{\"path\": ");
                cli_json_string(stdout, path);
                printf(", \"error\": \"out of memory\"}");
            }
        } else if (o.json) {
            info_json(p, path, &st, bad, nbad);
        } else if (o.verbosity >= 0) {
            if (a > o.first_arg)
                putchar('\n');
            info_text(p, path, &st, bad, nbad, o.verbosity > 0);
        }
        free(st.per_class);
        free(st.per_arch);
        free(bad);
        inrf_pack_close(p);
    }
    if (o.json)
        printf("]\n");
    return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* ----------------------------------------------------------------- verify */

static const sub_spec verify_spec = {
    "verify", "inrpack verify [OPTIONS] PACK...",
    "Checks every byte of each pack (header, directory, every record's checksum,\n"
    "padding and structure) and names each bad record.",
    SUB_JSON | SUB_QUIET, 0};

static int cmd_verify(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, &verify_spec, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    int bad_any = 0;
    if (o.json)
        putchar('[');
    for (int a = o.first_arg; a < argc; a++) {
        const char *path = argv[a];
        char err[600];
        if (o.json)
            printf(a > o.first_arg ? ",\n " : "");
        inrf_pack *p = open_pack(path, 0, err, sizeof err); /* the directory; records below */
        if (!p) {
            bad_any = 1;
            if (o.json) {
                printf("{\"path\": ");
                cli_json_string(stdout, path);
                printf(", \"ok\": false, \"error\": ");
                cli_json_string(stdout, err);
                putchar('}');
            }
            continue;
        }
        uint32_t n = inrf_pack_count(p);
        size_t nbad;
        uint32_t *bad = bad_records(p, path, &nbad, 0);
        if (nbad) {
            snprintf(err, sizeof err, "%s: %zu of %u records bad", path, nbad, n);
            cli_error("%s", err);
            bad_any = 1;
        } else if (o.verbosity >= 0 && !o.json) {
            printf("%s: OK (%u images)\n", path, n);
        }
        if (o.json) {
            printf("{\"path\": ");
            cli_json_string(stdout, path);
            printf(", \"ok\": %s, \"images\": %u, \"bad_records\": ", nbad ? "false" : "true", n);
            json_u32_array(bad, nbad);
            if (nbad) {
                printf(", \"error\": ");
                cli_json_string(stdout, err);
            }
            putchar('}');
        }
        free(bad);
        inrf_pack_close(p);
    }
    if (o.json)
        printf("]\n");
    return bad_any ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

/* ---------------------------------------------------------------- extract */

static int mkdir_p(const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return 0;
    for (char *s = d + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(d, 0777) != 0 && errno != EEXIST)
                break;
            *s = '/';
        }
    struct stat sb;
    int ok = mkdir(d, 0777) == 0 || (errno == EEXIST && stat(d, &sb) == 0 && S_ISDIR(sb.st_mode));
    if (!ok)
        cli_error("%s: %s", d, strerror(errno == EEXIST ? ENOTDIR : errno));
    free(d);
    return ok;
}

/* The file image i is extracted to (malloc'd). */
static char *extract_path(const inrf_pack *p, uint32_t i, const sub_opts *o, int folder_only)
{
    const inrf_pack_item *it = inrf_pack_get(p, i);
    const char *cls = inrf_pack_class_name(p, it->label);
    size_t n = strlen(o->out) + strlen(cls) + 32;
    char *path = malloc(n);
    if (!path)
        return NULL;
    if (folder_only)
        snprintf(path, n, "%s/%s", o->out, cls);
    else
        snprintf(path, n, "%s/%s/%06u.%s", o->out, cls, it->seq, o->format_inrf ? "inrf" : "png");
    return path;
}

/* Extracts image i. 1 on success; 0 when its record is bad (named, and
 * the others go on); -1 on any other failure (named: the run stops). */
static int extract_one(const inrf_pack *p, const char *pack_path, uint32_t i, const sub_opts *o)
{
    const inrf_pack_item *it = inrf_pack_get(p, i);
    inrf_model *m = NULL;
    inrf_status st = inrf_pack_model(p, i, &m); /* checks the record */
    if (st != INRF_OK) {
        cli_lib_error(pack_path, st);
        return 0;
    }
    char *dir = extract_path(p, i, o, 1), *path = extract_path(p, i, o, 0);
    int ok = dir && path && mkdir_p(dir) && cli_check_output(path, &pack_path, 1, o->force);
    if (ok && o->format_inrf) {
        st = inrf_write_file(m, NULL, path);
    } else if (ok) {
        uint64_t w, h; /* within CLI_MAX_PIXELS: checked by extract_checks */
        cli_apply_size(&o->size, it->width, it->height, &w, &h);
        inrf_image img;
        st = inrf_image_alloc(&img, (uint32_t)w, (uint32_t)h, (uint8_t)inrf_pack_channels(p));
        if (st == INRF_OK) {
            inrf_decode_options d;
            inrf_decode_options_init(&d);
            d.width = (uint32_t)w;
            d.height = (uint32_t)h;
            d.threads = o->threads;
            st = inrf_decode_u8(m, &d, img.pixels, 0);
            if (st == INRF_OK)
                st = inrf_image_write_file(&img, path, INRF_IMAGE_PNG, 0);
            inrf_image_free(&img);
        }
    }
    if (ok && st != INRF_OK) {
        cli_lib_error(path, st);
        ok = 0;
    }
    if (!dir || !path)
        cli_error("out of memory");
    if (ok && o->verbosity > 0)
        fprintf(stderr, "%s: %s\n", cli_program(), path);
    inrf_model_free(m);
    free(dir);
    free(path);
    return ok ? 1 : -1;
}

/* Every image to extract fits the pixel limit at its output size, and
 * (without -f) its file does not exist yet: checked before anything is
 * written. An index may claim up to 2^24 x 2^24. */
static int extract_checks(const inrf_pack *p, const char *path, const sub_opts *o,
                          const uint32_t *idx, uint32_t n)
{
    size_t len = strlen(path) + 32;
    char *what = malloc(len);
    int ok = what != NULL;
    for (uint32_t k = 0; ok && k < n && !o->format_inrf; k++) {
        const inrf_pack_item *it = inrf_pack_get(p, idx[k]);
        uint64_t w, h;
        cli_apply_size(&o->size, it->width, it->height, &w, &h);
        snprintf(what, len, "%s: image %u", path, idx[k]);
        ok = cli_check_pixels(what, w, h);
    }
    free(what);
    struct stat sb;
    for (uint32_t k = 0; ok && k < n && !o->force; k++) {
        char *out = extract_path(p, idx[k], o, 0);
        ok = out && (lstat(out, &sb) != 0 || cli_check_output(out, &path, 1, 0));
        free(out);
    }
    return ok;
}

static const sub_spec extract_spec = {
    "extract", "inrpack extract [OPTIONS] PACK [INDEX...] -o DIR",
    "Decodes the images (all, or those of the indices given) to DIR/<class>/<seq>.png;\n"
    "a damaged record is named and skipped, the others extracted (exit status 1).",
    SUB_OUT | SUB_FORCE | SUB_SIZE | SUB_FORMAT | SUB_QUIET | SUB_VERBOSE | SUB_THREADS, 1};

static int cmd_extract(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, &extract_spec, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    const char *pack = argv[o.first_arg];
    inrf_pack *p = open_pack(pack, 0, NULL, 0); /* each record checked as it is decoded */
    if (!p)
        return CLI_EXIT_FAILURE;
    uint32_t n = inrf_pack_count(p);
    int nidx = argc - o.first_arg - 1;
    uint32_t count = nidx ? (uint32_t)nidx : n;
    uint32_t *idx = malloc((count ? count : 1) * sizeof *idx);
    if (!idx) {
        cli_error("out of memory");
        inrf_pack_close(p);
        return CLI_EXIT_FAILURE;
    }
    for (uint32_t k = 0; k < count; k++) { /* all indices checked first */
        unsigned long i = k;
        if (nidx && (n == 0 || !cli_parse_uint("INDEX", argv[o.first_arg + 1 + k], 0, n - 1, &i))) {
            if (n == 0)
                cli_error("%s: the pack is empty", pack);
            free(idx);
            inrf_pack_close(p);
            return n == 0 ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
        }
        idx[k] = (uint32_t)i;
    }
    if (!extract_checks(p, pack, &o, idx, count) || !mkdir_p(o.out)) {
        free(idx);
        inrf_pack_close(p);
        return CLI_EXIT_FAILURE;
    }
    cli_catch_signals(1);
    size_t bad = 0;
    int ok = 1;
    for (uint32_t k = 0; ok && k < count && !cli_interrupted; k++) {
        int r = extract_one(p, pack, idx[k], &o);
        bad += r == 0;
        ok = r >= 0;
    }
    cli_catch_signals(0);
    if (cli_interrupted) {
        cli_error("interrupted");
        ok = 0;
    } else if (ok && bad) {
        cli_error("%s: %zu of %u images not extracted: their records are bad", pack, bad, count);
        ok = 0;
    }
    free(idx);
    inrf_pack_close(p);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* ------------------------------------------------------------------ merge */

typedef struct seq_src {
    uint32_t seq;
    int input;
} seq_src;

static int cmp_seq_src(const void *a, const void *b)
{
    const seq_src *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The inputs' class tables and channels must agree. */
static int same_classes(inrf_pack *const *p, char *const *names, int k)
{
    if (inrf_pack_classes(p[k]) != inrf_pack_classes(p[0])) {
        cli_error("%s has %u classes, %s has %u: not shards of one set", names[k],
                  inrf_pack_classes(p[k]), names[0], inrf_pack_classes(p[0]));
        return 0;
    }
    for (uint32_t c = 0; c < inrf_pack_classes(p[0]); c++)
        if (strcmp(inrf_pack_class_name(p[k], c), inrf_pack_class_name(p[0], c)) != 0) {
            cli_error("class %u is \"%s\" in %s but \"%s\" in %s: not shards of one set", c,
                      inrf_pack_class_name(p[k], c), names[k], inrf_pack_class_name(p[0], c),
                      names[0]);
            return 0;
        }
    if (inrf_pack_count(p[k]) && inrf_pack_count(p[0]) &&
        inrf_pack_channels(p[k]) != inrf_pack_channels(p[0])) {
        cli_error("%s has %u channels, %s has %u", names[k], inrf_pack_channels(p[k]), names[0],
                  inrf_pack_channels(p[0]));
        return 0;
    }
    return 1;
}

/* The lock that inrpack create holds on OUT.journal, taken by merge too,
 * so that a create and a merge (or two merges) into one OUT never run at
 * once; a journal that holds an interrupted create's work is left to it.
 * 1 with *fd holding the lock (-1: OUT is a device or a FIFO, no lock). */
static int merge_lock(const char *out, char **jpath, int *fd)
{
    struct stat sb;
    *fd = -1, *jpath = NULL;
    if (stat(out, &sb) == 0 && !S_ISREG(sb.st_mode))
        return 1;
    if (!(*jpath = malloc(strlen(out) + 9))) {
        cli_error("out of memory");
        return 0;
    }
    sprintf(*jpath, "%s.journal", out);
    int busy;
    if (inrf_file_lock(*jpath, fd, &busy) != INRF_OK) {
        if (busy)
            cli_error("%s: another job holds this journal (an inrpack create or merge into %s "
                      "is running); wait for it to end or choose another -o", *jpath, out);
        else
            cli_error("%s", inrf_last_error());
        *fd = -1;
        return 0;
    }
    if (fstat(*fd, &sb) == 0 && sb.st_size > 0) { /* create's journal has a header */
        cli_error("%s: the journal of an interrupted 'inrpack create' into %s; resume that "
                  "run, remove the journal, or choose another -o", *jpath, out);
        close(*fd);
        *fd = -1;
        return 0;
    }
    return 1;
}

static const sub_spec merge_spec = {
    "merge", "inrpack merge [OPTIONS] A B ... -o OUT",
    "Combines packs made with 'inrpack create --shard' (the same classes and\n"
    "channels) into one, the images in seq order; records are copied.",
    SUB_OUT | SUB_FORCE | SUB_QUIET, 1};

static int cmd_merge(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, &merge_spec, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    int k = argc - o.first_arg;
    char **names = argv + o.first_arg;
    if (!cli_check_output(o.out, (const char *const *)names, (size_t)k, o.force))
        return CLI_EXIT_FAILURE;
    char *jpath;
    int lock_fd;
    if (!merge_lock(o.out, &jpath, &lock_fd)) {
        free(jpath);
        return CLI_EXIT_FAILURE;
    }
    if (lock_fd >= 0) /* holding the output's lock: its temporary files are stale */
        cli_remove_stale_temps(o.out, o.verbosity < 0);
    inrf_pack **p = calloc((size_t)k, sizeof *p);
    size_t total = 0;
    int ok = p != NULL;
    for (int i = 0; ok && i < k; i++) {
        ok = (p[i] = open_pack(names[i], 1, NULL, 0)) != NULL && same_classes(p, names, i);
        if (ok)
            total += inrf_pack_count(p[i]);
    }
    /* the same image in two inputs: refused, naming both */
    seq_src *all = ok ? malloc((total ? total : 1) * sizeof *all) : NULL;
    ok = ok && all;
    size_t m = 0;
    for (int i = 0; ok && i < k; i++)
        for (uint32_t j = 0; j < inrf_pack_count(p[i]); j++)
            all[m++] = (seq_src){inrf_pack_get(p[i], j)->seq, i};
    if (ok)
        qsort(all, m, sizeof *all, cmp_seq_src);
    for (size_t j = 1; ok && j < m; j++)
        if (all[j].seq == all[j - 1].seq) {
            cli_error("image %u is in both %s and %s", all[j].seq, names[all[j - 1].input],
                      names[all[j].input]);
            ok = 0;
        }
    free(all);
    inrf_pack_writer *w = NULL;
    if (ok) {
        uint32_t nc = inrf_pack_classes(p[0]);
        const char **cn = malloc(nc * sizeof *cn);
        for (uint32_t c = 0; cn && c < nc; c++)
            cn[c] = inrf_pack_class_name(p[0], c);
        inrf_status st = cn ? inrf_pack_writer_create(cn, nc, &w) : INRF_E_NOMEM;
        free(cn);
        /* the channels of the images, or of the inputs when all are empty */
        int with = 0;
        while (with < k - 1 && inrf_pack_count(p[with]) == 0)
            with++;
        if (st == INRF_OK)
            st = inrf_pack_writer_set_channels(w, inrf_pack_channels(p[with]));
        for (int i = 0; st == INRF_OK && i < k; i++)
            for (uint32_t j = 0; st == INRF_OK && j < inrf_pack_count(p[i]); j++) {
                const inrf_pack_item *it = inrf_pack_get(p[i], j);
                inrf_arch ar = *inrf_pack_arch(p[i], it->arch);
                ar.width = it->width;
                ar.height = it->height;
                st = inrf_pack_writer_add_record(w, &ar, it->record, it->size, it->label, it->seq,
                                                 it->psnr);
            }
        if (st == INRF_OK)
            st = inrf_pack_writer_finish(w, o.out);
        if (st != INRF_OK) {
            cli_lib_error(o.out, st);
            ok = 0;
        } else if (o.verbosity >= 0) {
            fprintf(stderr, "%s: %s: %zu images from %d packs\n", cli_program(), o.out, total, k);
        }
    }
    inrf_pack_writer_free(w);
    for (int i = 0; p && i < k; i++)
        inrf_pack_close(p[i]);
    free(p);
    if (lock_fd >= 0) { /* empty: unlinked while still locked, as create does */
        unlink(jpath);
        close(lock_fd);
    }
    free(jpath);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    cli_init("inrpack");
    if (argc < 2)
        return cli_usage_error("missing COMMAND (create, info, verify, extract, merge)");
    optind = 1;
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        help();
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        cli_print_version();
        return CLI_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"create", pack_create_main}, {"info", cmd_info},   {"verify", cmd_verify},
                {"extract", cmd_extract},     {"merge", cmd_merge}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0) {
            cli_set_help_command(cmds[i].name);
            return cmds[i].fn(argc - 1, argv + 1);
        }
    return cli_usage_error("unknown command '%s' (create, info, verify, extract, merge)", cmd);
}
