/* SPDX-License-Identifier: MIT */
/*
 * zbclient.Writer.
 *
 * acquire() reserves a frame in the ring and returns a writable memoryview of
 * it; commit() publishes it. The memoryview's exporter is a small private
 * object (_AcquiredFrame) that counts its exports like mmap does: commit()
 * and close() release the memoryview acquire() returned and refuse, with
 * BufferError, while anything else still views the frame (a numpy array made
 * from the memoryview, a slice of it), since the reader owns those bytes
 * once the frame is published. The exporter holds the writer (so the mapping
 * outlives every view); the writer keeps only a borrowed pointer to it and a
 * weak reference to the memoryview, so no reference cycle forms.
 */
#include "zbpy.h"

#include <errno.h>
#include <string.h>

typedef struct SlotObject SlotObject;

typedef struct {
    PyObject_HEAD
    struct zb_writer *w; /* NULL once closed */
    PyObject *name;
    PyThread_type_lock lock; /* serialises the library calls on w */
    int acquired;            /* the library holds an acquired frame */
    int attached;            /* recorded by zbpy_attach() */
    size_t acq_size;
    /* Borrowed: the exporter of the acquired frame's view, or NULL. */
    SlotObject *slot;
    /* A weak reference to the memoryview acquire() returned, or NULL. */
    PyObject *view_ref;
    PyObject *weakreflist;
} WriterObject;

struct SlotObject {
    PyObject_HEAD
    WriterObject *writer; /* strong */
    char *data;           /* NULL once committed or dropped */
    Py_ssize_t size;
    Py_ssize_t exports;
};

/* Frames from this size up are copied with the GIL released. */
#define COPY_WITHOUT_GIL 65536

static PyObject *
err_closed(WriterObject *self)
{
    PyErr_Format(PyExc_ValueError, "%U: writer is closed", self->name);
    return NULL;
}

/* --------------------------------------------------------- _AcquiredFrame */

static void
slot_dealloc(SlotObject *self)
{
    if (self->writer->slot == self) {
        self->writer->slot = NULL;
    }
    Py_DECREF(self->writer);
    PyObject_Free(self);
}

static int
slot_getbuffer(SlotObject *self, Py_buffer *view, int flags)
{
    if (self->data == NULL) {
        PyErr_Format(PyExc_ValueError,
                     "%U: the acquired frame was committed or dropped",
                     self->writer->name);
        return -1;
    }
    if (PyBuffer_FillInfo(view, (PyObject *)self, self->data, self->size, 0,
                          flags) < 0) {
        return -1;
    }
    self->exports++;
    return 0;
}

static void
slot_releasebuffer(SlotObject *self, Py_buffer *view)
{
    self->exports--;
}

static PyBufferProcs slot_as_buffer = {
    .bf_getbuffer = (getbufferproc)slot_getbuffer,
    .bf_releasebuffer = (releasebufferproc)slot_releasebuffer,
};

/* clang-format off: PyVarObject_HEAD_INIT takes no comma */
static PyTypeObject ZbpySlot_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zbclient._AcquiredFrame",
    .tp_basicsize = sizeof(SlotObject),
    .tp_dealloc = (destructor)slot_dealloc,
    .tp_as_buffer = &slot_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "The exporter of the memoryview Writer.acquire() returns.",
};
/* clang-format on */

/*
 * Before the acquired frame is published or dropped: release the memoryview
 * acquire() returned, then make sure nothing else views the frame. Returns 0
 * (and the slot exports nothing more), or -1 with BufferError; the frame
 * stays acquired then, and a later commit() or close() can try again.
 */
static int
withdraw_views(WriterObject *self, const char *what)
{
    if (self->view_ref != NULL) {
        PyObject *view = PyWeakref_GetObject(self->view_ref);

        if (view == NULL) {
            return -1;
        }
        if (view != Py_None) {
            PyObject *r;

            Py_INCREF(view);
            r = PyObject_CallMethod(view, "release", NULL);
            Py_DECREF(view);
            if (r == NULL) {
                if (PyErr_ExceptionMatches(PyExc_BufferError)) {
                    PyErr_Clear();
                    goto exported;
                }
                return -1;
            }
            Py_DECREF(r);
        }
        Py_CLEAR(self->view_ref);
    }
    if (self->slot != NULL && self->slot->exports > 0) {
        goto exported;
    }
    if (self->slot != NULL) {
        self->slot->data = NULL;
        self->slot = NULL;
    }
    return 0;

exported:
    PyErr_Format(
        PyExc_BufferError,
        "%U: cannot %s while a view of the acquired frame is exported "
        "(delete the arrays and slices made from it first)",
        self->name, what);
    return -1;
}

/* ----------------------------------------------------------------- Writer */

static void
writer_dealloc(WriterObject *self)
{
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    /* No acquired-frame exporter is left: each holds a reference to us. */
    Py_CLEAR(self->view_ref);
    if (self->w != NULL) {
        struct zb_writer *w = self->w;

        self->w = NULL;
        zb_writer_close(w);
    }
    if (self->attached) {
        zbpy_detach(1, self->name);
    }
    if (self->lock != NULL) {
        PyThread_free_lock(self->lock);
    }
    Py_XDECREF(self->name);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(
    writer_open_doc,
    "open(name)\n"
    "--\n\n"
    "Attach as the writer of an existing buffer, created by zbd or by a\n"
    "reader of any ZeroBuffer implementation. Raises NotFound, Busy (a\n"
    "live writer is attached), VersionMismatch or Corrupt.");

static PyObject *
writer_open(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", NULL};
    WriterObject *self;
    struct zb_writer *w;
    const char *cname;
    Py_ssize_t len;
    PyObject *name;
    int err;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U:open", kwlist, &name)) {
        return NULL;
    }
    cname = PyUnicode_AsUTF8AndSize(name, &len);
    if (cname == NULL) {
        return NULL;
    }
    if ((size_t)len != strlen(cname)) {
        return zbpy_raise(-EINVAL, name, "embedded NUL character");
    }
    self = (WriterObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->name = Py_NewRef(name);
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    if (zbpy_attach(1, name) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->attached = 1;
    Py_BEGIN_ALLOW_THREADS
    err = zb_writer_open(&w, cname);
    Py_END_ALLOW_THREADS
    if (err < 0) {
        Py_DECREF(self);
        return zbpy_raise(err, name, NULL);
    }
    self->w = w;
    return (PyObject *)self;
}

static PyObject *
writer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_SetString(PyExc_TypeError, "use zbclient.Writer.open(name)");
    return NULL;
}

/* Take the handle lock for a quick call; -1 (exception set) if closed. */
static int
writer_lock(WriterObject *self)
{
    if (self->w == NULL) {
        err_closed(self);
        return -1;
    }
    if (zbpy_lock(self->lock) < 0) {
        return -1;
    }
    if (self->w == NULL) {
        PyThread_release_lock(self->lock);
        err_closed(self);
        return -1;
    }
    return 0;
}

static int
parse_size_timeout(const char *fname, PyObject *args, PyObject *kwds,
                   char *const *kwlist, Py_ssize_t *size, PyObject **timeout)
{
    char fmt[32];

    PyOS_snprintf(fmt, sizeof(fmt), "n|O:%s", fname);
    return PyArg_ParseTupleAndKeywords(args, kwds, fmt, (char **)kwlist, size,
                                       timeout);
}

PyDoc_STRVAR(
    writer_write_doc,
    "write(data, timeout=None)\n"
    "--\n\n"
    "Copy one frame (any contiguous bytes-like object, e.g. bytes,\n"
    "bytearray, memoryview or a C-contiguous numpy array) into the ring,\n"
    "waiting up to `timeout` seconds for space (None: forever). The GIL\n"
    "is released while waiting and while copying large frames.\n\n"
    "Raises BufferFull when the ring stayed full, ReaderGone when the\n"
    "reader left, TooLarge when the frame can never fit, InvalidArgument\n"
    "for an empty frame or while a frame is acquired.");

static PyObject *
writer_write(WriterObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "timeout", NULL};
    PyObject *data, *timeout = Py_None;
    int64_t deadline;
    int poll_only, err = -ENOBUFS, closed = 0, tried = 0;
    Py_buffer buf;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:write", kwlist, &data,
                                     &timeout)) {
        return NULL;
    }
    if (self->w == NULL) {
        return err_closed(self);
    }
    if (self->acquired) {
        return zbpy_raise(-EINVAL, self->name,
                          "a frame is acquired: commit() it first");
    }
    if (zbpy_deadline_init(timeout, &deadline, &poll_only) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    /* Small frames: one try with the GIL held, no system call when there
     * is room. Large ones are copied with the GIL released. */
    if (buf.len < COPY_WITHOUT_GIL) {
        if (writer_lock(self) < 0) {
            goto fail;
        }
        err = zb_writer_write(self->w, buf.buf, (size_t)buf.len, 0);
        PyThread_release_lock(self->lock);
        tried = 1;
    }
    while (err == -ENOBUFS) {
        int slice = poll_only ? 0 : zbpy_slice_ms(deadline);

        if (slice == 0 && tried) {
            break;
        }
        tried = 1;
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (self->w == NULL) {
            closed = 1;
        }
        else {
            err = zb_writer_write(self->w, buf.buf, (size_t)buf.len, slice);
        }
        PyThread_release_lock(self->lock);
        Py_END_ALLOW_THREADS
        if (closed) {
            err_closed(self);
            goto fail;
        }
        if (err == -ENOBUFS && PyErr_CheckSignals() < 0) {
            goto fail;
        }
    }
    PyBuffer_Release(&buf);
    if (err < 0) {
        return zbpy_raise(err, self->name, NULL);
    }
    Py_RETURN_NONE;

fail:
    PyBuffer_Release(&buf);
    return NULL;
}

PyDoc_STRVAR(
    writer_acquire_doc,
    "acquire(size, timeout=None)\n"
    "--\n\n"
    "Zero-copy: reserve a frame of `size` bytes in the ring and return a\n"
    "writable memoryview of it. Fill it (e.g. numpy.frombuffer(view,\n"
    "dtype)), then commit(). Waits up to `timeout` seconds for space, GIL\n"
    "released. Errors as write(); InvalidArgument while a frame is\n"
    "already acquired.");

static PyObject *
writer_acquire(WriterObject *self, PyObject *args, PyObject *kwds)
{
    static char *const kwlist[] = {"size", "timeout", NULL};
    PyObject *timeout = Py_None, *view;
    Py_ssize_t size;
    int64_t deadline;
    int poll_only, err, closed = 0;
    SlotObject *slot;
    void *data;

    if (!parse_size_timeout("acquire", args, kwds, kwlist, &size, &timeout)) {
        return NULL;
    }
    if (self->w == NULL) {
        return err_closed(self);
    }
    if (self->acquired) {
        return zbpy_raise(-EINVAL, self->name,
                          "a frame is already acquired: commit() it first");
    }
    if (size <= 0) {
        return zbpy_raise(-EINVAL, self->name, "a frame has at least 1 byte");
    }
    if (zbpy_deadline_init(timeout, &deadline, &poll_only) < 0) {
        return NULL;
    }
    if (writer_lock(self) < 0) {
        return NULL;
    }
    err = zb_writer_acquire(self->w, (size_t)size, &data, 0);
    PyThread_release_lock(self->lock);
    while (err == -ENOBUFS && !poll_only) {
        int slice = zbpy_slice_ms(deadline);

        if (slice == 0) {
            break;
        }
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (self->w == NULL) {
            closed = 1;
        }
        else {
            err = zb_writer_acquire(self->w, (size_t)size, &data, slice);
        }
        PyThread_release_lock(self->lock);
        Py_END_ALLOW_THREADS
        if (closed) {
            return err_closed(self);
        }
        if (err == -ENOBUFS && PyErr_CheckSignals() < 0) {
            return NULL;
        }
    }
    if (err < 0) {
        return zbpy_raise(err, self->name, NULL);
    }
    self->acquired = 1;
    self->acq_size = (size_t)size;
    slot = PyObject_New(SlotObject, &ZbpySlot_Type);
    if (slot == NULL) {
        return NULL; /* still acquired: commit() or close() handles it */
    }
    slot->writer = (WriterObject *)Py_NewRef(self);
    slot->data = data;
    slot->size = size;
    slot->exports = 0;
    self->slot = slot;
    view = PyMemoryView_FromObject((PyObject *)slot);
    Py_DECREF(slot); /* the view holds it now */
    if (view == NULL) {
        return NULL;
    }
    self->view_ref = PyWeakref_NewRef(view, NULL);
    if (self->view_ref == NULL) {
        Py_DECREF(view);
        return NULL;
    }
    return view;
}

PyDoc_STRVAR(
    writer_commit_doc,
    "commit(size=None)\n"
    "--\n\n"
    "Publish the acquired frame with its final size (default: the size\n"
    "acquired; 0 < size <= acquired). The memoryview acquire() returned\n"
    "is released. Raises BufferError, and publishes nothing, while an\n"
    "array or slice made from that memoryview is alive; InvalidArgument\n"
    "when no frame is acquired.");

static PyObject *
writer_commit(WriterObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"size", NULL};
    PyObject *size_obj = Py_None;
    size_t size;
    int err;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:commit", kwlist,
                                     &size_obj)) {
        return NULL;
    }
    if (self->w == NULL) {
        return err_closed(self);
    }
    if (!self->acquired) {
        return zbpy_raise(-EINVAL, self->name, "no frame is acquired");
    }
    if (size_obj == Py_None) {
        size = self->acq_size;
    }
    else {
        Py_ssize_t n = PyNumber_AsSsize_t(size_obj, PyExc_OverflowError);

        if (n == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (n <= 0 || (size_t)n > self->acq_size) {
            return zbpy_raise(-EINVAL, self->name,
                              "commit size must be 1 to the size acquired");
        }
        size = (size_t)n;
    }
    if (withdraw_views(self, "commit") < 0) {
        return NULL;
    }
    if (writer_lock(self) < 0) {
        return NULL;
    }
    err = zb_writer_commit(self->w, size);
    PyThread_release_lock(self->lock);
    if (err < 0) {
        return zbpy_raise(err, self->name, NULL);
    }
    self->acquired = 0;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    writer_set_metadata_doc,
    "set_metadata(data)\n"
    "--\n\n"
    "Set the buffer's metadata (bytes-like), once. Raises\n"
    "MetadataAlreadySet, or TooLarge when it does not fit the metadata\n"
    "block.");

static PyObject *
writer_set_metadata(WriterObject *self, PyObject *data)
{
    Py_buffer buf;
    int err;

    if (PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (writer_lock(self) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    err = zb_writer_set_metadata(self->w, buf.buf, (size_t)buf.len);
    PyThread_release_lock(self->lock);
    PyBuffer_Release(&buf);
    if (err < 0) {
        return zbpy_raise(err, self->name, "metadata");
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    writer_set_spin_doc,
    "set_spin(microseconds)\n"
    "--\n\n"
    "How long a writer short of space watches the ring before it sleeps;\n"
    "0 sleeps at once, SPIN_FOREVER never sleeps (a busy poll that keeps a\n"
    "CPU at 100 %% while it waits). Default DEFAULT_SPIN_US (20).");

static PyObject *
writer_set_spin(WriterObject *self, PyObject *arg)
{
    unsigned long us = PyLong_AsUnsignedLong(arg);

    if (us == (unsigned long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    if (us > 10 * 1000 * 1000 && us != ZB_SPIN_FOREVER) {
        PyErr_SetString(PyExc_ValueError, "spin is at most 10 s, or SPIN_FOREVER");
        return NULL;
    }
    if (writer_lock(self) < 0) {
        return NULL;
    }
    (void)zb_writer_set_spin(self->w, (unsigned)us);
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    writer_close_doc,
    "close()\n"
    "--\n\n"
    "Detach from the buffer. An acquired, uncommitted frame is dropped\n"
    "(its memoryview released first: BufferError while arrays made from\n"
    "it live). Closing twice does nothing.");

static PyObject *
writer_close(WriterObject *self, PyObject *unused)
{
    struct zb_writer *w;

    if (self->w == NULL) {
        Py_RETURN_NONE;
    }
    if (self->acquired && withdraw_views(self, "close the writer") < 0) {
        return NULL;
    }
    if (zbpy_lock(self->lock) < 0) {
        return NULL;
    }
    w = self->w;
    self->w = NULL;
    self->acquired = 0;
    PyThread_release_lock(self->lock);
    if (w != NULL) {
        Py_BEGIN_ALLOW_THREADS
        zb_writer_close(w);
        Py_END_ALLOW_THREADS
    }
    zbpy_detach(1, self->name);
    self->attached = 0;
    Py_RETURN_NONE;
}

static PyObject *
writer_enter(WriterObject *self, PyObject *unused)
{
    if (self->w == NULL) {
        return err_closed(self);
    }
    return Py_NewRef(self);
}

static PyObject *
writer_exit(WriterObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return writer_close(self, NULL);
}

static PyObject *
writer_get_reader_connected(WriterObject *self, void *closure)
{
    int r;

    if (writer_lock(self) < 0) {
        return NULL;
    }
    r = zb_writer_reader_connected(self->w);
    PyThread_release_lock(self->lock);
    if (r < 0) {
        return zbpy_raise(r, self->name, NULL);
    }
    return PyBool_FromLong(r);
}

static PyObject *
writer_get_stats(WriterObject *self, void *closure)
{
    struct zb_stats st;
    int r;

    if (writer_lock(self) < 0) {
        return NULL;
    }
    r = zb_writer_stats(self->w, &st);
    PyThread_release_lock(self->lock);
    if (r < 0) {
        return zbpy_raise(r, self->name, NULL);
    }
    return zbpy_stats_new(&st);
}

static PyObject *
writer_get_name(WriterObject *self, void *closure)
{
    return Py_NewRef(self->name);
}

static PyObject *
writer_get_closed(WriterObject *self, void *closure)
{
    return PyBool_FromLong(self->w == NULL);
}

static PyObject *
writer_get_acquired(WriterObject *self, void *closure)
{
    return PyBool_FromLong(self->acquired);
}

static PyObject *
writer_repr(WriterObject *self)
{
    return PyUnicode_FromFormat("<zbclient.Writer %R%s>", self->name,
                                self->w ? "" : " closed");
}

static PyMethodDef writer_methods[] = {
    {"open", (PyCFunction)(void (*)(void))writer_open,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, writer_open_doc},
    {"write", (PyCFunction)(void (*)(void))writer_write,
     METH_VARARGS | METH_KEYWORDS, writer_write_doc},
    {"acquire", (PyCFunction)(void (*)(void))writer_acquire,
     METH_VARARGS | METH_KEYWORDS, writer_acquire_doc},
    {"commit", (PyCFunction)(void (*)(void))writer_commit,
     METH_VARARGS | METH_KEYWORDS, writer_commit_doc},
    {"set_metadata", (PyCFunction)writer_set_metadata, METH_O,
     writer_set_metadata_doc},
    {"set_spin", (PyCFunction)writer_set_spin, METH_O, writer_set_spin_doc},
    {"close", (PyCFunction)writer_close, METH_NOARGS, writer_close_doc},
    {"__enter__", (PyCFunction)writer_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))writer_exit, METH_FASTCALL,
     "close() the writer."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef writer_getset[] = {
    {"name", (getter)writer_get_name, NULL, "The buffer's name.", NULL},
    {"closed", (getter)writer_get_closed, NULL, "True once close() ran.",
     NULL},
    {"acquired", (getter)writer_get_acquired, NULL,
     "True between acquire() and commit().", NULL},
    {"reader_connected", (getter)writer_get_reader_connected, NULL,
     "True if a live reader is attached.", NULL},
    {"stats", (getter)writer_get_stats, NULL,
     "Stats(frames, bytes) this writer wrote since it opened.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(
    writer_doc,
    "The writer of one buffer: Writer.open(name).\n\n"
    "write() copies a frame in; acquire() and commit() fill the ring in\n"
    "place. A writer may be shared between threads (calls are\n"
    "serialised); close() it, or use it as a context manager.");

/* clang-format off: PyVarObject_HEAD_INIT takes no comma */
PyTypeObject ZbpyWriter_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zbclient.Writer",
    .tp_basicsize = sizeof(WriterObject),
    .tp_dealloc = (destructor)writer_dealloc,
    .tp_repr = (reprfunc)writer_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = writer_doc,
    .tp_weaklistoffset = offsetof(WriterObject, weakreflist),
    .tp_methods = writer_methods,
    .tp_getset = writer_getset,
    .tp_new = writer_new,
};
/* clang-format on */

int
zbpy_writer_init_types(PyObject *module)
{
    if (PyType_Ready(&ZbpySlot_Type) < 0 ||
        PyType_Ready(&ZbpyWriter_Type) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "Writer",
                                 (PyObject *)&ZbpyWriter_Type);
}
