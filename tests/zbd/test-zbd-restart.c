/* SPDX-License-Identifier: MIT */
/*
 * zbd restarts: SIGKILL mid-stream loses no frame and a new zbd adopts the
 * buffer (list, health, reaping all resume); SIGTERM leaves buffers in place;
 * a buffer whose objects vanished while no zbd ran is dropped from the state.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define FRAMES 100000
#define KILL_AT 20000

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

struct writer_args {
	const char *name;
	uint64_t frames;
	int ready_fd;
};

static int writer_stream(void *arg)
{
	struct writer_args *a = arg;
	struct zb_writer *w;
	char buf[512], c = 1;

	if (zb_writer_open(&w, a->name) < 0)
		return 10;
	if (write(a->ready_fd, &c, 1) != 1)
		return 12;
	for (uint64_t seq = 1; seq <= a->frames; seq++) {
		tu_frame_fill(buf, seq);
		if (zb_writer_write(w, buf, tu_frame_size(seq), 5000) < 0)
			return 11;
	}
	if (a->frames == 1)
		pause(); /* stay attached until killed */
	zb_writer_close(w);
	return 0;
}

START_TEST(sigkill_mid_stream_then_adopt)
{
	const char *name = tu_unique_name("adopt");
	volatile double *killed_at = tu_shared(4096);
	struct writer_args a = { .name = name, .frames = FRAMES };
	struct zb_reader *r;
	struct zb_frame f;
	char rec[256], c;
	int p[2], err;
	pid_t w, k;
	double latency;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=256K", name), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(pipe(p), 0);
	a.ready_fd = p[1];
	w = tu_fork(writer_stream, &a);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	for (uint64_t seq = 1; seq <= FRAMES; seq++) {
		if (seq == KILL_AT)
			ck_assert(WIFSIGNALED(tz_kill(&t, SIGKILL)));
		ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert(tu_frame_ok(f.data, f.size, seq));
		zb_reader_release(r, &f);
	}
	ck_assert_int_eq(tu_exit_status(tu_wait(w, 30000)), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), ZB_EWRITER_GONE);
	/* With no zbd the objects stayed; the lock is free until the next zbd. */
	ck_assert(tu_any_object_exists(name));

	tz_start(&t);
	ck_assert(tz_in_list(&t, name));
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "adopted"), 1);
	ck_assert_int_ge(tz_get_num(t.reply, rec, "frames_written"), FRAMES);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "frames_read"),
			 tz_get_num(t.reply, rec, "frames_written"));
	ck_assert_int_eq(tz_get_num(t.reply, rec, "reader_pid"), getpid());
	ck_assert_int_eq(tz_get_num(t.reply, rec, "payload_size"), 256 * 1024);
	ck_assert_msg(strstr(t.status, "1 buffer"), "STATUS=%s", t.status);

	/* Reaping resumed: a writer killed now is noticed by the new zbd. */
	a.frames = 1;
	w = tu_fork(writer_stream, &a);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
	ck_assert(tu_frame_ok(f.data, f.size, 1));
	zb_reader_release(r, &f);
	k = tu_kill_later(w, 100, killed_at);
	err = zb_reader_read(r, &f, 5000);
	latency = tu_now_ms() - *killed_at;
	ck_assert_int_eq(err, ZB_EWRITER_GONE);
	printf("after adoption: writer SIGKILL -> ZB_EWRITER_GONE: %.2f ms\n", latency);
	ck_assert_double_lt(latency, 500);
	ck_assert_int_eq(tu_exit_status(tu_wait(k, 30000)), 0);
	tu_wait(w, 1000);
	zb_reader_close(r);
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
	ck_assert(!tu_any_object_exists(name));
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(sigterm_keeps_buffers_vanished_ones_dropped)
{
	const char *keep = tu_unique_name("keep"), *gone = tu_unique_name("gone");
	struct zb_reader *r;
	char lock[256];
	int fd;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", keep), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", gone), 0);
	/* A reader stays attached: with no owner and no live peer, the next
	 * ZeroBuffer reader to start anywhere on the host (other test suites
	 * included) may rightly clean the buffer up as abandoned. */
	ck_assert_int_eq(zb_reader_open(&r, keep), 0);
	ck_assert_int_eq(tz_kill(&t, SIGTERM), 0);
	ck_assert(tu_any_object_exists(keep));
	/* zbd let go of the lock on its way out (or such a cleanup removed it). */
	ck_assert_int_eq(names_lock(lock, sizeof(lock), keep), 0);
	fd = open(lock, O_RDWR | O_CLOEXEC);
	ck_assert(fd >= 0 || errno == ENOENT);
	if (fd >= 0) {
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
		close(fd);
	}

	tu_cleanup_name(gone); /* someone removed it while no zbd ran */
	tz_start(&t);
	ck_assert(tz_in_list(&t, keep));
	ck_assert(!tz_in_list(&t, gone));
	ck_assert_msg(strstr(t.status, "1 buffer"), "STATUS=%s", t.status);
	/* The adopted lock is held again. */
	fd = open(lock, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	/* A second zbd on the same socket refuses to start. */
	{
		pid_t first = t.pid;
		int status;

		tz_spawn(&t, NULL);
		status = tu_wait(t.pid, 5000);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
		t.pid = first;
	}
	ck_assert(tz_in_list(&t, keep));
	zb_reader_close(r);
	ck_assert_int_eq(tz_request(&t, "destroy %s", keep), 0);
}
END_TEST

TU_SUITE(zbd_restart_suite, "zbd-restart")
{
	TCase *tc = tu_tcase(s, "restart", NULL, teardown);

	tcase_add_test(tc, sigkill_mid_stream_then_adopt);
	tcase_add_test(tc, sigterm_keeps_buffers_vanished_ones_dropped);
}
