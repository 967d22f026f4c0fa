/* cli.c: the command-line plumbing shared by the tools (messages, argument
 * parsing, whole-file reading, JSON), kept out of the tools' logic. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char *program = "inrf";
static int silent;

void cli_init(const char *name) { program = name; }

void cli_set_silent(int on) { silent = on; }

const char *cli_program(void) { return program; }

static char first_error[1024];

void cli_error(const char *fmt, ...)
{
    va_list ap, again;
    char buf[sizeof first_error], *msg = buf;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* a longer message (a path of up to 4096 bytes) is printed whole */
    if (n >= (int)sizeof buf && (msg = malloc((size_t)n + 1)) != NULL)
        vsnprintf(msg, (size_t)n + 1, fmt, again);
    va_end(again);
    if (!msg)
        msg = buf;
    if (!first_error[0] && strncmp(msg, "warning: ", 9) != 0)
        snprintf(first_error, sizeof first_error, "%s", msg);
    if (!silent)
        fprintf(stderr, "%s: %s\n", program, msg);
    if (msg != buf)
        free(msg);
}

const char *cli_first_error(void) { return first_error; }

void cli_lib_error(const char *path, inrf_status status)
{
    const char *detail = inrf_last_error();
    if (detail == NULL || detail[0] == '\0')
        detail = inrf_strerror(status);
    /* File-level messages of libinrf already start with "PATH: ". */
    size_t n = strlen(path);
    if (strncmp(detail, path, n) == 0 && detail[n] == ':')
        cli_error("%s", detail);
    else
        cli_error("%s: %s", path, detail);
}

void cli_lib_message(char *buf, size_t size, const char *path, inrf_status status)
{
    const char *detail = inrf_last_error();
    if (detail == NULL || detail[0] == '\0')
        detail = inrf_strerror(status);
    size_t n = strlen(path);
    if (strncmp(detail, path, n) == 0 && detail[n] == ':')
        snprintf(buf, size, "%s", detail);
    else
        snprintf(buf, size, "%s: %s", path, detail);
}

static const char *help_command; /* a subcommand with its own --help */

void cli_set_help_command(const char *command) { help_command = command; }

static void usage_hint(void)
{
    fprintf(stderr, "Try '%s%s%s --help' for more information.\n", program,
            help_command ? " " : "", help_command ? help_command : "");
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage_hint();
    return CLI_EXIT_USAGE;
}

/* The long option that argv[optind - 1] names when it is "--name[=...]"
 * and that option's short form is `val`; NULL otherwise. getopt leaves
 * no other trace of which spelling the user typed. */
static const struct option *long_option_typed(const char *arg, int val,
                                              const struct option *longopts)
{
    if (arg == NULL || strncmp(arg, "--", 2) != 0)
        return NULL;
    size_t len = strcspn(arg + 2, "=");
    for (const struct option *o = longopts; o->name != NULL; o++)
        if (o->val == val && strncmp(o->name, arg + 2, len) == 0)
            return o;
    return NULL;
}

int cli_getopt_error(int c, char *const argv[], const struct option *longopts)
{
    const char *arg = optind > 0 ? argv[optind - 1] : NULL;
    if (c == ':') {
        const struct option *o = long_option_typed(arg, optopt, longopts);
        if (o != NULL)
            return cli_usage_error("option '--%s' requires an argument", o->name);
        return cli_usage_error("option '-%c' requires an argument", optopt);
    }
    if (optopt == 0) { /* glibc: an unknown or ambiguous long option */
        if (arg == NULL)
            return cli_usage_error("unrecognized option");
        size_t len = strcspn(arg, "=");
        int matches = 0;
        for (const struct option *o = longopts; o->name != NULL && len > 2; o++)
            matches += strncmp(o->name, arg + 2, len - 2) == 0;
        return cli_usage_error("%s option '%.*s'", matches > 1 ? "ambiguous" : "unrecognized",
                               (int)len, arg);
    }
    const struct option *o = long_option_typed(arg, optopt, longopts);
    if (o != NULL)
        return cli_usage_error("option '--%s' does not take an argument", o->name);
    if (optopt > ' ' && optopt < 127)
        return cli_usage_error("invalid option '-%c'", optopt);
    return cli_usage_error("invalid option");
}

void cli_print_version(void)
{
    printf("%s (inrf) %s\n", program, INRF_VERSION_STRING);
    printf("libinrf %s, decode kernel %s\n", inrf_version_string(),
           inrf_decode_kernel_name());
}

/* Digits only: strtoul alone would accept " 12", "-1" (as ULONG_MAX) and
 * "+3". Sets *end past the digits; 0 on no digits or overflow. */
static int scan_digits(const char *s, const char **end, unsigned long *out)
{
    unsigned long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *end = p;
    *out = v;
    return p != s;
}

int cli_parse_uint(const char *what, const char *s, unsigned long min,
                   unsigned long max, unsigned long *out)
{
    const char *end;
    unsigned long v;
    if (!scan_digits(s, &end, &v) || *end != '\0' || v < min || v > max) {
        cli_usage_error("%s: '%s' is not an integer in %lu..%lu", what, s, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_size(const char *what, const char *s, unsigned long max,
                   uint32_t *w, uint32_t *h)
{
    const char *p;
    unsigned long a, b;
    if (!scan_digits(s, &p, &a) || (*p != 'x' && *p != 'X') ||
        !scan_digits(p + 1, &p, &b) || *p != '\0') {
        cli_usage_error("%s: '%s' is not WIDTHxHEIGHT", what, s);
        return 0;
    }
    if (a < 1 || b < 1 || a > max || b > max) {
        cli_usage_error("%s: '%s': each side must be in 1..%lu", what, s, max);
        return 0;
    }
    *w = (uint32_t)a;
    *h = (uint32_t)b;
    return 1;
}

int cli_parse_rect(const char *what, const char *s, unsigned long max, uint32_t rect[4])
{
    const char *p = s;
    unsigned long v[4];
    for (int i = 0; i < 4; i++) {
        if (!scan_digits(p, &p, &v[i]) || *p != (i < 3 ? ',' : '\0')) {
            cli_usage_error("%s: '%s' is not X,Y,WIDTH,HEIGHT", what, s);
            return 0;
        }
        p++;
    }
    if (v[0] > max || v[1] > max || v[2] < 1 || v[3] < 1 || v[2] > max || v[3] > max) {
        cli_usage_error("%s: '%s': X and Y must be in 0..%lu, WIDTH and HEIGHT in 1..%lu",
                        what, s, max, max);
        return 0;
    }
    for (int i = 0; i < 4; i++)
        rect[i] = (uint32_t)v[i];
    return 1;
}

int cli_parse_double(const char *what, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* strtod skips leading blanks and takes "nan", "inf" and hex: refuse
     * all three for a plain number. */
    if (s[0] == '\0' || end == s || *end != '\0' || errno == ERANGE || !isfinite(v) ||
        s[0] == ' ' || s[0] == '\t' || strpbrk(s, "xX") != NULL || v < min || v > max) {
        cli_usage_error("%s: '%s' is not a number in %.10g..%.10g", what, s, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_stdout_is_tty(void) { return isatty(STDOUT_FILENO); }

int cli_stderr_is_tty(void) { return isatty(STDERR_FILENO); }

int cli_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size)
{
    void *d;
    inrf_status st = inrf_file_read(path, max_bytes, &d, size);
    if (st != INRF_OK) {
        cli_lib_error(path, st);
        return 0;
    }
    *data = d;
    return 1;
}

static void said_removed(const char *file, void *quiet)
{
    if (!*(const int *)quiet)
        cli_error("removed %s, a temporary file left by an interrupted run", file);
}

size_t cli_remove_stale_temps(const char *path, int quiet)
{
    return inrf_file_remove_stale_temps(path, said_removed, &quiet);
}

int cli_check_output(const char *out, const char *const *inputs, size_t n, int force)
{
    inrf_status st = inrf_file_check_output(out);
    if (st != INRF_OK) {
        cli_lib_error(out, st);
        return 0;
    }
    /* only a regular file loses its contents; a device read and written
     * (/dev/null) is no harm */
    struct stat so, si;
    if (strcmp(out, "-") == 0 || stat(out, &so) != 0 || !S_ISREG(so.st_mode))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (inputs[i] && strcmp(inputs[i], "-") != 0 && stat(inputs[i], &si) == 0 &&
            si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
            if (strcmp(inputs[i], out) == 0)
                cli_error("%s: is also an input; refusing to overwrite it", out);
            else
                cli_error("%s: is the input %s; refusing to overwrite it", out, inputs[i]);
            return 0;
        }
    if (!force) {
        cli_error("%s: already exists; not overwritten (-f overwrites it)", out);
        return 0;
    }
    return 1;
}

double cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3fu >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void cli_json_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        size_t n = utf8_length(s);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
        } else if (n > 1) {
            fwrite(s, 1, n, f);
            s += n;
        } else {
            unsigned c = *s++;
            switch (c) {
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default:
                if (c < 0x20 || c == 0x7f)
                    fprintf(f, "\\u%04x", c);
                else
                    fputc((int)c, f);
            }
        }
    }
    fputc('"', f);
}

void cli_json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

void cli_json_key(FILE *f, int *first, const char *key)
{
    fprintf(f, "%s    \"%s\": ", *first ? "" : ",\n", key);
    *first = 0;
}

int cli_json_array(int data_on_stdout, size_t n,
                   void (*item)(FILE *f, size_t i, const void *ctx), const void *ctx)
{
    FILE *f = data_on_stdout ? stderr : stdout;
    fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        item(f, i, ctx);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("]\n", f);
    if (fflush(f) != 0 || ferror(f)) {
        cli_error("error writing the JSON results");
        return 0;
    }
    return 1;
}

volatile sig_atomic_t cli_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
    inrf_remove_temp_files();
}

void cli_catch_signals(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    if (on)
        sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* a * n / d rounded to nearest (halves up), at least 1; a, d <= 2^24 and
 * n <= 2^28, so nothing overflows 64 bits. */
static uint64_t scale_side(uint64_t a, uint64_t n, uint64_t d)
{
    uint64_t v = (2 * a * n + d) / (2 * d);
    return v < 1 ? 1 : v;
}

void cli_shorter_side(uint32_t w, uint32_t h, uint32_t n, uint64_t *ow, uint64_t *oh)
{
    if (w <= h) {
        *ow = n;
        *oh = scale_side(h, n, w);
    } else {
        *oh = n;
        *ow = scale_side(w, n, h);
    }
}

int cli_parse_size_option(const char *s, cli_size *out)
{
    unsigned long v;
    memset(out, 0, sizeof *out);
    if (strpbrk(s, "xX") != NULL)
        return cli_parse_size("--size", s, CLI_MAX_PIXELS, &out->w, &out->h);
    if (!cli_parse_uint("--size", s, 1, CLI_MAX_PIXELS, &v))
        return 0;
    out->n = (uint32_t)v;
    return 1;
}

void cli_apply_size(const cli_size *s, uint32_t w, uint32_t h, uint64_t *ow, uint64_t *oh)
{
    *ow = w;
    *oh = h;
    if (s->w) {
        *ow = s->w;
        *oh = s->h;
    } else if (s->n) {
        cli_shorter_side(w, h, s->n, ow, oh);
    }
}

int cli_check_pixels(const char *what, uint64_t w, uint64_t h)
{
    /* by division: --size N stretches a 1 x 2^24 image to N x 2^52 */
    if (w != 0 && h <= CLI_MAX_PIXELS / w)
        return 1;
    cli_error("%s: a %llux%llu image is larger than the limit of 2^28 pixels (--size sets a "
              "smaller one)", what, (unsigned long long)w, (unsigned long long)h);
    return 0;
}

/* Mapped files: another program that cuts one while it is read makes the
 * next read of a lost page raise SIGBUS. The tools, never libinrf (whose
 * hosts have handlers of their own), turn that into one line naming the
 * file. Slots are filled once and never reused: a handler may read them at
 * any time. */
static struct {
    const char *lo;
    size_t n;
    const char *path;
} mapped[64];
static volatile sig_atomic_t nmapped;
static int bus_taken;

static void put_err(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    const char *a = si->si_addr, *path = NULL;
    for (int k = 0; k < nmapped; k++)
        if (a >= mapped[k].lo && (size_t)(a - mapped[k].lo) < mapped[k].n)
            path = mapped[k].path;
    if (!path) { /* not a watched file's page: the fault repeats into the default */
        signal(sig, SIG_DFL);
        return;
    }
    if (__atomic_exchange_n(&bus_taken, 1, __ATOMIC_SEQ_CST)) /* another thread reports */
        for (;;)
            pause();
    put_err(cli_program());
    put_err(": ");
    put_err(path);
    put_err(": the file changed or was truncated while in use\n");
    inrf_remove_temp_files();
    _exit(CLI_EXIT_FAILURE);
}

void cli_watch_mapping(const void *lo, size_t n, const char *path)
{
    if (!lo || !n || nmapped >= (int)(sizeof mapped / sizeof mapped[0]))
        return;
    mapped[nmapped].lo = lo;
    mapped[nmapped].n = n;
    mapped[nmapped].path = path;
    nmapped++;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
}

/* ------------------------------------------------------ progress line */

void cli_bar(char *buf, int cells, double fraction)
{
    if (!(fraction > 0)) /* NaN too */
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    int full = (int)(fraction * cells);
    buf[0] = '[';
    memset(buf + 1, '#', (size_t)full);
    memset(buf + 1 + full, '.', (size_t)(cells - full));
    buf[cells + 1] = ']';
    buf[cells + 2] = 0;
}

void cli_eta(char *buf, size_t size, double seconds)
{
    if (!(seconds >= 0) || seconds > 359999)
        snprintf(buf, size, "--:--");
    else if (seconds >= 3600)
        snprintf(buf, size, "%d:%02d:%02d", (int)seconds / 3600, (int)seconds / 60 % 60,
                 (int)seconds % 60);
    else
        snprintf(buf, size, "%d:%02d", (int)seconds / 60, (int)seconds % 60);
}

void cli_progress_init(cli_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->show = !quiet && cli_stderr_is_tty();
}

int cli_progress_due(cli_progress *p, double interval)
{
    if (!p->show)
        return 0;
    double t = cli_now_seconds();
    if (p->width > 0 && t - p->last < interval)
        return 0;
    p->last = t;
    return 1;
}

void cli_progress_draw(cli_progress *p, const char *fmt, ...)
{
    if (!p->show)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    /* pad over the end of a longer previous line */
    fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
    fflush(stderr);
    if (n > p->width)
        p->width = n;
}

void cli_progress_clear(cli_progress *p)
{
    if (p->width > 0) {
        fprintf(stderr, "\r%*s\r", p->width, "");
        fflush(stderr);
    }
    p->width = 0;
}

/* ------------------------------------------------------------ outputs */

/* DIR/NAME.EXT for input path: its base name without the extension. */
static char *output_in_dir(const char *dir, const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot != NULL && dot != base ? (size_t)(dot - base) : strlen(base);
    size_t dlen = strlen(dir);
    int sep = dlen > 0 && dir[dlen - 1] != '/';
    char *out = malloc(dlen + (size_t)sep + len + strlen(ext) + 2);
    if (out != NULL)
        sprintf(out, "%s%s%.*s.%s", dir, sep ? "/" : "", (int)len, base, ext);
    return out;
}

int cli_plan_outputs(const char *dir, const char *ext, const char *output,
                     const char *const *inputs, size_t n, int force, char **outputs)
{
    struct stat sb;
    if (dir != NULL && stat(dir, &sb) != 0) {
        cli_error("%s: %s", dir, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (dir != NULL && !S_ISDIR(sb.st_mode)) {
        cli_error("%s: %s", dir, strerror(ENOTDIR));
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < n; i++) {
        outputs[i] = dir ? output_in_dir(dir, inputs[i], ext) : strdup(output);
        if (outputs[i] == NULL) {
            cli_error("out of memory");
            return CLI_EXIT_FAILURE;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(outputs[i], outputs[k]) == 0)
                return cli_usage_error("%s and %s would both be written to %s", inputs[k],
                                       inputs[i], outputs[i]);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= cli_check_output(outputs[i], inputs, n, force);
    return ok ? -1 : CLI_EXIT_FAILURE;
}

int cli_file_args(int nargs, char **args, const char *dir, const char **output,
                  const char ***inputs, size_t *n, const char *out_hint)
{
    if (nargs < 1)
        return cli_usage_error("no input file");
    *inputs = (const char **)args;
    if (dir != NULL) {
        if (*output != NULL)
            return cli_usage_error("-d '%s' and -o '%s': give one or the other", dir, *output);
        *n = (size_t)nargs;
        for (size_t i = 0; i < *n; i++)
            if (strcmp(args[i], "-") == 0)
                return cli_usage_error("-d: standard input ('-') has no name to keep; "
                                       "give it -o FILE");
        return -1;
    }
    if (nargs > 2 || (nargs == 2 && *output != NULL))
        return cli_usage_error("several inputs need -d DIR ('%s' is extra)",
                               args[*output != NULL ? 1 : 2]);
    *n = 1;
    if (nargs == 2)
        *output = args[1];
    if (*output == NULL)
        return cli_usage_error("no output: give %s, or -d DIR", out_hint);
    return -1;
}
