/* SPDX-License-Identifier: MIT */
/*
 * Shared by the reliability tests (crash matrix, soak): a frame pattern that
 * makes every delivered byte checkable, a ledger in shared memory where
 * writers and readers (forked processes) record what they committed and
 * delivered, the peer programs themselves, and zbd's health counters.
 *
 * Frames. A writer's session is a number the harness gives each writer it
 * starts on a buffer (1, 2, 3...). Frame `seq` of session `s` has a size and
 * content that follow from (s, seq) alone: [u64 s][u64 seq][pattern...][u64
 * checksum of everything before it], the size and the pattern bytes from the
 * tests' frame pattern (pattern.h) at a sequence number made of s and seq. A
 * reader checks all of it, plus the sequence numbers: any difference is
 * corruption, and the test fails. The session in the frame itself lets a
 * reader that takes over from a dead one tell whose frames it gets.
 *
 * The ledger of a buffer. written[s] is the last seq the writer of session s
 * saw committed; hi[s] the highest seq of s any reader delivered (checked and
 * recorded before it is released); gaps[s] the frames of s a reader found
 * skipped when it took over from a dead one. After a run:
 *   total(s)     = max(written[s], hi[s])   (a writer may die between its
 *                  commit and its record: the reader proves the commit)
 *   delivered(s) = hi[s] - gaps[s]          (each frame counted once; frames a
 *                  new reader receives again after a reader died are counted
 *                  in `redelivered`, never twice)
 *   lost(s)      = total(s) - delivered(s)
 * A frame is lost only when a reader died after taking it and before
 * recording it; zbd then counts it at the reap (health frames_lost, an upper
 * bound: see zbd/reaper.c), which the tests check against.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zbdtest.h"

#define REL_SESSIONS 2048
#define REL_FRAME_MAX 512

struct rel_ledger {
	uint64_t written[REL_SESSIONS];
	uint64_t hi[REL_SESSIONS];
	uint64_t gaps[REL_SESSIONS];
	uint64_t cur_session; /* session of the last frame delivered */
	uint64_t redelivered; /* frames a reader received again (see above) */
	uint64_t corrupt;     /* frames that failed a check: must stay 0 */
	int stopping;	      /* soak: readers exit once drained */
	char why[160];	      /* the first corruption seen */
};

/* Figures summed over one ledger. */
struct rel_sum {
	uint64_t total, delivered, lost, redelivered, corrupt;
};
void rel_ledger_sum(const struct rel_ledger *l, struct rel_sum *ret);

/* Frame pattern. */
size_t rel_frame_size(uint64_t session, uint64_t seq);
void rel_frame_fill(void *buf, uint64_t session, uint64_t seq);
/* 0 and the session in *ret_session, or -1 with the reason in why. */
int rel_frame_check(const void *data, size_t size, uint64_t seq, uint64_t *ret_session, char *why,
		    size_t why_size);

/* A peer process: run in a forked child, returns its exit status. */
struct rel_peer {
	const char *name;
	struct rel_ledger *ledger;
	uint64_t session; /* writer: its session */
	uint64_t count;	  /* writer: frames to write then close; 0: until stopped */
	bool zc;	  /* writer: acquire, fill in two halves, commit */
	bool persist;	  /* writer: a missing reader is waited for, not an exit */
	unsigned hold;	  /* reader: frames kept held at once (oldest released first) */
	bool until_gone;  /* reader: exit 0 at "writer gone" */
	uint64_t until_session, until_seq; /* reader: exit 0 once it delivered this frame */
	int ready_fd;			   /* a byte is written here once attached; -1: none */
	int timeout_ms;			   /* per read / write */
};

/* Exit codes of the peers. */
enum {
	REL_OK = 0,
	REL_EXIT_OPEN = 10,	   /* could not attach */
	REL_EXIT_CORRUPT = 11,	   /* a frame failed a check */
	REL_EXIT_TIMEOUT = 12,	   /* a read or write timed out */
	REL_EXIT_ERROR = 13,	   /* any other library error */
	REL_EXIT_READER_GONE = 14, /* writer: the reader went away */
	REL_EXIT_DESTROYED = 15,   /* the buffer was destroyed under the peer */
};

int rel_writer(void *arg);
int rel_reader(void *arg);

/* Fork a peer (fn: rel_writer or rel_reader) with its ready pipe, and wait
 * up to timeout_ms until it says it is attached; the test fails if it does
 * not. Returns its pid. */
pid_t rel_start(int (*fn)(void *), struct rel_peer *p, int timeout_ms);

/* zbd's health of `name` from the socket: the value of `key`, or -1 if zbd
 * does not answer. Drains zbd's notifications first (tz_notify_drain()). */
long long rel_health(struct tz *t, const char *name, const char *key);

/* Randomness (splitmix64), seeded once per process. */
uint64_t rel_rand(void);
void rel_seed(uint64_t seed);

/* Resident memory (kB), open descriptors and pidfds of a process. */
long rel_vmrss_kb(pid_t pid);
int rel_count_fds(pid_t pid, int *ret_pidfds);
