/* SPDX-License-Identifier: MIT */
/*
 * Dead peers, against a real zbd: a SIGKILLed writer or reader is noticed and
 * its peer woken well under a second, and the stream goes on with a new peer,
 * every frame verified. Forced destroy wakes a blocked reader. The latencies
 * measured are printed (kill to the survivor's return).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

/* Well under a second; pidfds make it ~1 ms once zbd knows the pid. */
#define LATENCY_MAX_MS 500.0

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

static void start_with_buffer(const char *name, const char *payload)
{
	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=%s", name, payload), 0);
}

static long long health_num(const char *name, const char *key)
{
	char rec[256];

	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	return tz_get_num(t.reply, rec, key);
}

/* A child's end of a pipe: one byte says "ready". */
struct peer_args {
	const char *name;
	int ready_fd;	/* child writes a byte here */
	uint64_t first; /* writer: first sequence to write; reader: latest acceptable first */
	uint64_t last;	/* last sequence to write / read */
	uint64_t hold;	/* reader: frames to read and release before holding one */
};

static void wait_ready(int fd)
{
	ck_assert_int_eq(tu_read_byte(fd, -1), 1);
}

/* Writes frames 1..last and closes cleanly. */
static int writer_stream(void *arg)
{
	struct peer_args *a = arg;
	struct zb_writer *w;
	char buf[512];

	if (zb_writer_open(&w, a->name) < 0)
		return 10;
	tu_say(a->ready_fd, 1);
	for (uint64_t seq = 1; seq <= a->last; seq++) {
		tu_frame_fill(buf, seq);
		if (zb_writer_write(w, buf, tu_frame_size(seq), 5000) < 0)
			return 11;
	}
	zb_writer_close(w);
	return 0;
}

/* Reads and releases `hold` frames, reads one more and holds it, says ready,
 * waits to be killed: it dies owing the writer that frame's space. */
static int reader_then_hang(void *arg)
{
	struct peer_args *a = arg;
	struct zb_reader *r;
	struct zb_frame f;

	if (zb_reader_open(&r, a->name) < 0)
		return 20;
	tu_say(a->ready_fd, 1);
	for (uint64_t i = 0; i <= a->hold; i++) {
		if (zb_reader_read(r, &f, 5000) < 0 || !tu_frame_ok(f.data, f.size, f.sequence))
			return 21;
		if (i < a->hold)
			zb_reader_release(r, &f);
	}
	tu_say(a->ready_fd, 1);
	pause();
	return 22;
}

/* Attaches, says ready, then reads consecutive verified frames up to `last`;
 * the first may be older than `first` (left unread by a dead reader), never newer. */
static int reader_verify(void *arg)
{
	struct peer_args *a = arg;
	struct zb_reader *r;
	struct zb_frame f;
	uint64_t expect = 0;

	if (zb_reader_open(&r, a->name) < 0)
		return 30;
	tu_say(a->ready_fd, 1);
	do {
		if (zb_reader_read(r, &f, 5000) < 0)
			return 31;
		if (expect == 0 && f.sequence > a->first)
			return 32; /* lost a frame written after we attached */
		if (expect != 0 && f.sequence != expect)
			return 33;
		if (!tu_frame_ok(f.data, f.size, f.sequence))
			return 34;
		expect = f.sequence + 1;
		zb_reader_release(r, &f);
	} while (f.sequence < a->last);
	zb_reader_close(r);
	return 0;
}

/* Reads as many frames as the parent says (a u64 on `cmd_fd`), holds them
 * all, says ready, waits to be killed: it dies owing the writer every byte. */
struct hoarder_args {
	const char *name;
	int ready_fd, cmd_fd;
};

static int reader_hoards(void *arg)
{
	struct hoarder_args *a = arg;
	struct zb_reader *r;
	struct zb_frame f;
	uint64_t n;

	if (zb_reader_open(&r, a->name) < 0)
		return 60;
	tu_say(a->ready_fd, 1);
	if (read(a->cmd_fd, &n, sizeof(n)) != sizeof(n))
		return 61;
	for (uint64_t i = 0; i < n; i++)
		if (zb_reader_read(r, &f, 5000) < 0 || !tu_frame_ok(f.data, f.size, f.sequence))
			return 62;
	tu_say(a->ready_fd, 1);
	pause();
	return 63;
}

START_TEST(writer_killed_while_reader_waits)
{
	const char *name = tu_unique_name("wdie");
	volatile double *killed_at = tu_shared(4096);
	struct peer_args a = { .name = name, .first = 1, .last = 100 };
	struct zb_reader *r;
	struct zb_frame f;
	int p[2], err;
	pid_t w, k;
	double latency;

	start_with_buffer(name, "64K");
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(pipe(p), 0);
	a.ready_fd = p[1];
	w = tu_fork(tu_writer_then_hang,
		    &(struct tu_hanging_writer){ name, p[1], a.first, a.last });
	wait_ready(p[0]);
	for (uint64_t seq = 1; seq <= 100; seq++) {
		ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert(tu_frame_ok(f.data, f.size, seq));
		zb_reader_release(r, &f);
	}
	/* The writer is a zombie until we reap it, so kill(pid, 0) still says
	 * "alive": zbd's pidfd tells the reader (and so does the writer's role
	 * lock, libzbclient/liveness.h). */
	k = tu_kill_later(w, 100, killed_at);
	err = zb_reader_read(r, &f, 5000);
	latency = tu_now_ms() - *killed_at;
	ck_assert_int_eq(err, ZB_EWRITER_GONE);
	printf("writer SIGKILL -> reader ZB_EWRITER_GONE: %.2f ms\n", latency);
	ck_assert_double_lt(latency, LATENCY_MAX_MS);
	ck_assert_int_eq(tu_exit_status(tu_wait(k, 20000)), 0);
	tu_wait(w, 1000);
	/* The reader may have seen the role lock free before zbd reaped. */
	ck_assert(TU_UNTIL(health_num(name, "writers_reaped") == 1, 5000, 1000));

	/* A new writer attaches and the stream goes on, every frame checked. */
	a.last = 5000;
	w = tu_fork(writer_stream, &a);
	wait_ready(p[0]);
	for (uint64_t seq = 1; seq <= 5000; seq++) {
		ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert(tu_frame_ok(f.data, f.size, seq));
		zb_reader_release(r, &f);
	}
	ck_assert_int_eq(tu_exit_status(tu_wait(w, 20000)), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), ZB_EWRITER_GONE);
	zb_reader_close(r);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(reader_killed_while_writer_blocked)
{
	const char *name = tu_unique_name("rdie");
	volatile double *killed_at = tu_shared(4096);
	struct peer_args a = { .name = name, .hold = 10 };
	struct zb_writer *w;
	uint64_t seq = 0, after_kill = 0;
	char buf[512];
	int p[2], err;
	pid_t r, k;
	double latency;

	start_with_buffer(name, "16K");
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(pipe(p), 0);
	a.ready_fd = p[1];
	r = tu_fork(reader_then_hang, &a);
	wait_ready(p[0]);
	for (seq = 1; seq <= 11; seq++) {
		tu_frame_fill(buf, seq);
		ck_assert_int_eq(zb_writer_write(w, buf, tu_frame_size(seq), 5000), 0);
	}
	wait_ready(p[0]); /* it read 11 and holds the last */
	/* Fill the ring. */
	for (;; seq++) {
		tu_frame_fill(buf, seq);
		err = zb_writer_write(w, buf, tu_frame_size(seq), 0);
		if (err == -ENOBUFS)
			break;
		ck_assert_int_eq(err, 0);
	}
	/* Killed half-way through the writer's second wait slice (100 ms each):
	 * the writer probes its reader at the ends of slices and, since a dead
	 * reader's role lock is free at once (zombie or not), would say "reader
	 * gone" if a probe came before zbd's repair, a millisecond after the death. */
	k = tu_kill_later(r, 150, killed_at);
	/* Blocked on the full ring. zbd may first hand back the space the dead
	 * reader held, so some frames can still go in; then "reader gone". */
	for (;;) {
		tu_frame_fill(buf, seq);
		err = zb_writer_write(w, buf, tu_frame_size(seq), 5000);
		if (err != 0)
			break;
		seq++;
		after_kill++;
	}
	latency = tu_now_ms() - *killed_at;
	ck_assert_int_eq(err, ZB_EREADER_GONE);
	printf("reader SIGKILL -> blocked writer ZB_EREADER_GONE: %.2f ms "
	       "(%llu frames fitted in the space recovered from the dead reader)\n",
	       latency, (unsigned long long)after_kill);
	ck_assert_double_lt(latency, LATENCY_MAX_MS);
	ck_assert_int_eq(tu_exit_status(tu_wait(k, 20000)), 0);
	tu_wait(r, 1000);
	/* The writer may have seen the role lock free before zbd reaped. */
	ck_assert(TU_UNTIL(health_num(name, "readers_reaped") == 1, 5000, 1000));
	ck_assert_int_eq(health_num(name, "reader_pid"), 0);

	/* A new reader attaches; the writer keeps writing on the same handle. */
	a.first = seq;
	a.last = seq + 5000;
	r = tu_fork(reader_verify, &a);
	wait_ready(p[0]);
	for (; seq <= a.last; seq++) {
		tu_frame_fill(buf, seq);
		ck_assert_int_eq(zb_writer_write(w, buf, tu_frame_size(seq), 5000), 0);
	}
	ck_assert_int_eq(tu_exit_status(tu_wait(r, 20000)), 0);
	zb_writer_close(w);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(reader_killed_holding_every_frame)
{
	const char *name = tu_unique_name("hoard");
	volatile double *killed_at = tu_shared(4096);
	struct hoarder_args a = { .name = name };
	struct zb_writer *w;
	uint64_t seq, written, after_kill = 0;
	char buf[512];
	int ready[2], cmd[2], err;
	pid_t r, k;
	double first_write_ms = 0;

	start_with_buffer(name, "16K");
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(cmd), 0);
	a.ready_fd = ready[1];
	a.cmd_fd = cmd[0];
	r = tu_fork(reader_hoards, &a);
	wait_ready(ready[0]);
	/* Fill the ring; the reader reads every frame and releases none. */
	for (seq = 1;; seq++) {
		tu_frame_fill(buf, seq);
		err = zb_writer_write(w, buf, tu_frame_size(seq), 0);
		if (err == -ENOBUFS)
			break;
		ck_assert_int_eq(err, 0);
	}
	written = seq - 1;
	ck_assert_int_eq(write(cmd[1], &written, sizeof(written)), sizeof(written));
	wait_ready(ready[0]);
	/* Every frame read: read and write positions are equal, the ring is empty,
	 * and yet no byte is free. Only zbd can give the space back. */
	/* Killed half-way through the writer's second wait slice (100 ms each):
	 * the writer probes its reader at the ends of slices and, since a dead
	 * reader's role lock is free at once (zombie or not), would say "reader
	 * gone" if a probe came before zbd's repair, a millisecond after the death. */
	k = tu_kill_later(r, 150, killed_at);
	for (;;) {
		tu_frame_fill(buf, seq);
		err = zb_writer_write(w, buf, tu_frame_size(seq), 5000);
		if (err != 0)
			break;
		if (after_kill++ == 0)
			first_write_ms = tu_now_ms() - *killed_at;
		seq++;
	}
	ck_assert_int_eq(err, ZB_EREADER_GONE);
	printf("reader holding %llu frames SIGKILLed -> writer writes again after %.2f ms "
	       "(%llu frames fit before reader gone)\n",
	       (unsigned long long)written, first_write_ms, (unsigned long long)after_kill);
	/* The whole ring came back: about as many frames fit as at first. */
	ck_assert_uint_ge(after_kill, written - written / 8);
	ck_assert_double_lt(first_write_ms, 500);
	ck_assert_int_eq(tu_exit_status(tu_wait(k, 20000)), 0);
	tu_wait(r, 1000);
	zb_writer_close(w);
	close(ready[0]);
	close(ready[1]);
	close(cmd[0]);
	close(cmd[1]);
}
END_TEST

static int destroy_later(void *arg)
{
	const char *name = arg;

	/* Let the reader block first; as above, the outcome does not depend on it. */
	usleep(100000);
	if (tz_request(&t, "destroy %s", name) != -EBUSY)
		return 40;
	if (tz_request(&t, "destroy %s force", name) != 0)
		return 41;
	return 0;
}

START_TEST(forced_destroy_wakes_reader)
{
	const char *name = tu_unique_name("force");
	struct zb_reader *r;
	struct zb_frame f;
	int p[2], err;
	pid_t w, d;
	double t0, latency;

	start_with_buffer(name, "64K");
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(pipe(p), 0);
	w = tu_fork(tu_writer_then_hang, &(struct tu_hanging_writer){ name, p[1], 1, 1 });
	wait_ready(p[0]);
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
	zb_reader_release(r, &f);
	t0 = tu_now_ms();
	d = tu_fork(destroy_later, (void *)name);
	err = zb_reader_read(r, &f, 5000);
	latency = tu_now_ms() - t0 - 100;
	ck_assert_int_eq(err, ZB_EDESTROYED);
	printf("forced destroy -> blocked reader ZB_EDESTROYED: %.2f ms after the request\n",
	       latency);
	ck_assert_int_eq(tu_exit_status(tu_wait(d, 20000)), 0);
	ck_assert(!tu_any_object_exists(name));
	zb_reader_close(r);
	kill(w, SIGKILL);
	tu_wait(w, 1000);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* zbd's judgement of NAME's reader or writer, as health says it. */
static bool liveness_is(const char *name, bool reader, const char *want)
{
	char rec[256];
	const char *got;

	snprintf(rec, sizeof(rec), "buffer=%s", name);
	if (tz_request(&t, "health %s", name) != 0)
		return false;
	got = tz_get(t.reply, rec, reader ? "reader_liveness" : "writer_liveness");
	return got && strcmp(got, want) == 0;
}

/* A peer of another implementation, as far as zbd can tell: it maps the
 * segment and records its pid by hand, without libzbclient. */
static int foreign_peer(void *arg)
{
	struct peer_args *a = arg;
	struct zb_segment seg;

	if (segment_attach(&seg, a->name) < 0)
		return 50;
	zb_store(a->hold ? &seg.oieb->reader_pid : &seg.oieb->writer_pid, (uint64_t)getpid());
	tu_say(a->ready_fd, 1);
	pause();
	return 51;
}

START_TEST(foreign_peers_are_reaped_too)
{
	const char *name = tu_unique_name("foreign");
	struct peer_args a = { .name = name };
	struct zb_segment seg;
	char rec[256];
	int p[2], value;
	double t0;
	pid_t pid;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	ck_assert_int_eq(segment_attach(&seg, name), 0);
	ck_assert_int_eq(pipe(p), 0);
	a.ready_fd = p[1];
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	for (int reader = 0; reader <= 1; reader++) {
		uint64_t *slot = reader ? &seg.oieb->reader_pid : &seg.oieb->writer_pid;
		sem_t *sem = reader ? seg.sem_r : seg.sem_w;

		while (sem_trywait(sem) == 0)
			;
		a.hold = (uint64_t)reader;
		pid = tu_fork(foreign_peer, &a);
		wait_ready(p[0]);
		/* Killed at once: zbd may not have scanned since the pid appeared, the
		 * worst case. It learns of it at its next scan (every 50 ms by default)
		 * and finds it dead then: still within the 100 ms promised. In a
		 * container, zbd cannot take a pid it never saw for dead (it may be a
		 * sibling namespace's): there it must have found the process first. */
		if (!tu_pidns_initial())
			ck_assert(TU_UNTIL(tz_watches(&t, pid), 5000, 2000));
		kill(pid, SIGKILL);
		t0 = tu_now_ms();
		/* Repaired, then the peer it would have woken got its token. */
		while ((sem_getvalue(sem, &value) < 0 || value < 1) && tu_now_ms() - t0 < 2000)
			usleep(200);
		printf("foreign %s SIGKILL -> pid cleared: %.2f ms\n", reader ? "reader" : "writer",
		       tu_now_ms() - t0);
		ck_assert_int_ge(value, 1);
		ck_assert_double_lt(tu_now_ms() - t0, 100);
		/* A reader's slot goes to zbd standing in for the next one (ring.h). */
		ck_assert_uint_eq(zb_load(slot), reader ? (uint64_t)t.pid : 0);
		tu_wait(pid, 1000);
	}
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "writers_reaped"), 1);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "readers_reaped"), 1);
	segment_detach(&seg);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A foreign peer that leaves cleanly: records its pid, says ready, and on a
 * byte from the test clears its slot as upstream peers do on close (no post),
 * then exits, or stays (`stay`) until killed. */
struct leaver_args {
	const char *name;
	bool reader, stay;
	int ready_fd, cmd_fd;
};

static int foreign_leaver(void *arg)
{
	struct leaver_args *a = arg;
	struct zb_segment seg;
	uint64_t *slot;
	char c;

	if (segment_attach(&seg, a->name) < 0)
		return 70;
	slot = a->reader ? &seg.oieb->reader_pid : &seg.oieb->writer_pid;
	zb_store(slot, (uint64_t)getpid());
	tu_say(a->ready_fd, 1);
	if (read(a->cmd_fd, &c, 1) != 1)
		return 71;
	zb_store(slot, 0);
	if (a->stay)
		pause();
	return 0;
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_ne(tu_wait(pid, 5000), -1);
	return pid;
}

static bool sem_posted(sem_t *sem)
{
	int value;

	return sem_getvalue(sem, &value) == 0 && value > 0;
}

/*
 * A peer that clears its pid and leaves does not post the semaphore its
 * counterpart sleeps on (upstream peers never do), so that one slept out its
 * 100 ms slice, or upstream's whole timeout, even with zbd watching. zbd now
 * posts for it, whether the peer's process exits at once (its pidfd fires on a
 * cleared slot) or lives on (the next scan finds the slot cleared).
 */
START_TEST(clean_exit_wakes_counterpart)
{
	const char *name = tu_unique_name("cleanexit");
	struct zb_segment seg;
	int ready[2], cmd[2];
	char rec[256];
	long long reaped = 0;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	ck_assert_int_eq(segment_attach(&seg, name), 0);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(cmd), 0);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	for (int i = 0; i < 4; i++) {
		struct leaver_args a = { name, i & 1, i & 2, ready[1], cmd[0] };
		sem_t *wakes = a.reader ? seg.sem_r : seg.sem_w;
		uint64_t *other = a.reader ? &seg.oieb->writer_pid : &seg.oieb->reader_pid;
		pid_t pid;

		while (sem_trywait(wakes) == 0)
			;
		pid = tu_fork(foreign_leaver, &a);
		wait_ready(ready[0]);
		/* A dead pid in the other slot: once zbd has judged it (reaped it;
		 * in a container, where it cannot tell, `unknown`), it has scanned
		 * this buffer and watches the leaver too. */
		zb_store(other, (uint64_t)dead_pid());
		if (tu_pidns_initial()) {
			reaped++;
			ck_assert(TU_UNTIL(tz_request(&t, "health %s", name) == 0 &&
						   tz_get_num(t.reply, rec, "readers_reaped") +
								   tz_get_num(t.reply, rec,
									      "writers_reaped") ==
							   reaped,
					   5000, 2000));
		} else {
			ck_assert(TU_UNTIL(liveness_is(name, !a.reader, "unknown"), 5000, 2000));
		}
		while (sem_trywait(wakes) == 0)
			;
		ck_assert_int_eq(write(cmd[1], "x", 1), 1);
		ck_assert_msg(TU_UNTIL(sem_posted(wakes), 2000, 500),
			      "%s left cleanly (%s) and its counterpart was not woken",
			      a.reader ? "reader" : "writer", a.stay ? "process lives" : "exited");
		if (a.stay)
			kill(pid, SIGKILL);
		tu_wait(pid, 5000);
	}
	segment_detach(&seg);
	close(ready[0]);
	close(ready[1]);
	close(cmd[0]);
	close(cmd[1]);
}
END_TEST

TU_SUITE(zbd_reap_suite, "zbd-reap")
{
	TCase *tc = tu_tcase(s, "reap", NULL, teardown);

	tcase_add_test(tc, writer_killed_while_reader_waits);
	tcase_add_test(tc, reader_killed_while_writer_blocked);
	tcase_add_test(tc, reader_killed_holding_every_frame);
	tcase_add_test(tc, forced_destroy_wakes_reader);
	tcase_add_test(tc, foreign_peers_are_reaped_too);
	tcase_add_test(tc, clean_exit_wakes_counterpart);
}
