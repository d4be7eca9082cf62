/* SPDX-License-Identifier: MIT */
/*
 * libzbclient and zbd against the real upstream peers from ../shared: the C++
 * library (upstream-cpp, a driver of ours built from upstream's sources) and
 * the Python package (upstream-py.py), as separate processes, both ways. Every
 * test runs once per peer (Check's loop index: 0 C++, 1 Python).
 *
 * What the suite covers: every kind of wrap (markers, tails of 0 to 15 bytes,
 * frames ending exactly at the end of the ring), copy and zero-copy on both
 * sides, metadata, 1 MiB frames, a stream of 3,000,000 frames after which both
 * semaphores are bounded, a sem-r found near SEM_VALUE_MAX, SIGKILL of either
 * side with and without zbd, an upstream writer attaching to a zbd buffer
 * before its reader, and our writer's early wraps (doc/protocol.md section 14,
 * item 21) into each upstream reader. Where upstream is wrong (doc/protocol.md section 15) the
 * tests avoid what would break upstream's side and say so: those bugs are theirs.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"
#include "segtest.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define META "interop metadata: the real upstream peers"
/* Our writer keeps sem-r below 1024 plus one batch (writer.c): far below this. */
#define SEM_R_BOUND 4096

static struct pattern pat;
static struct tz zbd;
static bool zbd_started;

static void teardown(void)
{
	pattern_free(&pat);
	if (zbd_started)
		tz_teardown(&zbd);
	zbd_started = false;
	tu_cleanup_all();
}

static const char *skip_reason(void)
{
	return getenv("ZB_UPSTREAM_SKIP");
}

/* ------------------------------------------------------------ the peers */

enum { CPP, PY };
static const char *const peer_names[] = { "C++", "Python" };

static const char *peer_path(int peer)
{
	const char *problem = getenv("ZB_UPSTREAM_CPP_PROBLEM");

	if (peer == CPP && problem)
		ck_abort_msg("%s", problem);
	return getenv(peer == CPP ? "ZB_UPSTREAM_CPP" : "ZB_UPSTREAM_PY");
}

static void peer_start(struct up *u, int peer, const char *const args[])
{
	/* The Python package and upstream's posix_ipc shim (README there). */
	setenv("PYTHONPATH", getenv("ZB_UPSTREAM_PYTHONPATH"), 1);
	up_start(u, peer_path(peer), args);
}

struct done {
	unsigned long long frames;
	int semr_max;
};

static struct done peer_done(struct up *u, int timeout_ms)
{
	struct done d = { 0 };
	char line[160];

	up_done_line(u, timeout_ms, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "frames=%llu semr_max=%d", &d.frames, &d.semr_max), 2);
	return d;
}

/* The wraps a stream of `count` pattern frames makes in a ring of P bytes
 * (every writer places frames alike): with a marker, short tails (1 to 15
 * bytes), and frames ending exactly at the end (a tail of 0 follows). */
struct wraps {
	unsigned long long markers, tails, exact;
};

static struct wraps wraps_of(uint64_t count, uint64_t p)
{
	struct wraps w = { 0 };
	uint64_t pos = 0;

	for (uint64_t seq = 1; seq <= count; seq++) {
		uint64_t total = ZB_FRAME_HEADER_SIZE + pattern_size(&pat, seq);

		if (p - pos < total) {
			if (p - pos >= ZB_FRAME_HEADER_SIZE)
				w.markers++;
			else
				w.tails++;
			pos = 0;
		}
		pos += total;
		if (pos == p) {
			w.exact++;
			pos = 0;
		}
	}
	return w;
}

static char *num(char *buf, unsigned long long n)
{
	sprintf(buf, "%llu", n);
	return buf;
}

/* ------------------------------------------------------------ our side */

static int write_stream(struct zb_writer *w, uint64_t first, uint64_t last, bool alternate)
{
	for (uint64_t seq = first; seq <= last; seq++) {
		size_t size = pattern_size(&pat, seq);
		const uint8_t *src = pattern_data(&pat, seq, size);
		int err;

		if (alternate && seq % 2 == 0) {
			void *dst;

			err = zb_writer_acquire(w, size, &dst, 20000);
			if (err == 0) {
				memcpy(dst, src, size);
				err = zb_writer_commit(w, size);
			}
		} else {
			err = zb_writer_write(w, src, size, 20000);
		}
		if (err < 0)
			return err;
	}
	return 0;
}

static void write_all(struct zb_writer *w, uint64_t count)
{
	int err = write_stream(w, 1, count, true);

	ck_assert_msg(err == 0, "our writer: %s", zb_strerror(err));
}

/* Read frames first..last, every byte checked; up to `hold` frames held and
 * released newest first (space still goes back in read order). */
static void read_stream(struct zb_reader *r, uint64_t first, uint64_t last, unsigned hold)
{
	struct zb_frame held[4];
	unsigned n = 0;

	for (uint64_t seq = first; seq <= last; seq++) {
		int err = zb_reader_read(r, &held[n], 20000);

		ck_assert_msg(err == 0, "frame %llu: %s", (unsigned long long)seq,
			      zb_strerror(err));
		ck_assert_uint_eq(held[n].sequence, seq);
		ck_assert_msg(pattern_ok(&pat, seq, held[n].data, held[n].size),
			      "frame %llu: size %zu or bytes differ", (unsigned long long)seq,
			      held[n].size);
		if (++n < hold && seq < last)
			continue;
		while (n > 0)
			ck_assert_int_eq(zb_reader_release(r, &held[--n]), 0);
	}
}

static struct zb_reader *create(const char *name, uint64_t payload_size)
{
	struct zb_buffer_config cfg = { 0, payload_size, 0 };
	struct zb_reader *r;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	return r;
}

static void assert_counts_agree(const char *name)
{
	size_t size;
	uint8_t *base = seg_map(name, &size);
	struct zb_oieb *o = (struct zb_oieb *)base;

	ck_assert_uint_eq(zb_load(&o->payload_read_count), zb_load(&o->payload_written_count));
	seg_unmap(base, size);
}

/* ------------------------------------------------------------ 1: ours -> upstream */

/*
 * Our writer into an upstream reader's buffer, copy and zero-copy alternating,
 * with metadata. Frames take multiples of 16 ring bytes (`unit`), so no wrap
 * leaves a tail under 16 bytes: both upstream readers read a header there,
 * past the ring (section 15; the C++ reader survives only where the bytes it
 * finds happen to be zero). Frames ending exactly at the end occur.
 */
static void ours_to_upstream(int peer, const char *tag, uint64_t count, uint64_t p, size_t min,
			     size_t max, bool hold)
{
	const char *name = tu_unique_name(tag);
	char n_count[24], n_p[24], n_min[24], n_max[24];
	const char *const args[] = { "read",
				     name,
				     num(n_count, count),
				     "11",
				     num(n_min, min),
				     num(n_max, max),
				     num(n_p, p),
				     "unit",
				     "16",
				     "metadata",
				     META,
				     hold ? "hold" : NULL,
				     NULL };
	struct zb_writer *w;
	struct done d;
	struct up u;

	pattern_init(&pat, 11, min, max);
	pat.unit = 16;
	peer_start(&u, peer, args);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(zb_writer_set_metadata(w, META, strlen(META)), 0);
	write_all(w, count);
	d = peer_done(&u, 300000);
	ck_assert_uint_eq(d.frames, count);
	/* Upstream posts sem-r on every release: our writer keeps it bounded. */
	ck_assert_int_le(d.semr_max, SEM_R_BOUND);
	ck_assert_int_le(sem_value(name, 'r'), SEM_R_BOUND);
	/* One post per frame, one wait per frame. */
	ck_assert_int_le(sem_value(name, 'w'), 1);
	zb_writer_close(w);
	ck_assert_int_eq(up_exit(&u, 20000), 0);
}

START_TEST(ours_to_upstream_reader)
{
	struct wraps wr;

	uint64_t count = _i == CPP ? 100000 : 20000;

	/* The Python reader cannot hold two frames: releasing one returns the
	 * size of the last frame read, and the next release returns nothing. */
	ours_to_upstream(_i, "o2u", count, 4096, 1, 1365, _i == CPP);
	wr = wraps_of(count, 4096);
	ck_assert_uint_gt(wr.markers, 0);
	ck_assert_uint_gt(wr.exact, 0);
}
END_TEST

/* ------------------------------------------------------------ 2: upstream -> ours */

/*
 * An upstream writer into our reader's buffer, with metadata; `copy` is
 * "alternate" (copy and zero-copy by turns), "zerocopy" or "" (copy), `unit`
 * as pattern.h says. We hold up to `hold` frames and release them newest first.
 */
static void upstream_to_ours(int peer, const char *tag, uint64_t count, uint64_t p, size_t min,
			     size_t max, unsigned unit, const char *copy, unsigned hold)
{
	const char *name = tu_unique_name(tag);
	char n_count[24], n_min[24], n_max[24], n_unit[24];
	const char *const args[] = { "write",
				     name,
				     num(n_count, count),
				     "12",
				     num(n_min, min),
				     num(n_max, max),
				     "unit",
				     num(n_unit, unit),
				     "metadata",
				     META,
				     copy[0] ? copy : NULL,
				     NULL };
	struct zb_reader *r = create(name, p);
	const void *meta;
	size_t meta_size;
	struct zb_frame f;
	struct done d;
	struct up u;

	pattern_init(&pat, 12, min, max);
	pat.unit = unit;
	peer_start(&u, peer, args);
	read_stream(r, 1, count, hold);
	/* The writer detaches cleanly: the end of its session. */
	ck_assert_int_eq(zb_reader_read(r, &f, 20000), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_metadata(r, &meta, &meta_size), 0);
	ck_assert_uint_eq(meta_size, strlen(META));
	ck_assert_mem_eq(meta, META, meta_size);
	d = peer_done(&u, 20000);
	ck_assert_uint_eq(d.frames, count);
	ck_assert_int_eq(up_exit(&u, 20000), 0);
	/* Every count accounted for: the Python writer's unmarked wraps too. */
	assert_counts_agree(name);
	ck_assert_int_le(sem_value(name, 'w'), 1);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
}

/*
 * Markers, tails of 1 to 15 bytes (the Python writer counts them, the C++
 * writer does not), frames ending exactly at the end. Not the last for the
 * Python writer: when one ends there while the reader is at 0, its copying
 * write_frame() writes the next one past the ring (section 15). Frames taking
 * multiples of 19 bytes never end there in a ring of 4096 and leave tails of
 * 11 bytes and markers.
 */
START_TEST(upstream_writer_to_ours)
{
	uint64_t count = _i == CPP ? 100000 : 20000;
	struct wraps wr;

	upstream_to_ours(_i, "u2o", count, 4096, 1, 1365, _i == CPP ? 0 : 19, "alternate", 4);
	wr = wraps_of(count, 4096);
	ck_assert_uint_gt(wr.markers, 0);
	ck_assert_uint_gt(wr.tails, 0);
	if (_i == CPP)
		ck_assert_uint_gt(wr.exact, 0);
}
END_TEST

/* The wrap cases on their own: an 8-byte tail on every lap (1006-byte frames
 * in 4096), and frames ending exactly at the end (1008); for the Python writer
 * those only zero-copy, whose commit_frame() stores the end as 0 (see above). */
START_TEST(upstream_writer_wrap_cases)
{
	upstream_to_ours(_i, "tail8", 1000, 4096, 1006, 1006, 0, "alternate", 1);
	ck_assert_uint_eq(wraps_of(1000, 4096).tails, 249);
	pattern_free(&pat);
	tu_cleanup_all();
	upstream_to_ours(_i, "exact", 1000, 4096, 1008, 1008, 0,
			 _i == CPP ? "alternate" : "zerocopy", 1);
	ck_assert_uint_eq(wraps_of(1000, 4096).exact, 250);
}
END_TEST

/* ------------------------------------------------------------ 3: 1 MiB frames */

START_TEST(mebibyte_frames)
{
	upstream_to_ours(_i, "mib-u2o", 200, 4 << 20, 1 << 20, 1 << 20, 0, "alternate", 1);
	pattern_free(&pat);
	tu_cleanup_all();
	ours_to_upstream(_i, "mib-o2u", 200, 4 << 20, 1 << 20, 1 << 20, false);
}
END_TEST

/* ------------------------------------------------------------ 4: a long stream */

/*
 * 3,000,000 frames each way through a small ring (the Python package, some
 * 30 times slower, carries a tenth of that). Upstream's reader posts sem-r
 * once per frame and nobody takes the tokens while space suffices: our writer
 * must keep the count bounded. Our reader takes a sem-w token per frame.
 */
START_TEST(long_stream)
{
	uint64_t count = _i == CPP ? 3000000 : 300000;

	ours_to_upstream(_i, "long-o2u", count, 65536, 1, 64, false);
	pattern_free(&pat);
	tu_cleanup_all();
	upstream_to_ours(_i, "long-u2o", count, 65536, 1, 64, _i == CPP ? 0 : 19, "", 1);
}
END_TEST

/* ------------------------------------------------------------ 5: a saturated sem-r */

/* A sem-r near SEM_VALUE_MAX (a long stream before us): our writer neither
 * stalls (it once took the whole surplus inside one commit, ~20 s) nor lets
 * upstream's posts overflow it (the C++ reader then terminates). */
START_TEST(saturated_sem_r)
{
	const char *name = tu_unique_name("semrmax");
	const char *const args[] = { "read", name,   "20000", "13", "1",
				     "200",  "4096", "unit",  "16", NULL };
	struct zb_writer *w;
	double start, took;
	struct done d;
	struct up u;

	pattern_init(&pat, 13, 1, 200);
	pat.unit = 16;
	peer_start(&u, _i, args);
	sem_preset(name, 'r', SEM_VALUE_MAX - 50);
	start = tu_now_ms();
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	write_all(w, 20000);
	took = tu_now_ms() - start;
	d = peer_done(&u, 60000);
	printf("%s reader, sem-r at SEM_VALUE_MAX - 50: 20000 frames in %.0f ms, sem-r now %d\n",
	       peer_names[_i], took, sem_value(name, 'r'));
	/* A hang guard, not a benchmark: well under a second when all is well. */
	ck_assert_msg(took < 10000, "20000 frames took %.0f ms", took);
	ck_assert_uint_eq(d.frames, 20000);
	ck_assert_int_lt(sem_value(name, 'r'), SEM_VALUE_MAX - 50);
	zb_writer_close(w);
	ck_assert_int_eq(up_exit(&u, 20000), 0);
}
END_TEST

/* ------------------------------------------------------------ 6: zbd */

static void zbd_start(const char *conf)
{
	tz_setup(&zbd, conf);
	tz_start(&zbd);
	zbd_started = true;
}

/* zbd lists `name` as a buffer it observes (or `owner`). */
static bool zbd_lists(const char *name, const char *owner)
{
	char rec[300];

	if (tz_request(&zbd, "list") != 0)
		return false;
	snprintf(rec, sizeof(rec), "buffer=%s\nowner=%s\n", name, owner);
	return strstr(zbd.reply, rec) != NULL;
}

/*
 * An upstream writer on a buffer zbd owns, before any reader: it refused one
 * with reader_pid 0 ("No active reader found"); zbd now stands in. It fills
 * the ring and leaves; our reader comes later and gets every frame.
 */
START_TEST(upstream_writer_before_reader_on_zbd_buffer)
{
	const char *name = tu_unique_name("zbdfirst");
	const char *const args[] = { "write", name, "100", "14", "1", "300", "alternate", NULL };
	struct zb_reader *r;
	struct zb_frame f;
	struct up u;

	zbd_start(NULL);
	ck_assert_int_eq(tz_request(&zbd, "create %s payload=64K", name), 0);
	pattern_init(&pat, 14, 1, 300);
	peer_start(&u, _i, args);
	ck_assert_uint_eq(peer_done(&u, 20000).frames, 100);
	ck_assert_int_eq(up_exit(&u, 20000), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	read_stream(r, 1, 100, 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), ZB_EWRITER_GONE);
	zb_reader_close(r);
}
END_TEST

/* ------------------------------------------------------------ 7: SIGKILL */

/* A peer of ours in a process of its own, to be killed. */
struct ours {
	const char *name;
	int ready_fd;
	uint64_t count;
};

static int our_writer_main(void *arg)
{
	struct ours *o = arg;
	struct zb_writer *w;

	if (zb_writer_open(&w, o->name) < 0)
		return 10;
	tu_say(o->ready_fd, 1);
	return write_stream(w, 1, o->count, true) < 0 ? 11 : 0;
}

static int our_reader_main(void *arg)
{
	struct ours *o = arg;
	struct zb_reader *r;
	struct zb_frame f;

	if (zb_reader_open(&r, o->name) < 0)
		return 20;
	for (uint64_t seq = 1; seq <= o->count; seq++) {
		if (zb_reader_read(r, &f, 20000) < 0 ||
		    !pattern_ok(&pat, f.sequence, f.data, f.size))
			return 21;
		zb_reader_release(r, &f);
		if (seq == 100)
			tu_say(o->ready_fd, 1);
	}
	return 0;
}

/* Creates the buffer as upstream readers do, says so, reads 100 frames, says
 * so again, and reads on until killed. */
static int our_creator_main(void *arg)
{
	struct zb_buffer_config cfg = { 0, 65536, 0 };
	struct ours *o = arg;
	struct zb_reader *r;
	struct zb_frame f;

	if (zb_reader_create(&r, o->name, &cfg) < 0)
		return 30;
	tu_say(o->ready_fd, 1);
	for (uint64_t seq = 1;; seq++) {
		if (zb_reader_read(r, &f, 20000) < 0 ||
		    !pattern_ok(&pat, f.sequence, f.data, f.size))
			return 31;
		zb_reader_release(r, &f);
		if (seq == 100)
			tu_say(o->ready_fd, 1);
	}
}

/* Start fn(o) in a child and wait for its first byte; o->ready_fd is then
 * our read end of its pipe (the caller closes it). */
static pid_t ours_start(int (*fn)(void *), struct ours *o)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	o->ready_fd = p[1];
	pid = tu_fork(fn, o);
	close(p[1]);
	o->ready_fd = p[0];
	ck_assert_int_eq(tu_read_byte(p[0], 20000), 1);
	return pid;
}

/* Read from `first` on until "writer gone": consecutive frames, all intact. */
static uint64_t read_until_gone(struct zb_reader *r, uint64_t first)
{
	struct zb_frame f;
	uint64_t seq = first;
	int err;

	while ((err = zb_reader_read(r, &f, 20000)) == 0) {
		ck_assert_msg(f.sequence == seq || seq == 0, "frame %llu after %llu",
			      (unsigned long long)f.sequence, (unsigned long long)seq - 1);
		ck_assert(pattern_ok(&pat, f.sequence, f.data, f.size));
		seq = f.sequence + 1;
		zb_reader_release(r, &f);
	}
	ck_assert_int_eq(err, ZB_EWRITER_GONE);
	return seq;
}

/* Write until "reader gone"; fails if the writer is told anything else. */
static void write_until_gone(struct zb_writer *w, uint64_t first)
{
	int err;

	do
		err = write_stream(w, first, first, false);
	while (err == 0 && ++first);
	ck_assert_msg(err == ZB_EREADER_GONE, "our writer: %s", zb_strerror(err));
}

static const char *const endless_writer[] = { "write", NULL,  "1000000000", "15",
					      "1",     "300", "alternate",  NULL };

/*
 * Either side SIGKILLed mid-stream, without zbd: the survivor learns it by
 * its own probes (ours between 100 ms slices; upstream's after a timed-out
 * wait, here 1 s), and every frame it got is intact.
 */
START_TEST(sigkill_without_zbd)
{
	const char *name = tu_unique_name("kill");
	const char *args[8];
	char n_ms[24];
	/* Our writer's frames take multiples of 16 ring bytes (unit): no tail
	 * under 16 bytes, where both upstream readers read past the ring. */
	const char *reader_args[] = { "read",  NULL,	  "1000000000",	   "16",   "1",	 "300",
				      "65536", "timeout", num(n_ms, 1000), "unit", "16", NULL };
	struct ours o = { .name = name, .count = 1000000000 };
	struct zb_reader *r;
	struct zb_writer *w;
	struct up u;
	pid_t pid;

	/* Their writer dies: our reader reads what it left, then "writer gone". */
	memcpy(args, endless_writer, sizeof(endless_writer));
	args[1] = name;
	pattern_init(&pat, 15, 1, 300);
	r = create(name, 65536);
	peer_start(&u, _i, args);
	read_stream(r, 1, 1000, 1);
	kill(u.pid, SIGKILL);
	up_exit(&u, 20000);
	read_until_gone(r, 1001);

	/* Our writer dies: their reader gives up, "writer dead" (22). */
	pattern_free(&pat);
	pattern_init(&pat, 16, 1, 300);
	pat.unit = 16; /* as the reader's `unit 16`: no short tails */
	zb_reader_close(r);
	name = tu_unique_name("kill");
	o.name = name;
	reader_args[1] = name;
	peer_start(&u, _i, reader_args);
	pid = ours_start(our_writer_main, &o);
	kill(pid, SIGKILL);
	tu_wait(pid, 5000);
	close(o.ready_fd);
	ck_assert_int_eq(up_exit(&u, 30000), 22);

	/* Their reader dies: our writer gets "reader gone". */
	name = tu_unique_name("kill");
	peer_start(&u, _i,
		   (const char *const[]){ "read", name, "1000000000", "16", "1", "300", "65536",
					  "unit", "16", NULL });
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_stream(w, 1, 1000, true), 0);
	kill(u.pid, SIGKILL);
	up_exit(&u, 20000);
	write_until_gone(w, 1001);
	zb_writer_close(w);

	/* Our reader (the buffer's creator) dies: their writer, blocked on the
	 * full ring, gets "reader dead" (26): C++'s within its 100 ms slices,
	 * Python's after its 5 s wait. */
	name = tu_unique_name("kill");
	args[1] = name;
	o.name = name;
	pattern_free(&pat);
	pattern_init(&pat, 15, 1, 300);
	pid = ours_start(our_creator_main, &o);
	peer_start(&u, _i, args);
	ck_assert_int_eq(tu_read_byte(o.ready_fd, 20000), 1); /* 100 frames read */
	kill(pid, SIGKILL);
	tu_wait(pid, 5000);
	close(o.ready_fd);
	ck_assert_int_eq(up_exit(&u, 30000), 26);
}
END_TEST

/*
 * The same deaths with zbd, which notices them in milliseconds and wakes the
 * survivor, on its own buffers and on those it only observes (foreign). A
 * killed child is left a zombie where that matters: kill(pid, 0) still says
 * "alive" then, so only zbd's pidfd can tell the survivor.
 */
START_TEST(sigkill_with_zbd)
{
	const char *name = tu_unique_name("zkill");
	const char *args[8];
	char n_count[24];
	struct ours o = { .count = 20000 };
	struct zb_reader *r;
	struct zb_writer *w;
	struct up u;
	pid_t pid;
	double t0;

	zbd_start("[zbd]\nforeign_scan_ms = 50\n");
	memcpy(args, endless_writer, sizeof(endless_writer));
	pattern_init(&pat, 15, 1, 300);

	/* zbd's buffer, their writer dies: our reader reads the rest, then
	 * "writer gone". */
	ck_assert_int_eq(tz_request(&zbd, "create %s payload=64K", name), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	args[1] = name;
	peer_start(&u, _i, args);
	read_stream(r, 1, 1000, 1);
	/* In a container zbd cannot take a pid it never saw for dead (it may be
	 * a sibling namespace's, doc/zbd.md "Liveness"): it must have found it. */
	if (!tu_pidns_initial())
		ck_assert(TU_UNTIL(tz_watches(&zbd, u.pid), 5000, 2000));
	kill(u.pid, SIGKILL);
	read_until_gone(r, 1001);
	up_exit(&u, 20000);
	zb_reader_close(r);

	/* zbd's buffer, our reader dies: zbd stands in for it, so their writer
	 * is not told "reader dead" and goes on once a new reader of ours has
	 * taken over; that one gets the rest in order, and their writer ends. */
	name = tu_unique_name("zkill");
	o.name = name;
	ck_assert_int_eq(tz_request(&zbd, "create %s payload=64K", name), 0);
	args[1] = name;
	args[2] = num(n_count, o.count);
	peer_start(&u, _i, args);
	pid = ours_start(our_reader_main, &o);
	kill(pid, SIGKILL);
	tu_wait(pid, 5000);
	close(o.ready_fd);
	/* -EBUSY while zbd repairs (its pid fences the slot), a few ms. */
	ck_assert(TU_UNTIL(zb_reader_open(&r, name) == 0, 5000, 1000));
	ck_assert_uint_eq(read_until_gone(r, 0), o.count + 1);
	ck_assert_uint_eq(peer_done(&u, 20000).frames, o.count);
	ck_assert_int_eq(up_exit(&u, 20000), 0);
	zb_reader_close(r);

	/* Their buffer, which zbd observes: our writer dies. Their reader would
	 * wait out its 20 s read; zbd wakes it, and it sees "writer dead". */
	pattern_free(&pat);
	pattern_init(&pat, 16, 1, 300);
	pat.unit = 16; /* as the reader's `unit 16`: no short tails */
	name = tu_unique_name("zkill");
	o.name = name;
	o.count = 1000000000;
	peer_start(&u, _i,
		   (const char *const[]){ "read", name, "1000000000", "16", "1", "300", "65536",
					  "unit", "16", NULL });
	ck_assert(TU_UNTIL(zbd_lists(name, "foreign"), 10000, 10000));
	pid = ours_start(our_writer_main, &o);
	ck_assert(TU_UNTIL(tz_request(&zbd, "health %s", name) == 0 &&
				   tz_get_num(zbd.reply, NULL, "frames_written") > 100,
			   10000, 1000));
	kill(pid, SIGKILL);
	t0 = tu_now_ms();
	ck_assert_int_eq(up_exit(&u, 15000), 22);
	printf("%s reader on its own buffer, our writer SIGKILLed: \"writer dead\" after %.0f ms "
	       "(its read timeout: 20 s)\n",
	       peer_names[_i], tu_now_ms() - t0);
	tu_wait(pid, 5000);
	close(o.ready_fd);

	/* Their buffer, their reader dies (a zombie: only zbd can tell): our
	 * writer gets "reader gone". */
	name = tu_unique_name("zkill");
	peer_start(&u, _i,
		   (const char *const[]){ "read", name, "1000000000", "16", "1", "300", "65536",
					  "unit", "16", NULL });
	ck_assert(TU_UNTIL(zbd_lists(name, "foreign"), 10000, 10000));
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_stream(w, 1, 1000, true), 0);
	if (!tu_pidns_initial())
		ck_assert(TU_UNTIL(tz_watches(&zbd, u.pid), 5000, 2000));
	kill(u.pid, SIGKILL);
	write_until_gone(w, 1001);
	up_exit(&u, 20000);
	zb_writer_close(w);
}
END_TEST

/* ------------------------------------------------------------ 8: early wraps */

/*
 * Early wraps (doc/protocol.md section 14, item 21) into the real upstream
 * readers. Frames of 1 MiB with their header, in an 8 MiB ring, end each lap
 * exactly at the end: a writer that wraps only when it must never writes a
 * marker here. Ours, four frames in and with the ring drained, goes back to 0
 * behind one although the frame still fits: every marker counted is an early
 * wrap, which the upstream reader had to follow to read every frame intact.
 */
#define EW_RING (8u << 20)
#define EW_FRAME ((1u << 20) - ZB_FRAME_HEADER_SIZE)
#define EW_COUNT 24

START_TEST(early_wrap_to_upstream_reader)
{
	const char *name = tu_unique_name("ewup");
	char n_count[24], n_frame[24], n_p[24];
	const char *const args[] = { "read",
				     name,
				     num(n_count, EW_COUNT),
				     "17",
				     num(n_frame, EW_FRAME),
				     n_frame,
				     num(n_p, EW_RING),
				     NULL };
	const struct zb_oieb *o;
	unsigned long long markers;
	struct zb_writer *w;
	uint8_t *seg;
	size_t seg_size;
	struct up u;

	pattern_init(&pat, 17, EW_FRAME, EW_FRAME);
	peer_start(&u, _i, args);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	seg = seg_map(name, &seg_size);
	o = (const struct zb_oieb *)seg;
	for (uint64_t seq = 1; seq <= EW_COUNT; seq++) {
		/* The reader gave everything back: when our writer wraps early. */
		ck_assert_msg(TU_UNTIL(zb_load(&o->payload_free_bytes) == EW_RING, 30000, 50),
			      "the %s reader did not drain the ring", peer_names[_i]);
		ck_assert_int_eq(write_stream(w, seq, seq, true), 0);
	}
	ck_assert_uint_eq(peer_done(&u, 60000).frames, EW_COUNT);
	markers = zb_load(&o->payload_written_count) - EW_COUNT;
	printf("%s reader: %u frames of 1 MiB read intact across %llu early wraps\n",
	       peer_names[_i], EW_COUNT, markers);
	ck_assert_uint_gt(markers, 0);
	seg_unmap(seg, seg_size);
	zb_writer_close(w);
	ck_assert_int_eq(up_exit(&u, 20000), 0);
}
END_TEST

TU_SUITE(upstream_suite, "interop-upstream", .skip = skip_reason)
{
	TCase *tc = tu_tcase(s, "real", NULL, teardown);

	tcase_add_loop_test(tc, ours_to_upstream_reader, CPP, PY + 1);
	tcase_add_loop_test(tc, upstream_writer_to_ours, CPP, PY + 1);
	tcase_add_loop_test(tc, upstream_writer_wrap_cases, CPP, PY + 1);
	tcase_add_loop_test(tc, mebibyte_frames, CPP, PY + 1);
	tcase_add_loop_test(tc, long_stream, CPP, PY + 1);
	tcase_add_loop_test(tc, saturated_sem_r, CPP, PY + 1);
	tcase_add_loop_test(tc, upstream_writer_before_reader_on_zbd_buffer, CPP, PY + 1);
	tcase_add_loop_test(tc, sigkill_without_zbd, CPP, PY + 1);
	tcase_add_loop_test(tc, sigkill_with_zbd, CPP, PY + 1);
	tcase_add_loop_test(tc, early_wrap_to_upstream_reader, CPP, PY + 1);
}
