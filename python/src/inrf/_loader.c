/* _loader.c: the epoch loop in C for inrf.torch: the Sampler type over
 * libinrf's inrf_sampler, whose fill() draws a batch and decodes it straight
 * into a caller's buffer (CPU) or CUDA array, one C call a batch. */
#include "_loader.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ arguments shared with _cuda.c */

static const inrfpy_dtype dtypes[] = {
    {INRF_BATCH_U8, "B", "|u1", 1},
    {INRF_BATCH_F32, "f", "<f4", 4},
    {INRF_BATCH_F16, "e", "<f2", 2},
};
static const char *const dtype_names[] = {"uint8", "float32", "float16"};

int inrfpy_parse_dtype(PyObject *dtype, inrfpy_dtype *out)
{
    if (dtype == Py_None) {
        *out = dtypes[1];
        return 0;
    }
    PyObject *s = PyObject_Str(dtype);
    const char *name = s ? PyUnicode_AsUTF8AndSize(s, NULL) : NULL;
    if (!name) {
        Py_XDECREF(s);
        return -1;
    }
    /* "float16", "torch.float16", numpy's "float16"; "half" and "float"
     * are torch's other names. */
    const char *dot = strrchr(name, '.');
    const char *base = dot ? dot + 1 : name;
    int found = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(base, dtype_names[i]) == 0) found = i;
    if (strcmp(base, "half") == 0) found = 2;
    if (strcmp(base, "float") == 0 && dot) found = 1;
    if (found < 0)
        inrfpy_fail(INRF_E_INVALID_ARG, "dtype %s: the batch decoder writes uint8, float32 or float16",
                     name);
    else *out = dtypes[found];
    Py_DECREF(s);
    return found < 0 ? -1 : 0;
}

int inrfpy_parse_size(PyObject *size, uint32_t *width, uint32_t *height)
{
    long w, h;
    if (PyLong_Check(size)) {
        w = h = PyLong_AsLong(size);
    } else if (PyTuple_Check(size) || PyList_Check(size)) {
        if (PySequence_Size(size) != 2) {
            inrfpy_fail(INRF_E_INVALID_ARG, "size: an int or a (width, height) pair");
            return -1;
        }
        PyObject *a = PySequence_GetItem(size, 0), *b = PySequence_GetItem(size, 1);
        w = a ? PyLong_AsLong(a) : -1;
        h = b ? PyLong_AsLong(b) : -1;
        Py_XDECREF(a);
        Py_XDECREF(b);
    } else {
        inrfpy_fail(INRF_E_INVALID_ARG, "size: an int or a (width, height) pair");
        return -1;
    }
    if (PyErr_Occurred()) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "size: an int or a (width, height) pair of ints");
        return -1;
    }
    if (w < 1 || h < 1 || w > 65536 || h > 65536) {
        inrfpy_fail(INRF_E_INVALID_ARG, "size %ldx%ld: width and height are 1..65536", w, h);
        return -1;
    }
    *width = (uint32_t)w;
    *height = (uint32_t)h;
    return 0;
}

/* ------------------------------------------------------------------ Sampler */

typedef struct sampler_object {
    PyObject_HEAD
    PyObject *pack;       /* the inrf._inrf.Pack sampled */
    inrf_sampler *s;
    uint32_t batch_size;
    int augment;          /* inrf_augment */
    int busy;             /* fill/batch calls running without the GIL */
} sampler_object;

static int parse_augment(PyObject *obj, int *augment)
{
    if (obj == Py_None) {
        *augment = INRF_AUGMENT_NONE;
        return 0;
    }
    if (PyLong_Check(obj)) {
        long v = PyLong_AsLong(obj);
        if (v >= INRF_AUGMENT_NONE && v <= INRF_AUGMENT_RRC_FLIP) {
            *augment = (int)v;
            return 0;
        }
    } else if (PyUnicode_Check(obj)) {
        const char *s = PyUnicode_AsUTF8AndSize(obj, NULL);
        if (!s) return -1;
        if (strcmp(s, "none") == 0) *augment = INRF_AUGMENT_NONE;
        else if (strcmp(s, "crop-flip") == 0) *augment = INRF_AUGMENT_CROP_FLIP;
        else if (strcmp(s, "rrc-flip") == 0) *augment = INRF_AUGMENT_RRC_FLIP;
        else goto bad;
        return 0;
    }
bad:
    PyErr_Clear();
    char r[200];
    inrfpy_fail(INRF_E_INVALID_ARG, "augment %s: None, \"crop-flip\" or \"rrc-flip\"",
                inrfpy_repr(obj, r, sizeof r));
    return -1;
}

/* A (low, high) pair of floats into dst, unless obj is None. */
static int read_pair(PyObject *obj, const char *what, float dst[2])
{
    if (obj == Py_None) return 0;
    double a, b;
    if (!PyArg_ParseTuple(obj, "dd", &a, &b)) {
        PyErr_Clear();
        inrfpy_fail(INRF_E_INVALID_ARG, "%s: a (low, high) pair of numbers", what);
        return -1;
    }
    dst[0] = (float)a;
    dst[1] = (float)b;
    return 0;
}

static PyObject *sampler_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *names[] = {"pack", "batch_size", "shuffle", "drop_last", "rank", "world_size",
                            "augment", "pad", "seed", "scale", "ratio", NULL};
    PyObject *pack_obj, *augment_obj = Py_None, *scale = Py_None, *ratio = Py_None;
    unsigned long long seed = 0;
    unsigned int batch_size = 0, rank = 0, world_size = 1, pad = 0;
    int shuffle = 1, drop_last = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OI|ppIIOIKOO:Sampler", names, &pack_obj,
                                     &batch_size, &shuffle, &drop_last, &rank, &world_size,
                                     &augment_obj, &pad, &seed, &scale, &ratio))
        return NULL;
    const inrf_pack *pack = inrfpy_pack(pack_obj);
    if (!pack) return NULL;
    inrf_sampler_options opt;
    inrf_sampler_options_init(&opt);
    opt.seed = seed;
    opt.batch_size = batch_size;
    opt.shuffle = shuffle;
    opt.drop_last = drop_last;
    opt.rank = rank;
    opt.world_size = world_size;
    opt.pad = pad;
    if (parse_augment(augment_obj, &opt.augment) != 0 || read_pair(scale, "scale", opt.scale) != 0 ||
        read_pair(ratio, "ratio", opt.ratio) != 0)
        return NULL;
    inrf_sampler *s = NULL;
    inrf_status st = inrf_sampler_create_pack(pack, &opt, &s);
    if (st != INRF_OK) return inrfpy_raise(st, "Sampler");
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    sampler_object *self = (sampler_object *)alloc(type, 0);
    if (!self) {
        inrf_sampler_free(s);
        return NULL;
    }
    Py_INCREF(pack_obj);
    self->pack = pack_obj;
    self->s = s;
    self->batch_size = batch_size;
    self->augment = opt.augment;
    return (PyObject *)self;
}

static void sampler_dealloc(PyObject *obj)
{
    sampler_object *self = (sampler_object *)obj;
    PyTypeObject *type = Py_TYPE(obj);
    inrf_sampler_free(self->s);
    Py_XDECREF(self->pack);
    freefunc free_fn = (freefunc)PyType_GetSlot(type, Py_tp_free);
    free_fn(obj);
    Py_DECREF(type);
}

static PyObject *sampler_set_epoch(PyObject *obj, PyObject *arg)
{
    sampler_object *self = (sampler_object *)obj;
    unsigned long long e = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred()) return NULL;
    /* inrf_sampler_batch is safe from several threads between set_epochs
     * only: a fill on another thread must not see the order change. */
    if (self->busy) {
        inrfpy_fail(INRF_E_INVALID_ARG, "set_epoch: batches of this sampler are being drawn on "
                        "another thread");
        return NULL;
    }
    inrf_status st = inrf_sampler_set_epoch(self->s, e);
    if (st != INRF_OK) return inrfpy_raise(st, "set_epoch");
    Py_RETURN_NONE;
}

/* Scratch for one batch's indices and windows. */
typedef struct batch_scratch {
    uint32_t *indices;
    float *windows;
} batch_scratch;

static int scratch_alloc(batch_scratch *b, uint32_t batch_size)
{
    b->indices = malloc((size_t)batch_size * sizeof *b->indices);
    b->windows = malloc((size_t)batch_size * 4 * sizeof *b->windows);
    if (!b->indices || !b->windows) {
        free(b->indices);
        free(b->windows);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void scratch_free(batch_scratch *b)
{
    free(b->indices);
    free(b->windows);
}

static int check_batch(sampler_object *self, unsigned long long b)
{
    uint64_t batches = inrf_sampler_batches(self->s);
    if (b >= batches) {
        inrfpy_fail(INRF_E_INVALID_ARG, "batch %llu: the epoch has %llu batches on this rank", b,
                     (unsigned long long)batches);
        return -1;
    }
    return 0;
}

static PyObject *sampler_batch(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *names[] = {"b", "width", "height", NULL};
    sampler_object *self = (sampler_object *)obj;
    unsigned long long b;
    unsigned int width, height = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "KI|I:batch", names, &b, &width, &height))
        return NULL;
    if (!height) height = width;
    if (check_batch(self, b) != 0) return NULL;
    batch_scratch sc;
    if (scratch_alloc(&sc, self->batch_size) != 0) return NULL;
    size_t n = 0;
    inrf_status st = inrf_sampler_batch(self->s, b, width, height, sc.indices, sc.windows, &n);
    PyObject *ret = NULL;
    if (st != INRF_OK) inrfpy_raise(st, "batch");
    else {
        /* memoryviews of bytes, typed 'I' and 'f' (numpy.frombuffer,
         * torch.frombuffer and list() read them). */
        PyObject *ib = PyBytes_FromStringAndSize((const char *)sc.indices, (Py_ssize_t)(n * 4));
        PyObject *wb = PyBytes_FromStringAndSize((const char *)sc.windows, (Py_ssize_t)(n * 16));
        PyObject *im = ib ? PyMemoryView_FromObject(ib) : NULL;
        PyObject *wm = wb ? PyMemoryView_FromObject(wb) : NULL;
        PyObject *ic = im ? PyObject_CallMethod(im, "cast", "s", "I") : NULL;
        PyObject *wc = wm ? PyObject_CallMethod(wm, "cast", "s", "f") : NULL;
        if (ic && wc) ret = PyTuple_Pack(2, ic, wc);
        Py_XDECREF(ib);
        Py_XDECREF(wb);
        Py_XDECREF(im);
        Py_XDECREF(wm);
        Py_XDECREF(ic);
        Py_XDECREF(wc);
    }
    scratch_free(&sc);
    return ret;
}

/* fill(b, width, height, images_out, labels_out, dtype, mean, std, threads,
 * cuda_pack=None, stream=0) -> n */
static PyObject *sampler_fill(PyObject *obj, PyObject *args, PyObject *kw)
{
    static char *names[] = {"b",    "width",   "height",    "images_out", "labels_out", "dtype",
                            "mean", "std",     "threads",   "cuda_pack",  "stream",     NULL};
    sampler_object *self = (sampler_object *)obj;
    unsigned long long b;
    unsigned int width, height;
    PyObject *images, *labels, *dtype_obj = Py_None, *mean = Py_None, *std = Py_None;
    PyObject *cuda_obj = Py_None, *stream_obj = Py_None;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "KIIOO|OOOiOO:fill", names, &b, &width, &height,
                                     &images, &labels, &dtype_obj, &mean, &std, &threads,
                                     &cuda_obj, &stream_obj))
        return NULL;
    const inrf_pack *pack = inrfpy_pack(self->pack);
    if (!pack) return NULL;
    inrfpy_dtype dt;
    inrf_batch_options opt;
    inrf_batch_options_init(&opt);
    opt.width = width;
    opt.height = height;
    /* A padded random crop's outside is the padding's zeros. */
    if (inrfpy_parse_dtype(dtype_obj, &dt) != 0 ||
        inrfpy_batch_options(dt.type, mean, std, inrf_pack_channels(pack), threads,
                             self->augment == INRF_AUGMENT_CROP_FLIP, &opt) != 0 ||
        check_batch(self, b) != 0)
        return NULL;
    if (width < 1 || height < 1 || width > 65536 || height > 65536) {
        inrfpy_fail(INRF_E_INVALID_ARG, "fill: size %ux%u: width and height are 1..65536", width, height);
        return NULL;
    }
    inrf_cuda_pack *cuda = NULL;
    void *stream = NULL;
    if (cuda_obj != Py_None) {
        if (!(cuda = inrfpy_cuda_pack(cuda_obj))) return NULL;
        if (stream_obj != Py_None) {
            stream = PyLong_AsVoidPtr(stream_obj);
            if (PyErr_Occurred()) return NULL;
        }
    }
    /* This batch's size: batch_size, or what the epoch has left. */
    uint64_t samples = inrf_sampler_samples(self->s);
    uint64_t first = (uint64_t)b * self->batch_size;
    size_t n = (size_t)(samples - first < self->batch_size ? samples - first : self->batch_size);
    size_t channels = inrf_pack_channels(pack);
    size_t sample_bytes = (size_t)width * height * channels * dt.itemsize;
    if (sample_bytes / dt.itemsize / channels / width != height || n > SIZE_MAX / sample_bytes) {
        inrfpy_fail(INRF_E_INVALID_ARG, "fill: the batch's bytes do not fit in memory");
        return NULL;
    }
    Py_buffer img_view = {0}, lab_view;
    void *out = NULL;
    if (cuda) {
        Py_ssize_t shape[4] = {(Py_ssize_t)n, (Py_ssize_t)height, (Py_ssize_t)width,
                               (Py_ssize_t)channels};
        if (inrfpy_cuda_target(images, dt.typestr, shape, &out, "images_out") != 0) return NULL;
    } else {
        if (inrfpy_out_buffer(images, &img_view, n * sample_bytes, dt.format, "images_out") != 0)
            return NULL;
        out = img_view.buf;
    }
    if (inrfpy_out_buffer(labels, &lab_view, n * sizeof(int64_t), "q", "labels_out") != 0) {
        if (!cuda) PyBuffer_Release(&img_view);
        return NULL;
    }
    batch_scratch sc;
    if (scratch_alloc(&sc, self->batch_size) != 0) {
        if (!cuda) PyBuffer_Release(&img_view);
        PyBuffer_Release(&lab_view);
        return NULL;
    }
    size_t got = 0;
    inrf_status st;
    int in_cuda = 0, mismatch = 0;
    self->busy++;
    Py_BEGIN_ALLOW_THREADS
    st = inrf_sampler_batch(self->s, b, width, height, sc.indices, sc.windows, &got);
    mismatch = st == INRF_OK && got != n; /* cannot happen: the same arithmetic */
    if (st == INRF_OK && !mismatch) {
        int64_t *lab = lab_view.buf;
        for (size_t i = 0; i < n; i++) lab[i] = inrf_pack_get(pack, sc.indices[i])->label;
        in_cuda = cuda != NULL;
        st = cuda ? inrfpy_cuda_decode(cuda, sc.indices, n, sc.windows, &opt, out, stream)
                  : inrf_pack_decode_batch(pack, sc.indices, n, sc.windows, &opt, out);
    }
    Py_END_ALLOW_THREADS
    self->busy--;
    scratch_free(&sc);
    if (!cuda) PyBuffer_Release(&img_view);
    PyBuffer_Release(&lab_view);
    if (mismatch)
        return inrfpy_fail(INRF_E_INVALID_ARG, "fill: the sampler gave %zu samples, %zu expected", got,
                            n);
    if (st != INRF_OK) return in_cuda ? inrfpy_cuda_raise(st, "fill") : inrfpy_raise(st, "fill");
    return PyLong_FromSize_t(n);
}

static PyObject *sampler_batch_len(PyObject *obj, PyObject *arg)
{
    sampler_object *self = (sampler_object *)obj;
    unsigned long long b = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred() || check_batch(self, b) != 0) return NULL;
    uint64_t samples = inrf_sampler_samples(self->s), first = (uint64_t)b * self->batch_size;
    return PyLong_FromUnsignedLongLong(samples - first < self->batch_size ? samples - first
                                                                          : self->batch_size);
}

static PyObject *get_u64(uint64_t v)
{
    return PyLong_FromUnsignedLongLong((unsigned long long)v);
}

static PyObject *sampler_get_batches(PyObject *o, void *c)
{
    (void)c;
    return get_u64(inrf_sampler_batches(((sampler_object *)o)->s));
}
static PyObject *sampler_get_samples(PyObject *o, void *c)
{
    (void)c;
    return get_u64(inrf_sampler_samples(((sampler_object *)o)->s));
}
static PyObject *sampler_get_padded(PyObject *o, void *c)
{
    (void)c;
    return get_u64(inrf_sampler_padded(((sampler_object *)o)->s));
}
static PyObject *sampler_get_dropped(PyObject *o, void *c)
{
    (void)c;
    return get_u64(inrf_sampler_dropped(((sampler_object *)o)->s));
}
static PyObject *sampler_get_epoch(PyObject *o, void *c)
{
    (void)c;
    return get_u64(inrf_sampler_epoch(((sampler_object *)o)->s));
}
static PyObject *sampler_get_batch_size(PyObject *o, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(((sampler_object *)o)->batch_size);
}
static PyObject *sampler_get_pack(PyObject *o, void *c)
{
    (void)c;
    PyObject *p = ((sampler_object *)o)->pack;
    Py_INCREF(p);
    return p;
}

static PyMethodDef sampler_methods[] = {
    {"set_epoch", sampler_set_epoch, METH_O, "set_epoch(e): makes epoch e current (its order)."},
    {"batch", (PyCFunction)(void (*)(void))sampler_batch, METH_VARARGS | METH_KEYWORDS,
     "batch(b, width, height=width) -> (indices, windows): batch b of the current epoch on this "
     "rank for an output of width x height: memoryviews of uint32 image indices and of float32 "
     "windows (x0, y0, x1, y1 a sample)."},
    {"batch_len", sampler_batch_len, METH_O, "batch_len(b) -> int: the samples of batch b."},
    {"fill", (PyCFunction)(void (*)(void))sampler_fill, METH_VARARGS | METH_KEYWORDS,
     "fill(b, width, height, images_out, labels_out, dtype='float32', mean=None, std=None, "
     "threads=0, cuda_pack=None, stream=0) -> n\n\n"
     "Draws batch b and decodes it into images_out (a writable C-contiguous N x H x W x C buffer "
     "of dtype; with cuda_pack, an object with __cuda_array_interface__, decoded on stream) and "
     "its labels into labels_out (int64, N), without the GIL. N is batch_len(b)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sampler_getset[] = {
    {"batches", sampler_get_batches, NULL, "batches an epoch on this rank", NULL},
    {"samples", sampler_get_samples, NULL, "samples an epoch on this rank", NULL},
    {"padded", sampler_get_padded, NULL, "samples added by wrapping an epoch, all ranks", NULL},
    {"dropped", sampler_get_dropped, NULL, "images left out an epoch, all ranks", NULL},
    {"epoch", sampler_get_epoch, NULL, "the current epoch", NULL},
    {"batch_size", sampler_get_batch_size, NULL, "samples a full batch", NULL},
    {"pack", sampler_get_pack, NULL, "the pack sampled", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot sampler_slots[] = {
    {Py_tp_new, (void *)sampler_new},
    {Py_tp_dealloc, (void *)sampler_dealloc},
    {Py_tp_methods, sampler_methods},
    {Py_tp_getset, sampler_getset},
    {Py_tp_doc, "Sampler(pack, batch_size, shuffle=True, drop_last=False, rank=0, world_size=1, "
                "augment=None, pad=0, seed=0, scale=None, ratio=None): the order and augmentation "
                "of a training epoch on one rank (inrf/sampler.h); augment None, 'crop-flip' or "
                "'rrc-flip'."},
    {0, NULL},
};

static PyType_Spec sampler_spec = {
    "inrf._inrf.Sampler", sizeof(sampler_object), 0, Py_TPFLAGS_DEFAULT, sampler_slots,
};

int inrfpy_loader_add(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &sampler_spec, NULL);
    if (!type) return -1;
    int rc = PyModule_AddObjectRef(module, "Sampler", type);
    Py_DECREF(type);
    return rc;
}
