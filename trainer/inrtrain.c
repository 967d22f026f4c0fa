/* inrtrain.c: the inrtrain tool: trains ResNet-18 from an .inrpack (or an
 * ImageFolder, the conventional pipeline), evaluates and predicts. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/cli.h"
#include "checkpoint.h"
#include "cpu_backend.h"
#include "data.h"
#include "error.h"
#include "resnet18.h"

typedef struct options {
    const char *train, *train_dir, *test, *test_dir, *out, *ckpt, *resume, *log, *eval, *predict;
    const char *device;
    int epochs, batch, size, threads, width, width_set, verbosity, decay_all, pad, stop_after;
    int force, skip_bad, json;
    float lr, momentum, wd, smoothing;
    unsigned long long seed;
    char **images;             /* --predict: the image files */
    int nimages;
} options;

static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};
static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

static void help(void)
{
    printf("Usage: inrtrain --train TRAIN.inrpack [--test TEST.inrpack | --test-dir DIR] -o MODEL\n"
           "       inrtrain --train-dir DIR [--test-dir DIR] -o MODEL   (decoding JPEG/PNG)\n"
           "       inrtrain --eval MODEL (--test PACK | --test-dir DIR) [--json]\n"
           "       inrtrain --predict MODEL IMAGE... [--json]\n"
           "Trains ResNet-18 (torchvision's layout; the 3x3 stem without max-pool up to\n"
           "64 px) with SGD, momentum 0.9, weight decay 5e-4 and a cosine learning rate.\n\n"
           "  -o, --output FILE     the trained model (a checkpoint file)\n"
           "  -f, --force           overwrite an existing model, checkpoint or log (never\n"
           "                        a data set; a resumed run rewrites its own files)\n"
           "      --epochs N        default 30\n"
           "      --batch N         default 128 up to 64 px, else 64\n"
           "      --lr X            base learning rate, default 0.01\n"
           "      --size N          input size (square), default: the first image's width\n"
           "      --label-smoothing X  0..0.5, default 0\n"
           "      --decay-all       weight decay on batch-norm parameters and biases too\n"
           "      --width N         ResNet-18 base width, default 64\n"
           "      --device D        cpu (default) or cuda\n"
           "      --threads N       CPU threads (compute and data), default: all\n"
           "      --seed N          default 1\n"
           "      --checkpoint FILE written atomically after every epoch (default MODEL.ckpt)\n"
           "      --resume FILE     continue from a checkpoint\n"
           "      --stop-after N    stop after epoch N (checkpoint kept; --resume goes on)\n"
           "      --log FILE        one JSON line per epoch\n"
           "      --skip-bad        leave out a pack's bad records (default: an error)\n"
           "      --json            --eval, --predict: the results as JSON (inrf-json(7))\n"
           "  -q, --quiet           no progress or per-epoch lines\n"
           "  -v, --verbose         progress lines also when stderr is not a terminal\n"
           "  -h, --help            this help\n"
           "  -V, --version         version\n");
}

static int parse(int argc, char **argv, options *o)
{
    enum { O_TRAIN = 256, O_TRAIN_DIR, O_TEST, O_TEST_DIR, O_EPOCHS, O_BATCH, O_LR, O_SIZE,
           O_DEVICE, O_THREADS, O_SEED, O_CKPT, O_RESUME, O_LOG, O_EVAL, O_PREDICT, O_SMOOTH,
           O_DECAY_ALL, O_WIDTH, O_STOP_AFTER, O_SKIP_BAD, O_JSON };
    static const struct option longopts[] = {
        {"train", required_argument, NULL, O_TRAIN},
        {"train-dir", required_argument, NULL, O_TRAIN_DIR},
        {"test", required_argument, NULL, O_TEST},
        {"test-dir", required_argument, NULL, O_TEST_DIR},
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"batch", required_argument, NULL, O_BATCH},
        {"lr", required_argument, NULL, O_LR},
        {"size", required_argument, NULL, O_SIZE},
        {"device", required_argument, NULL, O_DEVICE},
        {"threads", required_argument, NULL, O_THREADS},
        {"seed", required_argument, NULL, O_SEED},
        {"checkpoint", required_argument, NULL, O_CKPT},
        {"resume", required_argument, NULL, O_RESUME},
        {"log", required_argument, NULL, O_LOG},
        {"eval", required_argument, NULL, O_EVAL},
        {"predict", required_argument, NULL, O_PREDICT},
        {"label-smoothing", required_argument, NULL, O_SMOOTH},
        {"decay-all", no_argument, NULL, O_DECAY_ALL},
        {"width", required_argument, NULL, O_WIDTH},
        {"stop-after", required_argument, NULL, O_STOP_AFTER},
        {"skip-bad", no_argument, NULL, O_SKIP_BAD},
        {"json", no_argument, NULL, O_JSON},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    unsigned long v;
    double d;
    int c;
    memset(o, 0, sizeof *o);
    o->epochs = 30, o->lr = 0.01f, o->momentum = 0.9f, o->wd = 5e-4f, o->seed = 1;
    o->width = 64, o->device = "cpu", o->pad = 4;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:fqvhV", longopts, NULL)) != -1) {
        switch (c) {
        case O_TRAIN: o->train = optarg; break;
        case O_TRAIN_DIR: o->train_dir = optarg; break;
        case O_TEST: o->test = optarg; break;
        case O_TEST_DIR: o->test_dir = optarg; break;
        case O_EPOCHS:
            if (!cli_parse_uint("--epochs", optarg, 1, TRN_CKPT_MAX_EPOCHS, &v))
                return CLI_EXIT_USAGE;
            o->epochs = (int)v;
            break;
        case O_BATCH:
            if (!cli_parse_uint("--batch", optarg, TRN_CKPT_MIN_BATCH, TRN_CKPT_MAX_BATCH, &v))
                return CLI_EXIT_USAGE;
            o->batch = (int)v;
            break;
        case O_LR:
            if (!cli_parse_double("--lr", optarg, 0, TRN_CKPT_MAX_LR, &d))
                return CLI_EXIT_USAGE;
            o->lr = (float)d;
            break;
        case O_SIZE:
            if (!cli_parse_uint("--size", optarg, TRN_CKPT_MIN_SIZE, TRN_CKPT_MAX_SIZE, &v))
                return CLI_EXIT_USAGE;
            o->size = (int)v;
            break;
        case O_DEVICE:
            if (strcmp(optarg, "cpu") && strcmp(optarg, "cuda"))
                return cli_usage_error("--device: 'cpu' or 'cuda', not '%s'", optarg);
            o->device = optarg;
            break;
        case O_THREADS:
            if (!cli_parse_uint("--threads", optarg, 1, 1024, &v))
                return CLI_EXIT_USAGE;
            o->threads = (int)v;
            break;
        case O_SEED:
            if (!cli_parse_uint("--seed", optarg, 0, 0xffffffffUL, &v))
                return CLI_EXIT_USAGE;
            o->seed = v;
            break;
        case O_CKPT: o->ckpt = optarg; break;
        case O_RESUME: o->resume = optarg; break;
        case O_LOG: o->log = optarg; break;
        case O_EVAL: o->eval = optarg; break;
        case O_PREDICT: o->predict = optarg; break;
        case O_SMOOTH:
            if (!cli_parse_double("--label-smoothing", optarg, 0, 0.5, &d))
                return CLI_EXIT_USAGE;
            o->smoothing = (float)d;
            break;
        case O_DECAY_ALL: o->decay_all = 1; break;
        case O_WIDTH:
            if (!cli_parse_uint("--width", optarg, 1, TRN_CKPT_MAX_WIDTH, &v))
                return CLI_EXIT_USAGE;
            o->width = (int)v;
            o->width_set = 1;
            break;
        case O_STOP_AFTER:
            if (!cli_parse_uint("--stop-after", optarg, 1, TRN_CKPT_MAX_EPOCHS, &v))
                return CLI_EXIT_USAGE;
            o->stop_after = (int)v;
            break;
        case O_SKIP_BAD: o->skip_bad = 1; break;
        case O_JSON: o->json = 1; break;
        case 'o': o->out = optarg; break;
        case 'f': o->force = 1; break;
        case 'q': o->verbosity = -1; break;
        case 'v': o->verbosity = 1; break;
        case 'h': help(); return -1;
        case 'V': cli_print_version(); return -1;
        default: return cli_getopt_error(c, argv, longopts);
        }
    }
    o->images = argv + optind;
    o->nimages = argc - optind;
    if (o->predict && o->eval)
        return cli_usage_error("give --eval or --predict, not both");
    if (o->predict) {
        if (o->nimages < 1)
            return cli_usage_error("--predict: no image given");
        return CLI_EXIT_OK;
    }
    if (o->nimages > 0)
        return cli_usage_error("unexpected argument '%s'", o->images[0]);
    if (o->json && !o->eval)
        return cli_usage_error("--json is for --eval and --predict (the training log: --log)");
    if (o->eval) {
        if (!o->test == !o->test_dir)
            return cli_usage_error("--eval needs --test PACK or --test-dir DIR");
        return CLI_EXIT_OK;
    }
    if (!o->train == !o->train_dir)
        return cli_usage_error("give --train PACK or --train-dir DIR (one of them)");
    if (o->test && o->test_dir)
        return cli_usage_error("give --test or --test-dir, not both");
    if (!o->out)
        return cli_usage_error("-o MODEL is required");
    return CLI_EXIT_OK;
}

/* ----------------------------------------------------------------- state */

typedef struct run {
    const options *o;
    trn_backend *be;
    trn_resnet18 *model;
    trn_data *train, *test;
    int size, batch, threads;
    const float *mean, *std;
    float *x;                  /* device: the input batch */
    int32_t *labels_dev;
    float *test_x;             /* host: the test set, decoded once */
    int32_t *test_labels;
    uint32_t test_n;
    float *logits;             /* host: [batch][classes] */
    int classes;
    size_t *class_n, *class_ok; /* --eval: test images and right answers per class */
} run;

static int fail_trn(inrf_status st)
{
    if (trn_error_reported()) /* on stderr already */
        return CLI_EXIT_FAILURE;
    cli_error("%s", trn_last_error()[0] ? trn_last_error() : inrf_strerror(st));
    return CLI_EXIT_FAILURE;
}

static inrf_status open_source(const char *pack, const char *dir, trn_data **out)
{
    inrf_status st = pack ? trn_data_open_pack(pack, out) : trn_data_open_folder(dir, out);
    size_t n;
    const void *lo = st == INRF_OK && pack ? trn_data_mapping(*out, &n) : NULL;
    if (lo)
        cli_watch_mapping(lo, n, pack);
    return st;
}

/* The pass over a source before training (trn_data_check), with one line
 * on what was left out: a pack's bad records (--skip-bad), a folder's
 * files that are not images. */
static inrf_status check_source(const options *o, trn_data *d, const char *pack, const char *dir)
{
    inrf_status st = trn_data_check(d, pack ? pack : dir, o->skip_bad, o->threads);
    if (st != INRF_OK)
        return st;
    const char *first;
    size_t skipped = trn_data_skipped(d, &first);
    if (skipped && pack) /* first: "PACK: record 5 (offset 4096): checksum mismatch" */
        cli_error("warning: left out %zu bad record%s of %zu (--skip-bad), the first %s", skipped,
                  skipped == 1 ? "" : "s", skipped + trn_data_count(d), first);
    else if (skipped)
        cli_error("warning: skipped %zu file%s of %s, not PNG or JPEG images (the first %s)",
                  skipped, skipped == 1 ? "" : "s", dir, first);
    return INRF_OK;
}

/* The test set must name the training classes in the same order. */
static inrf_status same_classes(const trn_data *test, char *const *names, uint32_t classes,
                                const char *what)
{
    if (trn_data_classes(test) != classes)
        return trn_fail(INRF_E_INVALID_ARG, "%s has %u classes, the model %u", what,
                        trn_data_classes(test), classes);
    for (uint32_t c = 0; c < classes; c++)
        if (strcmp(trn_data_class_name(test, c), names[c]) != 0)
            return trn_fail(INRF_E_INVALID_ARG, "%s: class %u is \"%s\", the model's is \"%s\"",
                            what, c, trn_data_class_name(test, c), names[c]);
    return INRF_OK;
}

/* The classes a model file can hold (man/inrtrain.1, CHECKPOINT FORMAT),
 * checked before training rather than when the first checkpoint is
 * written: a folder can have more, or longer names, than a pack. */
static inrf_status model_classes(const char *src, char *const *names, uint32_t classes)
{
    if (classes > TRN_CKPT_MAX_CLASSES)
        return trn_fail(INRF_E_LIMIT, "%s: %u classes; a model holds at most %u", src, classes,
                        TRN_CKPT_MAX_CLASSES);
    for (uint32_t c = 0; c < classes; c++)
        if (strlen(names[c]) > TRN_CKPT_MAX_NAME)
            return trn_fail(INRF_E_LIMIT, "%s: class %u: a name of %zu bytes; a model holds at "
                            "most %d", src, c, strlen(names[c]), TRN_CKPT_MAX_NAME);
    return INRF_OK;
}

/* The test images, decoded once at the training size (whole images). */
static inrf_status load_test(run *r)
{
    r->test_n = trn_data_count(r->test);
    size_t per = (size_t)r->size * r->size * TRN_CHANNELS;
    r->test_x = malloc((size_t)r->test_n * per * sizeof(float) + 1);
    r->test_labels = malloc((size_t)r->test_n * sizeof(int32_t) + 1);
    uint32_t *idx = malloc((size_t)r->test_n * sizeof *idx + 1);
    if (!r->test_x || !r->test_labels || !idx) {
        free(idx);
        return trn_fail(INRF_E_NOMEM, "out of memory for %u test images", r->test_n);
    }
    for (uint32_t i = 0; i < r->test_n; i++)
        idx[i] = i;
    inrf_status st = trn_data_batch(r->test, idx, r->test_n, NULL, (uint32_t)r->size, r->mean,
                                    r->std, r->threads, r->test_x, r->test_labels);
    free(idx);
    return st;
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Loss and accuracy of the model on the cached test set (eval mode). */
static inrf_status evaluate(run *r, double *loss, double *acc)
{
    size_t per = (size_t)r->size * r->size * TRN_CHANNELS;
    double lsum = 0;
    size_t correct = 0;
    *loss = *acc = NAN;
    if (r->test_n == 0)
        return INRF_OK;
    for (uint32_t first = 0; first < r->test_n; first += (uint32_t)r->batch) {
        int n = (int)(r->test_n - first < (uint32_t)r->batch ? r->test_n - first : (uint32_t)r->batch);
        r->be->upload(r->be, r->x, r->test_x + per * first, per * (size_t)n * sizeof(float));
        r->be->upload(r->be, r->labels_dev, r->test_labels + first, (size_t)n * sizeof(int32_t));
        trn_tensor x = trn_tensor4(r->x, n, r->size, r->size, TRN_CHANNELS);
        inrf_status st = trn_resnet18_forward(r->model, &x, 0);
        float l = 0;
        if (st == INRF_OK)
            st = trn_resnet18_loss(r->model, r->labels_dev, 0.0f, &l);
        if (st != INRF_OK)
            return st;
        trn_tensor lg = trn_resnet18_logits(r->model);
        r->be->download(r->be, r->logits, lg.data, (size_t)n * r->classes * sizeof(float));
        if ((st = r->be->sync(r->be)) != INRF_OK)
            return st;
        lsum += (double)l * n;
        for (int s = 0; s < n; s++) {
            int32_t label = r->test_labels[first + (uint32_t)s];
            int right = argmax(r->logits + (size_t)s * r->classes, r->classes) == label;
            correct += right;
            if (r->class_n) {
                r->class_n[label]++;
                r->class_ok[label] += right;
            }
        }
    }
    *loss = lsum / r->test_n;
    *acc = (double)correct / r->test_n;
    return INRF_OK;
}

/* The epochs' batches and augmentation windows: libinrf's sampler over
 * the training images, keyed by (seed, epoch) alone, so that a resumed run
 * sees the same batches as an uninterrupted one. Every image once an epoch
 * (drop_last 0: the last batch may be short); up to 64 pixels the CIFAR
 * crop, larger RandomResizedCrop in the source's pixels (a folder's sizes
 * are unknown before decoding: taken as square). */
static inrf_status make_sampler(const run *r, inrf_sampler **out)
{
    uint32_t n = trn_data_count(r->train);
    uint32_t *sizes = NULL;
    if (strcmp(trn_data_kind(r->train), "inrpack") == 0) {
        if (!(sizes = malloc((size_t)n * 2 * sizeof *sizes)))
            return trn_fail(INRF_E_NOMEM, "out of memory");
        for (uint32_t i = 0; i < n; i++)
            trn_data_source_size(r->train, i, &sizes[2 * i], &sizes[2 * i + 1]);
    }
    inrf_sampler_options so;
    inrf_sampler_options_init(&so);
    so.seed = r->o->seed;
    so.batch_size = (uint32_t)r->batch;
    so.shuffle = 1;
    so.drop_last = 0;
    so.augment = r->size <= 64 ? INRF_AUGMENT_CROP_FLIP : INRF_AUGMENT_RRC_FLIP;
    so.pad = (uint32_t)r->o->pad;
    inrf_status st = inrf_sampler_create(n, sizes, &so, out);
    free(sizes);
    return st == INRF_OK ? st : trn_fail(st, "%s", inrf_last_error());
}

/* The steps of an epoch over n images: the sampler's batches (one rank,
 * drop_last 0: ceil(n / batch)), less a last batch of one image, which
 * batch norm cannot take. */
static uint64_t epoch_steps(uint64_t n, uint64_t batch)
{
    uint64_t nb = (n + batch - 1) / batch;
    return nb && n - (nb - 1) * batch == 1 ? nb - 1 : nb;
}

typedef struct epoch_stats {
    double loss, acc, seconds, data_seconds, compute_seconds;
    size_t images;
} epoch_stats;

static void progress(const run *r, uint32_t epoch, size_t done, size_t total, double loss,
                     double t0)
{
    int tty = cli_stderr_is_tty();
    if (r->o->verbosity < 0 || (!tty && r->o->verbosity < 1))
        return;
    double t = cli_now_seconds() - t0;
    if (!tty) { /* -v into a file: a line at every tenth of the epoch */
        size_t tenth = total / 10 ? total / 10 : 1;
        size_t before = done > (size_t)r->batch ? done - (size_t)r->batch : 0;
        if (done / tenth != before / tenth || done == total)
            fprintf(stderr, "epoch %u: %zu/%zu  loss %.4f  %.1f img/s\n", epoch + 1, done, total,
                    loss, t > 0 ? (double)done / t : 0.0);
        return;
    }
    int bar = total ? (int)(24.0 * (double)done / (double)total) : 24;
    char bars[25];
    memset(bars, '#', (size_t)bar);
    memset(bars + bar, '.', (size_t)(24 - bar));
    bars[24] = 0;
    fprintf(stderr, "\repoch %u [%s] %zu/%zu  loss %.4f  %.1f img/s ", epoch + 1, bars, done, total,
            loss, t > 0 ? (double)done / t : 0.0);
}

static inrf_status train_epoch(run *r, uint32_t epoch, uint64_t *step, long total_steps,
                               inrf_sampler *sampler, uint32_t *idx, float *host_x,
                               int32_t *host_labels, float *wins, epoch_stats *es)
{
    const options *o = r->o;
    uint32_t n = trn_data_count(r->train);
    inrf_status st = inrf_sampler_set_epoch(sampler, epoch);
    if (st != INRF_OK)
        return trn_fail(st, "%s", inrf_last_error());
    trn_sgd_options sgd;
    trn_sgd_options_init(&sgd);
    sgd.momentum = o->momentum;
    sgd.weight_decay = o->wd;
    sgd.decay_all = o->decay_all;
    memset(es, 0, sizeof *es);
    double t0 = cli_now_seconds(), lsum = 0;
    size_t correct = 0;
    uint64_t steps = epoch_steps(n, (uint64_t)r->batch);
    for (uint64_t k = 0; k < steps; k++) {
        if (cli_interrupted)
            return trn_fail(INRF_E_INTERRUPTED, "interrupted");
        double ta = cli_now_seconds();
        size_t len;
        st = inrf_sampler_batch(sampler, k, (uint32_t)r->size, (uint32_t)r->size, idx,
                                wins, &len);
        if (st != INRF_OK)
            return trn_fail(st, "%s", inrf_last_error());
        int b = (int)len;
        st = trn_data_batch(r->train, idx, len, wins, (uint32_t)r->size, r->mean, r->std,
                            r->threads, host_x, host_labels);
        if (st != INRF_OK)
            return st;
        double tb = cli_now_seconds();
        size_t per = (size_t)r->size * r->size * TRN_CHANNELS;
        r->be->upload(r->be, r->x, host_x, per * (size_t)b * sizeof(float));
        r->be->upload(r->be, r->labels_dev, host_labels, (size_t)b * sizeof(int32_t));
        sgd.lr = trn_lr_cosine(o->lr, (long)*step, total_steps);
        trn_tensor x = trn_tensor4(r->x, b, r->size, r->size, TRN_CHANNELS);
        float loss = 0;
        st = trn_resnet18_train_batch(r->model, &x, r->labels_dev, o->smoothing, &sgd, &loss);
        if (st != INRF_OK)
            return st;
        if (!isfinite(loss))
            return trn_fail(INRF_E_INVALID_ARG, "the loss is not finite (%g) at epoch %u, step "
                            "%llu: start again with a lower --lr", loss, epoch + 1,
                            (unsigned long long)*step);
        trn_tensor lg = trn_resnet18_logits(r->model);
        r->be->download(r->be, r->logits, lg.data, (size_t)b * r->classes * sizeof(float));
        if ((st = r->be->sync(r->be)) != INRF_OK)
            return st;
        for (int s = 0; s < b; s++)
            correct += argmax(r->logits + (size_t)s * r->classes, r->classes) == host_labels[s];
        ++*step;
        es->data_seconds += tb - ta;
        es->compute_seconds += cli_now_seconds() - tb;
        lsum += (double)loss * b;
        es->images += (size_t)b;
        progress(r, epoch, es->images, n, lsum / es->images, t0);
    }
    es->seconds = cli_now_seconds() - t0;
    es->loss = es->images ? lsum / es->images : NAN;
    es->acc = es->images ? (double)correct / es->images : NAN;
    return INRF_OK;
}

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static void log_epoch(FILE *f, uint32_t epoch, float lr, const epoch_stats *es, double tl,
                      double ta)
{
    fprintf(f, "{\"epoch\": %u, \"lr\": ", epoch);
    cli_json_number(f, lr);
    fprintf(f, ", \"train_loss\": ");
    cli_json_number(f, es->loss);
    fprintf(f, ", \"train_acc\": ");
    cli_json_number(f, es->acc);
    fprintf(f, ", \"test_loss\": ");
    cli_json_number(f, tl);
    fprintf(f, ", \"test_acc\": ");
    cli_json_number(f, ta);
    fprintf(f, ", \"images_per_s\": ");
    cli_json_number(f, es->seconds > 0 ? es->images / es->seconds : NAN);
    fprintf(f, ", \"seconds\": ");
    cli_json_number(f, es->seconds);
    fprintf(f, ", \"data_seconds\": ");
    cli_json_number(f, es->data_seconds);
    fprintf(f, ", \"compute_seconds\": ");
    cli_json_number(f, es->compute_seconds);
    fprintf(f, ", \"peak_mib\": ");
    cli_json_number(f, peak_mib());
    fprintf(f, "}\n");
    fflush(f);
}

/* ------------------------------------------------------------ the modes */

/* The model's configuration for this run. */
static void run_config(const run *r, int classes, int width, trn_resnet18_config *cfg)
{
    trn_resnet18_config_init(cfg);
    cfg->classes = classes;
    cfg->base_width = width;
    cfg->image_h = cfg->image_w = r->size;
    cfg->batch = r->batch;
}

static inrf_status make_model(run *r, int classes, int width, uint64_t seed)
{
    inrf_status st;
    if (strcmp(r->o->device, "cuda") == 0)
        return trn_fail(INRF_E_NO_DEVICE, "--device cuda: this build has no CUDA backend yet; "
                                          "use --device cpu");
    if ((st = trn_cpu_backend_create(r->threads, &r->be)) != INRF_OK)
        return st;
    trn_resnet18_config cfg;
    run_config(r, classes, width, &cfg);
    cfg.seed = seed;
    if ((st = trn_resnet18_create(r->be, &cfg, &r->model)) != INRF_OK)
        return st;
    r->classes = classes;
    size_t per = (size_t)r->size * r->size * TRN_CHANNELS;
    if ((st = r->be->alloc(r->be, per * (size_t)r->batch * sizeof(float), (void **)&r->x)) ||
        (st = r->be->alloc(r->be, (size_t)r->batch * sizeof(int32_t), (void **)&r->labels_dev)))
        return st;
    r->logits = malloc((size_t)r->batch * classes * sizeof(float));
    return r->logits ? INRF_OK : trn_fail(INRF_E_NOMEM, "out of memory");
}

/* ---------------------------------------------------------------- memory */

/* n bytes as "1.5 GiB". */
static const char *bytes_text(double n, char buf[32])
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (n >= 1024 && u < 6)
        n /= 1024, u++;
    snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
    return buf;
}

/* The memory a machine lends a process: its physical memory, or less
 * under an address-space limit. */
static double machine_memory(const char **what)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * page : INFINITY;
    *what = "this machine has";
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (double)rl.rlim_cur < have) {
        have = (double)rl.rlim_cur;
        *what = "the address-space limit (ulimit -v) is";
    }
    return have;
}

/* What a run of this model, batch and size needs before anything is
 * allocated: the model on its backend (parameters, gradients, momentum,
 * activations for the batch), the backend's workspace, the data buffers
 * (the batch in three forms, the test set held as floats, the mapped
 * packs) and the program itself. Refuses, with the figure and the options
 * to change, what the machine cannot hold; -v prints the estimate. */
static inrf_status check_memory(const run *r, int classes, int width, const char *batch_from)
{
    trn_resnet18_config cfg;
    run_config(r, classes, width, &cfg);
    trn_resnet18_memory mem;
    inrf_status st = trn_resnet18_memory_need(&cfg, &mem);
    if (st != INRF_OK)
        return st;
    const double image = (double)r->size * r->size * TRN_CHANNELS * sizeof(float);
    const double batch = r->batch, test_n = r->test ? trn_data_count(r->test) : 0;
    double work = trn_cpu_backend_workspace(r->threads, mem.max_channels, mem.image_floats);
    double data = batch * (2 * image + image / 4 + 4 * sizeof(float) + classes * sizeof(float)) +
                  test_n * (image + sizeof(int32_t));
    const trn_data *src[2] = {r->train, r->test};
    for (int k = 0; k < 2; k++) {
        size_t bytes = 0;
        if (src[k])
            trn_data_mapping(src[k], &bytes);
        data += (double)bytes + (k == 0 && src[k] ? trn_data_count(src[k]) * 4.0 : 0);
    }
    const double program = 16.0 * 1024 * 1024;
    const double need = mem.bytes + work + data + program;
    const char *what;
    const double have = machine_memory(&what);
    char b[5][32];
    if (r->o->verbosity > 0)
        fprintf(stderr, "inrtrain: memory estimate %s (model %s, workspace %s, data %s); %s %s\n",
                bytes_text(need, b[0]), bytes_text(mem.bytes, b[1]), bytes_text(work, b[2]),
                bytes_text(data, b[3]), what, bytes_text(have, b[4]));
    if (need > have)
        return trn_fail(INRF_E_LIMIT, "%s %d at size %d and width %d needs %s of memory, %s %s: "
                        "lower --batch, --size or --width", batch_from, r->batch, r->size, width,
                        bytes_text(need, b[0]), what, bytes_text(have, b[1]));
    return INRF_OK;
}

static void free_run(run *r)
{
    if (r->be) {
        r->be->release(r->be, r->x);
        r->be->release(r->be, r->labels_dev);
    }
    trn_resnet18_free(r->model);
    if (r->be)
        r->be->destroy(r->be);
    trn_data_close(r->train);
    trn_data_close(r->test);
    free(r->test_x);
    free(r->test_labels);
    free(r->logits);
    free(r->class_n);
    free(r->class_ok);
}

/* Whether a and b name one file (either may not exist yet). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
                                 sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* Whether two checkpoints are of one run: all that shapes it the same. */
static int same_run(const trn_ckpt_meta *a, const trn_ckpt_meta *b)
{
    if (a->classes != b->classes || a->base_width != b->base_width ||
        a->image_size != b->image_size || a->epochs != b->epochs || a->batch != b->batch ||
        a->seed != b->seed || a->lr != b->lr || a->momentum != b->momentum ||
        a->weight_decay != b->weight_decay || a->smoothing != b->smoothing ||
        a->decay_all != b->decay_all || memcmp(a->mean, b->mean, sizeof a->mean) != 0 ||
        memcmp(a->std, b->std, sizeof a->std) != 0)
        return 0;
    for (uint32_t c = 0; c < a->classes; c++)
        if (strcmp(a->class_names[c], b->class_names[c]) != 0)
            return 0;
    return 1;
}

/* A file that a run resumed from `resume` (whose header is ref) rewrites
 * without -f: that checkpoint, or a checkpoint or model of the same run
 * (the model of a finished run, the checkpoint a copy was made from). */
static int own_file(const char *path, const char *resume, const trn_ckpt_meta *ref)
{
    struct stat sb;
    if (same_file(path, resume))
        return 1;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    trn_ckpt_meta m;
    if (trn_ckpt_read_meta(path, &m) != INRF_OK)
        return 0;
    int own = same_run(&m, ref);
    trn_ckpt_meta_free(&m);
    return own;
}

/* The files a training run writes, checked before it reads its data: none
 * may replace a data set or the checkpoint resumed (the log), and one
 * that exists is replaced only with -f, or when it is a resumed run's own
 * (see own_file; the log of a resumed run is appended to). */
static int check_outputs(const options *o, const char *ckpt)
{
    const char *in[] = {o->train, o->test, o->resume};
    trn_ckpt_meta resumed = {0};
    int ok = 1;
    if (o->resume) {
        inrf_status st = trn_ckpt_read_meta(o->resume, &resumed);
        if (st != INRF_OK) {
            fail_trn(st);
            return 0;
        }
    } else if (!o->force) {
        /* a fresh run onto the checkpoint of a stopped or interrupted one:
         * say how to go on */
        trn_ckpt_meta old;
        struct stat sb;
        if (stat(ckpt, &sb) == 0 && S_ISREG(sb.st_mode) &&
            trn_ckpt_read_meta(ckpt, &old) == INRF_OK) {
            if (old.epochs_done < old.epochs)
                cli_error("%s: already exists, the checkpoint of a run at epoch %u of %u: "
                          "--resume %s goes on with it, -f starts again", ckpt, old.epochs_done,
                          old.epochs, ckpt);
            else
                cli_error("%s: already exists, the checkpoint of a finished run: not "
                          "overwritten (-f starts again)", ckpt);
            trn_ckpt_meta_free(&old);
            return 0;
        }
    }
    const int own_out = o->resume && own_file(o->out, o->resume, &resumed);
    const int own_ckpt = o->resume && own_file(ckpt, o->resume, &resumed);
    ok = cli_check_output(o->out, in, 2, o->force || own_out) &&
         cli_check_output(ckpt, in, 2, o->force || own_ckpt);
    if (ok && o->log && (same_file(o->log, o->out) || same_file(o->log, ckpt))) {
        cli_error("%s: both the log and the %s; give --log another file", o->log,
                  same_file(o->log, o->out) ? "model" : "checkpoint");
        ok = 0;
    }
    if (ok && o->log)
        ok = cli_check_output(o->log, in, 3, o->force || o->resume);
    trn_ckpt_meta_free(&resumed);
    return ok;
}

/* What a training run holds between its stages (do_train). */
typedef struct train_state {
    char **names;              /* the training set's class names (its strings) */
    uint32_t classes, n;       /* classes, training images */
    trn_ckpt_meta old;         /* the checkpoint resumed; zeros without --resume */
    float norm[6];             /* a resumed run's mean and std */
    int width;                 /* the model's base width */
    uint32_t start_epoch;
    uint64_t step;
    options eff;               /* the options in force (run_schedule) */
    trn_ckpt_meta meta;        /* the header of every checkpoint written */
    epoch_stats es;            /* the last epoch's */
    double tl, ta;             /* the last test loss and accuracy, NAN without */
    int stopped;               /* --stop-after ended the epochs early */
} train_state;

static void free_train(run *r, train_state *t)
{
    trn_ckpt_meta_free(&t->old);
    free(t->names);
    free_run(r);
}

/* The data sources and their classes (the model's): the quick checks first
 * (the files and folders opened, the classes), then the pass over the data
 * (a pack's records verified, a folder's files sniffed). */
static inrf_status open_data(const options *o, run *r, train_state *t)
{
    inrf_status st = open_source(o->train, o->train_dir, &r->train);
    if (st == INRF_OK && (o->test || o->test_dir))
        st = open_source(o->test, o->test_dir, &r->test);
    t->classes = st == INRF_OK ? trn_data_classes(r->train) : 0;
    t->names = st == INRF_OK ? malloc((t->classes ? t->classes : 1) * sizeof *t->names) : NULL;
    if (st == INRF_OK && !t->names)
        st = trn_fail(INRF_E_NOMEM, "out of memory");
    for (uint32_t c = 0; t->names && c < t->classes; c++)
        t->names[c] = (char *)trn_data_class_name(r->train, c);
    if (st == INRF_OK)
        st = model_classes(o->train ? o->train : o->train_dir, t->names, t->classes);
    if (st == INRF_OK && r->test)
        st = same_classes(r->test, t->names, t->classes, "the test set");
    if (st == INRF_OK && r->test)
        st = check_source(o, r->test, o->test, o->test_dir);
    if (st == INRF_OK)
        st = check_source(o, r->train, o->train, o->train_dir);
    return st;
}

/* Image size (given, or the first image's); batch and normalisation by
 * size. */
static void choose_shape(const options *o, run *r)
{
    uint32_t w0 = 0, h0 = 0;
    trn_data_source_size(r->train, 0, &w0, &h0);
    if (!w0 && !o->size) /* a folder: its first image says */
        w0 = trn_data_first_width(r->train);
    r->size = o->size ? o->size : w0 ? (int)w0 : 32;
    r->batch = o->batch ? o->batch : r->size <= 64 ? 128 : 64;
    r->mean = r->size <= 64 ? cifar_mean : imagenet_mean;
    r->std = r->size <= 64 ? cifar_std : imagenet_std;
}

/* --resume: the checkpoint decides everything that shapes the run, and must
 * be of this training set's classes (and of --width and --size, if given). */
static inrf_status resume_shape(const options *o, run *r, train_state *t)
{
    inrf_status st = trn_ckpt_read_meta(o->resume, &t->old);
    if (st != INRF_OK)
        return st;
    const trn_ckpt_meta *old = &t->old;
    if (old->classes != t->classes || (o->width_set && (int)old->base_width != o->width) ||
        (o->size && (int)old->image_size != o->size))
        st = trn_fail(INRF_E_INVALID_ARG, "%s: made for %u classes, width %u, size %u: not "
                      "this training set and options", o->resume, old->classes,
                      old->base_width, old->image_size);
    for (uint32_t c = 0; st == INRF_OK && c < t->classes; c++)
        if (strcmp(old->class_names[c], t->names[c]) != 0)
            st = trn_fail(INRF_E_INVALID_ARG, "%s: class %u is \"%s\", the training set's "
                          "\"%s\"", o->resume, c, old->class_names[c], t->names[c]);
    r->size = (int)old->image_size;
    r->batch = (int)old->batch;
    memcpy(t->norm, old->mean, sizeof old->mean); /* the normalisation it began with */
    memcpy(t->norm + 3, old->std, sizeof old->std);
    r->mean = t->norm, r->std = t->norm + 3;
    return st;
}

/* --resume: the weights and the position. Every epoch takes the same
 * steps: another count is another training set (or a forged file). */
static inrf_status load_resumed(const options *o, run *r, train_state *t)
{
    trn_ckpt_meta_free(&t->old);
    inrf_status st = trn_ckpt_load(o->resume, r->model, r->be, 1, &t->old);
    const trn_ckpt_meta *old = &t->old;
    uint64_t per_epoch = st == INRF_OK ? epoch_steps(t->n, old->batch) : 0;
    uint64_t steps = (uint64_t)old->epochs_done * per_epoch;
    if (st == INRF_OK && old->step != steps)
        st = trn_fail(INRF_E_INVALID_ARG, "%s: checkpoint step %llu, but %u epochs of this "
                      "training set at batch %u make %llu steps", o->resume,
                      (unsigned long long)old->step, old->epochs_done, old->batch,
                      (unsigned long long)steps);
    if (st != INRF_OK)
        return st;
    t->start_epoch = old->epochs_done;
    t->step = old->step;
    if (old->seed != o->seed || old->epochs != (uint32_t)o->epochs || old->lr != o->lr ||
        (o->batch && old->batch != (uint32_t)o->batch) || old->smoothing != o->smoothing ||
        old->decay_all != (uint32_t)o->decay_all)
        cli_error("warning: %s was made with other options (--seed, --epochs, --lr, "
                  "--batch, --label-smoothing or --decay-all); a resumed run goes on "
                  "with the checkpoint's", o->resume);
    return INRF_OK;
}

/* The options in force (a resumed run keeps the checkpoint's schedule) and
 * the header of the checkpoints the run writes. */
static void run_schedule(const options *o, run *r, train_state *t)
{
    options *eff = &t->eff;
    *eff = *o;
    if (o->resume) {
        const trn_ckpt_meta *old = &t->old;
        eff->seed = old->seed, eff->epochs = (int)old->epochs, eff->lr = old->lr;
        eff->momentum = old->momentum, eff->wd = old->weight_decay;
        eff->smoothing = old->smoothing, eff->decay_all = (int)old->decay_all;
    }
    r->o = eff;
    eff->width = t->width;
    t->meta = (trn_ckpt_meta){t->classes, (uint32_t)eff->width, (uint32_t)r->size,
                              t->start_epoch, (uint32_t)eff->epochs, (uint32_t)r->batch,
                              eff->seed, t->step, eff->lr, eff->momentum, eff->wd,
                              eff->smoothing, (uint32_t)eff->decay_all,
                              {r->mean[0], r->mean[1], r->mean[2]},
                              {r->std[0], r->std[1], r->std[2]}, t->names};
}

/* The epochs from t->start_epoch, each followed by a test pass (with a test
 * set), a checkpoint, a line of the log and one on stderr; --stop-after
 * ends them early (t->stopped). */
static inrf_status train_epochs(const options *o, run *r, train_state *t, FILE *logf)
{
    const options *eff = &t->eff;
    const uint32_t n = t->n;
    inrf_sampler *sampler = NULL;
    inrf_status st = make_sampler(r, &sampler);
    long total_steps = (long)epoch_steps(n, (uint64_t)r->batch) * eff->epochs;
    uint32_t *idx = malloc((size_t)r->batch * sizeof *idx);
    float *host_x = malloc((size_t)r->batch * r->size * r->size * TRN_CHANNELS * sizeof(float));
    int32_t *host_labels = malloc((size_t)r->batch * sizeof(int32_t));
    float *wins = malloc((size_t)r->batch * 4 * sizeof(float));
    if (st == INRF_OK && (!idx || !host_x || !host_labels || !wins))
        st = trn_fail(INRF_E_NOMEM, "out of memory");
    const char *first;
    size_t skipped = trn_data_skipped(r->train, &first);
    char left_out[64] = "";
    if (skipped)
        snprintf(left_out, sizeof left_out, " (%zu left out)", skipped);
    if (st == INRF_OK && o->verbosity >= 0)
        fprintf(stderr, "inrtrain: %u %s images%s, %u classes, %s%dx%d, batch %d, %d epoch(s), "
                        "%zu parameters, %s backend%s\n",
                n, trn_data_kind(r->train), left_out, t->classes, r->test ? "" : "no test set, ",
                r->size, r->size, r->batch, eff->epochs, trn_resnet18_param_count(r->model),
                r->be->name, t->start_epoch ? " (resumed)" : "");
    cli_catch_signals(1);
    for (uint32_t e = t->start_epoch; st == INRF_OK && e < (uint32_t)eff->epochs; e++) {
        float lr = trn_lr_cosine(eff->lr, (long)t->step, total_steps);
        st = train_epoch(r, e, &t->step, total_steps, sampler, idx, host_x, host_labels, wins,
                         &t->es);
        if (st == INRF_OK && r->test)
            st = evaluate(r, &t->tl, &t->ta);
        if (st != INRF_OK)
            break;
        t->meta.epochs_done = e + 1;
        t->meta.step = t->step;
        if ((st = trn_ckpt_save(o->ckpt, r->model, r->be, &t->meta)) != INRF_OK)
            break;
        if (logf)
            log_epoch(logf, e + 1, lr, &t->es, t->tl, t->ta);
        if (o->verbosity >= 0) {
            if (cli_stderr_is_tty())
                fputc('\r', stderr);
            char test[64] = "";
            if (r->test)
                snprintf(test, sizeof test, "  test loss %.4f acc %.2f%%", t->tl, 100 * t->ta);
            fprintf(stderr, "epoch %u/%d  lr %.5f  train loss %.4f acc %.2f%%%s  %.1f img/s  "
                            "data %.0f%%  %.0f s\n",
                    e + 1, eff->epochs, lr, t->es.loss, 100 * t->es.acc, test,
                    t->es.images / t->es.seconds, 100 * t->es.data_seconds / t->es.seconds,
                    t->es.seconds);
        }
        if (o->stop_after && e + 1 == (uint32_t)o->stop_after && e + 1 < (uint32_t)eff->epochs) {
            if (o->verbosity >= 0)
                fprintf(stderr, "inrtrain: stopped after epoch %u; --resume %s goes on\n", e + 1,
                        o->ckpt);
            t->stopped = 1;
            break;
        }
    }
    cli_catch_signals(0);
    inrf_sampler_free(sampler);
    free(idx);
    free(host_x);
    free(host_labels);
    free(wins);
    return st;
}

/* The end of a run (st: how the epochs went): the model file when it is
 * finished, nothing when --stop-after stopped it, else what went wrong and
 * how to go on. */
static int finish_train(const options *o, run *r, train_state *t, inrf_status st)
{
    const trn_ckpt_meta *meta = &t->meta;
    if (st == INRF_OK && t->stopped)
        return CLI_EXIT_OK; /* no model file: the run is not finished */
    if (st == INRF_OK && (st = trn_ckpt_save(o->out, r->model, r->be, meta)) == INRF_OK) {
        if (o->verbosity >= 0 && r->test)
            fprintf(stderr, "inrtrain: %s: %u epoch%s, test accuracy %.2f%%\n", o->out,
                    meta->epochs_done, meta->epochs_done == 1 ? "" : "s", 100 * t->ta);
        else if (o->verbosity >= 0)
            fprintf(stderr, "inrtrain: %s: %u epoch%s, train accuracy %.2f%%\n", o->out,
                    meta->epochs_done, meta->epochs_done == 1 ? "" : "s", 100 * t->es.acc);
        return CLI_EXIT_OK;
    }
    if (st == INRF_E_INTERRUPTED || cli_interrupted) {
        if (cli_stderr_is_tty())
            fputc('\n', stderr);
        if (meta->epochs_done > t->start_epoch || o->resume)
            cli_error("interrupted; %s holds the last finished epoch: rerun with --resume %s",
                      o->ckpt, o->resume && meta->epochs_done == t->start_epoch ? o->resume
                                                                                : o->ckpt);
        else
            cli_error("interrupted before the first epoch ended: nothing to resume");
    } else {
        fail_trn(st);
    }
    return CLI_EXIT_FAILURE;
}

/* inrtrain's training run: the outputs checked, the data opened and
 * checked, the model made (or resumed), the epochs, the model file. */
static int do_train(const options *o)
{
    if (!check_outputs(o, o->ckpt))
        return CLI_EXIT_FAILURE;
    run r = {.o = o, .threads = o->threads};
    train_state t = {.tl = NAN, .ta = NAN};
    inrf_status st = open_data(o, &r, &t);
    if (st != INRF_OK) {
        free_train(&r, &t);
        return fail_trn(st);
    }
    t.n = trn_data_count(r.train);
    if (t.n < 2) {
        free_train(&r, &t);
        cli_error("the training set has %u images; at least 2 are needed", t.n);
        return CLI_EXIT_FAILURE;
    }
    choose_shape(o, &r);
    if (o->resume)
        st = resume_shape(o, &r, &t);
    t.width = o->resume && st == INRF_OK ? (int)t.old.base_width : o->width;
    if (st == INRF_OK)
        st = check_memory(&r, (int)t.classes, t.width,
                          o->resume ? "the checkpoint's batch" : "--batch");
    if (st == INRF_OK)
        st = make_model(&r, (int)t.classes, t.width, o->seed);
    if (st == INRF_OK && o->resume)
        st = load_resumed(o, &r, &t);
    if (st == INRF_OK && r.test)
        st = load_test(&r);
    if (st != INRF_OK) {
        free_train(&r, &t);
        return fail_trn(st);
    }
    run_schedule(o, &r, &t);
    FILE *logf = o->log ? fopen(o->log, o->resume ? "a" : "w") : NULL;
    if (o->log && !logf)
        cli_error("warning: %s: cannot open the log: %s", o->log, strerror(errno));
    st = train_epochs(o, &r, &t, logf);
    int rc = finish_train(o, &r, &t, st);
    if (logf)
        fclose(logf);
    free_train(&r, &t);
    return rc;
}

/* --eval --json: one object (man/inrf-json.7, INRTRAIN). */
static void eval_json(const run *r, const trn_ckpt_meta *meta, const char *model,
                      const char *test, inrf_status st, double loss, double acc, double seconds)
{
    const char *first;
    printf("{\"path\": ");
    cli_json_string(stdout, model);
    printf(", \"test\": ");
    cli_json_string(stdout, test);
    if (st != INRF_OK) {
        printf(", \"error\": ");
        cli_json_string(stdout, trn_last_error()[0] ? trn_last_error() : inrf_strerror(st));
        printf("}\n");
        return;
    }
    printf(", \"images\": %u, \"skipped\": %zu, \"accuracy\": ", r->test_n,
           trn_data_skipped(r->test, &first));
    cli_json_number(stdout, acc);
    printf(", \"loss\": ");
    cli_json_number(stdout, loss);
    printf(", \"per_class\": [");
    for (uint32_t c = 0; c < meta->classes; c++) {
        printf("%s{\"label\": %u, \"class\": ", c ? ", " : "", c);
        cli_json_string(stdout, meta->class_names[c]);
        printf(", \"images\": %zu, \"accuracy\": ", r->class_n[c]);
        cli_json_number(stdout, r->class_n[c] ? (double)r->class_ok[c] / r->class_n[c] : NAN);
        printf("}");
    }
    printf("], \"seconds\": ");
    cli_json_number(stdout, seconds);
    printf("}\n");
}

/* --eval: the model's accuracy and loss on a test set. */
static inrf_status eval_test(run *r, const options *o, const trn_ckpt_meta *meta,
                             const char *model, double t0)
{
    double loss = NAN, acc = NAN;
    inrf_status st = same_classes(r->test, meta->class_names, meta->classes, "the test set");
    if (st == INRF_OK)
        st = check_source(o, r->test, o->test, o->test_dir);
    r->class_n = calloc(meta->classes, sizeof *r->class_n);
    r->class_ok = calloc(meta->classes, sizeof *r->class_ok);
    if (st == INRF_OK && (!r->class_n || !r->class_ok))
        st = trn_fail(INRF_E_NOMEM, "out of memory");
    if (st == INRF_OK)
        st = check_memory(r, (int)meta->classes, (int)meta->base_width, "the model's batch");
    if (st == INRF_OK)
        st = make_model(r, (int)meta->classes, (int)meta->base_width, 1);
    trn_ckpt_meta tmp = {0};
    if (st == INRF_OK)
        st = trn_ckpt_load(model, r->model, r->be, 0, &tmp);
    trn_ckpt_meta_free(&tmp);
    if (st == INRF_OK)
        st = load_test(r);
    if (st == INRF_OK)
        st = evaluate(r, &loss, &acc);
    if (o->json)
        eval_json(r, meta, model, o->test ? o->test : o->test_dir, st, loss, acc,
                  cli_now_seconds() - t0);
    else if (st == INRF_OK)
        printf("%s: %u images, accuracy %.2f%%, loss %.4f\n", model, r->test_n, 100 * acc, loss);
    return st;
}

/* --predict: one image classified; its line, or with --json its object
 * (sep before it). An image that cannot be read is reported, *bad set. */
static inrf_status predict_one(run *r, const options *o, const trn_ckpt_meta *meta,
                               const char *path, const char *sep, int *bad)
{
    inrf_image img;
    inrf_status st = inrf_image_read_file(path, NULL, &img);
    if (st != INRF_OK) {
        (void)trn_fail_lib(st, path, NULL);
        cli_error("%s", trn_last_error());
        if (o->json) {
            printf("%s{\"path\": ", sep);
            cli_json_string(stdout, path);
            printf(", \"error\": ");
            cli_json_string(stdout, trn_last_error());
            printf("}");
        }
        *bad = 1;
        return INRF_OK;
    }
    float *x = malloc((size_t)r->size * r->size * TRN_CHANNELS * sizeof(float));
    if (!x) {
        inrf_image_free(&img);
        return trn_fail(INRF_E_NOMEM, "out of memory");
    }
    trn_sample_image(&img, (uint32_t)r->size, r->mean, r->std, x);
    inrf_image_free(&img);
    r->be->upload(r->be, r->x, x, (size_t)r->size * r->size * TRN_CHANNELS * sizeof(float));
    free(x);
    trn_tensor t = trn_tensor4(r->x, 1, r->size, r->size, TRN_CHANNELS);
    st = trn_resnet18_forward(r->model, &t, 0);
    trn_tensor lg = trn_resnet18_logits(r->model);
    if (st == INRF_OK)
        r->be->download(r->be, r->logits, lg.data, (size_t)r->classes * sizeof(float));
    if (st == INRF_OK)
        st = r->be->sync(r->be);
    if (st != INRF_OK)
        return st;
    double mx = r->logits[argmax(r->logits, r->classes)], z = 0;
    for (int c = 0; c < r->classes; c++)
        z += exp(r->logits[c] - mx);
    if (o->json) {
        printf("%s{\"path\": ", sep);
        cli_json_string(stdout, path);
    } else {
        printf("%s:", path);
    }
    for (int top = 0; top < 5 && top < r->classes; top++) {
        int b = argmax(r->logits, r->classes);
        double p = exp(r->logits[b] - mx) / z;
        if (!o->json) {
            printf(" %s %.1f%%", meta->class_names[b], 100 * p);
        } else {
            if (top == 0) { /* the answer, then the five most likely */
                printf(", \"label\": %d, \"class\": ", b);
                cli_json_string(stdout, meta->class_names[b]);
                printf(", \"probability\": ");
                cli_json_number(stdout, p);
                printf(", \"top\": [");
            }
            printf("%s{\"label\": %d, \"class\": ", top ? ", " : "", b);
            cli_json_string(stdout, meta->class_names[b]);
            printf(", \"probability\": ");
            cli_json_number(stdout, p);
            printf("}");
        }
        r->logits[b] = -INFINITY;
    }
    printf(o->json ? "]}" : "\n");
    return INRF_OK;
}

/* --eval and --predict: a model file and images to classify. */
static int do_eval(const options *o)
{
    run r = {.o = o, .threads = o->threads};
    trn_ckpt_meta meta = {0};
    const char *model = o->eval ? o->eval : o->predict;
    double t0 = cli_now_seconds();
    inrf_status st = trn_ckpt_read_meta(model, &meta);
    r.size = (int)meta.image_size;
    r.batch = (int)meta.batch;
    r.mean = meta.mean;
    r.std = meta.std;
    if (st == INRF_OK && o->eval)
        st = open_source(o->test, o->test_dir, &r.test);
    if (o->eval) {
        if (st == INRF_OK)
            st = eval_test(&r, o, &meta, model, t0);
        else if (o->json)
            eval_json(&r, &meta, model, o->test ? o->test : o->test_dir, st, NAN, NAN, 0);
        trn_ckpt_meta_free(&meta);
        free_run(&r);
        return st == INRF_OK ? CLI_EXIT_OK : fail_trn(st);
    }
    if (st == INRF_OK)
        st = check_memory(&r, (int)meta.classes, (int)meta.base_width, "the model's batch");
    if (st == INRF_OK)
        st = make_model(&r, (int)meta.classes, (int)meta.base_width, 1);
    trn_ckpt_meta tmp = {0};
    if (st == INRF_OK)
        st = trn_ckpt_load(model, r.model, r.be, 0, &tmp);
    trn_ckpt_meta_free(&tmp);
    int bad = 0;
    if (st == INRF_OK && o->json)
        printf("[");
    for (int k = 0; st == INRF_OK && k < o->nimages; k++)
        st = predict_one(&r, o, &meta, o->images[k], k ? ",\n " : "", &bad);
    if (st == INRF_OK && o->json)
        printf("]\n");
    trn_ckpt_meta_free(&meta);
    free_run(&r);
    if (st != INRF_OK)
        return fail_trn(st);
    return bad ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    cli_init("inrtrain");
    options o;
    int rc = parse(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (o.eval || o.predict)
        return do_eval(&o);
    /* the files this run writes are its own while it runs: a second run
     * is refused, and temporary files of a killed one are removed */
    char *ckpt = NULL;
    if (!o.ckpt) {
        if (!(ckpt = malloc(strlen(o.out) + 6)))
            return fail_trn(trn_fail(INRF_E_NOMEM, "out of memory"));
        sprintf(ckpt, "%s.ckpt", o.out);
        o.ckpt = ckpt;
    }
    /* where they go, before the locks beside them are taken: an existing
     * folder, not a data set (the rest of check_outputs comes after the
     * locks, which name a second run writing the same files) */
    const char *in[] = {o.train, o.test};
    if (!cli_check_output(o.out, in, 2, 1) || !cli_check_output(o.ckpt, in, 2, 1)) {
        free(ckpt);
        return CLI_EXIT_FAILURE;
    }
    trn_ckpt_claim claim[2];
    inrf_status st = trn_ckpt_claim_path(o.ckpt, o.verbosity < 0, &claim[0]);
    claim[1].fd = -1, claim[1].lock = NULL;
    if (st == INRF_OK && strcmp(o.out, o.ckpt) != 0)
        st = trn_ckpt_claim_path(o.out, o.verbosity < 0, &claim[1]);
    rc = st == INRF_OK ? do_train(&o) : fail_trn(st);
    trn_ckpt_release(&claim[0]);
    trn_ckpt_release(&claim[1]);
    free(ckpt);
    return rc;
}
