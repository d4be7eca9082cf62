/* SPDX-License-Identifier: MIT */
/*
 * zbclient._zbclient: the module, its exceptions (one class per library
 * error code, all under zbclient.Error), and the helpers every type uses:
 * timeouts, locks, argument converters.
 */
#include "zbpy.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <time.h>

PyObject *zbpy_Error;

/*
 * One exception class per code the library returns: a row here (and a
 * line in _zbclient.pyi) is all a new one needs. `builtin` is a second base,
 * so that `except TimeoutError` or `except ValueError` also work.
 */
struct error_class {
    int code;
    const char *name;
    PyObject **builtin;
    const char *doc;
};

static const struct error_class error_classes[] = {
    {-EINVAL, "InvalidArgument", &PyExc_ValueError,
     "An argument the library refused (bad name, size 0, unknown frame...)."},
    {-ENOENT, "NotFound", &PyExc_FileNotFoundError,
     "No buffer of that name (-ENOENT)."},
    {-EEXIST, "AlreadyExists", &PyExc_FileExistsError,
     "The buffer already exists and a live process owns it (-EEXIST)."},
    {-EBUSY, "Busy", NULL,
     "A live reader or writer is already attached (-EBUSY); or zbd refused "
     "to destroy a buffer in use."},
    {-ETIMEDOUT, "Timeout", &PyExc_TimeoutError,
     "Nothing arrived within the timeout (-ETIMEDOUT)."},
    {-ENOBUFS, "BufferFull", NULL,
     "The writer found no space in the ring within its timeout (-ENOBUFS)."},
    {-EALREADY, "MetadataAlreadySet", NULL,
     "The buffer's metadata was already set; it is set once (-EALREADY)."},
    {-EMSGSIZE, "TooLarge", NULL,
     "A frame or metadata that can never fit the buffer (-EMSGSIZE)."},
    {-ENODATA, "NoMetadata", NULL, "No metadata has been set (-ENODATA)."},
    {-EACCES, "PermissionDenied", &PyExc_PermissionError,
     "Permission denied (-EACCES, -EPERM)."},
    {ZB_EWRITER_GONE, "WriterGone", NULL,
     "The writer left or died and every frame it wrote was read "
     "(ZB_EWRITER_GONE). Reported once; the next read waits for a new "
     "writer, whose frames restart at sequence 1."},
    {ZB_EREADER_GONE, "ReaderGone", NULL,
     "The reader left or died (ZB_EREADER_GONE)."},
    {ZB_EVERSION, "VersionMismatch", NULL,
     "The segment speaks another protocol version (ZB_EVERSION)."},
    {ZB_ECORRUPT, "Corrupt", NULL,
     "The segment or a frame fails validation (ZB_ECORRUPT)."},
    {ZB_EDESTROYED, "Destroyed", NULL,
     "The buffer was destroyed (removed, e.g. by zbd's destroy force) "
     "while this handle was attached (ZB_EDESTROYED). Every later call "
     "says so too; close the handle."},
    {-ECONNREFUSED, "DaemonUnavailable", &PyExc_ConnectionRefusedError,
     "No zbd listens on the control socket (-ENOENT, -ECONNREFUSED at "
     "connect)."},
    {-ECONNRESET, "ConnectionLost", &PyExc_ConnectionResetError,
     "zbd closed the control connection (-ECONNRESET)."},
    {-EPROTO, "ProtocolError", NULL,
     "zbd's reply was malformed or too large (-EPROTO)."},
    {-EINTR, "Interrupted", &PyExc_InterruptedError,
     "A signal interrupted a control request that is not safe to repeat "
     "(-EINTR); whether zbd carried it out is unknown."},
};

#define N_ERROR_CLASSES (sizeof(error_classes) / sizeof(error_classes[0]))

/* The classes made from error_classes[], in its order. */
static PyObject *error_types[N_ERROR_CLASSES];

PyObject *
zbpy_error_class(int code)
{
    if (code == -EPERM) {
        code = -EACCES;
    }
    for (size_t i = 0; i < N_ERROR_CLASSES; i++) {
        if (error_classes[i].code == code) {
            return error_types[i];
        }
    }
    return zbpy_Error;
}

PyObject *
zbpy_raise(int code, PyObject *name, const char *detail)
{
    PyObject *msg, *exc, *value;
    const char *text;

    if (code == -ENOMEM) {
        return PyErr_NoMemory();
    }
    text = zb_strerror(code);
    if (name != NULL && detail != NULL) {
        msg = PyUnicode_FromFormat("%U: %s (%s)", name, text, detail);
    }
    else if (name != NULL) {
        msg = PyUnicode_FromFormat("%U: %s", name, text);
    }
    else if (detail != NULL) {
        msg = PyUnicode_FromFormat("%s (%s)", text, detail);
    }
    else {
        msg = PyUnicode_FromString(text);
    }
    if (msg == NULL) {
        return NULL;
    }
    exc = PyObject_CallOneArg(zbpy_error_class(code), msg);
    Py_DECREF(msg);
    if (exc == NULL) {
        return NULL;
    }
    value = PyLong_FromLong(code);
    if (value == NULL || PyObject_SetAttrString(exc, "code", value) < 0) {
        goto fail;
    }
    Py_DECREF(value);
    if (PyObject_SetAttrString(exc, "name", name ? name : Py_None) < 0) {
        value = NULL;
        goto fail;
    }
    /* errno is the positive errno for errno-style codes, None for ours. */
    value = (code < 0 && code > -4096) ? PyLong_FromLong(-code)
                                       : Py_NewRef(Py_None);
    if (value == NULL || PyObject_SetAttrString(exc, "errno", value) < 0) {
        goto fail;
    }
    Py_DECREF(value);
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;

fail:
    Py_XDECREF(value);
    Py_DECREF(exc);
    return NULL;
}

static int64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
zbpy_deadline_init(PyObject *timeout, struct zbpy_deadline *deadline)
{
    double seconds;

    deadline->poll_only = 0;
    if (timeout == NULL || timeout == Py_None) {
        deadline->ns = -1;
        return 0;
    }
    seconds = PyFloat_AsDouble(timeout);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    if (isnan(seconds) || seconds < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "timeout must be None or a number of seconds >= 0");
        return -1;
    }
    if (seconds == 0) {
        deadline->poll_only = 1;
        deadline->ns = now_ns();
        return 0;
    }
    /* Anything beyond a few centuries waits forever. */
    if (seconds > 1e10) {
        deadline->ns = -1;
        return 0;
    }
    deadline->ns = now_ns() + (int64_t)ceil(seconds * 1e9);
    return 0;
}

int
zbpy_slice_ms(int64_t deadline_ns)
{
    int64_t left;

    if (deadline_ns < 0) {
        return ZBPY_SLICE_MS;
    }
    left = deadline_ns - now_ns();
    if (left <= 0) {
        return 0;
    }
    if (left >= (int64_t)ZBPY_SLICE_MS * 1000000) {
        return ZBPY_SLICE_MS;
    }
    return (int)((left + 999999) / 1000000);
}

int
zbpy_lock(PyThread_type_lock lock)
{
    PyLockStatus st;

    if (PyThread_acquire_lock(lock, NOWAIT_LOCK)) {
        return 0;
    }
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        st = PyThread_acquire_lock_timed(
            lock, (PY_TIMEOUT_T)ZBPY_SLICE_MS * 1000, 0);
        Py_END_ALLOW_THREADS
        if (st == PY_LOCK_ACQUIRED) {
            return 0;
        }
        if (PyErr_CheckSignals() < 0) {
            return -1;
        }
    }
}

int
zbpy_size_converter(PyObject *obj, void *ret)
{
    unsigned long long v;

    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "a size must be an int, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return 0;
    }
    v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_SetString(PyExc_ValueError,
                            "a size must be >= 0 and fit in 64 bits");
        }
        return 0;
    }
    *(uint64_t *)ret = v;
    return 1;
}

int
zbpy_mode_converter(PyObject *obj, void *ret)
{
    /* As PyArg's "I" would: any int, masked to an unsigned int. */
    unsigned long v = PyLong_AsUnsignedLongMask(obj);

    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        return 0;
    }
    if ((unsigned int)v > 07777) {
        PyErr_SetString(PyExc_ValueError,
                        "mode must be a permission mode, 0 to 0o7777");
        return 0;
    }
    *(mode_t *)ret = (mode_t)(unsigned int)v;
    return 1;
}

/* ------------------------------------------------------ attached buffers */

/*
 * The buffers this process is attached to, as reader ([0]) and as writer
 * ([1]). libzbclient lets a process attach again to a slot that holds its
 * own pid, and two handles of one process would then drive one side of a
 * ring at cross purposes (two write positions, two read positions); the
 * binding refuses the second handle instead (Busy), as the upstream Python
 * package does. Guarded by the GIL.
 */
static PyObject *attached[2];

int
zbpy_attach(int writer, PyObject *name)
{
    int r = PySet_Contains(attached[writer], name);

    if (r < 0) {
        return -1;
    }
    if (r > 0) {
        zbpy_raise(-EBUSY, name,
                   writer ? "this process already has a writer on it"
                          : "this process already has a reader on it");
        return -1;
    }
    return PySet_Add(attached[writer], name);
}

void
zbpy_detach(int writer, PyObject *name)
{
    PyObject *type, *value, *tb;

    /* Also called from destructors, maybe with an exception pending. */
    PyErr_Fetch(&type, &value, &tb);
    if (PySet_Discard(attached[writer], name) < 0) {
        PyErr_Clear();
    }
    PyErr_Restore(type, value, tb);
}

/* ------------------------------------------------------------------ Stats */

static PyStructSequence_Field stats_fields[] = {
    {"frames", "frames this handle moved since it opened"},
    {"bytes", "payload bytes this handle moved since it opened"},
    {NULL, NULL},
};

static PyStructSequence_Desc stats_desc = {
    "zbclient.Stats",
    "Counters of one reader or writer handle (frames, bytes).",
    stats_fields,
    2,
};

PyTypeObject ZbpyStats_Type;

PyObject *
zbpy_stats_new(const struct zb_stats *stats)
{
    PyObject *s = PyStructSequence_New(&ZbpyStats_Type);
    PyObject *v;

    if (s == NULL) {
        return NULL;
    }
    v = PyLong_FromUnsignedLongLong(stats->frames);
    if (v == NULL) {
        goto fail;
    }
    PyStructSequence_SET_ITEM(s, 0, v);
    v = PyLong_FromUnsignedLongLong(stats->bytes);
    if (v == NULL) {
        goto fail;
    }
    PyStructSequence_SET_ITEM(s, 1, v);
    return s;

fail:
    Py_DECREF(s);
    return NULL;
}

/* ------------------------------------------------------- module functions */

PyDoc_STRVAR(strerror_doc,
             "strerror(code, /)\n"
             "--\n\n"
             "The library's text for error code `code` (0 or negative).");

static PyObject *
zbpy_strerror(PyObject *module, PyObject *arg)
{
    long code = PyLong_AsLong(arg);

    if (code == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (code < INT_MIN || code > INT_MAX) {
        return PyUnicode_FromString("unknown error");
    }
    return PyUnicode_FromString(zb_strerror((int)code));
}

PyDoc_STRVAR(
    is_valid_name_doc,
    "is_valid_name(name, /)\n"
    "--\n\n"
    "True if `name` can name a buffer zbd creates: 1 to 200 bytes of\n"
    "printable ASCII without space, '/' or '=', and neither '.' nor '..'.");

static PyObject *
zbpy_is_valid_name(PyObject *module, PyObject *arg)
{
    const char *name;

    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "name must be str, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    name = PyUnicode_AsUTF8(arg);
    if (name == NULL) {
        return NULL;
    }
    if (strlen(name) != (size_t)PyUnicode_GET_LENGTH(arg)) {
        Py_RETURN_FALSE; /* an embedded NUL, or characters beyond ASCII */
    }
    return PyBool_FromLong(zb_name_check(name) == 0);
}

PyDoc_STRVAR(
    default_socket_doc,
    "default_socket()\n"
    "--\n\n"
    "The control socket Daemon() connects to by default: $ZBD_SOCKET if\n"
    "set, else /run/zbd/zbd.sock for root, else\n"
    "$XDG_RUNTIME_DIR/zbd.sock.");

static PyObject *
zbpy_default_socket(PyObject *module, PyObject *unused)
{
    char buf[4096];
    int err = zb_ctl_default_socket(buf, sizeof(buf));

    if (err < 0) {
        return zbpy_raise(err, NULL, "default socket path");
    }
    return PyUnicode_DecodeFSDefault(buf);
}

static PyMethodDef module_methods[] = {
    {"strerror", zbpy_strerror, METH_O, strerror_doc},
    {"is_valid_name", zbpy_is_valid_name, METH_O, is_valid_name_doc},
    {"default_socket", zbpy_default_socket, METH_NOARGS, default_socket_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(
    module_doc,
    "libzbclient for Python: ZeroBuffer v1 rings in shared memory.\n\n"
    "Import the package `zbclient`, not this module: it re-exports\n"
    "everything here. See help(zbclient).");

static struct PyModuleDef zbclient_module = {
    PyModuleDef_HEAD_INIT, .m_name = "zbclient._zbclient", .m_doc = module_doc,
    .m_size = -1,          .m_methods = module_methods,
};

static int
add_errors(PyObject *m)
{
    zbpy_Error = PyErr_NewExceptionWithDoc(
        "zbclient.Error",
        "Base class of every error libzbclient reports.\n\n"
        "Attributes: code (the library's negative error code), name (the\n"
        "buffer's name, or the control socket's path, or None), errno (the\n"
        "positive errno for errno-style codes, else None).",
        PyExc_OSError, NULL);
    if (zbpy_Error == NULL ||
        PyModule_AddObjectRef(m, "Error", zbpy_Error) < 0) {
        return -1;
    }
    for (size_t i = 0; i < N_ERROR_CLASSES; i++) {
        const struct error_class *ec = &error_classes[i];
        char qualname[64];
        PyObject *bases;

        if (ec->builtin) {
            bases = PyTuple_Pack(2, zbpy_Error, *ec->builtin);
        }
        else {
            bases = PyTuple_Pack(1, zbpy_Error);
        }
        if (bases == NULL) {
            return -1;
        }
        PyOS_snprintf(qualname, sizeof(qualname), "zbclient.%s", ec->name);
        error_types[i] =
            PyErr_NewExceptionWithDoc(qualname, ec->doc, bases, NULL);
        Py_DECREF(bases);
        if (error_types[i] == NULL ||
            PyModule_AddObjectRef(m, ec->name, error_types[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

PyMODINIT_FUNC PyInit__zbclient(void);

PyMODINIT_FUNC
PyInit__zbclient(void)
{
    PyObject *m = PyModule_Create(&zbclient_module);
    PyObject *size_max;

    if (m == NULL) {
        return NULL;
    }
    if (add_errors(m) < 0) {
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        if (attached[i] == NULL && (attached[i] = PySet_New(NULL)) == NULL) {
            goto fail;
        }
    }
    if (ZbpyStats_Type.tp_name == NULL &&
        PyStructSequence_InitType2(&ZbpyStats_Type, &stats_desc) < 0) {
        goto fail;
    }
    if (PyModule_AddObjectRef(m, "Stats", (PyObject *)&ZbpyStats_Type) < 0) {
        goto fail;
    }
    if (zbpy_handle_init_types(m) < 0 || zbpy_reader_init_types(m) < 0 ||
        zbpy_writer_init_types(m) < 0 || zbpy_daemon_init_types(m) < 0) {
        goto fail;
    }
    if (PyModule_AddStringConstant(m, "__version__", ZBPY_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "NAME_MAX", ZB_NAME_MAX) < 0 ||
        PyModule_AddIntConstant(m, "DEFAULT_SPIN_US", ZB_DEFAULT_SPIN_US) <
            0 ||
        PyModule_AddIntConstant(m, "WAIT_SLICE_MS", ZBPY_SLICE_MS) < 0 ||
        PyModule_AddIntConstant(m, "SPIN_FOREVER", ZB_SPIN_FOREVER) < 0) {
        goto fail;
    }
    size_max = PyLong_FromUnsignedLongLong(ZB_SIZE_MAX);
    if (size_max == NULL ||
        PyModule_AddObjectRef(m, "SIZE_MAX", size_max) < 0) {
        Py_XDECREF(size_max);
        goto fail;
    }
    Py_DECREF(size_max);
    return m;

fail:
    Py_DECREF(m);
    return NULL;
}
