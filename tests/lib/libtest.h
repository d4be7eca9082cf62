/* SPDX-License-Identifier: MIT */
/*
 * What only the libzbclient suites need, on top of the common helpers: zbpeer,
 * the second process they run (a real writer or reader that says when it is
 * ready), a thread that kills a peer while the test blocks in the library,
 * and the bytes of the upstream test vectors.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "segtest.h"
#include "testutil.h"
#include "zbclient.h"

/* The bytes of the upstream vectors: frame k (seq k + 1) byte i = (k*31 + i) & 0xff. */
void vector_frame(uint8_t *out, uint64_t k, size_t size);
/* Write vector frame k (`size` bytes, at most 2048) without waiting. */
void vector_write(struct zb_writer *w, uint64_t k, size_t size);
/* Read the next frame without waiting; it must be vector frame k, sequence
 * k + 1, of `size` bytes. Released if `release`. */
void vector_read(struct zb_reader *r, uint64_t k, size_t size, bool release);

/* ------------------------------------------------------------ peers */

struct peer {
	pid_t pid;
	int fd; /* read end of the peer's status pipe */
};

/*
 * Run zbpeer (path from $ZBPEER) with `args` (NULL-terminated) and wait until
 * it reports 'R' (attached) on its status pipe. The test fails, with the
 * peer's exit status, if it reports anything else or exits first.
 */
void peer_start(struct peer *p, const char *const args[]);
/* Run zbpeer with `args` to its end (it need not become ready); returns its
 * exit code, or -1 if it was killed or timed out. */
int peer_run(const char *const args[], int timeout_ms);
/* Wait up to timeout_ms for the next status byte; returns it, or -1 on EOF/timeout. */
int peer_status(struct peer *p, int timeout_ms);
/* Wait for the peer to exit; fails the test unless it exits with status 0. */
void peer_expect_success(struct peer *p, int timeout_ms);
/* SIGKILL the peer and reap it, so kill(pid, 0) says it is gone. */
void peer_kill(struct peer *p);

/* From another thread: after `delay_ms`, SIGKILL and reap `pid`. Lets a test
 * kill a peer while its own thread is blocked inside the library. */
void killer_start(pid_t pid, int delay_ms);
void killer_join(void);
