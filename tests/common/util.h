/* SPDX-License-Identifier: MIT */
/*
 * The Check-free half of the test helpers: what the Check suites share with
 * programs that are not test runners (zbpeer, upstream, zbbench, the fuzz
 * harnesses). Nothing here asserts: functions return -errno or a sentinel,
 * and abort() only on what cannot happen in a sane test (an anonymous mmap
 * failing, waitpid on a pid that is not our child). testutil.h adds the
 * runner and the helpers that fail a Check test.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ time */

/* The monotonic clock, in milliseconds (with fractions) and in nanoseconds. */
double tu_now_ms(void);
int64_t tu_now_ns(void);
/* Sleep `us` microseconds, through signals. */
void tu_sleep_us(unsigned us);

/* Wait for a condition: evaluate `cond` (again and again, so it may ask
 * someone), sleeping poll_us between looks, until it holds or timeout_ms
 * have passed; the whole is true if it held. Sleep rather than spin: the
 * process that makes it true may need the CPU. */
#define TU_UNTIL(cond, timeout_ms, poll_us)                                                        \
	({                                                                                         \
		double tu_end_ = tu_now_ms() + (timeout_ms);                                       \
		bool tu_held_;                                                                     \
                                                                                                   \
		while (!(tu_held_ = (cond)) && tu_now_ms() < tu_end_)                              \
			tu_sleep_us(poll_us);                                                      \
		tu_held_;                                                                          \
	})

/* ------------------------------------------------------------- processes */

/* waitpid with a timeout in ms (< 0: none); returns the raw status, or -1 if
 * the child did not exit in time (it is then SIGKILLed and reaped). */
int tu_wait(pid_t pid, int timeout_ms);
/* The same, as an exit code: -1 if the child timed out or died by a signal. */
int tu_wait_exit(pid_t pid, int timeout_ms);

/* The next byte a process reports on the pipe `fd`, waiting up to timeout_ms
 * (< 0: no limit); -1 at EOF or on timeout. */
int tu_read_byte(int fd, int timeout_ms);
/* From a child: one byte `c` on `fd` ("ready"); a child that cannot say it
 * exits with 90 at once. fd < 0: nothing to say. */
void tu_say(int fd, char c);

/* Zeroed memory shared with the children forked after this call. */
void *tu_shared(size_t size);
void tu_shared_free(void *p, size_t size);

/* Whether this process runs under valgrind (meson test --setup=valgrind). */
bool tu_under_valgrind(void);

/* ----------------------------------------------------------------- files */

/* A small file's whole content into buf, NUL-terminated (truncated to
 * size - 1); its length, or -errno. */
int tu_read_file(const char *path, char *buf, size_t size);
/* Create or truncate `path` (mode 0600) with `len` bytes of data; 0 or -errno. */
int tu_write_file(const char *path, const void *data, size_t len);
/* Remove `path` and everything below it (links are removed, not followed). */
void tu_rmtree(const char *path);

/* ------------------------------------------------- names and what they own */

/*
 * Everything a test run creates carries the pid of the run (the test runner
 * or the program): buffer names start "t<run>-", private directories are
 * /tmp/zbt-<run>-XXXXXX. So tu_sweep() finds it all at the end, whichever
 * process made it and however it ended (a test child that failed half-way
 * leaves with _exit() and never reaches its teardown).
 */

/* The run this process belongs to is the calling process (the runner calls
 * it first; a program that never does is a run of its own). */
void tu_run_begin(void);

/* A buffer name no other test or run uses: "t<run>-<pid>-<tag>-<n>". Valid
 * until the next tu_unique_name() after a tu_cleanup_all(). */
const char *tu_unique_name(const char *tag);
/* The "t<run>-<pid>-" every unique name of this process starts with, for a
 * test that builds a name of its own (tu_sweep() removes it too). */
const char *tu_name_prefix(void);

/* Remove segment, semaphores and lock file of `name`, whatever state they are in. */
void tu_cleanup_name(const char *name);
/* Remove every object named by tu_unique_name() in this process so far. */
void tu_cleanup_all(void);

/* A private directory /tmp/zbt-<run>-XXXXXX, mode 0755 (other users the
 * test plays must reach a socket in it), in out (64 bytes at least); 0 or -errno. */
int tu_mkdtemp(char *out, size_t size);

/* Remove every object, lock file and private directory of this run. */
void tu_sweep(void);

/* The paths of the four objects of `name` (static storage per kind). */
const char *tu_shm_path(const char *name);
const char *tu_sem_path(const char *name, char which); /* 'w' or 'r' */
const char *tu_lock_path(const char *name);
/* True if any of the four objects of `name` exists. */
bool tu_any_object_exists(const char *name);
