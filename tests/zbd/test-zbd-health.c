/* SPDX-License-Identifier: MIT */
/*
 * Health against a real zbd: byte and frame counters, utilisation and the
 * states (healthy, degraded, critical, stalled, corrupt), and the systemd
 * side: STATUS=, WATCHDOG=1 pings, STOPPING=1.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

static struct tz t;
static char rec[256];

static void teardown(void)
{
	tz_teardown(&t);
}

static long long num_of(const char *name, const char *key)
{
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	return tz_get_num(t.reply, rec, key);
}

/* Poll health (the observable result) until `key` reaches `want`, up to 3 s. */
static long long wait_num(const char *name, const char *key, long long want)
{
	long long v = -1;

	TU_UNTIL((v = num_of(name, key)) == want, 3000, 10000);
	return v;
}

/* bytes_written once a scan has moved it (frame counts are read live, bytes
 * move at scans); t.reply then holds that health reply. */
static long long wait_bytes_written(const char *name)
{
	long long bytes = 0;

	for (int i = 0; i < 200 && bytes <= 0; i++) {
		ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
		bytes = tz_get_num(t.reply, rec, "bytes_written");
		if (bytes <= 0)
			usleep(10000);
	}
	return bytes;
}

/* `n` frames of `size` bytes written, each read and released before the next. */
static void stream(struct zb_writer *w, struct zb_reader *r, const void *buf, size_t size, int n)
{
	struct zb_frame f;

	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(zb_writer_write(w, buf, size, 1000), 0);
		ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
		zb_reader_release(r, &f);
	}
}

static const char *wait_state(const char *name, const char *want)
{
	const char *s = "";

	TU_UNTIL(strcmp(s = tz_state(&t, name), want) == 0, 3000, 10000);
	return s;
}

START_TEST(counters_utilisation_and_states)
{
	const char *name = tu_unique_name("health");
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;
	char buf[1024] = { 0 };
	uint64_t payload = 0, frames = 0;
	int err;

	tz_setup(&t, "[zbd]\nscan_interval_ms = 10\nstall_ms = 200\n");
	tz_start(&t);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "create %s payload=16K", name), 0);
	ck_assert_str_eq(tz_state(&t, name), "healthy");
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);

	/* 85 % used: degraded. Frames of 100 bytes take 116 in the ring. */
	while ((frames + 1) * 116 <= 16384 * 85 / 100 + 116) {
		ck_assert_int_eq(zb_writer_write(w, buf, 100, 0), 0);
		frames++;
		payload += 100;
	}
	ck_assert_int_ge(frames * 116, 16384 * 80 / 100);
	ck_assert_str_eq(wait_state(name, "degraded"), "degraded");
	ck_assert_int_eq(wait_num(name, "bytes_written", (long long)payload), (long long)payload);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "frames_written"), (long long)frames);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "used_bytes"), (long long)frames * 116);

	/* Full and read nothing for stall_ms: critical, then stalled. */
	while ((err = zb_writer_write(w, buf, 100, 0)) == 0) {
		frames++;
		payload += 100;
	}
	ck_assert_int_eq(err, -ENOBUFS);
	ck_assert_str_eq(wait_state(name, "stalled"), "stalled");

	/* The reader drains: healthy again, and every byte counted once. */
	for (uint64_t i = 0; i < frames; i++) {
		ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
		zb_reader_release(r, &f);
	}
	ck_assert_str_eq(wait_state(name, "healthy"), "healthy");
	ck_assert_int_eq(wait_num(name, "bytes_read", (long long)payload), (long long)payload);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "frames_read"), (long long)frames);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "used_bytes"), 0);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

/*
 * Wraps are entries of the control block's counts, not frames: health leaves
 * the counted ones (markers) out of frames_*, and bytes_* are the payload of
 * the frames walked between scans. Exact while no scan interval laps the ring:
 * rounds of 3 frames of 1010 bytes in a ring of 4096, each round seen by a
 * scan before the next, a marker every lap.
 */
/* A zbd with `conf`, buffer `name` of `payload` bytes, a reader and a writer on it. */
static void start_pair(const char *conf, const char *name, const char *payload,
		       struct zb_reader **r, struct zb_writer **w)
{
	tz_setup(&t, conf);
	tz_start(&t);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "create %s payload=%s", name, payload), 0);
	ck_assert_int_eq(zb_reader_open(r, name), 0);
	ck_assert_int_eq(zb_writer_open(w, name), 0);
}

START_TEST(frames_and_bytes_leave_wraps_out)
{
	const char *name = tu_unique_name("wraps");
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;
	char buf[1010] = { 0 };
	long long frames = 0;

	start_pair("[zbd]\nscan_interval_ms = 10\n", name, "4K", &r, &w);
	for (int round = 0; round < 30; round++) {
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(zb_writer_write(w, buf, sizeof(buf), 1000), 0);
			ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
			zb_reader_release(r, &f);
			frames++;
		}
		ck_assert_int_eq(wait_num(name, "bytes_read", frames * 1010), frames * 1010);
	}
	ck_assert_int_eq(wait_num(name, "bytes_written", frames * 1010), frames * 1010);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "frames_written"), frames);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "frames_read"), frames);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

START_TEST(lapping_the_ring_between_scans_is_estimated)
{
	const char *name = tu_unique_name("lap");
	struct zb_writer *w;
	struct zb_reader *r;
	char buf[1000] = { 0 };
	long long bytes, frames;

	/* A long scan interval: 640 frames of 1000 bytes go round a ring of 64 KiB
	 * ten times between two scans, over headers zbd can no longer walk. The
	 * frames since the last wrap give the mean frame: the estimate is close
	 * (it once counted one byte per frame, 50,176 of 640,000). */
	start_pair("[zbd]\nscan_interval_ms = 300\n", name, "64K", &r, &w);
	stream(w, r, buf, sizeof(buf), 640);
	bytes = wait_bytes_written(name);
	frames = tz_get_num(t.reply, rec, "frames_written");
	printf("640 frames, 640,000 bytes lapping a 64 KiB ring between scans: "
	       "frames_written=%lld bytes_written=%lld\n",
	       frames, bytes);
	ck_assert_int_ge(bytes, 640000 - 640000 / 20);
	ck_assert_int_le(bytes, 640000 + 640000 / 20);
	ck_assert_int_ge(frames, 640 - 640 / 20);
	ck_assert_int_le(frames, 640 + 640 / 20);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

/*
 * A writer that wraps early (doc/protocol.md section 14, item 21) laps a
 * stretch of four frames, far short of the ring: 100 frames of 1 MiB with
 * their header in a ring of 8 MiB take some 24 markers (none of them needed:
 * the frames fit the ring exactly), all between two scans. The estimate once
 * assumed one marker per 8 MiB and counted the rest as frames (124).
 */
START_TEST(lapping_with_early_wraps)
{
	const char *name = tu_unique_name("lapew");
	size_t size = (1u << 20) - ZB_FRAME_HEADER_SIZE;
	char *buf = calloc(1, size);
	long long bytes, frames, want = 100 * (long long)size;
	struct zb_writer *w;
	struct zb_reader *r;

	ck_assert_ptr_nonnull(buf);
	start_pair("[zbd]\nscan_interval_ms = 300\n", name, "8M", &r, &w);
	stream(w, r, buf, size, 100);
	bytes = wait_bytes_written(name);
	frames = tz_get_num(t.reply, rec, "frames_written");
	printf("100 frames of 1 MiB wrapping early between scans: frames_written=%lld "
	       "bytes_written=%lld\n",
	       frames, bytes);
	ck_assert_int_ge(frames, 95);
	ck_assert_int_le(frames, 105);
	ck_assert_int_ge(bytes, want - want / 20);
	ck_assert_int_le(bytes, want + want / 20);
	free(buf);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

START_TEST(lapping_small_frames)
{
	const char *name = tu_unique_name("lap");
	struct zb_writer *w;
	struct zb_reader *r;
	char buf[64] = { 0 };
	long long bytes;

	/* Frames of 64 ring bytes end exactly at the end of the ring: no markers,
	 * and the estimate of a lapped interval is exact. */
	start_pair("[zbd]\nscan_interval_ms = 300\n", name, "4K", &r, &w);
	stream(w, r, buf, 48, 1000);
	ck_assert_int_eq(wait_num(name, "frames_read", 1000), 1000);
	ck_assert_int_eq(wait_num(name, "frames_written", 1000), 1000);
	/* Frame counts are read live; bytes move at the next scan. */
	bytes = wait_bytes_written(name);
	ck_assert_int_eq(bytes, 48000);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

START_TEST(corrupt_control_block)
{
	const char *name = tu_unique_name("corrupt");
	struct zb_segment seg;

	tz_setup(&t, "[zbd]\nscan_interval_ms = 10\n");
	tz_start(&t);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	ck_assert_int_eq(segment_attach(&seg, name), 0);
	seg.oieb->payload_read_pos = 1u << 20; /* beyond the ring */
	ck_assert_str_eq(tz_state(&t, name), "corrupt");
	seg.oieb->payload_read_pos = 0;
	ck_assert_str_eq(tz_state(&t, name), "healthy");
	seg.oieb->version[0] = 9;
	ck_assert_str_eq(tz_state(&t, name), "corrupt");
	seg.oieb->version[0] = 1;
	segment_detach(&seg);
}
END_TEST

static bool two_pings(struct tz *tt)
{
	return tt->watchdog_pings >= 2;
}

static bool stopping(struct tz *tt)
{
	return tt->stopping;
}

START_TEST(systemd_status_watchdog_stopping)
{
	double t0;

	tz_setup(&t, NULL);
	t.watchdog_usec = "200000";
	tz_start(&t);
	ck_assert_msg(strstr(t.status, "0 buffers"), "STATUS=%s", t.status);
	t0 = tu_now_ms();
	tz_notify_wait(&t, 2000, two_pings);
	ck_assert_uint_ge(t.watchdog_pings, 2);
	/* Half the interval: two pings take about 200 ms, certainly under 1 s. */
	ck_assert_double_lt(tu_now_ms() - t0, 1000);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", tu_unique_name("st")), 0);
	tz_notify_wait(&t, 0, stopping); /* take what is queued */
	ck_assert_msg(strstr(t.status, "1 buffer"), "STATUS=%s", t.status);
	ck_assert_int_eq(tz_kill(&t, SIGTERM), 0);
	tz_notify_wait(&t, 1000, stopping);
	ck_assert(t.stopping);
}
END_TEST

TU_SUITE(zbd_health_suite, "zbd-health")
{
	TCase *tc = tu_tcase(s, "health", NULL, teardown);

	tcase_add_test(tc, counters_utilisation_and_states);
	tcase_add_test(tc, frames_and_bytes_leave_wraps_out);
	tcase_add_test(tc, lapping_the_ring_between_scans_is_estimated);
	tcase_add_test(tc, lapping_small_frames);
	tcase_add_test(tc, lapping_with_early_wraps);
	tcase_add_test(tc, corrupt_control_block);
	tcase_add_test(tc, systemd_status_watchdog_stopping);
}
