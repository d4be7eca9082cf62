/* SPDX-License-Identifier: MIT */
/*
 * The ring in one process: wrap-around with and without a marker, frames that
 * end exactly at the ring end, held frames released out of order, timeouts,
 * zero-copy, metadata, counters and the semaphore counts of a long stream.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libtest.h"
#include "segment.h"
#include "testutil.h"
#include "zbclient.h"

static const char *name;
static struct zb_reader *rd;
static struct zb_writer *wr;
static uint8_t *seg;
static size_t seg_len;
static struct zb_oieb *oieb;

/* A standalone buffer with both ends in this process, and a view of its OIEB. */
static void open_pair(uint64_t metadata_size, uint64_t payload_size)
{
	struct zb_buffer_config cfg = { metadata_size, payload_size, 0 };

	name = tu_unique_name("ring");
	ck_assert_int_eq(zb_reader_create(&rd, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&wr, name), 0);
	seg = seg_map(name, &seg_len);
	oieb = (struct zb_oieb *)seg;
}

static void setup(void)
{
	rd = NULL;
	wr = NULL;
	seg = NULL;
}

static void teardown(void)
{
	if (seg)
		seg_unmap(seg, seg_len);
	zb_writer_close(wr);
	zb_reader_close(rd);
	tu_cleanup_all();
}

/* Frame contents: sequence number and size decide every byte (pattern.h). */
static void fill(uint8_t *buf, uint64_t seq, size_t size)
{
	memcpy(buf, tu_frame_data(seq, size), size);
}

static void put(uint64_t seq, size_t size)
{
	uint8_t buf[4096];

	ck_assert_uint_le(size, sizeof(buf));
	fill(buf, seq, size);
	ck_assert_int_eq(zb_writer_write(wr, buf, size, 0), 0);
}

static void check_frame(const struct zb_frame *f, uint64_t seq, size_t size)
{
	uint8_t want[4096];

	ck_assert_uint_eq(f->sequence, seq);
	ck_assert_uint_eq(f->size, size);
	fill(want, seq, size);
	ck_assert_mem_eq(f->data, want, size);
}

static struct zb_frame get(uint64_t seq, size_t size)
{
	struct zb_frame f;

	ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
	check_frame(&f, seq, size);
	return f;
}

static void get_release(uint64_t seq, size_t size)
{
	struct zb_frame f = get(seq, size);

	ck_assert_int_eq(zb_reader_release(rd, &f), 0);
}

START_TEST(wrap_with_marker)
{
	open_pair(64, 256);
	put(1, 100); /* [0, 116) */
	put(2, 100); /* [116, 232) */
	get_release(1, 100);
	get_release(2, 100);
	/* 24 bytes left at 232: room for a marker, not for a 20-byte frame. */
	put(3, 20);
	ck_assert_uint_eq(oieb->payload_written_count, 4); /* the marker counts */
	ck_assert_uint_eq(oieb->payload_write_pos, 36);
	ck_assert_uint_eq(oieb->payload_free_bytes, 256 - 24 - 36);
	ck_assert_mem_eq(seg + 128 + 64 + 232, ((uint8_t[16]){ 0 }), 16);
	get_release(3, 20);
	ck_assert_uint_eq(oieb->payload_read_count, 4);
	ck_assert_uint_eq(oieb->payload_read_pos, 36);
	ck_assert_uint_eq(oieb->payload_free_bytes, 256);
}
END_TEST

START_TEST(wrap_marker_exactly_16_left)
{
	open_pair(64, 256);
	put(1, 100); /* [0, 116) */
	put(2, 108); /* [116, 240): 16 bytes left, exactly one marker */
	get_release(1, 100);
	get_release(2, 108);
	put(3, 1);
	ck_assert_uint_eq(oieb->payload_written_count, 4);
	ck_assert_uint_eq(oieb->payload_write_pos, 17);
	get_release(3, 1);
	ck_assert_uint_eq(oieb->payload_read_count, 4);
	ck_assert_uint_eq(oieb->payload_free_bytes, 256);
}
END_TEST

START_TEST(wrap_without_marker)
{
	uint8_t tail[8];

	open_pair(64, 256);
	put(1, 100); /* [0, 116) */
	put(2, 116); /* [116, 248): 8 bytes left, too few for a marker */
	memcpy(tail, seg + 128 + 64 + 248, 8);
	get_release(1, 100);
	get_release(2, 116);
	put(3, 20);
	ck_assert_uint_eq(oieb->payload_written_count, 3); /* no marker */
	ck_assert_uint_eq(oieb->payload_write_pos, 36);
	ck_assert_uint_eq(oieb->payload_free_bytes, 256 - 8 - 36);
	ck_assert_mem_eq(seg + 128 + 64 + 248, tail, 8); /* the tail was not written */
	get_release(3, 20);
	ck_assert_uint_eq(oieb->payload_read_count, 3);
	ck_assert_uint_eq(oieb->payload_read_pos, 36);
	ck_assert_uint_eq(oieb->payload_free_bytes, 256);
	put(4, 30);
	get_release(4, 30);
}
END_TEST

START_TEST(frame_ends_at_ring_end)
{
	open_pair(64, 256);
	put(1, 100); /* [0, 116) */
	put(2, 124); /* [116, 256): ends exactly at the end */
	ck_assert_uint_eq(oieb->payload_write_pos, 0);
	ck_assert_uint_eq(oieb->payload_written_count, 2);
	ck_assert_uint_eq(oieb->payload_free_bytes, 0);
	ck_assert_int_eq(zb_writer_write(wr, "x", 1, 0), -ENOBUFS);
	get_release(1, 100);
	get_release(2, 124);
	ck_assert_uint_eq(oieb->payload_read_pos, 0);
	ck_assert_uint_eq(oieb->payload_read_count, 2);
	put(3, 240); /* the largest frame, from 0, again to the very end */
	ck_assert_uint_eq(oieb->payload_write_pos, 0);
	get_release(3, 240);
	put(4, 5);
	get_release(4, 5);
	ck_assert_uint_eq(oieb->payload_read_pos, 21);
}
END_TEST

/* Frame sizes up to 112 at every alignment of a 512-byte ring, one frame held
 * behind (at most 128 held + 127 of tail + 128 new always fit): whatever
 * wraps happen, every byte and the accounting stay right. */
START_TEST(wrap_sweep)
{
	uint64_t seq = 1;
	struct zb_frame prev;
	size_t prev_size = 1;

	open_pair(64, 512);
	put(seq, 1);
	prev = get(seq, 1);
	for (size_t a = 1; a <= 112; a++) {
		for (size_t b = 1; b <= 112; b += 37) {
			size_t sizes[2] = { a, b };

			for (int j = 0; j < 2; j++) {
				struct zb_frame f;

				put(seq + 1, sizes[j]);
				f = get(seq + 1, sizes[j]);
				check_frame(&prev, seq, prev_size);
				ck_assert_int_eq(zb_reader_release(rd, &prev), 0);
				prev = f;
				prev_size = sizes[j];
				seq++;
				ck_assert_uint_le(oieb->payload_free_bytes, 512 - 16 - prev_size);
			}
		}
	}
	ck_assert_int_eq(zb_reader_release(rd, &prev), 0);
	ck_assert_uint_eq(oieb->payload_free_bytes, 512);
	ck_assert_uint_eq(oieb->payload_read_pos, oieb->payload_write_pos);
	ck_assert_uint_eq(oieb->payload_read_count, oieb->payload_written_count);
	ck_assert_uint_gt(oieb->payload_written_count, seq); /* markers were written */
}
END_TEST

START_TEST(release_out_of_order)
{
	struct zb_frame f[4], stale;

	open_pair(64, 1024);
	for (int i = 0; i < 4; i++)
		put(i + 1, 200); /* 4 x 216 = 864 */
	for (int i = 0; i < 4; i++)
		f[i] = get(i + 1, 200);
	ck_assert_uint_eq(oieb->payload_free_bytes, 160);
	/* Released behind a held frame: no space may go back yet. */
	ck_assert_int_eq(zb_reader_release(rd, &f[1]), 0);
	ck_assert_int_eq(zb_reader_release(rd, &f[3]), 0);
	ck_assert_int_eq(zb_reader_release(rd, &f[2]), 0);
	ck_assert_uint_eq(oieb->payload_free_bytes, 160);
	ck_assert_int_eq(zb_writer_write(wr, f[0].data, 200, 0), -ENOBUFS);
	put(5, 144); /* what is free can still be used, at the end of the ring */
	ck_assert_uint_eq(oieb->payload_free_bytes, 0);
	check_frame(&f[0], 1, 200);
	/* Releasing the oldest returns it and everything released behind it. */
	ck_assert_int_eq(zb_reader_release(rd, &f[0]), 0);
	ck_assert_uint_eq(oieb->payload_free_bytes, 864);
	get_release(5, 144);
	ck_assert_uint_eq(oieb->payload_free_bytes, 1024);

	/* Already released, unknown or NULL: -EINVAL, and nothing moves. */
	ck_assert_int_eq(zb_reader_release(rd, &f[0]), -EINVAL);
	ck_assert_int_eq(zb_reader_release(rd, &f[2]), -EINVAL);
	stale = f[3];
	stale.ticket += 1000;
	ck_assert_int_eq(zb_reader_release(rd, &stale), -EINVAL);
	stale.ticket = 0;
	ck_assert_int_eq(zb_reader_release(rd, &stale), -EINVAL);
	ck_assert_int_eq(zb_reader_release(rd, NULL), -EINVAL);
	ck_assert_int_eq(zb_reader_release(NULL, &f[0]), -EINVAL);
	ck_assert_uint_eq(oieb->payload_free_bytes, 1024);

	/* A release that is double inside a run of holds stays refused. */
	put(6, 10);
	put(7, 10);
	f[0] = get(6, 10);
	f[1] = get(7, 10);
	ck_assert_int_eq(zb_reader_release(rd, &f[1]), 0);
	ck_assert_int_eq(zb_reader_release(rd, &f[1]), -EINVAL);
	ck_assert_int_eq(zb_reader_release(rd, &f[0]), 0);
	ck_assert_uint_eq(oieb->payload_free_bytes, 1024);
}
END_TEST

/* One frame held while the writer streams on: the writer runs out of space
 * where the held frame starts and never writes over it. */
START_TEST(held_frame_never_overwritten)
{
	struct zb_frame held, f;
	uint8_t copy[100];
	uint64_t seq = 2;
	int r;

	open_pair(64, 1024);
	put(1, 100);
	held = get(1, 100);
	memcpy(copy, held.data, 100);
	for (;;) {
		uint8_t buf[100];

		fill(buf, seq, 60);
		r = zb_writer_write(wr, buf, 60, 0);
		if (r < 0)
			break;
		f = get(seq, 60);
		ck_assert_int_eq(zb_reader_release(rd, &f), 0);
		ck_assert_mem_eq(held.data, copy, 100);
		ck_assert_uint_le(seq, 100);
		seq++;
	}
	ck_assert_int_eq(r, -ENOBUFS);
	ck_assert_mem_eq(held.data, copy, 100);
	/* Everything from the held frame on is still counted as used. */
	ck_assert_uint_lt(oieb->payload_free_bytes, 16 + 60 + 116);
	ck_assert_int_eq(zb_reader_release(rd, &held), 0);
	ck_assert_uint_eq(oieb->payload_free_bytes, 1024);
	put(seq, 60);
	get_release(seq, 60);
}
END_TEST

START_TEST(read_timeout)
{
	struct zb_frame f;
	int64_t t0, dt;

	open_pair(64, 1024);
	t0 = tu_now_ms();
	ck_assert_int_eq(zb_reader_read(rd, &f, 300), -ETIMEDOUT);
	dt = tu_now_ms() - t0;
	ck_assert_int_ge(dt, 300);
	ck_assert_int_lt(dt, 1300);

	t0 = tu_now_ms();
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), -ETIMEDOUT); /* 0 polls */
	ck_assert_int_lt(tu_now_ms() - t0, 100);

	/* And with spinning enabled, the deadline still holds. */
	ck_assert_int_eq(zb_reader_set_spin(rd, 50000), 0);
	t0 = tu_now_ms();
	ck_assert_int_eq(zb_reader_read(rd, &f, 120), -ETIMEDOUT);
	dt = tu_now_ms() - t0;
	ck_assert_int_ge(dt, 120);
	ck_assert_int_lt(dt, 1120);
}
END_TEST

START_TEST(write_timeout_full)
{
	int64_t t0, dt;
	uint8_t buf[200] = { 0 };
	void *dst;
	int n = 0;

	open_pair(64, 1024);
	while (zb_writer_write(wr, buf, 200, 0) == 0)
		n++;
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(zb_writer_write(wr, buf, 200, 0), -ENOBUFS); /* 0 polls */

	t0 = tu_now_ms();
	ck_assert_int_eq(zb_writer_write(wr, buf, 200, 300), -ENOBUFS);
	dt = tu_now_ms() - t0;
	ck_assert_int_ge(dt, 300);
	ck_assert_int_lt(dt, 1300);

	t0 = tu_now_ms();
	ck_assert_int_eq(zb_writer_acquire(wr, 200, &dst, 200), -ENOBUFS);
	dt = tu_now_ms() - t0;
	ck_assert_int_ge(dt, 200);
	ck_assert_int_lt(dt, 1200);

	ck_assert_int_eq(zb_writer_set_spin(wr, 50000), 0);
	t0 = tu_now_ms();
	ck_assert_int_eq(zb_writer_write(wr, buf, 200, 150), -ENOBUFS);
	dt = tu_now_ms() - t0;
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 1150);
	/* Nothing was published by the failed attempts. */
	ck_assert_uint_eq(oieb->payload_written_count, 4);
}
END_TEST

/* A token on sem-w with no frame behind it must not make the reader read. */
START_TEST(wakeup_without_frame)
{
	struct zb_frame f;

	open_pair(64, 1024);
	sem_post_n(name, 'w', 3);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), -ETIMEDOUT);
	ck_assert_int_eq(zb_reader_read(rd, &f, 150), -ETIMEDOUT);
	ck_assert_uint_eq(oieb->payload_read_count, 0);
	put(1, 10);
	get_release(1, 10);
}
END_TEST

/*
 * doc/protocol.md section 10: a reader of another implementation posts sem-r on
 * every release, and a writer that never runs short of space never waits on
 * it. Our writer must take the surplus back, or the count climbs to
 * SEM_VALUE_MAX and the foreign reader's sem_post starts failing.
 */
START_TEST(sem_r_stays_bounded)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem_r, *sem_w;
	int v, max_r = 0, max_w = 0;

	open_pair(64, 4096);
	names_sem_r(obj, name);
	sem_r = sem_open(obj, 0);
	names_sem_w(obj, name);
	sem_w = sem_open(obj, 0);
	ck_assert(sem_r != SEM_FAILED && sem_w != SEM_FAILED);
	for (uint64_t seq = 1; seq <= 200000; seq++) {
		struct zb_frame f;

		ck_assert_int_eq(zb_writer_write(wr, &seq, sizeof(seq), 0), 0);
		ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert_int_eq(zb_reader_release(rd, &f), 0);
		ck_assert_int_eq(sem_post(sem_r), 0); /* the foreign reader's post */
		ck_assert_int_eq(sem_getvalue(sem_r, &v), 0);
		max_r = v > max_r ? v : max_r;
		ck_assert_int_eq(sem_getvalue(sem_w, &v), 0);
		max_w = v > max_w ? v : max_w;
	}
	ck_assert_int_le(max_r, 4096);
	ck_assert_int_le(max_w, 1);
	sem_close(sem_r);
	sem_close(sem_w);
}
END_TEST

/* Our own reader posts sem-r only when no token waits: the count stays at 1. */
START_TEST(own_reader_sem_r_at_most_one)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem_r;
	int v;

	open_pair(64, 4096);
	names_sem_r(obj, name);
	sem_r = sem_open(obj, 0);
	ck_assert(sem_r != SEM_FAILED);
	for (uint64_t seq = 1; seq <= 5000; seq++) {
		struct zb_frame f;

		ck_assert_int_eq(zb_writer_write(wr, &seq, sizeof(seq), 0), 0);
		ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
		ck_assert_int_eq(zb_reader_release(rd, &f), 0);
		ck_assert_int_eq(sem_getvalue(sem_r, &v), 0);
		ck_assert_int_le(v, 1);
	}
	sem_close(sem_r);
}
END_TEST

START_TEST(zero_copy)
{
	void *dst, *dst2;
	struct zb_frame f;

	open_pair(64, 1024);
	ck_assert_int_eq(zb_writer_commit(wr, 10), -EINVAL); /* nothing acquired */
	ck_assert_int_eq(zb_writer_acquire(wr, 0, &dst, 0), -EINVAL);
	ck_assert_int_eq(zb_writer_acquire(wr, 10, NULL, 0), -EINVAL);
	ck_assert_int_eq(zb_writer_acquire(wr, 1024, &dst, 0), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_acquire(wr, SIZE_MAX, &dst, 0), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_acquire(wr, 100, &dst, 0), 0);
	ck_assert_int_eq(zb_writer_acquire(wr, 100, &dst2, 0), -EINVAL); /* one at a time */
	ck_assert_int_eq(zb_writer_commit(wr, 0), -EINVAL);
	ck_assert_int_eq(zb_writer_commit(wr, 101), -EINVAL);
	/* Not visible before commit. */
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), -ETIMEDOUT);
	fill(dst, 1, 40);
	/* The pointer is in the ring, right after the frame's header at 0. */
	ck_assert_mem_eq(seg + 128 + 64 + 16, dst, 40);
	ck_assert_int_eq(zb_writer_commit(wr, 40), 0); /* shorter than acquired */
	ck_assert_uint_eq(oieb->payload_write_pos, 56);
	ck_assert_uint_eq(oieb->payload_free_bytes, 1024 - 56);
	get_release(1, 40);
	ck_assert_int_eq(zb_writer_commit(wr, 40), -EINVAL); /* committed already */

	/* An acquired frame dropped by close is never seen. */
	ck_assert_int_eq(zb_writer_acquire(wr, 50, &dst, 0), 0);
	memset(dst, 0xee, 50);
	zb_writer_close(wr);
	wr = NULL;
	ck_assert_uint_eq(oieb->payload_written_count, 1);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), -ETIMEDOUT);
}
END_TEST

START_TEST(zero_copy_wraps)
{
	void *dst;

	open_pair(64, 256);
	put(1, 100); /* [0, 116) */
	put(2, 100); /* [116, 232) */
	get_release(1, 100);
	get_release(2, 100);
	ck_assert_int_eq(zb_writer_acquire(wr, 50, &dst, 0), 0);
	fill(dst, 3, 50);
	ck_assert_mem_eq(seg + 128 + 64 + 16, dst, 50); /* placed at 0, behind a marker */
	ck_assert_int_eq(zb_writer_commit(wr, 50), 0);
	ck_assert_uint_eq(oieb->payload_written_count, 4);
	get_release(3, 50);
}
END_TEST

START_TEST(metadata)
{
	uint8_t big[128] = { 0 };
	const void *md;
	size_t len;
	struct zb_writer *w2;

	open_pair(64, 1024);
	ck_assert_int_eq(zb_reader_metadata(rd, &md, &len), -ENODATA);
	ck_assert_int_eq(zb_writer_set_metadata(wr, big, 57), -EMSGSIZE); /* 8 + 57 > 64 */
	ck_assert_int_eq(zb_writer_set_metadata(wr, big, 128), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_set_metadata(wr, big, SIZE_MAX), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_set_metadata(wr, NULL, 5), -EINVAL);
	/* Empty metadata: upstream readers refuse it, and it is set only once. */
	ck_assert_int_eq(zb_writer_set_metadata(wr, "", 0), -EINVAL);
	ck_assert_int_eq(zb_writer_set_metadata(NULL, big, 5), -EINVAL);
	ck_assert_int_eq(zb_reader_metadata(rd, &md, &len), -ENODATA);
	memset(big, 'm', 56);
	ck_assert_int_eq(zb_writer_set_metadata(wr, big, 56), 0); /* exactly fills M */
	ck_assert_uint_eq(oieb->metadata_written_bytes, 64);
	ck_assert_uint_eq(oieb->metadata_free_bytes, 0);
	ck_assert_int_eq(zb_writer_set_metadata(wr, "x", 1), -EALREADY);
	ck_assert_int_eq(zb_reader_metadata(rd, &md, &len), 0);
	ck_assert_uint_eq(len, 56);
	ck_assert_mem_eq(md, big, 56);
	seg[128 + 8] = 'Z'; /* in place, no copy: a change in the segment shows */
	ck_assert_uint_eq(((const uint8_t *)md)[0], 'Z');
	ck_assert_int_eq(zb_reader_metadata(rd, NULL, &len), -EINVAL);
	/* A later writer finds it set. */
	zb_writer_close(wr);
	wr = NULL;
	ck_assert_int_eq(zb_writer_open(&w2, name), 0);
	ck_assert_int_eq(zb_writer_set_metadata(w2, "x", 1), -EALREADY);
	zb_writer_close(w2);
}
END_TEST

START_TEST(too_large_frames)
{
	uint8_t buf[256] = { 0 };

	open_pair(64, 256);
	ck_assert_int_eq(zb_writer_write(wr, buf, 241, 0), -EMSGSIZE); /* 16 + 241 > 256 */
	ck_assert_int_eq(zb_writer_write(wr, buf, SIZE_MAX, 0), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_write(wr, buf, 0, 0), -EINVAL);
	ck_assert_int_eq(zb_writer_write(wr, NULL, 10, 0), -EINVAL);
	ck_assert_int_eq(zb_writer_write(NULL, buf, 10, 0), -EINVAL);
	ck_assert_uint_eq(oieb->payload_written_count, 0);
	put(1, 240);
	get_release(1, 240);
}
END_TEST

START_TEST(stats_and_connected)
{
	struct zb_stats st;

	open_pair(64, 1024);
	ck_assert_int_eq(zb_reader_writer_connected(rd), 1);
	ck_assert_int_eq(zb_writer_reader_connected(wr), 1);
	put(1, 10);
	put(2, 20);
	put(3, 30);
	ck_assert_int_eq(zb_writer_stats(wr, &st), 0);
	ck_assert_uint_eq(st.frames, 3);
	ck_assert_uint_eq(st.bytes, 60);
	get_release(1, 10);
	get_release(2, 20);
	ck_assert_int_eq(zb_reader_stats(rd, &st), 0);
	ck_assert_uint_eq(st.frames, 2);
	ck_assert_uint_eq(st.bytes, 30);
	ck_assert_int_eq(zb_reader_stats(rd, NULL), -EINVAL);
	ck_assert_int_eq(zb_writer_stats(NULL, &st), -EINVAL);
	ck_assert_int_eq(zb_reader_writer_connected(NULL), -EINVAL);
	ck_assert_int_eq(zb_writer_reader_connected(NULL), -EINVAL);
	zb_writer_close(wr);
	wr = NULL;
	ck_assert_uint_eq(oieb->writer_pid, 0);
	ck_assert_int_eq(zb_reader_writer_connected(rd), 0);
	get_release(3, 30);
	ck_assert_int_eq(zb_reader_read(rd, &(struct zb_frame){ 0 }, 0), ZB_EWRITER_GONE);
}
END_TEST

TU_SUITE(ring_suite, "ring")
{
	TCase *tc = tu_tcase(s, "ring", setup, teardown);

	tcase_add_test(tc, wrap_with_marker);
	tcase_add_test(tc, wrap_marker_exactly_16_left);
	tcase_add_test(tc, wrap_without_marker);
	tcase_add_test(tc, frame_ends_at_ring_end);
	tcase_add_test(tc, wrap_sweep);
	tcase_add_test(tc, release_out_of_order);
	tcase_add_test(tc, held_frame_never_overwritten);
	tcase_add_test(tc, read_timeout);
	tcase_add_test(tc, write_timeout_full);
	tcase_add_test(tc, wakeup_without_frame);
	tcase_add_test(tc, sem_r_stays_bounded);
	tcase_add_test(tc, own_reader_sem_r_at_most_one);
	tcase_add_test(tc, zero_copy);
	tcase_add_test(tc, zero_copy_wraps);
	tcase_add_test(tc, metadata);
	tcase_add_test(tc, too_large_frames);
	tcase_add_test(tc, stats_and_connected);
}
