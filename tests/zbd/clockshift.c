/* SPDX-License-Identifier: MIT */
/*
 * clockshift: an LD_PRELOAD shim that moves one process's wall clock, so a
 * test can step zbd's date without touching the machine's.
 *
 *	ZB_CLOCKSHIFT=PATH   a file holding the shift in seconds (an int64_t,
 *	                     native byte order), which the test may rewrite at
 *	                     any moment: it is mapped, and read at every call
 *
 * CLOCK_REALTIME (and its coarse, alarm and TAI variants), gettimeofday()
 * and time() are shifted; the monotonic and CPU clocks are left alone.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const volatile int64_t *shift;
static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_gettimeofday)(struct timeval *, void *);

/* Other libraries' constructors (gnutls, pulled in by libmicrohttpd) may ask
 * the time before ours has run: the real calls are found on first use. */
static void find_real(void)
{
	if (!real_clock_gettime)
		real_clock_gettime =
			(int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	if (!real_gettimeofday)
		real_gettimeofday =
			(int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
}

__attribute__((constructor)) static void clockshift_init(void)
{
	const char *path = getenv("ZB_CLOCKSHIFT");
	int fd;

	find_real();
	if (!path)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort(); /* a test that asks for a shift must get it */
	shift = mmap(NULL, sizeof(*shift), PROT_READ, MAP_SHARED, fd, 0);
	if (shift == MAP_FAILED)
		abort();
	close(fd);
}

static int64_t shift_now(void)
{
	return shift ? *shift : 0;
}

static int is_wall(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE ||
	       clk == CLOCK_REALTIME_ALARM || clk == CLOCK_TAI;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	int r;

	find_real();
	r = real_clock_gettime(clk, ts);

	if (r == 0 && is_wall(clk))
		ts->tv_sec += shift_now();
	return r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	/* Declared nonnull, but NULL is allowed: the compiler may not assume it. */
	struct timeval *volatile out = tv;
	int r;

	find_real();
	r = real_gettimeofday(tv, tz);

	if (r == 0 && out)
		out->tv_sec += shift_now();
	return r;
}

time_t time(time_t *ret)
{
	struct timespec ts;
	time_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	if (ret)
		*ret = now;
	return now;
}
