/* SPDX-License-Identifier: MIT */
/*
 * Early wraps (doc/protocol.md section 14, item 21): our writer, four frames
 * into a ring the reader keeps up with, goes back to 0 behind a wrap marker
 * although the frame would still fit before the end. Every reader must follow
 * such a marker: the model of an upstream reader (`upstream`, written from the
 * protocol alone) and our own. The frames here take exactly 1 MiB of an 8 MiB
 * ring, so a writer that wraps only when it must never writes a marker (each
 * lap ends exactly at the end of the ring): every marker counted is an early
 * wrap. The real upstream C++ and Python readers follow the same stream in
 * test-upstream.c (early_wrap_to_upstream_reader), and the Python binding's
 * writer into the upstream Python reader in python/tests/test_early_wrap.py.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segtest.h"
#include "testutil.h"
#include "zbclient.h"

#define RING (8u << 20)
#define RING_S "8388608"
#define FRAME ((1u << 20) - ZB_FRAME_HEADER_SIZE)
#define FRAME_S "1048560"
#define COUNT 24
#define COUNT_S "24"

static struct pattern pat;

static void setup(void)
{
	pattern_init(&pat, 4242, FRAME, FRAME);
}

static void teardown(void)
{
	pattern_free(&pat);
	tu_cleanup_all();
}

/* The reader has taken and released everything: the moment a writer that
 * keeps the ring hot wraps early. Waits on the ring's own free count. */
static void wait_drained(const struct zb_oieb *o)
{
	ck_assert_msg(TU_UNTIL(zb_load(&o->payload_free_bytes) == RING, 20000, 50),
		      "the reader did not drain the ring");
}

static void write_frame(struct zb_writer *w, uint64_t seq, bool zerocopy)
{
	const uint8_t *data = pattern_data(&pat, seq, FRAME);
	void *dst;

	if (!zerocopy) {
		ck_assert_int_eq(zb_writer_write(w, data, FRAME, 10000), 0);
		return;
	}
	ck_assert_int_eq(zb_writer_acquire(w, FRAME, &dst, 10000), 0);
	memcpy(dst, data, FRAME);
	ck_assert_int_eq(zb_writer_commit(w, FRAME), 0);
}

/* The model reader's counts line after 'D': frames, markers, short tails, the
 * highest sem-r count, frames that ended exactly at the end of the ring. */
static void model_counts(int status_fd, unsigned long long *ret_frames,
			 unsigned long long *ret_markers, unsigned long long *ret_exact)
{
	unsigned long long tails;
	char line[160];
	size_t n = 0;
	int b, semr;

	ck_assert_int_eq(tu_read_byte(status_fd, 60000), 'D');
	while (n + 1 < sizeof(line) && (b = tu_read_byte(status_fd, 5000)) >= 0 && b != '\n')
		line[n++] = (char)b;
	line[n] = '\0';
	ck_assert_int_eq(sscanf(line, "frames=%llu markers=%llu tails=%llu semr_max=%d exact=%llu",
				ret_frames, ret_markers, &tails, &semr, ret_exact),
			 5);
}

static void our_writer_to_model_reader(bool zerocopy)
{
	const char *name = tu_unique_name(zerocopy ? "ewzc" : "ew");
	const char *path = getenv("ZB_UPSTREAM");
	const char *const args[] = { "read-create", name,    COUNT_S, "4242",
				     FRAME_S,	    FRAME_S, RING_S,  NULL };
	unsigned long long frames, markers, exact;
	int status_fd, ctl_fd;
	struct zb_writer *w;
	uint8_t *seg;
	size_t seg_size;
	pid_t pid;

	ck_assert_msg(path != NULL, "ZB_UPSTREAM is not set (run through meson test)");
	pid = tu_spawn_reporter(path, args, &status_fd, &ctl_fd);
	ck_assert_int_eq(tu_read_byte(status_fd, 20000), 'R');
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	seg = seg_map(name, &seg_size);
	for (uint64_t seq = 1; seq <= COUNT; seq++) {
		wait_drained((const struct zb_oieb *)seg);
		write_frame(w, seq, zerocopy);
	}
	/* The model checked every byte of every frame, markers included. */
	model_counts(status_fd, &frames, &markers, &exact);
	ck_assert_uint_eq(frames, COUNT);
	ck_assert_uint_gt(markers, 0);
	ck_assert_uint_eq(exact, 0);
	zb_writer_close(w);
	seg_unmap(seg, seg_size);
	close(ctl_fd);
	ck_assert_int_eq(tu_wait_exit(pid, 20000), 0);
	close(status_fd);
}

START_TEST(early_wrap_model_reader_copy)
{
	our_writer_to_model_reader(false);
}
END_TEST

START_TEST(early_wrap_model_reader_zerocopy)
{
	our_writer_to_model_reader(true);
}
END_TEST

static void check(const struct zb_frame *f, uint64_t seq)
{
	ck_assert_uint_eq(f->sequence, seq);
	ck_assert_uint_eq(f->size, FRAME);
	ck_assert_msg(memcmp(f->data, pattern_data(&pat, seq, FRAME), FRAME) == 0,
		      "frame %llu: bytes differ", (unsigned long long)seq);
}

/*
 * Our reader, holding `hold` frames while the writer places the next (0: it
 * releases each at once). Holding a frame or two still lets the writer wrap
 * early; holding six (of the eight the ring has room for) keeps it going
 * straight on, so a reader that lags has the whole ring to fall behind in.
 */
static void our_writer_to_our_reader(bool zerocopy, unsigned hold, bool want_markers)
{
	const char *name = tu_unique_name("ewour");
	struct zb_buffer_config cfg = { 0, RING, 0 };
	struct zb_frame held[8];
	const struct zb_oieb *o;
	struct zb_reader *r;
	struct zb_writer *w;
	uint8_t *seg;
	size_t seg_size;
	unsigned n = 0;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	seg = seg_map(name, &seg_size);
	o = (const struct zb_oieb *)seg;
	for (uint64_t seq = 1; seq <= COUNT; seq++) {
		write_frame(w, seq, zerocopy);
		ck_assert_int_eq(zb_reader_read(r, &held[n], 0), 0);
		check(&held[n], seq);
		if (++n > hold) {
			/* The oldest goes; those still held must be intact. */
			ck_assert_int_eq(zb_reader_release(r, &held[0]), 0);
			memmove(held, held + 1, --n * sizeof(held[0]));
			for (unsigned i = 0; i < n; i++)
				check(&held[i], held[i].sequence);
		}
	}
	while (n > 0)
		ck_assert_int_eq(zb_reader_release(r, &held[--n]), 0);
	/* Every entry was read: frames and the markers between them. */
	ck_assert_uint_eq(zb_load(&o->payload_read_count), zb_load(&o->payload_written_count));
	if (want_markers)
		ck_assert_uint_gt(zb_load(&o->payload_written_count), COUNT);
	else
		ck_assert_uint_eq(zb_load(&o->payload_written_count), COUNT);
	ck_assert_uint_eq(zb_load(&o->payload_free_bytes), RING);
	seg_unmap(seg, seg_size);
	zb_writer_close(w);
	zb_reader_close(r);
}

START_TEST(early_wrap_our_reader)
{
	our_writer_to_our_reader(false, 0, true);
	our_writer_to_our_reader(true, 0, true);
}
END_TEST

START_TEST(early_wrap_our_reader_holding_one)
{
	our_writer_to_our_reader(false, 1, true);
	our_writer_to_our_reader(true, 2, true);
}
END_TEST

START_TEST(no_early_wrap_while_reader_lags)
{
	our_writer_to_our_reader(false, 6, false);
}
END_TEST

TU_SUITE(early_wrap_suite, "early-wrap")
{
	TCase *tc = tu_tcase(s, "early-wrap", setup, teardown);

	tcase_add_test(tc, early_wrap_model_reader_copy);
	tcase_add_test(tc, early_wrap_model_reader_zerocopy);
	tcase_add_test(tc, early_wrap_our_reader);
	tcase_add_test(tc, early_wrap_our_reader_holding_one);
	tcase_add_test(tc, no_early_wrap_while_reader_lags);
}
