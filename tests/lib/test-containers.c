/* SPDX-License-Identifier: MIT */
/*
 * Peers in other pid namespaces, as in containers (libzbclient/liveness.h):
 * zbpeer enters a new pid namespace as pid 1 (a number the host gives its own
 * init, alive) or 31337 (a number no host process has), and its counterpart
 * in this process must neither take it for dead while it lives nor for alive
 * once it died. A peer that is our own unreaped child (a zombie) is dead too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libtest.h"
#include "pattern.h"
#include "wire.h"

#define FRAMES 2000
#define SEED 77
/* Small, so that the writer fills it and must ask whether the reader lives. */
#define PAYLOAD 4096
/* Only catches a hang: without zbd a death is noticed within a wait slice. */
#define GONE_WITHIN_MS 5000

static const long ns_pids[] = { 1, 31337 };
static struct pattern pat;

static void pattern_teardown(void)
{
	pattern_free(&pat);
	tu_cleanup_all();
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
START_TEST(ns_writer)
{
	const char *name = tu_unique_name("nsw");
	struct zb_buffer_config cfg = { .payload_size = PAYLOAD };
	struct zb_reader *r;
	struct zb_frame f;
	struct peer p;

	pattern_init(&pat, SEED, 1, 300);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	start_in_pidns(&p, ns_pids[_i], "write", name, "stay");
	read_frames(r, FRAMES);
	ck_assert_int_eq(peer_status(&p, 10000), 'D');
	ck_assert_int_eq(zb_reader_writer_connected(r), 1);
	ck_assert_int_eq(zb_reader_read(r, &f, 300), -ETIMEDOUT); /* alive, just quiet */
	peer_kill(&p);
	ck_assert_int_eq(zb_reader_read(r, &f, GONE_WITHIN_MS), ZB_EWRITER_GONE);
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

	pattern_init(&pat, SEED, 1, 300);
	seg_create_unowned(name, 1024, PAYLOAD);
	start_in_pidns(&p, ns_pids[_i], "read", name, "stay");
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

static const char *need_pidns(void)
{
	if (geteuid() != 0)
		return "needs root for unshare(CLONE_NEWPID)";
	return NULL;
}

TU_SUITE(containers_suite, "containers", .skip = need_pidns)
{
	TCase *tc = tu_tcase(s, "containers", NULL, pattern_teardown);

	tcase_add_loop_test(tc, ns_writer, 0, 2);
	tcase_add_loop_test(tc, ns_reader, 0, 2);
	tcase_add_test(tc, zombie_writer_is_dead);
	tcase_add_test(tc, zombie_reader_is_dead);
}
