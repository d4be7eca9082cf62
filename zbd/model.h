/* SPDX-License-Identifier: MIT */
/*
 * zbd's data model: the daemon, the buffers it owns, the peers it watches and
 * the control clients it serves. One libev loop in struct zbd drives it all;
 * every watcher is embedded in the struct it serves and found again with
 * container_of. Every module may read these structs; each owns the functions
 * for one part of them, and calls only modules below it:
 *
 *	main -> daemon -> ctl_server -> ctl_commands -> registry -> reaper, statefile
 *	                                             -> health   <- registry
 *	                                             -> foreign -> registry, health, reaper
 *	daemon -> registry, foreign, health, reaper (scan timer), notify (systemd)
 *	log, reply, config: called by any of them, call none of them
 *
 * A lower module that has news for a higher one reports it through a callback
 * the higher one gave it (buffers_changed below), never by calling it;
 * zbd/check-deps.sh (test zbd-deps) fails on any call that closes a cycle.
 */
#pragma once

#include <ev.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "config.h"
#include "fdbudget.h"
#include "list.h"
#include "mapguard.h"
#include "segment.h"
#include "zbclient-version.h"

/* The project version, one number for the library and the daemon (meson.build). */
#define ZBD_VERSION ZB_VERSION_STRING

struct MHD_Daemon;

/* A recorded reader or writer of a buffer, watched through a pidfd. */
struct zbd_peer {
	struct zbd_buffer *buffer;
	bool is_reader;
	uint64_t pid; /* the pid the watcher belongs to; 0: not watching */
	int pidfd;
	ev_io watcher;
};

/* What the scans learned about one buffer, for health. Times are mono_now()'s
 * (clock.h), never the wall clock's. */
struct buffer_stats {
	bool primed; /* one sample taken: deltas are meaningful */
	ev_tstamp sampled_at;
	uint64_t written_count, read_count;
	uint64_t write_pos, read_pos;
	uint64_t bytes_written, bytes_read; /* payload; see health.c */
	uint64_t wraps_written, wraps_read; /* counted wraps, left out of frames_* */
	double frame_payload, frame_ring;   /* mean payload and ring bytes of a frame seen */
	bool wrap_seen, wrap_counted;	    /* whether the last wrap seen took a count */
	double write_fps, read_fps, write_bps, read_bps;
	ev_tstamp read_moved_at; /* last time read_count changed */
	const char *state;	 /* at the last sample (health.c); NULL before the first */
	const char *logged_state; /* the last state an event said (events.c) */
	ev_tstamp logged_at;
	unsigned state_changes; /* since that event */
};

struct zbd_buffer {
	struct list link; /* in zbd.buffers */
	struct zbd *daemon;
	char name[ZB_NAME_MAX + 1];
	struct zb_segment seg;
	int lock_fd; /* flock held for the buffer's life */
	mode_t mode;
	gid_t gid;
	bool adopted; /* taken over from an earlier zbd rather than created */
	/* SIGBUS in its mappings is absorbed (mapguard.h); once one was, the
	 * buffer is corrupt for good and zbd lets its peers go (abandoned). */
	struct mapguard_set guard;
	bool abandoned;
	/* Not zbd's: a buffer of another owner that zbd observes (foreign.c). Never
	 * in the state file, never adopted, destroyed, or stood in for. */
	bool foreign;
	ino_t seg_ino; /* foreign: the segment's inode, to tell when it is gone */
	struct zbd_peer reader, writer;
	uint64_t readers_reaped, writers_reaped;
	uint64_t frames_lost; /* held by readers that died, counted at their reap (reaper.c) */
	struct buffer_stats stats;
};

/* A buffer's lock descriptor that systemd kept while zbd was down (fdstore.c). */
struct fdstore_fd {
	char name[ZB_NAME_MAX + 1];
	int fd; /* -1 once claimed */
};

struct zbd {
	struct ev_loop *loop;
	struct zbd_config cfg;
	const char *config_path; /* NULL: built-in defaults */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char state_path[PATH_MAX];
	uint64_t pid;	   /* ours: the fence value while we repair a reader's death */
	ev_tstamp started; /* mono_now() */

	int listen_fd;
	int activation_fd;	   /* zbd.socket's socket from systemd, -1: none (fdstore.c) */
	struct fdstore_fd *stored; /* locks from systemd's fd store, until adopted */
	size_t n_stored;
	bool socket_ours; /* we bound it (not socket activation): we unlink it */
	ev_io listen_watcher;
	ev_timer accept_backoff; /* accept() failed for want of resources: retry later */
	struct fdbudget fds;
	struct list clients;
	size_t n_clients;

	struct list buffers;
	size_t n_buffers;
	struct list foreign; /* buffers of others that zbd observes (foreign.c) */
	size_t n_foreign;
	/* Called (when set) after the set of buffers changed: how the registry
	 * tells the daemon, which updates systemd's STATUS= (registry_init). */
	void (*buffers_changed)(void *ctx);
	void *buffers_changed_ctx;

	struct MHD_Daemon *http; /* the metrics listener (metrics_http.c); NULL: off */
	ev_io http_io;
	ev_timer http_timer;

	ev_timer scan_timer;
	ev_timer foreign_timer; /* looking for foreign buffers, every foreign_scan_ms */
	ev_timer watchdog_timer;
	ev_signal sig_term, sig_int, sig_hup;
};
