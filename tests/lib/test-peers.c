/* SPDX-License-Identifier: MIT */
/*
 * Two real processes (zbpeer, forked and exec'ed): a peer killed with SIGKILL,
 * one writer and one reader at a time, a new writer after the old one left,
 * and a writer that attaches before any reader. No daemon anywhere.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libtest.h"
#include "testutil.h"
#include "zbclient.h"

#define MAXF "300"

static struct pattern pat;

/* pattern_free() leaves the table NULL, as the next test expects it. */
static void teardown(void)
{
	pattern_free(&pat);
	tu_cleanup_all();
}

static struct zb_reader *create(const char *name, uint64_t payload_size)
{
	struct zb_buffer_config cfg = { 64, payload_size, 0 };
	struct zb_reader *r;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	return r;
}

/* Read frames first..last of the stream seeded `seed`, checking every byte. */
static void read_stream(struct zb_reader *r, uint64_t seed, uint64_t first, uint64_t last)
{
	pattern_free(&pat);
	pattern_init(&pat, seed, 1, 300);
	for (uint64_t seq = first; seq <= last; seq++) {
		size_t size = pattern_size(&pat, seq);
		struct zb_frame f;

		ck_assert_int_eq(zb_reader_read(r, &f, 10000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert_uint_eq(f.size, size);
		ck_assert_mem_eq(f.data, pattern_data(&pat, seq, size), size);
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
	}
}

static void start_writer(struct peer *p, const char *name, const char *count, const char *seed,
			 const char *extra)
{
	const char *args[] = { "write", name, count, seed, "1", MAXF, extra, NULL };

	peer_start(p, args);
}

START_TEST(writer_killed_reader_drains)
{
	const char *name = tu_unique_name("wkill");
	struct zb_reader *r = create(name, 65536);
	struct zb_frame f;
	struct peer w;
	int64_t t0, dt;

	start_writer(&w, name, "50", "11", "stay");
	ck_assert_int_eq(peer_status(&w, 10000), 'D');
	ck_assert_int_eq(zb_reader_writer_connected(r), 1);
	peer_kill(&w);
	ck_assert_int_eq(zb_reader_writer_connected(r), 0);
	/* Everything written before the kill comes out first... */
	read_stream(r, 11, 1, 50);
	/* ...then "writer gone", once, well inside the protocol's 5 s. */
	t0 = tu_now_ms();
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	dt = tu_now_ms() - t0;
	ck_assert_int_lt(dt, 1000);
	ck_assert_int_eq(zb_reader_read(r, &f, 200), -ETIMEDOUT);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), -ETIMEDOUT);

	/* A new writer may attach (the dead pid is no obstacle), restarting at 1. */
	start_writer(&w, name, "20", "12", NULL);
	peer_expect_success(&w, 10000);
	read_stream(r, 12, 1, 20);
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), -ETIMEDOUT);
	zb_reader_close(r);
}
END_TEST

/* The reader sleeps with no timeout at all when the writer dies: it must wake. */
START_TEST(writer_killed_reader_blocked)
{
	const char *name = tu_unique_name("wkill2");
	struct zb_reader *r = create(name, 4096);
	struct zb_frame f;
	struct peer w;
	int64_t t0, dt;

	start_writer(&w, name, "3", "13", "stay");
	ck_assert_int_eq(peer_status(&w, 10000), 'D');
	read_stream(r, 13, 1, 3);
	killer_start(w.pid, 300);
	t0 = tu_now_ms();
	ck_assert_int_eq(zb_reader_read(r, &f, -1), ZB_EWRITER_GONE);
	dt = tu_now_ms() - t0;
	killer_join();
	close(w.fd);
	ck_assert_int_ge(dt, 250);
	ck_assert_int_lt(dt, 5000);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), -ETIMEDOUT);
	zb_reader_close(r);
}
END_TEST

/* The writer is blocked on a full ring when the reader dies: "reader gone". */
START_TEST(reader_killed_writer_blocked)
{
	const char *name = tu_unique_name("rkill");
	const char *args[] = { "read", name, "0", "1", "1", "1", "stay", NULL };
	struct zb_writer *w;
	uint8_t buf[500] = { 0 };
	struct peer rp;
	int64_t t0, dt;
	int n = 0;

	seg_create_unowned(name, 64, 4096);
	peer_start(&rp, args);
	ck_assert_int_eq(peer_status(&rp, 10000), 'D');
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(zb_writer_reader_connected(w), 1);
	while (zb_writer_write(w, buf, sizeof(buf), 0) == 0)
		n++;
	ck_assert_int_eq(n, 4096 / 516);
	killer_start(rp.pid, 300);
	t0 = tu_now_ms();
	/* No timeout at all: only noticing the dead reader ends this call. */
	ck_assert_int_eq(zb_writer_write(w, buf, sizeof(buf), -1), ZB_EREADER_GONE);
	dt = tu_now_ms() - t0;
	killer_join();
	close(rp.fd);
	ck_assert_int_ge(dt, 250);
	ck_assert_int_lt(dt, 5000);
	ck_assert_int_eq(zb_writer_reader_connected(w), 0);
	/* Reported once; then a full ring is just full, within the timeout. */
	t0 = tu_now_ms();
	ck_assert_int_eq(zb_writer_write(w, buf, sizeof(buf), 300), -ENOBUFS);
	ck_assert_int_lt(tu_now_ms() - t0, 1300);
	zb_writer_close(w);
}
END_TEST

START_TEST(second_writer_refused)
{
	const char *name = tu_unique_name("excl-w");
	const char *args[] = { "write", name, "0", "1", "1", "1", NULL };
	struct zb_reader *r = create(name, 4096);
	struct zb_writer *w;
	struct peer p;

	start_writer(&p, name, "0", "1", "stay");
	ck_assert_int_eq(zb_writer_open(&w, name), -EBUSY);
	peer_kill(&p);
	/* The recorded pid is dead: taken over. */
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	zb_writer_close(w);

	/* Closed cleanly while its process lives on: free as well. */
	start_writer(&p, name, "0", "1", "closehold");
	ck_assert_int_eq(peer_status(&p, 10000), 'D');
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	/* And now we are the live writer another process is refused by. */
	ck_assert_int_eq(peer_run(args, 10000), 31); /* zbpeer's code for -EBUSY */
	zb_writer_close(w);
	peer_kill(&p);
	zb_reader_close(r);
}
END_TEST

START_TEST(second_reader_refused)
{
	const char *name = tu_unique_name("excl-r");
	const char *args[] = { "read", name, "0", "1", "1", "1", "stay", NULL };
	struct zb_reader *r;
	struct peer p;

	seg_create_unowned(name, 64, 4096);
	peer_start(&p, args);
	ck_assert_int_eq(zb_reader_open(&r, name), -EBUSY);
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	zb_reader_close(r);
}
END_TEST

START_TEST(second_creator_refused)
{
	const char *name = tu_unique_name("excl-c"), *name2 = tu_unique_name("excl-c2");
	const char *args[] = { "create", name2, NULL };
	struct zb_reader *r, *r2;
	struct peer p;

	/* The lock is per open file, so even this process is refused a second time. */
	r = create(name, 4096);
	ck_assert_int_eq(zb_reader_create(&r2, name, NULL), -EEXIST);
	zb_reader_close(r);

	peer_start(&p, args);
	ck_assert_int_eq(zb_reader_create(&r2, name2, NULL), -EEXIST);
	ck_assert(tu_any_object_exists(name2));
	peer_kill(&p);
	/* Its owner died: the lock is free and the leftovers are replaced. */
	ck_assert_int_eq(zb_reader_create(&r2, name2, NULL), 0);
	zb_reader_close(r2);
	ck_assert(!tu_any_object_exists(name2));
}
END_TEST

/* Writer A leaves cleanly, writer B attaches before the reader drained A. */
START_TEST(new_writer_session)
{
	const char *name = tu_unique_name("session");
	struct zb_reader *r = create(name, 65536);
	struct zb_frame f;
	struct peer a, b;

	start_writer(&a, name, "30", "21", NULL);
	peer_expect_success(&a, 10000);
	start_writer(&b, name, "20", "22", "stay");
	ck_assert_int_eq(peer_status(&b, 10000), 'D');

	read_stream(r, 21, 1, 30);
	ck_assert_int_eq(zb_reader_read(r, &f, 1000), ZB_EWRITER_GONE);
	read_stream(r, 22, 1, 20);
	/* B is alive and quiet: nothing, and no second "gone". */
	ck_assert_int_eq(zb_reader_read(r, &f, 200), -ETIMEDOUT);
	peer_kill(&b);
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), -ETIMEDOUT);
	zb_reader_close(r);
}
END_TEST

/* Writer B attached but quiet when the reader drains A: the session ends when
 * B's first frame (sequence 1) shows up, not before and not twice. */
START_TEST(new_writer_session_idle)
{
	const char *name = tu_unique_name("session2");
	struct zb_reader *r = create(name, 65536);
	struct zb_writer *b;
	struct zb_frame f;
	struct peer a;

	start_writer(&a, name, "5", "23", NULL);
	peer_expect_success(&a, 10000);
	ck_assert_int_eq(zb_writer_open(&b, name), 0);
	read_stream(r, 23, 1, 5);
	ck_assert_int_eq(zb_reader_read(r, &f, 100), -ETIMEDOUT);
	ck_assert_int_eq(zb_writer_write(b, "b1", 2, 0), 0);
	ck_assert_int_eq(zb_writer_write(b, "b2", 2, 0), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), 0);
	ck_assert_uint_eq(f.sequence, 1);
	ck_assert_mem_eq(f.data, "b1", 2);
	ck_assert_int_eq(zb_reader_release(r, &f), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), 0);
	ck_assert_uint_eq(f.sequence, 2);
	ck_assert_int_eq(zb_reader_release(r, &f), 0);
	zb_writer_close(b);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), ZB_EWRITER_GONE);
	zb_reader_close(r);
}
END_TEST

/* zbd's case: the buffer exists, no reader yet; frames wait in the ring. */
START_TEST(writer_before_reader)
{
	const char *name = tu_unique_name("early");
	struct zb_reader *r;
	struct zb_frame f;
	struct peer w;

	seg_create_unowned(name, 64, 65536);
	start_writer(&w, name, "40", "31", NULL);
	peer_expect_success(&w, 10000);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	read_stream(r, 31, 1, 40);
	ck_assert_int_eq(zb_reader_read(r, &f, 1000), ZB_EWRITER_GONE);
	zb_reader_close(r);
}
END_TEST

/* A reader that died holding frames: the next reader gives their space back. */
START_TEST(reader_dies_holding_frames)
{
	const char *name = tu_unique_name("rhold");
	const char *args[] = { "read", name, "5", "41", "1", MAXF, "stay", "keep", NULL };
	struct zb_reader *r;
	struct zb_writer *w;
	uint8_t *seg;
	size_t len, used = 0;
	struct peer p;

	seg_create_unowned(name, 64, 8192);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	pattern_init(&pat, 41, 1, 300);
	for (uint64_t seq = 1; seq <= 6; seq++) {
		size_t size = pattern_size(&pat, seq);

		ck_assert_int_eq(zb_writer_write(w, pattern_data(&pat, seq, size), size, 0), 0);
		used += 16 + size;
	}
	peer_start(&p, args);
	ck_assert_int_eq(peer_status(&p, 10000), 'D'); /* read 5, released none */
	seg = seg_map(name, &len);
	ck_assert_uint_eq(((struct zb_oieb *)seg)->payload_free_bytes, 8192 - used);
	peer_kill(&p);
	/* Only frame 6 is still in the ring; the dead reader's five come back. */
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_uint_eq(((struct zb_oieb *)seg)->payload_free_bytes,
			  8192 - 16 - pattern_size(&pat, 6));
	seg_unmap(seg, len);
	zb_reader_close(r);
	zb_writer_close(w);
}
END_TEST

/* The dead reader had read every frame: positions and counts are equal, and
 * only the next reader's attach can tell the ring is empty, not full. */
START_TEST(reader_dies_holding_all_frames)
{
	const char *name = tu_unique_name("rholdall");
	const char *args[] = { "read", name, "6", "41", "1", MAXF, "stay", "keep", NULL };
	struct zb_reader *r;
	struct zb_writer *w;
	uint8_t *seg;
	size_t len;
	struct peer p;

	seg_create_unowned(name, 64, 8192);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	pattern_init(&pat, 41, 1, 300);
	for (uint64_t seq = 1; seq <= 6; seq++) {
		size_t size = pattern_size(&pat, seq);

		ck_assert_int_eq(zb_writer_write(w, pattern_data(&pat, seq, size), size, 0), 0);
	}
	peer_start(&p, args);
	ck_assert_int_eq(peer_status(&p, 10000), 'D'); /* read all 6, released none */
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	seg = seg_map(name, &len);
	ck_assert_uint_eq(((struct zb_oieb *)seg)->payload_free_bytes, 8192);
	seg_unmap(seg, len);
	zb_reader_close(r);
	zb_writer_close(w);
}
END_TEST

TU_SUITE(peers_suite, "peers")
{
	TCase *tc = tu_tcase(s, "peers", NULL, teardown);

	tcase_add_test(tc, writer_killed_reader_drains);
	tcase_add_test(tc, writer_killed_reader_blocked);
	tcase_add_test(tc, reader_killed_writer_blocked);
	tcase_add_test(tc, second_writer_refused);
	tcase_add_test(tc, second_reader_refused);
	tcase_add_test(tc, second_creator_refused);
	tcase_add_test(tc, new_writer_session);
	tcase_add_test(tc, new_writer_session_idle);
	tcase_add_test(tc, writer_before_reader);
	tcase_add_test(tc, reader_dies_holding_frames);
	tcase_add_test(tc, reader_dies_holding_all_frames);
}
