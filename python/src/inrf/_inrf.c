/* _inrf.c: the core of the extension module inrf._inrf: inrf.Error, the
 * Image (a parsed .inrf) and Pack (an open .inrpack) types, over libinrf. */
#include "_inrf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PyMODINIT_FUNC PyInit__inrf(void);

PyObject *inrfpy_Error;
static PyObject *image_type; /* inrf._inrf.Image (a PyTypeObject) */
static PyObject *pack_type;  /* inrf._inrf.Pack */

/* The enum's names (types.h), for inrf.Error.name. */
static const char *const status_names[INRF_STATUS_COUNT] = {
    "INRF_OK",           "INRF_E_INVALID_ARG", "INRF_E_NOMEM",       "INRF_E_IO",
    "INRF_E_NOT_INRF",   "INRF_E_VERSION",     "INRF_E_TRUNCATED",   "INRF_E_CHECKSUM",
    "INRF_E_FORMAT",     "INRF_E_UNSUPPORTED", "INRF_E_LIMIT",       "INRF_E_IMAGE",
    "INRF_E_COMPRESS",   "INRF_E_CUDA",        "INRF_E_NO_DEVICE",   "INRF_E_INTERRUPTED",
};

/* ----------------------------------------------------------------- errors */

/* Raises inrf.Error(text) with .status = st and .name its enum name. */
static PyObject *raise_text(inrf_status st, const char *text)
{
    PyObject *msg = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
    if (msg == NULL)
        return NULL;
    PyObject *exc = PyObject_CallFunctionObjArgs(inrfpy_Error, msg, NULL);
    Py_DECREF(msg);
    if (exc == NULL)
        return NULL;
    PyObject *code = PyLong_FromLong((long)st);
    const char *n = (unsigned)st < INRF_STATUS_COUNT ? status_names[st] : "unknown";
    PyObject *name = PyUnicode_FromString(n);
    if (code == NULL || name == NULL || PyObject_SetAttrString(exc, "status", code) < 0 ||
        PyObject_SetAttrString(exc, "name", name) < 0) {
        Py_XDECREF(code);
        Py_XDECREF(name);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(code);
    Py_DECREF(name);
    PyErr_SetObject(inrfpy_Error, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *inrfpy_fail(inrf_status st, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return raise_text(st, buf);
}

const char *inrfpy_repr(PyObject *obj, char *buf, size_t size)
{
    PyObject *r = PyObject_Repr(obj);
    const char *t = r ? PyUnicode_AsUTF8AndSize(r, NULL) : NULL;
    if (t == NULL)
        PyErr_Clear();
    snprintf(buf, size, "%s", t ? t : "?");
    Py_XDECREF(r);
    return buf;
}

PyObject *inrfpy_raise(inrf_status st, const char *context)
{
    const char *detail = inrf_last_error();
    if (detail == NULL || detail[0] == 0)
        detail = inrf_strerror(st);
    char buf[2048];
    size_t n = context ? strlen(context) : 0;
    /* the library's message may name the file already ("PATH: ...") */
    if (n > 0 && !(strncmp(detail, context, n) == 0 && detail[n] == ':'))
        snprintf(buf, sizeof buf, "%s: %s", context, detail);
    else
        snprintf(buf, sizeof buf, "%s", detail);
    return raise_text(st, buf);
}

/* An inrf.Error being raised, said again with what it concerns in front
 * ("PATH: out: dtype ...") unless its message names that already; other
 * exceptions pass unchanged. Returns NULL. */
static PyObject *in_context(const char *context)
{
    if (context == NULL || !PyErr_ExceptionMatches(inrfpy_Error))
        return NULL;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    PyObject *code = value ? PyObject_GetAttrString(value, "status") : NULL;
    const char *t = text ? PyUnicode_AsUTF8AndSize(text, NULL) : NULL;
    size_t n = strlen(context);
    if (t == NULL || code == NULL || !PyLong_Check(code) ||
        (strncmp(t, context, n) == 0 && t[n] == ':')) {
        PyErr_Clear();
        Py_XDECREF(text);
        Py_XDECREF(code);
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    char buf[2048];
    snprintf(buf, sizeof buf, "%s: %s", context, t);
    inrf_status st = (inrf_status)PyLong_AsLong(code);
    Py_DECREF(text);
    Py_DECREF(code);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return raise_text(st, buf);
}

/* --------------------------------------------------------------- buffers */

/* The dtype a PEP 3118 format names ("uint8", "float32", "int64", ...):
 * native or little-endian byte order marks are accepted, and "l" is int64
 * where long has 64 bits. */
static const char *format_name(const char *fmt)
{
    if (fmt == NULL)
        return "uint8";
    if (fmt[0] == '@' || fmt[0] == '=' || fmt[0] == '<')
        fmt++;
    static const struct { const char *f, *name; } names[] = {
        {"B", "uint8"}, {"b", "int8"}, {"f", "float32"}, {"e", "float16"}, {"d", "float64"},
        {"i", "int32"}, {"I", "uint32"}, {"q", "int64"}, {"Q", "uint64"}, {"?", "bool"},
        {"h", "int16"}, {"H", "uint16"},
        {"l", sizeof(long) == 8 ? "int64" : "int32"},
        {"L", sizeof(long) == 8 ? "uint64" : "uint32"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(fmt, names[i].f) == 0)
            return names[i].name;
    return fmt;
}

/* Whether format names the same dtype as want. */
static int format_is(const char *fmt, const char *want)
{
    return strcmp(format_name(fmt), format_name(want)) == 0;
}

int inrfpy_out_buffer(PyObject *obj, Py_buffer *view, size_t bytes, const char *format,
                      const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *s = value ? PyObject_Str(value) : NULL;
        const char *text = s ? PyUnicode_AsUTF8AndSize(s, NULL) : NULL;
        char buf[512];
        snprintf(buf, sizeof buf, "%s: not a writable C-contiguous buffer (%s)", what,
                 text ? text : "no buffer interface");
        PyErr_Clear();
        Py_XDECREF(s);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        raise_text(INRF_E_INVALID_ARG, buf);
        return -1;
    }
    if (!format_is(view->format, format)) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: dtype %s, %s wanted", what, format_name(view->format),
                  format_name(format));
        PyBuffer_Release(view);
        return -1;
    }
    if ((size_t)view->len != bytes) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: %zd bytes, %zu wanted", what, view->len, bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* inrfpy_out_buffer that also checks the shape when the buffer has one:
 * a flat buffer (ndim 1) of the right size, or exactly dims[0..ndim). */
static int out_shaped(PyObject *obj, Py_buffer *view, const char *format, size_t itemsize,
                      int ndim, const Py_ssize_t *dims, const char *what)
{
    size_t bytes = itemsize;
    for (int i = 0; i < ndim; i++)
        bytes *= (size_t)dims[i]; /* callers bound the product first */
    if (inrfpy_out_buffer(obj, view, bytes, format, what) < 0)
        return -1;
    if (view->ndim <= 1 || view->shape == NULL)
        return 0;
    int same = view->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = view->shape[i] == dims[i];
    if (!same) {
        char got[160] = "", want[160] = "";
        size_t g = 0, w = 0;
        for (int i = 0; i < view->ndim && g < sizeof got; i++)
            g += (size_t)snprintf(got + g, sizeof got - g, "%s%zd", i ? ", " : "", view->shape[i]);
        for (int i = 0; i < ndim && w < sizeof want; i++)
            w += (size_t)snprintf(want + w, sizeof want - w, "%s%zd", i ? ", " : "", dims[i]);
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: shape (%s), (%s) wanted", what, got, want);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* A path argument (str, bytes, os.PathLike) as bytes; NULL with an
 * exception set. */
static PyObject *path_bytes(PyObject *obj)
{
    PyObject *b = NULL;
    if (!PyUnicode_FSConverter(obj, &b))
        return NULL;
    return b;
}

/* An unsigned 32-bit argument in [lo, hi]; -1 with inrf.Error or
 * TypeError set. */
static int get_u32(PyObject *obj, const char *what, unsigned long lo, unsigned long hi,
                   uint32_t *out)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < (long long)lo || v > (long long)hi) {
        PyObject *r = PyObject_Repr(obj);
        const char *s = r ? PyUnicode_AsUTF8AndSize(r, NULL) : "?";
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: %s outside %lu..%lu", what, s ? s : "?", lo, hi);
        Py_XDECREF(r);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* A sequence of exactly n floats into out; -1 with an exception set. */
static int get_floats(PyObject *obj, const char *what, double *out, Py_ssize_t n)
{
    PyObject *seq = PySequence_Fast(obj, what);
    if (seq == NULL)
        return -1;
    Py_ssize_t len = PySequence_Size(seq);
    if (len != n) {
        Py_DECREF(seq);
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: %zd values, %zd wanted", what, len, n);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = PySequence_GetItem(seq, i);
        out[i] = it ? PyFloat_AsDouble(it) : -1;
        Py_XDECREF(it);
        if (it == NULL || (out[i] == -1 && PyErr_Occurred())) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

/* ------------------------------------------------------------------ Image */

typedef struct {
    PyObject_HEAD
    inrf_model *model;
    size_t nbytes;           /* the file's bytes (a pack's image: its record's) */
    inrf_chunk_info *chunks; /* the file's chunks; NULL for a pack's image */
    size_t nchunks;
    char *source;            /* what errors name: the path, "<memory>", "PACK: image I" */
} ImageObject;

static void image_dealloc(PyObject *self)
{
    ImageObject *im = (ImageObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    inrf_model_free(im->model);
    free(im->chunks);
    free(im->source);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static PyObject *image_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    (void)tp, (void)args, (void)kw;
    PyErr_SetString(PyExc_TypeError, "inrf.Image is made by inrf.read, inrf.encode or "
                                     "Pack.image, not called directly");
    return NULL;
}

/* An instance of cls (inrf._inrf.Image or a subclass) owning model. */
static PyObject *image_wrap(PyObject *cls, inrf_model *model, size_t nbytes,
                            inrf_chunk_info *chunks, size_t nchunks, const char *source)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, (PyTypeObject *)image_type))
        cls = image_type;
    allocfunc alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)cls, Py_tp_alloc);
    ImageObject *im = (ImageObject *)alloc((PyTypeObject *)cls, 0);
    if (im == NULL) {
        inrf_model_free(model);
        free(chunks);
        return NULL;
    }
    im->model = model;
    im->nbytes = nbytes;
    im->chunks = chunks;
    im->nchunks = nchunks;
    if ((im->source = strdup(source)) == NULL) {
        Py_DECREF(im);
        return PyErr_NoMemory();
    }
    return (PyObject *)im;
}

/* Parses a whole .inrf file image: the model, and its chunk list as
 * inrinfo shows it. context names the source in errors. */
static PyObject *image_from_memory(PyObject *cls, const void *data, size_t size,
                                   const char *context)
{
    inrf_model *model = NULL;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_read_memory(data, size, NULL, &model);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK) {
        if (st == INRF_E_NOT_INRF && size >= 8 && memcmp(data, "\x89INPK\r\n\x1a", 8) == 0)
            return inrfpy_fail(st, "%s: an .inrpack, not an .inrf: open it with inrf.Pack", context);
        return inrfpy_raise(st, context);
    }
    size_t count = 0;
    inrf_chunk_info *chunks = NULL;
    st = inrf_scan_memory(data, size, NULL, 0, &count);
    if (st == INRF_OK && count > 0) {
        chunks = calloc(count, sizeof *chunks);
        if (chunks == NULL) {
            inrf_model_free(model);
            return PyErr_NoMemory();
        }
        st = inrf_scan_memory(data, size, chunks, count, &count);
    }
    if (st != INRF_OK) {
        /* the model parsed, yet a chunk the reader may skip is damaged */
        inrf_model_free(model);
        free(chunks);
        return inrfpy_raise(st, context);
    }
    return image_wrap(cls, model, size, chunks, count, context);
}

/* Image._read(src): src a path (str, bytes, os.PathLike) or the bytes of a
 * file in an object with the buffer interface other than bytes. */
static PyObject *image_read(PyObject *cls, PyObject *src)
{
    if (!PyUnicode_Check(src) && !PyBytes_Check(src) && PyObject_CheckBuffer(src)) {
        Py_buffer view;
        if (PyObject_GetBuffer(src, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        PyObject *r = image_from_memory(cls, view.buf, (size_t)view.len, "<memory>");
        PyBuffer_Release(&view);
        return r;
    }
    PyObject *pb = path_bytes(src);
    if (pb == NULL)
        return NULL;
    const char *path = PyBytes_AsString(pb);
    static const char *const magics[] = {"\x89INRF\r\n\x1a", "\x89INPK\r\n\x1a"};
    inrf_read_options ropt;
    inrf_read_options_init(&ropt);
    void *data = NULL;
    size_t size = 0;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_file_read_magic(path, ropt.max_file_bytes, magics, 2, 8, "an .inrf file", &data,
                              &size);
    Py_END_ALLOW_THREADS
    PyObject *r = st == INRF_OK ? image_from_memory(cls, data, size, path)
                                : inrfpy_raise(st, path);
    inrf_free(data);
    Py_DECREF(pb);
    return r;
}

/* Image._from_bytes(data): the file's bytes (bytes or any buffer). */
static PyObject *image_from_bytes(PyObject *cls, PyObject *src)
{
    Py_buffer view;
    if (PyObject_GetBuffer(src, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *r = image_from_memory(cls, view.buf, (size_t)view.len, "<memory>");
    PyBuffer_Release(&view);
    return r;
}

static ImageObject *image_of(PyObject *self) { return (ImageObject *)self; }

static PyObject *image_get_width(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(image_of(self)->model->arch.width);
}
static PyObject *image_get_height(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(image_of(self)->model->arch.height);
}
static PyObject *image_get_channels(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(image_of(self)->model->arch.channels);
}
static PyObject *image_get_psnr(PyObject *self, void *c)
{
    (void)c;
    float p = image_of(self)->model->psnr;
    if (isnan(p))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(p);
}
static PyObject *image_get_nbytes(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromSize_t(image_of(self)->nbytes);
}
static PyObject *image_get_params(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromSize_t(inrf_model_params(image_of(self)->model));
}
static PyObject *image_get_format_version(PyObject *self, void *c)
{
    (void)c;
    const inrf_model *m = image_of(self)->model;
    return PyUnicode_FromFormat("%u.%u", m->format_major, m->format_minor);
}
static PyObject *image_get_colour_space(PyObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(image_of(self)->model->arch.colour_space == 0 ? "sRGB"
                                                                              : "unknown");
}
static PyObject *image_get_compressed(PyObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(image_of(self)->model->compress_mask & 1u);
}
static PyObject *image_get_source(PyObject *self, void *c)
{
    (void)c;
    const char *src = image_of(self)->source;
    return PyUnicode_DecodeFSDefault(src ? src : "");
}
static PyObject *image_get_macs(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLongLong(inrf_model_macs_per_pixel(image_of(self)->model));
}

/* One of the kind's texts (inrf_model_info or inrf_arch_info) as str. */
static PyObject *info_text(const inrf_model *m, int part, int of_arch)
{
    size_t need = of_arch ? inrf_arch_info(&m->arch, part, NULL, 0)
                          : inrf_model_info(m, part, NULL, 0);
    char *buf = malloc(need + 1);
    if (buf == NULL)
        return PyErr_NoMemory();
    if (of_arch)
        inrf_arch_info(&m->arch, part, buf, need + 1);
    else
        inrf_model_info(m, part, buf, need + 1);
    buf[need] = 0;
    PyObject *s = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)need, "replace");
    free(buf);
    return s;
}
static PyObject *image_get_kind_json(PyObject *self, void *c)
{
    (void)c;
    return info_text(image_of(self)->model, INRF_INFO_JSON, 0);
}
static PyObject *image_get_arch_json(PyObject *self, void *c)
{
    (void)c;
    return info_text(image_of(self)->model, INRF_INFO_ARCH_JSON, 1);
}
static PyObject *image_get_summary(PyObject *self, void *c)
{
    (void)c;
    return info_text(image_of(self)->model, INRF_INFO_SUMMARY, 1);
}

/* The chunks as inrinfo --json lists them (man/inrf-json.7). */
static PyObject *image_get_chunks(PyObject *self, void *c)
{
    (void)c;
    const ImageObject *im = image_of(self);
    PyObject *list = PyList_New((Py_ssize_t)im->nchunks);
    for (size_t i = 0; list != NULL && i < im->nchunks; i++) {
        const inrf_chunk_info *ch = &im->chunks[i];
        const char *ck = ch->checksum_ok > 0 ? "good" : ch->checksum_ok == 0 ? "bad"
                                                                              : "not checked";
        PyObject *d = Py_BuildValue("{s:s,s:K,s:k,s:k,s:k,s:s}", "type", ch->type, "offset",
                                    (unsigned long long)ch->offset, "flags",
                                    (unsigned long)ch->flags, "stored_bytes",
                                    (unsigned long)ch->stored_bytes, "raw_bytes",
                                    (unsigned long)ch->raw_bytes, "checksum", ck);
        if (d == NULL || PyList_SetItem(list, (Py_ssize_t)i, d) < 0) {
            Py_DECREF(list);
            return NULL;
        }
    }
    return list;
}

/* Image._decode(out, width, height, window=None, crop=None, float=False,
 * threads=0): decodes into out (uint8 or float32, height x width x
 * channels). window: (x0, y0, x1, y1) in the normalised coordinates of
 * spec/inrf.md "Decoding"; crop: (x, y, canvas_w, canvas_h), the pixel crop
 * at (x, y) of the decode at canvas_w x canvas_h, bit for bit. */
static PyObject *image_decode_args(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"out", "width", "height", "window", "crop", "float", "threads", NULL};
    PyObject *out, *ow, *oh, *window = Py_None, *crop = Py_None;
    int as_float = 0, threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|OOpi", kwlist, &out, &ow, &oh, &window,
                                     &crop, &as_float, &threads))
        return NULL;
    const inrf_model *m = image_of(self)->model;
    inrf_decode_options opt;
    inrf_decode_options_init(&opt);
    if (get_u32(ow, "width", 1, INRF_MAX_DIM, &opt.width) < 0 ||
        get_u32(oh, "height", 1, INRF_MAX_DIM, &opt.height) < 0)
        return NULL;
    if (threads < 0)
        return inrfpy_fail(INRF_E_INVALID_ARG, "threads: %d is negative", threads);
    opt.threads = threads;
    if (window != Py_None) {
        if (get_floats(window, "window", opt.window, 4) < 0)
            return NULL;
        for (int i = 0; i < 4; i++)
            if (!isfinite(opt.window[i]))
                return inrfpy_fail(INRF_E_INVALID_ARG, "window: value %d is not finite", i);
    }
    if (crop != Py_None) {
        double c[4];
        if (get_floats(crop, "crop", c, 4) < 0)
            return NULL;
        for (int i = 0; i < 4; i++)
            if (!(c[i] >= 0 && c[i] <= INRF_MAX_DIM && c[i] == floor(c[i])))
                return inrfpy_fail(INRF_E_INVALID_ARG, "crop: value %g is not a pixel count",
                                 c[i]);
        opt.crop_x = (uint32_t)c[0], opt.crop_y = (uint32_t)c[1];
        opt.canvas_w = (uint32_t)c[2], opt.canvas_h = (uint32_t)c[3];
        if (opt.canvas_w == 0 || opt.canvas_h == 0 ||
            (uint64_t)opt.crop_x + opt.width > opt.canvas_w ||
            (uint64_t)opt.crop_y + opt.height > opt.canvas_h)
            return inrfpy_fail(INRF_E_INVALID_ARG,
                             "crop %u,%u,%u,%u lies outside the %ux%u image", opt.crop_x,
                             opt.crop_y, opt.width, opt.height, opt.canvas_w, opt.canvas_h);
    }
    /* at most 2^28 pixels, as inrdec: no product below overflows */
    if ((uint64_t)opt.width * opt.height > (1u << 28))
        return inrfpy_fail(INRF_E_LIMIT, "a %ux%u image is larger than the limit of 2^28 pixels",
                         opt.width, opt.height);
    Py_ssize_t dims[3] = {opt.height, opt.width, m->arch.channels};
    Py_buffer view;
    if (out_shaped(out, &view, as_float ? "f" : "B", as_float ? 4 : 1, 3, dims, "out") < 0)
        return NULL;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = as_float ? inrf_decode_f32(m, &opt, view.buf, 0) : inrf_decode_u8(m, &opt, view.buf, 0);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (st != INRF_OK)
        return inrfpy_raise(st, image_of(self)->source);
    Py_RETURN_NONE;
}

/* Every error names the image's source. */
static PyObject *image_decode(PyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *r = image_decode_args(self, args, kw);
    return r != NULL ? r : in_context(image_of(self)->source);
}

/* Image.to_bytes(): the file as inrf_write_memory makes it. */
static PyObject *image_to_bytes(PyObject *self, PyObject *unused)
{
    (void)unused;
    void *data = NULL;
    size_t size = 0;
    inrf_status st = inrf_write_memory(image_of(self)->model, NULL, &data, &size);
    if (st != INRF_OK)
        return inrfpy_raise(st, image_of(self)->source);
    PyObject *b = PyBytes_FromStringAndSize(data, (Py_ssize_t)size);
    inrf_free(data);
    return b;
}

/* Image.save(path): written atomically (inrf_write_file). */
static PyObject *image_save(PyObject *self, PyObject *arg)
{
    PyObject *pb = path_bytes(arg);
    if (pb == NULL)
        return NULL;
    const char *path = PyBytes_AsString(pb);
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_write_file(image_of(self)->model, NULL, path);
    Py_END_ALLOW_THREADS
    PyObject *r = st == INRF_OK ? Py_NewRef(Py_None) : inrfpy_raise(st, path);
    Py_DECREF(pb);
    return r;
}

/* -------------------------------------------------------------- encoding */

/* The progress callback: lets Ctrl-C stop an encode. */
static int encode_progress(const inrf_encode_progress *p, void *user)
{
    (void)p, (void)user;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = PyErr_CheckSignals() < 0;
    PyGILState_Release(g);
    return stop;
}

static int name_index(PyObject *obj, const char *what, const char *const *names, int n,
                      int *out)
{
    if (PyLong_Check(obj)) {
        long v = PyLong_AsLong(obj);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (v < 0 || v >= n) {
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: %ld outside 0..%d", what, v, n - 1);
            return -1;
        }
        *out = (int)v;
        return 0;
    }
    const char *s = PyUnicode_Check(obj) ? PyUnicode_AsUTF8AndSize(obj, NULL) : NULL;
    if (s == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s: a name (str) wanted", what);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    inrfpy_fail(INRF_E_INVALID_ARG, "%s: '%s' is not one of %s", what, s,
              n == 4 ? "auto, cifar10, flowers, imagenet" : "none, int8, int8-row");
    return -1;
}

/* An integer option in [lo, hi] (None leaves *out). */
static int opt_int(PyObject *obj, const char *what, long long lo, long long hi, long long *out)
{
    if (obj == NULL || obj == Py_None)
        return 0;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < lo || v > hi) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: outside %lld..%lld", what, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* A float option, > 0 and < max (None leaves *out). */
static int opt_positive(PyObject *obj, const char *what, double max, double *out)
{
    if (obj == NULL || obj == Py_None)
        return 0;
    double v = PyFloat_AsDouble(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (!(v > 0 && v < max)) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: %g must be greater than 0 and less than %g", what, v,
                  max);
        return -1;
    }
    *out = v;
    return 0;
}

/* The encoder's options from keywords, with inrenc's names and ranges
 * (tools/cli_encode.c). */
static int encode_options(PyObject *const *o, inrf_encode_options *e)
{
    static const char *const presets[] = {"auto", "cifar10", "flowers", "imagenet"};
    static const char *const quants[] = {"none", "int8", "int8-row"};
    long long v;
    double d;
    /* o: effort, max_bytes, target_psnr, bpp, preset, threads, layers, hidden,
     * w0, w0_hidden, lr, steps, prune, quant, qat, half_io, batch_pixels, seed */
    v = e->effort;
    if (opt_int(o[0], "effort", 1, 9, &v) < 0) return -1;
    e->effort = (int)v;
    v = 0;
    if (opt_int(o[1], "max_bytes", 1, INRF_MAX_FILE_BYTES, &v) < 0) return -1;
    e->max_bytes = (size_t)v;
    d = 0;
    if (opt_positive(o[2], "target_psnr", 100.0 + 1e-9, &d) < 0) return -1;
    e->target_psnr = d;
    d = 0;
    if (opt_positive(o[3], "bpp", 1000, &d) < 0) return -1;
    e->bpp = d;
    if (o[4] != NULL && o[4] != Py_None && name_index(o[4], "preset", presets, 4, &e->preset) < 0)
        return -1;
    v = 0;
    if (opt_int(o[5], "threads", 0, 4096, &v) < 0) return -1;
    e->threads = (int)v;
    v = 0;
    if (opt_int(o[6], "layers", 1, INRF_MAX_SINE_LAYERS, &v) < 0) return -1;
    e->layers = (int)v;
    v = 0;
    if (opt_int(o[7], "hidden", 1, INRF_MAX_WIDTH, &v) < 0) return -1;
    e->hidden = (int)v;
    d = 0;
    if (opt_positive(o[8], "w0", 1e4, &d) < 0) return -1;
    e->omega_first = (float)d;
    d = 0;
    if (opt_positive(o[9], "w0_hidden", 1e4, &d) < 0) return -1;
    e->omega_hidden = (float)d;
    d = 0;
    if (opt_positive(o[10], "lr", 1, &d) < 0) return -1;
    e->lr = (float)d;
    v = 0;
    if (opt_int(o[11], "steps", 1, 10000000, &v) < 0) return -1;
    e->steps = (int)v;
    if (o[12] != NULL && o[12] != Py_None) {
        int t = PyObject_IsTrue(o[12]);
        if (t < 0) return -1;
        e->prune = t;
    }
    if (o[13] != NULL && o[13] != Py_None && name_index(o[13], "quant", quants, 3, &e->quant) < 0)
        return -1;
    if (o[14] != NULL && o[14] != Py_None) {
        int t = PyObject_IsTrue(o[14]);
        if (t < 0) return -1;
        e->qat = t;
    }
    if (o[15] != NULL && o[15] != Py_None) {
        int t = PyObject_IsTrue(o[15]);
        if (t < 0) return -1;
        e->half_io = t;
    }
    v = 0;
    if (opt_int(o[16], "batch_pixels", 1, 1ll << 24, &v) < 0) return -1;
    e->batch_pixels = (uint32_t)v;
    v = (long long)e->seed;
    if (o[17] != NULL && o[17] != Py_None) {
        unsigned long long s = PyLong_AsUnsignedLongLong(o[17]);
        if (s == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            inrfpy_fail(INRF_E_INVALID_ARG, "seed: not an integer in 0..2^64-1");
            return -1;
        }
        e->seed = s;
    }
    return 0;
}

/* The pixels of an array (uint8, height x width or height x width x 1 or
 * 3, C-contiguous) as an inrf_image that borrows them. */
static int array_image(PyObject *src, Py_buffer *view, inrf_image *img)
{
    if (PyObject_GetBuffer(src, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "image: not a C-contiguous buffer (an HxWxC or HxW uint8 "
                                      "array)");
        return -1;
    }
    const char *why = NULL;
    if (!format_is(view->format, "B"))
        why = "its dtype is not uint8";
    else if (view->ndim != 2 && view->ndim != 3)
        why = "it is not HxW or HxWxC";
    else if (view->ndim == 3 && view->shape[2] != 1 && view->shape[2] != 3)
        why = "it has neither 1 nor 3 channels";
    else if (view->shape[0] < 1 || view->shape[1] < 1 || view->shape[0] > INRF_MAX_DIM ||
             view->shape[1] > INRF_MAX_DIM)
        why = "a side is outside 1..2^24";
    if (why != NULL) {
        inrfpy_fail(INRF_E_INVALID_ARG, "image: %s (dtype %s, %d dimensions)", why,
                  format_name(view->format), view->ndim);
        PyBuffer_Release(view);
        return -1;
    }
    img->height = (uint32_t)view->shape[0];
    img->width = (uint32_t)view->shape[1];
    img->channels = view->ndim == 3 ? (uint8_t)view->shape[2] : 1;
    img->pixels = view->buf;
    return 0;
}

/* Image._encode(src, dst=None, **options): src a path of a PNG, JPEG or
 * PNM (read as inrenc reads it, grey kept grey) or a uint8 array; dst a
 * path written atomically as inrenc writes it. Returns (image, stats). */
static PyObject *image_encode(PyObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"src", "dst", "effort", "max_bytes", "target_psnr", "bpp",
                             "preset", "threads", "layers", "hidden", "w0", "w0_hidden", "lr",
                             "steps", "prune", "quant", "qat", "half_io", "batch_pixels",
                             "seed", NULL};
    PyObject *src, *dst = Py_None, *o[18] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOOOOOOOOOOOOOOOOO", kwlist, &src, &dst,
                                     &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                                     &o[8], &o[9], &o[10], &o[11], &o[12], &o[13], &o[14],
                                     &o[15], &o[16], &o[17]))
        return NULL;
    inrf_encode_options enc;
    inrf_encode_options_init(&enc);
    if (encode_options(o, &enc) < 0)
        return NULL;
    enc.progress = encode_progress;

    PyObject *dst_b = NULL, *src_b = NULL;
    const char *dst_path = NULL, *context = "<array>";
    if (dst != Py_None) {
        if ((dst_b = path_bytes(dst)) == NULL)
            return NULL;
        dst_path = PyBytes_AsString(dst_b);
    }
    inrf_image img = {0};
    Py_buffer view;
    int have_view = 0, own_img = 0;
    inrf_status st = INRF_OK;
    if (PyUnicode_Check(src) || PyBytes_Check(src) || !PyObject_CheckBuffer(src)) {
        if ((src_b = path_bytes(src)) == NULL)
            goto fail;
        context = PyBytes_AsString(src_b);
        inrf_image_read_options ropt;
        inrf_image_read_options_init(&ropt);
        ropt.keep_grey = 1; /* as inrenc */
        Py_BEGIN_ALLOW_THREADS
        st = inrf_image_read_file(context, &ropt, &img);
        Py_END_ALLOW_THREADS
        if (st != INRF_OK) {
            inrfpy_raise(st, context);
            goto fail;
        }
        own_img = 1;
    } else {
        if (array_image(src, &view, &img) < 0)
            goto fail;
        have_view = 1;
    }
    /* the output is checked before the long work, as inrenc does */
    if (dst_path != NULL && (st = inrf_file_check_output(dst_path)) != INRF_OK) {
        inrfpy_raise(st, dst_path);
        goto fail;
    }
    inrf_model *model = NULL;
    inrf_encode_stats stats;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_encode(&img, &enc, &model, &stats);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK) {
        if (st == INRF_E_INTERRUPTED && PyErr_Occurred())
            goto fail; /* KeyboardInterrupt */
        inrfpy_raise(st, context);
        goto fail;
    }
    if (dst_path != NULL) {
        Py_BEGIN_ALLOW_THREADS
        st = inrf_write_file(model, NULL, dst_path);
        Py_END_ALLOW_THREADS
        if (st != INRF_OK) {
            inrf_model_free(model);
            inrfpy_raise(st, dst_path);
            goto fail;
        }
    }
    PyObject *image = image_wrap(cls, model, stats.bytes, NULL, 0,
                                 dst_path != NULL ? dst_path : context);
    if (have_view)
        PyBuffer_Release(&view);
    if (own_img)
        inrf_image_free(&img);
    Py_XDECREF(src_b);
    Py_XDECREF(dst_b);
    if (image == NULL)
        return NULL;
    PyObject *s = Py_BuildValue(
        "{s:d,s:d,s:n,s:d,s:i,s:d,s:i,s:i,s:O}", "psnr", stats.psnr, "psnr_fp32",
        stats.psnr_fp32, "bytes", (Py_ssize_t)stats.bytes, "seconds", stats.seconds, "steps",
        stats.steps, "prune_ratio", (double)stats.prune_ratio, "layers", stats.layers, "hidden",
        stats.hidden, "target_reached",
        stats.target_reached < 0 ? Py_None : stats.target_reached ? Py_True : Py_False);
    if (s == NULL) {
        Py_DECREF(image);
        return NULL;
    }
    PyObject *r = PyTuple_Pack(2, image, s);
    Py_DECREF(image);
    Py_DECREF(s);
    return r;
fail:
    if (have_view)
        PyBuffer_Release(&view);
    if (own_img)
        inrf_image_free(&img);
    Py_XDECREF(src_b);
    Py_XDECREF(dst_b);
    return NULL;
}

static PyObject *image_from_pack(PyObject *cls, PyObject *args);

static PyGetSetDef image_getset[] = {
    {"width", image_get_width, NULL, "source width in pixels", NULL},
    {"height", image_get_height, NULL, "source height in pixels", NULL},
    {"channels", image_get_channels, NULL, "1 (grey) or 3 (RGB)", NULL},
    {"psnr", image_get_psnr, NULL, "stored quality in dB, or None", NULL},
    {"nbytes", image_get_nbytes, NULL, "bytes of the file (of the record for a pack's image)",
     NULL},
    {"params", image_get_params, NULL, "weights and biases", NULL},
    {"format_version", image_get_format_version, NULL, "version of the file read", NULL},
    {"colour_space", image_get_colour_space, NULL, "sRGB", NULL},
    {"compressed", image_get_compressed, NULL, "whether the weights are zstd-compressed", NULL},
    {"macs_per_pixel", image_get_macs, NULL, "multiply-adds per decoded pixel", NULL},
    {"source", image_get_source, NULL,
     "what errors name: the path read or written, <memory>, <array> or PACK: image I", NULL},
    {"summary", image_get_summary, NULL, "the architecture in a few words", NULL},
    {"chunks", image_get_chunks, NULL, "the file's chunks (list of dicts)", NULL},
    {"_kind_json", image_get_kind_json, NULL, "inrf_model_info(INRF_INFO_JSON)", NULL},
    {"_arch_json", image_get_arch_json, NULL, "inrf_arch_info(INRF_INFO_ARCH_JSON)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef image_methods[] = {
    {"_read", (PyCFunction)image_read, METH_O | METH_CLASS, "read a path or bytes"},
    {"_from_bytes", (PyCFunction)image_from_bytes, METH_O | METH_CLASS, "parse bytes"},
    {"_from_pack", (PyCFunction)image_from_pack, METH_VARARGS | METH_CLASS,
     "item i of a pack"},
    {"_encode", (PyCFunction)(void (*)(void))image_encode,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, "encode an image"},
    {"_decode", (PyCFunction)(void (*)(void))image_decode, METH_VARARGS | METH_KEYWORDS,
     "decode into a buffer"},
    {"to_bytes", image_to_bytes, METH_NOARGS, "the .inrf file's bytes"},
    {"save", image_save, METH_O, "write an .inrf file (atomically)"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot image_slots[] = {
    {Py_tp_doc, "A parsed .inrf model (inrf.read, inrf.encode, Pack.image)."},
    {Py_tp_new, image_new},
    {Py_tp_dealloc, image_dealloc},
    {Py_tp_getset, image_getset},
    {Py_tp_methods, image_methods},
    {0, NULL},
};

static PyType_Spec image_spec = {
    "inrf._inrf.Image", sizeof(ImageObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    image_slots,
};

/* ------------------------------------------------------------------- Pack */

typedef struct {
    PyObject_HEAD
    inrf_pack *pack;
    PyObject *path; /* str */
    char *cpath;    /* the path as given, for messages */
} PackObject;

const inrf_pack *inrfpy_pack(PyObject *obj)
{
    if (obj == NULL || !PyObject_TypeCheck(obj, (PyTypeObject *)pack_type)) {
        PyErr_SetString(PyExc_TypeError, "an inrf.Pack is wanted");
        return NULL;
    }
    const PackObject *p = (const PackObject *)obj;
    if (p->pack == NULL) {
        PyErr_SetString(PyExc_TypeError, "an open inrf.Pack is wanted");
        return NULL;
    }
    return p->pack;
}

static void pack_dealloc(PyObject *self)
{
    PackObject *p = (PackObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    inrf_pack_close(p->pack);
    Py_XDECREF(p->path);
    free(p->cpath);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

/* Pack(path, verify=True): opens path (inrf_pack_open); verify=False
 * checks the header and the directory only, each record when decoded. */
static PyObject *pack_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "verify", NULL};
    PyObject *arg;
    int verify = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", kwlist, &arg, &verify))
        return NULL;
    PyObject *pb = path_bytes(arg);
    if (pb == NULL)
        return NULL;
    const char *path = PyBytes_AsString(pb);
    inrf_pack_options opt;
    inrf_pack_options_init(&opt);
    opt.verify_records = verify;
    inrf_pack *pack = NULL;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_pack_open(path, &opt, &pack);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK) {
        inrfpy_raise(st, path);
        Py_DECREF(pb);
        return NULL;
    }
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    PackObject *p = (PackObject *)alloc(tp, 0);
    if (p == NULL) {
        inrf_pack_close(pack);
        Py_DECREF(pb);
        return NULL;
    }
    p->pack = pack;
    p->cpath = strdup(path);
    p->path = PyUnicode_DecodeFSDefault(path);
    Py_DECREF(pb);
    if (p->cpath == NULL || p->path == NULL) {
        Py_DECREF(p);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return (PyObject *)p;
}

static PackObject *pack_of(PyObject *self) { return (PackObject *)self; }

const char *inrfpy_pack_path(PyObject *obj) { return pack_of(obj)->cpath; }

static Py_ssize_t pack_len(PyObject *self)
{
    return (Py_ssize_t)inrf_pack_count(pack_of(self)->pack);
}
static PyObject *pack_get_path(PyObject *self, void *c)
{
    (void)c;
    return Py_NewRef(pack_of(self)->path);
}
static PyObject *pack_get_channels(PyObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(inrf_pack_channels(pack_of(self)->pack));
}
static PyObject *pack_get_nbytes(PyObject *self, void *c)
{
    (void)c;
    size_t size = 0;
    inrf_pack_bytes(pack_of(self)->pack, &size);
    return PyLong_FromSize_t(size);
}
static PyObject *pack_get_classes(PyObject *self, void *c)
{
    (void)c;
    const inrf_pack *pk = pack_of(self)->pack;
    uint32_t n = inrf_pack_classes(pk);
    PyObject *list = PyList_New(n);
    for (uint32_t i = 0; list != NULL && i < n; i++) {
        const char *s = inrf_pack_class_name(pk, i);
        PyObject *name = PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
        if (name == NULL || PyList_SetItem(list, i, name) < 0) {
            Py_DECREF(list);
            return NULL;
        }
    }
    return list;
}
static PyObject *pack_get_archs(PyObject *self, void *c)
{
    (void)c;
    const inrf_pack *pk = pack_of(self)->pack;
    uint32_t n = inrf_pack_archs(pk);
    PyObject *list = PyList_New(n);
    for (uint32_t i = 0; list != NULL && i < n; i++) {
        inrf_model m; /* inrf_arch_info reads the arch only */
        memset(&m, 0, sizeof m);
        m.arch = *inrf_pack_arch(pk, i);
        PyObject *s = info_text(&m, INRF_INFO_ARCH_JSON, 1);
        if (s == NULL || PyList_SetItem(list, i, s) < 0) {
            Py_DECREF(list);
            return NULL;
        }
    }
    return list;
}

/* Pack._items(labels, sizes, psnr, archs): fills the index's columns: int64
 * labels[n], int64 sizes[n][2] (width, height), float32 psnr[n] (NaN
 * unknown), int64 archs[n]; any may be None. */
static PyObject *pack_items(PyObject *self, PyObject *args)
{
    PyObject *objs[4];
    if (!PyArg_ParseTuple(args, "OOOO", &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    const inrf_pack *pk = pack_of(self)->pack;
    Py_ssize_t n = (Py_ssize_t)inrf_pack_count(pk);
    Py_buffer views[4];
    static const char *const what[4] = {"labels", "sizes", "psnr", "archs"};
    const Py_ssize_t cols[4] = {1, 2, 1, 1};
    for (int k = 0; k < 4; k++) {
        views[k].obj = NULL;
        if (objs[k] == Py_None)
            continue;
        Py_ssize_t dims[2] = {n, cols[k]};
        if (out_shaped(objs[k], &views[k], k == 2 ? "f" : "q", k == 2 ? 4 : 8, cols[k] > 1 ? 2 : 1,
                       dims, what[k]) < 0) {
            for (int j = 0; j < k; j++)
                if (views[j].obj != NULL)
                    PyBuffer_Release(&views[j]);
            return NULL;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const inrf_pack_item *it = inrf_pack_get(pk, (uint32_t)i);
        if (views[0].obj) ((int64_t *)views[0].buf)[i] = it->label;
        if (views[1].obj) {
            ((int64_t *)views[1].buf)[2 * i] = it->width;
            ((int64_t *)views[1].buf)[2 * i + 1] = it->height;
        }
        if (views[2].obj) ((float *)views[2].buf)[i] = it->psnr;
        if (views[3].obj) ((int64_t *)views[3].buf)[i] = it->arch;
    }
    for (int k = 0; k < 4; k++)
        if (views[k].obj != NULL)
            PyBuffer_Release(&views[k]);
    Py_RETURN_NONE;
}

/* An image index of the pack, or -1 with inrf.Error set naming the pack. */
static long long pack_index(const PackObject *p, PyObject *obj)
{
    int overflow = 0;
    long long i = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (i == -1 && PyErr_Occurred())
        return -1;
    uint32_t n = inrf_pack_count(p->pack);
    if (overflow || i < 0 || i >= (long long)n) {
        if (overflow)
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: image index out of range (%u images)", p->cpath, n);
        else
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: image %lld of %u", p->cpath, i, n);
        return -1;
    }
    return i;
}

/* Pack.item(i) -> dict of image i's index entry: label, width, height,
 * psnr (None when unknown), seq, arch, offset and bytes of its record. */
static PyObject *pack_item(PyObject *self, PyObject *arg)
{
    const PackObject *p = pack_of(self);
    long long i = pack_index(p, arg);
    if (i < 0)
        return NULL;
    const inrf_pack_item *it = inrf_pack_get(p->pack, (uint32_t)i);
    PyObject *psnr = isnan(it->psnr) ? Py_NewRef(Py_None) : PyFloat_FromDouble(it->psnr);
    if (psnr == NULL)
        return NULL;
    return Py_BuildValue("{s:k,s:k,s:k,s:N,s:k,s:k,s:K,s:k}", "label", (unsigned long)it->label,
                         "width", (unsigned long)it->width, "height", (unsigned long)it->height,
                         "psnr", psnr, "seq", (unsigned long)it->seq, "arch",
                         (unsigned long)it->arch, "offset", (unsigned long long)it->offset,
                         "bytes", (unsigned long)it->size);
}

/* Image._from_pack(pack, i): item i as a model (inrf_pack_model). */
static PyObject *image_from_pack(PyObject *cls, PyObject *args)
{
    PyObject *po, *io;
    if (!PyArg_ParseTuple(args, "OO", &po, &io))
        return NULL;
    if (inrfpy_pack(po) == NULL)
        return NULL;
    const PackObject *p = pack_of(po);
    long long i = pack_index(p, io);
    if (i < 0)
        return NULL;
    inrf_model *model = NULL;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_pack_model(p->pack, (uint32_t)i, &model);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK)
        return inrfpy_raise(st, p->cpath);
    char source[1100];
    snprintf(source, sizeof source, "%s: image %lld", p->cpath, i);
    return image_wrap(cls, model, inrf_pack_get(p->pack, (uint32_t)i)->size, NULL, 0, source);
}

/* Pack.verify(): every record checked (inrf_pack_verify); raises on the
 * first bad one. */
static PyObject *pack_verify(PyObject *self, PyObject *unused)
{
    (void)unused;
    const PackObject *p = pack_of(self);
    size_t nbad = 0;
    inrf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_pack_verify(p->pack, NULL, 0, &nbad);
    Py_END_ALLOW_THREADS
    if (st != INRF_OK)
        return inrfpy_raise(st, p->cpath);
    Py_RETURN_NONE;
}

/* The batch's indices from a sequence of ints or a buffer of integers. */
uint32_t *inrfpy_indices(PyObject *obj, uint32_t count, const char *where, size_t *n)
{
    uint32_t *idx = NULL;
    Py_buffer v;
    if (PyObject_CheckBuffer(obj) &&
        PyObject_GetBuffer(obj, &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        PyErr_Clear(); /* not contiguous: read as a sequence */
    else if (PyObject_CheckBuffer(obj)) {
        const char *f = v.format ? v.format : "B";
        if (f[0] == '@' || f[0] == '=' || f[0] == '<')
            f++;
        int size = (int)v.itemsize;
        int sgn = strchr("bhilq", f[0]) != NULL;
        if (f[1] != 0 || strchr("bhilqBHILQ", f[0]) == NULL || v.ndim > 1) {
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: indices: dtype %s (%d dimensions), a 1-D integer "
                        "array wanted", where, format_name(v.format), v.ndim);
            PyBuffer_Release(&v);
            return NULL;
        }
        size_t m = (size_t)(v.len / size);
        idx = malloc((m ? m : 1) * sizeof *idx);
        if (idx == NULL) {
            PyBuffer_Release(&v);
            PyErr_NoMemory();
            return NULL;
        }
        const unsigned char *b = v.buf;
        for (size_t s = 0; s < m; s++) {
            long long x;
            const void *e = b + s * (size_t)size;
            switch (size) {
            case 1: x = sgn ? *(const int8_t *)e : *(const uint8_t *)e; break;
            case 2: x = sgn ? *(const int16_t *)e : *(const uint16_t *)e; break;
            case 4:
                x = sgn ? (long long)*(const int32_t *)e : (long long)*(const uint32_t *)e;
                break;
            default:
                x = sgn ? *(const int64_t *)e
                        : (*(const uint64_t *)e > INT64_MAX ? -1 : (long long)*(const uint64_t *)e);
            }
            if (x < 0 || x >= (long long)count) {
                inrfpy_fail(INRF_E_INVALID_ARG, "%s: indices[%zu]: image %lld of %u", where, s, x,
                          count);
                free(idx);
                PyBuffer_Release(&v);
                return NULL;
            }
            idx[s] = (uint32_t)x;
        }
        PyBuffer_Release(&v);
        *n = m;
        return idx;
    }
    PyObject *seq = PySequence_Fast(obj, "indices: a sequence of ints or an integer array");
    if (seq == NULL)
        return NULL;
    size_t m = (size_t)PySequence_Size(seq);
    idx = malloc((m ? m : 1) * sizeof *idx);
    if (idx == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (size_t s = 0; s < m; s++) {
        PyObject *it = PySequence_GetItem(seq, (Py_ssize_t)s);
        int overflow = 0;
        long long x = it ? PyLong_AsLongLongAndOverflow(it, &overflow) : -1;
        Py_XDECREF(it);
        if (it == NULL || (x == -1 && PyErr_Occurred())) {
            free(idx);
            Py_DECREF(seq);
            return NULL;
        }
        if (overflow || x < 0 || x >= (long long)count) {
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: indices[%zu]: image %lld of %u", where, s,
                      overflow ? -1 : x, count);
            free(idx);
            Py_DECREF(seq);
            return NULL;
        }
        idx[s] = (uint32_t)x;
    }
    Py_DECREF(seq);
    *n = m;
    return idx;
}

/* n values of a float32 or bool/uint8 input buffer: windows (4n floats)
 * or flip (n bytes); 0 or -1 with inrf.Error set. */
static int in_buffer(PyObject *obj, Py_buffer *v, const char *format, size_t count,
                     const char *what)
{
    if (PyObject_GetBuffer(obj, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: not a C-contiguous buffer", what);
        return -1;
    }
    int ok = format[0] == 'f' ? format_is(v->format, "f")
                              : format_is(v->format, "?") || format_is(v->format, "B");
    if (!ok) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: dtype %s, %s wanted", what, format_name(v->format),
                    format[0] == 'f' ? "float32" : "bool");
        PyBuffer_Release(v);
        return -1;
    }
    size_t item = format[0] == 'f' ? 4 : 1;
    if ((size_t)v->len != count * item) {
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: %zu values, %zu wanted", what, (size_t)v->len / item,
                    count);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* Whether obj exports a C-contiguous buffer. */
static int contiguous(PyObject *obj)
{
    Py_buffer v;
    if (!PyObject_CheckBuffer(obj))
        return 0;
    if (PyObject_GetBuffer(obj, &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        return 0;
    }
    PyBuffer_Release(&v);
    return 1;
}

/* The numbers of a sequence, flat or of sequences, into w (4n values);
 * 0 or -1 with an exception set. */
static int windows_seq(PyObject *obj, size_t n, float *w)
{
    PyObject *flat = PySequence_Fast(obj, "windows: None, a float32 array or n x 4 numbers");
    if (flat == NULL)
        return -1;
    Py_ssize_t len = PySequence_Size(flat);
    size_t k = 0;
    for (Py_ssize_t i = 0; i < len && !PyErr_Occurred(); i++) {
        PyObject *item = PySequence_GetItem(flat, i);
        if (item == NULL)
            break;
        int one = PyFloat_Check(item) || PyLong_Check(item) || !PySequence_Check(item);
        Py_ssize_t m = one ? 1 : PySequence_Size(item);
        for (Py_ssize_t j = 0; j < m && !PyErr_Occurred(); j++) {
            PyObject *x = one ? Py_NewRef(item) : PySequence_GetItem(item, j);
            double d = x ? PyFloat_AsDouble(x) : -1;
            Py_XDECREF(x);
            if (k < 4 * n)
                w[k] = (float)d;
            k++;
        }
        Py_DECREF(item);
    }
    Py_DECREF(flat);
    if (PyErr_Occurred())
        return -1;
    if (k != 4 * n) {
        inrfpy_fail(INRF_E_INVALID_ARG, "windows: %zu values for %zu samples (4 a sample: x0, y0, "
                    "x1, y1)", k, n);
        return -1;
    }
    return 0;
}

int inrfpy_windows(PyObject *windows, PyObject *flip, size_t n, float **out)
{
    *out = NULL;
    if (windows == Py_None && flip == Py_None)
        return 0;
    float *win = malloc((n ? n : 1) * 4 * sizeof *win);
    if (win == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (windows == Py_None) {
        for (size_t s = 0; s < n; s++) {
            win[4 * s] = -1, win[4 * s + 1] = -1;
            win[4 * s + 2] = 1, win[4 * s + 3] = 1;
        }
    } else if (contiguous(windows)) {
        Py_buffer wv;
        if (in_buffer(windows, &wv, "f", 4 * n, "windows") < 0)
            goto fail;
        memcpy(win, wv.buf, n * 4 * sizeof *win);
        PyBuffer_Release(&wv);
    } else if (windows_seq(windows, n, win) < 0) { /* numbers, or a strided array */
        goto fail;
    }
    if (flip != Py_None) {
        Py_buffer fv;
        if (in_buffer(flip, &fv, "?", n, "flip") < 0)
            goto fail;
        const unsigned char *f = fv.buf;
        for (size_t s = 0; s < n; s++)
            if (f[s]) {
                float t = win[4 * s];
                win[4 * s] = win[4 * s + 2];
                win[4 * s + 2] = t;
            }
        PyBuffer_Release(&fv);
    }
    *out = win;
    return 0;
fail:
    free(win);
    return -1;
}

/* Mean or std: None (opt's kept), one number, or a sequence of one (for
 * all channels) or `channels` numbers. */
static int batch_norm(PyObject *obj, const char *what, unsigned channels, float out[3])
{
    if (obj == Py_None)
        return 0;
    double v[3];
    if (PyFloat_Check(obj) || PyLong_Check(obj) || !PySequence_Check(obj)) {
        v[0] = PyFloat_AsDouble(obj);
        if (v[0] == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            inrfpy_fail(INRF_E_INVALID_ARG, "%s: not a number or a sequence of numbers", what);
            return -1;
        }
        out[0] = out[1] = out[2] = (float)v[0];
        return 0;
    }
    Py_ssize_t len = PySequence_Size(obj);
    if (len < 0)
        return -1;
    if (get_floats(obj, what, v, len == 1 ? 1 : (Py_ssize_t)channels) < 0)
        return -1;
    for (unsigned c = 0; c < 3; c++)
        out[c] = (float)v[len == 1 || c >= channels ? 0 : c];
    return 0;
}

int inrfpy_batch_options(int type, PyObject *mean, PyObject *std, unsigned channels, int threads,
                         int zero_outside, inrf_batch_options *opt)
{
    if (type != INRF_BATCH_U8 && type != INRF_BATCH_F32 && type != INRF_BATCH_F16) {
        inrfpy_fail(INRF_E_INVALID_ARG, "type: %d is not %d (uint8), %d (float32) or %d (float16)",
                    type, INRF_BATCH_U8, INRF_BATCH_F32, INRF_BATCH_F16);
        return -1;
    }
    if (threads < 0) {
        inrfpy_fail(INRF_E_INVALID_ARG, "threads: %d is negative (0 is all CPUs)", threads);
        return -1;
    }
    if (channels < 1 || channels > 3)
        channels = 3;
    opt->type = type;
    opt->threads = threads;
    opt->zero_outside = zero_outside;
    if (batch_norm(mean, "mean", channels, opt->mean) < 0 ||
        batch_norm(std, "std", channels, opt->std) < 0)
        return -1;
    for (int c = 0; c < 3; c++)
        if (!isfinite(opt->mean[c]) || !isfinite(opt->std[c]) || !(opt->std[c] > 0)) {
            inrfpy_fail(INRF_E_INVALID_ARG, "mean/std channel %d: std must be finite and > 0, "
                        "mean finite", c);
            return -1;
        }
    return 0;
}

/* Pack._decode_batch(indices, width, height, out, type, windows=None,
 * flip=None, mean=None, std=None, zero_outside=False, threads=0): decodes
 * the batch into out (N x H x W x C of the type: 0 uint8, 1 float32, 2
 * float16) with the GIL released. windows: N x 4 float32 (x0, y0, x1, y1,
 * spec/inrf.md "Decoding"); flip: N bools, each a window mirrored (x0 and
 * x1 swapped). */
static PyObject *pack_decode_batch_args(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"indices", "width", "height", "out", "type", "windows", "flip",
                             "mean", "std", "zero_outside", "threads", NULL};
    PyObject *io, *wo, *ho, *out, *windows = Py_None, *flip = Py_None, *mean = Py_None,
                                  *std = Py_None;
    int type = INRF_BATCH_F32, zero_outside = 0, threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOO|iOOOOpi", kwlist, &io, &wo, &ho, &out, &type,
                                     &windows, &flip, &mean, &std, &zero_outside, &threads))
        return NULL;
    const PackObject *p = pack_of(self);
    inrf_batch_options opt;
    inrf_batch_options_init(&opt);
    if (get_u32(wo, "width", 1, 65536, &opt.width) < 0 ||
        get_u32(ho, "height", 1, 65536, &opt.height) < 0)
        return NULL;
    static const char *const formats[3] = {"B", "f", "e"};
    static const size_t itemsizes[3] = {1, 4, 2};
    unsigned channels = inrf_pack_channels(p->pack);
    if (inrfpy_batch_options(type, mean, std, channels, threads, zero_outside, &opt) < 0)
        return NULL;

    size_t n = 0;
    uint32_t *idx = inrfpy_indices(io, inrf_pack_count(p->pack), p->cpath, &n);
    if (idx == NULL)
        return NULL;
    float *win = NULL;
    Py_buffer ov = {0};
    PyObject *r = NULL;
    /* bytes of the batch: each factor is bounded, the product checked */
    uint64_t per = (uint64_t)opt.width * opt.height * channels * itemsizes[type];
    if (n > 0 && per > (uint64_t)PY_SSIZE_T_MAX / n) {
        inrfpy_fail(INRF_E_LIMIT, "a batch of %zu %ux%u samples does not fit in memory", n,
                    opt.width, opt.height);
        goto done;
    }
    if (inrfpy_windows(windows, flip, n, &win) < 0)
        goto done;
    Py_ssize_t dims[4] = {(Py_ssize_t)n, opt.height, opt.width, channels};
    if (out_shaped(out, &ov, formats[type], itemsizes[type], 4, dims, "out") < 0)
        goto done;
    if (n > 0) {
        inrf_status st;
        Py_BEGIN_ALLOW_THREADS
        st = inrf_pack_decode_batch(p->pack, idx, n, win, &opt, ov.buf);
        Py_END_ALLOW_THREADS
        if (st != INRF_OK) {
            inrfpy_raise(st, p->cpath);
            goto done;
        }
    }
    r = Py_NewRef(Py_None);
done:
    if (ov.obj) PyBuffer_Release(&ov);
    free(win);
    free(idx);
    return r;
}

/* Every error names the pack. */
static PyObject *pack_decode_batch(PyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *r = pack_decode_batch_args(self, args, kw);
    return r != NULL ? r : in_context(pack_of(self)->cpath);
}

static PyGetSetDef pack_getset[] = {
    {"path", pack_get_path, NULL, "the pack's path", NULL},
    {"channels", pack_get_channels, NULL, "channels of every image (1 or 3)", NULL},
    {"classes", pack_get_classes, NULL, "class names (list of str)", NULL},
    {"nbytes", pack_get_nbytes, NULL, "bytes of the file", NULL},
    {"_archs_json", pack_get_archs, NULL, "the architectures (inrf_arch_info JSON)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef pack_methods[] = {
    {"_items", pack_items, METH_VARARGS, "fill the index columns"},
    {"item", pack_item, METH_O, "the index entry of image i (dict)"},
    {"verify", pack_verify, METH_NOARGS, "check every record; raise inrf.Error on a bad one"},
    {"_decode_batch", (PyCFunction)(void (*)(void))pack_decode_batch,
     METH_VARARGS | METH_KEYWORDS, "decode a batch into a buffer"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot pack_slots[] = {
    {Py_tp_doc, "An open .inrpack (memory-mapped, verified)."},
    {Py_tp_new, pack_new},
    {Py_tp_dealloc, pack_dealloc},
    {Py_tp_getset, pack_getset},
    {Py_tp_methods, pack_methods},
    {Py_sq_length, pack_len},
    {0, NULL},
};

static PyType_Spec pack_spec = {
    "inrf._inrf.Pack", sizeof(PackObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    pack_slots,
};

/* ----------------------------------------------------------------- module */

static PyObject *mod_decode_kernel(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    return PyUnicode_FromString(inrf_decode_kernel_name());
}

/* read(src) and encode(src, dst=None, ...): Image._read and
 * Image._encode of the base type, for callers of the module alone. */
static PyObject *mod_read(PyObject *m, PyObject *src)
{
    (void)m;
    if (!PyUnicode_Check(src) && PyObject_CheckBuffer(src))
        return image_from_bytes(image_type, src);
    return image_read(image_type, src);
}
static PyObject *mod_encode(PyObject *m, PyObject *args, PyObject *kw)
{
    (void)m;
    return image_encode(image_type, args, kw);
}

static PyMethodDef module_methods[] = {
    {"read", mod_read, METH_O, "read(src) -> Image: an .inrf path, or the file's bytes"},
    {"encode", (PyCFunction)(void (*)(void))mod_encode, METH_VARARGS | METH_KEYWORDS,
     "encode(src, dst=None, **options) -> (Image, stats): src a path or a uint8 array"},
    {"decode_kernel", mod_decode_kernel, METH_NOARGS,
     "the CPU decode kernel chosen for this machine (avx512, avx2, generic)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "inrf._inrf",
    "libinrf's images and packs (the C core of the inrf package).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__inrf(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    if (inrfpy_Error == NULL) {
        PyObject *dict = Py_BuildValue("{s:O,s:O}", "status", Py_None, "name", Py_None);
        if (dict == NULL)
            goto fail;
        inrfpy_Error = PyErr_NewExceptionWithDoc(
            "inrf.Error",
            "A libinrf failure: .status is the inrf_status code (int), .name its enum name "
            "(\"INRF_E_CHECKSUM\"), str() the library's message naming the file and field.",
            NULL, dict);
        Py_DECREF(dict);
        if (inrfpy_Error == NULL)
            goto fail;
    }
    if (image_type == NULL && (image_type = PyType_FromSpec(&image_spec)) == NULL)
        goto fail;
    if (pack_type == NULL && (pack_type = PyType_FromSpec(&pack_spec)) == NULL)
        goto fail;
    if (PyModule_AddObjectRef(m, "Error", inrfpy_Error) < 0 ||
        PyModule_AddObjectRef(m, "Image", image_type) < 0 ||
        PyModule_AddObjectRef(m, "Pack", pack_type) < 0 ||
        PyModule_AddStringConstant(m, "version", inrf_version_string()) < 0 ||
        PyModule_AddIntConstant(m, "BATCH_U8", INRF_BATCH_U8) < 0 ||
        PyModule_AddIntConstant(m, "BATCH_F32", INRF_BATCH_F32) < 0 ||
        PyModule_AddIntConstant(m, "BATCH_F16", 2) < 0)
        goto fail;
    if (inrfpy_cuda_add(m) < 0 || inrfpy_loader_add(m) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
