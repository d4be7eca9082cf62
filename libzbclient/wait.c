/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "wait.h"
#include "zbclient.h"

int64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t deadline_from_ms(int timeout_ms)
{
	if (timeout_ms < 0)
		return INT64_MAX;
	return clock_now_ns() + (int64_t)timeout_ms * 1000000;
}

int sem_wait_slice(sem_t *sem, int64_t deadline_ns)
{
	return sem_wait_slice_from(sem, deadline_ns, clock_now_ns());
}

int sem_wait_slice_from(sem_t *sem, int64_t deadline_ns, int64_t now)
{
	int64_t until = now + (int64_t)ZB_WAIT_SLICE_MS * 1000000;
	struct timespec ts;

	if (deadline_ns < until)
		until = deadline_ns;
	if (until <= now)
		return sem_take_token(sem) ? 0 : -ETIMEDOUT;
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	while (sem_clockwait(sem, CLOCK_MONOTONIC, &ts) < 0) {
		if (errno != EINTR)
			return -ETIMEDOUT;
	}
	return 0;
}

bool sem_take_token(sem_t *sem)
{
	return sem_trywait(sem) == 0;
}

void sem_post_once(sem_t *sem)
{
	int value;

	if (sem_getvalue(sem, &value) == 0 && value > 0)
		return;
	sem_post(sem);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * The first SPIN_PURE_NS spin on the CPU: a peer on another core answers
 * within that. After it, each round also yields: on a machine with few cores
 * the peer we wait for is often runnable on this very CPU (the scheduler
 * likes to put a wakee next to its waker), and a pure spin would then hold
 * it off for the whole spin. Measured in tests/bench (scenario 3).
 */
#define SPIN_PURE_NS 3000
/* A yield that took this long let another task run on our CPU. */
#define SPIN_YIELD_RAN_NS 2000

enum spin_outcome { SPIN_EXPIRED, SPIN_HIT, SPIN_HIT_SHARED };

static enum spin_outcome spin_run(bool (*ready)(void *), void *arg, unsigned spin_us,
				  int64_t deadline_ns)
{
	int64_t start, end, now;
	bool shared = false;

	start = clock_now_ns();
	end = start + (int64_t)spin_us * 1000;
	if (deadline_ns < end)
		end = deadline_ns;
	for (;;) {
		for (int i = 0; i < 64; i++) {
			if (ready(arg))
				return shared ? SPIN_HIT_SHARED : SPIN_HIT;
			cpu_relax();
		}
		now = clock_now_ns();
		if (now >= end)
			return ready(arg) ? SPIN_HIT_SHARED : SPIN_EXPIRED;
		if (now - start >= SPIN_PURE_NS) {
			sched_yield();
			if (clock_now_ns() - now >= SPIN_YIELD_RAN_NS)
				shared = true;
		}
	}
}

/*
 * The busy poll: a pure spin, never yielding. Whoever asks for it gives the
 * waiting side a CPU of its own; yielding would only hand the CPU to other
 * tasks while the peer answers (measured on a loaded machine, 64 B round
 * trips: p50 10.8 us with a yield every 64 polls, 0.18 us without). Returns
 * every BUSY_SLICE_US so the caller can look at its peer.
 */
static bool spin_busy(bool (*ready)(void *), void *arg, int64_t deadline_ns)
{
	int64_t end = clock_now_ns() + (int64_t)BUSY_SLICE_US * 1000;

	if (deadline_ns < end)
		end = deadline_ns;
	for (;;) {
		for (int i = 0; i < 64; i++) {
			if (ready(arg))
				return true;
			cpu_relax();
		}
		if (clock_now_ns() >= end)
			return ready(arg);
	}
}

bool spin_adaptive(struct spin_state *st, bool (*ready)(void *), void *arg, unsigned spin_us,
		   int64_t deadline_ns)
{
	enum spin_outcome o;

	if (spin_us == 0)
		return ready(arg);
	if (spin_forever(spin_us))
		return spin_busy(ready, arg, deadline_ns);
	if (st->misses >= SPIN_MISSES_MAX && ++st->skipped % SPIN_RETRY_EVERY != 0)
		return ready(arg);
	o = spin_run(ready, arg, spin_us, deadline_ns);
	if (o == SPIN_HIT)
		st->misses = 0;
	else if (st->misses < SPIN_MISSES_MAX)
		st->misses++;
	return o != SPIN_EXPIRED;
}

bool spin_forever(unsigned spin_us)
{
	return spin_us == ZB_SPIN_FOREVER;
}
