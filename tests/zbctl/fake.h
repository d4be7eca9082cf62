/* SPDX-License-Identifier: MIT */
/*
 * A fake zbd for the control-client tests: a forked child on a temporary Unix
 * socket that answers each request line with canned bytes, so replies the real
 * daemon would never send (malformed, oversize, silence) can be tried.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

enum fake_after {
	FAKE_CLOSE, /* close the connection after the last reply */
	FAKE_HANG,  /* keep the connection open and say nothing more */
};

struct fake {
	pid_t pid;
	int requests; /* read end of a pipe: every request line the child received */
	char dir[64];
	char path[128];
};

/*
 * Serve one connection. For each of the `n` replies the child reads one request
 * line, then sends the reply (NULL: sends nothing and hangs; "" sends nothing
 * and goes on; a \x01 byte in a reply is sent as NUL). `bytewise` sends
 * replies one byte at a time. `after` says what happens after the last reply.
 */
void fake_start(struct fake *f, const char *const *replies, size_t n, int bytewise,
		enum fake_after after);

/* One reply to one request, then close: the common case. */
void fake_start1(struct fake *f, const char *reply);

/* Serve a connection that, once the request arrives, sends `bytes` bytes of
 * "k=v" lines and no status line. */
void fake_start_flood(struct fake *f, size_t bytes);

/* Close the first connection at once (as zbd closes an idle client); serve
 * one request with `reply` on the next. */
void fake_start_idle_close(struct fake *f, const char *reply);

/* The next request line the child received (without newline), or "" at EOF. */
const char *fake_request(struct fake *f);

/* Kill the child, remove the socket and its directory. */
void fake_stop(struct fake *f);

/* A socket path in a fresh temporary directory where nothing listens. */
void fake_dead_path(struct fake *f);
