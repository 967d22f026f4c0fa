/* cli.h: what the tools (inrinfo, inrdec, inrenc, inrpack) share: program name,
 * messages on stderr, option parsing, whole files, terminals, JSON, signals. */
#ifndef INRF_TOOLS_CLI_H
#define INRF_TOOLS_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "inrf/inrf.h"

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Exit statuses of every tool (man pages, "EXIT STATUS"). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* Sets the name used in messages. A fixed name rather than argv[0]: under
 * libtool's uninstalled wrappers argv[0] is ".libs/lt-inrdec" or a path. */
void cli_init(const char *program);
const char *cli_program(void);

/* Silences cli_error and cli_lib_error (not usage errors): inrinfo -q
 * reports through its exit status only. */
void cli_set_silent(int on);

/* "PROG: message\n" on stderr. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* The first message of cli_error or cli_lib_error that was not a warning
 * (even when silent), without "PROG: "; "" when none: the "error" of a
 * failed run's JSON object. */
const char *cli_first_error(void);

/* A libinrf failure: "PROG: PATH: detail", the detail being
 * inrf_last_error() or, when that is empty, inrf_strerror(status). */
void cli_lib_error(const char *path, inrf_status status);
/* The same text without "PROG: ", into buf (JSON's "error"). */
void cli_lib_message(char *buf, size_t size, const char *path, inrf_status status);

/* A usage error: the message, then "Try 'PROG --help' for more
 * information." ("PROG COMMAND --help" after cli_set_help_command, for a
 * subcommand that has its own help); returns CLI_EXIT_USAGE. */
void cli_set_help_command(const char *command);
int cli_usage_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* Reports what getopt_long returned as '?' or ':' (opterr must be 0 and
 * optstring start with ':') as a usage error; returns CLI_EXIT_USAGE. */
int cli_getopt_error(int c, char *const argv[], const struct option *longopts);

/* "PROG (inrf) 0.1.0" and the library version on stdout. */
void cli_print_version(void);

/* Parsers: 1 on success, 0 (after printing a usage error naming `what`)
 * when the text is not entirely a number in range. */
int cli_parse_uint(const char *what, const char *s, unsigned long min,
                   unsigned long max, unsigned long *out);
/* "WxH" (or "WXH"), both sides in 1..max. */
int cli_parse_size(const char *what, const char *s, unsigned long max,
                   uint32_t *w, uint32_t *h);
/* "X,Y,W,H": X, Y in 0..max, W, H in 1..max. */
int cli_parse_rect(const char *what, const char *s, unsigned long max, uint32_t rect[4]);
/* A finite number in [min, max]. */
int cli_parse_double(const char *what, const char *s, double min, double max, double *out);

/* Whether a stream is a terminal (fd 1 or 2). */
int cli_stdout_is_tty(void);
int cli_stderr_is_tty(void);

/* Reads a whole file ("-": standard input) into a buffer of libinrf's
 * (inrf_free it). Fails, printing "PROG: PATH: reason", on errors and when the file is
 * larger than max_bytes. Returns 1 on success, 0 on failure. */
int cli_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size);

/* Removes the temporary files that atomic writes of path leave behind when
 * killed (inrf_file_write_atomic's PATH.tmp-XXXXXX beside it), saying so in
 * one line each unless quiet; returns how many. Only for a caller that has
 * proved that no one else writes path now, by holding a lock that every
 * writer of path takes (inrpack create: its journal's flock): then each
 * such file is stale. */
size_t cli_remove_stale_temps(const char *path, int quiet);

/* An output path, checked before any long work: what the writer would
 * refuse (inrf_file_check_output: a directory, a missing or read-only
 * folder, a dangling link); a regular file that is one of the n inputs
 * (same device and inode, symbolic links followed; "-" and NULL entries
 * are skipped), which would be overwritten, even with force; and, unless
 * force (-f/--force), a regular file that exists ("already exists; not
 * overwritten (-f overwrites it)"). Devices and FIFOs (/dev/null) pass.
 * "-" passes. 1 if out may be written, 0 after printing one line naming
 * it. */
int cli_check_output(const char *out, const char *const *inputs, size_t n, int force);

/* The outputs of a tool that turns each of n inputs into one file: with
 * dir (-d DIR, which must be an existing folder) DIR/NAME.EXT, NAME the
 * input's base name without its extension; else output (-o, one input).
 * outputs[i] receive malloc'd paths (free() them, also on failure; unset
 * ones are NULL when the array was zeroed). Two inputs with one output is
 * a usage error; each output is checked with cli_check_output. Everything
 * is said in one line before any work: -1 to go on, else an exit code. */
int cli_plan_outputs(const char *dir, const char *ext, const char *output,
                     const char *const *inputs, size_t n, int force, char **outputs);

/* The operands of a tool that turns files into files (inrenc, inrdec):
 * with dir (-d DIR), every one of the nargs args is an input, none "-";
 * else IN [OUT], OUT unless -o gave *output. Sets *inputs (pointing into
 * args), *n and *output; out_hint names the missing output ("OUT.inrf (or
 * '-' for standard output)"). -1 to go on, else a usage error's code. */
int cli_file_args(int nargs, char **args, const char *dir, const char **output,
                  const char ***inputs, size_t *n, const char *out_hint);

/* Seconds on a monotonic clock, for elapsed times. */
double cli_now_seconds(void);

/* JSON output: a string with quotes, backslashes and control characters
 * escaped and bytes that are not UTF-8 (a file name can hold any) written
 * as U+FFFD; a number as %.9g (round-trips a float), or null when it is
 * not finite, since JSON has neither NaN nor infinity. */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v);
/* Starts the next key of an array item's object, one a line: ",\n" before
 * every key but the first (*first, set to 0), then     "key": . */
void cli_json_key(FILE *f, int *first, const char *key);
/* The --json output of a tool that takes files: "[", item(f, i, ctx) for
 * i in 0..n-1 separated by ",\n", "]"; on standard output, or standard
 * error when data_on_stdout (an output named "-"). 1, or 0 after saying
 * that it could not be written. */
int cli_json_array(int data_on_stdout, size_t n,
                   void (*item)(FILE *f, size_t i, const void *ctx), const void *ctx);

/* The size of a w x h image scaled so that its shorter side is n pixels,
 * the other side rounded to nearest (--size N of inrdec and inrpack). */
void cli_shorter_side(uint32_t w, uint32_t h, uint32_t n, uint64_t *ow, uint64_t *oh);

/* The most pixels a tool decodes into one image (and so the longest side):
 * 2^28 RGB pixels are 768 MiB of samples, the most a tool should allocate
 * unasked; also the image reader's default limit. A file may claim up to
 * 2^48 (2^24 x 2^24): its size is data, not a request. */
#define CLI_MAX_PIXELS (UINT64_C(1) << 28)

/* --size of the tools that decode (inrdec, inrpack extract): "N", the
 * shorter side with the aspect ratio kept, or "WxH"; all 0 when not given. */
typedef struct cli_size {
    uint32_t n;                /* shorter side, 1..CLI_MAX_PIXELS; 0 = not given */
    uint32_t w, h;             /* exact size, 1..CLI_MAX_PIXELS each; 0 = not given */
} cli_size;
/* Parses the argument of --size: 1, or 0 after a usage error. */
int cli_parse_size_option(const char *s, cli_size *out);
/* The output size of a w x h image under --size (w x h when not given). */
void cli_apply_size(const cli_size *s, uint32_t w, uint32_t h, uint64_t *ow, uint64_t *oh);
/* 1 when a w x h output is within CLI_MAX_PIXELS; else prints "PROG: WHAT:
 * a WxH image is larger than the limit of 2^28 pixels (--size sets a
 * smaller one)" and returns 0. Call it before allocating the image. */
int cli_check_pixels(const char *what, uint64_t w, uint64_t h);

/* --device (tools/cli_device.c, linked by the tools that can use the GPU):
 * parses "auto", "cpu" or "cuda" (1, or 0 after a usage error); then
 * whether to use the GPU: 1 yes, 0 the CPU (auto without a usable GPU),
 * -1 after printing why "cuda" cannot be had. */
enum { CLI_DEVICE_CPU = 0, CLI_DEVICE_AUTO = 1, CLI_DEVICE_CUDA = 2 };
int cli_parse_device(const char *s, int *device);
int cli_use_gpu(int device);

/* Ctrl-C and SIGTERM: the first sets cli_interrupted (long jobs poll it
 * and stop cleanly) and removes the temporary files of atomic writes in
 * progress; SA_RESETHAND makes a second one kill. on = 0 restores the
 * defaults. */
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_signals(int on);

/* A file mapped at lo (n bytes) that another program may cut while it is
 * read: a SIGBUS inside it becomes "PROG: PATH: the file changed or was
 * truncated while in use" and exit 1 (temporary files removed) rather than
 * a death by signal; faults elsewhere keep the default. path must outlive
 * the mapping; up to 64 files a process are watched. */
void cli_watch_mapping(const void *lo, size_t n, const char *path);

/* The progress line of a long job on stderr: shown only when stderr is a
 * terminal and not quiet, redrawn in place ("\r"), cleared before any
 * other message and at the end. */
typedef struct cli_progress {
    int show;                  /* stderr is a terminal and not quiet */
    double last;               /* cli_now_seconds() of the last drawing */
    int width;                 /* characters on screen, to blank them */
} cli_progress;
void cli_progress_init(cli_progress *p, int quiet);
/* 1 when shown and interval seconds have passed since the last drawing
 * (always the first time); then draw. */
int cli_progress_due(cli_progress *p, double interval);
/* Draws the line (at most 255 characters), padding over a longer one. */
void cli_progress_draw(cli_progress *p, const char *fmt, ...) CLI_PRINTF(2, 3);
void cli_progress_clear(cli_progress *p);
/* "[####......]": cells cells of which fraction (clamped to 0..1) are
 * '#'; buf holds cells + 3 bytes. */
void cli_bar(char *buf, int cells, double fraction);
/* A remaining time as "M:SS" or "H:MM:SS"; "--:--" when unknown (negative,
 * NaN or over 99 hours). */
void cli_eta(char *buf, size_t size, double seconds);

/* ------------------------------------------------- encoder options
 * The rate and architecture options of the tools that encode (inrenc,
 * inrpack create), parsed in one place (tools/cli_encode.c): put
 * CLI_ENCODE_LONGOPTS into the getopt_long table and give every value
 * getopt returns to cli_encode_option first. */
enum {
    CLI_ENC_PRESET = 0x1000, CLI_ENC_EFFORT, CLI_ENC_LAYERS, CLI_ENC_HIDDEN, CLI_ENC_W0,
    CLI_ENC_W0_HIDDEN, CLI_ENC_LR, CLI_ENC_STEPS, CLI_ENC_NO_PRUNE, CLI_ENC_QUANT,
    CLI_ENC_QAT, CLI_ENC_NO_QAT, CLI_ENC_FP32_IO, CLI_ENC_TARGET_PSNR, CLI_ENC_MAX_BYTES,
    CLI_ENC_BPP, CLI_ENC_BATCH, CLI_ENC_SEED
};
#define CLI_ENCODE_LONGOPTS                                                                      \
    {"preset", required_argument, NULL, CLI_ENC_PRESET},                                         \
    {"effort", required_argument, NULL, CLI_ENC_EFFORT},                                         \
    {"layers", required_argument, NULL, CLI_ENC_LAYERS},                                         \
    {"hidden", required_argument, NULL, CLI_ENC_HIDDEN},                                         \
    {"w0", required_argument, NULL, CLI_ENC_W0},                                                 \
    {"w0-hidden", required_argument, NULL, CLI_ENC_W0_HIDDEN},                                   \
    {"lr", required_argument, NULL, CLI_ENC_LR},                                                 \
    {"steps", required_argument, NULL, CLI_ENC_STEPS},                                           \
    {"no-prune", no_argument, NULL, CLI_ENC_NO_PRUNE},                                           \
    {"quant", required_argument, NULL, CLI_ENC_QUANT},                                           \
    {"qat", no_argument, NULL, CLI_ENC_QAT}, {"no-qat", no_argument, NULL, CLI_ENC_NO_QAT},     \
    {"fp32-io", no_argument, NULL, CLI_ENC_FP32_IO},                                             \
    {"target-psnr", required_argument, NULL, CLI_ENC_TARGET_PSNR},                               \
    {"max-bytes", required_argument, NULL, CLI_ENC_MAX_BYTES},                                   \
    {"bpp", required_argument, NULL, CLI_ENC_BPP},                                               \
    {"batch", required_argument, NULL, CLI_ENC_BATCH},                                           \
    {"seed", required_argument, NULL, CLI_ENC_SEED}
/* One option into e: 1 when c is one of them and arg valid, 0 when c is
 * not one of them, -1 after a usage error naming the option. */
int cli_encode_option(int c, const char *arg, inrf_encode_options *e);
/* The help lines of these options, two spaces in, 22 columns of names. */
extern const char cli_encode_help[];
/* Every option value that shapes the encoded bytes, as text (a job's
 * identity, e.g. for a journal); returns the length, as snprintf. */
int cli_encode_describe(const inrf_encode_options *e, char *buf, size_t size);

#endif /* INRF_TOOLS_CLI_H */
