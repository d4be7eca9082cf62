/* SPDX-License-Identifier: MIT */
/*
 * zbd and buffers it does not own (zbd/foreign.c), and its stand-in for the
 * absent reader of those it does own (ring.h), against a real zbd: a
 * standalone reader's buffer is listed and reported as owner=foreign, its
 * dead writer is reaped and its reader woken, and zbd never destroys, adopts
 * or records it; another zbd's buffer is not taken for a foreign one; zbd's
 * own buffers record zbd as the reader until a reader comes, and again after
 * it leaves or dies.
 */
#include <check.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "segment.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define OBSERVING "[zbd]\nforeign_scan_ms = 50\n"

static struct tz t, t2;

static void teardown(void)
{
	tz_teardown(&t);
	if (t2.dir[0])
		tz_teardown(&t2);
	memset(&t2, 0, sizeof(t2));
}

static bool listed_as(struct tz *z, const char *name, const char *owner)
{
	char rec[300];

	if (tz_request(z, "list") != 0)
		return false;
	snprintf(rec, sizeof(rec), "buffer=%s\nowner=%s\n", name, owner);
	return strstr(z->reply, rec) != NULL;
}

START_TEST(standalone_buffer_is_observed)
{
	struct zb_buffer_config cfg = { .payload_size = 16384 };
	const char *name = tu_unique_name("observed");
	struct tu_hanging_writer a = { .name = name, .first = 1, .last = 10 };
	struct zb_reader *r;
	struct zb_frame f;
	char rec[300], state[200];
	int p[2];
	pid_t w;

	tz_setup(&t, OBSERVING);
	tz_start(&t);
	/* A buffer zbd does not own: a standalone reader's, as upstream's are. */
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_msg(TU_UNTIL(listed_as(&t, name, "foreign"), 5000, 10000),
		      "zbd does not list %s as a foreign buffer", name);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	ck_assert_str_eq(tz_get(t.reply, rec, "owner"), "foreign");
	ck_assert_str_eq(tz_get(t.reply, rec, "state"), "healthy");
	ck_assert_int_eq(tz_get_num(t.reply, rec, "reader_pid"), getpid());
	ck_assert_int_eq(tz_get_num(t.reply, rec, "payload_size"), 16384);

	/* Its writer dies: zbd reaps it and wakes the reader, as for its own. */
	ck_assert_int_eq(pipe(p), 0);
	a.ready_fd = p[1];
	w = tu_fork(tu_writer_then_hang, &a);
	ck_assert_int_eq(tu_read_byte(p[0], 10000), 1);
	for (uint64_t seq = 1; seq <= 10; seq++) {
		ck_assert_int_eq(zb_reader_read(r, &f, 5000), 0);
		ck_assert(tu_frame_ok(f.data, f.size, seq));
		zb_reader_release(r, &f);
	}
	kill(w, SIGKILL);
	/* A zombie until we reap it: kill(pid, 0) still says alive. zbd's pidfd
	 * tells, and so does the writer's role lock (the reader may see it free
	 * before zbd's reap: libzbclient/liveness.h). */
	ck_assert_int_eq(zb_reader_read(r, &f, 5000), ZB_EWRITER_GONE);
	ck_assert(TU_UNTIL(tz_request(&t, "health %s", name) == 0 &&
				   tz_get_num(t.reply, rec, "writers_reaped") == 1,
			   5000, 1000));
	tu_wait(w, 5000);

	/* Never zbd's: not destroyed, not recorded, not adopted after a restart. */
	ck_assert_int_eq(tz_request(&t, "destroy %s force", name), -EPERM);
	ck_assert_int_eq(access(tu_shm_path(name), F_OK), 0);
	ck_assert(tu_lock_is_held(name)); /* still its owner's */
	snprintf(state, sizeof(state), "%s/zbd.state", t.dir);
	{
		char text[4096] = "";

		tu_read_file(state, text, sizeof(text));
		ck_assert_ptr_null(strstr(text, name));
	}
	tz_kill(&t, SIGTERM);
	ck_assert_int_eq(access(tu_shm_path(name), F_OK), 0);
	tz_start(&t);
	ck_assert(TU_UNTIL(listed_as(&t, name, "foreign"), 5000, 10000));
	ck_assert(!listed_as(&t, name, "zbd"));

	/* Its owner closes it: zbd lets go. */
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
	ck_assert(TU_UNTIL(tz_request(&t, "health %s", name) == -ENOENT, 5000, 10000));
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Its owner, or anyone who may write it, truncates a foreign buffer's segment
 * under zbd's mapping: zbd's next look would fault (SIGBUS). It stays up,
 * reports the buffer corrupt, and lets go once the name is gone. */
START_TEST(foreign_segment_truncated)
{
	struct zb_buffer_config cfg = { .payload_size = 65536 };
	const char *name = tu_unique_name("cut");
	struct zb_reader *r;
	char rec[300];

	ck_assert_int_eq(zb_sigbus_guard_install(), 0); /* our reader maps it too */
	tz_setup(&t, OBSERVING);
	tz_start(&t);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert(TU_UNTIL(listed_as(&t, name, "foreign"), 5000, 10000));
	ck_assert_int_eq(truncate(tu_shm_path(name), 0), 0);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_msg(TU_UNTIL(tz_request(&t, "health %s", name) == 0 &&
				       strcmp(tz_get(t.reply, rec, "state"), "corrupt") == 0,
			       5000, 10000),
		      "zbd did not report %s corrupt (zbd alive: %d)", name, kill(t.pid, 0) == 0);
	tz_serves_another(&t, tu_unique_name("after-cut"));
	/* Closing it removes the name (our reader's own buffer): zbd lets go. */
	zb_reader_close(r);
	ck_assert(TU_UNTIL(tz_request(&t, "health %s", name) == -ENOENT, 5000, 10000));
}
END_TEST

/* Upstream readers create their segment without reserving its memory. zbd
 * observing it must not allocate the ring (charged to zbd's cgroup) that its
 * peers may never fill: it maps, it does not reserve. */
START_TEST(foreign_segment_not_reserved)
{
	struct zb_buffer_config cfg = { .payload_size = 16 << 20 };
	const char *name = tu_unique_name("sparse");
	struct zb_reader *r;
	struct stat st;
	int fd;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	/* As upstream leaves it: all but the first page a hole. */
	fd = open(tu_shm_path(name), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(
		fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, st.st_size - 4096),
		0);
	tz_setup(&t, OBSERVING);
	tz_start(&t);
	ck_assert(TU_UNTIL(listed_as(&t, name, "foreign"), 5000, 10000));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_msg(st.st_blocks * 512 < (1 << 20), "zbd made the observed segment %lld bytes",
		      (long long)st.st_blocks * 512);
	close(fd);
	zb_reader_close(r);
}
END_TEST

/* A buffer another zbd owns is that zbd's to watch. */
START_TEST(another_zbds_buffer_is_not_observed)
{
	const char *mine = tu_unique_name("mine");
	const char *theirs = tu_unique_name("theirs");
	struct zb_buffer_config cfg = { .payload_size = 4096 };
	struct zb_reader *r;

	tz_setup(&t, OBSERVING);
	tz_start(&t);
	tz_setup(&t2, OBSERVING);
	tz_start(&t2);
	ck_assert_int_eq(tz_request(&t2, "create %s payload=4K", theirs), 0);
	/* A buffer both see, as a witness that the first zbd has looked. */
	ck_assert_int_eq(zb_reader_create(&r, mine, &cfg), 0);
	ck_assert(TU_UNTIL(listed_as(&t, mine, "foreign"), 5000, 10000));
	ck_assert(TU_UNTIL(listed_as(&t2, mine, "foreign"), 5000, 10000));
	ck_assert(!listed_as(&t, theirs, "foreign"));
	ck_assert_int_eq(tz_request(&t, "health %s", theirs), -ENOENT);
	ck_assert(listed_as(&t2, theirs, "zbd"));
	zb_reader_close(r);
}
END_TEST

/*
 * Upstream writers refuse a buffer whose reader_pid is 0 and leave one that
 * becomes 0: zbd records itself there while its buffer has no reader, marked
 * as a stand-in (reader_standin), which our reader takes over and gives back,
 * our writer does not count as a reader, and health does not report.
 */
START_TEST(zbd_stands_in_for_the_absent_reader)
{
	const char *name = tu_unique_name("standin");
	struct zb_segment seg;
	struct zb_writer *w;
	struct zb_reader *r;
	char rec[300];
	uint64_t zbd_pid;

	tz_setup(&t, NULL);
	tz_start(&t);
	zbd_pid = (uint64_t)t.pid;
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	ck_assert_int_eq(segment_attach(&seg, name), 0);
	ck_assert(TU_UNTIL(zb_load(&seg.oieb->reader_pid) == zbd_pid, 5000, 1000));
	ck_assert_uint_eq(zb_load(&seg.oieb->reader_standin), zbd_pid);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "reader_pid"), 0);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "reader_alive"), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(zb_writer_reader_connected(w), 0);
	/* Not a live peer: destroy needs no force (checked below, at the end). */

	/* A reader takes the slot, and gives it back to the stand-in. */
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_uint_eq(zb_load(&seg.oieb->reader_pid), (uint64_t)getpid());
	ck_assert_int_eq(zb_writer_reader_connected(w), 1);
	zb_reader_close(r);
	ck_assert_uint_eq(zb_load(&seg.oieb->reader_pid), zbd_pid);
	ck_assert_int_eq(zb_writer_reader_connected(w), 0);
	zb_writer_close(w);

	/* zbd stopping leaves no stand-in behind: upstream writers see no reader. */
	tz_kill(&t, SIGTERM);
	ck_assert_uint_eq(zb_load(&seg.oieb->reader_pid), 0);
	ck_assert_uint_eq(zb_load(&seg.oieb->reader_standin), 0);
	/* The next zbd stands in again; a reader can still take over. */
	tz_start(&t);
	zbd_pid = (uint64_t)t.pid;
	ck_assert(TU_UNTIL(zb_load(&seg.oieb->reader_pid) == zbd_pid, 5000, 1000));
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	zb_reader_close(r);
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
	segment_detach(&seg);
}
END_TEST

TU_SUITE(zbd_foreign_suite, "zbd-foreign")
{
	TCase *tc = tu_tcase(s, "foreign", NULL, teardown);

	tcase_add_test(tc, standalone_buffer_is_observed);
	tcase_add_test(tc, foreign_segment_truncated);
	tcase_add_test(tc, foreign_segment_not_reserved);
	tcase_add_test(tc, another_zbds_buffer_is_not_observed);
	tcase_add_test(tc, zbd_stands_in_for_the_absent_reader);
}
