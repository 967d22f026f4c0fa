/* inrpack.c: the inrpack tool: labelled datasets in one .inrpack: create
 * (pack_create.c), info, verify, extract and merge. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "inrpack.h"

static void help(void)
{
    printf("Usage: inrpack COMMAND [OPTIONS] ...\n"
           "Labelled image sets as SIREN networks in one memory-mappable .inrpack.\n\n"
           "  create SRC -o OUT.inrpack   encode an ImageFolder (or --list FILE.tsv)\n"
           "  info PACK [--json]          images, classes, architectures, sizes, quality\n"
           "  verify PACK                 check every checksum; name the bad records\n"
           "  extract PACK [INDEX...] -o DIR [--size N|WxH] [--format png|inrf]\n"
           "                              decode images to DIR/<class>/<seq>.png\n"
           "  merge A B ... -o OUT        combine shards made with --shard\n\n"
           "  -h, --help                  this help ('inrpack COMMAND --help' for more)\n"
           "  -V, --version               version\n");
}

/* Options common to the small subcommands. */
typedef struct sub_opts {
    const char *out;
    int json, verbosity, format_inrf;
    cli_size size;             /* extract --size */
    int first_arg;
} sub_opts;

static int parse_sub(int argc, char **argv, const char *usage, int want_out, sub_opts *o)
{
    enum { OPT_JSON = 256, OPT_SIZE, OPT_FORMAT };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"json", no_argument, NULL, OPT_JSON},
        {"size", required_argument, NULL, OPT_SIZE}, {"format", required_argument, NULL, OPT_FORMAT},
        {"quiet", no_argument, NULL, 'q'},        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
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
        case 'h': printf("Usage: %s\n", usage); return -1;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    o->first_arg = optind;
    if (optind >= argc)
        return cli_usage_error("missing PACK");
    if (want_out && !o->out)
        return cli_usage_error("-o is required");
    if (o->verbosity < 0)
        cli_set_silent(1);
    return CLI_EXIT_OK;
}

/* Opens a pack; reports failures as "inrpack: PATH: detail". */
static inrf_pack *open_pack(const char *path, int verify)
{
    inrf_pack_options po;
    inrf_pack_options_init(&po);
    po.verify_records = verify;
    inrf_pack *p;
    inrf_status st = inrf_pack_open(path, &po, &p);
    if (st != INRF_OK) {
        cli_lib_error(path, st);
        return NULL;
    }
    size_t n;
    const void *lo = inrf_pack_bytes(p, &n);
    cli_watch_mapping(lo, n, path);
    return p;
}

/* ------------------------------------------------------------------- info */

static int cmd_info(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, "inrpack info PACK [--json]", 0, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    const char *path = argv[o.first_arg];
    inrf_pack *p = open_pack(path, 1);
    if (!p)
        return CLI_EXIT_FAILURE;
    uint32_t n = inrf_pack_count(p), nc = inrf_pack_classes(p), na = inrf_pack_archs(p);
    uint32_t *per_class = calloc(nc, sizeof *per_class), *per_arch = calloc(na, sizeof *per_arch);
    uint64_t rec_bytes = 0;
    double psum = 0, pmin = INFINITY;
    uint32_t pn = 0;
    for (uint32_t i = 0; i < n && per_class && per_arch; i++) {
        const inrf_pack_item *it = inrf_pack_get(p, i);
        per_class[it->label]++;
        per_arch[it->arch]++;
        rec_bytes += it->size;
        if (isfinite(it->psnr)) {
            psum += it->psnr, pn++;
            pmin = it->psnr < pmin ? it->psnr : pmin;
        }
    }
    size_t bytes;
    inrf_pack_bytes(p, &bytes);
    double mean = pn ? psum / pn : NAN;
    if (o.json) {
        printf("{\"path\": ");
        cli_json_string(stdout, path);
        printf(", \"images\": %u, \"bytes\": %zu, \"record_bytes\": %llu, \"channels\": %u, "
               "\"psnr_mean\": ", n, bytes, (unsigned long long)rec_bytes, inrf_pack_channels(p));
        cli_json_number(stdout, mean);
        printf(", \"psnr_min\": ");
        cli_json_number(stdout, pn ? pmin : NAN);
        printf(",\n \"classes\": [");
        for (uint32_t c = 0; c < nc; c++) {
            printf("%s{\"name\": ", c ? ", " : "");
            cli_json_string(stdout, inrf_pack_class_name(p, c));
            printf(", \"images\": %u}", per_class ? per_class[c] : 0);
        }
        printf("],\n \"architectures\": [");
        for (uint32_t a = 0; a < na; a++) {
            const inrf_arch *ar = inrf_pack_arch(p, a);
            printf("%s{\"layers\": %u, \"width\": %u, \"omega_first\": ", a ? ", " : "",
                   ar->layers, ar->hidden[0]);
            cli_json_number(stdout, ar->omega_first);
            printf(", \"omega_hidden\": ");
            cli_json_number(stdout, ar->omega_hidden);
            printf(", \"images\": %u}", per_arch ? per_arch[a] : 0);
        }
        printf("]}\n");
    } else {
        printf("%s: .inrpack, %u images, %u classes, %u channel%s\n", path, n, nc,
               inrf_pack_channels(p), inrf_pack_channels(p) == 1 ? "" : "s");
        printf("  bytes        %zu (records %llu, %.0f per image; directory and padding %llu)\n",
               bytes, (unsigned long long)rec_bytes, n ? (double)bytes / n : 0.0,
               (unsigned long long)(bytes - rec_bytes));
        if (pn)
            printf("  PSNR         mean %.2f dB, min %.2f dB%s\n", mean, pmin,
                   pn < n ? " (of the images that have one)" : "");
        if (pn < n) /* NaN in the index: no qual (inrf 8), exact when inrpack made it */
            printf("  no PSNR      %u images (exact, or not recorded)\n", n - pn);
        for (uint32_t a = 0; a < na; a++) {
            const inrf_arch *ar = inrf_pack_arch(p, a);
            printf("  arch %-7u %s %u x %u, w0 %g/%g: %u images\n", a,
                   inrf_kind_name(ar->kind), ar->layers, ar->hidden[0], ar->omega_first,
                   ar->omega_hidden, per_arch ? per_arch[a] : 0);
        }
        for (uint32_t c = 0; c < nc; c++)
            printf("  class %-6u %s: %u images\n", c, inrf_pack_class_name(p, c),
                   per_class ? per_class[c] : 0);
    }
    free(per_class);
    free(per_arch);
    inrf_pack_close(p);
    return CLI_EXIT_OK;
}

/* ----------------------------------------------------------------- verify */

static int cmd_verify(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, "inrpack verify PACK [-q]", 0, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    int bad_any = 0;
    for (int a = o.first_arg; a < argc; a++) {
        const char *path = argv[a];
        inrf_pack *p = open_pack(path, 0); /* the directory; records below */
        if (!p) {
            bad_any = 1;
            continue;
        }
        uint32_t n = inrf_pack_count(p);
        uint32_t *bad = malloc((n ? n : 1) * sizeof *bad);
        size_t nbad = 0;
        if (inrf_pack_verify(p, bad, bad ? n : 0, &nbad) != INRF_OK) {
            for (size_t k = 0; bad && k < nbad; k++) {
                inrf_model *m;
                inrf_status st = inrf_pack_model(p, bad[k], &m); /* for its message */
                cli_lib_error(path, st);
                inrf_model_free(m);
            }
            cli_error("%s: %zu of %u records bad", path, nbad, n);
            bad_any = 1;
        } else if (o.verbosity >= 0) {
            printf("%s: OK (%u images)\n", path, n);
        }
        free(bad);
        inrf_pack_close(p);
    }
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

static int extract_one(const inrf_pack *p, const char *pack_path, uint32_t i, const sub_opts *o,
                       const char *dir)
{
    const inrf_pack_item *it = inrf_pack_get(p, i);
    const char *cls = inrf_pack_class_name(p, it->label);
    size_t n = strlen(dir) + strlen(cls) + 32;
    char *path = malloc(n);
    if (!path)
        return 0;
    snprintf(path, n, "%s/%s", dir, cls);
    int ok = mkdir_p(path);
    snprintf(path, n, "%s/%s/%06u.%s", dir, cls, it->seq, o->format_inrf ? "inrf" : "png");
    ok = ok && cli_check_output(path, &pack_path, 1, 1);
    inrf_model *m = NULL;
    inrf_status st = ok ? inrf_pack_model(p, i, &m) : INRF_OK;
    if (ok && st == INRF_OK && o->format_inrf) {
        st = inrf_write_file(m, NULL, path);
    } else if (ok && st == INRF_OK) {
        uint64_t w, h; /* within CLI_MAX_PIXELS: checked by extract_sizes_ok */
        cli_apply_size(&o->size, it->width, it->height, &w, &h);
        inrf_image img;
        st = inrf_image_alloc(&img, (uint32_t)w, (uint32_t)h, (uint8_t)inrf_pack_channels(p));
        if (st == INRF_OK) {
            inrf_decode_options d;
            inrf_decode_options_init(&d);
            d.width = (uint32_t)w;
            d.height = (uint32_t)h;
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
    if (ok && o->verbosity > 0)
        fprintf(stderr, "%s: %s\n", cli_program(), path);
    inrf_model_free(m);
    free(path);
    return ok;
}

/* Every image to extract fits the pixel limit at its output size, checked
 * before anything is written: an index may claim up to 2^24 x 2^24. */
static int extract_sizes_ok(const inrf_pack *p, const char *path, const sub_opts *o,
                            char *const *idx, int nidx)
{
    uint32_t n = nidx ? (uint32_t)nidx : inrf_pack_count(p);
    size_t len = strlen(path) + 32;
    char *what = malloc(len);
    int ok = what != NULL;
    for (uint32_t k = 0; ok && k < n && !o->format_inrf; k++) {
        uint32_t i = nidx ? (uint32_t)strtoul(idx[k], NULL, 10) : k;
        const inrf_pack_item *it = inrf_pack_get(p, i);
        uint64_t w, h;
        cli_apply_size(&o->size, it->width, it->height, &w, &h);
        snprintf(what, len, "%s: image %u", path, i);
        ok = cli_check_pixels(what, w, h);
    }
    free(what);
    return ok;
}

static int cmd_extract(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv,
                       "inrpack extract PACK [INDEX...] -o DIR [--size N|WxH] [--format png|inrf]",
                       1, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    inrf_pack *p = open_pack(argv[o.first_arg], 1);
    if (!p)
        return CLI_EXIT_FAILURE;
    uint32_t n = inrf_pack_count(p);
    unsigned long i;
    for (int a = o.first_arg + 1; a < argc; a++) /* all indices checked first */
        if (n == 0 || !cli_parse_uint("INDEX", argv[a], 0, n - 1, &i)) {
            if (n == 0)
                cli_error("%s: the pack is empty", argv[o.first_arg]);
            inrf_pack_close(p);
            return n == 0 ? CLI_EXIT_FAILURE : CLI_EXIT_USAGE;
        }
    if (!extract_sizes_ok(p, argv[o.first_arg], &o, argv + o.first_arg + 1,
                          argc - o.first_arg - 1)) {
        inrf_pack_close(p);
        return CLI_EXIT_FAILURE;
    }
    int ok = mkdir_p(o.out);
    cli_catch_signals(1);
    if (o.first_arg + 1 == argc) {
        for (uint32_t k = 0; ok && k < n && !cli_interrupted; k++)
            ok = extract_one(p, argv[o.first_arg], k, &o, o.out);
    } else {
        for (int a = o.first_arg + 1; ok && a < argc && !cli_interrupted; a++) {
            cli_parse_uint("INDEX", argv[a], 0, n - 1, &i);
            ok = extract_one(p, argv[o.first_arg], (uint32_t)i, &o, o.out);
        }
    }
    cli_catch_signals(0);
    if (cli_interrupted) {
        cli_error("interrupted");
        ok = 0;
    }
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

static int cmd_merge(int argc, char **argv)
{
    sub_opts o;
    int rc = parse_sub(argc, argv, "inrpack merge A B ... -o OUT", 1, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    int k = argc - o.first_arg;
    char **names = argv + o.first_arg;
    if (!cli_check_output(o.out, (const char *const *)names, (size_t)k, 1))
        return CLI_EXIT_FAILURE;
    inrf_pack **p = calloc((size_t)k, sizeof *p);
    size_t total = 0;
    int ok = p != NULL;
    for (int i = 0; ok && i < k; i++) {
        ok = (p[i] = open_pack(names[i], 1)) != NULL && same_classes(p, names, i);
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
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    cli_init("inrpack");
    if (argc < 2)
        return cli_usage_error("missing COMMAND (create, info, verify, extract, merge)");
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
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s' (create, info, verify, extract, merge)", cmd);
}
