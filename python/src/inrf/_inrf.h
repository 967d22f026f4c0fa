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

/* The pack of an inrf._inrf.Pack or of an instance of a subclass: the
 * public inrf.Pack is one, so callers pass the inrf.Pack object itself (no
 * wrapper attribute to unwrap). NULL with TypeError set for anything
 * else. The pointer lives as long as obj: hold a reference to obj while
 * using it, also across Py_BEGIN_ALLOW_THREADS. */
const inrf_pack *inrfpy_pack(PyObject *obj);

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
