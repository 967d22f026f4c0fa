/* _loader.h: what the data path's two C files share: the batch options
 * read from Python arguments (_loader.c) and the CUDA side (_cuda.c): the
 * dlopen'ed libinrf_cuda, CudaPack, and __cuda_array_interface__ targets. */
#ifndef INRFPY_LOADER_H
#define INRFPY_LOADER_H

#include "_inrf.h"

/* inrf/cuda.h is installed only where libinrf_cuda is: the module is
 * built without it and finds the library at run time. */
typedef struct inrf_cuda_pack inrf_cuda_pack;

/* An output type: its inrf_batch_type, buffer format (PEP 3118) and the
 * __cuda_array_interface__ typestr of the same bytes. */
typedef struct inrfpy_dtype {
    int type;            /* INRF_BATCH_U8, INRF_BATCH_F32 or INRF_BATCH_F16 */
    const char *format;  /* "B", "f", "e" */
    const char *typestr; /* "|u1", "<f4", "<f2" */
    size_t itemsize;
} inrfpy_dtype;

/* dtype: "uint8", "float32", "float16" (or anything whose str() ends with
 * one of them: numpy.float16, torch.float16); None is float32. 0, or -1
 * with inrf.Error set. */
int inrfpy_parse_dtype(PyObject *dtype, inrfpy_dtype *out);

/* The output size from an int (square) or a (width, height) pair. */
int inrfpy_parse_size(PyObject *size, uint32_t *width, uint32_t *height);

/* The device copy of a CudaPack (the library loaded), or NULL with
 * TypeError set. */
inrf_cuda_pack *inrfpy_cuda_pack(PyObject *obj);

/* The device pointer of obj's __cuda_array_interface__ (versions 2 and 3),
 * which must be a writable C-contiguous array of `typestr` and exactly the
 * shape (n, h, w, c); 0, or -1 with inrf.Error naming `what` and the
 * mismatch. */
int inrfpy_cuda_target(PyObject *obj, const char *typestr, const Py_ssize_t shape[4], void **ptr,
                       const char *what);

/* inrf_cuda_decode_batch through the loaded library (callable without the
 * GIL once a CudaPack exists). */
inrf_status inrfpy_cuda_decode(inrf_cuda_pack *p, const uint32_t *indices, size_t n,
                               const float *windows, const inrf_batch_options *opt, void *out,
                               void *stream);

/* inrf.Error for a failure of libinrf_cuda, with the message of the libinrf
 * that libinrf_cuda reports into; NULL. */
PyObject *inrfpy_cuda_raise(inrf_status st, const char *context);

#endif /* INRFPY_LOADER_H */
