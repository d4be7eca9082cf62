/* SPDX-License-Identifier: MIT */
/*
 * The busy-poll wait policy (ZB_SPIN_FOREVER): a waiting reader or writer
 * never sleeps, yet still notices a peer that died while it polled (no zbd
 * here: the library's own probe), and still honours its timeout. And the one
 * exception to a spin: after a frame of 1 MiB or more, a reader that does not
 * busy-poll sleeps at once (reader.c, SPIN_FRAME_MAX).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "libtest.h"

#define RING 65536
/* Far beyond the moment of the kill: returning "gone" well before it is the point. */
#define WAIT_MS 20000

/* Still polling when the writer dies (no zbd): it must look at the writer now and then. */
START_TEST(busy_reader_notices_dead_writer)
{
	const char *name = tu_unique_name("bpr");
	const char *const args[] = { "write", name, "3", "21", "1", "300", "stay", NULL };
	struct zb_buffer_config cfg = { 0, RING, 0 };
	struct zb_reader *r;
	struct zb_frame f;
	struct peer w;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_int_eq(zb_reader_set_spin(r, ZB_SPIN_FOREVER), 0);
	peer_start(&w, args);
	ck_assert_int_eq(peer_status(&w, 10000), 'D');
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(zb_reader_read(r, &f, WAIT_MS), 0);
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
	}
	killer_start(w.pid, 300);
	ck_assert_int_eq(zb_reader_read(r, &f, WAIT_MS), ZB_EWRITER_GONE);
	killer_join();
	close(w.fd);
	zb_reader_close(r);
}
END_TEST

/* Polling for space when the reader dies. */
START_TEST(busy_writer_notices_dead_reader)
{
	const char *name = tu_unique_name("bpw");
	const char *const args[] = { "read", name, "0", "1", "1", "1", "stay", NULL };
	static const uint8_t frame[1000];
	struct zb_writer *w;
	struct peer rp;
	int err;

	seg_create_unowned(name, 64, RING);
	peer_start(&rp, args);
	ck_assert_int_eq(peer_status(&rp, 10000), 'D');
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(zb_writer_set_spin(w, ZB_SPIN_FOREVER), 0);
	while ((err = zb_writer_write(w, frame, sizeof(frame), 0)) == 0)
		;
	ck_assert_int_eq(err, -ENOBUFS);
	killer_start(rp.pid, 300);
	ck_assert_int_eq(zb_writer_write(w, frame, sizeof(frame), WAIT_MS), ZB_EREADER_GONE);
	killer_join();
	close(rp.fd);
	zb_writer_close(w);
}
END_TEST

/* This thread's voluntary context switches: it went to sleep that often. */
static long voluntary_switches(void)
{
	FILE *f = fopen("/proc/thread-self/status", "r");
	char line[256];
	long n = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	ck_assert_int_ge(n, 0);
	return n;
}

/* Sleeps during a read that times out after 300 ms, spinning `spin_us`. */
static long sleeps_in_read(struct zb_reader *r, unsigned spin_us)
{
	struct zb_frame f;
	long before;

	ck_assert_int_eq(zb_reader_set_spin(r, spin_us), 0);
	before = voluntary_switches();
	ck_assert_int_eq(zb_reader_read(r, &f, 300), -ETIMEDOUT);
	return voluntary_switches() - before;
}

START_TEST(busy_reader_never_sleeps)
{
	const char *name = tu_unique_name("bps");
	struct zb_buffer_config cfg = { 0, RING, 0 };
	struct zb_writer *w;
	struct zb_reader *r;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0); /* a live writer: no "gone" */
	/* The measure can see sleeping: the default policy sleeps in 100 ms slices. */
	ck_assert_int_ge(sleeps_in_read(r, ZB_DEFAULT_SPIN_US), 3);
	/* Valgrind runs threads under a lock of its own, which does sleep. */
	if (!tu_under_valgrind())
		ck_assert_int_eq(sleeps_in_read(r, ZB_SPIN_FOREVER), 0);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

/* CPU time this thread spends in a read that times out after 300 ms. */
static double cpu_ms_in_read(struct zb_reader *r)
{
	struct timespec a, b;
	struct zb_frame f;

	ck_assert_int_eq(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, 300), -ETIMEDOUT);
	ck_assert_int_eq(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b), 0);
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/*
 * After a 1 MiB frame, a reader told to spin for a second sleeps at once
 * instead: a spin would burn the whole 300 ms read (the CPU of a writer
 * filling the next large frame, where both share a core). The busy poll is
 * the exception: it still never sleeps.
 */
START_TEST(reader_sleeps_after_large_frame)
{
	const char *name = tu_unique_name("bpl");
	struct zb_buffer_config cfg = { 0, 4u << 20, 0 };
	size_t size = 1u << 20;
	uint8_t *frame = calloc(1, size);
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;
	double ms;

	ck_assert_ptr_nonnull(frame);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0); /* a live writer: no "gone" */
	ck_assert_int_eq(zb_reader_set_spin(r, 1000000), 0);
	ck_assert_int_eq(zb_writer_write(w, frame, size, 1000), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
	ck_assert_uint_eq(f.size, size);
	ck_assert_int_eq(zb_reader_release(r, &f), 0);
	ms = cpu_ms_in_read(r);
	ck_assert_msg(ms < 100, "the reader spun %.0f ms of CPU after a 1 MiB frame", ms);
	if (!tu_under_valgrind())
		ck_assert_int_eq(sleeps_in_read(r, ZB_SPIN_FOREVER), 0);
	free(frame);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

TU_SUITE(busy_poll_suite, "busy-poll")
{
	TCase *tc = tu_tcase(s, "busy-poll", NULL, tu_cleanup_all);

	tcase_add_test(tc, busy_reader_notices_dead_writer);
	tcase_add_test(tc, busy_writer_notices_dead_reader);
	tcase_add_test(tc, busy_reader_never_sleeps);
	tcase_add_test(tc, reader_sleeps_after_large_frame);
}
