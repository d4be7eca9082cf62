/* SPDX-License-Identifier: MIT */
/*
 * fuzz_reader: libzbclient attached to a segment that someone else wrote.
 *
 * The input is a segment image: OIEB, metadata block and ring, any bytes, any
 * length. Bytes past 128 + M + P (M and P as the image's OIEB states them), if
 * any, are also read as an operation script; they stay in the segment, where
 * the library must leave them alone. Each input becomes a fresh POSIX segment
 * with both semaphores; a reader and a writer of this process attach and run
 * the script, nearly every timeout 0. Whatever the bytes say, each call must end in an
 * error code or in frames inside the ring. ASan catches accesses that leave the
 * mapping; the checks here catch those that stay inside it but leave the ring,
 * and a bounded script turns an endless loop into a libFuzzer timeout.
 *
 * Script: byte 0 sets sem-w's initial count (bits 0-3) and whether the writer
 * attaches before the reader (bit 4); each later byte is one operation, its low
 * 4 bits the operation and its high 4 bits an argument (see run_op()). All
 * timeouts are 0 except in two operations per input that wait 1 ms and must
 * come back in time (op_timed()).
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "segment.h"
#include "util.h"
#include "zbclient.h"

#define MAX_SCRIPT 256
#define MAX_HELD 64
#define MAX_SEM_W 16
#define SOURCE_MAX 4096
#define MAX_TIMED_OPS 2
#define TIMED_MS 1
#define TIMED_SLACK_MS 1000

/* A failed invariant is a finding: abort, so libFuzzer keeps the input. */
#define fuzz_assert(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_reader: invariant failed: " __VA_ARGS__);            \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct run {
	char name[64];
	const uint8_t *img;
	size_t len;
	uint64_t m, p; /* as the image states them; trusted only after an attach succeeded */
	struct zb_reader *r;
	struct zb_writer *w;
	uint64_t last_seq; /* the reader's last sequence in this writer session, 0: none */
	struct zb_frame held[MAX_HELD];
	unsigned n_held;
	struct zb_frame released; /* the last frame given back, to give back again */
	bool have_released;
	bool meta_set; /* our writer set the metadata: the reader must see exactly that */
	uint64_t meta_size;
	unsigned frames_read, frames_written, errors; /* for ZBFUZZ_VERBOSE */
	unsigned timed_ops;
};

/* Frame contents for the writer; anything will do, but not all zeroes. */
static uint8_t source[SOURCE_MAX];

static uint32_t get_u32(const uint8_t *img, size_t off)
{
	uint32_t v;

	memcpy(&v, img + off, sizeof(v));
	return v;
}

static uint64_t get_u64(const uint8_t *img, size_t off)
{
	uint64_t v;

	memcpy(&v, img + off, sizeof(v));
	return v;
}

/*
 * Where the library mapped the segment. Both handles begin with their
 * struct zb_segment (reader.c, writer.c); the name and size checks make sure
 * that is still so rather than trusting it.
 */
static const struct zb_segment *seg_of(const void *handle, const struct run *run)
{
	const struct zb_segment *s = handle;

	fuzz_assert(strncmp(s->name, run->name, sizeof(s->name)) == 0 && s->map_size == run->len,
		    "handle layout changed: struct zb_segment is no longer its first member");
	return s;
}

/* [data, data + size) lies in the ring of `s`, behind a frame header that does too. */
static void check_in_ring(const struct run *run, const struct zb_segment *s, const void *data,
			  uint64_t size, const char *what)
{
	uintptr_t lo = (uintptr_t)s->base + ZB_OIEB_SIZE + run->m;
	uintptr_t d = (uintptr_t)data;

	fuzz_assert(size > 0, "%s: empty frame", what);
	fuzz_assert(d >= lo + ZB_FRAME_HEADER_SIZE && d - lo <= run->p && size <= run->p - (d - lo),
		    "%s: [%#lx, +%lu) outside ring [%#lx, +%lu)", what, (unsigned long)d,
		    (unsigned long)size, (unsigned long)lo, (unsigned long)run->p);
}

static void check_rc(int rc, const char *what, int a, int b, int c, int d, int e)
{
	fuzz_assert(rc == 0 || rc == a || rc == b || rc == c || rc == d || rc == e,
		    "%s returned %d (%s)", what, rc, zb_strerror(rc));
}

static void forget_frames(struct run *run)
{
	run->n_held = 0;
	run->have_released = false;
	run->last_seq = 0;
}

static void release_at(struct run *run, unsigned i)
{
	int rc = zb_reader_release(run->r, &run->held[i]);

	fuzz_assert(rc == 0, "release of a held frame returned %d", rc);
	run->released = run->held[i];
	run->have_released = true;
	memmove(&run->held[i], &run->held[i + 1], (run->n_held - i - 1) * sizeof(run->held[0]));
	run->n_held--;
}

static void op_read(struct run *run, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const volatile uint8_t *bytes;
		struct zb_frame f;
		int rc;

		if (run->n_held == MAX_HELD)
			release_at(run, 0);
		rc = zb_reader_read(run->r, &f, 0);
		if (rc == ZB_EWRITER_GONE) {
			run->last_seq = 0;
			continue;
		}
		check_rc(rc, "zb_reader_read", -ETIMEDOUT, ZB_ECORRUPT, -ENOMEM, 0, 0);
		if (rc < 0) {
			run->errors += rc != -ETIMEDOUT;
			return;
		}
		run->frames_read++;
		check_in_ring(run, seg_of(run->r, run), f.data, f.size, "zb_reader_read");
		/* The library's sequence check, seen from outside. A sequence of 2^64-1
		 * makes the next expected one 0, which the library reads as "any". */
		fuzz_assert(run->last_seq == 0 || run->last_seq == UINT64_MAX ||
				    f.sequence == run->last_seq + 1,
			    "frame %lu after %lu in one session", (unsigned long)f.sequence,
			    (unsigned long)run->last_seq);
		bytes = f.data;
		(void)bytes[0];
		(void)bytes[f.size - 1];
		run->last_seq = f.sequence;
		run->held[run->n_held++] = f;
	}
}

static void op_metadata(struct run *run)
{
	const struct zb_segment *s = seg_of(run->r, run);
	const void *data;
	size_t size;
	uintptr_t lo = (uintptr_t)s->base + ZB_OIEB_SIZE, d;
	int rc = zb_reader_metadata(run->r, &data, &size);

	check_rc(rc, "zb_reader_metadata", -ENODATA, ZB_ECORRUPT, 0, 0, 0);
	if (run->meta_set)
		fuzz_assert(rc == 0 && size == run->meta_size && memcmp(data, source, size) == 0,
			    "metadata our writer set reads back as %d, %zu bytes", rc, size);
	if (rc < 0)
		return;
	d = (uintptr_t)data;
	fuzz_assert(d >= lo + sizeof(uint64_t) && d - lo <= run->m && size <= run->m - (d - lo),
		    "metadata [%#lx, +%zu) outside its block", (unsigned long)d, size);
}

/* Frame sizes around the interesting boundaries of a ring of P bytes. */
static uint64_t frame_size(const struct run *run, unsigned arg)
{
	static const uint64_t fixed[] = { 1, 7, 8, 15, 16, 17, 100, 1000 };
	uint64_t p = run->p;

	switch (arg) {
	case 8:
		return p / 2 - ZB_FRAME_HEADER_SIZE; /* the largest that always fits */
	case 9:
		return p / 2;
	case 10:
		return p - 2 * ZB_FRAME_HEADER_SIZE;
	case 11:
		return p - ZB_FRAME_HEADER_SIZE; /* the whole ring */
	case 12:
		return p - ZB_FRAME_HEADER_SIZE + 1; /* never fits */
	case 13:
		return (p + 1) / 3;
	case 14:
		return p;
	case 15:
		return SOURCE_MAX;
	default:
		return fixed[arg];
	}
}

/* Sizes up to SOURCE_MAX come from `source`, larger ones from the image itself
 * (P never exceeds it), so the library is always handed a valid buffer. */
static const void *source_for(const struct run *run, uint64_t size)
{
	return size <= SOURCE_MAX ? source : run->img;
}

static void op_write(struct run *run, unsigned arg)
{
	uint64_t size = frame_size(run, arg);
	int rc;

	if (size > SOURCE_MAX && size > run->len)
		return;
	rc = zb_writer_write(run->w, source_for(run, size), size, 0);
	check_rc(rc, "zb_writer_write", -ENOBUFS, ZB_EREADER_GONE, -EMSGSIZE,
		 size == 0 ? -EINVAL : 0, 0);
	run->frames_written += rc == 0;
}

static void op_acquire_commit(struct run *run, unsigned arg, bool commit)
{
	uint64_t size = frame_size(run, arg);
	void *data;
	int rc = zb_writer_acquire(run->w, size, &data, 0);

	check_rc(rc, "zb_writer_acquire", -ENOBUFS, ZB_EREADER_GONE, -EMSGSIZE,
		 size == 0 ? -EINVAL : 0, 0);
	if (rc < 0)
		return;
	check_in_ring(run, seg_of(run->w, run), data, size, "zb_writer_acquire");
	memset(data, 0xa5, size);
	if (!commit)
		return;
	/* Odd arguments commit all of it, even ones about half. */
	rc = zb_writer_commit(run->w, arg & 1 ? size : (size + 1) / 2);
	fuzz_assert(rc == 0, "zb_writer_commit after a good acquire returned %d", rc);
	run->frames_written++;
}

static void op_set_metadata(struct run *run, unsigned arg)
{
	uint64_t m = run->m;
	uint64_t sizes[16] = { 0,     1,     8,	    9, 63,    64,    100,	 1000,
			       m - 9, m - 8, m - 7, m, m + 1, m / 2, SOURCE_MAX, SOURCE_MAX + 1 };
	uint64_t size = sizes[arg];
	int rc;

	if (size > SOURCE_MAX)
		return;
	rc = zb_writer_set_metadata(run->w, source, size);
	/* Empty metadata is refused: upstream readers reject it. */
	if (size == 0)
		fuzz_assert(rc == -EINVAL, "empty metadata accepted (%d)", rc);
	check_rc(rc, "zb_writer_set_metadata", -EALREADY, -EMSGSIZE, -EINVAL, 0, 0);
	if (rc == 0) {
		run->meta_set = true;
		run->meta_size = size;
	}
}

static void open_reader(struct run *run)
{
	int rc = zb_reader_open(&run->r, run->name);

	check_rc(rc, "zb_reader_open", -EBUSY, ZB_EVERSION, ZB_ECORRUPT, -ENOMEM, 0);
	if (rc < 0)
		run->r = NULL;
	forget_frames(run);
}

static void open_writer(struct run *run)
{
	int rc = zb_writer_open(&run->w, run->name);

	check_rc(rc, "zb_writer_open", -EBUSY, ZB_EVERSION, ZB_ECORRUPT, -ENOMEM, 0);
	if (rc < 0)
		run->w = NULL;
}

static void op_stats(struct run *run)
{
	struct zb_stats st;
	int rc;

	if (run->r) {
		rc = zb_reader_writer_connected(run->r);
		fuzz_assert(rc == 0 || rc == 1, "zb_reader_writer_connected returned %d", rc);
		fuzz_assert(zb_reader_stats(run->r, &st) == 0, "zb_reader_stats failed");
	}
	if (run->w) {
		rc = zb_writer_reader_connected(run->w);
		fuzz_assert(rc == 0 || rc == 1, "zb_writer_reader_connected returned %d", rc);
		fuzz_assert(zb_writer_stats(run->w, &st) == 0, "zb_writer_stats failed");
	}
}

/*
 * A read or write that may sleep, for TIMED_MS: whatever the segment says, it
 * must come back within its timeout (plus slack for a loaded machine), never
 * sleep on a semaphore that nobody will post. A few per input keep fuzzing fast.
 */
static void op_timed(struct run *run, unsigned arg)
{
	double start;
	int rc = 0;

	if (run->timed_ops == MAX_TIMED_OPS)
		return;
	run->timed_ops++;
	start = tu_now_ms();
	if ((arg & 1) && run->r) {
		struct zb_frame f;

		if (run->n_held == MAX_HELD)
			release_at(run, 0);
		rc = zb_reader_read(run->r, &f, TIMED_MS);
		check_rc(rc, "zb_reader_read (timed)", -ETIMEDOUT, ZB_ECORRUPT, ZB_EWRITER_GONE,
			 -ENOMEM, 0);
		if (rc == 0) {
			check_in_ring(run, seg_of(run->r, run), f.data, f.size, "timed read");
			run->last_seq = f.sequence;
			run->held[run->n_held++] = f;
		} else if (rc == ZB_EWRITER_GONE) {
			run->last_seq = 0;
		}
	} else if (!(arg & 1) && run->w) {
		uint64_t size = frame_size(run, arg & 7);

		rc = zb_writer_write(run->w, source_for(run, size), size, TIMED_MS);
		check_rc(rc, "zb_writer_write (timed)", -ENOBUFS, ZB_EREADER_GONE, -EMSGSIZE,
			 size == 0 ? -EINVAL : 0, 0);
	}
	fuzz_assert(tu_now_ms() - start < TIMED_MS + TIMED_SLACK_MS,
		    "a %d ms wait took %lld ms (returned %d)", TIMED_MS,
		    (long long)(tu_now_ms() - start), rc);
}

static void run_op(struct run *run, uint8_t byte)
{
	unsigned op = byte & 15, arg = byte >> 4;

	switch (op) {
	case 0: /* reader operations */
	case 1:
	case 2:
		if (run->r)
			op_read(run, 1);
		break;
	case 3:
		if (run->r)
			op_read(run, arg + 1);
		break;
	case 4:
		if (run->r && run->n_held)
			release_at(run, arg % run->n_held);
		break;
	case 5:
		while (run->r && run->n_held)
			release_at(run, 0);
		break;
	case 6:
		while (run->r && run->n_held)
			release_at(run, run->n_held - 1);
		break;
	case 7:
		if (run->r)
			op_metadata(run);
		break;
	case 8: /* writer operations */
		if (run->w)
			op_write(run, arg);
		break;
	case 9:
		if (run->w)
			op_acquire_commit(run, arg, true);
		break;
	case 10:
		if (run->w)
			op_set_metadata(run, arg);
		break;
	case 11: /* a writer restarts, maybe dropping an acquired frame */
		if (run->w && (arg & 1))
			op_acquire_commit(run, arg, false);
		zb_writer_close(run->w);
		open_writer(run);
		break;
	case 12: /* a reader restarts: what it held goes back */
		zb_reader_close(run->r);
		open_reader(run);
		break;
	case 13:
		op_stats(run);
		break;
	case 14: /* a frame given back twice, or never handed out: both refused */
		if (!run->r)
			break;
		if (run->have_released) {
			int rc = zb_reader_release(run->r, &run->released);

			fuzz_assert(rc == -EINVAL, "second release returned %d", rc);
		}
		{
			struct zb_frame bogus = { .ticket = arg ? UINT64_MAX - arg : 0 };

			fuzz_assert(zb_reader_release(run->r, &bogus) == -EINVAL,
				    "release of ticket %lu accepted", (unsigned long)bogus.ticket);
		}
		break;
	case 15:
		if (arg & 8) {
			op_timed(run, arg);
			break;
		}
		if (run->r)
			zb_reader_set_spin(run->r, arg);
		if (run->w)
			zb_writer_set_spin(run->w, arg);
		break;
	}
}

/* For images without a script: read and release everything, then write. */
static const uint8_t default_script[] = {
	0xf3, 0x07, 0x05, 0x68, 0x59, 0x3a, 0x33, 0x0d, 0x06, 0x0e, 0x0b, 0x18,
	0xf3, 0x04, 0x0c, 0xf3, 0x07, 0x89, 0xd8, 0xf3, 0x05, 0x29, 0xf3, 0x06,
};

static int make_segment(struct run *run, unsigned sem_w_count)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem;
	int fd;

	snprintf(obj, sizeof(obj), "/sem-w-%s", run->name);
	sem = sem_open(obj, O_CREAT | O_EXCL, 0600, sem_w_count);
	fuzz_assert(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	sem_close(sem);
	snprintf(obj, sizeof(obj), "/sem-r-%s", run->name);
	sem = sem_open(obj, O_CREAT | O_EXCL, 0600, 0);
	fuzz_assert(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	sem_close(sem);
	snprintf(obj, sizeof(obj), "/%s", run->name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	fuzz_assert(fd >= 0, "shm_open %s: %s", obj, strerror(errno));
	fuzz_assert(write(fd, run->img, run->len) == (ssize_t)run->len, "write: %s",
		    strerror(errno));
	return fd;
}

static void remove_segment(const struct run *run)
{
	char obj[ZB_OBJ_NAME_MAX];

	snprintf(obj, sizeof(obj), "/%s", run->name);
	shm_unlink(obj);
	snprintf(obj, sizeof(obj), "/sem-w-%s", run->name);
	sem_unlink(obj);
	snprintf(obj, sizeof(obj), "/sem-r-%s", run->name);
	sem_unlink(obj);
}

/* Bytes no operation may write: the reserved OIEB words, and whatever lies
 * past the ring (the script among them). */
static void check_untouched(const struct run *run, int fd)
{
	uint8_t *now = malloc(run->len);

	fuzz_assert(now && pread(fd, now, run->len, 0) == (ssize_t)run->len, "pread failed");
	fuzz_assert(memcmp(now + 0x60, run->img + 0x60, 0x20) == 0, "reserved OIEB words changed");
	if (run->m <= run->len && run->p <= run->len &&
	    ZB_OIEB_SIZE + run->m + run->p <= run->len) {
		size_t end = ZB_OIEB_SIZE + run->m + run->p;

		fuzz_assert(memcmp(now + end, run->img + end, run->len - end) == 0,
			    "bytes past the ring changed");
	}
	free(now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned counter;
	struct run run = { .img = data, .len = size };
	const uint8_t *script = default_script;
	size_t script_len = sizeof(default_script), end;
	unsigned sem_w;
	bool writer_first = false;
	uint64_t pending;
	int fd;

	/* A segment too short for a control block, or one whose oieb_size is still
	 * 0, makes attach wait 200 ms for a creator to finish: correct, and covered
	 * by the library tests, but it would slow fuzzing to a crawl. */
	if (size < ZB_OIEB_SIZE || get_u32(data, 0) == 0)
		return 0;
	if (source[0] == 0)
		for (unsigned i = 0; i < SOURCE_MAX; i++)
			source[i] = (uint8_t)(i * 31 + 7);
	run.m = get_u64(data, 0x08);
	run.p = get_u64(data, 0x20);
	pending = get_u64(data, 0x40) - get_u64(data, 0x48);
	sem_w = pending < MAX_SEM_W ? (unsigned)pending : MAX_SEM_W;
	if (run.m < size && run.p < size && ZB_OIEB_SIZE + run.m + run.p < size) {
		end = ZB_OIEB_SIZE + run.m + run.p;
		script = data + end;
		script_len = size - end;
		sem_w = script[0] & 15;
		writer_first = script[0] & 16;
		script++;
		script_len--;
		if (script_len > MAX_SCRIPT)
			script_len = MAX_SCRIPT;
	}

	snprintf(run.name, sizeof(run.name), "zbfuzz-%d-%u", (int)getpid(), counter++);
	fd = make_segment(&run, sem_w);
	if (writer_first)
		open_writer(&run);
	open_reader(&run);
	if (!writer_first)
		open_writer(&run);
	for (size_t i = 0; i < script_len; i++)
		run_op(&run, script[i]);
	/* Replaying by hand: show that an input did what it was written for. */
	if (getenv("ZBFUZZ_VERBOSE"))
		fprintf(stderr,
			"  reader %s, writer %s, %zu ops: %u frames read, %u written, "
			"%u read errors\n",
			run.r ? "attached" : "refused", run.w ? "attached" : "refused", script_len,
			run.frames_read, run.frames_written, run.errors);
	zb_writer_close(run.w);
	zb_reader_close(run.r);
	check_untouched(&run, fd);
	close(fd);
	remove_segment(&run);
	return 0;
}
