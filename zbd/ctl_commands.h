/* SPDX-License-Identifier: MIT */
/*
 * The control commands: one table of {name, usage, who may, handler}. This is
 * where the -errno codes of the modules below (registry, health) become the
 * text a client reads. The server (ctl_server.h) calls in here and only moves
 * lines and replies; nothing here calls the server.
 */
#pragma once

#include <sys/types.h>

#include "model.h"
#include "reply.h"

/* Who sent a request: the peer's credentials at connect time (SO_PEERCRED),
 * and its connection, for its supplementary groups (SO_PEERGROUPS). */
struct ctl_peer {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* What ctl_dispatch() asks of the server instead of sending a reply. */
enum {
	CTL_NO_REPLY = 1, /* an empty line asks nothing */
	CTL_WATCH = 2,	  /* send a health reply every *ret_watch_ms (ctl_write_health) */
};

/*
 * Parse and run one request line (no newline) from `peer`. Returns the status
 * of the reply to send, 0 or a negative code, with its records and error text
 * in r (the server adds the error= and status= lines); or CTL_NO_REPLY; or
 * CTL_WATCH with *ret_watch_ms set. The line is split in place.
 */
int ctl_dispatch(struct zbd *d, const struct ctl_peer *peer, char *line, struct reply *r,
		 unsigned *ret_watch_ms);

/* The body of a health reply: daemon record, then `only` or every buffer. */
int ctl_write_health(struct zbd *d, struct reply *r, const char *only);
