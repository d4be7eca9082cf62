/* SPDX-License-Identifier: MIT */
/*
 * What a Reader and a Writer share (handle.c): the library handle and the
 * lock that serialises calls on it, the buffer's name, attaching (one reader
 * and one writer per buffer and process), waiting in slices, closing, and
 * the private base type zbclient._Handle, whose methods, properties and
 * slots both inherit: name, closed, stats, set_spin(), the context manager,
 * repr, weak references.
 */
#ifndef ZBPY_HANDLE_H
#define ZBPY_HANDLE_H

#include "zbpy.h"

typedef struct ZbpyHandle ZbpyHandle;

/* What a kind of handle adds. The library calls themselves are picked by
 * `writer` in handle.c: zb_writer_*() or zb_reader_*(). */
struct zbpy_handle_kind {
    const char *what; /* "reader" or "writer", in messages */
    int writer;       /* 1 for writers, as zbpy_attach() counts them */
    /* Let go of the handle lock, the GIL not needed; NULL just releases it.
     * A reader first carries out the frame releases queued meanwhile. */
    void (*unlock)(ZbpyHandle *self);
    /* The type's close(), which __exit__ calls. */
    PyObject *(*close)(ZbpyHandle *self, PyObject *unused);
};

/* The start of ReaderObject and WriterObject. */
struct ZbpyHandle {
    PyObject_HEAD
    void *lib; /* struct zb_reader * or zb_writer *; NULL once closed */
    const struct zbpy_handle_kind *kind;
    PyObject *name;
    PyThread_type_lock lock; /* serialises the library calls on lib */
    int owner;               /* created the buffer: close() removes it */
    int attached;            /* recorded by zbpy_attach() */
    PyObject *weakreflist;
};

extern PyTypeObject ZbpyHandle_Type;

/*
 * A closed handle of `type` (a subtype of _Handle) for buffer `name`, with
 * its lock; NULL with an exception. The subtype's own fields are zero.
 */
ZbpyHandle *zbpy_handle_new(PyTypeObject *type,
                            const struct zbpy_handle_kind *kind,
                            PyObject *name);

/*
 * Attach `self` (from zbpy_handle_new()) to its buffer: open it, or for a
 * reader with `create` non-NULL, create it and own it. Returns `self`, or
 * NULL with an exception, `self` released then.
 */
PyObject *zbpy_handle_open(ZbpyHandle *self,
                           const struct zb_buffer_config *create);

/* The subtypes' tp_dealloc ends here, after freeing what they added. */
void zbpy_handle_dealloc(ZbpyHandle *self);

/* ValueError "NAME: reader is closed"; returns NULL. */
PyObject *zbpy_handle_closed_error(ZbpyHandle *self);

/*
 * Take the handle lock for a quick call, the GIL held on entry and return:
 * 0, or -1 with ValueError if the handle is (or got) closed, or with the
 * exception a signal handler raised. zbpy_handle_unlock() lets it go.
 */
int zbpy_handle_lock(ZbpyHandle *self);
void zbpy_handle_unlock(ZbpyHandle *self);

/*
 * One try of a blocking library call, waiting at most `timeout_ms`: the
 * handle lock held, maybe without the GIL. Returns what the library does.
 */
typedef int (*zbpy_attempt)(ZbpyHandle *self, void *arg, int timeout_ms);

/*
 * Call `attempt` until the library has what it waits for (a frame for a
 * reader, space for a writer) or `deadline` passes: if `gil_first`, once
 * with the GIL held and no wait (no system call when it is there already),
 * then in slices with the GIL released, checking for signals between them.
 * Returns 0, or -1 with an exception: the library's error, ValueError if
 * the handle got closed, or what a signal handler raised.
 */
int zbpy_handle_wait(ZbpyHandle *self, const struct zbpy_deadline *deadline,
                     int gil_first, zbpy_attempt attempt, void *arg);

/*
 * close(): detach from the buffer. `closing` (may be NULL), called with the
 * GIL and the handle lock held, may refuse with -1 and an exception, or do
 * the kind's last work before the library handle goes. Closing twice, or a
 * handle another thread closed meanwhile, does nothing.
 */
PyObject *zbpy_handle_close(ZbpyHandle *self, int (*closing)(ZbpyHandle *));

/* The getter of writer_connected / reader_connected: is the other side's
 * process attached and alive. */
PyObject *zbpy_handle_get_peer_connected(ZbpyHandle *self, void *closure);

#endif
