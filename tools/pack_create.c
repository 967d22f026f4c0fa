/* pack_create.c: `inrpack create`: encodes a labelled image set on all
 * cores into an .inrpack, journaling every finished image so that it resumes. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "../libinrf/pool.h"
#include "cli.h"
#include "config.h"
#include "inrpack.h"
#ifdef INRF_HAVE_CUDA
#include "inrf/cuda.h"
#endif

typedef struct create_opts {
    const char *src, *list, *out;
    inrf_encode_options enc;   /* the encoder's options; enc.seed is the base seed */
    int jobs, channels, strict, verbosity, force, json;
    unsigned long resize;      /* --resize N: shorter side at most N; 0 = off */
    int device;                /* CLI_DEVICE_*, default AUTO */
    unsigned long shard_i, shard_n;
} create_opts;

static void create_help(void)
{
    printf("Usage: inrpack create SRC -o OUT.inrpack [OPTIONS]\n"
           "       inrpack create --list FILE.tsv -o OUT.inrpack [OPTIONS]\n"
           "Encodes an ImageFolder (SRC/<class>/<images>, labels by sorted class name)\n"
           "or a list of PATH<TAB>LABEL lines into one .inrpack.\n\n"
           "  -o, --output FILE     the pack to write (required)\n"
           "  -f, --force           replace an existing OUT (never a source)\n"
           "      --list FILE       read images and labels from a list instead of SRC\n"
           "      --resize N        shrink images whose shorter side exceeds N to N\n"
           "                        (area average, aspect kept; never enlarges)\n"
           "      --jobs N          images encoded at once, default: the CPUs\n"
           "      --shard I/N       encode only the images at positions p = I mod N\n"
           "      --channels N      1 (grey) or 3 (RGB, default)\n"
           "      --strict          a file that is not an image is an error, not a\n"
           "                        warning\n"
           "      --device D        auto (default: the GPU when one is usable), cpu or cuda\n"
           "      --json            the summary as JSON on standard output\n"
           "  -q, --quiet           no progress, warnings or summary\n"
           "  -v, --verbose         one line per image\n"
           "  -h, --help            this help\n\n"
           "Encoder options, as inrenc's (image p of the list uses seed N + p):\n"
           "%s\n"
           "An interrupted run leaves OUT.journal; the same command resumes from it.\n",
           cli_encode_help);
}

static int parse_create(int argc, char **argv, create_opts *o)
{
    enum { OPT_LIST = 256, OPT_JOBS, OPT_SHARD, OPT_CHANNELS, OPT_STRICT, OPT_DEVICE,
           OPT_RESIZE, OPT_JSON };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},   {"list", required_argument, NULL, OPT_LIST},
        {"jobs", required_argument, NULL, OPT_JOBS}, {"shard", required_argument, NULL, OPT_SHARD},
        {"channels", required_argument, NULL, OPT_CHANNELS},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"resize", required_argument, NULL, OPT_RESIZE},
        {"json", no_argument, NULL, OPT_JSON},      {"force", no_argument, NULL, 'f'},
        CLI_ENCODE_LONGOPTS,
        {"quiet", no_argument, NULL, 'q'},          {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    unsigned long v;
    int c;
    memset(o, 0, sizeof *o);
    inrf_encode_options_init(&o->enc);
    o->channels = 3, o->shard_n = 1, o->device = CLI_DEVICE_AUTO;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:fqvh", longopts, NULL)) != -1) {
        int e = cli_encode_option(c, optarg, &o->enc);
        if (e < 0)
            return CLI_EXIT_USAGE;
        if (e > 0)
            continue;
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'f': o->force = 1; break;
        case OPT_LIST: o->list = optarg; break;
        case OPT_JOBS:
            if (!cli_parse_uint("--jobs", optarg, 1, 1024, &v))
                return CLI_EXIT_USAGE;
            o->jobs = (int)v;
            break;
        case OPT_SHARD: {
            char *slash = strchr(optarg, '/');
            if (!slash)
                return cli_usage_error("--shard: expected I/N, got '%s'", optarg);
            *slash = 0;
            if (!cli_parse_uint("--shard N", slash + 1, 1, 1u << 20, &o->shard_n) ||
                !cli_parse_uint("--shard I", optarg, 0, o->shard_n - 1, &o->shard_i))
                return CLI_EXIT_USAGE;
            break;
        }
        case OPT_CHANNELS:
            if (!cli_parse_uint("--channels", optarg, 1, 3, &v) || v == 2)
                return v == 2 ? cli_usage_error("--channels: 1 or 3") : CLI_EXIT_USAGE;
            o->channels = (int)v;
            break;
        case OPT_RESIZE:
            if (!cli_parse_uint("--resize", optarg, 1, 1ul << 24, &o->resize))
                return CLI_EXIT_USAGE;
            break;
        case OPT_STRICT: o->strict = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_DEVICE:
            if (!cli_parse_device(optarg, &o->device))
                return CLI_EXIT_USAGE;
            break;
        case 'q': o->verbosity = -1; break;
        case 'v': o->verbosity = 1; break;
        case 'h': create_help(); return -1;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    if (optind < argc)
        o->src = argv[optind++];
    if (optind < argc)
        return cli_usage_error("create: unexpected argument '%s'", argv[optind]);
    if (!o->out)
        return cli_usage_error("create: -o OUT.inrpack is required");
    if (!o->src == !o->list)
        return cli_usage_error("create: give either SRC or --list FILE");
    if (strcmp(o->out, "-") == 0)
        return cli_usage_error("create: the pack cannot go to standard output (it resumes "
                               "from a journal next to it)");
    return CLI_EXIT_OK;
}

/* Everything that shapes the pack: a journal of another job is refused. */
static uint64_t job_key(const create_opts *o, const src_list *l, int gpu)
{
    XXH3_state_t *s = XXH3_createState();
    uint64_t key = 0;
    if (!s)
        return 0;
    XXH3_64bits_reset(s);
    char head[512];
    int n = snprintf(head, sizeof head, "inrpack 2 channels %d resize %lu shard %lu/%lu "
                     "classes %u images %zu%s ",
                     o->channels, o->resize, o->shard_i, o->shard_n, l->nclasses, l->n,
                     gpu ? " gpu" : "");
    if (n > 0 && (size_t)n < sizeof head)
        n += cli_encode_describe(&o->enc, head + n, sizeof head - (size_t)n);
    XXH3_64bits_update(s, head, n > 0 && (size_t)n < sizeof head ? (size_t)n : sizeof head);
    for (uint32_t c = 0; c < l->nclasses; c++)
        XXH3_64bits_update(s, l->classes[c], strlen(l->classes[c]) + 1);
    for (size_t i = 0; i < l->n; i++) {
        XXH3_64bits_update(s, l->item[i].rel, strlen(l->item[i].rel) + 1);
        XXH3_64bits_update(s, &l->item[i].label, sizeof l->item[i].label);
    }
    key = XXH3_64bits_digest(s);
    XXH3_freeState(s);
    return key;
}

/* State shared by the encoding threads (the counts and the journal
 * guarded by `lock`). */
typedef struct run {
    const create_opts *o;
    const src_list *l;
    journal *j;
    uint8_t *done;             /* [l->n]: 1 when journaled */
    uint64_t *hash;            /* [l->n]: XXH3-64 of the source's bytes, once read */
    size_t todo, finished, resumed, skipped, changed;
    size_t psnr_n, exact;      /* images with a finite PSNR, and exact ones */
    double psnr_sum, psnr_min, t0, last_draw;
    int failed, shown;         /* failed: a fatal error was reported */
    int usage;                 /* the encoder refused the options (exit 2) */
    pthread_mutex_t lock;
} run;

/* Counts an image's PSNR: infinite (or NaN, read back from a file, which
 * stores none) means it is exact. */
static void count_psnr(run *r, double psnr)
{
    if (!isfinite(psnr)) {
        r->exact++;
        return;
    }
    r->psnr_n++;
    r->psnr_sum += psnr;
    if (psnr < r->psnr_min)
        r->psnr_min = psnr;
}

static void draw_progress(run *r, int final)
{
    if (r->o->verbosity < 0 || !cli_stderr_is_tty())
        return;
    double t = cli_now_seconds();
    if (!final && t - r->last_draw < 0.2)
        return;
    r->last_draw = t;
    size_t total = r->todo + r->resumed, done = r->finished + r->resumed;
    double rate = (t - r->t0) > 0 ? (double)r->finished / (t - r->t0) : 0.0;
    double eta = rate > 0 ? (double)(r->todo - r->finished - r->skipped) / rate : 0.0;
    int bar = total ? (int)(30.0 * (double)done / (double)total) : 30;
    char bars[31];
    memset(bars, '#', (size_t)bar);
    memset(bars + bar, '.', (size_t)(30 - bar));
    bars[30] = 0;
    fprintf(stderr, "\r[%s] %zu/%zu  %.1f img/s  ETA %d:%02d  mean %.2f dB ", bars, done, total,
            rate, (int)eta / 60, (int)eta % 60,
            r->psnr_n ? r->psnr_sum / (double)r->psnr_n : 0.0);
    r->shown = 1;
    if (final)
        fputc('\n', stderr);
}

static int stop_encoder(const inrf_encode_progress *p, void *user)
{
    (void)p;
    (void)user;
    return cli_interrupted != 0;
}

/* The bytes of a source file, read whole as the image reader would. */
static inrf_status read_source(const src_item *it, void **data, size_t *size)
{
    inrf_image_read_options ro;
    inrf_image_read_options_init(&ro);
    /* "-" would be standard input: a file of that name is "./-" */
    return inrf_file_read(strcmp(it->path, "-") == 0 ? "./-" : it->path, ro.max_file_bytes, data,
                          size);
}

/* Reads one source image in the pack's channel count, and the hash of its
 * bytes (which the journal keys the image's encoding by). */
static inrf_status load_image(const src_item *it, int channels, unsigned long resize,
                              inrf_image *img, uint64_t *hash)
{
    inrf_image_read_options ro;
    inrf_image_read_options_init(&ro);
    ro.keep_grey = channels == 1;
    void *data;
    size_t size;
    memset(img, 0, sizeof *img);
    inrf_status st = read_source(it, &data, &size);
    if (st != INRF_OK)
        return st;
    *hash = XXH3_64bits(data, size);
    st = inrf_image_read_memory(data, size, &ro, img);
    inrf_free(data);
    if (st != INRF_OK)
        return st;
    if (channels == 1 && img->channels == 3) {
        /* RGB to grey with the BT.601 luma weights (as PIL's "L" mode) */
        size_t n = (size_t)img->width * img->height;
        for (size_t k = 0; k < n; k++) {
            const uint8_t *p = img->pixels + 3 * k;
            img->pixels[k] = (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
        }
        img->channels = 1;
    }
    uint32_t shorter = img->width < img->height ? img->width : img->height;
    if (resize && shorter > resize) { /* shrink only: the shorter side to N */
        uint64_t w, h;
        cli_shorter_side(img->width, img->height, (uint32_t)resize, &w, &h);
        inrf_image small;
        st = inrf_image_resize_area(img, (uint32_t)w, (uint32_t)h, &small);
        inrf_image_free(img);
        *img = small;
    }
    return st;
}

/* Reads item i; 1 when read, 0 when skipped with a warning, -1 when that
 * is fatal (--strict). Counts the skipped. */
static int load_one(run *r, size_t i, inrf_image *img)
{
    const src_item *it = &r->l->item[i];
    inrf_status st = load_image(it, r->o->channels, r->o->resize, img, &r->hash[i]);
    if (st == INRF_OK)
        return 1;
    int fatal = r->o->strict;
    pthread_mutex_lock(&r->lock);
    {
        if (r->shown)
            fputc('\n', stderr), r->shown = 0;
        /* the file reader's messages start with the path already */
        const char *why = inrf_last_error()[0] ? inrf_last_error() : inrf_strerror(st);
        size_t np = strlen(it->path);
        if (strncmp(why, it->path, np) == 0 && why[np] == ':' && why[np + 1] == ' ')
            why += np + 2;
        if (r->o->verbosity >= 0 || fatal)
            cli_error("%s%s: %s", fatal ? "" : "warning: skipped ", it->path, why);
        r->skipped++;
    }
    pthread_mutex_unlock(&r->lock);
    return fatal ? -1 : 0;
}

/* Journals the model of item i (st: how its encode went). Returns 0 on a
 * fatal error. */
static int record_one(run *r, size_t i, inrf_status st, const inrf_model *m,
                      const inrf_encode_stats *stats)
{
    const src_item *it = &r->l->item[i];
    void *file = NULL;
    size_t size = 0;
    if (st == INRF_OK) {
        inrf_write_options wo;
        inrf_write_options_init(&wo);
        wo.compress = 0;
        st = inrf_write_memory(m, &wo, &file, &size);
    }
    if (st == INRF_E_INTERRUPTED || cli_interrupted) {
        inrf_free(file);
        return 0;
    }
    int ok = 1;
    pthread_mutex_lock(&r->lock);
    {
        if (st != INRF_OK) {
            if (!r->failed) /* once: the other jobs stop on the same cause */
                cli_lib_error(it->path, st);
            /* the image was read: the options ask for what cannot be made */
            r->usage |= st == INRF_E_INVALID_ARG;
            r->failed = 1;
            ok = 0;
        } else if (!journal_append(r->j, (uint32_t)i, it->label, r->hash[i], file, size)) {
            r->failed = 1;
            ok = 0;
        } else {
            r->done[i] = 1;
            r->finished++;
            count_psnr(r, stats->psnr);
            if (r->o->verbosity > 0) {
                if (r->shown)
                    fputc('\n', stderr), r->shown = 0;
                char q[32];
                if (isfinite(stats->psnr))
                    snprintf(q, sizeof q, "%.2f dB", stats->psnr);
                else
                    snprintf(q, sizeof q, "exact");
                fprintf(stderr, "%s: %s -> %s, %zu bytes, %.2f s\n", cli_program(), it->rel, q,
                        stats->bytes, stats->seconds);
            }
            draw_progress(r, 0);
        }
    }
    pthread_mutex_unlock(&r->lock);
    inrf_free(file);
    return ok;
}

static void encode_options(const run *r, inrf_encode_options *eo, uint64_t seed)
{
    *eo = r->o->enc;
    eo->seed = seed;
    eo->threads = 1;
    eo->progress = stop_encoder;
}

/* Encodes item i on this thread and journals it. Returns 0 on a fatal
 * error. */
static int encode_one(run *r, size_t i)
{
    inrf_image img;
    int got = load_one(r, i, &img);
    if (got <= 0)
        return got == 0;
    inrf_encode_options eo;
    encode_options(r, &eo, r->o->enc.seed + i);
    inrf_model *m = NULL;
    inrf_encode_stats stats;
    inrf_status st = inrf_encode(&img, &eo, &m, &stats);
    inrf_image_free(&img);
    int ok = record_one(r, i, st, m, &stats);
    inrf_model_free(m);
    return ok;
}

#ifdef INRF_HAVE_CUDA
/* A chunk's images read on the CPU threads, eight a task. */
typedef struct load_job {
    run *r;
    const size_t *todo;        /* the chunk's */
    size_t n;
    inrf_image *img;
    int fatal;
} load_job;

static void load_task(void *ctx, size_t task, int worker)
{
    load_job *j = ctx;
    (void)worker;
    for (size_t k = task * 8; k < j->n && k < task * 8 + 8; k++)
        if (load_one(j->r, j->todo[k], &j->img[k]) < 0)
            __atomic_store_n(&j->fatal, 1, __ATOMIC_RELAXED);
}

/* Orders a chunk's images by size, so that each size is one GPU batch. */
static const inrf_image *sort_images;
static int cmp_size(const void *a, const void *b)
{
    const inrf_image *x = &sort_images[*(const size_t *)a], *y = &sort_images[*(const size_t *)b];
    uint64_t kx = (uint64_t)x->width << 32 | x->height, ky = (uint64_t)y->width << 32 | y->height;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* --device cuda: the images in chunks, read on the CPU threads, each
 * chunk's images of one size encoded together on the GPU (the batched
 * encoder runs libinrf's schedule; every image starts from the seed's
 * initial weights). Returns 0 on a fatal error. */
static int encode_gpu(run *r, const size_t *todo, size_t ntodo, int jobs)
{
    enum { CHUNK = 4096 };
    inrf_image *img = calloc(CHUNK, sizeof *img);
    size_t *order = malloc(CHUNK * sizeof *order);
    inrf_image *group = malloc(CHUNK * sizeof *group);
    inrf_model **models = calloc(CHUNK, sizeof *models);
    inrf_encode_stats *stats = calloc(CHUNK, sizeof *stats);
    int ok = img && order && group && models && stats;
    for (size_t k0 = 0; ok && k0 < ntodo && !cli_interrupted; k0 += CHUNK) {
        size_t n = ntodo - k0 < CHUNK ? ntodo - k0 : CHUNK, nread = 0;
        load_job lj = {r, todo + k0, n, img, 0};
        inrf_parallel_for((n + 7) / 8, jobs, load_task, &lj);
        int fatal = lj.fatal;
        for (size_t k = 0; k < n; k++)
            if (img[k].pixels)
                order[nread++] = k;
        sort_images = img;
        qsort(order, nread, sizeof *order, cmp_size);
        for (size_t g0 = 0, g1; ok && !fatal && g0 < nread; g0 = g1) {
            const inrf_image *first = &img[order[g0]];
            for (g1 = g0; g1 < nread && img[order[g1]].width == first->width &&
                          img[order[g1]].height == first->height;
                 g1++)
                group[g1 - g0] = img[order[g1]];
            inrf_encode_options eo;
            encode_options(r, &eo, r->o->enc.seed);
            inrf_status st =
                inrf_cuda_encode_batch(group, g1 - g0, &eo, 0, models, stats, NULL);
            for (size_t k = g0; ok && k < g1; k++)
                ok = record_one(r, todo[k0 + order[k]], st, models[k - g0], &stats[k - g0]);
            for (size_t k = g0; k < g1; k++) {
                inrf_model_free(models[k - g0]);
                models[k - g0] = NULL;
            }
        }
        for (size_t k = 0; k < n; k++)
            inrf_image_free(&img[k]);
        ok = ok && !fatal;
    }
    free(img);
    free(order);
    free(group);
    free(models);
    free(stats);
    return ok;
}
#endif

/* ------------------------------------------------------------ resuming */

/* An entry of the journal as the first pass finds it. */
typedef struct jref {
    uint32_t seq;
    float psnr;
    uint64_t source;
} jref;

typedef struct scan_ctx {
    run *r;
    const char *jpath;
    jref *v;
    size_t n, cap;
    int bad;
} scan_ctx;

static int scan_entry(const journal_entry *e, void *user)
{
    scan_ctx *c = user;
    const src_list *l = c->r->l;
    if (e->seq >= l->n || e->label != l->item[e->seq].label) {
        cli_error("%s: the entry for image %u does not match the sources", c->jpath, e->seq);
        c->bad = 1;
        return 1;
    }
    inrf_model *m;
    inrf_status st = inrf_read_memory(e->inrf, e->size, NULL, &m);
    if (st != INRF_OK) {
        cli_lib_error(c->jpath, st);
        c->bad = 1;
        return 1;
    }
    float psnr = m->psnr;
    inrf_model_free(m);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        jref *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            cli_error("out of memory");
            c->bad = 1;
            return 1;
        }
        c->v = v, c->cap = cap;
    }
    c->v[c->n++] = (jref){e->seq, psnr, e->source};
    return 0;
}

/* The journaled sources hashed on the CPU threads, sixteen a task. */
typedef struct hash_job {
    run *r;
    const size_t *seqs;
    size_t ns;
    uint8_t *state;
} hash_job;

static void hash_task(void *ctx, size_t task, int worker)
{
    hash_job *j = ctx;
    (void)worker;
    for (size_t k = task * 16; k < j->ns && k < task * 16 + 16; k++) {
        void *data;
        size_t size;
        if (read_source(&j->r->l->item[j->seqs[k]], &data, &size) == INRF_OK) {
            j->r->hash[j->seqs[k]] = XXH3_64bits(data, size);
            j->state[j->seqs[k]] = 2;
            inrf_free(data);
        }
    }
}

/* Marks done the images whose journal entry was encoded from the bytes
 * their source file holds now; the others (a changed file, another folder
 * of the same names) are encoded again. Returns 0 on a fatal error. */
static int resume(run *r, const char *jpath, int jobs)
{
    scan_ctx c = {r, jpath, NULL, 0, 0, 0};
    uint8_t *state = calloc(r->l->n ? r->l->n : 1, 1); /* 1: has entries, 2: hashed */
    size_t *seqs = NULL, ns = 0;
    int ok = state != NULL;
    if (!ok)
        cli_error("out of memory");
    ok = ok && journal_each(r->j, scan_entry, &c) && !c.bad;
    if (ok && c.n && !(seqs = malloc(c.n * sizeof *seqs))) {
        cli_error("out of memory");
        ok = 0;
    }
    for (size_t k = 0; ok && k < c.n; k++)
        if (!state[c.v[k].seq]) {
            state[c.v[k].seq] = 1;
            seqs[ns++] = c.v[k].seq;
        }
    hash_job hj = {r, seqs, ns, state};
    inrf_parallel_for((ns + 15) / 16, jobs, hash_task, &hj);
    for (size_t k = 0; ok && k < c.n; k++) {
        const jref *e = &c.v[k];
        if (r->done[e->seq] || state[e->seq] != 2 || e->source != r->hash[e->seq])
            continue;
        r->done[e->seq] = 1;
        r->resumed++;
        count_psnr(r, e->psnr);
    }
    for (size_t k = 0; ok && k < ns; k++)
        r->changed += !r->done[seqs[k]];
    free(c.v);
    free(seqs);
    free(state);
    return ok;
}

/* The second pass: the entry of every done image into the pack. */
typedef struct add_ctx {
    run *r;
    const char *jpath;
    inrf_pack_writer *w;
    int bad;
} add_ctx;

static int add_entry(const journal_entry *e, void *user)
{
    add_ctx *c = user;
    run *r = c->r;
    if (e->seq >= r->l->n || r->done[e->seq] != 1 || e->source != r->hash[e->seq])
        return 0; /* not of this run's sources, or added already */
    r->done[e->seq] = 2;
    inrf_model *m;
    inrf_status st = inrf_read_memory(e->inrf, e->size, NULL, &m);
    if (st == INRF_OK)
        st = inrf_pack_writer_add_model(c->w, m, e->label, e->seq);
    inrf_model_free(m);
    if (st != INRF_OK) {
        cli_lib_error(c->jpath, st);
        c->bad = 1;
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- the run */

/* What a finished run made: from the pack read back, or (a device or a
 * FIFO as output) from the writer. */
typedef struct made {
    uint32_t images;
    uint64_t src_bytes, rec_bytes;
    size_t pack_bytes;         /* 0 when not read back */
} made;

static made what_made(const run *r, const src_list *l, const inrf_pack_writer *w,
                      const inrf_pack *p)
{
    made m = {p ? inrf_pack_count(p) : inrf_pack_writer_count(w), 0, 0, 0};
    for (size_t i = r->o->shard_i; i < l->n; i += r->o->shard_n)
        m.src_bytes += l->item[i].bytes;
    if (p) {
        inrf_pack_bytes(p, &m.pack_bytes);
        for (uint32_t i = 0; i < m.images; i++)
            m.rec_bytes += inrf_pack_get(p, i)->size;
    }
    return m;
}

static void summary(const run *r, const src_list *l, const char *out,
                    const inrf_pack_writer *w, const inrf_pack *p)
{
    made m = what_made(r, l, w, p);
    double n = m.images ? m.images : 1;
    /* an exact image has an infinite PSNR: counted apart, not averaged */
    char q[128];
    if (r->psnr_n)
        snprintf(q, sizeof q, "PSNR mean %.2f dB, min %.2f dB", r->psnr_sum / (double)r->psnr_n,
                 r->psnr_min);
    if (r->psnr_n && r->exact)
        snprintf(q + strlen(q), sizeof q - strlen(q), ", %zu images exact", r->exact);
    else if (!r->psnr_n && r->exact)
        snprintf(q, sizeof q, "every image exact (lossless)");
    else if (!r->psnr_n)
        snprintf(q, sizeof q, "no image in this %s", r->o->shard_n > 1 ? "shard" : "run");
    if (!p) {
        fprintf(stderr, "%s: %s: %u images (%zu skipped), %s\n", cli_program(), out, m.images,
                r->skipped, q);
        return;
    }
    fprintf(stderr,
            "%s: %s: %u images (%zu skipped), %s; bytes per image %.0f (records) %.0f (pack); "
            "%zu bytes, %.1f%% of the %llu source bytes\n",
            cli_program(), out, m.images, r->skipped, q, m.rec_bytes / n, m.pack_bytes / n,
            m.pack_bytes, m.src_bytes ? 100.0 * (double)m.pack_bytes / (double)m.src_bytes : 0.0,
            (unsigned long long)m.src_bytes);
}

/* --json: one array of one object (man/inrf-json.7, INRPACK). */
static void summary_json(const run *r, const src_list *l, const inrf_pack_writer *w,
                         const inrf_pack *p, double seconds)
{
    made m = what_made(r, l, w, p);
    const create_opts *o = r->o;
    printf("[{\"path\": ");
    cli_json_string(stdout, o->list ? o->list : o->src);
    printf(", \"output\": ");
    cli_json_string(stdout, o->out);
    printf(", \"images\": %u, \"skipped\": %zu, \"resumed\": %zu, \"exact\": %zu, "
           "\"classes\": %u, \"channels\": %d, \"bytes\": ",
           m.images, r->skipped, r->resumed, r->exact, l->nclasses, o->channels);
    if (p)
        printf("%zu, \"record_bytes\": %llu", m.pack_bytes, (unsigned long long)m.rec_bytes);
    else
        printf("null, \"record_bytes\": null");
    printf(", \"source_bytes\": %llu, \"psnr_mean\": ", (unsigned long long)m.src_bytes);
    cli_json_number(stdout, r->psnr_n ? r->psnr_sum / (double)r->psnr_n : NAN);
    printf(", \"psnr_min\": ");
    cli_json_number(stdout, r->psnr_n ? r->psnr_min : NAN);
    printf(", \"seconds\": ");
    cli_json_number(stdout, seconds);
    printf("}]\n");
    fflush(stdout);
}

/* --json of a failed run: its object, with the error (man/inrf-json.7). */
static void json_failure(const create_opts *o)
{
    const char *e = cli_first_error();
    printf("[{\"path\": ");
    cli_json_string(stdout, o->list ? o->list : o->src);
    printf(", \"output\": ");
    cli_json_string(stdout, o->out);
    printf(", \"error\": ");
    cli_json_string(stdout, e[0] ? e : cli_interrupted ? "interrupted" : "failed");
    printf("}]\n");
    fflush(stdout);
}

/* A writer for the pack, made first: it checks the class names (a list's
 * labels) before any encoding. */
static inrf_pack_writer *make_writer(const create_opts *o, const src_list *l)
{
    inrf_pack_writer *w = NULL;
    inrf_status st = inrf_pack_writer_create((const char *const *)l->classes, l->nclasses, &w);
    if (st == INRF_OK)
        st = inrf_pack_writer_set_channels(w, (unsigned)o->channels);
    if (st != INRF_OK) {
        cli_lib_error(o->list ? o->list : o->src, st);
        inrf_pack_writer_free(w);
        return NULL;
    }
    return w;
}

static int jobs_for(const create_opts *o)
{
    return o->jobs > 0 ? o->jobs : inrf_pool_default_threads();
}

/* Sources sniffed on the CPU threads, 64 a task: task t covers the
 * shard's sources 64 t .. 64 t + 63. */
typedef struct sniff_job {
    run *r;
    int *err;                  /* [l->n]: 0 image, -1 no signature, errno */
} sniff_job;

static void sniff_task(void *ctx, size_t task, int worker)
{
    sniff_job *j = ctx;
    const src_list *l = j->r->l;
    const create_opts *o = j->r->o;
    (void)worker;
    for (size_t k = task * 64; k < task * 64 + 64; k++) {
        size_t i = o->shard_i + k * o->shard_n;
        if (i >= l->n)
            break;
        if (j->r->done[i])
            continue;
        /* "-" would be standard input: a file of that name is "./-" */
        FILE *f = fopen(strcmp(l->item[i].path, "-") == 0 ? "./-" : l->item[i].path, "rb");
        uint8_t head[16];
        size_t n = f ? fread(head, 1, sizeof head, f) : 0;
        if (!f)
            j->err[i] = errno ? errno : EIO;
        else if (inrf_image_sniff(head, n) == INRF_IMAGE_UNKNOWN)
            j->err[i] = -1;
        if (f)
            fclose(f);
    }
}

/* Before any encoding: the first bytes of every source still to encode,
 * so that a file that is no image (a stray text file) is named at once,
 * not hours into the run. Marked 3 in r->done: skipped. Returns 0 when
 * that is fatal (--strict). */
static int sniff_sources(run *r, int jobs)
{
    const src_list *l = r->l;
    const create_opts *o = r->o;
    int *err = calloc(l->n ? l->n : 1, sizeof *err); /* 0 image, -1 no signature, errno */
    if (!err) {
        cli_error("out of memory");
        return 0;
    }
    size_t mine = o->shard_i < l->n ? (l->n - o->shard_i + o->shard_n - 1) / o->shard_n : 0;
    sniff_job sj = {r, err};
    inrf_parallel_for((mine + 63) / 64, jobs, sniff_task, &sj);
    size_t bad = 0;
    for (size_t i = o->shard_i; i < l->n; i += o->shard_n) {
        if (!err[i])
            continue;
        const char *why = err[i] < 0 ? "not an image (no known signature)" : strerror(err[i]);
        if (o->verbosity >= 0 || o->strict)
            cli_error("%s%s: %s", o->strict ? "" : "warning: skipped ", l->item[i].path, why);
        r->done[i] = 3;
        r->skipped++;
        bad++;
    }
    free(err);
    if (bad && o->strict) {
        cli_error("%zu source file%s (--strict): nothing encoded", bad,
                  bad == 1 ? " is not an image" : "s are not images");
        return 0;
    }
    return 1;
}

/* The images encoded on the CPU threads, one a task; after a fatal error
 * or an interrupt the remaining tasks return at once. */
typedef struct encode_job {
    run *r;
    const size_t *todo;
    int fatal;
} encode_job;

static void encode_task(void *ctx, size_t k, int worker)
{
    encode_job *j = ctx;
    (void)worker;
    if (__atomic_load_n(&j->fatal, __ATOMIC_RELAXED) || cli_interrupted)
        return;
    if (!encode_one(j->r, j->todo[k]))
        __atomic_store_n(&j->fatal, 1, __ATOMIC_RELAXED);
}

/* Encodes the images that are not done. Returns 0 on a fatal error. */
static int encode_all(run *r, int gpu, int jobs)
{
    const src_list *l = r->l;
    const create_opts *o = r->o;
    size_t *todo = malloc((l->n ? l->n : 1) * sizeof *todo);
    if (!todo) {
        cli_error("out of memory");
        return 0;
    }
    for (size_t i = o->shard_i; i < l->n; i += o->shard_n)
        if (!r->done[i])
            todo[r->todo++] = i;
    r->t0 = cli_now_seconds();
    int fatal = 0;
#ifdef INRF_HAVE_CUDA
    if (gpu)
        fatal = !encode_gpu(r, todo, r->todo, jobs);
#endif
    if (!gpu) {
        encode_job ej = {r, todo, 0};
        inrf_parallel_for(r->todo, jobs, encode_task, &ej);
        fatal = ej.fatal;
    }
    free(todo);
    if (r->shown)
        draw_progress(r, 1);
    return !fatal;
}

/* The pack must not replace the list or any source image (a pack written
 * into its own source folder), nor be a directory, nor (without -f) an
 * existing file, unless OUT.journal exists: then the run completes the
 * journal's pack (journal_open refuses another job's). Checked before
 * encoding. *named: 0 when OUT is a device or a FIFO, which has no
 * journal beside it. */
static int check_output(const create_opts *o, const src_list *l, const char *jpath, int *named)
{
    struct stat sb;
    *named = !(stat(o->out, &sb) == 0 && !S_ISREG(sb.st_mode));
    const char **in = malloc((l->n + 1) * sizeof *in);
    if (!in) {
        cli_error("out of memory");
        return 0;
    }
    in[0] = o->list;
    for (size_t i = 0; i < l->n; i++)
        in[i + 1] = l->item[i].path;
    int resuming = *named && lstat(jpath, &sb) == 0;
    int ok = cli_check_output(o->out, in, l->n + 1, o->force || resuming);
    free(in);
    return ok;
}

int pack_create_main(int argc, char **argv)
{
    create_opts o;
    int rc = parse_create(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    src_list l;
    if (!(o.list ? src_read_list(o.list, &l) : src_scan_folder(o.src, &l))) {
        if (o.json)
            json_failure(&o);
        return CLI_EXIT_FAILURE;
    }
    char *jpath = malloc(strlen(o.out) + 9);
    run r = {.o = &o, .l = &l, .psnr_min = INFINITY, .lock = PTHREAD_MUTEX_INITIALIZER};
    r.done = calloc(l.n ? l.n : 1, 1);
    r.hash = calloc(l.n ? l.n : 1, sizeof *r.hash);
    inrf_pack_writer *w = NULL;
    rc = CLI_EXIT_FAILURE;
    size_t in_journal = 0;
    int said = 0, scanned = 0, named = 1, jobs = jobs_for(&o);
    double t0 = cli_now_seconds();
    if (!jpath || !r.done || !r.hash) {
        cli_error("out of memory");
        goto out;
    }
    sprintf(jpath, "%s.journal", o.out);
    /* everything that can fail without encoding, before encoding */
    if (!check_output(&o, &l, jpath, &named) || !(w = make_writer(&o, &l)))
        goto out;
    int gpu = cli_use_gpu(o.device);
    if (gpu < 0 || !journal_open(named ? jpath : NULL, job_key(&o, &l, gpu), &r.j, &in_journal))
        goto out;
    /* this job holds the output's lock: any temporary file of it is stale */
    if (named)
        cli_remove_stale_temps(o.out, o.verbosity < 0);
    if (!resume(&r, jpath, jobs))
        goto out;
    scanned = 1;
    if (!sniff_sources(&r, jobs))
        goto out;
    if (r.resumed && o.verbosity >= 0)
        fprintf(stderr, "%s: resuming: %zu images already encoded in %s\n", cli_program(),
                r.resumed, jpath);
    if (r.changed && o.verbosity >= 0)
        fprintf(stderr, "%s: %s: %zu images encoded from files that have changed since (or "
                "another folder's): encoding them again\n", cli_program(), jpath, r.changed);
    cli_catch_signals(1);
    int ok = encode_all(&r, gpu, jobs);
    size_t kept = named ? r.finished + r.resumed : 0;
    if (cli_interrupted || !ok) {
        if (kept)
            cli_error("%s: %zu images kept in %s; run the same command again to resume",
                      cli_interrupted ? "interrupted" : "stopped", kept, jpath);
        else if (cli_interrupted && !named)
            cli_error("interrupted; nothing kept (no journal beside a device or a FIFO)");
        else if (cli_interrupted) /* a fatal error has said why already */
            cli_error("interrupted before any image was finished; nothing kept");
        said = 1;
        goto out;
    }
    /* every finished image, from the journal, into the pack */
    add_ctx ac = {&r, jpath, w, 0};
    if (!journal_each(r.j, add_entry, &ac) || ac.bad)
        goto out;
    if (inrf_pack_writer_count(w) == 0 && o.shard_n == 1) {
        cli_error("%s: no image could be read; nothing written", o.out);
        goto out;
    }
    /* an empty shard is written all the same (spec/inrpack.md 3.3): it merges */
    inrf_status st = inrf_pack_writer_finish(w, o.out);
    if (st != INRF_OK || cli_interrupted) {
        cli_lib_error(o.out, st != INRF_OK ? st : INRF_E_INTERRUPTED);
        goto out;
    }
    journal_close(r.j, 1);
    r.j = NULL;
    /* a FIFO or a device cannot be read back for the summary */
    inrf_pack *p = NULL;
    if (named && inrf_pack_open(o.out, NULL, &p) != INRF_OK)
        p = NULL;
    if (o.verbosity >= 0)
        summary(&r, &l, o.out, w, p);
    if (o.json)
        summary_json(&r, &l, w, p, cli_now_seconds() - t0);
    inrf_pack_close(p);
    rc = CLI_EXIT_OK;
out:
    if (r.usage)
        rc = CLI_EXIT_USAGE;
    if (rc != CLI_EXIT_OK && o.json)
        json_failure(&o);
    cli_catch_signals(0);
    if (r.j) {
        /* a failed run: its journal kept only if it holds work, and said */
        size_t kept_now = r.finished + r.resumed;
        int drop = scanned && kept_now == 0;
        if (!named)
            kept_now = 0, said = 1;
        if (!drop && scanned && !said)
            cli_error("%zu images kept in %s; run the same command again to resume", kept_now,
                      jpath);
        journal_close(r.j, drop);
    }
    inrf_pack_writer_free(w);
    free(r.done);
    free(r.hash);
    free(jpath);
    src_free(&l);
    return rc;
}
