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
#include "handle.h"

#include <errno.h>

typedef struct SlotObject SlotObject;

typedef struct {
    ZbpyHandle h; /* h.lib is the struct zb_writer * */
    int acquired; /* the library holds an acquired frame */
    size_t acq_size;
    /* Borrowed: the exporter of the acquired frame's view, or NULL. */
    SlotObject *slot;
    /* A weak reference to the memoryview acquire() returned, or NULL. */
    PyObject *view_ref;
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
                     self->writer->h.name);
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
        self->h.name, what);
    return -1;
}

/* ----------------------------------------------------------------- Writer */

static PyObject *writer_close(ZbpyHandle *h, PyObject *unused);

static const struct zbpy_handle_kind writer_kind = {
    .what = "writer",
    .writer = 1,
    .unlock = NULL,
    .close = writer_close,
};

static void
writer_dealloc(WriterObject *self)
{
    /* No acquired-frame exporter is left: each holds a reference to us. */
    Py_CLEAR(self->view_ref);
    zbpy_handle_dealloc(&self->h);
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
    ZbpyHandle *self;
    PyObject *name;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U:open", kwlist, &name)) {
        return NULL;
    }
    self = zbpy_handle_new(type, &writer_kind, name);
    if (self == NULL) {
        return NULL;
    }
    return zbpy_handle_open(self, NULL);
}

static PyObject *
writer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_SetString(PyExc_TypeError, "use zbclient.Writer.open(name)");
    return NULL;
}

/* The checks write() and acquire() start with. */
static int
writer_may_start(WriterObject *self, const char *already)
{
    if (self->h.lib == NULL) {
        zbpy_handle_closed_error(&self->h);
        return -1;
    }
    if (self->acquired) {
        zbpy_raise(-EINVAL, self->h.name, already);
        return -1;
    }
    return 0;
}

static int
write_attempt(ZbpyHandle *h, void *buf, int timeout_ms)
{
    const Py_buffer *b = buf;

    return zb_writer_write(h->lib, b->buf, (size_t)b->len, timeout_ms);
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
    "reader left, Destroyed once the buffer was removed, TooLarge when the\n"
    "frame can never fit, InvalidArgument for an empty frame or while a\n"
    "frame is acquired.");

static PyObject *
writer_write(WriterObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "timeout", NULL};
    PyObject *data, *timeout = Py_None;
    struct zbpy_deadline deadline;
    Py_buffer buf;
    int err;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:write", kwlist, &data,
                                     &timeout)) {
        return NULL;
    }
    if (writer_may_start(self, "a frame is acquired: commit() it first") < 0 ||
        zbpy_deadline_init(timeout, &deadline) < 0 ||
        PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    /* Small frames: one try with the GIL held, no system call when there
     * is room. Large ones are copied with the GIL released. */
    err = zbpy_handle_wait(&self->h, &deadline, buf.len < COPY_WITHOUT_GIL,
                           write_attempt, &buf);
    PyBuffer_Release(&buf);
    if (err < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

struct acquire_args {
    size_t size;
    void *data;
};

static int
acquire_attempt(ZbpyHandle *h, void *arg, int timeout_ms)
{
    struct acquire_args *a = arg;

    return zb_writer_acquire(h->lib, a->size, &a->data, timeout_ms);
}

/* The exporter of the memoryview acquire() returns, for the frame the
 * library just acquired. */
static PyObject *
acquired_view(WriterObject *self, void *data, Py_ssize_t size)
{
    SlotObject *slot;
    PyObject *view;

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
    static char *kwlist[] = {"size", "timeout", NULL};
    PyObject *timeout = Py_None;
    struct zbpy_deadline deadline;
    struct acquire_args a = {0};
    Py_ssize_t size;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n|O:acquire", kwlist, &size,
                                     &timeout)) {
        return NULL;
    }
    if (writer_may_start(
            self, "a frame is already acquired: commit() it first") < 0) {
        return NULL;
    }
    if (size <= 0) {
        return zbpy_raise(-EINVAL, self->h.name,
                          "a frame has at least 1 byte");
    }
    a.size = (size_t)size;
    if (zbpy_deadline_init(timeout, &deadline) < 0 ||
        zbpy_handle_wait(&self->h, &deadline, 1, acquire_attempt, &a) < 0) {
        return NULL;
    }
    return acquired_view(self, a.data, size);
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
    if (self->h.lib == NULL) {
        return zbpy_handle_closed_error(&self->h);
    }
    if (!self->acquired) {
        return zbpy_raise(-EINVAL, self->h.name, "no frame is acquired");
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
            return zbpy_raise(-EINVAL, self->h.name,
                              "commit size must be 1 to the size acquired");
        }
        size = (size_t)n;
    }
    if (withdraw_views(self, "commit") < 0 || zbpy_handle_lock(&self->h) < 0) {
        return NULL;
    }
    err = zb_writer_commit(self->h.lib, size);
    zbpy_handle_unlock(&self->h);
    if (err < 0) {
        return zbpy_raise(err, self->h.name, NULL);
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
    if (zbpy_handle_lock(&self->h) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    err = zb_writer_set_metadata(self->h.lib, buf.buf, (size_t)buf.len);
    zbpy_handle_unlock(&self->h);
    PyBuffer_Release(&buf);
    if (err < 0) {
        return zbpy_raise(err, self->h.name, "metadata");
    }
    Py_RETURN_NONE;
}

/* zbpy_handle_close()'s `closing`: the acquired frame goes with the
 * library handle. */
static int
writer_closing(ZbpyHandle *h)
{
    ((WriterObject *)h)->acquired = 0;
    return 0;
}

PyDoc_STRVAR(
    writer_close_doc,
    "close()\n"
    "--\n\n"
    "Detach from the buffer. An acquired, uncommitted frame is dropped\n"
    "(its memoryview released first: BufferError while arrays made from\n"
    "it live). Closing twice does nothing.");

static PyObject *
writer_close(ZbpyHandle *h, PyObject *unused)
{
    WriterObject *self = (WriterObject *)h;

    if (h->lib != NULL && self->acquired &&
        withdraw_views(self, "close the writer") < 0) {
        return NULL;
    }
    return zbpy_handle_close(h, writer_closing);
}

static PyObject *
writer_get_acquired(WriterObject *self, void *closure)
{
    return PyBool_FromLong(self->acquired);
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
    {"close", (PyCFunction)writer_close, METH_NOARGS, writer_close_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef writer_getset[] = {
    {"acquired", (getter)writer_get_acquired, NULL,
     "True between acquire() and commit().", NULL},
    {"reader_connected", (getter)zbpy_handle_get_peer_connected, NULL,
     "True if a live reader is attached.", NULL},
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
    .tp_base = &ZbpyHandle_Type,
    .tp_basicsize = sizeof(WriterObject),
    .tp_dealloc = (destructor)writer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = writer_doc,
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
