/* inrenc.c: encodes PNG, JPEG or PNM images as .inrf files (a SIREN fitted,
 * pruned and quantised by libinrf), one or many at once, with progress,
 * rate control and stats. */
#define _GNU_SOURCE 1 /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#ifdef INRF_HAVE_CUDA
#include "inrf/cuda.h"
#endif

enum {
    OPT_STRICT = 256,
    OPT_STATS,
    OPT_JSON,
    OPT_COMPARE_JPEG,
    OPT_DEVICE,
};

typedef struct options {
    const char **inputs;       /* PNG/JPEG/PNM paths or "-" */
    size_t n;                  /* how many */
    const char *output;        /* -o or the second argument; NULL with -d */
    const char *dir;           /* -d DIR: one output a file in it */
    inrf_encode_options enc;   /* everything the encoder is told */
    int threads;               /* --threads: 0 = all cores */
    int json;                  /* --json or --stats json */
    int strict;                /* --strict: a missed target fails */
    int force;                 /* -f: existing outputs are replaced */
    int compare_jpeg;          /* --compare-jpeg */
    int verbosity;             /* -1 quiet, 0 normal, 1 verbose */
    int device;                /* CLI_DEVICE_*, default AUTO */
} options;

/* The best JPEG of the source that fits the .inrf file's size. */
typedef struct jpeg_result {
    int quality;               /* 1..100; 0 when even quality 1 is larger */
    size_t bytes;              /* of that JPEG, or of quality 1 when none fits */
    double psnr;               /* of that JPEG against the source, dB */
} jpeg_result;

/* One file to encode and what became of it. */
typedef struct job {
    const char *input;
    char *output;              /* malloc'd */
    enum { JOB_WAITING, JOB_RUNNING, JOB_DONE, JOB_FAILED } state;
    int usage;                 /* failed on the options, not the file (exit 2) */
    char error[600];           /* "PATH: reason" when failed */
    uint32_t width, height;
    uint8_t channels;
    inrf_encode_stats stats;
    jpeg_result jpeg;
    double seconds;            /* read + encode + write */
    inrf_encode_progress prog; /* the last progress of its encode */
} job;

/* The whole run: the jobs, the workers' lock and the progress line. */
typedef struct batch {
    const options *o;
    job *jobs;
    size_t n, next, finished;
    int gpu;                   /* encode on the GPU (one file at a time) */
    int threads;               /* encoder threads of each job */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    cli_progress pl;
    double t0;
} batch;

/* What the progress callback of one job needs. */
typedef struct job_ctx {
    batch *b;
    job *j;
} job_ctx;

static void usage(void)
{
    printf("Usage: %s [OPTIONS] IN OUT.inrf\n"
           "   or: %s [OPTIONS] IN -o OUT.inrf\n"
           "   or: %s [OPTIONS] IN... -d DIR\n"
           "Encode PNG, JPEG or PNM (P5/P6) images as .inrf files: fit a SIREN to\n"
           "each, prune it and quantise it to int8. IN '-' reads standard input, OUT\n"
           "'-' writes standard output. With -d, every IN becomes DIR/NAME.inrf, the\n"
           "files encoded in parallel, one a core.\n"
           "\n"
           "  -o, --output FILE     write FILE (instead of the second argument)\n"
           "  -d, --dir DIR         write DIR/NAME.inrf for each IN (NAME: IN's base name\n"
           "                        without its extension)\n"
           "  -f, --force           replace existing output files (never an input)\n"
           "%s"
           "      --strict          a --target-psnr not reached is an error: nothing\n"
           "                        written, exit 1 (default: a warning)\n"
           "  -j, --threads N       one file: encoder threads at most (they follow the\n"
           "                        work); several: files encoded at once, one thread\n"
           "                        each; 0 = all cores (default)\n"
           "      --device D        auto (the GPU when usable; default), cpu or cuda\n"
           "      --json            print the results as a JSON array on standard\n"
           "                        output (standard error when OUT is '-'); see\n"
           "                        inrf-json(7). --stats json is the same\n"
           "      --compare-jpeg    also report the best JPEG of the same size\n"
           "  -q, --quiet           no progress, summary or warnings\n"
           "  -v, --verbose         also print the network and schedule used\n"
           "  -h, --help            show this help and exit\n"
           "  -V, --version         show the version and exit\n"
           "\n"
           "The same input, options and --seed give the same bytes, with any --threads\n"
           "and on any CPU (a file in a batch those it has alone). Exit status:\n"
           "0 success, 1 failure (of any file), 2 usage error. See inrenc(1).\n",
           cli_program(), cli_program(), cli_program(), cli_encode_help);
}

/* ---------------------------------------------------------------- options */

/* One option into *o; -1 to go on, else an exit code. */
static int parse_option(int c, options *o)
{
    unsigned long v;
    int enc = cli_encode_option(c, optarg, &o->enc);
    if (enc)
        return enc > 0 ? -1 : CLI_EXIT_USAGE;
    switch (c) {
    case 'o': o->output = optarg; break;
    case 'd': o->dir = optarg; break;
    case 'f': o->force = 1; break;
    case OPT_DEVICE:
        if (!cli_parse_device(optarg, &o->device))
            return CLI_EXIT_USAGE;
        break;
    case OPT_STRICT: o->strict = 1; break;
    case 'j':
        if (!cli_parse_uint("--threads", optarg, 0, 4096, &v))
            return CLI_EXIT_USAGE;
        o->threads = (int)v;
        break;
    case OPT_STATS:
        if (strcmp(optarg, "json") != 0)
            return cli_usage_error("--stats: '%s' is not json", optarg);
        o->json = 1;
        break;
    case OPT_JSON: o->json = 1; break;
    case OPT_COMPARE_JPEG: o->compare_jpeg = 1; break;
    case 'q': o->verbosity = -1; break;
    case 'v': o->verbosity = 1; break;
    case 'h': usage(); return CLI_EXIT_OK;
    case 'V': cli_print_version(); return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE; /* not reached: main reports getopt errors */
    }
    return -1;
}

/* Parses the command line into *o; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"dir", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        CLI_ENCODE_LONGOPTS,
        {"strict", no_argument, NULL, OPT_STRICT},
        {"threads", required_argument, NULL, 'j'},
        {"stats", required_argument, NULL, OPT_STATS},
        {"json", no_argument, NULL, OPT_JSON},
        {"compare-jpeg", no_argument, NULL, OPT_COMPARE_JPEG},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:d:fj:qvhV", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return cli_getopt_error(c, argv, longopts);
        int rc = parse_option(c, o);
        if (rc >= 0)
            return rc;
    }
    if (o->strict && o->enc.target_psnr <= 0)
        return cli_usage_error("--strict needs --target-psnr");
    return cli_file_args(argc - optind, argv + optind, o->dir, &o->output, &o->inputs, &o->n,
                         "OUT.inrf (or '-' for standard output)");
}

/* ------------------------------------------------------------ comparison */

/* Size of img as a JPEG of quality q. */
static inrf_status jpeg_bytes(const inrf_image *img, int q, size_t *bytes)
{
    void *data;
    inrf_status st = inrf_image_write_memory(img, INRF_IMAGE_JPEG, q, &data, bytes);
    if (st == INRF_OK)
        inrf_free(data);
    return st;
}

/* Highest quality in lo..hi whose JPEG fits budget, by bisection (sizes
 * grow with quality at a fixed chroma subsampling); 0 when none does. */
static inrf_status best_quality(const inrf_image *img, int lo, int hi, size_t budget, int *q)
{
    *q = 0;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        size_t n;
        inrf_status st = jpeg_bytes(img, mid, &n);
        if (st != INRF_OK)
            return st;
        if (n <= budget) {
            *q = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return INRF_OK;
}

/* The JPEG of the highest quality that is no larger than budget bytes and
 * its PSNR. Qualities 90..100 (4:4:4) and 1..89 (4:2:0) are searched
 * apart, since the subsampling switch makes sizes jump at 90. */
static inrf_status compare_jpeg(const inrf_image *img, size_t budget, jpeg_result *r)
{
    memset(r, 0, sizeof *r);
    int q;
    inrf_status st = best_quality(img, 90, 100, budget, &q);
    if (st == INRF_OK && q == 0)
        st = best_quality(img, 1, 89, budget, &q);
    if (st != INRF_OK)
        return st;
    if (q == 0) {
        r->psnr = NAN;
        return jpeg_bytes(img, 1, &r->bytes);
    }
    void *data;
    st = inrf_image_write_memory(img, INRF_IMAGE_JPEG, q, &data, &r->bytes);
    if (st != INRF_OK)
        return st;
    inrf_image_read_options ropt;
    inrf_image_read_options_init(&ropt);
    ropt.keep_grey = img->channels == 1;
    inrf_image back;
    st = inrf_image_read_memory(data, r->bytes, &ropt, &back);
    inrf_free(data);
    if (st != INRF_OK)
        return st;
    r->quality = q;
    r->psnr = inrf_psnr_u8(back.pixels, img->pixels,
                           (size_t)img->width * img->height * img->channels);
    inrf_image_free(&back);
    return INRF_OK;
}

/* ------------------------------------------------------------------ jobs */

static const char *display_name(const char *path, const char *std_name)
{
    return strcmp(path, "-") == 0 ? std_name : path;
}

static double bits_per_pixel(size_t bytes, uint32_t w, uint32_t h)
{
    return (double)bytes * 8.0 / ((double)w * h);
}

/* The cores this process may run on. */
static int cores_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Records a job's failure ("PATH: detail", cli_lib_error's wording) and
 * prints it at once, above the progress line. */
static void job_fail(batch *b, job *j, const char *path, const char *fmt, ...) CLI_PRINTF(4, 5);
static void job_fail(batch *b, job *j, const char *path, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *name = display_name(path, "(stdin)");
    size_t n = strlen(name);
    /* file-level messages of libinrf already start with "PATH: " */
    if (strncmp(detail, name, n) == 0 && detail[n] == ':')
        snprintf(j->error, sizeof j->error, "%s", detail);
    else
        snprintf(j->error, sizeof j->error, "%s: %s", name, detail);
    pthread_mutex_lock(&b->lock);
    j->state = JOB_FAILED;
    cli_progress_clear(&b->pl);
    cli_error("%s", j->error);
    pthread_mutex_unlock(&b->lock);
}

/* A job stopped by a signal: said once for all, by main. */
static void job_interrupted(batch *b, job *j)
{
    pthread_mutex_lock(&b->lock);
    snprintf(j->error, sizeof j->error, "%s: interrupted", display_name(j->input, "(stdin)"));
    j->state = JOB_FAILED;
    pthread_mutex_unlock(&b->lock);
}

static const char *lib_detail(inrf_status st)
{
    const char *d = inrf_last_error();
    return d != NULL && d[0] ? d : inrf_strerror(st);
}

/* The encoder's callback: keeps the job's progress for the drawer; a
 * non-zero return, once a signal came, stops the encode. */
static int on_progress(const inrf_encode_progress *p, void *user)
{
    job_ctx *c = user;
    pthread_mutex_lock(&c->b->lock);
    c->j->prog = *p;
    pthread_mutex_unlock(&c->b->lock);
    return cli_interrupted != 0;
}

/* Of one running job, 0..1. The rate-control rounds after the schedule run
 * past its total: they count as its end. */
static double job_fraction(const job *j)
{
    if (j->prog.steps <= 0)
        return 0;
    double f = (double)j->prog.step / (double)j->prog.steps;
    return f > 1 ? 1 : f;
}

/* Draws the progress line (caller holds the lock). One file: its stage,
 * step and PSNR; several: files done and running. */
static void draw_progress(batch *b)
{
    if (!cli_progress_due(&b->pl, 0.1))
        return;
    double elapsed = cli_now_seconds() - b->t0, done = (double)b->finished;
    size_t running = 0;
    const job *one = NULL;
    for (size_t i = 0; i < b->n; i++)
        if (b->jobs[i].state == JOB_RUNNING) {
            done += job_fraction(&b->jobs[i]);
            running++;
            one = &b->jobs[i];
        }
    double frac = done / (double)b->n;
    char bar[40], eta[24];
    cli_bar(bar, 24, frac);
    cli_eta(eta, sizeof eta, frac > 0.005 ? elapsed * (1 - frac) / frac : -1);
    if (b->n == 1 && one != NULL) {
        const inrf_encode_progress *p = &one->prog;
        if (p->steps <= 0)
            cli_progress_draw(&b->pl, "%s starting", bar);
        else if (p->step > p->steps) /* past the schedule: rate control */
            cli_progress_draw(&b->pl, "%s rate control, step %d  PSNR %.2f dB", bar, p->step,
                              p->best_psnr);
        else
            cli_progress_draw(&b->pl, "%s stage %d, step %d/%d  PSNR %.2f dB (best %.2f)  ETA %s",
                              bar, p->stage, p->step, p->steps, p->psnr, p->best_psnr, eta);
    } else {
        cli_progress_draw(&b->pl, "%s %zu/%zu files, %zu running  ETA %s", bar, b->finished,
                          b->n, running, eta);
    }
}

static void print_summary(const batch *b, const job *j);

/* Reads, encodes and writes one file. */
static void run_job(batch *b, job *j)
{
    const options *o = b->o;
    double t0 = cli_now_seconds();
    inrf_image img = {0};
    inrf_model *model = NULL;
    inrf_status st;

    inrf_image_read_options ropt;
    inrf_image_read_options_init(&ropt);
    ropt.keep_grey = 1;
    if ((st = inrf_image_read_file(j->input, &ropt, &img)) != INRF_OK) {
        job_fail(b, j, j->input, "%s", lib_detail(st));
        return;
    }
    j->width = img.width, j->height = img.height, j->channels = img.channels;

    inrf_encode_options enc = o->enc;
    job_ctx ctx = {b, j};
    enc.progress = on_progress;
    enc.user = &ctx;
    enc.threads = b->threads;
#ifdef INRF_HAVE_CUDA
    if (b->gpu) /* the batched GPU encoder, on a batch of one: the same schedule */
        st = inrf_cuda_encode_batch(&img, 1, &enc, 0, &model, &j->stats, NULL);
    else
#endif
        st = inrf_encode(&img, &enc, &model, &j->stats);
    if (cli_interrupted || st == INRF_E_INTERRUPTED) {
        job_interrupted(b, j);
        goto done;
    }
    if (st == INRF_E_INVALID_ARG) /* the image was read: the options are at fault */
        j->usage = 1;
    if (st != INRF_OK) {
        job_fail(b, j, j->input, "%s", lib_detail(st));
        goto done;
    }
    if (j->stats.target_reached == 0 && o->strict) {
        job_fail(b, j, j->input, "--target-psnr %.2f dB not reached (best %.2f dB); nothing "
                 "written (--strict)", o->enc.target_psnr, j->stats.psnr);
        goto done;
    }
    if (o->compare_jpeg && (st = compare_jpeg(&img, j->stats.bytes, &j->jpeg)) != INRF_OK) {
        job_fail(b, j, j->input, "%s", lib_detail(st));
        goto done;
    }
    if (cli_interrupted) {
        job_interrupted(b, j);
        goto done;
    }

    /* The write's own default options: stats.bytes is this file's size. */
    st = inrf_write_file(model, NULL, j->output);
    if (cli_interrupted) {
        /* the handler removed the temporary file; a signal after the
         * rename leaves a complete file, which goes too */
        struct stat sb; /* only a file that the write replaced, not a link or a device */
        if (st == INRF_OK && strcmp(j->output, "-") != 0 && lstat(j->output, &sb) == 0 &&
            S_ISREG(sb.st_mode))
            unlink(j->output);
        job_interrupted(b, j);
        goto done;
    }
    if (st != INRF_OK) {
        job_fail(b, j, j->output, "%s", lib_detail(st));
        goto done;
    }
    j->seconds = cli_now_seconds() - t0;
    pthread_mutex_lock(&b->lock);
    j->state = JOB_DONE;
    if (o->verbosity >= 0) {
        cli_progress_clear(&b->pl);
        print_summary(b, j);
    }
    pthread_mutex_unlock(&b->lock);

done:
    inrf_model_free(model);
    inrf_image_free(&img);
}

/* A worker: takes the next waiting job until none is left or a signal
 * came. */
static void *worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        if (b->next >= b->n || cli_interrupted) {
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        job *j = &b->jobs[b->next++];
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&b->lock);
        run_job(b, j);
        pthread_mutex_lock(&b->lock);
        b->finished++;
        pthread_cond_signal(&b->changed);
        pthread_mutex_unlock(&b->lock);
    }
}

/* Runs the jobs on `workers` threads while this one draws the progress
 * line. */
static void run_all(batch *b, int workers)
{
    pthread_t *tid = calloc((size_t)workers, sizeof *tid);
    int started = 0;
    if (tid != NULL)
        for (; started < workers; started++)
            if (pthread_create(&tid[started], NULL, worker, b) != 0)
                break;
    if (started == 0) { /* no threads to be had: this one works */
        worker(b);
        free(tid);
        return;
    }
    pthread_mutex_lock(&b->lock);
    while (b->finished < b->next || (b->next < b->n && !cli_interrupted)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&b->changed, &b->lock, &ts);
        draw_progress(b);
    }
    cli_progress_clear(&b->pl);
    pthread_mutex_unlock(&b->lock);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
}

/* ---------------------------------------------------------------- report */

static void print_summary(const batch *b, const job *j)
{
    const options *o = b->o;
    const inrf_encode_stats *s = &j->stats;
    const char *out = display_name(j->output, "(stdout)");
    if (o->verbosity > 0)
        fprintf(stderr, "%s: %s: %s; SIREN %d x %d, %d steps, %.1f%% of hidden weights "
                "pruned, %s, PSNR %.2f dB before quantisation, encode %.1f s\n",
                cli_program(), display_name(j->input, "(stdin)"),
                j->channels == 1 ? "grey" : "RGB", s->layers, s->hidden, s->steps,
                100.0 * s->prune_ratio,
                o->enc.quant == INRF_QUANT_NONE ? "fp32"
                : o->enc.quant == INRF_QUANT_INT8 ? "int8" : "int8-row",
                s->psnr_fp32, s->seconds);
    fprintf(stderr, "%s: %s: %u x %u, %zu bytes (%.3f bpp), PSNR %.2f dB, %.1f s\n",
            cli_program(), out, j->width, j->height, s->bytes,
            bits_per_pixel(s->bytes, j->width, j->height), s->psnr, j->seconds);
    if (s->target_reached == 0)
        fprintf(stderr, "%s: %s: warning: --target-psnr %.2f dB not reached (PSNR %.2f dB)\n",
                cli_program(), out, o->enc.target_psnr, s->psnr);
    if (!o->compare_jpeg)
        return;
    const jpeg_result *jp = &j->jpeg;
    if (jp->quality == 0)
        fprintf(stderr, "%s: jpeg at the same budget: none fits (quality 1 takes %zu "
                "bytes)\n", cli_program(), jp->bytes);
    else
        fprintf(stderr, "%s: jpeg at the same budget: %zu bytes (%.3f bpp), quality %d, "
                "PSNR %.2f dB\n", cli_program(), jp->bytes,
                bits_per_pixel(jp->bytes, j->width, j->height), jp->quality, jp->psnr);
}

/* One object of inrf-json(7)'s INRENC section. */
static void print_json_job(FILE *f, const options *o, const job *j)
{
    const inrf_encode_stats *s = &j->stats;
    int first = 1;
    fputs("  {\n", f);
    cli_json_key(f, &first, "path");
    cli_json_string(f, j->input);
    cli_json_key(f, &first, "output");
    cli_json_string(f, j->output);
    if (j->width) {
        cli_json_key(f, &first, "width");
        fprintf(f, "%u", j->width);
        cli_json_key(f, &first, "height");
        fprintf(f, "%u", j->height);
        cli_json_key(f, &first, "channels");
        fprintf(f, "%u", j->channels);
    }
    if (j->state != JOB_DONE) {
        cli_json_key(f, &first, "error");
        cli_json_string(f, j->error[0] ? j->error : "not encoded (interrupted)");
        fputs("\n  }", f);
        return;
    }
    cli_json_key(f, &first, "kind");
    fputs("\"siren\"", f);
    cli_json_key(f, &first, "layers");
    fprintf(f, "%d", s->layers);
    cli_json_key(f, &first, "widths");
    for (int l = 0; l < s->layers; l++)
        fprintf(f, "%s%d", l ? ", " : "[", s->hidden);
    fputc(']', f);
    cli_json_key(f, &first, "hidden");
    fprintf(f, "%d", s->hidden);
    cli_json_key(f, &first, "bytes");
    fprintf(f, "%zu", s->bytes);
    cli_json_key(f, &first, "bits_per_pixel");
    cli_json_number(f, bits_per_pixel(s->bytes, j->width, j->height));
    cli_json_key(f, &first, "psnr");
    cli_json_number(f, s->psnr);
    cli_json_key(f, &first, "psnr_fp32");
    cli_json_number(f, s->psnr_fp32);
    cli_json_key(f, &first, "seconds");
    cli_json_number(f, j->seconds);
    cli_json_key(f, &first, "encode_seconds");
    cli_json_number(f, s->seconds);
    cli_json_key(f, &first, "steps");
    fprintf(f, "%d", s->steps);
    cli_json_key(f, &first, "prune_ratio");
    cli_json_number(f, s->prune_ratio);
    if (o->enc.target_psnr > 0) {
        cli_json_key(f, &first, "target_psnr");
        cli_json_number(f, o->enc.target_psnr);
        cli_json_key(f, &first, "target_reached");
        fputs(s->target_reached ? "true" : "false", f);
    }
    if (o->compare_jpeg) {
        const jpeg_result *jp = &j->jpeg;
        cli_json_key(f, &first, "jpeg");
        if (jp->quality == 0) {
            fputs("null", f);
        } else {
            fprintf(f, "{\"bytes\": %zu, \"quality\": %d, \"bits_per_pixel\": ", jp->bytes,
                    jp->quality);
            cli_json_number(f, bits_per_pixel(jp->bytes, j->width, j->height));
            fputs(", \"psnr\": ", f);
            cli_json_number(f, jp->psnr);
            fputc('}', f);
        }
    }
    fputs("\n  }", f);
}

static void json_item(FILE *f, size_t i, const void *ctx)
{
    const batch *b = ctx;
    print_json_job(f, b->o, &b->jobs[i]);
}

static int print_json(const batch *b)
{
    return cli_json_array(b->o->output != NULL && strcmp(b->o->output, "-") == 0, b->n,
                          json_item, b);
}

/* ------------------------------------------------------------------- run */

/* The jobs' outputs, each checked before any encoding: -1 to go on, else
 * an exit code. */
static int make_jobs(const options *o, job *jobs)
{
    char **outs = calloc(o->n, sizeof *outs);
    if (outs == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAILURE;
    }
    int rc = cli_plan_outputs(o->dir, "inrf", o->output, o->inputs, o->n, o->force, outs);
    for (size_t i = 0; i < o->n; i++) {
        jobs[i].input = o->inputs[i];
        jobs[i].output = outs[i];
    }
    free(outs);
    if (rc >= 0)
        return rc;
    if (o->verbosity >= 0)
        for (size_t i = 0; i < o->n; i++)
            if (strcmp(jobs[i].output, "-") != 0 &&
                inrf_image_format_from_name(jobs[i].output) != INRF_IMAGE_UNKNOWN)
                cli_error("warning: writing .inrf data to '%s', whose name says an image "
                          "format", jobs[i].output);
    return -1;
}

static int run(const options *o)
{
    batch b = {.o = o, .n = o->n};
    int rc = CLI_EXIT_FAILURE;
    b.jobs = calloc(o->n, sizeof *b.jobs);
    if (b.jobs == NULL) {
        cli_error("out of memory");
        return CLI_EXIT_FAILURE;
    }
    if ((rc = make_jobs(o, b.jobs)) >= 0)
        goto done;
    b.gpu = cli_use_gpu(o->device);
    if (b.gpu < 0) {
        rc = CLI_EXIT_FAILURE;
        goto done;
    }

    /* One file: all the threads asked for inside its encode. Several:
     * one encode a thread, as many at once as asked (0: a core each),
     * which scales better than threads inside one small encode; the GPU
     * takes them one at a time. */
    int workers = 1;
    b.threads = o->threads;
    if (o->n > 1) {
        workers = b.gpu ? 1 : o->threads > 0 ? o->threads : cores_available();
        if ((size_t)workers > o->n)
            workers = (int)o->n;
        b.threads = b.gpu ? o->threads : 1;
    }
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.changed, NULL);
    cli_progress_init(&b.pl, o->verbosity < 0);
    b.t0 = cli_now_seconds();
    cli_catch_signals(1);
    run_all(&b, workers);
    cli_catch_signals(0);

    size_t failed = 0, usage = 0;
    for (size_t i = 0; i < b.n; i++)
        if (b.jobs[i].state != JOB_DONE) {
            failed++;
            usage += b.jobs[i].usage;
        }
    if (cli_interrupted)
        cli_error("interrupted");
    else if (o->n > 1 && o->verbosity >= 0)
        cli_error("%zu of %zu files encoded%s, %.1f s", b.n - failed, b.n,
                  failed ? " (the others failed)" : "", cli_now_seconds() - b.t0);
    rc = failed == 0 ? CLI_EXIT_OK
         : usage == failed && !cli_interrupted ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    if (rc == CLI_EXIT_USAGE) /* as cli_usage_error ends */
        fprintf(stderr, "Try '%s --help' for more information.\n", cli_program());
    if (o->json && !print_json(&b))
        rc = CLI_EXIT_FAILURE;
    pthread_cond_destroy(&b.changed);
    pthread_mutex_destroy(&b.lock);

done:
    for (size_t i = 0; i < o->n; i++)
        free(b.jobs[i].output);
    free(b.jobs);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {0};

    cli_init("inrenc");
    inrf_encode_options_init(&o.enc);
    o.device = CLI_DEVICE_AUTO;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.output != NULL && strcmp(o.output, "-") == 0 && cli_stdout_is_tty()) {
        cli_error("refusing to write .inrf data to a terminal; redirect standard output "
                  "or give OUT.inrf");
        return CLI_EXIT_FAILURE;
    }
    if (o.n == 1 && strcmp(o.inputs[0], "-") == 0 && isatty(STDIN_FILENO)) {
        cli_error("refusing to read an image from a terminal; redirect standard input "
                  "or give IN.png");
        return CLI_EXIT_FAILURE;
    }
    return run(&o);
}
