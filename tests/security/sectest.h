/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the security suites: play another local user in a forked child,
 * keep zbd's log where a test can read it, stage attacks on /tmp in a private
 * mount namespace, and read back the owner and mode of a buffer's objects.
 */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "zbdtest.h"

#define NOBODY 65534
#define NOGROUP 65534

/* Run fn(arg) in a forked child as uid/gid with the given supplementary groups
 * and umask 0 (so what it creates has exactly the mode it asks for); returns
 * the child's exit code (the test fails if it does not exit within 20 s).
 * *ret_pid, if not NULL, gets the child's pid. */
int st_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, int (*fn)(void *arg),
	       void *arg, pid_t *ret_pid);

/* Start zbd like tz_start, with its stderr going to t->dir/zbd.log. */
void st_start_logged(struct tz *t);

/* Whether zbd's log (from st_start_logged) has a line containing every one
 * of the NULL-terminated strings; the test fails with the log if `want` and
 * it has not (retried for up to a second: the log is written as it happens). */
bool st_log_has(struct tz *t, bool want, ...) __attribute__((sentinel));

/* Give this test process a mount namespace of its own with a fresh tmpfs on
 * /tmp, so the lock directory can be attacked without touching the real one.
 * Skips the test (returns false) where namespaces are unavailable. */
bool st_private_tmp(void);

/* lstat `path`; the test fails if it does not exist. */
struct stat st_lstat(const char *path);

/* Assert owner, group and mode (permission bits) of the four objects of `name`. */
void st_assert_objects(const char *name, uid_t uid, gid_t gid, mode_t mode);

/* Whether any of the four objects of `name` exists. */
bool st_any_object(const char *name);

/* Paths of the objects of `name` (static storage, one per call site kind). */
const char *st_shm_path(const char *name);
const char *st_sem_path(const char *name, char which);
const char *st_lock_path(const char *name);

/* Whole content of a small file into buf (NUL-terminated); -errno on failure. */
int st_read_file(const char *path, char *buf, size_t size);
