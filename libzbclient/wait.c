/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <time.h>

#include "wait.h"

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
	int64_t now = clock_now_ns(), until = now + (int64_t)ZB_WAIT_SLICE_MS * 1000000;
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

bool spin_until(bool (*ready)(void *), void *arg, unsigned spin_us, int64_t deadline_ns)
{
	int64_t end;

	if (spin_us == 0)
		return ready(arg);
	end = clock_now_ns() + (int64_t)spin_us * 1000;
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
