/* siren.h: the SIREN kind (spec/inrf.md sections 6, 7 and 9) as libinrf's
 * kind table sees it, and what its files share. Private to libinrf. */
#ifndef INRF_SIREN_H
#define INRF_SIREN_H

#include "inrf/kind.h"

extern const inrf_kind_ops inrf_siren_kind;

/* Fan-in and fan-out of weight layer l (0..L; L is the output layer). */
void inrf_layer_shape(const inrf_arch *arch, unsigned l, unsigned *in, unsigned *out);
/* Weights and biases of an architecture. */
size_t inrf_arch_params(const inrf_arch *arch);
/* The arena arrays behind layer l's optional q, scale and mask. */
void inrf_layer_storage(inrf_model *m, unsigned l, int8_t **q, float **scale, uint8_t **mask);

/* The kind's functions, by file: model.c */
inrf_status inrf_siren_arch_check(const inrf_arch *a, int writable);
inrf_status inrf_siren_model_alloc(inrf_model *m);
void inrf_siren_model_release(inrf_model *m);
void inrf_siren_model_copy(inrf_model *dst, const inrf_model *src);
/* format.c: NHDR and WGHT */
size_t inrf_siren_nhdr_size(const uint8_t *d, size_t avail);
inrf_status inrf_siren_nhdr_parse(inrf_arch *a, const uint8_t *d, size_t n,
                                  const inrf_read_options *opt);
size_t inrf_siren_nhdr_put(const inrf_arch *a, uint8_t *d);
size_t inrf_siren_weights_max(const inrf_arch *a);
inrf_status inrf_siren_weights_parse(inrf_model *m, const uint8_t *d, size_t n);
inrf_status inrf_siren_weights_load(inrf_model *m, const uint8_t *d, size_t n);
inrf_status inrf_siren_weights_check(const inrf_model *m);
size_t inrf_siren_weights_size(const inrf_model *m);
void inrf_siren_weights_put(const inrf_model *m, uint8_t *d);
/* eval.c: the CPU evaluator and the text for inspection tools */
inrf_status inrf_siren_cpu_eval(const inrf_model *m, inrf_cpu_eval *ev);
uint64_t inrf_siren_macs_per_pixel(const inrf_model *m);
size_t inrf_siren_info(const inrf_model *m, const inrf_arch *a, int part, char *buf, size_t size);

#endif /* INRF_SIREN_H */
