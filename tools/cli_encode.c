/* cli_encode.c: the encoder's rate and architecture options (--preset ...
 * --seed), parsed once for every tool that encodes (cli.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char cli_encode_help[] =
    "      --preset NAME     auto, cifar10 (3 x 15), flowers (10 x 32) or\n"
    "                        imagenet (10 x 40); auto chooses by image size\n"
    "                        (default auto)\n"
    "      --effort N        1 (fast) .. 9 (the paper's full schedule);\n"
    "                        default 5\n"
    "      --layers N        sine layers, 1..64 (default: the preset's)\n"
    "      --hidden N        neurons per sine layer, 1..1024 (the preset's)\n"
    "      --w0 F            omega of the first layer (cifar10 15, others 30)\n"
    "      --w0-hidden F     omega of the other layers (default 30)\n"
    "      --lr F            Adam learning rate of the fit (cifar10 3e-3,\n"
    "                        others 1e-3)\n"
    "      --steps N         fit steps; the later stages follow (default:\n"
    "                        from --effort)\n"
    "      --no-prune        skip the pruning rounds\n"
    "      --quant Q         none, int8 or int8-row (default int8)\n"
    "      --qat             fine-tune through the int8 rounding (default: off)\n"
    "      --fp32-io         first and last layers and biases in fp32\n"
    "                        (default fp16)\n"
    "      --target-psnr DB  the smallest file that reaches DB (default: off)\n"
    "      --max-bytes N     never write more than N bytes (default: off)\n"
    "      --bpp F           never more than F bits per source pixel, the\n"
    "                        whole file (default: off; with --max-bytes, the\n"
    "                        smaller budget)\n"
    "      --batch N         pixels per step (default: all up to 16384 pixels,\n"
    "                        else 4096)\n"
    "      --seed N          random seed (default 1)\n";

static int parse_name(const char *what, const char *s, const char *const names[], int n,
                      const char *list, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 1;
        }
    cli_usage_error("%s: '%s' is not one of %s", what, s, list);
    return 0;
}

/* A number in (0, max): the parsers take closed ranges. */
static int parse_positive(const char *what, const char *s, double max, double *out)
{
    if (!cli_parse_double(what, s, 0, max, out))
        return 0;
    if (*out <= 0 || *out >= max) {
        cli_usage_error("%s: '%s' must be greater than 0 and less than %g", what, s, max);
        return 0;
    }
    return 1;
}

int cli_encode_option(int c, const char *arg, inrf_encode_options *e)
{
    static const char *const presets[] = {"auto", "cifar10", "flowers", "imagenet"};
    static const char *const quants[] = {"none", "int8", "int8-row"};
    unsigned long v;
    double d;
    int ok = 1;
    switch (c) {
    case CLI_ENC_PRESET:
        ok = parse_name("--preset", arg, presets, 4, "auto, cifar10, flowers, imagenet",
                        &e->preset);
        break;
    case CLI_ENC_EFFORT:
        if ((ok = cli_parse_uint("--effort", arg, 1, 9, &v)))
            e->effort = (int)v;
        break;
    case CLI_ENC_LAYERS:
        if ((ok = cli_parse_uint("--layers", arg, 1, INRF_MAX_SINE_LAYERS, &v)))
            e->layers = (int)v;
        break;
    case CLI_ENC_HIDDEN:
        if ((ok = cli_parse_uint("--hidden", arg, 1, INRF_MAX_WIDTH, &v)))
            e->hidden = (int)v;
        break;
    case CLI_ENC_W0:
        if ((ok = parse_positive("--w0", arg, 1e4, &d)))
            e->omega_first = (float)d;
        break;
    case CLI_ENC_W0_HIDDEN:
        if ((ok = parse_positive("--w0-hidden", arg, 1e4, &d)))
            e->omega_hidden = (float)d;
        break;
    case CLI_ENC_LR:
        if ((ok = parse_positive("--lr", arg, 1, &d)))
            e->lr = (float)d;
        break;
    case CLI_ENC_STEPS:
        if ((ok = cli_parse_uint("--steps", arg, 1, 10000000, &v)))
            e->steps = (int)v;
        break;
    case CLI_ENC_NO_PRUNE: e->prune = 0; break;
    case CLI_ENC_QUANT:
        ok = parse_name("--quant", arg, quants, 3, "none, int8, int8-row", &e->quant);
        break;
    case CLI_ENC_QAT: e->qat = 1; break;
    case CLI_ENC_NO_QAT: e->qat = 0; break;
    case CLI_ENC_FP32_IO: e->half_io = 0; break;
    case CLI_ENC_TARGET_PSNR:
        if ((ok = cli_parse_double("--target-psnr", arg, 0, 100, &d)) && d <= 0) {
            cli_usage_error("--target-psnr: '%s' must be greater than 0", arg);
            ok = 0;
        }
        if (ok)
            e->target_psnr = d;
        break;
    case CLI_ENC_MAX_BYTES:
        if ((ok = cli_parse_uint("--max-bytes", arg, 1, INRF_MAX_FILE_BYTES, &v)))
            e->max_bytes = v;
        break;
    case CLI_ENC_BPP:
        if ((ok = parse_positive("--bpp", arg, 1000, &d)))
            e->bpp = d;
        break;
    case CLI_ENC_BATCH:
        if ((ok = cli_parse_uint("--batch", arg, 1, 1ul << 24, &v)))
            e->batch_pixels = (uint32_t)v;
        break;
    case CLI_ENC_SEED:
        if ((ok = cli_parse_uint("--seed", arg, 0, ULONG_MAX, &v)))
            e->seed = v;
        break;
    default: return 0;
    }
    return ok ? 1 : -1;
}

int cli_encode_describe(const inrf_encode_options *e, char *buf, size_t size)
{
    return snprintf(buf, size,
                    "preset %d layers %d hidden %d w0 %a %a lr %a steps %d effort %d prune %d "
                    "quant %d qat %d half_io %d target %a max_bytes %zu bpp %a batch %u seed %llu",
                    e->preset, e->layers, e->hidden, (double)e->omega_first,
                    (double)e->omega_hidden, (double)e->lr, e->steps, e->effort, e->prune,
                    e->quant, e->qat, e->half_io, e->target_psnr, e->max_bytes, e->bpp,
                    (unsigned)e->batch_pixels, (unsigned long long)e->seed);
}
