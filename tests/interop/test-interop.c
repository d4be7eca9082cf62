/* SPDX-License-Identifier: MIT */
/*
 * libzbclient against `upstream`, a model of the C++/C#/Python ZeroBuffer
 * peers written from doc/protocol.md alone, run as a separate process: our writer
 * into an upstream reader's buffer, an upstream writer into ours (copy and
 * zero-copy), the upstream writer's refusal without a live reader, a new
 * upstream writer session, and upstream's stale-buffer sweep next to ours.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"
#include "segment.h"
#include "segtest.h"
#include "testutil.h"
#include "zbclient.h"

#define PAYLOAD 4096
#define PAYLOAD_S "4096"
#define MAXF_S "1365" /* P / 3 */
#define VOLUME 200000
#define VOLUME_S "200000"
#define META "interop metadata: upstream model v1"
/* Our writer drains sem-r above 1024 every 1024 frames: far below this. */
#define SEM_R_BOUND 4096

static struct pattern pat;

/* pattern_free() leaves the table NULL, as the next test expects it. */
static void teardown(void)
{
	pattern_free(&pat);
	tu_cleanup_all();
}

/* ------------------------------------------------------------ the model process */

struct up_counts {
	unsigned long long frames, markers, tails, exact;
	int semr_max;
};

static void up_start_model(struct up *u, const char *const args[])
{
	up_start(u, getenv("ZB_UPSTREAM"), args);
}

/* 'D' and the counts line the model sends once its frames went through. */
static struct up_counts up_done(struct up *u, int timeout_ms)
{
	struct up_counts c = { 0 };
	char line[160];

	up_done_line(u, timeout_ms, line, sizeof(line));
	ck_assert_int_eq(sscanf(line, "frames=%llu markers=%llu tails=%llu semr_max=%d exact=%llu",
				&c.frames, &c.markers, &c.tails, &c.semr_max, &c.exact),
			 5);
	return c;
}

/* ------------------------------------------------------------ helpers */

static struct zb_reader *create(const char *name, uint64_t payload_size)
{
	struct zb_buffer_config cfg = { 0, payload_size, 0 };
	struct zb_reader *r;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	return r;
}

static void check_frame(const struct zb_frame *f, uint64_t seq)
{
	size_t size = pattern_size(&pat, seq);

	ck_assert_uint_eq(f->sequence, seq);
	ck_assert_uint_eq(f->size, size);
	ck_assert_msg(memcmp(f->data, pattern_data(&pat, seq, size), size) == 0,
		      "frame %llu: bytes differ", (unsigned long long)seq);
}

/*
 * Read frames first..last of the current pattern, every byte checked. With
 * `hold` > 1 up to that many frames are held and released newest first, so
 * space must go back to the upstream writer in read order regardless.
 */
static void read_stream(struct zb_reader *r, uint64_t first, uint64_t last, unsigned hold)
{
	struct zb_frame held[8];
	unsigned n = 0;
	size_t held_bytes = 0;

	ck_assert_uint_le(hold, 8);
	for (uint64_t seq = first; seq <= last; seq++) {
		int err = zb_reader_read(r, &held[n], 10000);

		ck_assert_msg(err == 0, "frame %llu: %s", (unsigned long long)seq,
			      zb_strerror(err));
		check_frame(&held[n], seq);
		held_bytes += held[n].size + ZB_FRAME_HEADER_SIZE;
		/* Under a quarter of the ring held: the writer always has room to go on. */
		if (++n < hold && held_bytes < PAYLOAD / 4 && seq < last)
			continue;
		while (n > 0) {
			check_frame(&held[n - 1], held[n - 1].sequence);
			ck_assert_int_eq(zb_reader_release(r, &held[--n]), 0);
		}
		held_bytes = 0;
	}
}

static bool exists(const char *fmt, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), fmt, name);
	return access(path, F_OK) == 0;
}

static bool all_objects_exist(const char *name)
{
	return exists("/dev/shm/%s", name) && exists("/dev/shm/sem.sem-w-%s", name) &&
	       exists("/dev/shm/sem.sem-r-%s", name) && exists(ZB_LOCK_DIR "/%s.lock", name);
}

struct owner {
	const char *name;
	int ready_fd;
};

static int owner_main(void *arg)
{
	const struct owner *o = arg;
	struct zb_buffer_config cfg = { 0, PAYLOAD, 0 };
	struct zb_reader *r;

	if (zb_reader_create(&r, o->name, &cfg) < 0)
		return 1;
	tu_say(o->ready_fd, 'R');
	for (;;)
		pause();
}

/* A process that creates `name` standalone with our library and waits to be
 * killed: an owner that will die holding its lock. Returns its pid. */
static pid_t owner_start(const char *name)
{
	int fds[2];
	struct owner o = { name, -1 };
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	o.ready_fd = fds[1];
	pid = tu_fork(owner_main, &o);
	close(fds[1]);
	ck_assert_int_eq(tu_read_byte(fds[0], -1), 'R');
	close(fds[0]);
	return pid;
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	ck_assert_int_ne(tu_wait(pid, 5000), -1);
}

/* ------------------------------------------------------------ 1: ours -> upstream */

static void our_writer_to_upstream_reader(bool zerocopy, const char *seed)
{
	const char *name = tu_unique_name(zerocopy ? "w2uzc" : "w2u");
	const char *const args[] = { "read-create", name,	VOLUME_S, seed,	  "1", MAXF_S,
				     PAYLOAD_S,	    "metadata", META,	  "pace", NULL };
	struct up_counts c;
	struct zb_writer *w;
	struct up u;

	pattern_init(&pat, strtoull(seed, NULL, 0), 1, PAYLOAD / 3);
	up_start_model(&u, args);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(zb_writer_set_metadata(w, META, strlen(META)), 0);
	ck_assert_int_eq(zb_writer_set_metadata(w, "x", 1), -EALREADY);
	for (uint64_t seq = 1; seq <= VOLUME; seq++) {
		size_t size = pattern_size(&pat, seq);
		const uint8_t *src = pattern_data(&pat, seq, size);
		int err;

		if (zerocopy) {
			void *dst;

			err = zb_writer_acquire(w, size, &dst, 10000);
			ck_assert_msg(err == 0, "acquire %llu: %s", (unsigned long long)seq,
				      zb_strerror(err));
			memcpy(dst, src, size);
			err = zb_writer_commit(w, size);
		} else {
			err = zb_writer_write(w, src, size, 10000);
		}
		ck_assert_msg(err == 0, "frame %llu: %s", (unsigned long long)seq,
			      zb_strerror(err));
	}
	c = up_done(&u, 30000);
	fprintf(stderr,
		"interop: ours -> upstream%s: frames=%llu markers=%llu tails=%llu exact=%llu "
		"sem-r max=%d now=%d sem-w=%d\n",
		zerocopy ? " (zero-copy)" : "", c.frames, c.markers, c.tails, c.exact, c.semr_max,
		sem_value(name, 'r'), sem_value(name, 'w'));
	ck_assert_uint_eq(c.frames, VOLUME);
	/* Thousands of wraps: both kinds must have happened for the test to mean much. */
	ck_assert_uint_gt(c.markers, 0);
	ck_assert_uint_gt(c.tails, 0);
	/* Frames ending exactly at P (read_pos back to 0, no wrap after them). */
	ck_assert_uint_gt(c.exact, 0);
	/* Upstream posts sem-r on every release; our writer must keep it bounded. */
	ck_assert_int_le(c.semr_max, SEM_R_BOUND);
	ck_assert_int_le(sem_value(name, 'r'), SEM_R_BOUND);
	/* One post per frame, one wait per frame: balanced. */
	ck_assert_int_eq(sem_value(name, 'w'), 0);
	zb_writer_close(w);
	ck_assert_int_eq(up_exit(&u, 10000), 0);
	/* The upstream creator removes everything on close. */
	ck_assert(!tu_any_object_exists(name));
}

START_TEST(our_writer_copy_to_upstream_reader)
{
	our_writer_to_upstream_reader(false, "101");
}
END_TEST

START_TEST(our_writer_zerocopy_to_upstream_reader)
{
	our_writer_to_upstream_reader(true, "102");
}
END_TEST

/* ------------------------------------------------------------ 2: upstream -> ours */

static void upstream_writer_to_our_reader(bool zerocopy, const char *seed, unsigned hold)
{
	const char *name = tu_unique_name(zerocopy ? "u2wzc" : "u2w");
	const char *const args[] = {
		"write", name,	     VOLUME_S, seed,   "1",
		MAXF_S,	 "metadata", META,     "pace", zerocopy ? "zerocopy" : NULL,
		NULL
	};
	struct zb_reader *r = create(name, PAYLOAD);
	struct zb_frame f;
	struct up_counts c;
	const void *meta;
	size_t meta_size;
	struct up u;

	pattern_init(&pat, strtoull(seed, NULL, 0), 1, PAYLOAD / 3);
	up_start_model(&u, args);
	/* The model sets metadata before it reports ready. */
	ck_assert_int_eq(zb_reader_metadata(r, &meta, &meta_size), 0);
	ck_assert_uint_eq(meta_size, strlen(META));
	ck_assert_mem_eq(meta, META, meta_size);
	read_stream(r, 1, VOLUME, hold);
	/* The model detaches cleanly: the end of its session, reported once. */
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), -ETIMEDOUT);
	c = up_done(&u, 10000);
	fprintf(stderr,
		"interop: upstream%s -> ours: frames=%llu markers=%llu tails=%llu exact=%llu\n",
		zerocopy ? " (zero-copy)" : "", c.frames, c.markers, c.tails, c.exact);
	ck_assert_int_eq(up_exit(&u, 10000), 0);
	ck_assert_uint_eq(c.frames, VOLUME);
	ck_assert_uint_gt(c.markers, 0);
	ck_assert_uint_gt(c.tails, 0);
	/* Frames ending exactly at P: the model leaves write_pos = P then. */
	ck_assert_uint_gt(c.exact, 0);
	/* Our reader takes one token per frame (batched): sem-w does not pile up. */
	ck_assert_int_le(sem_value(name, 'w'), 1);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
}

START_TEST(upstream_writer_copy_to_our_reader)
{
	upstream_writer_to_our_reader(false, "201", 1);
}
END_TEST

START_TEST(upstream_writer_zerocopy_to_our_reader)
{
	upstream_writer_to_our_reader(true, "202", 4);
}
END_TEST

/*
 * A wrapping writer takes the skipped tail from payload_free_bytes before it
 * stores write_pos = 0 (doc/protocol.md section 8; upstream's C++ and Python writers do
 * the same). Our reader's periodic ring_resync_free() recomputes free space
 * from the positions: inside that window it once counted the tail as free
 * again and gave it back, so the writer overwrote frames not yet read. The
 * model widens the window (slowwrap) to make the race certain.
 */
START_TEST(upstream_writer_wrap_window_vs_resync)
{
	const char *name = tu_unique_name("wrapwin");
	const char *const args[] = {
		"write", name, "100000", "501", "1", MAXF_S, "slowwrap", NULL
	};
	struct zb_reader *r = create(name, PAYLOAD);
	struct zb_frame f;
	struct up u;

	pattern_init(&pat, 501, 1, PAYLOAD / 3);
	up_start_model(&u, args);
	read_stream(r, 1, 100000, 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	(void)up_done(&u, 30000);
	ck_assert_int_eq(up_exit(&u, 10000), 0);
	zb_reader_close(r);
}
END_TEST

/* ------------------------------------------------------------ 3: no live reader */

/*
 * A zbd-owned buffer has no reader until one attaches: upstream writers refuse
 * it (doc/protocol.md section 11), so with upstream writers a reader must attach first.
 */
START_TEST(upstream_writer_needs_live_reader)
{
	const char *name = tu_unique_name("noreader");
	const char *const args[] = { "write", name, "2000", "301", "1", MAXF_S, NULL };
	struct zb_oieb *o;
	struct zb_reader *r;
	struct zb_frame f;
	struct up u;
	size_t size;
	uint8_t *base;
	pid_t dead;
	int st;

	seg_create_unowned(name, 0, PAYLOAD);
	up_spawn(&u, getenv("ZB_UPSTREAM"), args);
	ck_assert_int_eq(up_exit(&u, 10000), 41);

	/* A recorded reader that died is no better. */
	dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &st, 0), dead);
	base = seg_map(name, &size);
	o = (struct zb_oieb *)base;
	zb_store(&o->reader_pid, (uint64_t)dead);
	up_spawn(&u, getenv("ZB_UPSTREAM"), args);
	ck_assert_int_eq(up_exit(&u, 10000), 41);
	/* Refused before it claimed anything. */
	ck_assert_uint_eq(zb_load(&o->writer_pid), 0);
	ck_assert_uint_eq(zb_load(&o->payload_written_count), 0);

	/* Our reader takes over the dead reader's slot; now upstream attaches. */
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_uint_eq(zb_load(&o->reader_pid), (uint64_t)getpid());
	pattern_init(&pat, 301, 1, PAYLOAD / 3);
	up_start_model(&u, args);
	read_stream(r, 1, 2000, 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	(void)up_done(&u, 10000);
	ck_assert_int_eq(up_exit(&u, 10000), 0);
	zb_reader_close(r);
	ck_assert_uint_eq(zb_load(&o->reader_pid), 0);
	seg_unmap(base, size);
}
END_TEST

/* ------------------------------------------------------------ 4: writer sessions */

START_TEST(upstream_new_writer_session)
{
	const char *name = tu_unique_name("session");
	/* A's 20 frames of at most 100 bytes fit the ring: A is gone, its frames
	 * all unread, when B attaches and restarts at sequence 1. */
	const char *const args_a[] = { "write", name, "20", "401", "1", "100", NULL };
	const char *const args_b[] = { "write", name, "50000", "402", "1", MAXF_S, "pace", NULL };
	struct zb_reader *r = create(name, PAYLOAD);
	struct zb_frame f;
	struct up a, b;

	up_start_model(&a, args_a);
	(void)up_done(&a, 10000);
	ck_assert_int_eq(up_exit(&a, 10000), 0);
	up_start_model(&b, args_b);

	pattern_init(&pat, 401, 1, 100);
	read_stream(r, 1, 20, 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	pattern_free(&pat);
	pattern_init(&pat, 402, 1, PAYLOAD / 3);
	read_stream(r, 1, 50000, 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), -ETIMEDOUT);
	(void)up_done(&b, 10000);
	ck_assert_int_eq(up_exit(&b, 10000), 0);

	/* And a third session after the reader saw the second one end. */
	{
		const char *const args_c[] = { "write", name, "1000", "403", "1", MAXF_S, NULL };
		struct up c;

		up_start_model(&c, args_c);
		pattern_free(&pat);
		pattern_init(&pat, 403, 1, PAYLOAD / 3);
		read_stream(r, 1, 1000, 1);
		ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
		(void)up_done(&c, 10000);
		ck_assert_int_eq(up_exit(&c, 10000), 0);
	}
	zb_reader_close(r);
}
END_TEST

/* ------------------------------------------------------------ 5: stale sweep */

START_TEST(upstream_stale_sweep_respects_our_lock)
{
	const char *held = tu_unique_name("held");
	const char *dead = tu_unique_name("dead");
	const char *wlive = tu_unique_name("wlive");
	const char *mine = tu_unique_name("sweeper");
	const char *const args[] = { "read-create", mine, "0", "1", "1", "1", PAYLOAD_S, NULL };
	struct zb_reader *r = create(held, PAYLOAD);
	struct zb_writer *w;
	struct up u;
	pid_t owner;

	/* Owner killed: lock free, reader dead, no writer. */
	owner = owner_start(dead);
	kill_and_reap(owner);
	ck_assert(all_objects_exist(dead));
	/* Owner killed but a writer (us) still attached. */
	owner = owner_start(wlive);
	ck_assert_int_eq(zb_writer_open(&w, wlive), 0);
	kill_and_reap(owner);

	up_start_model(&u, args);
	(void)up_done(&u, 10000);

	/* Our live, locked buffer is left alone. */
	ck_assert(all_objects_exist(held));
	ck_assert(tu_lock_is_held(held));
	/* The abandoned one is gone, lock and all. */
	ck_assert(!tu_any_object_exists(dead));
	/* A live writer keeps segment and semaphores; only the lock goes (section 9). */
	ck_assert(exists("/dev/shm/%s", wlive));
	ck_assert(exists("/dev/shm/sem.sem-w-%s", wlive));
	ck_assert(exists("/dev/shm/sem.sem-r-%s", wlive));
	ck_assert(!exists(ZB_LOCK_DIR "/%s.lock", wlive));
	/* The model's own buffer exists while it runs, with its lock held. */
	ck_assert(all_objects_exist(mine));
	ck_assert(tu_lock_is_held(mine));

	ck_assert_int_eq(up_exit(&u, 10000), 0);
	ck_assert(!tu_any_object_exists(mine));
	ck_assert(all_objects_exist(held));
	zb_writer_close(w);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(held));
}
END_TEST

/* ------------------------------------------------------------ 6: the Python writer's counting */

/*
 * The upstream Python writer adds one to payload_written_count for every wrap,
 * also for a tail of 0 to 15 bytes where it writes no marker (PROTOCOL.md
 * section 15). A reader that trusts the count reads a header that was never
 * written there. Ours takes an entry only where the writer has been, and drops
 * the counts with nothing behind them: every frame arrives, the stream ends
 * with "writer gone", and the shared counts agree again.
 */
static void python_counting_writer(const char *tag, const char *count, const char *min,
				   const char *max, bool paced)
{
	const char *name = tu_unique_name(tag);
	const char *const args[] = { "write", name, count,    "601",
				     min,     max,  "python", paced ? "pace" : NULL,
				     NULL };
	struct zb_reader *r = create(name, PAYLOAD);
	struct zb_oieb *o;
	struct zb_frame f;
	struct up_counts c;
	uint8_t *base;
	size_t size;
	struct up u;

	pattern_init(&pat, 601, strtoul(min, NULL, 0), strtoul(max, NULL, 0));
	up_start_model(&u, args);
	read_stream(r, 1, strtoull(count, NULL, 0), 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 10000), ZB_EWRITER_GONE);
	c = up_done(&u, 10000);
	ck_assert_int_eq(up_exit(&u, 10000), 0);
	ck_assert_uint_gt(c.tails + c.exact, 0);
	base = seg_map(name, &size);
	o = (struct zb_oieb *)base;
	ck_assert_uint_eq(zb_load(&o->payload_read_count), zb_load(&o->payload_written_count));
	/* A later reader finds the buffer readable, and nothing in it. */
	zb_reader_close(r);
	seg_unmap(base, size);
}

/* 1006-byte frames leave an 8-byte tail on every lap of a 4096-byte ring. */
START_TEST(python_writer_short_tails)
{
	python_counting_writer("pyshort", "100", "1006", "1006", false);
}
END_TEST

/* 1008-byte frames end exactly at the end of the ring: a tail of 0 bytes. */
START_TEST(python_writer_exact_ends)
{
	python_counting_writer("pyexact", "100", "1008", "1008", false);
}
END_TEST

/* Every kind of wrap, the ring both full and empty. */
START_TEST(python_writer_volume)
{
	python_counting_writer("pyvol", VOLUME_S, "1", MAXF_S, true);
}
END_TEST

/* ------------------------------------------------------------ 7: a saturated sem-r */

/*
 * A long stream from a reader that posts sem-r on every release leaves its
 * count near SEM_VALUE_MAX. Our writer takes the surplus back; it once took
 * all of it inside one commit, one sem_trywait at a time: some 20 s stuck at
 * frame 1024. Now in bounded batches, fast enough that the reader's own posts
 * never overflow the count, and without holding up a single frame long.
 */
START_TEST(saturated_sem_r)
{
	const char *name = tu_unique_name("semrmax");
	const char *const args[] = { "read-create", name,  "20000",   "701",
				     "1",	    "200", PAYLOAD_S, NULL };
	struct zb_writer *w;
	struct up_counts c;
	double start, took;
	struct up u;

	pattern_init(&pat, 701, 1, 200);
	up_start_model(&u, args);
	sem_preset(name, 'r', SEM_VALUE_MAX - 50);
	start = tu_now_ms();
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	for (uint64_t seq = 1; seq <= 20000; seq++) {
		size_t size = pattern_size(&pat, seq);
		int err = zb_writer_write(w, pattern_data(&pat, seq, size), size, 10000);

		ck_assert_msg(err == 0, "frame %llu: %s", (unsigned long long)seq,
			      zb_strerror(err));
	}
	took = tu_now_ms() - start;
	c = up_done(&u, 30000);
	fprintf(stderr, "interop: 20000 frames into a saturated sem-r: %.0f ms, sem-r now %d\n",
		took, sem_value(name, 'r'));
	/* Not a benchmark: ~60 ms here, 20 s when a commit drained it all. */
	ck_assert_msg(took < 5000, "20000 frames took %.0f ms", took);
	ck_assert_uint_eq(c.frames, 20000);
	/* The reader posted 20000 times and never hit the ceiling; the count fell. */
	ck_assert_int_le(sem_value(name, 'r'), SEM_VALUE_MAX - 50 - 10000);
	zb_writer_close(w);
	ck_assert_int_eq(up_exit(&u, 10000), 0);
}
END_TEST

TU_SUITE(interop_suite, "interop")
{
	TCase *tc = tu_tcase(s, "upstream", NULL, teardown);

	tcase_add_test(tc, our_writer_copy_to_upstream_reader);
	tcase_add_test(tc, our_writer_zerocopy_to_upstream_reader);
	tcase_add_test(tc, upstream_writer_copy_to_our_reader);
	tcase_add_test(tc, upstream_writer_zerocopy_to_our_reader);
	tcase_add_test(tc, upstream_writer_needs_live_reader);
	tcase_add_test(tc, upstream_new_writer_session);
	tcase_add_test(tc, upstream_stale_sweep_respects_our_lock);
	tcase_add_test(tc, upstream_writer_wrap_window_vs_resync);
	tcase_add_test(tc, python_writer_short_tails);
	tcase_add_test(tc, python_writer_exact_ends);
	tcase_add_test(tc, python_writer_volume);
	tcase_add_test(tc, saturated_sem_r);
}
