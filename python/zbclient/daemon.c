/* SPDX-License-Identifier: MIT */
/*
 * zbclient.Daemon: a client of zbd's control socket, and the health records
 * (struct sequences with the fields `zbctl health --json` shows).
 *
 * Every request waits for the daemon with the GIL released. A signal that
 * interrupts a request leaves the connection out of step (the reply may
 * still come), so the connection is dropped and made again on the next
 * call; a request that is safe to repeat (list, health) is repeated when the
 * signal handler did not raise.
 */
#include "zbpy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    struct zb_ctl
        *ctl;         /* NULL until connected, after close, or after a reset */
    PyObject *socket; /* the socket's path, str */
    int timeout_ms;   /* 0: the library's default */
    int closed;
    PyThread_type_lock lock;
} DaemonObject;

/* ---------------------------------------------------------- health types */

static PyStructSequence_Field buffer_health_fields[] = {
    {"buffer", "the buffer's name"},
    {"state", "healthy, degraded, critical, stalled or corrupt"},
    {"payload_size", "size of the payload ring in bytes"},
    {"metadata_size", "size of the metadata block in bytes"},
    {"used_bytes", "bytes of the ring the reader has not consumed yet"},
    {"utilisation", "used_bytes in percent of payload_size"},
    {"reader_pid", "pid of the reader, 0 if none"},
    {"reader_alive", "1 if reader_pid names a live process"},
    {"writer_pid", "pid of the writer, 0 if none"},
    {"writer_alive", "1 if writer_pid names a live process"},
    {"frames_written", "frames written (wrap markers count, as on the wire)"},
    {"frames_read", "frames read (wrap markers count)"},
    {"bytes_written", "payload bytes written while this zbd watched"},
    {"bytes_read", "payload bytes read while this zbd watched"},
    {"write_rate_fps", "frames written per second over the last scan"},
    {"read_rate_fps", "frames read per second over the last scan"},
    {"write_rate_bps", "bytes written per second over the last scan"},
    {"read_rate_bps", "bytes read per second over the last scan"},
    {"readers_reaped", "dead readers zbd cleared"},
    {"writers_reaped", "dead writers zbd cleared"},
    {"frames_lost",
     "frames dead readers took and did not give back (upper bound)"},
    {"mode", "permission mode of the buffer's objects, e.g. 0o660"},
    {"adopted", "1 when this zbd took the buffer over from an earlier one"},
    {"owner", "zbd, or foreign for a buffer zbd observes but does not own"},
    {NULL, NULL},
};

#define N_BUFFER_HEALTH 24

static PyStructSequence_Desc buffer_health_desc = {
    "zbclient.BufferHealth",
    "One buffer's health as zbd reports it (the fields of `zbctl health\n"
    "--json`; see doc/control-protocol.md for what each means).",
    buffer_health_fields,
    N_BUFFER_HEALTH,
};

static PyStructSequence_Field daemon_health_fields[] = {
    {"daemon", "always 'zbd'"},
    {"version", "zbd's version"},
    {"pid", "zbd's pid"},
    {"uptime_s", "seconds since zbd started"},
    {"buffers", "number of buffers zbd owns"},
    {"clients", "control connections open, this one included"},
    {NULL, NULL},
};

static PyStructSequence_Desc daemon_health_desc = {
    "zbclient.DaemonHealth",
    "zbd's own record in a health reply.",
    daemon_health_fields,
    6,
};

static PyStructSequence_Field health_report_fields[] = {
    {"status", "the reply's status: 0 (errors raise instead)"},
    {"daemon", "DaemonHealth"},
    {"buffers", "a list of BufferHealth, in zbd's order"},
    {NULL, NULL},
};

static PyStructSequence_Desc health_report_desc = {
    "zbclient.HealthReport",
    "A health reply: status, daemon (DaemonHealth), buffers (list of\n"
    "BufferHealth), as `zbctl health --json` shows it.",
    health_report_fields,
    3,
};

static PyTypeObject BufferHealth_Type;
static PyTypeObject DaemonHealth_Type;
static PyTypeObject HealthReport_Type;

static long long
field_ll(const struct zb_ctl_record *rec, const char *key, int base)
{
    const char *v = zb_ctl_record_get(rec, key);

    return v ? strtoll(v, NULL, base) : 0;
}

/* A text field of the reply as a str ("" when absent). */
static PyObject *
field_text(const struct zb_ctl_record *rec, const char *key)
{
    const char *v = zb_ctl_record_get(rec, key);

    return PyUnicode_DecodeUTF8(v ? v : "", v ? strlen(v) : 0, "replace");
}

/* Steals `v`; -1 if it is NULL. */
static int
set_item(PyObject *seq, Py_ssize_t i, PyObject *v)
{
    if (v == NULL) {
        return -1;
    }
    PyStructSequence_SET_ITEM(seq, i, v);
    return 0;
}

static PyObject *
buffer_health_new(const struct zb_health *h, const struct zb_ctl_record *rec)
{
    PyObject *s = PyStructSequence_New(&BufferHealth_Type);
    Py_ssize_t i = 0;

    if (s == NULL) {
        return NULL;
    }
#define U64(v) PyLong_FromUnsignedLongLong(v)
#define I64(v) PyLong_FromLongLong(v)
    if (set_item(s, i++,
                 PyUnicode_DecodeUTF8(h->name, strlen(h->name), "replace")) <
            0 ||
        set_item(s, i++, PyUnicode_FromString(h->state_text)) < 0 ||
        set_item(s, i++, U64(h->payload_size)) < 0 ||
        set_item(s, i++, U64(h->metadata_size)) < 0 ||
        set_item(s, i++, U64(h->used_bytes)) < 0 ||
        set_item(s, i++, PyFloat_FromDouble(h->utilisation)) < 0 ||
        set_item(s, i++, I64(h->reader_pid)) < 0 ||
        set_item(s, i++, I64(h->reader_alive)) < 0 ||
        set_item(s, i++, I64(h->writer_pid)) < 0 ||
        set_item(s, i++, I64(h->writer_alive)) < 0 ||
        set_item(s, i++, U64(h->frames_written)) < 0 ||
        set_item(s, i++, U64(h->frames_read)) < 0 ||
        set_item(s, i++, U64(h->bytes_written)) < 0 ||
        set_item(s, i++, U64(h->bytes_read)) < 0 ||
        set_item(s, i++, PyFloat_FromDouble(h->write_rate_fps)) < 0 ||
        set_item(s, i++, PyFloat_FromDouble(h->read_rate_fps)) < 0 ||
        set_item(s, i++, PyFloat_FromDouble(h->write_rate_bps)) < 0 ||
        set_item(s, i++, PyFloat_FromDouble(h->read_rate_bps)) < 0 ||
        set_item(s, i++, U64(h->readers_reaped)) < 0 ||
        set_item(s, i++, U64(h->writers_reaped)) < 0 ||
        set_item(s, i++, U64(h->frames_lost)) < 0 ||
        /* Not in struct zb_health: taken from the reply as sent. */
        set_item(s, i++, I64(field_ll(rec, "mode", 8))) < 0 ||
        set_item(s, i++, I64(field_ll(rec, "adopted", 10))) < 0 ||
        set_item(s, i++, field_text(rec, "owner")) < 0) {
        Py_DECREF(s);
        return NULL;
    }
#undef U64
#undef I64
    assert(i == N_BUFFER_HEALTH);
    return s;
}

static PyObject *
daemon_health_new(const struct zb_daemon_health *d,
                  const struct zb_ctl_record *rec)
{
    PyObject *s = PyStructSequence_New(&DaemonHealth_Type);
    const char *name = rec ? zb_ctl_record_get(rec, "daemon") : NULL;

    if (s == NULL) {
        return NULL;
    }
    if (set_item(s, 0, PyUnicode_FromString(name ? name : "")) < 0 ||
        set_item(s, 1, PyUnicode_FromString(d->version)) < 0 ||
        set_item(s, 2,
                 PyLong_FromLongLong(rec ? field_ll(rec, "pid", 10) : 0)) <
            0 ||
        set_item(s, 3, PyLong_FromUnsignedLongLong(d->uptime_s)) < 0 ||
        set_item(s, 4, PyLong_FromUnsignedLongLong(d->buffers)) < 0 ||
        set_item(s, 5,
                 PyLong_FromLongLong(rec ? field_ll(rec, "clients", 10) : 0)) <
            0) {
        Py_DECREF(s);
        return NULL;
    }
    return s;
}

static PyObject *
health_report_new(const struct zb_ctl_reply *reply)
{
    const struct zb_ctl_record *daemon_rec = NULL;
    struct zb_daemon_health d;
    PyObject *report = NULL, *list = NULL, *item;
    struct zb_health *h;
    size_t n, k = 0;
    int err;

    err = zb_ctl_reply_health(reply, &h, &n, &d);
    if (err < 0) {
        return zbpy_raise(err, NULL, "health reply");
    }
    list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        goto out;
    }
    /* zb_ctl_reply_health() keeps the reply's order of buffer records. */
    for (size_t r = 0; r < reply->n_records; r++) {
        const struct zb_ctl_record *rec = &reply->records[r];

        if (strcmp(rec->fields[0].key, "daemon") == 0) {
            daemon_rec = rec;
        }
        else if (strcmp(rec->fields[0].key, "buffer") == 0 && k < n) {
            item = buffer_health_new(&h[k], rec);
            if (item == NULL) {
                goto out;
            }
            PyList_SET_ITEM(list, (Py_ssize_t)k, item);
            k++;
        }
    }
    report = PyStructSequence_New(&HealthReport_Type);
    if (report == NULL) {
        goto out;
    }
    if (set_item(report, 0, PyLong_FromLong(reply->status)) < 0 ||
        set_item(report, 1, daemon_health_new(&d, daemon_rec)) < 0) {
        Py_CLEAR(report);
        goto out;
    }
    PyStructSequence_SET_ITEM(report, 2, list);
    list = NULL;

out:
    Py_XDECREF(list);
    zb_health_free(h);
    return report;
}

/* ----------------------------------------------------------------- Daemon */

static void
daemon_dealloc(DaemonObject *self)
{
    zb_ctl_close(self->ctl);
    if (self->lock != NULL) {
        PyThread_free_lock(self->lock);
    }
    Py_XDECREF(self->socket);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Connect if not connected; the handle lock held, the GIL released. */
static int
ensure_connected(DaemonObject *self, const char *path)
{
    int err;

    if (self->ctl != NULL) {
        return 0;
    }
    err = zb_ctl_connect(&self->ctl, path);
    if (err < 0) {
        return err;
    }
    if (self->timeout_ms != 0) {
        (void)zb_ctl_set_timeout(self->ctl, self->timeout_ms);
    }
    return 0;
}

static PyObject *
raise_connect(DaemonObject *self, int err)
{
    /* DaemonUnavailable, whether the socket is missing or nobody listens:
     * NotFound would say a buffer is missing. */
    if (err == -ENOENT) {
        return zbpy_raise(-ECONNREFUSED, self->socket,
                          "no such socket: is zbd running?");
    }
    if (err == -ECONNREFUSED) {
        return zbpy_raise(err, self->socket,
                          "nobody listens: is zbd running?");
    }
    return zbpy_raise(err, self->socket, "zbd's control socket");
}

/*
 * Run `call` on the connection: GIL released, handle lock held. Returns 0, or
 * -1 with an exception set. `idempotent`: repeat it after a signal whose
 * handler did not raise.
 */
typedef int (*ctl_call)(struct zb_ctl *ctl, void *arg);

static int
daemon_run(DaemonObject *self, ctl_call call, void *arg, int idempotent,
           PyObject *name)
{
    PyObject *path_bytes;
    const char *path;
    char detail[256];
    int err, connect_err;

    if (self->lock == NULL || self->closed) {
        PyErr_SetString(PyExc_ValueError, "the Daemon connection is closed");
        return -1;
    }
    if (!PyUnicode_FSConverter(self->socket, &path_bytes)) {
        return -1;
    }
    path = PyBytes_AS_STRING(path_bytes);
    if (zbpy_lock(self->lock) < 0) {
        Py_DECREF(path_bytes);
        return -1;
    }
    if (self->closed) { /* by another thread while we waited */
        PyThread_release_lock(self->lock);
        Py_DECREF(path_bytes);
        PyErr_SetString(PyExc_ValueError, "the Daemon connection is closed");
        return -1;
    }
    for (;;) {
        detail[0] = '\0';
        Py_BEGIN_ALLOW_THREADS
        connect_err = ensure_connected(self, path);
        err = connect_err;
        if (err == 0) {
            err = call(self->ctl, arg);
            if (err < 0 && zb_ctl_last_error(self->ctl) != NULL) {
                PyOS_snprintf(detail, sizeof(detail), "%s",
                              zb_ctl_last_error(self->ctl));
            }
            /* After these the connection is out of step: drop it. */
            if (err == -EINTR || err == -EPROTO || err == -ETIMEDOUT ||
                err == -ECONNRESET) {
                zb_ctl_close(self->ctl);
                self->ctl = NULL;
            }
        }
        Py_END_ALLOW_THREADS
        if (err != -EINTR) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            PyThread_release_lock(self->lock);
            Py_DECREF(path_bytes);
            return -1;
        }
        if (!idempotent) {
            break;
        }
    }
    PyThread_release_lock(self->lock);
    Py_DECREF(path_bytes);
    if (connect_err < 0) {
        raise_connect(self, connect_err);
        return -1;
    }
    if (err < 0) {
        zbpy_raise(err, name ? name : self->socket, detail[0] ? detail : NULL);
        return -1;
    }
    return 0;
}

/* Daemon()'s `timeout` as milliseconds (0: None, the library's default);
 * -1 with an exception. */
static int
timeout_ms_arg(PyObject *timeout)
{
    double s;
    int ms;

    if (timeout == Py_None) {
        return 0;
    }
    s = PyFloat_AsDouble(timeout);
    if (s == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    if (!(s > 0) || s > 2e6) {
        PyErr_SetString(PyExc_ValueError,
                        "timeout must be None or seconds > 0");
        return -1;
    }
    ms = (int)(s * 1000);
    return ms == 0 ? 1 : ms;
}

/* Daemon()'s `socket` (None: the default) as a str; NULL with an
 * exception. */
static PyObject *
socket_arg(PyObject *socket)
{
    char buf[4096];
    PyObject *fs;
    int err;

    if (socket == Py_None) {
        err = zb_ctl_default_socket(buf, sizeof(buf));
        if (err < 0) {
            return zbpy_raise(err, NULL, "default socket path");
        }
        return PyUnicode_DecodeFSDefault(buf);
    }
    fs = PyOS_FSPath(socket);
    if (fs != NULL && PyBytes_Check(fs)) {
        Py_SETREF(fs, PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(fs)));
    }
    return fs;
}

static int
daemon_init(DaemonObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"socket", "timeout", NULL};
    PyObject *socket = Py_None, *timeout = Py_None;
    PyObject *path_bytes;
    int err;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:Daemon", kwlist, &socket,
                                     &timeout)) {
        return -1;
    }
    if (self->lock != NULL) {
        PyErr_SetString(PyExc_TypeError, "Daemon.__init__ runs once");
        return -1;
    }
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->timeout_ms = timeout_ms_arg(timeout);
    if (self->timeout_ms < 0) {
        return -1;
    }
    self->socket = socket_arg(socket);
    if (self->socket == NULL ||
        !PyUnicode_FSConverter(self->socket, &path_bytes)) {
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
    err = ensure_connected(self, PyBytes_AS_STRING(path_bytes));
    Py_END_ALLOW_THREADS
    Py_DECREF(path_bytes);
    if (err < 0) {
        raise_connect(self, err);
        return -1;
    }
    return 0;
}

/* The name as a request may carry it. */
static const char *
request_name(PyObject *name)
{
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(name, &len);

    if (s == NULL) {
        return NULL;
    }
    if ((size_t)len != strlen(s) || zb_name_check(s) < 0) {
        zbpy_raise(-EINVAL, name, "not a valid buffer name");
        return NULL;
    }
    return s;
}

struct create_args {
    const char *name;
    struct zb_buffer_config cfg;
    const char *group;
};

static int
call_create(struct zb_ctl *ctl, void *arg)
{
    struct create_args *a = arg;

    return zb_ctl_create(ctl, a->name, &a->cfg, a->group);
}

PyDoc_STRVAR(
    daemon_create_doc,
    "create(name, *, payload_size=0, metadata_size=0, mode=0, group=None)\n"
    "--\n\n"
    "Ask zbd to create and own buffer `name`. Zero sizes and mode 0 leave\n"
    "the daemon's defaults; `group` (a group name) owns the buffer's\n"
    "objects. Raises AlreadyExists, PermissionDenied, InvalidArgument...");

static PyObject *
daemon_create(DaemonObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "payload_size", "metadata_size",
                             "mode", "group",        NULL};
    struct create_args a = {0};
    PyObject *name, *group = Py_None;

    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "U|$O&O&O&O:create", kwlist, &name,
            zbpy_size_converter, &a.cfg.payload_size, zbpy_size_converter,
            &a.cfg.metadata_size, zbpy_mode_converter, &a.cfg.mode, &group)) {
        return NULL;
    }
    a.name = request_name(name);
    if (a.name == NULL) {
        return NULL;
    }
    if (group != Py_None) {
        if (!PyUnicode_Check(group)) {
            PyErr_SetString(PyExc_TypeError, "group must be a str or None");
            return NULL;
        }
        a.group = PyUnicode_AsUTF8(group);
        if (a.group == NULL) {
            return NULL;
        }
    }
    if (daemon_run(self, call_create, &a, 0, name) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

struct destroy_args {
    const char *name;
    int force;
};

static int
call_destroy(struct zb_ctl *ctl, void *arg)
{
    struct destroy_args *a = arg;

    return zb_ctl_destroy(ctl, a->name, a->force);
}

PyDoc_STRVAR(
    daemon_destroy_doc,
    "destroy(name, *, force=False)\n"
    "--\n\n"
    "Ask zbd to remove buffer `name`. Without `force` zbd refuses (Busy)\n"
    "while a peer is attached; with it, the peers are woken and told the\n"
    "other side is gone. Raises NotFound, PermissionDenied...");

static PyObject *
daemon_destroy(DaemonObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "force", NULL};
    struct destroy_args a = {0};
    PyObject *name;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|$p:destroy", kwlist, &name,
                                     &a.force)) {
        return NULL;
    }
    a.name = request_name(name);
    if (a.name == NULL) {
        return NULL;
    }
    if (daemon_run(self, call_destroy, &a, 0, name) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

struct list_args {
    char **names;
    size_t count;
};

static int
call_list(struct zb_ctl *ctl, void *arg)
{
    struct list_args *a = arg;

    return zb_ctl_list(ctl, &a->names, &a->count);
}

PyDoc_STRVAR(daemon_list_doc,
             "list()\n"
             "--\n\n"
             "The names of the buffers zbd owns, in the daemon's order.");

static PyObject *
daemon_list(DaemonObject *self, PyObject *unused)
{
    struct list_args a = {0};
    PyObject *list;

    if (daemon_run(self, call_list, &a, 1, NULL) < 0) {
        return NULL;
    }
    list = PyList_New((Py_ssize_t)a.count);
    for (size_t i = 0; list != NULL && i < a.count; i++) {
        PyObject *s =
            PyUnicode_DecodeUTF8(a.names[i], strlen(a.names[i]), "replace");

        if (s == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    zb_ctl_list_free(a.names);
    return list;
}

struct health_args {
    char line[ZB_CTL_LINE_MAX + 1];
    struct zb_ctl_reply *reply;
};

static int
call_health(struct zb_ctl *ctl, void *arg)
{
    struct health_args *a = arg;
    int err = zb_ctl_request(ctl, a->line, &a->reply);

    if (err == 0 && a->reply->status < 0) {
        err = a->reply->status;
        zb_ctl_reply_free(a->reply);
        a->reply = NULL;
    }
    return err;
}

PyDoc_STRVAR(
    daemon_health_doc,
    "health(name=None)\n"
    "--\n\n"
    "zbd's health report: HealthReport(status, daemon, buffers), with\n"
    "every buffer zbd owns, or only `name`. Each buffer is a BufferHealth\n"
    "with the fields of `zbctl health --json`. Raises NotFound for an\n"
    "unknown name.");

static PyObject *
daemon_health(DaemonObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", NULL};
    struct health_args *a;
    PyObject *name = Py_None, *report;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:health", kwlist, &name)) {
        return NULL;
    }
    a = PyMem_Calloc(1, sizeof(*a));
    if (a == NULL) {
        return PyErr_NoMemory();
    }
    if (name == Py_None) {
        strcpy(a->line, "health");
        name = NULL;
    }
    else {
        const char *n;

        if (!PyUnicode_Check(name)) {
            PyMem_Free(a);
            PyErr_SetString(PyExc_TypeError, "name must be a str or None");
            return NULL;
        }
        n = request_name(name);
        if (n == NULL) {
            PyMem_Free(a);
            return NULL;
        }
        PyOS_snprintf(a->line, sizeof(a->line), "health %s", n);
    }
    if (daemon_run(self, call_health, a, 1, name) < 0) {
        PyMem_Free(a);
        return NULL;
    }
    report = health_report_new(a->reply);
    zb_ctl_reply_free(a->reply);
    PyMem_Free(a);
    return report;
}

PyDoc_STRVAR(daemon_close_doc,
             "close()\n"
             "--\n\n"
             "Close the connection. Closing twice does nothing.");

static PyObject *
daemon_close(DaemonObject *self, PyObject *unused)
{
    struct zb_ctl *ctl;

    if (self->closed || self->lock == NULL) {
        self->closed = 1;
        Py_RETURN_NONE;
    }
    if (zbpy_lock(self->lock) < 0) {
        return NULL;
    }
    ctl = self->ctl;
    self->ctl = NULL;
    self->closed = 1;
    PyThread_release_lock(self->lock);
    zb_ctl_close(ctl);
    Py_RETURN_NONE;
}

static PyObject *
daemon_enter(DaemonObject *self, PyObject *unused)
{
    return Py_NewRef(self);
}

static PyObject *
daemon_exit(DaemonObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return daemon_close(self, NULL);
}

static PyObject *
daemon_get_socket(DaemonObject *self, void *closure)
{
    return Py_NewRef(self->socket ? self->socket : Py_None);
}

static PyObject *
daemon_get_closed(DaemonObject *self, void *closure)
{
    return PyBool_FromLong(self->closed);
}

static PyObject *
daemon_repr(DaemonObject *self)
{
    return PyUnicode_FromFormat("<zbclient.Daemon %R%s>",
                                self->socket ? self->socket : Py_None,
                                self->closed ? " closed" : "");
}

static PyMethodDef daemon_methods[] = {
    {"create", (PyCFunction)(void (*)(void))daemon_create,
     METH_VARARGS | METH_KEYWORDS, daemon_create_doc},
    {"destroy", (PyCFunction)(void (*)(void))daemon_destroy,
     METH_VARARGS | METH_KEYWORDS, daemon_destroy_doc},
    {"list", (PyCFunction)daemon_list, METH_NOARGS, daemon_list_doc},
    {"health", (PyCFunction)(void (*)(void))daemon_health,
     METH_VARARGS | METH_KEYWORDS, daemon_health_doc},
    {"close", (PyCFunction)daemon_close, METH_NOARGS, daemon_close_doc},
    {"__enter__", (PyCFunction)daemon_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))daemon_exit, METH_FASTCALL,
     "close() the connection."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef daemon_getset[] = {
    {"socket", (getter)daemon_get_socket, NULL, "The control socket's path.",
     NULL},
    {"closed", (getter)daemon_get_closed, NULL, "True once close() ran.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(
    daemon_doc,
    "Daemon(socket=None, timeout=None)\n"
    "--\n\n"
    "A connection to zbd's control socket: create, destroy, list, health.\n\n"
    "`socket` defaults to default_socket(); `timeout` (seconds) bounds\n"
    "every request (default 5). Raises DaemonUnavailable when no zbd\n"
    "listens there. Requests release the GIL; a Daemon may be shared\n"
    "between threads.");

/* clang-format off: PyVarObject_HEAD_INIT takes no comma */
PyTypeObject ZbpyDaemon_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zbclient.Daemon",
    .tp_basicsize = sizeof(DaemonObject),
    .tp_dealloc = (destructor)daemon_dealloc,
    .tp_repr = (reprfunc)daemon_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = daemon_doc,
    .tp_methods = daemon_methods,
    .tp_getset = daemon_getset,
    .tp_init = (initproc)daemon_init,
    .tp_new = PyType_GenericNew,
};
/* clang-format on */

int
zbpy_daemon_init_types(PyObject *module)
{
    if (BufferHealth_Type.tp_name == NULL &&
        (PyStructSequence_InitType2(&BufferHealth_Type, &buffer_health_desc) <
             0 ||
         PyStructSequence_InitType2(&DaemonHealth_Type, &daemon_health_desc) <
             0 ||
         PyStructSequence_InitType2(&HealthReport_Type, &health_report_desc) <
             0)) {
        return -1;
    }
    if (PyType_Ready(&ZbpyDaemon_Type) < 0) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Daemon", (PyObject *)&ZbpyDaemon_Type) <
            0 ||
        PyModule_AddObjectRef(module, "BufferHealth",
                              (PyObject *)&BufferHealth_Type) < 0 ||
        PyModule_AddObjectRef(module, "DaemonHealth",
                              (PyObject *)&DaemonHealth_Type) < 0 ||
        PyModule_AddObjectRef(module, "HealthReport",
                              (PyObject *)&HealthReport_Type) < 0) {
        return -1;
    }
    return 0;
}
