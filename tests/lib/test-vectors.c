/* SPDX-License-Identifier: MIT */
/*
 * Segment images written by the upstream C++ implementation (vectors/README.md):
 * our reader reads each exactly as listed, and our reader and writer doing the
 * same operations leave the same bytes.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtest.h"
#include "testutil.h"
#include "wire.h"
#include "zbclient.h"

struct vector {
	const char *file;
	uint64_t metadata_req, payload_req; /* sizes the upstream reader was created with */
	uint64_t metadata_size;		    /* M as it lies in the file */
	bool has_metadata;
	unsigned first_unread; /* k of the first unread frame */
	unsigned unread;       /* frames still unread = sem-w count */
	size_t frame_size;
};

static const struct vector vectors[] = {
	{ "created-m1000-p10000.bin", 1000, 10000, 1024, false, 0, 0, 0 },
	{ "wrap-marker.bin", 1024, 4096, 1024, true, 2, 3, 1000 },
	{ "wrap-nomarker.bin", 1024, 4096, 1024, true, 1, 4, 1006 },
	{ "zerocopy-3x100.bin", 64, 1024, 64, false, 0, 3, 100 },
};

static uint8_t *load_vector(const char *file, size_t *ret_len)
{
	const char *dir = getenv("ZB_VECTORS");
	char path[4096];
	uint8_t *buf;
	long len;
	FILE *f;

	ck_assert_msg(dir != NULL, "ZB_VECTORS is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_gt(len, (long)ZB_OIEB_SIZE);
	rewind(f);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, len, f), (size_t)len);
	fclose(f);
	*ret_len = len;
	return buf;
}

START_TEST(read_vector)
{
	const struct vector *v = &vectors[_i];
	const char *name = tu_unique_name("vread");
	struct zb_reader *r;
	const void *md;
	size_t len, mdlen, seglen;
	uint8_t *file = load_vector(v->file, &len), *seg;
	struct zb_oieb *o;

	seg_install(name, file, len, len, v->unread);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	if (v->has_metadata) {
		ck_assert_int_eq(zb_reader_metadata(r, &md, &mdlen), 0);
		ck_assert_uint_eq(mdlen, 9);
		ck_assert_mem_eq(md, "peer-meta", 9);
	} else {
		ck_assert_int_eq(zb_reader_metadata(r, &md, &mdlen), -ENODATA);
	}
	for (unsigned i = 0; i < v->unread; i++)
		vector_read(r, v->first_unread + i, v->frame_size, true);
	/* Nothing more: the upstream writer is gone (pid 0), reported once. */
	if (v->unread)
		ck_assert_int_eq(zb_reader_read(r, &(struct zb_frame){ 0 }, 0), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(r, &(struct zb_frame){ 0 }, 0), -ETIMEDOUT);
	/* One sem-w token per frame, all taken: the count an upstream writer expects. */
	ck_assert_int_eq(sem_value(name, 'w'), 0);

	/* Everything consumed and given back, in the upstream counters. */
	seg = seg_snapshot(name, &seglen);
	o = (struct zb_oieb *)seg;
	ck_assert_uint_eq(o->payload_free_bytes, o->payload_size);
	ck_assert_uint_eq(o->payload_read_pos, o->payload_write_pos);
	ck_assert_uint_eq(o->payload_read_count, o->payload_written_count);
	free(seg);

	/* Our writer carries on in the foreign ring, wrapping it; our reader follows. */
	if (v->frame_size) {
		struct zb_writer *w;
		uint8_t buf[2048];
		struct zb_frame f;

		ck_assert_int_eq(zb_writer_open(&w, name), 0);
		ck_assert_int_eq(zb_writer_set_metadata(w, "x", 1),
				 v->has_metadata ? -EALREADY : 0);
		for (uint64_t k = 0; k < 12; k++) {
			vector_frame(buf, k + 7, v->frame_size);
			ck_assert_int_eq(zb_writer_write(w, buf, v->frame_size, 0), 0);
			ck_assert_int_eq(zb_reader_read(r, &f, 0), 0);
			ck_assert_uint_eq(f.sequence, k + 1);
			ck_assert_uint_eq(f.size, v->frame_size);
			ck_assert_mem_eq(f.data, buf, v->frame_size);
			ck_assert_int_eq(zb_reader_release(r, &f), 0);
		}
		zb_writer_close(w);
	}
	zb_reader_close(r);
	free(file);
}
END_TEST

/* The operations of vectors/README.md, done by our library. */
static void reproduce(const struct vector *v, struct zb_reader *r, struct zb_writer *w)
{
	if (strcmp(v->file, "wrap-marker.bin") == 0) {
		ck_assert_int_eq(zb_writer_set_metadata(w, "peer-meta", 9), 0);
		for (int k = 0; k < 3; k++)
			vector_write(w, k, 1000);
		vector_read(r, 0, 1000, true);
		vector_read(r, 1, 1000, true);
		vector_write(w, 3, 1000);
		vector_write(w, 4, 1000);
	} else if (strcmp(v->file, "wrap-nomarker.bin") == 0) {
		ck_assert_int_eq(zb_writer_set_metadata(w, "peer-meta", 9), 0);
		for (int k = 0; k < 4; k++)
			vector_write(w, k, 1006);
		vector_read(r, 0, 1006, true);
		vector_write(w, 4, 1006);
	} else if (strcmp(v->file, "zerocopy-3x100.bin") == 0) {
		for (int k = 0; k < 3; k++) {
			void *dst;

			ck_assert_int_eq(zb_writer_acquire(w, 100, &dst, 0), 0);
			vector_frame(dst, k, 100);
			ck_assert_int_eq(zb_writer_commit(w, 100), 0);
		}
	}
}

START_TEST(reproduce_vector)
{
	const struct vector *v = &vectors[_i];
	const char *name = tu_unique_name("vrepro");
	struct zb_buffer_config cfg = { v->metadata_req, v->payload_req, 0 };
	struct zb_reader *r;
	struct zb_writer *w;
	size_t len, seglen;
	uint8_t *file = load_vector(v->file, &len), *seg;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	reproduce(v, r, w);
	seg = seg_snapshot(name, &seglen);
	seg_assert_equal(seg, seglen, file, len, v->metadata_size);
	/* An upstream reader taking over waits once per unread frame (marker and
	 * its frame share one post): the README's sem-w count. */
	ck_assert_int_eq(sem_value(name, 'w'), v->unread);
	free(seg);
	free(file);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

TU_SUITE(vectors_suite, "vectors")
{
	TCase *tc = tu_tcase(s, "vectors", NULL, tu_cleanup_all);
	int n = sizeof(vectors) / sizeof(vectors[0]);

	tcase_add_loop_test(tc, read_vector, 0, n);
	tcase_add_loop_test(tc, reproduce_vector, 0, n);
}
