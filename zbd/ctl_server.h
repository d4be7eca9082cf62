/* SPDX-License-Identifier: MIT */
/*
 * The control socket: listening (or the socket systemd passed us), and the
 * clients. Every client is non-blocking and bounded, so none can stall the
 * others or grow zbd without limit: a request line is at most ZB_CTL_LINE_MAX
 * bytes and its newline, unread output at most CTL_OUTPUT_MAX beyond the reply being sent
 * (a watcher that never reads is dropped), requests are not read while a
 * client's replies pile up unread, and idle clients are closed after
 * client_idle_s (watchers are never idle).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "daemon.h"
#include "reply.h"

#define CTL_OUTPUT_MAX (1024 * 1024)
/* Stop reading requests while this much output waits: pipelined requests
 * from a client that does not read its replies cannot grow our memory. */
#define CTL_OUTPUT_PAUSE (64 * 1024)
#define CTL_CLIENTS_MAX 512

struct ctl_client {
	struct list link; /* in zbd.clients */
	struct zbd *daemon;
	int fd;
	ev_io io;
	ev_timer idle;
	ev_timer watch;
	bool watching;
	bool closing; /* send what is pending, then close */
	bool dead;    /* close at the end of the current callback */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char in[ZB_CTL_LINE_MAX + 1]; /* a whole line and its newline */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
};

/* Bind the control socket (or take systemd's) and start accepting. */
int ctl_listen(struct zbd *d);

/* Close every client and the listening socket (unlinked if we bound it). */
void ctl_shutdown(struct zbd *d);

/* Queue a reply: the body of `r`, `error=` when status < 0, `status=`, an empty line. */
void ctl_client_reply(struct ctl_client *c, struct reply *r, int status);

/* Push a health reply every interval_ms until the client hangs up. */
void ctl_client_watch(struct ctl_client *c, unsigned interval_ms);

/* Whether the peer may administer buffers: root, or in the configured admin group. */
bool ctl_client_is_admin(struct ctl_client *c);

/* Whether gid is the peer's primary or one of its supplementary groups (as at
 * connect time); false for (gid_t)-1. */
bool ctl_client_in_group(struct ctl_client *c, gid_t gid);
