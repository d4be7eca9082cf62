/* SPDX-License-Identifier: MIT */
/*
 * zbclient.Reader and zbclient.Frame.
 *
 * A Frame exposes the frame's bytes in the shared ring through the buffer
 * protocol, read-only, without copying. Like the stdlib's mmap, it counts
 * the views it exported and refuses to give its memory away while one is
 * alive: release() (and Reader.close()) raise BufferError instead of letting
 * a memoryview or a numpy array show bytes the writer has since overwritten.
 * A frame released, or whose reader closed, exports nothing more
 * (ValueError). A frame object that dies unreleased is released then: it can
 * only die once no view of it is left, since every view holds a reference.
 *
 * Releases never wait for the handle lock: when another thread holds it
 * (blocked in read(), which holds it for at most one slice), the release is
 * queued and carried out by whichever thread unlocks the handle next.
 */
#include "handle.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

typedef struct {
    ZbpyHandle h;       /* h.lib is the struct zb_reader * */
    Py_ssize_t exports; /* views exported by this reader's frames */
    /* Releases queued while another thread held the handle lock;
     * `pending_mu` guards them and is taken without the GIL. n_pending is
     * also read unlocked. */
    pthread_mutex_t pending_mu;
    struct zb_frame *pending;
    size_t n_pending;
    size_t cap_pending;
} ReaderObject;

typedef struct {
    PyObject_HEAD
    ReaderObject *reader; /* strong: the mapping outlives the frame */
    struct zb_frame f;
    Py_ssize_t exports;
    int released;
} FrameObject;

/* ------------------------------------------------------ queued releases */

/* Carry out queued releases; the handle lock held, GIL not needed. */
static void
drain_pending(ReaderObject *self)
{
    pthread_mutex_lock(&self->pending_mu);
    for (size_t i = 0; i < self->n_pending; i++) {
        if (self->h.lib != NULL) {
            (void)zb_reader_release(self->h.lib, &self->pending[i]);
        }
    }
    __atomic_store_n(&self->n_pending, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&self->pending_mu);
}

/* The reader's kind->unlock: release the handle lock, first carrying out
 * the releases queued meanwhile; a release queued just as we let go is taken
 * care of by retaking the lock (its pusher tried the lock after queueing,
 * and found it ours). */
static void
reader_unlock(ZbpyHandle *h)
{
    ReaderObject *self = (ReaderObject *)h;

    for (;;) {
        if (__atomic_load_n(&self->n_pending, __ATOMIC_SEQ_CST) != 0) {
            drain_pending(self);
        }
        PyThread_release_lock(h->lock);
        if (__atomic_load_n(&self->n_pending, __ATOMIC_SEQ_CST) == 0) {
            return;
        }
        if (!PyThread_acquire_lock(h->lock, NOWAIT_LOCK)) {
            return;
        }
    }
}

static int
push_pending(ReaderObject *self, const struct zb_frame *f)
{
    int ok = 1;

    pthread_mutex_lock(&self->pending_mu);
    if (self->n_pending == self->cap_pending) {
        size_t cap = self->cap_pending ? self->cap_pending * 2 : 16;
        struct zb_frame *p = PyMem_RawRealloc(self->pending, cap * sizeof(*p));

        if (p == NULL) {
            ok = 0;
        }
        else {
            self->pending = p;
            self->cap_pending = cap;
        }
    }
    if (ok) {
        self->pending[self->n_pending] = *f;
        __atomic_store_n(&self->n_pending, self->n_pending + 1,
                         __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&self->pending_mu);
    return ok;
}

/* Give a frame's space back to the ring (GIL held; never fails, never
 * waits for another thread's slice). */
static void
give_back(ReaderObject *self, const struct zb_frame *f)
{
    if (self->h.lib == NULL) {
        return; /* closed: the library took everything back */
    }
    if (PyThread_acquire_lock(self->h.lock, NOWAIT_LOCK)) {
        if (self->h.lib != NULL) {
            (void)zb_reader_release(self->h.lib, f);
        }
        reader_unlock(&self->h);
        return;
    }
    if (push_pending(self, f)) {
        /* The holder may have let go before we queued: then it is ours. */
        if (PyThread_acquire_lock(self->h.lock, NOWAIT_LOCK)) {
            reader_unlock(&self->h);
        }
        return;
    }
    /* Out of memory for the queue: wait for the holder. It never waits for
     * the GIL while it holds the lock, so waiting with the GIL is safe. */
    PyThread_acquire_lock(self->h.lock, WAIT_LOCK);
    if (self->h.lib != NULL) {
        (void)zb_reader_release(self->h.lib, f);
    }
    reader_unlock(&self->h);
}

/* ------------------------------------------------------------------ Frame */

static PyObject *
frame_new_from(ReaderObject *reader, const struct zb_frame *f)
{
    FrameObject *fr = PyObject_New(FrameObject, &ZbpyFrame_Type);

    if (fr == NULL) {
        give_back(reader, f);
        return NULL;
    }
    fr->reader = (ReaderObject *)Py_NewRef(reader);
    fr->f = *f;
    fr->exports = 0;
    fr->released = 0;
    return (PyObject *)fr;
}

static int
frame_live(FrameObject *self)
{
    return !self->released && self->reader->h.lib != NULL;
}

static void
frame_dealloc(FrameObject *self)
{
    if (!self->released) {
        self->released = 1;
        give_back(self->reader, &self->f);
    }
    Py_DECREF(self->reader);
    PyObject_Free(self);
}

static int
frame_getbuffer(FrameObject *self, Py_buffer *view, int flags)
{
    if (!frame_live(self)) {
        PyErr_Format(PyExc_ValueError, "%U: frame %llu was released",
                     self->reader->h.name,
                     (unsigned long long)self->f.sequence);
        return -1;
    }
    if (PyBuffer_FillInfo(view, (PyObject *)self, (void *)self->f.data,
                          (Py_ssize_t)self->f.size, 1, flags) < 0) {
        return -1;
    }
    self->exports++;
    self->reader->exports++;
    return 0;
}

static void
frame_releasebuffer(FrameObject *self, Py_buffer *view)
{
    self->exports--;
    self->reader->exports--;
}

static PyObject *
frame_do_release(FrameObject *self)
{
    if (self->released) {
        Py_RETURN_NONE;
    }
    if (self->exports > 0) {
        PyErr_Format(
            PyExc_BufferError,
            "%U: cannot release frame %llu while %zd view(s) of it are "
            "exported (release the memoryviews and delete the arrays made "
            "from it first)",
            self->reader->h.name, (unsigned long long)self->f.sequence,
            self->exports);
        return NULL;
    }
    self->released = 1;
    give_back(self->reader, &self->f);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    frame_release_doc,
    "release()\n"
    "--\n\n"
    "Give the frame's space back to the writer. Frames may be released in\n"
    "any order (space returns in read order). Releasing twice does\n"
    "nothing.\n\n"
    "Raises BufferError while a memoryview or array made from the frame\n"
    "is alive: the writer would overwrite the bytes it shows. Release\n"
    "those views (memoryview.release(), or del the arrays) first.");

static PyObject *
frame_release(FrameObject *self, PyObject *unused)
{
    return frame_do_release(self);
}

static PyObject *
frame_enter(FrameObject *self, PyObject *unused)
{
    return Py_NewRef(self);
}

static PyObject *
frame_exit(FrameObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return frame_do_release(self);
}

static PyObject *
frame_get_sequence(FrameObject *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->f.sequence);
}

static PyObject *
frame_get_size(FrameObject *self, void *closure)
{
    return PyLong_FromSize_t(self->f.size);
}

static PyObject *
frame_get_released(FrameObject *self, void *closure)
{
    return PyBool_FromLong(!frame_live(self));
}

static PyObject *
frame_get_reader(FrameObject *self, void *closure)
{
    return Py_NewRef(self->reader);
}

static Py_ssize_t
frame_length(FrameObject *self)
{
    return (Py_ssize_t)self->f.size;
}

static PyObject *
frame_repr(FrameObject *self)
{
    return PyUnicode_FromFormat(
        "<zbclient.Frame %U sequence=%llu size=%zu%s>", self->reader->h.name,
        (unsigned long long)self->f.sequence, self->f.size,
        frame_live(self) ? "" : " released");
}

static PyMethodDef frame_methods[] = {
    {"release", (PyCFunction)frame_release, METH_NOARGS, frame_release_doc},
    {"__enter__", (PyCFunction)frame_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))frame_exit, METH_FASTCALL,
     "Release the frame (BufferError while views of it are exported)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef frame_getset[] = {
    {"sequence", (getter)frame_get_sequence, NULL,
     "The frame's sequence number (1 for a writer's first frame).", NULL},
    {"size", (getter)frame_get_size, NULL, "The frame's size in bytes.", NULL},
    {"released", (getter)frame_get_released, NULL,
     "True once the frame was released or its reader closed.", NULL},
    {"reader", (getter)frame_get_reader, NULL,
     "The Reader that read the frame.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyBufferProcs frame_as_buffer = {
    .bf_getbuffer = (getbufferproc)frame_getbuffer,
    .bf_releasebuffer = (releasebufferproc)frame_releasebuffer,
};

static PySequenceMethods frame_as_sequence = {
    .sq_length = (lenfunc)frame_length,
};

PyDoc_STRVAR(
    frame_doc,
    "A frame read from a ring, in place.\n\n"
    "The bytes stay in shared memory: memoryview(frame), bytes(frame) (a\n"
    "copy) and numpy.frombuffer(frame, dtype) (no copy) read them. The\n"
    "views are read-only. Release the frame when done with it (release(),\n"
    "a with block, or dropping the last reference); release() raises\n"
    "BufferError while a view of the frame is alive, so no view ever\n"
    "shows bytes the writer overwrote.\n\n"
    "Frames are made by Reader.read(), never directly.");

/* clang-format off: PyVarObject_HEAD_INIT takes no comma */
PyTypeObject ZbpyFrame_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zbclient.Frame",
    .tp_basicsize = sizeof(FrameObject),
    .tp_dealloc = (destructor)frame_dealloc,
    .tp_repr = (reprfunc)frame_repr,
    .tp_as_sequence = &frame_as_sequence,
    .tp_as_buffer = &frame_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = frame_doc,
    .tp_methods = frame_methods,
    .tp_getset = frame_getset,
};
/* clang-format on */

/* ----------------------------------------------------------------- Reader */

static PyObject *reader_close(ZbpyHandle *h, PyObject *unused);

static const struct zbpy_handle_kind reader_kind = {
    .what = "reader",
    .writer = 0,
    .unlock = reader_unlock,
    .close = reader_close,
};

/* Open or (`create` non-NULL) create buffer `name`. */
static PyObject *
reader_attach(PyTypeObject *type, PyObject *name,
              const struct zb_buffer_config *create)
{
    ReaderObject *self =
        (ReaderObject *)zbpy_handle_new(type, &reader_kind, name);

    if (self == NULL) {
        return NULL;
    }
    pthread_mutex_init(&self->pending_mu, NULL);
    return zbpy_handle_open(&self->h, create);
}

static void
reader_dealloc(ReaderObject *self)
{
    /* No frame is left (each holds a reference), so nothing is exported
     * and nothing is queued. The mutex exists once the lock does. */
    if (self->h.lock != NULL) {
        pthread_mutex_destroy(&self->pending_mu);
    }
    PyMem_RawFree(self->pending);
    zbpy_handle_dealloc(&self->h);
}

PyDoc_STRVAR(
    reader_open_doc,
    "open(name)\n"
    "--\n\n"
    "Attach as the reader of an existing buffer (one that zbd owns, or\n"
    "that another program created). Raises NotFound, Busy (a live reader\n"
    "is attached), VersionMismatch or Corrupt.");

static PyObject *
reader_open(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", NULL};
    PyObject *name;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U:open", kwlist, &name)) {
        return NULL;
    }
    return reader_attach(type, name, NULL);
}

PyDoc_STRVAR(
    reader_create_doc,
    "create(name, *, payload_size=0, metadata_size=0, mode=0o600)\n"
    "--\n\n"
    "Create the buffer and become its reader and owner, with no daemon,\n"
    "as the other ZeroBuffer implementations' readers do. Sizes of 0 pick\n"
    "the protocol defaults (1 MiB payload, 1 KiB metadata); both are\n"
    "rounded up to 64 bytes. `mode` applies to the segment, semaphores\n"
    "and lock file. close() removes the buffer. Raises AlreadyExists if a\n"
    "live owner holds it.");

static PyObject *
reader_create(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "payload_size", "metadata_size", "mode",
                             NULL};
    struct zb_buffer_config cfg = {.mode = 0600};
    PyObject *name;

    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "U|$O&O&O&:create", kwlist, &name, zbpy_size_converter,
            &cfg.payload_size, zbpy_size_converter, &cfg.metadata_size,
            zbpy_mode_converter, &cfg.mode)) {
        return NULL;
    }
    return reader_attach(type, name, &cfg);
}

static PyObject *
reader_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_SetString(
        PyExc_TypeError,
        "use zbclient.Reader.open(name) or zbclient.Reader.create(name, ...)");
    return NULL;
}

static int
read_attempt(ZbpyHandle *h, void *frame, int timeout_ms)
{
    return zb_reader_read(h->lib, frame, timeout_ms);
}

static PyObject *
reader_read_impl(ReaderObject *self, PyObject *timeout)
{
    struct zbpy_deadline deadline;
    struct zb_frame f;

    if (self->h.lib == NULL) {
        return zbpy_handle_closed_error(&self->h);
    }
    if (zbpy_deadline_init(timeout, &deadline) < 0 ||
        zbpy_handle_wait(&self->h, &deadline, 1, read_attempt, &f) < 0) {
        return NULL;
    }
    return frame_new_from(self, &f);
}

PyDoc_STRVAR(
    reader_read_doc,
    "read(timeout=None)\n"
    "--\n\n"
    "The next frame, in place (see Frame). `timeout` is in seconds: None\n"
    "waits forever, 0 polls. The GIL is released while waiting, and\n"
    "Ctrl-C interrupts the wait. Several frames may be held at once.\n\n"
    "Raises Timeout; WriterGone once after the writer left and every\n"
    "frame was read (the next read waits for a new writer); Corrupt for a\n"
    "frame that fails validation; Destroyed once the buffer was removed;\n"
    "ValueError if the reader is (or gets) closed.");

static PyObject *
reader_read(ReaderObject *self, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    PyObject *timeout = Py_None;

    /* Hand-parsed: this is the per-frame call. */
    if (nargs > 1 ||
        (kwnames != NULL && PyTuple_GET_SIZE(kwnames) + nargs > 1)) {
        PyErr_SetString(PyExc_TypeError,
                        "read() takes at most 1 argument (timeout)");
        return NULL;
    }
    if (nargs == 1) {
        timeout = args[0];
    }
    else if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) == 1) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(kwnames, 0)) ||
            PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0),
                                             "timeout") != 0) {
            PyErr_Format(PyExc_TypeError,
                         "read() got an unexpected keyword argument '%S'",
                         PyTuple_GET_ITEM(kwnames, 0));
            return NULL;
        }
        timeout = args[0];
    }
    return reader_read_impl(self, timeout);
}

PyDoc_STRVAR(reader_release_doc,
             "release(frame)\n"
             "--\n\n"
             "frame.release(), for a frame of this reader (InvalidArgument\n"
             "otherwise).");

static PyObject *
reader_release(ReaderObject *self, PyObject *frame)
{
    if (!PyObject_TypeCheck(frame, &ZbpyFrame_Type)) {
        PyErr_Format(PyExc_TypeError,
                     "release() wants a zbclient.Frame, not %.100s",
                     Py_TYPE(frame)->tp_name);
        return NULL;
    }
    if (((FrameObject *)frame)->reader != self) {
        return zbpy_raise(-EINVAL, self->h.name,
                          "the frame belongs to another reader");
    }
    return frame_do_release((FrameObject *)frame);
}

/* Refuse to close while a view of a frame is exported. */
static int
reader_may_close(ReaderObject *self)
{
    if (self->exports > 0) {
        PyErr_Format(
            PyExc_BufferError,
            "%U: cannot close the reader while %zd view(s) of its frames are "
            "exported",
            self->h.name, self->exports);
        return -1;
    }
    return 0;
}

/* zbpy_handle_close()'s `closing`: look again under the handle lock, then
 * carry out the releases queued meanwhile. */
static int
reader_closing(ZbpyHandle *h)
{
    ReaderObject *self = (ReaderObject *)h;

    if (reader_may_close(self) < 0) {
        return -1;
    }
    drain_pending(self);
    return 0;
}

PyDoc_STRVAR(
    reader_close_doc,
    "close()\n"
    "--\n\n"
    "Detach from the buffer; a reader made by create() also removes it.\n"
    "Frames still held are released. Raises BufferError while a view of\n"
    "any of its frames is exported. Closing twice does nothing.");

static PyObject *
reader_close(ZbpyHandle *h, PyObject *unused)
{
    ReaderObject *self = (ReaderObject *)h;

    if (self->h.lib != NULL && reader_may_close(self) < 0) {
        return NULL;
    }
    return zbpy_handle_close(&self->h, reader_closing);
}

static PyObject *
reader_iter(ReaderObject *self)
{
    return Py_NewRef(self);
}

static PyObject *
reader_iternext(ReaderObject *self)
{
    PyObject *f = reader_read_impl(self, Py_None);

    if (f == NULL &&
        PyErr_ExceptionMatches(zbpy_error_class(ZB_EWRITER_GONE))) {
        PyErr_Clear();
    }
    return f;
}

static PyObject *
reader_get_metadata(ReaderObject *self, void *closure)
{
    const void *data;
    size_t size;
    char *copy = NULL;
    PyObject *ret;
    int err;

    /* Copied under the lock into raw memory: allocating Python objects
     * there could run arbitrary code (the GC) while we hold the lock. */
    if (zbpy_handle_lock(&self->h) < 0) {
        return NULL;
    }
    err = zb_reader_metadata(self->h.lib, &data, &size);
    if (err == 0) {
        copy = PyMem_RawMalloc(size ? size : 1);
        if (copy == NULL) {
            err = -ENOMEM;
        }
        else {
            memcpy(copy, data, size);
        }
    }
    zbpy_handle_unlock(&self->h);
    if (err == -ENODATA) {
        Py_RETURN_NONE;
    }
    if (err < 0) {
        return zbpy_raise(err, self->h.name, "metadata");
    }
    ret = PyBytes_FromStringAndSize(copy, (Py_ssize_t)size);
    PyMem_RawFree(copy);
    return ret;
}

static PyObject *
reader_get_owner(ReaderObject *self, void *closure)
{
    return PyBool_FromLong(self->h.owner);
}

static PyMethodDef reader_methods[] = {
    {"open", (PyCFunction)(void (*)(void))reader_open,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, reader_open_doc},
    {"create", (PyCFunction)(void (*)(void))reader_create,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS, reader_create_doc},
    {"read", (PyCFunction)(void (*)(void))reader_read,
     METH_FASTCALL | METH_KEYWORDS, reader_read_doc},
    {"release", (PyCFunction)reader_release, METH_O, reader_release_doc},
    {"close", (PyCFunction)reader_close, METH_NOARGS, reader_close_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef reader_getset[] = {
    {"owner", (getter)reader_get_owner, NULL,
     "True if this reader created the buffer (create()) and removes it "
     "on close.",
     NULL},
    {"metadata", (getter)reader_get_metadata, NULL,
     "The metadata the writer set, as bytes (a copy), or None while none "
     "is set.",
     NULL},
    {"writer_connected", (getter)zbpy_handle_get_peer_connected, NULL,
     "True if a live writer is attached.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(
    reader_doc,
    "The reader of one buffer: Reader.open(name) attaches to an existing\n"
    "one, Reader.create(name, ...) makes one and owns it.\n\n"
    "read() hands out frames in place (zero-copy), each released when\n"
    "done. Iterating over a reader yields frames until the writer is\n"
    "gone. A reader may be shared between threads (calls are serialised);\n"
    "close() it, or use it as a context manager.");

/* clang-format off: PyVarObject_HEAD_INIT takes no comma */
PyTypeObject ZbpyReader_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zbclient.Reader",
    .tp_base = &ZbpyHandle_Type,
    .tp_basicsize = sizeof(ReaderObject),
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = reader_doc,
    .tp_iter = (getiterfunc)reader_iter,
    .tp_iternext = (iternextfunc)reader_iternext,
    .tp_methods = reader_methods,
    .tp_getset = reader_getset,
    .tp_new = reader_new,
};
/* clang-format on */

int
zbpy_reader_init_types(PyObject *module)
{
    if (PyType_Ready(&ZbpyFrame_Type) < 0 ||
        PyType_Ready(&ZbpyReader_Type) < 0) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Frame", (PyObject *)&ZbpyFrame_Type) <
            0 ||
        PyModule_AddObjectRef(module, "Reader", (PyObject *)&ZbpyReader_Type) <
            0) {
        return -1;
    }
    return 0;
}
