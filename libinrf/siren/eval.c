/* eval.c: SIREN's CPU evaluator (the tile kernel of decode_tile.c that
 * this CPU runs, over the model's dense layers) and the text that
 * inspection tools print about a SIREN. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cpu.h"
#include "../internal.h"
#include "siren.h"

/* The evaluator's state: the network as the tile kernels read it and the
 * kernel chosen for this CPU. */
typedef struct siren_eval {
    inrf_tile_net net;
    inrf_tile_fn forward;
} siren_eval;

static void siren_tile(const void *state, const float *xy, float *out, float *scratch)
{
    const siren_eval *e = state;
    e->forward(&e->net, xy, out, scratch);
}

inrf_status inrf_siren_cpu_eval(const inrf_model *m, inrf_cpu_eval *ev)
{
    siren_eval *e = calloc(1, sizeof *e);
    if (!e)
        return inrf_fail(INRF_E_NOMEM, "decode: out of memory");
    inrf_tile_net *net = &e->net;
    net->layers = m->arch.layers;
    net->omega_first = m->arch.omega_first;
    net->omega_hidden = m->arch.omega_hidden;
    for (unsigned l = 0; l <= m->arch.layers; l++) {
        net->in[l] = m->layer[l].in;
        net->out[l] = m->layer[l].out;
        net->w[l] = m->layer[l].w;
        net->b[l] = m->layer[l].b;
        if (l < m->arch.layers && m->layer[l].out > net->max_width)
            net->max_width = m->layer[l].out;
    }
    e->forward = inrf_cpu_tile_forward();
    ev->tile = siren_tile;
    ev->state = e;
    ev->scratch_floats = inrf_tile_scratch_floats(net);
    ev->owned = e;
    return INRF_OK;
}

uint64_t inrf_siren_macs_per_pixel(const inrf_model *m)
{
    uint64_t n = 0;
    for (unsigned l = 0; l <= m->arch.layers; l++)
        n += (uint64_t)m->layer[l].in * m->layer[l].out;
    return n;
}

/* ------------------------------------------------------------ inspection */

static double sparsity_percent(const inrf_layer *l)
{
    double total = (double)l->in * l->out;
    return total > 0 ? 100.0 * (1.0 - (double)l->nnz / total) : 0.0;
}

/* A JSON number as the tools write one: %.9g, null when not finite. */
static void json_number(char *buf, size_t size, size_t *len, double v)
{
    if (isfinite(v))
        inrf_info_add(buf, size, len, "%.9g", v);
    else
        inrf_info_add(buf, size, len, "null");
}

static void widths(char *buf, size_t size, size_t *len, const inrf_arch *a, const char *sep)
{
    for (unsigned i = 0; i < a->layers; i++)
        inrf_info_add(buf, size, len, "%s%u", i ? sep : "", a->hidden[i]);
}

size_t inrf_siren_info(const inrf_model *m, const inrf_arch *a, int part, char *buf, size_t size)
{
    size_t len = 0;
    switch (part) {
    case INRF_INFO_NETWORK:
        inrf_info_add(buf, size, &len, "  network:     SIREN, %u sine layer%s, widths ", a->layers,
                      a->layers == 1 ? "" : "s");
        widths(buf, size, &len, a, " ");
        inrf_info_add(buf, size, &len, "\n  omega:       %g first, %g hidden\n",
                      (double)a->omega_first, (double)a->omega_hidden);
        inrf_info_add(buf, size, &len, "  output:      %s (%s)\n",
                      inrf_output_map_name(a->output_map),
                      a->output_map == INRF_OUTPUT_SIGNED ? "[-1, 1] mapped to [0, 1]" : "[0, 1]");
        break;
    case INRF_INFO_WEIGHTS:
        inrf_info_add(buf, size, &len, "  layers:\n    %5s  %-12s %-8s %-4s  %-6s %9s %9s %9s\n",
                      "#", "shape", "weights", "bias", "pruned", "nnz", "sparsity", "bytes");
        for (unsigned i = 0; i <= a->layers; i++) {
            const inrf_layer *l = &m->layer[i];
            char shape[32];
            snprintf(shape, sizeof shape, "%u -> %u", l->in, l->out);
            inrf_info_add(buf, size, &len, "    %5u  %-12s %-8s %-4s  %-6s %9u %8.2f%% %9llu\n",
                          i, shape, inrf_encoding_name(l->encoding),
                          inrf_encoding_name(l->bias_encoding), l->mask ? "yes" : "no", l->nnz,
                          sparsity_percent(l), (unsigned long long)inrf_layer_bytes(l));
        }
        break;
    case INRF_INFO_JSON:
        inrf_info_add(buf, size, &len, "    \"kind\": \"siren\",\n    \"layers\": %u,\n"
                      "    \"widths\": [", a->layers);
        widths(buf, size, &len, a, ", ");
        inrf_info_add(buf, size, &len, "],\n    \"omega_first\": ");
        json_number(buf, size, &len, a->omega_first);
        inrf_info_add(buf, size, &len, ",\n    \"omega_hidden\": ");
        json_number(buf, size, &len, a->omega_hidden);
        inrf_info_add(buf, size, &len, ",\n    \"output_map\": \"%s\",\n    \"layer_table\": [\n",
                      inrf_output_map_name(a->output_map));
        for (unsigned i = 0; i <= a->layers; i++) {
            const inrf_layer *l = &m->layer[i];
            inrf_info_add(buf, size, &len,
                          "      {\"index\": %u, \"in\": %u, \"out\": %u, \"encoding\": \"%s\", "
                          "\"bias_encoding\": \"%s\", \"pruned\": %s, \"nnz\": %u, "
                          "\"sparsity_percent\": %.4f, \"bytes\": %llu}%s\n",
                          i, l->in, l->out, inrf_encoding_name(l->encoding),
                          inrf_encoding_name(l->bias_encoding), l->mask ? "true" : "false",
                          l->nnz, sparsity_percent(l), (unsigned long long)inrf_layer_bytes(l),
                          i < a->layers ? "," : "");
        }
        inrf_info_add(buf, size, &len, "    ]");
        break;
    case INRF_INFO_SUMMARY:
        inrf_info_add(buf, size, &len, "SIREN %u x %u, w0 %g/%g", a->layers, a->hidden[0],
                      (double)a->omega_first, (double)a->omega_hidden);
        break;
    case INRF_INFO_ARCH_JSON:
        inrf_info_add(buf, size, &len, "\"kind\": \"siren\", \"layers\": %u, \"widths\": [",
                      a->layers);
        widths(buf, size, &len, a, ", ");
        inrf_info_add(buf, size, &len, "], \"omega_first\": ");
        json_number(buf, size, &len, a->omega_first);
        inrf_info_add(buf, size, &len, ", \"omega_hidden\": ");
        json_number(buf, size, &len, a->omega_hidden);
        break;
    }
    return len;
}
