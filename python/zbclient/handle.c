/* SPDX-License-Identifier: MIT */
/*
 * zbclient._Handle: what a Reader and a Writer share (see handle.h), and the
 * library calls that differ between them only by their prefix.
 */
#include "handle.h"

#include <errno.h>
#include <string.h>

/* ------------------------------------------------------- library calls */

static int
lib_open(ZbpyHandle *self, const char *name,
         const struct zb_buffer_config *create)
{
    struct zb_reader *rd = NULL;
    struct zb_writer *w = NULL;
    int err;

    if (self->kind->writer) {
        err = zb_writer_open(&w, name);
        self->lib = w;
    }
    else {
        err = create ? zb_reader_create(&rd, name, create)
                     : zb_reader_open(&rd, name);
        self->lib = rd;
    }
    return err;
}

static void
lib_close(const ZbpyHandle *self, void *lib)
{
    if (self->kind->writer) {
        zb_writer_close(lib);
    }
    else {
        zb_reader_close(lib);
    }
}

static int
lib_stats(const ZbpyHandle *self, struct zb_stats *st)
{
    return self->kind->writer ? zb_writer_stats(self->lib, st)
                              : zb_reader_stats(self->lib, st);
}

static int
lib_set_spin(const ZbpyHandle *self, unsigned int us)
{
    return self->kind->writer ? zb_writer_set_spin(self->lib, us)
                              : zb_reader_set_spin(self->lib, us);
}

static int
lib_peer_connected(const ZbpyHandle *self)
{
    return self->kind->writer ? zb_writer_reader_connected(self->lib)
                              : zb_reader_writer_connected(self->lib);
}

/* ------------------------------------------------------------- locking */

PyObject *
zbpy_handle_closed_error(ZbpyHandle *self)
{
    PyErr_Format(PyExc_ValueError, "%U: %s is closed", self->name,
                 self->kind->what);
    return NULL;
}

void
zbpy_handle_unlock(ZbpyHandle *self)
{
    if (self->kind->unlock != NULL) {
        self->kind->unlock(self);
    }
    else {
        PyThread_release_lock(self->lock);
    }
}

int
zbpy_handle_lock(ZbpyHandle *self)
{
    if (self->lib == NULL) {
        zbpy_handle_closed_error(self);
        return -1;
    }
    if (zbpy_lock(self->lock) < 0) {
        return -1;
    }
    if (self->lib == NULL) {
        zbpy_handle_unlock(self);
        zbpy_handle_closed_error(self);
        return -1;
    }
    return 0;
}

int
zbpy_handle_wait(ZbpyHandle *self, const struct zbpy_deadline *deadline,
                 int gil_first, zbpy_attempt attempt, void *arg)
{
    /* What the library says while it waits for a frame or for space. */
    const int again = self->kind->writer ? -ENOBUFS : -ETIMEDOUT;
    int err = again, tried = 0, closed = 0;

    if (gil_first) {
        if (zbpy_handle_lock(self) < 0) {
            return -1;
        }
        err = attempt(self, arg, 0);
        zbpy_handle_unlock(self);
        tried = 1;
    }
    while (err == again) {
        int slice = deadline->poll_only ? 0 : zbpy_slice_ms(deadline->ns);

        if (slice == 0 && tried) {
            break;
        }
        tried = 1;
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        if (self->lib == NULL) {
            closed = 1;
        }
        else {
            err = attempt(self, arg, slice);
        }
        zbpy_handle_unlock(self);
        Py_END_ALLOW_THREADS
        if (closed) {
            zbpy_handle_closed_error(self);
            return -1;
        }
        if (err == again && PyErr_CheckSignals() < 0) {
            return -1;
        }
    }
    if (err < 0) {
        zbpy_raise(err, self->name, NULL);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------- opening and closing */

ZbpyHandle *
zbpy_handle_new(PyTypeObject *type, const struct zbpy_handle_kind *kind,
                PyObject *name)
{
    ZbpyHandle *self = (ZbpyHandle *)type->tp_alloc(type, 0);

    if (self == NULL) {
        return NULL;
    }
    self->kind = kind;
    self->name = Py_NewRef(name);
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        Py_DECREF(self);
        PyErr_NoMemory();
        return NULL;
    }
    return self;
}

/* The name as the library wants it: str, no NUL. */
static const char *
name_arg(PyObject *name)
{
    Py_ssize_t len;
    const char *s;

    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "name must be str, not %.100s",
                     Py_TYPE(name)->tp_name);
        return NULL;
    }
    s = PyUnicode_AsUTF8AndSize(name, &len);
    if (s == NULL) {
        return NULL;
    }
    if ((size_t)len != strlen(s)) {
        zbpy_raise(-EINVAL, name, "embedded NUL character");
        return NULL;
    }
    return s;
}

PyObject *
zbpy_handle_open(ZbpyHandle *self, const struct zb_buffer_config *create)
{
    const char *cname = name_arg(self->name);
    int err;

    if (cname == NULL || zbpy_attach(self->kind->writer, self->name) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->attached = 1;
    Py_BEGIN_ALLOW_THREADS
    err = lib_open(self, cname, create);
    Py_END_ALLOW_THREADS
    if (err < 0) {
        zbpy_raise(err, self->name, NULL);
        Py_DECREF(self);
        return NULL;
    }
    self->owner = create != NULL;
    return (PyObject *)self;
}

void
zbpy_handle_dealloc(ZbpyHandle *self)
{
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    if (self->lib != NULL) {
        void *lib = self->lib;

        self->lib = NULL;
        lib_close(self, lib);
    }
    if (self->attached) {
        zbpy_detach(self->kind->writer, self->name);
    }
    if (self->lock != NULL) {
        PyThread_free_lock(self->lock);
    }
    Py_XDECREF(self->name);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *
zbpy_handle_close(ZbpyHandle *self, int (*closing)(ZbpyHandle *))
{
    void *lib;

    if (self->lib == NULL) {
        Py_RETURN_NONE;
    }
    if (zbpy_lock(self->lock) < 0) {
        return NULL;
    }
    /* The GIL may have been released while we waited: look again. */
    if (self->lib == NULL) {
        zbpy_handle_unlock(self);
        Py_RETURN_NONE;
    }
    if (closing != NULL && closing(self) < 0) {
        zbpy_handle_unlock(self);
        return NULL;
    }
    lib = self->lib;
    self->lib = NULL;
    zbpy_handle_unlock(self);
    Py_BEGIN_ALLOW_THREADS
    lib_close(self, lib);
    Py_END_ALLOW_THREADS
    zbpy_detach(self->kind->writer, self->name);
    self->attached = 0;
    Py_RETURN_NONE;
}

/* ------------------------------------------------ methods and properties */

PyDoc_STRVAR(
    handle_set_spin_doc,
    "set_spin(microseconds)\n"
    "--\n\n"
    "How long read(), or a writer short of space, watches the ring before\n"
    "it sleeps; 0 sleeps at once, SPIN_FOREVER never sleeps (a busy poll\n"
    "that keeps a CPU at 100 %% while it waits). Default DEFAULT_SPIN_US (20).");

static PyObject *
handle_set_spin(ZbpyHandle *self, PyObject *arg)
{
    unsigned long us = PyLong_AsUnsignedLong(arg);

    if (us == (unsigned long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    if (us > 10 * 1000 * 1000 && us != ZB_SPIN_FOREVER) {
        PyErr_SetString(PyExc_ValueError, "spin is at most 10 s, or SPIN_FOREVER");
        return NULL;
    }
    if (zbpy_handle_lock(self) < 0) {
        return NULL;
    }
    (void)lib_set_spin(self, (unsigned int)us);
    zbpy_handle_unlock(self);
    Py_RETURN_NONE;
}

static PyObject *
handle_enter(ZbpyHandle *self, PyObject *unused)
{
    if (self->lib == NULL) {
        return zbpy_handle_closed_error(self);
    }
    return Py_NewRef(self);
}

static PyObject *
handle_exit(ZbpyHandle *self, PyObject *const *args, Py_ssize_t nargs)
{
    return self->kind->close(self, NULL);
}

PyObject *
zbpy_handle_get_peer_connected(ZbpyHandle *self, void *closure)
{
    int r;

    if (zbpy_handle_lock(self) < 0) {
        return NULL;
    }
    r = lib_peer_connected(self);
    zbpy_handle_unlock(self);
    if (r < 0) {
        return zbpy_raise(r, self->name, NULL);
    }
    return PyBool_FromLong(r);
}

static PyObject *
handle_get_stats(ZbpyHandle *self, void *closure)
{
    struct zb_stats st;
    int r;

    if (zbpy_handle_lock(self) < 0) {
        return NULL;
    }
    r = lib_stats(self, &st);
    zbpy_handle_unlock(self);
    if (r < 0) {
        return zbpy_raise(r, self->name, NULL);
    }
    return zbpy_stats_new(&st);
}

static PyObject *
handle_get_name(ZbpyHandle *self, void *closure)
{
    return Py_NewRef(self->name);
}

static PyObject *
handle_get_closed(ZbpyHandle *self, void *closure)
{
    return PyBool_FromLong(self->lib == NULL);
}

static PyObject *
handle_repr(ZbpyHandle *self)
{
    return PyUnicode_FromFormat("<%s %R%s%s>", Py_TYPE(self)->tp_name,
                                self->name, self->owner ? " owner" : "",
                                self->lib ? "" : " closed");
}

static PyMethodDef handle_methods[] = {
    {"set_spin", (PyCFunction)handle_set_spin, METH_O, handle_set_spin_doc},
    {"__enter__", (PyCFunction)handle_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))handle_exit, METH_FASTCALL,
     "close() the handle."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef handle_getset[] = {
    {"name", (getter)handle_get_name, NULL, "The buffer's name.", NULL},
    {"closed", (getter)handle_get_closed, NULL, "True once close() ran.",
     NULL},
    {"stats", (getter)handle_get_stats, NULL,
     "Stats(frames, bytes) this handle read or wrote since it opened.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* clang-format off: PyVarObject_HEAD_INIT takes no comma */
PyTypeObject ZbpyHandle_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zbclient._Handle",
    .tp_basicsize = sizeof(ZbpyHandle),
    .tp_dealloc = (destructor)zbpy_handle_dealloc,
    .tp_repr = (reprfunc)handle_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |
                Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = "What a Reader and a Writer share.",
    .tp_weaklistoffset = offsetof(ZbpyHandle, weakreflist),
    .tp_methods = handle_methods,
    .tp_getset = handle_getset,
};
/* clang-format on */

int
zbpy_handle_init_types(PyObject *module)
{
    if (PyType_Ready(&ZbpyHandle_Type) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "_Handle",
                                 (PyObject *)&ZbpyHandle_Type);
}
