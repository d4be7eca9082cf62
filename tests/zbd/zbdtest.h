/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the zbd suites: a real zbd process per test on a private
 * directory (socket, state file, config), readiness through a NOTIFY_SOCKET
 * the test owns, a raw control-socket client, and frame patterns that make
 * every byte of a stream checkable.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

struct tz {
	char dir[64];		   /* private: socket, state file, config, notify socket */
	char sock[128];		   /* zbd's control socket */
	char conf[128];		   /* config path when the test wrote one */
	int notify_fd;		   /* our NOTIFY_SOCKET end */
	pid_t pid;		   /* the zbd process, 0 when none runs */
	char status[256];	   /* the last STATUS= zbd sent */
	unsigned watchdog_pings;   /* WATCHDOG=1 messages seen */
	bool stopping;		   /* STOPPING=1 seen */
	bool ready;		   /* READY=1 seen from the current zbd */
	const char *watchdog_usec; /* WATCHDOG_USEC for the next zbd, or NULL */
	bool sock_from_env;	   /* pass the socket as $ZBD_SOCKET, not -s */
	char reply[256 * 1024];
};

/* Call first in main(): remembers the runner's pid so that tz_sweep() finds
 * everything the tests made, whichever test process made it. */
void tz_init_runner(void);

/* Remove every object, lock and directory this test run created (even by
 * tests that failed half-way), for main() after the runner. */
void tz_sweep(void);

/* A test program's main(): run the suite, sweep, exit status for meson. */
int tz_run(Suite *s);

/* A buffer name unique to this test and findable by tz_sweep(). */
const char *tz_name(const char *tag);

/* Make the private directory; write `conf` there as zbd.conf if not NULL. */
void tz_setup(struct tz *t, const char *conf);

/* Start zbd on t->dir and wait (up to 5 s) for READY=1. */
void tz_start(struct tz *t);

/* Start zbd with extra argv in front (e.g. a socket-activation wrapper); no wait. */
pid_t tz_spawn(struct tz *t, char *const prefix[]);

/* Wait up to timeout_ms for a datagram with READY=1 on the notify socket. */
bool tz_wait_ready(struct tz *t, int timeout_ms);

/* Read notifications for up to timeout_ms or until `until` returns true. */
void tz_notify_wait(struct tz *t, int timeout_ms, bool (*until)(struct tz *t));

/* Send `sig` to zbd and reap it; returns its wait status. */
int tz_kill(struct tz *t, int sig);

/* Stop zbd (SIGTERM) if it runs, and check it exited 0 (so a sanitizer's
 * complaint fails the test); remove the private directory. */
void tz_teardown(struct tz *t);

/* Connect to t->sock (the test fails if it cannot). */
int tz_connect(struct tz *t);

/* Send `line` + "\n" on fd and read one reply into t->reply; its status, or
 * INT32_MIN if the connection closed first. */
int tz_request_fd(struct tz *t, int fd, const char *line);

/* One request on a fresh connection. */
int tz_request(struct tz *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read one whole reply (through "status=N\n\n") from fd within timeout_ms. */
int tz_read_reply(int fd, char *out, size_t size, int timeout_ms);

/* The value of `key` in the record that starts with `record` ("buffer=cam0"),
 * or in the whole reply when record is NULL; NULL if absent. Static storage. */
const char *tz_get(const char *reply, const char *record, const char *key);
long long tz_get_num(const char *reply, const char *record, const char *key);

/* Frame pattern: size and content follow from the sequence number. */
size_t tz_frame_size(uint64_t seq);
void tz_frame_fill(void *buf, uint64_t seq);
bool tz_frame_ok(const void *data, size_t size, uint64_t seq);

/* Monotonic milliseconds. */
double tz_now_ms(void);

/* fork a child that dies with the test process; runs fn(arg) and _exits with
 * its result. */
pid_t tz_fork(int (*fn)(void *arg), void *arg);

/* Kill `pid` with SIGKILL after delay_ms, from a helper process; the time of
 * the kill lands in *killed_at_ms (shared memory, from tz_shared()). */
pid_t tz_kill_later(pid_t pid, int delay_ms, volatile double *killed_at_ms);

/* A page of memory shared with children forked after this call. */
void *tz_shared(size_t size);
