/* SPDX-License-Identifier: MIT */
/*
 * Two processes, a long stream: a million frames of sizes from 1 byte to a
 * third of a 64 KiB ring (it wraps tens of thousands of times), every sequence
 * number and every byte checked, frames held a few at a time and released in a
 * shuffled order after checking them again (so a writer that overwrote a held
 * frame is caught). Then the zero-copy path the other way round.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtest.h"
#include "testutil.h"
#include "zbclient.h"

#define RING (64 * 1024)
#define MAX_FRAME (RING / 3)
/* MAX_FRAME as the peer gets it on its command line. */
#define MAX_FRAME_ARG "21845"
_Static_assert(MAX_FRAME == 21845, "MAX_FRAME_ARG follows MAX_FRAME");

static struct pattern pat;

/* pattern_free() leaves the table NULL, as the next test expects it. */
static void teardown(void)
{
	pattern_free(&pat);
	tu_cleanup_all();
}

static void check_frame(const struct zb_frame *f, uint64_t seq)
{
	size_t size = pattern_size(&pat, seq);

	if (f->sequence != seq || f->size != size)
		ck_abort_msg("frame %" PRIu64 ": sequence %" PRIu64 ", size %zu (expected %zu)",
			     seq, f->sequence, f->size, size);
	if (memcmp(f->data, pattern_data(&pat, seq, size), size) != 0)
		ck_abort_msg("frame %" PRIu64 " (%zu bytes): data differs", seq, size);
}

START_TEST(million_frames_by_copy)
{
	const char *name = tu_unique_name("stress");
	const uint64_t count = 1000000;
	struct zb_buffer_config cfg = { 64, RING, 0 };
	const char *args[] = { "write", name, "1000000", "977", "1", MAX_FRAME_ARG, NULL };
	struct zb_frame held[4];
	struct zb_reader *r;
	struct zb_stats st;
	struct peer w;
	uint64_t rng = 5, bytes = 0;
	size_t held_bytes = 0;
	unsigned n = 0;
	int64_t t0 = tu_now_ms();

	pattern_init(&pat, 977, 1, MAX_FRAME);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	peer_start(&w, args);
	for (uint64_t seq = 1; seq <= count; seq++) {
		int err = zb_reader_read(r, &held[n], 30000);

		if (err < 0)
			ck_abort_msg("read of frame %" PRIu64 ": %s", seq, zb_strerror(err));
		check_frame(&held[n], seq);
		bytes += held[n].size;
		held_bytes += held[n].size + 16;
		/* Up to 4 held, under a sixth of the ring, so the writer never starves. */
		if (++n < 4 && held_bytes < MAX_FRAME / 2 && seq < count)
			continue;
		while (n > 0) {
			unsigned i = (unsigned)(splitmix64(&rng) % n);

			check_frame(&held[i], held[i].sequence);
			ck_assert_int_eq(zb_reader_release(r, &held[i]), 0);
			held[i] = held[--n];
		}
		held_bytes = 0;
	}
	peer_expect_success(&w, 30000);
	ck_assert_int_eq(zb_reader_read(r, &held[0], 5000), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_stats(r, &st), 0);
	ck_assert_uint_eq(st.frames, count);
	ck_assert_uint_eq(st.bytes, bytes);
	/* At least this many times round the ring. */
	ck_assert_uint_gt(bytes / RING, 10000);
	fprintf(stderr,
		"%" PRIu64 " frames, %" PRIu64 " MB, %" PRIu64 " wraps in %" PRId64
		" ms; sem-w %d, sem-r %d left\n",
		count, bytes >> 20, bytes / RING, (int64_t)(tu_now_ms() - t0), sem_value(name, 'w'),
		sem_value(name, 'r'));
	/* Neither count grows with the stream (doc/protocol.md section 10). */
	ck_assert_int_lt(sem_value(name, 'w'), 4096);
	ck_assert_int_le(sem_value(name, 'r'), 1);
	zb_reader_close(r);
}
END_TEST

START_TEST(zero_copy_the_other_way)
{
	const char *name = tu_unique_name("stresszc");
	const uint64_t count = 200000;
	const char *args[] = {
		"read", name, "200000", "978", "1", MAX_FRAME_ARG, "hold", "4", NULL
	};
	struct zb_writer *w;
	struct peer rp;
	uint64_t bytes = 0;
	int64_t t0 = tu_now_ms();

	pattern_init(&pat, 978, 1, MAX_FRAME);
	/* zbd's kind of buffer: the peer attaches as reader, we write into the ring. */
	seg_create_unowned(name, 64, RING);
	peer_start(&rp, args);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	for (uint64_t seq = 1; seq <= count; seq++) {
		size_t size = pattern_size(&pat, seq);
		void *dst;
		int err = zb_writer_acquire(w, size, &dst, 30000);

		if (err < 0)
			ck_abort_msg("acquire of frame %" PRIu64 ": %s", seq, zb_strerror(err));
		memcpy(dst, pattern_data(&pat, seq, size), size);
		ck_assert_int_eq(zb_writer_commit(w, size), 0);
		bytes += size;
	}
	peer_expect_success(&rp, 30000);
	fprintf(stderr, "%" PRIu64 " frames, %" PRIu64 " MB, zero-copy, in %" PRId64 " ms\n", count,
		bytes >> 20, (int64_t)(tu_now_ms() - t0));
	zb_writer_close(w);
}
END_TEST

TU_SUITE(stress_suite, "stress")
{
	TCase *tc = tu_tcase(s, "stress", NULL, teardown);

	tcase_add_test(tc, million_frames_by_copy);
	tcase_add_test(tc, zero_copy_the_other_way);
}
