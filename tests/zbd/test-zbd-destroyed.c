/* SPDX-License-Identifier: MIT */
/*
 * `destroy NAME force` while peers are attached: every peer, blocked or
 * streaming, learns that its buffer was destroyed (ZB_EDESTROYED, its own
 * words; zbctl exits 1), nothing more goes through the removed segment, and
 * the buffer made again under the same name is a new one. A forced destroy
 * used to leave a reader that never saw a writer, and a writer blocked on a
 * full ring, waiting for ever, streaming peers streaming on through the
 * removed segment, and a reader it stopped exiting 0 as if the stream ended.
 *
 * How fast they learn is printed, not asserted: the bounds below only catch
 * a peer that never learns.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define HANG_MS 5000
#define DESTROYED_TEXT "buffer destroyed while attached"

static struct tz t;
static struct tz_stream during; /* through another buffer, around each test */

static void setup(void)
{
	tz_setup(&t, NULL);
	tz_start_logged(&t);
	tz_stream_start(&t, &during, tu_unique_name("during"), 10000);
}

static void teardown(void)
{
	tz_teardown(&t);
}

static bool health_says(const char *name, const char *key, long long at_least)
{
	return tz_request(&t, "health %s", name) == 0 && tz_get_num(t.reply, NULL, key) >= at_least;
}

/* A peer zbctl ended by the destroy: exit 1 in time, and the words. */
static void assert_told(pid_t pid, const char *err_path, const char *who, double destroyed_at)
{
	char err[1024];
	int code = tu_exit_status(tu_wait(pid, HANG_MS));

	printf("forced destroy -> %s exits after %.1f ms\n", who, tu_now_ms() - destroyed_at);
	ck_assert_int_ge(tu_read_file(err_path, err, sizeof(err)), 0);
	ck_assert_msg(code == 1 && strstr(err, DESTROYED_TEXT), "%s: exit %d: %s", who, code, err);
}

static const char *path_in_dir(const char *file)
{
	static char paths[4][96];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", t.dir, file);
	return p;
}

/* A zbctl read that never saw a writer, and a zbctl write blocked on a full
 * ring with no reader: both stay blocked until told, then exit 1. */
START_TEST(blocked_zbctl_peers_told)
{
	const char *quiet = tu_unique_name("quiet"), *full = tu_unique_name("full");
	const char *rerr = path_in_dir("read.err"), *werr = path_in_dir("write.err");
	const char *lines = path_in_dir("lines");
	char text[4096];
	pid_t reader, writer;
	double t0;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = i % 8 == 7 ? '\n' : 'x';
	ck_assert_int_eq(tu_write_file(lines, text, sizeof(text)), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", quiet), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", full), 0);
	reader = tz_zbctl_start(&t, NULL, rerr, (char *const[]){ "read", (char *)quiet, NULL });
	writer = tz_zbctl_start(&t, lines, werr,
				(char *const[]){ "write", (char *)full, "--lines", NULL });
	ck_assert(TU_UNTIL(health_says(quiet, "reader_alive", 1), HANG_MS, 2000));
	/* 512 frames of 7 bytes do not fit 4 KiB: the writer waits for room. */
	ck_assert(TU_UNTIL(health_says(full, "used_bytes", 4096 - 22), HANG_MS, 2000));
	ck_assert(health_says(full, "writer_alive", 1));

	ck_assert_int_eq(tz_request(&t, "destroy %s force", quiet), 0);
	t0 = tu_now_ms();
	assert_told(reader, rerr, "zbctl read with no writer ever", t0);
	ck_assert_int_eq(tz_request(&t, "destroy %s force", full), 0);
	t0 = tu_now_ms();
	assert_told(writer, werr, "zbctl write blocked on a full ring", t0);
	ck_assert(!tu_any_object_exists(quiet) && !tu_any_object_exists(full));
	tz_still_serving(&t, &during);
}
END_TEST

/* zbctl write from /dev/zero and zbctl read --follow streaming through a
 * 64 MiB ring: both stop and say why. */
START_TEST(streaming_zbctl_peers_told)
{
	const char *name = tu_unique_name("stream");
	const char *rerr = path_in_dir("read.err"), *werr = path_in_dir("write.err");
	pid_t reader, writer;
	double t0;

	ck_assert_int_eq(tz_request(&t, "create %s payload=64M", name), 0);
	reader = tz_zbctl_start(&t, NULL, rerr,
				(char *const[]){ "read", (char *)name, "--follow", NULL });
	writer = tz_zbctl_start(
		&t, "/dev/zero", werr,
		(char *const[]){ "write", (char *)name, "--frame-size", "4096", NULL });
	ck_assert(TU_UNTIL(health_says(name, "frames_read", 1000), HANG_MS, 2000));
	ck_assert_int_eq(tz_request(&t, "destroy %s force", name), 0);
	t0 = tu_now_ms();
	assert_told(writer, werr, "streaming zbctl write", t0);
	assert_told(reader, rerr, "zbctl read --follow", t0);
	ck_assert(!tu_any_object_exists(name));
	tz_still_serving(&t, &during);
}
END_TEST

/* What each streaming peer process saw (shared with the test). */
struct seen {
	int writer_err, reader_err;
	double writer_told_ms, reader_told_ms;
	unsigned long long frames_after; /* read after the destroy was answered */
	double destroyed_ms;		 /* when zbd answered the destroy */
	int destroyed;			 /* set once destroyed_ms is */
};

static struct seen *seen;
static const char *stream_name;

static int streaming_writer(void *arg)
{
	static char frame[1024];
	struct zb_writer *w;
	int err;

	(void)arg;
	if (zb_writer_open(&w, stream_name) < 0)
		return 1;
	while ((err = zb_writer_write(w, frame, sizeof(frame), HANG_MS)) == 0)
		;
	seen->writer_told_ms = tu_now_ms();
	seen->writer_err = err;
	zb_writer_close(w);
	return 0;
}

static int streaming_reader(void *arg)
{
	struct zb_reader *r;
	struct zb_frame f;
	int err;

	(void)arg;
	if (zb_reader_open(&r, stream_name) < 0)
		return 1;
	while ((err = zb_reader_read(r, &f, HANG_MS)) == 0) {
		if (__atomic_load_n(&seen->destroyed, __ATOMIC_ACQUIRE))
			seen->frames_after++;
		zb_reader_release(r, &f);
	}
	seen->reader_told_ms = tu_now_ms();
	seen->reader_err = err;
	/* Told once, told for good: nothing comes out of the removed segment. */
	if (zb_reader_read(r, &f, 0) != ZB_EDESTROYED)
		return 2;
	zb_reader_close(r);
	return 0;
}

/* Library peers streaming through a 64 MiB ring are told ZB_EDESTROYED (not
 * "writer gone" / "reader gone"); frames written to the buffer made again
 * under the same name reach a new reader, and no old peer is attached to it. */
START_TEST(streaming_library_peers_told)
{
	pid_t writer, reader;

	stream_name = tu_unique_name("lib");
	seen = tu_shared(sizeof(*seen));
	ck_assert_int_eq(tz_request(&t, "create %s payload=64M", stream_name), 0);
	reader = tu_fork(streaming_reader, NULL);
	writer = tu_fork(streaming_writer, NULL);
	ck_assert(TU_UNTIL(health_says(stream_name, "frames_read", 1000), HANG_MS, 2000));
	ck_assert_int_eq(tz_request(&t, "destroy %s force", stream_name), 0);
	seen->destroyed_ms = tu_now_ms();
	__atomic_store_n(&seen->destroyed, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(tu_exit_status(tu_wait(writer, HANG_MS)), 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, HANG_MS)), 0);
	printf("forced destroy -> streaming writer told after %.2f ms, reader after %.2f ms "
	       "(%llu frames read meanwhile)\n",
	       seen->writer_told_ms - seen->destroyed_ms, seen->reader_told_ms - seen->destroyed_ms,
	       seen->frames_after);
	ck_assert_int_eq(seen->writer_err, ZB_EDESTROYED);
	ck_assert_int_eq(seen->reader_err, ZB_EDESTROYED);
	ck_assert_str_eq(zb_strerror(ZB_EDESTROYED), DESTROYED_TEXT);

	/* The name again: a new buffer, with no peer from before. */
	tz_serves_another(&t, stream_name);
	tz_still_serving(&t, &during);
	tu_shared_free(seen, sizeof(*seen));
}
END_TEST

TU_SUITE(zbd_destroyed_suite, "zbd-destroyed")
{
	TCase *tc = tu_tcase(s, "destroyed", setup, teardown);

	tcase_add_test(tc, blocked_zbctl_peers_told);
	tcase_add_test(tc, streaming_zbctl_peers_told);
	tcase_add_test(tc, streaming_library_peers_told);
}
