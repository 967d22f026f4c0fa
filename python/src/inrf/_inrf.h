/* _inrf.h: what the C files of the extension module inrf._inrf share. The
 * module is built on CPython's stable ABI (3.11 and later, one build for
 * all) and uses no NumPy C API: arrays cross as buffers (PEP 3118) on the
 * CPU and through __cuda_array_interface__ on a GPU. */
#ifndef INRFPY_INRF_H
#define INRFPY_INRF_H

#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <inrf/inrf.h>
#include <inrf/sampler.h>

/* inrf.Error (a subclass of Exception): .status is the inrf_status code
 * (int), .name its inrf_status_name(), str() the library's message. */
extern PyObject *inrfpy_Error;

/* Raises inrf.Error for st with "<context>: <inrf_last_error()>" (context
 * NULL: the library's message alone); returns NULL. Call it on the thread
 * that made the failing call (inrf_last_error is per thread). */
PyObject *inrfpy_raise(inrf_status st, const char *context);

/* inrf.Error for a failure found here, not in the library: the message
 * formatted as printf does (cut at 1023 bytes), status st
 * (INRF_E_INVALID_ARG for a bad argument); NULL. */
PyObject *inrfpy_fail(inrf_status st, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* repr(obj) into buf (cut to size), "?" where repr fails (the error
 * cleared); returns buf, for inrfpy_fail's "%s". */
const char *inrfpy_repr(PyObject *obj, char *buf, size_t size);

/* The pack of an inrf._inrf.Pack or of an instance of a subclass: the
 * public inrf.Pack is one, so callers pass the inrf.Pack object itself (no
 * wrapper attribute to unwrap). NULL with TypeError set for anything
 * else. The pointer lives as long as obj: hold a reference to obj while
 * using it, also across Py_BEGIN_ALLOW_THREADS. */
const inrf_pack *inrfpy_pack(PyObject *obj);

/* The path of the pack of obj as it was opened, for messages; obj must
 * be one inrfpy_pack() accepted. */
const char *inrfpy_pack_path(PyObject *obj);

/* A batch's indices from a buffer of integers (any width, signed or not,
 * 1-D) or a sequence of ints, each checked against count, the pack's
 * images; messages name `where` (the pack's path). A malloc'd array of
 * *n, or NULL with an exception set. */
uint32_t *inrfpy_indices(PyObject *obj, uint32_t count, const char *where, size_t *n);

/* The n x 4 windows of a batch (x0, y0, x1, y1) from windows (None: the
 * whole image; a C-contiguous float32 buffer of 4n values; or a sequence
 * of numbers, flat or n sequences of 4) with flip applied (None, or a
 * bool/uint8 buffer of n: sample s mirrored, x0 and x1 swapped). *out is
 * a malloc'd array, or NULL where both are None. 0, or -1 with inrf.Error
 * set. */
int inrfpy_windows(PyObject *windows, PyObject *flip, size_t n, float **out);

/* Fills opt (initialised by the caller, width and height set) with type
 * (an inrf_batch_type: INRF_BATCH_U8, _F32 or _F16), mean and std (None,
 * a number for all channels, or a sequence of one or `channels` numbers;
 * std finite and > 0, mean finite), threads (0: all CPUs) and
 * zero_outside. 0, or -1 with inrf.Error set. */
int inrfpy_batch_options(int type, PyObject *mean, PyObject *std, unsigned channels, int threads,
                         int zero_outside, inrf_batch_options *opt);

/* A writable, C-contiguous buffer of exactly `bytes` bytes whose item
 * format is `format` ("B" uint8, "f" float32, "e" float16, "i" int32,
 * "q"/"l" int64 as the platform says), from obj (a NumPy array, a
 * memoryview, torch_tensor.numpy()); 0 on success (release the view with
 * PyBuffer_Release), -1 with inrf.Error set naming `what` and the mismatch
 * otherwise. */
int inrfpy_out_buffer(PyObject *obj, Py_buffer *view, size_t bytes, const char *format,
                      const char *what);

/* Defined in _cuda.c: adds CudaPack and cuda_available() to the module;
 * 0 or -1 with an exception set. */
int inrfpy_cuda_add(PyObject *module);
/* Defined in _loader.c: adds Sampler; 0 or -1 with an exception set. */
int inrfpy_loader_add(PyObject *module);

#endif /* INRFPY_INRF_H */
