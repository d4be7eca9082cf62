/* SPDX-License-Identifier: MIT */
/*
 * Bad input: names, arguments, and segments and frames that fail validation.
 * Each gets its exact error code and never a crash or an access outside the
 * mapping (the sanitizer build runs this suite too, fuzz loop included).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libtest.h"
#include "segment.h"
#include "testutil.h"
#include "zbclient.h"

/* The segment ends exactly at a page boundary: a read past the ring leaves
 * the mapping instead of landing in the slack of its last page. */
#define M 64
#define P 3904
#define TOTAL (128 + M + P)
_Static_assert(TOTAL == 4096, "one page");

static struct zb_reader *rd;
static struct zb_writer *wr;

static void setup(void)
{
	rd = NULL;
	wr = NULL;
}

static void teardown(void)
{
	zb_writer_close(wr);
	zb_reader_close(rd);
	tu_cleanup_all();
}

START_TEST(bad_names)
{
	char long_name[ZB_NAME_MAX + 2];
	/* One rule for library, zbd and zbctl: what zbd refuses, the library refuses. */
	const char *bad[] = { "",	 "a/b",		 "/lead",   "trail/",	   ".",
			      "..",	 long_name,	 "a b",	    "tab\tname",   "new\nline",
			      "\x01ctl", "k=v",		 "del\x7f", "caf\xc3\xa9", "-lead",
			      "sem.x",	 "sem.sem-w-foo" };
	struct zb_reader *r = NULL;
	struct zb_writer *w = NULL;

	memset(long_name, 'n', ZB_NAME_MAX + 1); /* 201 bytes */
	long_name[ZB_NAME_MAX + 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(zb_reader_open(&r, bad[i]), -EINVAL);
		ck_assert_int_eq(zb_reader_create(&r, bad[i], NULL), -EINVAL);
		ck_assert_int_eq(zb_writer_open(&w, bad[i]), -EINVAL);
	}
	ck_assert_int_eq(zb_reader_open(&r, NULL), -EINVAL);
	ck_assert_int_eq(zb_reader_create(&r, NULL, NULL), -EINVAL);
	ck_assert_int_eq(zb_writer_open(&w, NULL), -EINVAL);
	ck_assert_ptr_null(r); /* output parameters untouched on failure */
	ck_assert_ptr_null(w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(zb_name_check(bad[i]), -EINVAL);
}
END_TEST

/* What the rule lets through: anything printable that is not one of the above. */
START_TEST(good_names)
{
	const char *good[] = { "camera0.left-1_x~", "a-", "sem", "semaphore", "x.sem.", "@#!" };
	char longest[ZB_NAME_MAX + 1];

	memset(longest, 'n', ZB_NAME_MAX);
	longest[ZB_NAME_MAX] = '\0';
	ck_assert_int_eq(zb_name_check(longest), 0);
	ck_assert_int_eq(zb_name_check(NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_int_eq(zb_name_check(good[i]), 0);
}
END_TEST

static char name200[ZB_NAME_MAX + 1];

static void cleanup_name200(void)
{
	tu_cleanup_name(name200);
}

/* 200 bytes is the longest name, and it works end to end. */
START_TEST(longest_name)
{
	char *name = name200;
	struct zb_buffer_config cfg = { 64, 1024, 0 };
	struct zb_frame f;

	snprintf(name, sizeof(name200), "%s", tu_name_prefix());
	memset(name + strlen(name), 'x', ZB_NAME_MAX - strlen(name));
	name[ZB_NAME_MAX] = '\0';
	atexit(cleanup_name200); /* not a tu_unique_name(): cleaned up here, or by the sweep */
	ck_assert_int_eq(zb_reader_create(&rd, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&wr, name), 0);
	ck_assert_int_eq(zb_writer_write(wr, "abc", 3, 0), 0);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
	ck_assert_uint_eq(f.size, 3);
	ck_assert_int_eq(zb_reader_release(rd, &f), 0);
	zb_writer_close(wr);
	zb_reader_close(rd);
	wr = NULL;
	rd = NULL;
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(null_arguments)
{
	const char *name = tu_unique_name("null");
	struct zb_frame f = { 0 };
	const void *md;
	size_t len;

	ck_assert_int_eq(zb_reader_create(NULL, name, NULL), -EINVAL);
	ck_assert(!tu_any_object_exists(name));
	ck_assert_int_eq(zb_reader_create(&rd, name, NULL), 0);
	ck_assert_int_eq(zb_reader_open(NULL, name), -EINVAL);
	ck_assert_int_eq(zb_writer_open(NULL, name), -EINVAL);
	ck_assert_int_eq(zb_writer_open(&wr, name), 0);
	ck_assert_int_eq(zb_reader_read(NULL, &f, 0), -EINVAL);
	ck_assert_int_eq(zb_reader_read(rd, NULL, 0), -EINVAL);
	ck_assert_int_eq(zb_reader_metadata(NULL, &md, &len), -EINVAL);
	ck_assert_int_eq(zb_reader_metadata(rd, &md, NULL), -EINVAL);
	ck_assert_int_eq(zb_reader_set_spin(NULL, 1), -EINVAL);
	ck_assert_int_eq(zb_writer_set_spin(NULL, 1), -EINVAL);
	ck_assert_int_eq(zb_writer_acquire(NULL, 1, (void **)&md, 0), -EINVAL);
	ck_assert_int_eq(zb_writer_commit(NULL, 1), -EINVAL);
	ck_assert_int_eq(zb_writer_write(wr, "x", 0, 0), -EINVAL); /* frame size 0 */
	ck_assert_int_eq(zb_writer_write(wr, NULL, 0, 0), -EINVAL);
	zb_reader_close(NULL);
	zb_writer_close(NULL);
}
END_TEST

START_TEST(bad_config)
{
	const char *name = tu_unique_name("badcfg");
	struct zb_buffer_config huge_p = { 64, UINT64_MAX, 0 }, huge_m = { UINT64_MAX, 4096, 0 };
	struct zb_buffer_config tiny = { 1, 1, 0 };
	uint8_t buf[64] = { 0 };
	struct zb_frame f;

	ck_assert_int_eq(zb_reader_create(&rd, name, &huge_p), -EMSGSIZE);
	ck_assert_int_eq(zb_reader_create(&rd, name, &huge_m), -EMSGSIZE);
	ck_assert(!tu_any_object_exists(name)); /* the lock file too */
	ck_assert_ptr_null(rd);
	/* The smallest buffer: 64-byte blocks, frames up to 48 bytes. */
	ck_assert_int_eq(zb_reader_create(&rd, name, &tiny), 0);
	ck_assert_int_eq(zb_writer_open(&wr, name), 0);
	ck_assert_int_eq(zb_writer_set_metadata(wr, buf, 57), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_write(wr, buf, 49, 0), -EMSGSIZE);
	ck_assert_int_eq(zb_writer_write(wr, buf, 48, 0), 0);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
	ck_assert_int_eq(zb_reader_release(rd, &f), 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(zb_writer_write(wr, "abcdefgh", 8, 0), 0);
		ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
		ck_assert_int_eq(zb_reader_release(rd, &f), 0);
	}
}
END_TEST

START_TEST(missing_buffer)
{
	const char *name = tu_unique_name("missing");
	struct zb_reader *r = NULL;
	struct zb_writer *w = NULL;

	ck_assert_int_eq(zb_reader_open(&r, name), -ENOENT);
	ck_assert_int_eq(zb_writer_open(&w, name), -ENOENT);
	ck_assert_ptr_null(r);
	ck_assert_ptr_null(w);
}
END_TEST

START_TEST(strerror_distinct)
{
	const int codes[] = {
		0,	    -EINVAL,	     -ENOENT,	      -EEXIST,	   -EBUSY,
		-ETIMEDOUT, -ENOBUFS,	     -EALREADY,	      -EMSGSIZE,   -ENODATA,
		-EACCES,    ZB_EWRITER_GONE, ZB_EREADER_GONE, ZB_EVERSION, ZB_ECORRUPT,
	};
	const size_t n = sizeof(codes) / sizeof(codes[0]);

	for (size_t i = 0; i < n; i++) {
		const char *a = zb_strerror(codes[i]);

		ck_assert_ptr_nonnull(a);
		ck_assert_uint_gt(strlen(a), 0);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(a, zb_strerror(codes[j])) != 0,
				      "codes %d and %d share the text \"%s\"", codes[i], codes[j],
				      a);
	}
	ck_assert_ptr_nonnull(zb_strerror(-99999));
	ck_assert_ptr_nonnull(zb_strerror(12345));
	ck_assert_ptr_nonnull(zb_strerror(-ENOSPC));
}
END_TEST

/* A well-formed, empty segment image (M = 64, P = 3904), as an upstream reader
 * leaves it at creation. */
static void valid_image(uint8_t img[TOTAL])
{
	struct zb_oieb *o = (struct zb_oieb *)img;

	memset(img, 0, TOTAL);
	o->oieb_size = 128;
	o->version[0] = 1;
	o->metadata_size = M;
	o->metadata_free_bytes = M;
	o->payload_size = P;
	o->payload_free_bytes = P;
}

struct mutation {
	const char *what;
	size_t offset; /* of a u64 field, or of oieb_size / version for the small ones */
	int width;
	uint64_t value;
	int reader_err, writer_err;
};

#define F(field) offsetof(struct zb_oieb, field)

static const struct mutation mutations[] = {
	{ "valid", 0, 0, 0, 0, 0 },
	{ "oieb_size 64", F(oieb_size), 4, 64, ZB_EVERSION, ZB_EVERSION },
	{ "oieb_size 256", F(oieb_size), 4, 256, ZB_EVERSION, ZB_EVERSION },
	{ "major 2", F(version), 1, 2, ZB_EVERSION, ZB_EVERSION },
	{ "major 0", F(version), 1, 0, ZB_EVERSION, ZB_EVERSION },
	{ "minor 9 is compatible", F(version) + 1, 1, 9, 0, 0 },
	{ "payload_size past the mapping", F(payload_size), 8, P + 64, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "payload_size huge", F(payload_size), 8, UINT64_MAX, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "payload_size tiny", F(payload_size), 8, 16, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "metadata_size past the mapping", F(metadata_size), 8, M + 64, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "metadata_size 2^63", F(metadata_size), 8, UINT64_C(1) << 63, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "metadata_written past the block", F(metadata_written_bytes), 8, M + 1, ZB_ECORRUPT,
	  ZB_ECORRUPT },
	{ "write_pos past the ring", F(payload_write_pos), 8, P + 1, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "write_pos huge", F(payload_write_pos), 8, UINT64_MAX, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "read_pos past the ring", F(payload_read_pos), 8, P + 1, ZB_ECORRUPT, 0 },
	{ "free past the ring", F(payload_free_bytes), 8, P + 1, ZB_ECORRUPT, ZB_ECORRUPT },
	{ "read_count ahead of written", F(payload_read_count), 8, 5, ZB_ECORRUPT, 0 },
};

static void apply(uint8_t *img, const struct mutation *m)
{
	switch (m->width) {
	case 1:
		img[m->offset] = (uint8_t)m->value;
		break;
	case 4: {
		uint32_t v = (uint32_t)m->value;

		memcpy(img + m->offset, &v, 4);
		break;
	}
	case 8:
		memcpy(img + m->offset, &m->value, 8);
		break;
	}
}

START_TEST(bad_segment)
{
	const struct mutation *m = &mutations[_i];
	const char *name = tu_unique_name("badseg");
	uint8_t img[TOTAL];
	int r;

	valid_image(img);
	apply(img, m);
	seg_install(name, img, TOTAL, TOTAL, 0);
	r = zb_reader_open(&rd, name);
	ck_assert_msg(r == m->reader_err, "%s: reader got %d (%s), want %d", m->what, r,
		      zb_strerror(r), m->reader_err);
	r = zb_writer_open(&wr, name);
	ck_assert_msg(r == m->writer_err, "%s: writer got %d (%s), want %d", m->what, r,
		      zb_strerror(r), m->writer_err);
	/* A refused attach leaves no pid behind. */
	if (m->reader_err || m->writer_err) {
		uint8_t *seg;
		size_t len;

		seg = seg_map(name, &len);
		if (m->reader_err)
			ck_assert_uint_eq(((struct zb_oieb *)seg)->reader_pid, 0);
		if (m->writer_err)
			ck_assert_uint_eq(((struct zb_oieb *)seg)->writer_pid, 0);
		seg_unmap(seg, len);
	}
}
END_TEST

START_TEST(short_segments)
{
	const char *small = tu_unique_name("small"), *trunc = tu_unique_name("trunc");
	const char *unready = tu_unique_name("unready"), *nosem = tu_unique_name("nosem");
	char obj[ZB_OBJ_NAME_MAX];
	uint8_t img[TOTAL];
	int fd;

	valid_image(img);
	/* Smaller than an OIEB: nobody ever finishes it. */
	seg_install(small, img, 64, 64, 0);
	ck_assert_int_eq(zb_reader_open(&rd, small), ZB_ECORRUPT);
	ck_assert_int_eq(zb_writer_open(&wr, small), ZB_ECORRUPT);
	/* An OIEB that claims more than the file holds. */
	seg_install(trunc, img, 1000, 1000, 0);
	ck_assert_int_eq(zb_reader_open(&rd, trunc), ZB_ECORRUPT);
	ck_assert_int_eq(zb_writer_open(&wr, trunc), ZB_ECORRUPT);
	/* oieb_size still 0: a creator that never finished. */
	img[0] = 0;
	seg_install(unready, img, TOTAL, TOTAL, 0);
	ck_assert_int_eq(zb_reader_open(&rd, unready), ZB_ECORRUPT);
	ck_assert_int_eq(zb_writer_open(&wr, unready), ZB_ECORRUPT);
	/* A segment without its semaphores. */
	img[0] = 128;
	names_shm(obj, nosem);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, TOTAL), TOTAL);
	close(fd);
	ck_assert_int_eq(zb_reader_open(&rd, nosem), -ENOENT);
	ck_assert_int_eq(zb_writer_open(&wr, nosem), -ENOENT);
}
END_TEST

/* A frame header as a foreign or broken writer might leave it. */
/* Headers at 0, `written` entries announced, the writer `used` bytes past 0
 * (a reader takes only entries the writer has been past: reader.c). */
static void install_frames(const char *name, const uint64_t *hdrs, int nhdr, uint64_t written,
			   uint64_t used)
{
	uint8_t img[TOTAL];
	struct zb_oieb *o = (struct zb_oieb *)img;

	valid_image(img);
	memcpy(img + 128 + M, hdrs, nhdr * 16);
	o->payload_written_count = written;
	o->payload_write_pos = used % P;
	o->payload_free_bytes = P - used;
	seg_install(name, img, TOTAL, TOTAL, (unsigned)written);
}

START_TEST(bad_frames)
{
	struct zb_frame f;
	struct {
		uint64_t hdr[4];
		int n;
		int want;
	} cases[] = {
		{ { P - 15, 1 }, 1, ZB_ECORRUPT },	    /* one byte past the ring */
		{ { UINT64_MAX, 1 }, 1, ZB_ECORRUPT },	    /* would wrap the arithmetic */
		{ { UINT64_MAX - 15, 1 }, 1, ZB_ECORRUPT }, /* 16 + size overflows to 0 */
		{ { P - 16, 1 }, 1, 0 },		    /* exactly fills the ring */
		{ { 16, 1, 0, 0 }, 1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = tu_unique_name("badframe");

		/* A frame filling the ring leaves none of it free. */
		install_frames(name, cases[i].hdr, cases[i].n, 1,
			       cases[i].want == 0 ? 16 + cases[i].hdr[0] : 32);
		ck_assert_int_eq(zb_reader_open(&rd, name), 0);
		ck_assert_int_eq(zb_reader_read(rd, &f, 0), cases[i].want);
		if (cases[i].want == 0) {
			ck_assert_uint_eq(f.size, cases[i].hdr[0]);
			ck_assert_int_eq(zb_reader_release(rd, &f), 0);
		} else {
			/* Stays refused; does not move on into garbage. */
			ck_assert_int_eq(zb_reader_read(rd, &f, 0), cases[i].want);
		}
		zb_reader_close(rd);
		rd = NULL;
	}
}
END_TEST

START_TEST(bad_sequence)
{
	const char *name = tu_unique_name("badseq");
	/* seq 1 (10 bytes) at 0, then seq 7 at 26, then the writer count claims 3 */
	uint64_t hdrs[4] = { 10, 1, 0, 0 };
	uint8_t *seg;
	size_t len;
	struct zb_frame f;

	install_frames(name, hdrs, 2, 2, 52);
	seg = seg_map(name, &len);
	memcpy(seg + 128 + M + 26, &(uint64_t[2]){ 10, 7 }, 16);
	ck_assert_int_eq(zb_reader_open(&rd, name), 0);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), 0);
	ck_assert_uint_eq(f.sequence, 1);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), ZB_ECORRUPT);
	/* The written count going backwards is corruption too. */
	((struct zb_oieb *)seg)->payload_written_count = 0;
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), ZB_ECORRUPT);
	seg_unmap(seg, len);
}
END_TEST

/*
 * Garbage: a valid control block with random fields replaced by random or
 * boundary values, and random bytes (with plausible headers now and then) in
 * the ring. Whatever attach and every call return, it is one of the codes the
 * API names, and nothing touches memory outside the mapping.
 */
static uint64_t pick(uint64_t *rng)
{
	static const uint64_t edges[] = { 0,	  1,	  15,	     16,	 17,
					  P - 17, P - 16, P - 1,     P,		 P + 1,
					  M,	  M + 8,  INT64_MAX, UINT64_MAX, UINT64_MAX - 15 };
	uint64_t r = splitmix64(rng);

	if (r % 3 == 0)
		return splitmix64(rng);
	if (r % 3 == 1)
		return splitmix64(rng) % (2 * P);
	return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
}

/* A believable state to start from: frames 1..n from a random read position,
 * wrapping as the protocol says, counts and free space to match. */
static void chain(uint8_t *img, uint64_t *rng)
{
	struct zb_oieb *o = (struct zb_oieb *)img;
	uint64_t pos = splitmix64(rng) % P, used = 0, count = splitmix64(rng) % 1000;
	int n = (int)(splitmix64(rng) % 8);

	o->metadata_written_bytes = 0;
	o->payload_read_pos = pos;
	o->payload_read_count = count;
	for (uint64_t seq = 1; seq <= (uint64_t)n; seq++) {
		uint64_t size = 1 + splitmix64(rng) % 200, h[2] = { size, seq };

		if (P - pos < 16 + size) {
			if (used + (P - pos) + 16 + size > P)
				break;
			if (P - pos >= 16) {
				memset(img + 128 + M + pos, 0, 16);
				count++;
			}
			used += P - pos;
			pos = 0;
		}
		if (used + 16 + size > P)
			break;
		memcpy(img + 128 + M + pos, h, 16);
		pos = (pos + 16 + size) % P;
		used += 16 + size;
		count++;
	}
	o->payload_write_pos = pos;
	o->payload_written_count = count;
	o->payload_free_bytes = P - used;
	if (splitmix64(rng) % 2) { /* metadata, right or wrong */
		uint64_t len = splitmix64(rng) % 60;

		memcpy(img + 128, &len, 8);
		o->metadata_written_bytes = splitmix64(rng) % 4 ? 8 + len : pick(rng);
	}
}

/* Read every byte handed out: past the segment's end is past its last page. */
static unsigned touch(const void *data, size_t len)
{
	unsigned sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)data)[i];
	return sum;
}

static bool allowed(int r)
{
	return r == 0 || r == -ETIMEDOUT || r == -ENOBUFS || r == -EMSGSIZE || r == -EALREADY ||
	       r == -ENODATA || r == -EBUSY || r == -EINVAL || r == ZB_ECORRUPT ||
	       r == ZB_EVERSION || r == ZB_EWRITER_GONE || r == ZB_EREADER_GONE;
}

START_TEST(garbage)
{
	uint64_t rng = 20261126;
	int opened = 0, frames = 0;
	unsigned sum = 0;

	for (int iter = 0; iter < 400; iter++) {
		const char *name = tu_unique_name("garbage");
		uint8_t img[TOTAL];
		struct zb_oieb *o = (struct zb_oieb *)img;
		int nmut = (int)(splitmix64(&rng) % 4), r;

		valid_image(img);
		for (size_t i = 128; i < TOTAL; i++)
			img[i] = (uint8_t)splitmix64(&rng);
		chain(img, &rng);
		/* Then break it: fields replaced, headers and bytes overwritten. */
		for (int k = 0; k < 3; k++) {
			uint64_t at = splitmix64(&rng) % (P - 16), h[2];

			if (splitmix64(&rng) % 2)
				continue;
			h[0] = splitmix64(&rng) % 2 ? pick(&rng) : splitmix64(&rng) % 300;
			h[1] = splitmix64(&rng) % 2 ? (uint64_t)k + 1 : pick(&rng);
			memcpy(img + 128 + M + at, h, 16);
		}
		for (int k = 0; k < nmut; k++) {
			uint64_t v = pick(&rng);
			size_t field = 1 + splitmix64(&rng) % 9; /* metadata_size .. read_count */

			memcpy(img + 8 * field, &v, 8);
		}
		if (splitmix64(&rng) % 8 == 0)
			o->version[0] = (uint8_t)splitmix64(&rng);
		o->writer_pid = o->reader_pid = 0;
		seg_install(name, img, TOTAL, TOTAL, (unsigned)(splitmix64(&rng) % 4));

		r = zb_reader_open(&rd, name);
		ck_assert_msg(allowed(r), "iteration %d: reader open %d", iter, r);
		if (r == 0) {
			struct zb_frame held[64];
			const void *md;
			size_t len;
			int n = 0;

			opened++;
			r = zb_reader_metadata(rd, &md, &len);
			ck_assert_msg(allowed(r), "iteration %d: metadata %d", iter, r);
			if (r == 0)
				sum += touch(md, len);
			for (int k = 0; k < 64; k++) {
				r = zb_reader_read(rd, &held[n], 0);
				ck_assert_msg(allowed(r), "iteration %d: read %d", iter, r);
				if (r < 0)
					break;
				frames++;
				sum += touch(held[n].data, held[n].size);
				n++;
			}
			while (n > 0)
				ck_assert_int_eq(zb_reader_release(rd, &held[--n]), 0);
		}
		r = zb_writer_open(&wr, name);
		ck_assert_msg(allowed(r), "iteration %d: writer open %d", iter, r);
		if (r == 0) {
			uint8_t buf[300] = { 0 };

			r = zb_writer_set_metadata(wr, buf, splitmix64(&rng) % 80);
			ck_assert_msg(allowed(r), "iteration %d: set metadata %d", iter, r);
			for (int k = 0; k < 16; k++) {
				r = zb_writer_write(wr, buf, 1 + splitmix64(&rng) % 300, 0);
				ck_assert_msg(allowed(r), "iteration %d: write %d", iter, r);
			}
			if (rd) {
				struct zb_frame f;

				while (zb_reader_read(rd, &f, 0) == 0)
					ck_assert_int_eq(zb_reader_release(rd, &f), 0);
			}
		}
		zb_writer_close(wr);
		zb_reader_close(rd);
		wr = NULL;
		rd = NULL;
		tu_cleanup_all();
	}
	fprintf(stderr, "garbage: %d of 400 attached, %d frames read (byte sum %u)\n", opened,
		frames, sum);
	/* The generator must reach past attach, or this tests nothing. */
	ck_assert_int_gt(opened, 40);
	ck_assert_int_gt(frames, 40);
}
END_TEST

TU_SUITE(badinput_suite, "badinput")
{
	TCase *tc = tu_tcase(s, "badinput", setup, teardown);

	tcase_add_test(tc, bad_names);
	tcase_add_test(tc, good_names);
	tcase_add_test(tc, longest_name);
	tcase_add_test(tc, null_arguments);
	tcase_add_test(tc, bad_config);
	tcase_add_test(tc, missing_buffer);
	tcase_add_test(tc, strerror_distinct);
	tcase_add_loop_test(tc, bad_segment, 0, sizeof(mutations) / sizeof(mutations[0]));
	tcase_add_test(tc, short_segments);
	tcase_add_test(tc, bad_frames);
	tcase_add_test(tc, bad_sequence);
	tcase_add_test(tc, garbage);
}
