/* SPDX-License-Identifier: MIT */
/*
 * The control socket: listening (or the socket systemd passed us), and the
 * clients. Every client is non-blocking and bounded, so none can stall the
 * others or grow zbd without limit: a request line is at most ZB_CTL_LINE_MAX
 * bytes and its newline, unread output at most CTL_OUTPUT_MAX beyond the reply being sent
 * (a watcher that never reads is dropped), requests are not read while a
 * client's replies pile up unread, and idle clients are closed after
 * client_idle_s (watchers are never idle). What a request means is
 * ctl_commands' business: the server hands it each line and sends back the
 * reply it fills, or starts the watch it asks for.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "ctl_commands.h"
#include "model.h"

#define CTL_OUTPUT_MAX (1024 * 1024)
/* Stop reading requests while this much output waits: pipelined requests
 * from a client that does not read its replies cannot grow our memory. */
#define CTL_OUTPUT_PAUSE (64 * 1024)
#define CTL_CLIENTS_MAX 512

struct ctl_client {
	struct list link; /* in zbd.clients */
	struct zbd *daemon;
	ev_io io;
	ev_timer idle;
	ev_timer watch;
	bool watching;
	bool closing;		      /* send what is pending, then close */
	bool dead;		      /* close at the end of the current callback */
	struct ctl_peer peer;	      /* its connection and credentials */
	char in[ZB_CTL_LINE_MAX + 1]; /* a whole line and its newline */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
};

/* Bind the control socket (or take systemd's) and start accepting. */
int ctl_listen(struct zbd *d);

/* Close every client and the listening socket (unlinked if we bound it). */
void ctl_shutdown(struct zbd *d);

/* Run one request line of c (no newline; split in place) through
 * ctl_dispatch() and queue its reply, or start the watch it asks for. */
void ctl_client_request(struct ctl_client *c, char *line);
