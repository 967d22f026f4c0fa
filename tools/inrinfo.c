/* inrinfo.c: prints what an .inrf file holds (header, network, per-layer
 * encodings and sizes, chunks and checksums) as text or JSON. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct options {
    int json;                  /* 1: JSON instead of text */
    int quiet;                 /* 1: exit status only */
} options;

/* Everything printed about one file, gathered before printing so that the
 * text and JSON writers share one source. */
typedef struct report {
    const char *path;
    size_t bytes;
    const inrf_model *model;
    const inrf_chunk_info *chunks;
    size_t nchunks;
    const inrf_chunk_info *wght; /* NULL if the scan did not list it */
    const inrf_chunk_info *bad;  /* first chunk whose checksum failed, or NULL */
} report;

static void usage(void)
{
    printf("Usage: %s [OPTIONS] FILE...\n"
           "Show the image header, network, layer encodings, sizes and checksums\n"
           "of .inrf files. FILE '-' reads standard input.\n"
           "\n"
           "  -j, --json      one JSON array, one object per file (inrf-json(7))\n"
           "  -q, --quiet     print nothing; the exit status tells whether every\n"
           "                  file is valid\n"
           "  -h, --help      show this help and exit\n"
           "  -V, --version   show the version and exit\n"
           "\n"
           "Exit status: 0 all files valid, 1 a file could not be read or is\n"
           "invalid, 2 usage error. See inrinfo(1).\n",
           cli_program());
}

static const char *colour_space_name(int cs)
{
    return cs == 0 ? "sRGB" : "unknown";
}

/* Part of what the model's kind says about it (inrf_model_info: the
 * network's kind writes its own lines). */
static void print_kind_part(const inrf_model *m, int part)
{
    char small[2048];
    size_t n = inrf_model_info(m, part, small, sizeof small);
    if (n < sizeof small) {
        fputs(small, stdout);
        return;
    }
    char *big = malloc(n + 1);
    if (big != NULL && inrf_model_info(m, part, big, n + 1) == n)
        fputs(big, stdout);
    free(big);
}

static double bits_per_pixel(const report *r)
{
    return (double)r->bytes * 8.0 /
           ((double)r->model->arch.width * r->model->arch.height);
}

/* ------------------------------------------------------------------ text */

static void print_text(const report *r)
{
    const inrf_model *m = r->model;
    const inrf_arch *a = &m->arch;

    printf("%s\n", r->path);
    printf("  file:        %zu bytes, format %u.%u\n", r->bytes, r->model->format_major, r->model->format_minor);
    printf("  image:       %u x %u, %u channel%s (%s), colour space %s\n", a->width,
           a->height, a->channels, a->channels == 1 ? "" : "s",
           a->channels == 1 ? "grey" : "RGB", colour_space_name(r->model->arch.colour_space));
    print_kind_part(m, INRF_INFO_NETWORK);
    printf("  parameters:  %zu\n", inrf_model_params(m));
    printf("  bits/pixel:  %.4f\n", bits_per_pixel(r));
    if (isnan(m->psnr))
        printf("  PSNR:        not stored\n");
    else
        printf("  PSNR:        %.2f dB (stored)\n", m->psnr);
    if (r->wght == NULL)
        printf("  WGHT:        %s\n", (m->compress_mask & 1u) ? "zstd" : "uncompressed");
    else if (r->wght->flags & 1u)
        printf("  WGHT:        zstd, %u -> %u bytes (%.1f%%)\n", r->wght->raw_bytes,
               r->wght->stored_bytes,
               r->wght->raw_bytes ? 100.0 * r->wght->stored_bytes / r->wght->raw_bytes : 0.0);
    else
        printf("  WGHT:        uncompressed, %u bytes\n", r->wght->stored_bytes);
    if (r->bad == NULL)
        printf("  checksums:   all %zu good\n", r->nchunks);
    else
        printf("  checksums:   chunk %s at offset %llu FAILED\n", r->bad->type,
               (unsigned long long)r->bad->offset);

    print_kind_part(m, INRF_INFO_WEIGHTS);

    printf("  chunks:\n");
    printf("    %-4s  %10s  %10s  %10s  %10s  %s\n", "type", "offset", "flags", "stored",
           "raw", "checksum");
    for (size_t i = 0; i < r->nchunks; i++) {
        const inrf_chunk_info *c = &r->chunks[i];
        printf("    %-4s  %10llu  0x%08x  %10u  %10u  %s\n", c->type,
               (unsigned long long)c->offset, c->flags, c->stored_bytes, c->raw_bytes,
               c->checksum_ok > 0 ? "good" : c->checksum_ok == 0 ? "BAD" : "not checked");
    }
}

/* ------------------------------------------------------------------ JSON */

/* One file's object (man/inrf-json.7, INRINFO); error: the message of a
 * damaged chunk, or NULL. */
static void print_json(const report *r, const char *error)
{
    const inrf_model *m = r->model;
    const inrf_arch *a = &m->arch;
    const char *in = "  ";

    printf("%s{\n%s  \"path\": ", in, in);
    cli_json_string(stdout, r->path);
    printf(",\n%s  \"bytes\": %zu,\n", in, r->bytes);
    printf("%s  \"format_version\": \"%u.%u\",\n", in, r->model->format_major, r->model->format_minor);
    printf("%s  \"width\": %u,\n%s  \"height\": %u,\n", in, a->width, in, a->height);
    printf("%s  \"channels\": %u,\n", in, a->channels);
    printf("%s  \"colour_space\": \"%s\",\n", in, colour_space_name(r->model->arch.colour_space));
    print_kind_part(m, INRF_INFO_JSON);
    printf(",\n");
    printf("%s  \"parameters\": %zu,\n", in, inrf_model_params(m));
    printf("%s  \"bits_per_pixel\": ", in);
    cli_json_number(stdout, bits_per_pixel(r));
    printf(",\n%s  \"psnr\": ", in);
    cli_json_number(stdout, m->psnr);
    printf(",\n%s  \"wght\": {\"compressed\": %s", in,
           (r->wght ? (r->wght->flags & 1u) : (m->compress_mask & 1u)) ? "true" : "false");
    if (r->wght != NULL)
        printf(", \"stored_bytes\": %u, \"raw_bytes\": %u", r->wght->stored_bytes,
               r->wght->raw_bytes);
    printf("},\n");

    printf("%s  \"chunks\": [\n", in);
    for (size_t i = 0; i < r->nchunks; i++) {
        const inrf_chunk_info *c = &r->chunks[i];
        printf("%s    {\"type\": ", in);
        cli_json_string(stdout, c->type);
        printf(", \"offset\": %llu, \"flags\": %u, \"stored_bytes\": %u, "
               "\"raw_bytes\": %u, \"checksum\": \"%s\"}%s\n",
               (unsigned long long)c->offset, c->flags, c->stored_bytes, c->raw_bytes,
               c->checksum_ok > 0 ? "good" : c->checksum_ok == 0 ? "bad" : "not checked",
               i + 1 < r->nchunks ? "," : "");
    }
    printf("%s  ],\n", in);
    printf("%s  \"checksums_ok\": %s", in, r->bad ? "false" : "true");
    if (error) {
        printf(",\n%s  \"error\": ", in);
        cli_json_string(stdout, error);
    }
    printf("\n%s}", in);
}

/* The object of a file that could not be read: its path and why. */
static void print_json_error(const char *path, const char *error)
{
    printf("  {\"path\": ");
    cli_json_string(stdout, path);
    printf(", \"error\": ");
    cli_json_string(stdout, error);
    putchar('}');
}

/* A libinrf failure: printed as cli_lib_error does, and its text ("PATH:
 * detail") kept for JSON. */
static void lib_failure(char *err, size_t n, const char *path, inrf_status st)
{
    cli_lib_message(err, n, path, st);
    cli_lib_error(path, st);
}

/* ------------------------------------------------------------- one file */

/* Lists the chunks into a malloc'd array; the scan's status is returned
 * through *scan_status (a checksum mismatch still yields the list). */
static inrf_chunk_info *scan(const uint8_t *data, size_t size, size_t *count,
                             inrf_status *scan_status)
{
    size_t cap = 16;
    for (;;) {
        inrf_chunk_info *chunks = calloc(cap, sizeof *chunks);
        if (chunks == NULL) {
            *scan_status = INRF_E_NOMEM;
            return NULL;
        }
        *count = 0;
        *scan_status = inrf_scan_memory(data, size, chunks, cap, count);
        if (*count <= cap)
            return chunks;
        free(chunks);
        cap = *count;
    }
}

/* Inspects one file and prints it; 1 if it is valid, 0 otherwise (the
 * reason is on stderr, and in JSON the file's object says it). */
static int inspect(const char *path, const options *opt, int *printed)
{
    inrf_read_options ropt;
    inrf_read_options_init(&ropt);
    uint8_t *data = NULL;
    size_t size = 0, nchunks = 0;
    inrf_chunk_info *chunks = NULL;
    inrf_model *model = NULL;
    int ok = 0;
    char err[1024] = "";

    if (opt->json && !opt->quiet)
        fputs(*printed ? ",\n" : "[\n", stdout);
    /* an .inrf, or a pack for the hint below; anything else (/dev/zero) is
     * refused after its first 8 bytes */
    static const char *const magics[] = {"\x89INRF\r\n\x1a", "\x89INPK\r\n\x1a"};
    void *d;
    inrf_status read_st =
        inrf_file_read_magic(path, ropt.max_file_bytes, magics, 2, 8, "an .inrf file", &d, &size);
    if (read_st != INRF_OK) {
        lib_failure(err, sizeof err, path, read_st);
        goto done;
    }
    data = d;

    inrf_status scan_st;
    chunks = scan(data, size, &nchunks, &scan_st);
    if (chunks == NULL || (scan_st != INRF_OK && scan_st != INRF_E_CHECKSUM)) {
        if (scan_st == INRF_E_NOT_INRF && size >= 8 && memcmp(data, "\x89INPK\r\n\x1a", 8) == 0) {
            snprintf(err, sizeof err, "%s: an .inrpack, not an .inrf: use 'inrpack info'", path);
            cli_error("%s", err);
        } else {
            lib_failure(err, sizeof err, path, scan_st);
        }
        goto done;
    }
    inrf_status st = inrf_read_memory(data, size, &ropt, &model);
    if (st != INRF_OK) {
        lib_failure(err, sizeof err, path, st);
        goto done;
    }

    report r = {.path = path, .bytes = size, .model = model, .chunks = chunks,
                .nchunks = nchunks};
    for (size_t i = 0; i < nchunks; i++) {
        if (strcmp(chunks[i].type, "WGHT") == 0 && r.wght == NULL)
            r.wght = &chunks[i];
        if (chunks[i].checksum_ok == 0 && r.bad == NULL)
            r.bad = &chunks[i];
    }
    /* The model parsed, yet a chunk the reader may skip (an ancillary
     * one) failed its checksum: the file is still damaged. */
    if (r.bad != NULL)
        snprintf(err, sizeof err, "%s: chunk %s at offset %llu: checksum mismatch", path,
                 r.bad->type, (unsigned long long)r.bad->offset);
    else
        ok = 1;
    if (!opt->quiet) {
        if (opt->json) {
            print_json(&r, ok ? NULL : err);
        } else {
            if (*printed)
                putchar('\n');
            print_text(&r);
        }
        (*printed)++;
    }
    if (!ok)
        cli_error("%s", err);
    err[0] = 0; /* said, and in the object */

done:
    if (err[0] && opt->json && !opt->quiet) {
        print_json_error(path, err);
        (*printed)++;
    }
    inrf_model_free(model);
    free(chunks);
    inrf_free(data);
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    options opt = {0};
    int c;

    cli_init("inrinfo");
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":jqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': opt.json = 1; break;
        case 'q': opt.quiet = 1; break;
        case 'h': usage(); return CLI_EXIT_OK;
        case 'V': cli_print_version(); return CLI_EXIT_OK;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    if (optind >= argc)
        return cli_usage_error("no input file");
    cli_set_silent(opt.quiet);

    int printed = 0, failed = 0;
    for (int i = optind; i < argc; i++)
        if (!inspect(argv[i], &opt, &printed))
            failed = 1;
    /* one array, one object per file, even for one (man/inrf-json.7) */
    if (opt.json && !opt.quiet)
        fputs(printed ? "\n]\n" : "[]\n", stdout);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("error writing standard output");
        return CLI_EXIT_FAILURE;
    }
    return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
