/* SPDX-License-Identifier: MIT */
/*
 * Peers in other pid namespaces, as in containers (libzbclient/liveness.h):
 * zbpeer enters a new pid namespace as pid 1 (a number the host gives its own
 * init, alive), 31337 (a number no host process has) or the number of an
 * unrelated live host process, and its counterpart in this process must
 * neither take it for dead while it lives nor for alive once it died, nor
 * refuse its successor. A peer that is our own unreaped child (a zombie) is
 * dead too. With zbd: zbd on the host or as pid 1 of a namespace of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libtest.h"
#include "pattern.h"
#include "wire.h"
#include "zbdtest.h"

#define FRAMES 2000
#define SEED 77
/* Small, so that the writer fills it and must ask whether the reader lives. */
#define PAYLOAD 4096
/* Only catches a hang: without zbd a death is noticed within a wait slice. */
#define GONE_WITHIN_MS 5000

static struct pattern pat;

static pid_t unrelated = -1; /* a live host process that is no peer */

static void pattern_teardown(void)
{
	if (unrelated > 0) {
		kill(unrelated, SIGKILL);
		tu_wait(unrelated, 5000);
		unrelated = -1;
	}
	pattern_free(&pat);
	tu_cleanup_all();
}

static int park_child(void *arg)
{
	(void)arg;
	pause();
	return 0;
}

/* A pid for a peer in a namespace that, on the host, is a live process that
 * has nothing to do with the buffer (forked before the test maps anything). */
static long unrelated_pid(void)
{
	unrelated = tu_fork(park_child, NULL);
	return unrelated;
}

/* The namespace pid of loop test _i: 1 (the host's init is alive), 31337 (no
 * host process has it), or an unrelated live host process's. */
static long ns_pid_of(int i)
{
	return i == 0 ? 1 : i == 1 ? 31337 : unrelated_pid();
}

static void read_frames(struct zb_reader *r, uint64_t count)
{
	struct zb_frame f;

	for (uint64_t seq = 1; seq <= count; seq++) {
		size_t size = pattern_size(&pat, seq);

		ck_assert_int_eq(zb_reader_read(r, &f, 10000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert_uint_eq(f.size, size);
		ck_assert_mem_eq(f.data, pattern_data(&pat, seq, size), size);
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
	}
}

static int write_frames(struct zb_writer *w, uint64_t count)
{
	for (uint64_t seq = 1; seq <= count; seq++) {
		size_t size = pattern_size(&pat, seq);
		int err = zb_writer_write(w, pattern_data(&pat, seq, size), size, 10000);

		if (err < 0)
			return err;
	}
	return 0;
}

static void start_in_pidns(struct peer *p, long pid, const char *mode, const char *name,
			   const char *extra)
{
	char ns_pid[16], count[16], seed[16];
	const char *args[] = { "pidns", ns_pid, mode, name, count, seed, "1", "300", extra, NULL };

	snprintf(ns_pid, sizeof(ns_pid), "%ld", pid);
	snprintf(count, sizeof(count), "%d", FRAMES);
	snprintf(seed, sizeof(seed), "%d", SEED);
	peer_start(p, args);
}

/* A writer in a namespace: every frame arrives, it is never "gone" while it
 * lives, and its SIGKILL is seen. */
static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* (measured latencies go to stderr, for the record; only a hang fails) */
START_TEST(ns_writer)
{
	const char *name = tu_unique_name("nsw");
	struct zb_buffer_config cfg = { .payload_size = PAYLOAD };
	struct zb_reader *r;
	struct zb_frame f;
	struct timespec t0;
	struct peer p;
	long ns_pid = ns_pid_of(_i);

	pattern_init(&pat, SEED, 1, 300);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	start_in_pidns(&p, ns_pid, "write", name, "stay");
	read_frames(r, FRAMES);
	ck_assert_int_eq(peer_status(&p, 10000), 'D');
	ck_assert_int_eq(zb_reader_writer_connected(r), 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 300), -ETIMEDOUT); /* alive, just quiet */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_read(r, &f, GONE_WITHIN_MS), ZB_EWRITER_GONE);
	fprintf(stderr,
		"containers: no zbd, writer pid %ld in a namespace: death seen in %lld ms\n",
		ns_pid, (long long)ms_since(&t0));
	ck_assert_int_eq(zb_reader_writer_connected(r), 0);
	zb_reader_close(r);
}
END_TEST

/* A reader in a namespace: the writer never takes it for gone while it reads,
 * and gets "reader gone" once it was killed. */
START_TEST(ns_reader)
{
	const char *name = tu_unique_name("nsr");
	struct zb_writer *w;
	struct peer p;
	long ns_pid = ns_pid_of(_i);

	pattern_init(&pat, SEED, 1, 300);
	seg_create_unowned(name, 1024, PAYLOAD);
	start_in_pidns(&p, ns_pid, "read", name, "stay");
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_frames(w, FRAMES), 0);
	ck_assert_int_eq(peer_status(&p, 10000), 'D'); /* every frame checked */
	ck_assert_int_eq(zb_writer_reader_connected(w), 1);
	peer_kill(&p);
	/* Fill the ring: the dead reader frees nothing. */
	ck_assert_int_eq(write_frames(w, FRAMES), ZB_EREADER_GONE);
	zb_writer_close(w);
}
END_TEST

/* A writer in a namespace killed: a new writer (here) takes its slot, and the
 * reader goes on with the new writer's frames. The dead writer's number (1,
 * or an unrelated live process's) must not be taken for it. */
START_TEST(ns_writer_replaced)
{
	const char *name = tu_unique_name("nswr");
	struct zb_buffer_config cfg = { .payload_size = PAYLOAD };
	long ns_pid = ns_pid_of(_i);
	struct zb_reader *r;
	struct zb_writer *w;
	struct zb_frame f;
	struct peer p;

	pattern_init(&pat, SEED, 1, 300);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	start_in_pidns(&p, ns_pid, "write", name, "stay");
	read_frames(r, FRAMES);
	ck_assert_int_eq(peer_status(&p, 10000), 'D');
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_read(r, &f, GONE_WITHIN_MS), ZB_EWRITER_GONE);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_frames(w, 10), 0);
	read_frames(r, 10); /* a new session, from 1 */
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

/* A reader in a namespace killed: a new reader (here) takes its slot. */
START_TEST(ns_reader_replaced)
{
	const char *name = tu_unique_name("nsrr");
	long ns_pid = ns_pid_of(_i);
	struct zb_reader *r;
	struct zb_writer *w;
	struct peer p;

	pattern_init(&pat, SEED, 1, 300);
	seg_create_unowned(name, 1024, PAYLOAD);
	start_in_pidns(&p, ns_pid, "read", name, "stay");
	peer_kill(&p);
	/* The peer in the namespace dies a few ms after the process we killed
	 * (its parent-death signal): -EBUSY until then. */
	ck_assert(TU_UNTIL(zb_reader_open(&r, name) == 0, 5000, 1000));
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_frames(w, 10), 0);
	read_frames(r, 10);
	zb_writer_close(w);
	zb_reader_close(r);
}
END_TEST

/* Anyone who may read a role lock may hold it shared: the next writer must
 * not be locked out by that, only go unmarked (judged by its pid). */
START_TEST(role_lock_held_shared_refuses_nobody)
{
	const char *name = tu_unique_name("shlock");
	struct zb_buffer_config cfg = { .payload_size = PAYLOAD };
	struct zb_reader *r;
	struct zb_writer *w;
	char path[512];
	int fd;

	pattern_init(&pat, SEED, 1, 300);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	snprintf(path, sizeof(path), "%s/%s.writer.live", ZB_LOCK_DIR, name);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_SH), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_frames(w, 10), 0);
	read_frames(r, 10);
	zb_writer_close(w);
	close(fd);
	unlink(path);
	zb_reader_close(r);
}
END_TEST

static const char *zombie_name;

static int zombie_writer(void *arg)
{
	struct zb_writer *w;

	(void)arg;
	if (zb_writer_open(&w, zombie_name) < 0 || write_frames(w, 10) < 0)
		return 1;
	for (;;)
		pause();
}

/* A writer that is our unreaped child: dead means dead, zombie or not. */
START_TEST(zombie_writer_is_dead)
{
	struct zb_buffer_config cfg = { .payload_size = PAYLOAD };
	struct zb_reader *r;
	struct zb_frame f;
	pid_t child;

	zombie_name = tu_unique_name("zombw");
	pattern_init(&pat, SEED, 1, 300);
	ck_assert_int_eq(zb_reader_create(&r, zombie_name, &cfg), 0);
	child = tu_fork(zombie_writer, NULL);
	read_frames(r, 10);
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(zb_reader_read(r, &f, GONE_WITHIN_MS), ZB_EWRITER_GONE);
	tu_wait(child, 5000); /* only now */
	zb_reader_close(r);
}
END_TEST

static int zombie_reader(void *arg)
{
	struct zb_reader *r;
	struct zb_frame f;

	(void)arg;
	if (zb_reader_open(&r, zombie_name) < 0)
		return 1;
	for (;;)
		if (zb_reader_read(r, &f, -1) == 0)
			zb_reader_release(r, &f);
}

static bool reader_attached(const char *name, pid_t pid)
{
	size_t size;
	uint8_t *base = seg_map(name, &size);
	const struct zb_oieb *o = (const struct zb_oieb *)base;
	bool ok = TU_UNTIL(zb_load(&o->reader_pid) == (uint64_t)pid, 10000, 1000);

	seg_unmap(base, size);
	return ok;
}

START_TEST(zombie_reader_is_dead)
{
	struct zb_writer *w;
	pid_t child;

	zombie_name = tu_unique_name("zombr");
	pattern_init(&pat, SEED, 1, 300);
	seg_create_unowned(zombie_name, 1024, PAYLOAD);
	child = tu_fork(zombie_reader, NULL);
	ck_assert(reader_attached(zombie_name, child));
	ck_assert_int_eq(zb_writer_open(&w, zombie_name), 0);
	ck_assert_int_eq(write_frames(w, 100), 0);
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(write_frames(w, FRAMES), ZB_EREADER_GONE);
	tu_wait(child, 5000);
	zb_writer_close(w);
}
END_TEST

/* ------------------------------------------------------------ with zbd */

/* Where zbd runs: on the host, or as pid 1 of a pid namespace of its own (a
 * container of its own; its socket and /dev/shm shared). */
enum zbd_where { ZBD_HOST, ZBD_PIDNS };

static struct tz tz;

static void zbd_start(enum zbd_where where)
{
	char *const in_pidns[] = { getenv("ZBPEER"), "nsexec", NULL };

	tz_setup(&tz, NULL);
	if (where == ZBD_HOST) {
		tz_start(&tz);
		return;
	}
	tz_spawn(&tz, in_pidns);
	ck_assert_msg(tz_wait_ready(&tz, 5000), "zbd in a pid namespace: no READY=1 in 5 s");
}

static void zbd_teardown(void)
{
	tz_teardown(&tz);
	pattern_teardown();
}

static long long health_num(const char *name, const char *key)
{
	char rec[256];

	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&tz, "health %s", name), 0);
	return tz_get_num(tz.reply, rec, key);
}

static bool health_says(const char *name, const char *key, const char *want)
{
	const char *got;
	char rec[256];

	snprintf(rec, sizeof(rec), "buffer=%s", name);
	if (tz_request(&tz, "health %s", name) != 0)
		return false;
	got = tz_get(tz.reply, rec, key);
	return got && strcmp(got, want) == 0;
}

/* Writer in a pid namespace (as pid 1, or as the number of an unrelated live
 * host process), reader here, zbd on the host or in a namespace of its own:
 * every frame arrives, zbd calls the writer alive, and its SIGKILL is seen
 * by the reader and reaped by zbd. _i: bit 0 zbd's place, bit 1 the pid. */
START_TEST(zbd_ns_writer)
{
	const char *name = tu_unique_name("zbnsw");
	enum zbd_where where = (_i & 1) ? ZBD_PIDNS : ZBD_HOST;
	struct timespec t0;
	struct zb_reader *r;
	struct zb_frame f;
	struct peer p;
	long ns_pid = (_i & 2) ? unrelated_pid() : 1;
	int64_t ms;

	pattern_init(&pat, SEED, 1, 300);
	zbd_start(where);
	ck_assert_int_eq(tz_request(&tz, "create %s payload=4K", name), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	start_in_pidns(&p, ns_pid, "write", name, "stay");
	read_frames(r, FRAMES);
	ck_assert_int_eq(peer_status(&p, 10000), 'D');
	/* Bytes are counted by zbd's scan, which judges the peers next: a scan
	 * has seen the writer attached, so what follows is the reaper's word. */
	ck_assert(TU_UNTIL(health_num(name, "bytes_written") > 0, 5000, 10000));
	ck_assert(TU_UNTIL(health_says(name, "writer_liveness", "alive"), 5000, 10000));
	ck_assert_int_eq(health_num(name, "writers_reaped"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_read(r, &f, GONE_WITHIN_MS), ZB_EWRITER_GONE);
	ms = ms_since(&t0);
	fprintf(stderr, "containers: zbd %s, writer pid %s in a namespace: death seen in %lld ms\n",
		where == ZBD_HOST ? "on the host" : "in a namespace", (_i & 2) ? "unrelated" : "1",
		(long long)ms);
	ck_assert(TU_UNTIL(health_num(name, "writers_reaped") == 1, 5000, 10000));
	zb_reader_close(r);
}
END_TEST

/* Reader in a pid namespace, writer here: zbd, on the host or in a namespace
 * (pid 1 there, as the reader may be: the stand-in's number and the reader's
 * collide), never takes the reader for dead while it reads, and reaps it once
 * killed; the writer then hears "reader gone". */
START_TEST(zbd_ns_reader)
{
	const char *name = tu_unique_name("zbnsr");
	enum zbd_where where = (_i & 1) ? ZBD_PIDNS : ZBD_HOST;
	long ns_pid = (_i & 2) ? unrelated_pid() : 1;
	struct zb_writer *w;
	struct peer p;

	pattern_init(&pat, SEED, 1, 300);
	zbd_start(where);
	ck_assert_int_eq(tz_request(&tz, "create %s payload=4K", name), 0);
	start_in_pidns(&p, ns_pid, "read", name, "stay");
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(write_frames(w, FRAMES), 0);
	ck_assert_int_eq(peer_status(&p, 10000), 'D'); /* every frame checked */
	ck_assert_int_eq(zb_writer_reader_connected(w), 1);
	ck_assert(TU_UNTIL(health_num(name, "bytes_read") > 0, 5000, 10000)); /* a scan saw it */
	ck_assert(TU_UNTIL(health_says(name, "reader_liveness", "alive"), 5000, 10000));
	ck_assert_int_eq(health_num(name, "readers_reaped"), 0);
	peer_kill(&p);
	ck_assert_int_eq(write_frames(w, FRAMES), ZB_EREADER_GONE);
	ck_assert(TU_UNTIL(health_num(name, "readers_reaped") == 1, 5000, 10000));
	zb_writer_close(w);
}
END_TEST

/* Reader and writer each in a pid namespace of its own, both pid 1 there
 * (one number for two peers: their marks tell them apart), zbd on the host or
 * in a third: every frame arrives, zbd calls both alive, and reaps each once
 * killed. */
START_TEST(zbd_both_in_ns)
{
	const char *name = tu_unique_name("zbboth");
	enum zbd_where where = _i ? ZBD_PIDNS : ZBD_HOST;
	char count[16], seed[16];
	const char *rargs[] = { "pidns", "1", "read", name, count, seed, "1", "300", "stay", NULL };
	struct peer rp, wp;

	snprintf(count, sizeof(count), "%d", FRAMES);
	snprintf(seed, sizeof(seed), "%d", SEED);
	zbd_start(where);
	ck_assert_int_eq(tz_request(&tz, "create %s payload=4K", name), 0);
	peer_start(&rp, rargs);
	start_in_pidns(&wp, 1, "write", name, "stay");
	ck_assert_int_eq(peer_status(&wp, 10000), 'D');
	ck_assert_int_eq(peer_status(&rp, 10000), 'D'); /* every frame checked */
	ck_assert(TU_UNTIL(health_num(name, "bytes_read") > 0, 5000, 10000)); /* a scan saw both */
	ck_assert(TU_UNTIL(health_says(name, "writer_liveness", "alive") &&
				   health_says(name, "reader_liveness", "alive"),
			   5000, 10000));
	ck_assert_int_eq(health_num(name, "writers_reaped"), 0);
	ck_assert_int_eq(health_num(name, "readers_reaped"), 0);
	peer_kill(&wp);
	ck_assert(TU_UNTIL(health_num(name, "writers_reaped") == 1, 5000, 10000));
	ck_assert(health_says(name, "reader_liveness", "alive"));
	peer_kill(&rp);
	ck_assert(TU_UNTIL(health_num(name, "readers_reaped") == 1, 5000, 10000));
}
END_TEST

/* A live peer in a namespace is never reaped over a 10 s stream, with zbd on
 * the host or in a namespace: every frame arrives, in order. */
START_TEST(zbd_live_writer_10s)
{
	const char *name = tu_unique_name("zblive");
	enum zbd_where where = _i ? ZBD_PIDNS : ZBD_HOST;
	struct timespec t0, pace = { 0, 5 * 1000 * 1000 };
	struct zb_reader *r;
	struct zb_frame f;
	struct peer p;
	uint64_t seq = 0;

	pattern_init(&pat, SEED, 1, 300);
	zbd_start(where);
	ck_assert_int_eq(tz_request(&tz, "create %s payload=4K", name), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	start_in_pidns(&p, 1, "write", name, "stay");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A paced reader: the writer waits on a full ring for most of the time,
	 * through 200 of zbd's scans. */
	while (seq < FRAMES) {
		size_t size = pattern_size(&pat, ++seq);

		ck_assert_int_eq(zb_reader_read(r, &f, 10000), 0);
		ck_assert_uint_eq(f.sequence, seq);
		ck_assert_mem_eq(f.data, pattern_data(&pat, seq, size), size);
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
		if (ms_since(&t0) < 10000)
			nanosleep(&pace, NULL);
	}
	ck_assert_int_ge(ms_since(&t0), 10000);
	ck_assert_int_eq(peer_status(&p, 10000), 'D');
	ck_assert_int_eq(health_num(name, "writers_reaped"), 0);
	ck_assert(health_says(name, "writer_liveness", "alive"));
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_read(r, &f, GONE_WITHIN_MS), ZB_EWRITER_GONE);
	zb_reader_close(r);
}
END_TEST

/* A pid that no libzbclient mark speaks for (another implementation's peer)
 * and that zbd cannot find: zbd in a namespace of its own cannot tell a
 * process of the host, so it neither reaps it nor calls it alive; on the host
 * it sees every process, so a number no process that maps the buffer has is
 * a dead peer. */
START_TEST(zbd_unmarked_pid)
{
	const char *name = tu_unique_name("zbunm");
	enum zbd_where where = _i ? ZBD_PIDNS : ZBD_HOST;
	long other = unrelated_pid(); /* forked before we map the buffer */
	size_t size;
	uint8_t *base;
	struct zb_oieb *o;

	zbd_start(where);
	ck_assert_int_eq(tz_request(&tz, "create %s payload=4K", name), 0);
	base = seg_map(name, &size);
	o = (struct zb_oieb *)base;
	/* As an upstream writer records itself: our pid (we map the buffer). */
	zb_store(&o->writer_pid, (uint64_t)getpid());
	if (where == ZBD_PIDNS) {
		ck_assert(TU_UNTIL(health_says(name, "writer_liveness", "unknown"), 5000, 10000));
		ck_assert_int_eq(health_num(name, "writer_alive"), 0);
		/* Several scans later, still there. */
		ck_assert(!TU_UNTIL(health_num(name, "writers_reaped") != 0, 500, 10000));
		ck_assert_uint_eq(zb_load(&o->writer_pid), (uint64_t)getpid());
	} else {
		ck_assert(TU_UNTIL(health_says(name, "writer_liveness", "alive"), 5000, 10000));
		/* An unrelated live process's number: it maps nothing of ours. */
		zb_store(&o->writer_pid, (uint64_t)other);
		if (tu_pidns_initial()) {
			ck_assert(TU_UNTIL(health_num(name, "writers_reaped") == 1, 5000, 10000));
			ck_assert_uint_eq(zb_load(&o->writer_pid), 0);
		} else {
			/* Run in a container: zbd cannot see the sibling namespaces
			 * where such a peer could live. */
			ck_assert(TU_UNTIL(health_says(name, "writer_liveness", "unknown"), 5000,
					   10000));
			ck_assert(!TU_UNTIL(health_num(name, "writers_reaped") != 0, 500, 10000));
		}
	}
	zb_store(&o->writer_pid, 0);
	seg_unmap(base, size);
}
END_TEST

static const char *need_pidns(void)
{
	if (geteuid() != 0)
		return "needs root for unshare(CLONE_NEWPID)";
	return NULL;
}

TU_SUITE(containers_suite, "containers", .skip = need_pidns)
{
	TCase *tc = tu_tcase(s, "containers", NULL, pattern_teardown);

	tcase_add_loop_test(tc, ns_writer, 0, 3);
	tcase_add_loop_test(tc, ns_reader, 0, 3);
	tcase_add_loop_test(tc, ns_writer_replaced, 0, 3);
	tcase_add_loop_test(tc, ns_reader_replaced, 0, 3);
	tcase_add_test(tc, role_lock_held_shared_refuses_nobody);
	tcase_add_test(tc, zombie_writer_is_dead);
	tcase_add_test(tc, zombie_reader_is_dead);

	tc = tu_tcase(s, "zbd", NULL, zbd_teardown);
	tcase_add_loop_test(tc, zbd_ns_writer, 0, 4);
	tcase_add_loop_test(tc, zbd_ns_reader, 0, 4);
	tcase_add_loop_test(tc, zbd_both_in_ns, 0, 2);
	tcase_add_loop_test(tc, zbd_live_writer_10s, 0, 2);
	tcase_add_loop_test(tc, zbd_unmarked_pid, 0, 2);
}
