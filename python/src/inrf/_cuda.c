/* _cuda.c: libinrf_cuda (inrf/cuda.h) loaded at first use with dlopen, so
 * that the module imports and decodes on the CPU wherever it is absent;
 * the CudaPack type and the __cuda_array_interface__ targets it fills. */
#include "_loader.h"

#include <dlfcn.h>
#include <stddef.h>
#include <structmember.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The soname of libinrf_cuda (kernels/local.mk: -version-info 2:0:0). */
#ifndef INRFPY_CUDA_SONAME
#define INRFPY_CUDA_SONAME "libinrf_cuda.so.2"
#endif

/* The functions of inrf/cuda.h the module calls. last_error is libinrf's
 * inrf_last_error as libinrf_cuda sees it: the same function as ours when
 * both share one libinrf (the usual case: the dynamic loader maps a soname
 * once per process), another copy's when the module carries libinrf
 * statically, whose messages would otherwise be lost. */
typedef struct cuda_api {
    inrf_status (*devices)(int *count);
    inrf_status (*pack_upload)(const inrf_pack *pack, int device, inrf_cuda_pack **out);
    void (*pack_free)(inrf_cuda_pack *p);
    inrf_status (*decode_batch)(inrf_cuda_pack *p, const uint32_t *indices, size_t n,
                                const float *windows, const inrf_batch_options *opt, void *out,
                                void *stream);
    inrf_status (*decode_wave)(inrf_cuda_pack *p, const inrf_batch_options *opt, size_t *wave);
    inrf_status (*sync)(void *stream);
    const char *(*last_error)(void);
} cuda_api;

static cuda_api api;
static int api_loaded; /* set once, under the GIL */

/* dlsym of every entry; the name of the first one missing, or NULL. */
static const char *bind(void *h, cuda_api *a)
{
#define BIND(field, name)                                                                     \
    do {                                                                                      \
        *(void **)&a->field = dlsym(h, name);                                                 \
        if (!a->field) return name;                                                           \
    } while (0)
    BIND(devices, "inrf_cuda_devices");
    BIND(pack_upload, "inrf_cuda_pack_upload");
    BIND(pack_free, "inrf_cuda_pack_free");
    BIND(decode_batch, "inrf_cuda_decode_batch");
    BIND(decode_wave, "inrf_cuda_decode_wave");
    BIND(sync, "inrf_cuda_sync");
    BIND(last_error, "inrf_last_error");
#undef BIND
    return NULL;
}

/* Opens libinrf_cuda: the file INRF_CUDA_LIBRARY names, else the soname
 * in the libdir baked in at build time (INRFPY_CUDA_LIBDIR), else the
 * soname on the default search path. 0, or -1 with inrf.Error saying what
 * was tried. A failure is not remembered: a later call tries again. */
static int load(void)
{
    if (api_loaded) return 0;
    char tried[1024] = "";
    size_t used = 0;
    void *h = NULL;
    const char *env = getenv("INRF_CUDA_LIBRARY");
    const char *names[3];
    int count = 0, opened = -1;
    if (env && *env) names[count++] = env;
    else {
#ifdef INRFPY_CUDA_LIBDIR
        names[count++] = INRFPY_CUDA_LIBDIR "/" INRFPY_CUDA_SONAME;
#endif
        names[count++] = INRFPY_CUDA_SONAME;
    }
    for (int i = 0; i < count && !h; i++) {
        /* RTLD_LOCAL: its symbols stay its own; its libinrf dependency is
         * the one already mapped for this module when the sonames agree. */
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        opened = i;
        if (!h && used < sizeof tried) {
            const char *why = dlerror();
            int k = snprintf(tried + used, sizeof tried - used, "%s%s%s", used ? "; " : "",
                             why ? why : names[i], i == 0 && env && *env ? " (INRF_CUDA_LIBRARY)" : "");
            if (k > 0) used += (size_t)k;
        }
    }
    if (!h) {
        inrfpy_fail(INRF_E_NO_DEVICE, "libinrf_cuda is not available (the GPU data path needs it): %s",
                     tried);
        return -1;
    }
    cuda_api a;
    const char *missing = bind(h, &a);
    if (missing) {
        inrfpy_fail(INRF_E_UNSUPPORTED, "%s: not libinrf_cuda (no %s)", names[opened], missing);
        dlclose(h);
        return -1;
    }
    api = a; /* the handle stays open for the life of the process */
    api_loaded = 1;
    return 0;
}

PyObject *inrfpy_cuda_raise(inrf_status st, const char *context)
{
    /* The message of the copy of libinrf that libinrf_cuda reported into,
     * copied into ours when they are two. */
    if (api_loaded && api.last_error != inrf_last_error) (void)inrf_report(st, api.last_error());
    return inrfpy_raise(st, context);
}

inrf_status inrfpy_cuda_decode(inrf_cuda_pack *p, const uint32_t *indices, size_t n,
                               const float *windows, const inrf_batch_options *opt, void *out,
                               void *stream)
{
    return api.decode_batch(p, indices, n, windows, opt, out, stream);
}

/* -------------------------------------------- __cuda_array_interface__ */

/* Item i of a tuple as a Py_ssize_t, or -1 with an exception set. */
static Py_ssize_t tuple_size(PyObject *t, Py_ssize_t i)
{
    PyObject *v = PyTuple_GetItem(t, i);
    return v ? PyLong_AsSsize_t(v) : -1;
}

int inrfpy_cuda_target(PyObject *obj, const char *typestr, const Py_ssize_t shape[4], void **ptr,
                       const char *what)
{
    PyObject *cai = PyObject_GetAttrString(obj, "__cuda_array_interface__");
    if (!cai) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: not a CUDA array (no __cuda_array_interface__)", what);
        return -1;
    }
    int rc = -1;
    PyObject *v;
    if (!PyDict_Check(cai)) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: __cuda_array_interface__ is not a dict", what);
        goto done;
    }
    v = PyDict_GetItemString(cai, "version");
    long version = v ? PyLong_AsLong(v) : -1;
    if (version < 2 || version > 3) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: __cuda_array_interface__ version %ld (2 or 3 is read)", what,
                     version);
        goto done;
    }
    v = PyDict_GetItemString(cai, "typestr");
    const char *ts = v && PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, NULL) : NULL;
    if (!ts || strcmp(ts, typestr) != 0) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: typestr %s, the batch is %s", what, ts ? ts : "missing",
                     typestr);
        goto done;
    }
    v = PyDict_GetItemString(cai, "shape");
    Py_ssize_t got[4] = {-1, -1, -1, -1};
    Py_ssize_t dims = v && PyTuple_Check(v) ? PyTuple_Size(v) : -1;
    for (Py_ssize_t i = 0; i < dims && i < 4; i++) got[i] = tuple_size(v, i);
    if (PyErr_Occurred()) goto done;
    if (dims != 4 || memcmp(got, shape, sizeof got) != 0) {
        char r[200];
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: shape %s, the batch is (%zd, %zd, %zd, %zd) (N, H, W, C)",
                    what, inrfpy_repr(v ? v : Py_None, r, sizeof r), shape[0], shape[1], shape[2],
                    shape[3]);
        goto done;
    }
    /* strides: None (C-contiguous) or exactly the C-contiguous strides;
     * dimensions of size 1 may say anything (torch and CuPy differ). */
    v = PyDict_GetItemString(cai, "strides");
    if (v && v != Py_None) {
        Py_ssize_t item = typestr[2] - '0', expect = item;
        char r[200];
        if (!PyTuple_Check(v) || PyTuple_Size(v) != 4) {
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: strides %s are not 4 values", what,
                        inrfpy_repr(v, r, sizeof r));
            goto done;
        }
        for (int i = 3; i >= 0; i--) {
            Py_ssize_t s = tuple_size(v, i);
            if (PyErr_Occurred()) goto done;
            if (s != expect && shape[i] > 1) {
                inrfpy_fail(INRF_E_INVALID_ARG, "%s: strides %s: not C-contiguous (a contiguous "
                            "NHWC tensor is needed)", what, inrfpy_repr(v, r, sizeof r));
                goto done;
            }
            expect *= shape[i];
        }
    }
    v = PyDict_GetItemString(cai, "mask");
    if (v && v != Py_None) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: masked arrays are not supported", what);
        goto done;
    }
    v = PyDict_GetItemString(cai, "data");
    if (!v || !PyTuple_Check(v) || PyTuple_Size(v) != 2) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: __cuda_array_interface__ data is not (pointer, readonly)",
                     what);
        goto done;
    }
    int readonly = PyObject_IsTrue(PyTuple_GetItem(v, 1));
    if (readonly) {
        if (readonly > 0) inrfpy_fail(INRF_E_INVALID_ARG, "%s: the CUDA array is read-only", what);
        goto done;
    }
    void *p = PyLong_AsVoidPtr(PyTuple_GetItem(v, 0));
    if (PyErr_Occurred()) goto done;
    if (!p && shape[0] * shape[1] * shape[2] * shape[3] > 0) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: null device pointer", what);
        goto done;
    }
    *ptr = p;
    rc = 0;
done:
    Py_DECREF(cai);
    return rc;
}

/* ---------------------------------------------------------------- CudaPack */

typedef struct cuda_pack_object {
    PyObject_HEAD
    PyObject *pack; /* the inrf._inrf.Pack uploaded (kept: its bytes back the index) */
    inrf_cuda_pack *p;
    int device;
    PyObject *weakrefs; /* inrf.torch caches device packs by weak reference */
} cuda_pack_object;

static PyObject *cuda_pack_type; /* set by inrfpy_cuda_add */

inrf_cuda_pack *inrfpy_cuda_pack(PyObject *obj)
{
    if (!cuda_pack_type || !PyObject_TypeCheck(obj, (PyTypeObject *)cuda_pack_type)) {
        PyErr_SetString(PyExc_TypeError, "cuda_pack must be an inrf._inrf.CudaPack");
        return NULL;
    }
    return ((cuda_pack_object *)obj)->p;
}

static PyObject *cuda_pack_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *names[] = {"pack", "device", NULL};
    PyObject *pack_obj;
    int device = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|i:CudaPack", names, &pack_obj, &device))
        return NULL;
    const inrf_pack *pack = inrfpy_pack(pack_obj);
    if (!pack || load() != 0) return NULL;
    if (device < 0) {
        inrfpy_fail(INRF_E_INVALID_ARG, "CudaPack: device %d is not a device number", device);
        return NULL;
    }
    inrf_cuda_pack *p = NULL;
    inrf_status st;
    /* Verification (an unverified pack) and the copy may take a while. */
    Py_BEGIN_ALLOW_THREADS
    st = api.pack_upload(pack, device, &p);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK) return inrfpy_cuda_raise(st, "CudaPack");
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    cuda_pack_object *self = (cuda_pack_object *)alloc(type, 0);
    if (!self) {
        api.pack_free(p);
        return NULL;
    }
    Py_INCREF(pack_obj);
    self->pack = pack_obj;
    self->p = p;
    self->device = device;
    return (PyObject *)self;
}

static void cuda_pack_dealloc(PyObject *obj)
{
    cuda_pack_object *self = (cuda_pack_object *)obj;
    PyTypeObject *type = Py_TYPE(obj);
    if (self->weakrefs) PyObject_ClearWeakRefs(obj);
    if (self->p) api.pack_free(self->p);
    Py_XDECREF(self->pack);
    freefunc free_fn = (freefunc)PyType_GetSlot(type, Py_tp_free);
    free_fn(obj);
    Py_DECREF(type);
}

static PyObject *cuda_pack_decode_batch(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *names[] = {"indices", "size",   "windows", "out",          "dtype", "mean",
                            "std",     "stream", "zero_outside", NULL};
    cuda_pack_object *self = (cuda_pack_object *)obj;
    PyObject *indices_obj, *size_obj, *windows_obj = Py_None, *out_obj = Py_None;
    PyObject *dtype_obj = Py_None, *mean = Py_None, *std = Py_None, *stream_obj = NULL;
    int zero_outside = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOOOOOp:decode_batch", names, &indices_obj,
                                     &size_obj, &windows_obj, &out_obj, &dtype_obj, &mean, &std,
                                     &stream_obj, &zero_outside))
        return NULL;
    const inrf_pack *pack = inrfpy_pack(self->pack);
    if (!pack) return NULL;
    inrfpy_dtype dt;
    inrf_batch_options opt;
    inrf_batch_options_init(&opt);
    if (inrfpy_parse_dtype(dtype_obj, &dt) != 0 ||
        inrfpy_parse_size(size_obj, &opt.width, &opt.height) != 0 ||
        inrfpy_batch_options(dt.type, mean, std, inrf_pack_channels(pack), 0, zero_outside,
                             &opt) != 0)
        return NULL;
    void *stream = NULL;
    if (stream_obj && stream_obj != Py_None) {
        stream = PyLong_AsVoidPtr(stream_obj);
        if (PyErr_Occurred()) return NULL;
    }
    float *win = NULL;
    size_t n = 0;
    uint32_t *idx =
        inrfpy_indices(indices_obj, inrf_pack_count(pack), inrfpy_pack_path(self->pack), &n);
    if (!idx) return NULL;
    if (inrfpy_windows(windows_obj, Py_None, n, &win) != 0) {
        free(idx);
        return NULL;
    }
    Py_ssize_t shape[4] = {(Py_ssize_t)n, (Py_ssize_t)opt.height, (Py_ssize_t)opt.width,
                           (Py_ssize_t)inrf_pack_channels(pack)};
    void *ptr = NULL;
    PyObject *ret = NULL;
    if (out_obj == Py_None)
        inrfpy_fail(INRF_E_INVALID_ARG, "decode_batch: out is required (an object with "
                        "__cuda_array_interface__, N x H x W x C)");
    else if (inrfpy_cuda_target(out_obj, dt.typestr, shape, &ptr, "out") == 0) {
        inrf_status st = INRF_OK;
        if (n > 0) {
            Py_BEGIN_ALLOW_THREADS
            st = api.decode_batch(self->p, idx, n, win, &opt, ptr, stream);
            Py_END_ALLOW_THREADS
        }
        if (st != INRF_OK) inrfpy_cuda_raise(st, "decode_batch");
        else {
            Py_INCREF(out_obj);
            ret = out_obj;
        }
    }
    free(idx);
    free(win);
    return ret;
}

static PyObject *cuda_pack_wave(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *names[] = {"size", "dtype", NULL};
    cuda_pack_object *self = (cuda_pack_object *)obj;
    PyObject *size_obj, *dtype_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:wave", names, &size_obj, &dtype_obj))
        return NULL;
    inrfpy_dtype dt;
    inrf_batch_options opt;
    inrf_batch_options_init(&opt);
    if (inrfpy_parse_dtype(dtype_obj, &dt) != 0 ||
        inrfpy_parse_size(size_obj, &opt.width, &opt.height) != 0 ||
        inrfpy_batch_options(dt.type, Py_None, Py_None, 3, 0, 0, &opt) != 0)
        return NULL;
    size_t wave = 0;
    inrf_status st = api.decode_wave(self->p, &opt, &wave);
    if (st != INRF_OK) return inrfpy_cuda_raise(st, "wave");
    return PyLong_FromSize_t(wave);
}

static PyObject *cuda_pack_sync(PyObject *obj, PyObject *args)
{
    (void)obj;
    PyObject *stream_obj = Py_None;
    if (!PyArg_ParseTuple(args, "|O:sync", &stream_obj)) return NULL;
    void *stream = NULL;
    if (stream_obj != Py_None) {
        stream = PyLong_AsVoidPtr(stream_obj);
        if (PyErr_Occurred()) return NULL;
    }
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = api.sync(stream);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK) return inrfpy_cuda_raise(st, "sync");
    Py_RETURN_NONE;
}

static PyObject *cuda_pack_get_device(PyObject *obj, void *closure)
{
    (void)closure;
    return PyLong_FromLong(((cuda_pack_object *)obj)->device);
}

static PyObject *cuda_pack_get_pack(PyObject *obj, void *closure)
{
    (void)closure;
    PyObject *p = ((cuda_pack_object *)obj)->pack;
    Py_INCREF(p);
    return p;
}

static PyMethodDef cuda_pack_methods[] = {
    {"decode_batch", (PyCFunction)(void (*)(void))cuda_pack_decode_batch,
     METH_VARARGS | METH_KEYWORDS,
     "decode_batch(indices, size, windows=None, out, dtype='float32', mean=None, std=None, "
     "stream=0, zero_outside=False) -> out\n\n"
     "Decodes images indices (windows: n x 4 x0, y0, x1, y1, or None) into out, an object with "
     "__cuda_array_interface__ (C-contiguous N x H x W x C of dtype), on stream (a cudaStream_t "
     "as an int; 0 the default stream). Returns once the work is queued."},
    {"wave", (PyCFunction)(void (*)(void))cuda_pack_wave, METH_VARARGS | METH_KEYWORDS,
     "wave(size, dtype='float32') -> int: the samples the device decodes at once."},
    {"sync", (PyCFunction)cuda_pack_sync, METH_VARARGS,
     "sync(stream=0): waits for the work queued on stream and reports its failure."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef cuda_pack_getset[] = {
    {"device", cuda_pack_get_device, NULL, "the CUDA device the pack is on", NULL},
    {"pack", cuda_pack_get_pack, NULL, "the host pack uploaded", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef cuda_pack_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(cuda_pack_object, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot cuda_pack_slots[] = {
    {Py_tp_members, cuda_pack_members},
    {Py_tp_new, (void *)cuda_pack_new},
    {Py_tp_dealloc, (void *)cuda_pack_dealloc},
    {Py_tp_methods, cuda_pack_methods},
    {Py_tp_getset, cuda_pack_getset},
    {Py_tp_doc, "CudaPack(pack, device=0): an inrf._inrf.Pack copied to a CUDA device once "
                "(inrf_cuda_pack_upload), for decode_batch and Sampler.fill."},
    {0, NULL},
};

static PyType_Spec cuda_pack_spec = {
    "inrf._inrf.CudaPack", sizeof(cuda_pack_object), 0, Py_TPFLAGS_DEFAULT, cuda_pack_slots,
};

static PyObject *cuda_available(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (load() != 0) {
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    int count = 0;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = api.devices(&count);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(st == INRF_OK && count > 0);
}

static PyObject *cuda_devices(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (load() != 0) return NULL;
    int count = 0;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = api.devices(&count);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK) return inrfpy_cuda_raise(st, "cuda_devices");
    return PyLong_FromLong(count);
}

static PyMethodDef cuda_functions[] = {
    {"cuda_available", cuda_available, METH_NOARGS,
     "cuda_available() -> bool: whether libinrf_cuda loads and sees a device (never raises)."},
    {"cuda_devices", cuda_devices, METH_NOARGS,
     "cuda_devices() -> int: the usable CUDA devices; inrf.Error saying why there are none."},
    {NULL, NULL, 0, NULL},
};

int inrfpy_cuda_add(PyObject *module)
{
    cuda_pack_type = PyType_FromModuleAndSpec(module, &cuda_pack_spec, NULL);
    if (!cuda_pack_type) return -1;
    if (PyModule_AddObjectRef(module, "CudaPack", cuda_pack_type) != 0) return -1;
    return PyModule_AddFunctions(module, cuda_functions);
}
