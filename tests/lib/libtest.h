/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the libzbclient suites and of zbpeer, the second process they run:
 * deterministic frame contents both sides derive from (seed, sequence), access
 * to a segment's raw bytes, and peers that say when they are ready.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

/*
 * Frame k of a stream (sequence k) has a size and bytes that follow from the
 * seed alone, so writer and reader agree without talking. The bytes are a
 * window into a table of random bytes at an offset picked per sequence: a frame
 * shifted, truncated or taken from another sequence does not match.
 */
struct pattern {
	uint8_t *table;
	size_t table_len;
	uint64_t seed;
	size_t min_size, max_size;
};

void pattern_init(struct pattern *p, uint64_t seed, size_t min_size, size_t max_size);
void pattern_free(struct pattern *p);
size_t pattern_size(const struct pattern *p, uint64_t seq);
const uint8_t *pattern_data(const struct pattern *p, uint64_t seq, size_t size);

/* The bytes of the upstream vectors: frame k (seq k + 1) byte i = (k*31 + i) & 0xff. */
void vector_frame(uint8_t *out, uint64_t k, size_t size);

uint64_t splitmix64(uint64_t *state);

/* Milliseconds on the monotonic clock. */
int64_t now_ms(void);

/* ------------------------------------------------------------ segments */

/* Map /dev/shm/NAME read-write; the test fails if it cannot. */
uint8_t *seg_map(const char *name, size_t *ret_size);
void seg_unmap(uint8_t *base, size_t size);

/* Copy the whole segment into a malloc'ed buffer with the pid fields zeroed. */
uint8_t *seg_snapshot(const char *name, size_t *ret_size);

/* Create a segment of `size` bytes holding `data` (the rest zero) and both
 * semaphores (sem-w at `sem_w_count`, sem-r at 0), as a foreign owner would. */
void seg_install(const char *name, const void *data, size_t len, size_t size, unsigned sem_w_count);

/* A buffer as zbd makes it: well-formed, nobody attached, no lock file. */
void seg_create_unowned(const char *name, uint64_t metadata_size, uint64_t payload_size);

/* Compare two segment images; on a difference the test fails naming the first
 * differing offset and the OIEB field or ring offset it falls in. */
void seg_assert_equal(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		      uint64_t metadata_size);

/* The current count of sem-w-NAME or sem-r-NAME (`which` is 'w' or 'r'). */
int sem_value(const char *name, char which);
/* Post sem-w-NAME or sem-r-NAME `n` times, as a foreign peer would. */
void sem_post_n(const char *name, char which, unsigned n);

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

/*
 * Cleanup that survives failures. Check runs each test in a child that leaves
 * with _exit() when an assertion fails, skipping teardown and atexit, and kills
 * it on a timeout. So lt_setup() (the fixture's setup) tells the runner the
 * child's pid, and lt_run() (the runner's main) removes, once all tests ran,
 * every object named by tu_unique_name() in those children ("t<pid>-...").
 * lt_teardown() cleans up after a test that passed.
 */
void lt_setup(void);
void lt_teardown(void);
/* Run the suite, clean up as above; returns the process exit status. */
struct Suite; /* Check's; zbpeer uses this header without Check */
int lt_run(struct Suite *s);
