/* SPDX-License-Identifier: MIT */
/*
 * Other programs' files where buffers go. /dev/shm and /tmp/zerobuffer hold
 * whatever anyone put there: a database's segment, a lock file another user
 * planted, a buffer whose name is another buffer's semaphore file. Nothing
 * that is not provably a ZeroBuffer buffer's and its owner's is unlinked or
 * taken over; names that would collide with semaphore files are refused.
 *
 * Each test runs in a mount namespace of its own with fresh tmpfs mounts on
 * /dev/shm and /tmp (zbd and zbctl, started from the test, share them), so
 * nothing real is planted or swept. Needs root: skipped (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile.h"
#include "segment.h"
#include "testutil.h"
#include "zbdtest.h"

#define FOREIGN "PostgreSQL.4242"
#define FOREIGN_TEXT "PostgreSQL dynamic shared memory: not yours"

static struct tz t;
static struct tz_stream during; /* through another buffer, around each test */

static void teardown(void)
{
	tz_teardown(&t);
}

static void start(void)
{
	ck_assert_msg(tu_private_mounts("size=16m"), "private mounts: %s", strerror(errno));
	tz_setup(&t, NULL);
	tz_start_logged(&t);
	tz_stream_start(&t, &during, tu_unique_name("during"), 10000);
}

/* A file with `text` in it, 64 KiB long, made by whoever runs this. */
static int plant(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return 1;
	if (write(fd, FOREIGN_TEXT, strlen(FOREIGN_TEXT)) != (ssize_t)strlen(FOREIGN_TEXT) ||
	    ftruncate(fd, 64 * 1024) < 0)
		return 2;
	close(fd);
	return 0;
}

static void plant_as(uid_t uid, const char *path)
{
	ck_assert_int_eq(uid ? tu_as_user(uid, uid, NULL, 0, plant, (void *)path, NULL)
			     : plant((void *)path),
			 0);
}

/* The file is exactly as planted: same file, owner, size and content. */
static void assert_intact(const char *path, const struct stat *was)
{
	struct stat st = tu_lstat(path);
	char buf[128];

	ck_assert_uint_eq(st.st_ino, was->st_ino);
	ck_assert_uint_eq(st.st_uid, was->st_uid);
	ck_assert_int_eq(st.st_size, was->st_size);
	ck_assert_int_ge(tu_read_file(path, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, FOREIGN_TEXT);
}

/* ----------------------------------------------------- other programs' files */

/* A standalone reader (zbctl read --create) meets a file of that name in
 * /dev/shm: _i 0 another user's (a database's segment), 1 root's own but not
 * a ZeroBuffer segment, 2 another user's file in place of a semaphore. It
 * used to unlink it, holding the lock, and create its buffer; it must refuse
 * (-EEXIST, zbctl words it), leave the file as it was, and leave no object
 * or lock of its own behind. */
START_TEST(foreign_file_not_replaced)
{
	const uid_t owner = _i == 1 ? 0 : TU_NOBODY;
	const char *path = _i == 2 ? tu_sem_path(FOREIGN, 'w') : tu_shm_path(FOREIGN);
	struct zb_reader *r = NULL;
	char err[1024];
	struct stat was;

	start();
	plant_as(owner, path);
	was = tu_lstat(path);
	ck_assert_int_eq(zb_reader_create(&r, FOREIGN, NULL), -EEXIST);
	ck_assert_ptr_null(r);
	assert_intact(path, &was);
	ck_assert_int_ne(access(tu_lock_path(FOREIGN), F_OK), 0);

	ck_assert_int_eq(
		tz_zbctl(&t, NULL, err, sizeof(err),
			 (char *const[]){ "read", FOREIGN, "--create", "--timeout", "100", NULL }),
		1);
	ck_assert_msg(strstr(err, "not a ZeroBuffer buffer of yours; left untouched"), "%s", err);
	assert_intact(path, &was);
	ck_assert_int_ne(access(tu_lock_path(FOREIGN), F_OK), 0);
	ck_assert_int_eq(access(_i == 2 ? tu_shm_path(FOREIGN) : tu_sem_path(FOREIGN, 'w'), F_OK),
			 -1);
	ck_assert_int_eq(unlink(path), 0);
	tz_still_serving(&t, &during);
}
END_TEST

/* What is ours and abandoned still goes: semaphores an upstream Python reader
 * left behind (it never unlinks them), and a segment of ours nobody uses. */
START_TEST(own_leftovers_replaced)
{
	const char *name = tu_unique_name("left");
	struct zb_segment seg;
	struct zb_reader *r;
	struct stat was;

	start();
	ck_assert_int_eq(segment_create(&seg, name, 0, 4096, 0600, (gid_t)-1, 0), 0);
	segment_detach(&seg);
	was = tu_lstat(tu_shm_path(name));
	ck_assert_int_eq(zb_reader_create(&r, name, NULL), 0);
	ck_assert_uint_ne(tu_lstat(tu_shm_path(name)).st_ino, was.st_ino);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
	tz_still_serving(&t, &during);
}
END_TEST

/* ------------------------------------------------------ a planted lock file */

static int plant_lock(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

/* While no zbd runs, root's buffers have no lock held. nobody plants X.lock:
 * the next standalone reader root starts sweeps stale buffers, and used to
 * take nobody's unheld lock for an abandoned buffer and unlink root's X. It
 * must look only at its own user's locks. Root's own stale buffer is still
 * swept, and root's own lock naming a file that is not a buffer removes the
 * lock alone. */
START_TEST(planted_lock_sweeps_nothing)
{
	const char *victim = tu_unique_name("victim"), *stale = tu_unique_name("stale");
	const char *mine = tu_unique_name("mine"), *fake = tu_unique_name("fake");
	char lock[PATH_MAX];
	struct zb_segment seg;
	struct zb_reader *r;
	struct stat fake_was;
	int fd;

	start();
	ck_assert_int_eq(segment_create(&seg, victim, 0, 4096, 0600, (gid_t)-1, 0), 0);
	segment_detach(&seg);
	ck_assert_int_eq(segment_create(&seg, stale, 0, 4096, 0600, (gid_t)-1, 0), 0);
	segment_detach(&seg);
	ck_assert_int_eq(lockdir_ensure(), 0);
	snprintf(lock, sizeof(lock), "%s", tu_lock_path(victim));
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, plant_lock, lock, NULL), 0);
	ck_assert_int_ge(fd = open(tu_lock_path(stale), O_RDWR | O_CREAT | O_EXCL, 0600), 0);
	close(fd);
	plant_as(0, tu_shm_path(fake));
	fake_was = tu_lstat(tu_shm_path(fake));
	ck_assert_int_ge(fd = open(tu_lock_path(fake), O_RDWR | O_CREAT | O_EXCL, 0600), 0);
	close(fd);

	ck_assert_int_eq(zb_reader_create(&r, mine, NULL), 0);
	zb_reader_close(r);

	ck_assert_int_eq(access(tu_shm_path(victim), F_OK), 0);
	ck_assert_int_eq(access(tu_sem_path(victim, 'w'), F_OK), 0);
	ck_assert_int_eq(access(tu_sem_path(victim, 'r'), F_OK), 0);
	ck_assert_uint_eq(tu_lstat(lock).st_uid, TU_NOBODY);
	ck_assert(!tu_any_object_exists(stale));
	assert_intact(tu_shm_path(fake), &fake_was);
	ck_assert_int_ne(access(tu_lock_path(fake), F_OK), 0);
	tu_cleanup_name(victim);
	ck_assert_int_eq(unlink(tu_shm_path(fake)), 0);
	tz_still_serving(&t, &during);
}
END_TEST

/* -------------------------------------------------------------- names */

/* A buffer named after another's semaphore file (sem.sem-w-foo) had that file
 * for its segment: the library unlinked foo's semaphore and made its own
 * there. One name rule for library, zbd and zbctl refuses such names, and
 * what zbd refuses (newlines, control characters, a leading '-') the library
 * refuses too. */
START_TEST(semaphore_names_refused)
{
	const char *foo = tu_unique_name("foo");
	const char *odd[] = { "line\nbreak", "bell\a", "-dash", "sem.x" };
	char taker[ZB_NAME_MAX + 1], err[1024];
	struct zb_reader *r = NULL;
	struct zb_writer *w = NULL;
	struct stat sem_w, sem_r;

	start();
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", foo), 0);
	sem_w = tu_lstat(tu_sem_path(foo, 'w'));
	sem_r = tu_lstat(tu_sem_path(foo, 'r'));
	snprintf(taker, sizeof(taker), "sem.sem-w-%s", foo);

	ck_assert_int_eq(zb_reader_create(&r, taker, NULL), -EINVAL);
	ck_assert_int_eq(zb_reader_open(&r, taker), -EINVAL);
	ck_assert_int_eq(zb_writer_open(&w, taker), -EINVAL);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", taker), -EINVAL);
	ck_assert_msg(strstr(t.reply, "invalid buffer name"), "%s", t.reply);
	ck_assert_int_eq(tz_zbctl(&t, NULL, err, sizeof(err),
				  (char *const[]){ "read", taker, "--create", NULL }),
			 2);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		ck_assert_int_eq(zb_reader_create(&r, odd[i], NULL), -EINVAL);
		ck_assert_int_eq(zb_writer_open(&w, odd[i]), -EINVAL);
	}
	ck_assert_ptr_null(r);
	ck_assert_ptr_null(w);

	ck_assert_uint_eq(tu_lstat(tu_sem_path(foo, 'w')).st_ino, sem_w.st_ino);
	ck_assert_uint_eq(tu_lstat(tu_sem_path(foo, 'r')).st_ino, sem_r.st_ino);
	ck_assert_int_eq(tz_request(&t, "health %s", foo), 0);
	ck_assert_int_eq(tz_request(&t, "destroy %s", foo), 0);
	tz_still_serving(&t, &during);
}
END_TEST

/* Every test in a child: each takes a mount namespace of its own. */
TU_SUITE(security_foreign_suite, "security-foreign", .root = true, .skip = tu_no_private_mounts,
	 .fork = true)
{
	TCase *tc = tu_tcase(s, "foreign", NULL, teardown);

	tcase_add_loop_test(tc, foreign_file_not_replaced, 0, 3);
	tcase_add_test(tc, own_leftovers_replaced);
	tcase_add_test(tc, planted_lock_sweeps_nothing);
	tcase_add_test(tc, semaphore_names_refused);
}
