/* SPDX-License-Identifier: MIT */
/*
 * A private zbd for a test: a real zbd process on a private directory
 * (socket, state file, config, optionally its log), readiness through a
 * NOTIFY_SOCKET the test owns, and a raw control-socket client. Used by the
 * zbd, security, zbctl and reliability suites.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

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
	bool logged;		   /* zbd's stderr goes to dir/zbd.log (tz_start_logged) */
	char reply[256 * 1024];
};

/* Make the private directory; write `conf` there as zbd.conf. NULL: one that
 * only turns off looking at foreign buffers (those of concurrent tests). */
void tz_setup(struct tz *t, const char *conf);

/* Start zbd on t->dir and wait (up to 5 s) for READY=1. */
void tz_start(struct tz *t);

/* tz_start, with zbd's stderr going to t->dir/zbd.log from now on. */
void tz_start_logged(struct tz *t);

/* Whether zbd's log (tz_start_logged) has a line containing every one of the
 * NULL-terminated strings; the test fails with the log if `want` and it has
 * not, or !want and it has (retried for up to a second: the log is written as
 * it happens). */
bool tz_log_has(struct tz *t, bool want, ...) __attribute__((sentinel));

/* Start zbd with extra argv in front (e.g. a socket-activation wrapper); no wait. */
pid_t tz_spawn(struct tz *t, char *const prefix[]);

/* Wait up to timeout_ms for a datagram with READY=1 on the notify socket. */
bool tz_wait_ready(struct tz *t, int timeout_ms);

/* Read notifications for up to timeout_ms or until `until` returns true. */
void tz_notify_wait(struct tz *t, int timeout_ms, bool (*until)(struct tz *t));

/* Take every notification zbd has sent so far. zbd blocks in sd_notify once
 * ~10 datagrams are queued, as it should under systemd, which reads at once:
 * tz_connect() and tz_request*() drain first; a test that talks to zbd in
 * another way (the library, zbctl) calls this before. */
void tz_notify_drain(struct tz *t);

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

/* Whether `list` names the buffer as zbd's own (not one it only observes,
 * owner=foreign). */
bool tz_in_list(struct tz *t, const char *name);
