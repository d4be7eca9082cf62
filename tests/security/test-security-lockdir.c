/* SPDX-License-Identifier: MIT */
/*
 * The lock directory lives in world-writable /tmp. Another local user who
 * made /tmp/zerobuffer first (as a link, as their own directory, as one anyone
 * may write) or planted NAME.lock (as a link, as their own file) must not make
 * zbd follow the link, chmod, chown or truncate a file that is not zbd's, or
 * use the lock: zbd refuses the buffer with a clear error and touches nothing.
 *
 * Each test runs in a mount namespace of its own with a fresh tmpfs on /tmp
 * (zbd, started from the test, shares it), so the real /tmp/zerobuffer that
 * other tests use is never attacked. Needs root: skipped (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockfile.h"
#include "segment.h"
#include "testutil.h"
#include "zbdtest.h"

#define VICTIM "/tmp/victim"
#define VICTIM_TEXT "root's precious content\n"

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

/* A private /tmp, then zbd on it, logging. */
static void start(void)
{
	ck_assert_msg(tu_private_mounts(NULL), "private /tmp: %s", strerror(errno));
	tz_setup(&t, NULL);
	tz_start_logged(&t);
}

/* A root-owned file another user would like to see truncated or chmodded. */
static void make_victim(void)
{
	int fd = open(VICTIM, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, VICTIM_TEXT, strlen(VICTIM_TEXT)), (ssize_t)strlen(VICTIM_TEXT));
	close(fd);
}

static void assert_victim_intact(void)
{
	struct stat st = tu_lstat(VICTIM);
	char buf[128];

	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_ge(tu_read_file(VICTIM, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, VICTIM_TEXT);
}

/* A create that must be refused with `err`, the reply saying `why`, leaving no
 * object of the buffer in /dev/shm, and logged. */
static void assert_refused(const char *name, int err, const char *why)
{
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0666 group=%d", name, TU_NOGROUP), err);
	ck_assert_msg(strstr(t.reply, why), "reply lacks '%s': %s", why, t.reply);
	ck_assert_int_ne(access(tu_shm_path(name), F_OK), 0);
	ck_assert_int_ne(access(tu_sem_path(name, 'w'), F_OK), 0);
	ck_assert_int_ne(access(tu_sem_path(name, 'r'), F_OK), 0);
	ck_assert_int_eq(tz_request(&t, "health %s", name), -ENOENT);
	tz_log_has(&t, true, name, "not created", why, NULL);
}

static bool dir_empty(const char *path)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", path);
	return system(cmd) == 0;
}

/* ------------------------------------------------------- the directory */

static int symlink_dir_to(void *arg)
{
	const char *target = arg;

	if (strcmp(target, "/tmp/mine") == 0 && mkdir(target, 0777) < 0)
		return 1;
	return symlink(target, ZB_LOCK_DIR) < 0 ? 2 : 0;
}

/* _i 0: a directory of the attacker's; 1: a root-owned one (as /etc would be). */
START_TEST(lockdir_symlink_refused)
{
	const char *name = tu_unique_name("dirlink");
	const char *target = _i ? "/tmp/rootdir" : "/tmp/mine";

	start();
	if (_i)
		ck_assert_int_eq(mkdir(target, 0755), 0);
	ck_assert_int_eq(
		tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, symlink_dir_to, (void *)target, NULL),
		0);
	assert_refused(name, -ENOTDIR, "symbolic link or not a directory");
	ck_assert(dir_empty(target));
	ck_assert(S_ISLNK(tu_lstat(ZB_LOCK_DIR).st_mode));
	ck_assert_uint_eq(tu_lstat(target).st_mode & 07777, _i ? 0755 : 0777);
}
END_TEST

static int make_own_dir(void *arg)
{
	mode_t mode = (mode_t)(uintptr_t)arg;

	/* chmod too: mkdir leaves out the sticky bit on some filesystems. */
	return mkdir(ZB_LOCK_DIR, mode) < 0 || chmod(ZB_LOCK_DIR, mode) < 0;
}

/* Another user's directory, even sticky, lets its owner remove or swap our locks. */
START_TEST(lockdir_of_another_user_refused)
{
	const char *name = tu_unique_name("dirowner");

	start();
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, make_own_dir,
				    (void *)(uintptr_t)01777, NULL),
			 0);
	assert_refused(name, -EPERM, "not safe");
	ck_assert(dir_empty(ZB_LOCK_DIR));
	ck_assert_uint_eq(tu_lstat(ZB_LOCK_DIR).st_mode & 07777, 01777);
	ck_assert_uint_eq(tu_lstat(ZB_LOCK_DIR).st_uid, TU_NOBODY);
}
END_TEST

/* Writable by others without the sticky bit: anyone may replace our locks.
 * _i 0: world-writable root directory; 1: group-writable; 2 and 3: the safe
 * shapes (sticky, or writable by its owner only), which are accepted. */
START_TEST(lockdir_mode)
{
	static const mode_t modes[] = { 0777, 0775, 01777, 0755 };
	const char *name = tu_unique_name("dirmode");

	start();
	ck_assert_int_eq(mkdir(ZB_LOCK_DIR, 0700), 0);
	ck_assert_int_eq(chmod(ZB_LOCK_DIR, modes[_i]), 0);
	if (_i < 2) {
		assert_refused(name, -EPERM, "not safe");
		ck_assert(dir_empty(ZB_LOCK_DIR));
		ck_assert_uint_eq(tu_lstat(ZB_LOCK_DIR).st_mode & 07777, modes[_i]);
		return;
	}
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0640 group=%d", name, TU_NOGROUP), 0);
	tu_assert_objects(name, 0, TU_NOGROUP, 0640);
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

/* Missing: zbd makes it, root's, sticky and world-writable like /tmp. */
START_TEST(lockdir_created_sticky)
{
	const char *name = tu_unique_name("dirnew");
	struct stat st;

	start();
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	st = tu_lstat(ZB_LOCK_DIR);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 01777);
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
}
END_TEST

/* ------------------------------------------------------- the lock file */

struct plant {
	const char *lock;   /* the lock file path */
	const char *target; /* for a link */
};

static int plant_symlink(void *arg)
{
	struct plant *p = arg;

	return symlink(p->target, p->lock) < 0;
}

static int plant_file(void *arg)
{
	struct plant *p = arg;
	int fd = open(p->lock, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || write(fd, "mine\n", 5) != 5)
		return 1;
	close(fd);
	return 0;
}

/* NAME.lock is a link: to a file of root's (_i 0), or to a name that does not
 * exist yet (_i 1), which following it would create. */
START_TEST(lockfile_symlink_refused)
{
	const char *name = tu_unique_name("locklink");
	struct plant p = { .target = _i ? "/tmp/created-by-zbd" : VICTIM };
	char lock[300];

	start();
	make_victim();
	ck_assert_int_eq(mkdir(ZB_LOCK_DIR, 0700), 0);
	ck_assert_int_eq(chmod(ZB_LOCK_DIR, 01777), 0);
	snprintf(lock, sizeof(lock), "%s", tu_lock_path(name));
	p.lock = lock;
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, plant_symlink, &p, NULL), 0);
	assert_refused(name, -ELOOP, "is a symbolic link");
	assert_victim_intact();
	ck_assert_int_ne(access("/tmp/created-by-zbd", F_OK), 0);
	ck_assert(S_ISLNK(tu_lstat(lock).st_mode));
}
END_TEST

/* NAME.lock is another user's file: not locked, not chmodded, not chowned. */
START_TEST(lockfile_of_another_user_refused)
{
	const char *name = tu_unique_name("lockowner");
	struct plant p = { 0 };
	char lock[300], buf[16];
	struct stat st;

	start();
	ck_assert_int_eq(mkdir(ZB_LOCK_DIR, 0700), 0);
	ck_assert_int_eq(chmod(ZB_LOCK_DIR, 01777), 0);
	snprintf(lock, sizeof(lock), "%s", tu_lock_path(name));
	p.lock = lock;
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, plant_file, &p, NULL), 0);
	assert_refused(name, -EPERM, "not zbd's");
	st = tu_lstat(lock);
	ck_assert_uint_eq(st.st_uid, TU_NOBODY);
	ck_assert_uint_eq(st.st_gid, TU_NOGROUP);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(tu_read_file(lock, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "mine\n");
}
END_TEST

/* NAME.lock is a second name of root's file (where fs.protected_hardlinks is
 * off, a user can make one): owner and group match, the extra link does not. */
START_TEST(lockfile_hard_link_refused)
{
	const char *name = tu_unique_name("lockhard");
	char lock[300];

	start();
	make_victim();
	ck_assert_int_eq(mkdir(ZB_LOCK_DIR, 0700), 0);
	ck_assert_int_eq(chmod(ZB_LOCK_DIR, 01777), 0);
	snprintf(lock, sizeof(lock), "%s", tu_lock_path(name));
	ck_assert_int_eq(link(VICTIM, lock), 0);
	assert_refused(name, -EPERM, "not zbd's");
	assert_victim_intact();
}
END_TEST

/* While zbd is down nobody holds the lock, so a foreign reader's stale cleanup
 * may remove it, and another user may plant their own: the restarted zbd does
 * not take that file for its lock and drops the buffer instead. */
START_TEST(replaced_lock_not_adopted)
{
	const char *name = tu_unique_name("lockswap");
	struct plant p = { 0 };
	char lock[300];

	start();
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	tz_kill(&t, SIGTERM);
	snprintf(lock, sizeof(lock), "%s", tu_lock_path(name));
	ck_assert_int_eq(unlink(lock), 0);
	p.lock = lock;
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, plant_file, &p, NULL), 0);
	tz_start_logged(&t);
	ck_assert(!tz_in_list(&t, name));
	tz_log_has(&t, true, name, "cannot retake its lock", NULL);
	ck_assert_uint_eq(tu_lstat(lock).st_uid, TU_NOBODY);
	ck_assert_uint_eq(tu_lstat(lock).st_mode & 07777, 0600);
}
END_TEST

/* The stale-buffer cleanup a standalone reader runs first: through a link to
 * the attacker's directory, a "stale" lock there would name a buffer of ours
 * (abandoned: no reader, no writer) for it to unlink. It must look nowhere. */
START_TEST(stale_cleanup_through_link_refused)
{
	const char *name = tu_unique_name("stale");
	char lock[300];
	struct zb_segment seg;

	ck_assert_msg(tu_private_mounts(NULL), "private /tmp: %s", strerror(errno));
	ck_assert_int_eq(segment_create(&seg, name, 0, 4096, 0600, (gid_t)-1, 0), 0);
	segment_detach(&seg);
	ck_assert_int_eq(
		tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, symlink_dir_to, "/tmp/mine", NULL), 0);
	snprintf(lock, sizeof(lock), "/tmp/mine/%s.lock", name);
	ck_assert_int_eq(close(open(lock, O_WRONLY | O_CREAT | O_EXCL, 0666)), 0);
	lockfile_cleanup_stale();
	ck_assert_int_eq(access(tu_shm_path(name), F_OK), 0);
	ck_assert_int_eq(access(tu_sem_path(name, 'w'), F_OK), 0);
	ck_assert_int_eq(access(lock, F_OK), 0);
	tu_cleanup_name(name);
}
END_TEST

/* Every test must run in a child: each takes a mount namespace of its own. */
TU_SUITE(security_lockdir_suite, "security-lockdir", .root = true, .skip = tu_no_private_mounts,
	 .fork = true)
{
	TCase *tc = tu_tcase(s, "lockdir", NULL, teardown);

	tcase_add_loop_test(tc, lockdir_symlink_refused, 0, 2);
	tcase_add_test(tc, lockdir_of_another_user_refused);
	tcase_add_loop_test(tc, lockdir_mode, 0, 4);
	tcase_add_test(tc, lockdir_created_sticky);
	tcase_add_loop_test(tc, lockfile_symlink_refused, 0, 2);
	tcase_add_test(tc, lockfile_of_another_user_refused);
	tcase_add_test(tc, lockfile_hard_link_refused);
	tcase_add_test(tc, replaced_lock_not_adopted);
	tcase_add_test(tc, stale_cleanup_through_link_refused);
}
