/* SPDX-License-Identifier: MIT */
/*
 * zbd on a hostile or broken host (doc/threat-model.md, "What a host can do
 * to zbd"): a count no ring can hold, a wall clock stepped under zbd alone.
 * Each case is staged as it happens, and while it lasts zbd must keep
 * serving the other buffers (a create, a stream of 10,000 frames, a health
 * request) without burning CPU: under 5 % of a core over the case, from
 * /proc/PID/stat (a bound that catches a spin, not a benchmark).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define STREAM_FRAMES 10000
#define CPU_SHARE_MAX 0.05

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

/* ------------------------------------------------- what every case checks */

/* zbd's CPU time so far (user + system), in ms. */
static double cpu_ms(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long utime, stime;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ck_assert_int_gt(tu_read_file(path, buf, sizeof(buf)), 0);
	/* The command may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime),
			 2);
	return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

struct cpu_watch {
	double wall0, cpu0;
};

static void cpu_begin(struct cpu_watch *c)
{
	c->cpu0 = cpu_ms(t.pid);
	c->wall0 = tu_now_ms();
}

/* zbd used under CPU_SHARE_MAX of a core since cpu_begin. The clock ticks in
 * 10 ms steps: one tick is allowed on top, so a short case cannot fail on it. */
static void cpu_assert_low(const struct cpu_watch *c)
{
	double wall = tu_now_ms() - c->wall0, cpu = cpu_ms(t.pid) - c->cpu0;

	printf("zbd used %.0f ms of CPU in %.0f ms (%.1f %%)\n", cpu, wall, 100.0 * cpu / wall);
	ck_assert_msg(cpu <= CPU_SHARE_MAX * wall + 1000.0 / sysconf(_SC_CLK_TCK),
		      "zbd used %.0f ms of CPU in %.0f ms", cpu, wall);
}

static const char *health_state(const char *name)
{
	static char state[32];
	char rec[256];

	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	snprintf(state, sizeof(state), "%s", tz_get(t.reply, rec, "state"));
	return state;
}

/* NAME's state stays `want` through health requests and scans for ms. */
static void assert_state_stays(const char *name, const char *want, int ms)
{
	const char *state = "";

	ck_assert_msg(!TU_UNTIL(strcmp(state = health_state(name), want) != 0, ms, 20000),
		      "%s: state %s, want %s", name, state, want);
}

/* A create, a stream of STREAM_FRAMES frames, each verified, and a health
 * request on a buffer of its own: zbd serves the others, whatever the case. */
static void serve_another_buffer(const char *tag)
{
	const char *name = tu_unique_name(tag);
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;
	char buf[TU_FRAME_MAX], rec[256];

	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", name), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	for (uint64_t seq = 1; seq <= STREAM_FRAMES; seq++) {
		tu_frame_fill(buf, seq);
		ck_assert_int_eq(zb_writer_write(w, buf, tu_frame_size(seq), 5000), 0);
		ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert(tu_frame_ok(f.data, f.size, seq));
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
	}
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	/* Wrap markers count as frames too. */
	ck_assert_int_ge(tz_get_num(t.reply, rec, "frames_read"), STREAM_FRAMES);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "frames_read"),
			 tz_get_num(t.reply, rec, "frames_written"));
	ck_assert_str_eq(tz_get(t.reply, rec, "state"), "healthy");
	zb_writer_close(w);
	zb_reader_close(r);
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
}

/* ------------------------------------------------------------- the cases */

/*
 * Case 7: any member of a buffer's group can write any count. 2^62 frames
 * written into a 64 KiB ring cannot be (every entry takes a header): the
 * buffer is corrupt, never critical, and never becomes stalled.
 */
START_TEST(impossible_count_is_corrupt)
{
	const char *name = tu_unique_name("count");
	struct cpu_watch cpu;
	struct zb_segment seg;

	tz_setup(&t, "[zbd]\nscan_interval_ms = 10\nstall_ms = 50\n");
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", name), 0);
	ck_assert_int_eq(segment_attach(&seg, name), 0);
	cpu_begin(&cpu);
	zb_store(&seg.oieb->payload_written_count, UINT64_C(1) << 62);
	ck_assert_str_eq(health_state(name), "corrupt");
	serve_another_buffer("count-other");
	/* Well past stall_ms, scans included: still corrupt, never stalled. */
	assert_state_stays(name, "corrupt", 300);
	cpu_assert_low(&cpu);
	/* A count just past what the ring can hold is as impossible. */
	zb_store(&seg.oieb->payload_written_count, 65536 / 16 + 2);
	ck_assert_str_eq(health_state(name), "corrupt");
	zb_store(&seg.oieb->payload_written_count, 0);
	ck_assert_str_eq(health_state(name), "healthy");
	segment_detach(&seg);
}
END_TEST

/* Start zbd with its wall clock shifted by the int64 in t.dir/clock (clockshift.c). */
static void start_with_clockshift(char *clock_path, size_t size)
{
	char preload[PATH_MAX + 16], shift[PATH_MAX + 16], asan[512];
	char *prefix[] = { "/usr/bin/env", preload, shift, asan, NULL };
	const char *shim = getenv("CLOCKSHIFT");
	int64_t zero = 0;

	ck_assert_msg(shim != NULL, "CLOCKSHIFT (path of the clockshift shim) is not set");
	snprintf(clock_path, size, "%s/clock", t.dir);
	ck_assert_int_eq(tu_write_file(clock_path, &zero, sizeof(zero)), 0);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim);
	snprintf(shift, sizeof(shift), "ZB_CLOCKSHIFT=%s", clock_path);
	/* Under AddressSanitizer its runtime must come first, unless told otherwise. */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
		 getenv("ASAN_OPTIONS") ? ":" : "");
	tz_spawn(&t, prefix);
	ck_assert_msg(tz_wait_ready(&t, 5000), "zbd did not send READY=1 within 5 s");
}

static void clock_step(const char *clock_path, int64_t seconds)
{
	int fd = open(clock_path, O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &seconds, sizeof(seconds), 0), (ssize_t)sizeof(seconds));
	close(fd);
}

static long long uptime_s(void)
{
	ck_assert_int_eq(tz_request(&t, "health"), 0);
	return tz_get_num(t.reply, "daemon=zbd", "uptime_s");
}

/*
 * Case 6: the wall clock steps a day forward, then a day back, under zbd
 * alone (an LD_PRELOAD shim; the machine's clock is never touched). A ring
 * full for well under stall_ms stays critical, never stalled, and the uptime
 * moves by the seconds that passed, not by a day.
 */
START_TEST(wall_clock_steps_change_no_duration)
{
	const char *name = tu_unique_name("clock");
	char clock_path[PATH_MAX], buf[100] = { 0 };
	struct cpu_watch cpu;
	struct zb_writer *w;
	long long up;
	int err;

	tz_setup(&t, "[zbd]\nstall_ms = 20000\n");
	start_with_clockshift(clock_path, sizeof(clock_path));
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	while ((err = zb_writer_write(w, buf, sizeof(buf), 0)) == 0)
		;
	ck_assert_int_eq(err, -ENOBUFS);
	ck_assert_str_eq(health_state(name), "critical");
	up = uptime_s();
	cpu_begin(&cpu);

	/* libev rereads the wall clock about every half second: 1.5 s of scans
	 * and health requests after each step see it whatever the old code did. */
	clock_step(clock_path, 86400);
	serve_another_buffer("clock-fwd");
	assert_state_stays(name, "critical", 1500);
	ck_assert_int_le(uptime_s(), up + 5);

	clock_step(clock_path, -86400);
	serve_another_buffer("clock-back");
	assert_state_stays(name, "critical", 1500);
	ck_assert_int_ge(uptime_s(), up);
	ck_assert_int_le(uptime_s(), up + 5);
	cpu_assert_low(&cpu);
	zb_writer_close(w);
}
END_TEST

TU_SUITE(hostile_suite, "zbd-hostile", .root = true)
{
	TCase *tc = tu_tcase(s, "counts", NULL, teardown);

	tcase_add_test(tc, impossible_count_is_corrupt);
	tc = tu_tcase(s, "clock", NULL, teardown);
	tcase_add_test(tc, wall_clock_steps_change_no_duration);
}
