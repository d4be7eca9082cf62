/* SPDX-License-Identifier: MIT */
/*
 * zbclient._zbclient: libzbclient for CPython. Shared declarations of the
 * module's parts: errors and handle locking (module.c), Reader and Frame
 * (reader.c), Writer (writer.c), Daemon and the health records (daemon.c).
 *
 * Threading model. libzbclient handles are not thread-safe, and Python code
 * may share one handle between threads, so every handle carries a lock that
 * serialises the library calls made on it. The lock is never held while the
 * thread waits for the GIL, and the GIL is never held while the thread waits
 * for the lock: blocking calls release the GIL, take the handle lock, and
 * wait in the library in slices of ZBPY_SLICE_MS, releasing the lock and
 * checking for signals between slices. So Ctrl-C interrupts a wait within a
 * slice, close() from another thread takes effect within a slice, and no
 * thread waits for the handle lock longer than one slice.
 */
#ifndef ZBPY_H
#define ZBPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <zbclient.h>

/* Longest single wait inside the library, in milliseconds. */
#define ZBPY_SLICE_MS 50

/* Module state lives in statics: the module is single-phase and not meant
 * for subinterpreters (it maps shared memory a process attaches to once). */
extern PyObject *zbpy_Error;

/*
 * Raise the exception class of library code `code` (negative) for the
 * buffer or socket `name` (may be NULL), with `detail` (may be NULL) after
 * the library's text. -ENOMEM raises MemoryError. Returns NULL.
 */
PyObject *zbpy_raise(int code, PyObject *name, const char *detail);

/* The exception class of library code `code` (borrowed). */
PyObject *zbpy_error_class(int code);

/*
 * Timeouts from Python: None waits forever, a number is seconds (>= 0).
 * zbpy_deadline_init() parses one (-1 with an exception); zbpy_slice_ms()
 * gives the next slice to wait, 0 once the deadline has passed.
 */
struct zbpy_deadline {
    int64_t ns;    /* -1: forever, else an absolute CLOCK_MONOTONIC time */
    int poll_only; /* the timeout was 0 */
};

int zbpy_deadline_init(PyObject *timeout, struct zbpy_deadline *deadline);
int zbpy_slice_ms(int64_t deadline_ns);

/*
 * Take `lock` with the GIL held on entry and on return, releasing the GIL
 * only while the lock is busy. Returns 0, or -1 with an exception set when a
 * signal handler raised while waiting.
 */
int zbpy_lock(PyThread_type_lock lock);

/*
 * One reader and one writer per buffer and process: zbpy_attach() records
 * that this process attaches to `name` as writer (1) or reader (0), or
 * raises Busy (-1) if it already is; zbpy_detach() forgets it.
 */
int zbpy_attach(int writer, PyObject *name);
void zbpy_detach(int writer, PyObject *name);

/* PyArg "O&" converters (1 done, 0 with an exception): a size in bytes (a
 * non-negative int) into a uint64_t; a permission mode (0 to 0o7777, as
 * "I" parses it) into a mode_t. */
int zbpy_size_converter(PyObject *obj, void *ret);
int zbpy_mode_converter(PyObject *obj, void *ret);

/* Types and their set-up, called once by the module's init. */
extern PyTypeObject ZbpyReader_Type;
extern PyTypeObject ZbpyFrame_Type;
extern PyTypeObject ZbpyWriter_Type;
extern PyTypeObject ZbpyDaemon_Type;
extern PyTypeObject ZbpyStats_Type;

int zbpy_handle_init_types(PyObject *module);
int zbpy_reader_init_types(PyObject *module);
int zbpy_writer_init_types(PyObject *module);
int zbpy_daemon_init_types(PyObject *module);

/* A Stats struct sequence from library counters, or NULL. */
PyObject *zbpy_stats_new(const struct zb_stats *stats);

#endif
