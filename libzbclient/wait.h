/* SPDX-License-Identifier: MIT */
/*
 * Waiting: deadlines on the monotonic clock, semaphore waits in slices so a
 * sleeper re-checks its peer's liveness even when nobody wakes it, and a
 * bounded spin before sleeping. None of this runs on the per-frame fast path.
 */
#pragma once

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>

/* Longest single sleep: a dead peer with no daemon is noticed within this. */
#define ZB_WAIT_SLICE_MS 100

int64_t clock_now_ns(void);

/* Absolute monotonic deadline for a timeout in ms (negative: never). */
int64_t deadline_from_ms(int timeout_ms);

/* Sleep on `sem` until a token, the deadline, or one slice, whichever is first.
 * 0 with a token taken, -ETIMEDOUT otherwise. */
int sem_wait_slice(sem_t *sem, int64_t deadline_ns);
/* The same, for a caller that has just read the clock (`now`). */
int sem_wait_slice_from(sem_t *sem, int64_t deadline_ns, int64_t now);

/* Take a token if one is there, without entering the kernel. */
bool sem_take_token(sem_t *sem);

/* Post unless a token is already waiting: a sleeper needs one token to wake,
 * and a count that only grows would overflow on a long stream (doc/protocol.md section 10). */
void sem_post_once(sem_t *sem);

/*
 * Spinning pays only while the peer runs on another CPU and answers within
 * the spin. A spin that misses (expires, or waits while other tasks run on
 * our CPU: the peer shares it, or the machine is oversubscribed) costs CPU
 * and, worse, holds off whoever shares the CPU. After SPIN_MISSES_MAX misses
 * in a row the spin is skipped, but for one wait in SPIN_RETRY_EVERY that
 * checks whether things changed; one clean hit restores it. An idle stream
 * thus stops paying for the spin after a few frames.
 */
#define SPIN_MISSES_MAX 8
/* A busy poll returns to its caller this often to probe the peer's pid. */
#define BUSY_SLICE_US 1000
#define SPIN_RETRY_EVERY 16

struct spin_state {
	unsigned misses;  /* spins in a row that did not catch the peer cleanly */
	unsigned skipped; /* waits since the spin began to be skipped */
};

/* Spin up to spin_us (bounded by the deadline) until ready(arg) is true; the
 * spin is skipped while it keeps missing (state in *st, zeroed to start).
 * ZB_SPIN_FOREVER (busy poll) spins for one BUSY_SLICE_US at most, never
 * skipped and never yielding: the caller looks at its peer and spins again,
 * never sleeping (spin_forever()). */
bool spin_adaptive(struct spin_state *st, bool (*ready)(void *), void *arg, unsigned spin_us,
		   int64_t deadline_ns);

/* Whether spin_us asks for a busy poll that never sleeps (ZB_SPIN_FOREVER). */
bool spin_forever(unsigned spin_us);
