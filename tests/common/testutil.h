/* SPDX-License-Identifier: MIT */
/* Helpers every test suite shares. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A buffer name no other test (or test run) uses: "t<pid>-<tag>-<n>". */
const char *tu_unique_name(const char *tag);

/* Remove segment, semaphores and lock file of `name`, whatever state they are in. */
void tu_cleanup_name(const char *name);

/* Remove every object created through tu_unique_name() so far (for teardown). */
void tu_cleanup_all(void);

/* True if /dev/shm/NAME, either semaphore or the lock file of `name` exists. */
bool tu_any_object_exists(const char *name);

/* True if another process holds the flock on NAME.lock (tried from a child,
 * so the caller's own open file descriptions do not count). */
bool tu_lock_is_held(const char *name);

/* fork + exec argv; returns the child's pid (the test fails if it cannot). */
pid_t tu_spawn(char *const argv[]);

/* fork + exec `prog args...` (args NULL-terminated, at most 30) with stdin from
 * `in` and stdout/stderr to `out`/`err`, truncated first (NULL: /dev/null;
 * out and err may be the same file). Returns the child's pid. */
pid_t tu_spawn_io(const char *prog, char *const args[], const char *in, const char *out,
		  const char *err);

/* A tu_wait() status as a shell would say it: the exit code, or 128 + the
 * signal. The test fails if tu_wait() timed out (-1: the child hung). */
int tu_exit_status(int status);

/* waitpid with a timeout in ms; returns the raw status, or -1 on timeout
 * (the child is then SIGKILLed and reaped). */
int tu_wait(pid_t pid, int timeout_ms);
