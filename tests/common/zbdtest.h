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

#define TZ_FDSTORE_MAX 32

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
	/* systemd's file-descriptor store, played: with `fdstore` set, descriptors
	 * zbd sends with FDSTORE=1 are kept (one per file, as systemd does),
	 * FDSTOREREMOVE=1 closes them, and tz_spawn passes them to the next zbd
	 * as LISTEN_FDS with their names. Without it they are closed on arrival. */
	bool fdstore;
	unsigned n_stored;
	struct {
		char name[256];
		int fd;
	} stored[TZ_FDSTORE_MAX];
	char reply[256 * 1024];
};

/* Make the private directory; write `conf` there as zbd.conf. NULL: one that
 * only turns off looking at foreign buffers (those of concurrent tests). */
void tz_setup(struct tz *t, const char *conf);

/* The descriptor stored as `fdname` (t->fdstore), or -1. */
int tz_stored_fd(const struct tz *t, const char *fdname);

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

/* Buffer NAME's health state, asked of zbd now (the request must succeed).
 * Static storage. */
const char *tz_state(struct tz *t, const char *name);

/* Whether zbd holds a pidfd on `pid` (its fdinfo says "Pid:"): it has found
 * that process and watches it. */
bool tz_watches(struct tz *t, pid_t pid);

/* Whether `list` names the buffer as zbd's own (not one it only observes,
 * owner=foreign). */
bool tz_in_list(struct tz *t, const char *name);

/*
 * zbd keeps serving other buffers, whatever happens to one: a create, a stream
 * of frames between a forked writer and a forked reader (every frame checked:
 * tu_frame_ok), a health request, a destroy. Start the stream before the
 * trouble and finish it after, so that it runs around it.
 */
struct tz_stream {
	const char *name;
	unsigned frames;
	pid_t writer, reader;
};
/* Create `name` (4 KiB payload) and start streaming `frames` frames through it. */
void tz_stream_start(struct tz *t, struct tz_stream *s, const char *name, unsigned frames);
/* Both peers exited 0 (every frame delivered intact), health of the buffer
 * answers, and it is destroyed; the test fails otherwise. */
void tz_stream_finish(struct tz *t, struct tz_stream *s);
/* Start and finish at once: 10,000 frames through a new buffer `name`. */
void tz_serves_another(struct tz *t, const char *name);
/* After the trouble: finish the stream `during` that ran around it, then
 * serve another new buffer (tz_serves_another). */
void tz_still_serving(struct tz *t, struct tz_stream *during);

/* Start zbctl ($ZBCTL) with `-s t->sock` and `args` (NULL-terminated), stdin
 * from `in` (NULL: /dev/null), stdout discarded, stderr into the file `err`
 * (in t->dir, say). Returns its pid. */
pid_t tz_zbctl_start(struct tz *t, const char *in, const char *err, char *const args[]);
/* Run zbctl as above to its end (20 s at most, or the test fails); its exit
 * code, and its stderr in errbuf. */
int tz_zbctl(struct tz *t, const char *in, char *errbuf, size_t size, char *const args[]);
