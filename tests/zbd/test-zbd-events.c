/* SPDX-License-Identifier: MIT */
/*
 * Health events (zbd/events.c): zbd logs each change of a buffer's state as
 * it happens (healthy -> degraded -> critical -> stalled, and back), and
 * each dead peer it reaps with the frames it took. Here stderr is a file, so
 * they are lines; under systemd they are structured journal entries with
 * ZB_BUFFER=, ZB_STATE=, ZB_PID= (tests/system checks those in a booted
 * systemd).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define FRAME 1000 /* 1016 bytes with its header: 52 are 80.6 % of 64 KiB, 62 are 96.1 % */

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

/* Health answers from the counters at once; the event follows at the next scan. */
static void wait_state(const char *name, const char *want)
{
	TU_UNTIL(strcmp(tz_state(&t, name), want) == 0, 5000, 10000);
	ck_assert_msg(strcmp(tz_state(&t, name), want) == 0, "not %s: %s", want, t.reply);
}

static void write_frames(struct zb_writer *w, unsigned n)
{
	static char frame[FRAME];

	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(zb_writer_write(w, frame, sizeof(frame), 1000), 0);
}

START_TEST(state_changes_are_logged)
{
	const char *a = tu_unique_name("events");
	char from_to[64];
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;

	tz_setup(&t, NULL); /* stall_ms 2000: critical lasts past the event interval */
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	ck_assert_int_eq(zb_writer_open(&w, a), 0);

	write_frames(w, 52);
	wait_state(a, "degraded");
	tz_log_has(&t, true, a, "state healthy -> degraded", NULL);
	write_frames(w, 10);
	wait_state(a, "critical");
	tz_log_has(&t, true, a, "state degraded -> critical", NULL);
	wait_state(a, "stalled");
	tz_log_has(&t, true, a, "state critical -> stalled", NULL);

	/* A reader drains it: back to healthy, said once. */
	ck_assert_int_eq(zb_reader_open(&r, a), 0);
	for (int i = 0; i < 62; i++) {
		ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
	}
	wait_state(a, "healthy");
	snprintf(from_to, sizeof(from_to), "state %s -> healthy", "stalled");
	tz_log_has(&t, true, a, from_to, NULL);
	zb_reader_close(r);
	zb_writer_close(w);
}
END_TEST

START_TEST(reaped_peers_are_logged)
{
	const char *a = tu_unique_name("events-reap");
	struct zb_writer *w;
	char pid_text[32];
	pid_t reader;

	tz_setup(&t, NULL);
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	ck_assert_int_eq(zb_writer_open(&w, a), 0);
	write_frames(w, 3);
	reader = tu_reader_holding_frame(a);
	kill(reader, SIGKILL);
	tu_wait(reader, 5000);
	snprintf(pid_text, sizeof(pid_text), "reader %d died holding 1 frames", (int)reader);
	tz_log_has(&t, true, a, pid_text, NULL);
	zb_writer_close(w);
}
END_TEST

/* The log lines of `name` that contain `what`. */
static unsigned count_lines(const char *name, const char *what)
{
	static char log[256 * 1024];
	char path[160];
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/zbd.log", t.dir);
	ck_assert_int_ge(tu_read_file(path, log, sizeof(log)), 0);
	for (const char *l = log; (l = strstr(l, name)); l++) {
		size_t len = strcspn(l, "\n");
		char line[512];

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		n += strstr(line, what) != NULL;
	}
	return n;
}

/* A ring hovering at the 80 % threshold flips its state at every scan; the
 * log says so at most every half second, counting the changes in between. */
START_TEST(flapping_is_rate_limited)
{
	const char *a = tu_unique_name("events-flap");
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;
	unsigned lines;

	tz_setup(&t, "[zbd]\nscan_interval_ms = 5\n");
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	ck_assert_int_eq(zb_writer_open(&w, a), 0);
	ck_assert_int_eq(zb_reader_open(&r, a), 0);
	write_frames(w, 51); /* 79.1 % */
	for (int i = 0; i < 40; i++) {
		write_frames(w, 1);	/* 80.6 %: degraded */
		tu_sleep_us(25 * 1000); /* a few scans each way; how many does not matter */
		ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
		tu_sleep_us(25 * 1000);
	}
	/* About 2 s of flapping: at most 2 lines a second, plus the first. */
	lines = count_lines(a, ": state ");
	ck_assert_msg(lines >= 1 && lines <= 6, "%u state lines", lines);
	tz_log_has(&t, true, a, "changes in between", NULL);
	zb_reader_close(r);
	zb_writer_close(w);
}
END_TEST

TU_SUITE(zbd_events_suite, "zbd-events")
{
	TCase *tc = tu_tcase(s, "events", NULL, teardown);

	tcase_add_test(tc, state_changes_are_logged);
	tcase_add_test(tc, reaped_peers_are_logged);
	tcase_add_test(tc, flapping_is_rate_limited);
}
