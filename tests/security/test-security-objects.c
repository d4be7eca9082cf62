/* SPDX-License-Identifier: MIT */
/*
 * A buffer's objects against other local users: they are created with the
 * configured owner, group and mode and never shown wider meanwhile; a name
 * squatted in /dev/shm by another user is refused and left as it is; and after
 * a restart, objects that another user put in place of ours are not adopted.
 * Needs root to play the other user: skipped (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbdtest.h"

#define SQUAT_SIZE (ZB_OIEB_SIZE + 64 + 256)
#define SQUAT_MARK "squatter's own bytes"
#define TEST_GID 4250 /* a group nobody is in: the objects' group must be set, not inherited */

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

/* ----------------------------------------------------------- modes and groups */

START_TEST(objects_get_configured_mode_and_group)
{
	const char *conf_name = tu_unique_name("conf"), *req_name = tu_unique_name("req");
	char conf[256];

	/* One buffer from the configuration, one by request with other values. */
	snprintf(conf, sizeof(conf), "[buffer %s]\npayload = 4K\nmode = 0640\ngroup = nogroup\n",
		 conf_name);
	tz_setup(&t, conf);
	tz_start(&t);
	tu_assert_objects(conf_name, 0, TU_NOGROUP, 0640);
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0604 group=%d", req_name, TEST_GID), 0);
	tu_assert_objects(req_name, 0, TEST_GID, 0604);
	ck_assert_int_eq(tz_request(&t, "health %s", req_name), 0);
	ck_assert_str_eq(tz_get(t.reply, NULL, "mode"), "0604");
}
END_TEST

struct watch {
	const char *tag; /* part of every name the test creates */
	mode_t mode;	 /* the mode asked for */
	gid_t gid;	 /* the group asked for */
	int ready_fd;	 /* written once the watches are in place */
	int stop_fd;	 /* readable when the test is done */
	int stop_wr;	 /* its other end, the test's: closed here */
};

/* Record every mode and group seen on our objects as they appear and change:
 * exit 1 if one was ever wider than asked, or had group bits for another group. */
static int watch_objects(void *arg)
{
	struct watch *w = arg;
	const char *dirs[] = { "/dev/shm", ZB_LOCK_DIR };
	char buf[64 * 1024] __attribute__((aligned(8)));
	int ifd = inotify_init1(IN_CLOEXEC), wd[2];
	unsigned seen = 0, drained = 0;

	close(w->stop_wr);
	if (ifd < 0)
		return 2;
	for (int i = 0; i < 2; i++) {
		wd[i] = inotify_add_watch(ifd, dirs[i], IN_CREATE | IN_ATTRIB | IN_MOVED_TO);
		if (wd[i] < 0)
			return 3;
	}
	if (write(w->ready_fd, "r", 1) != 1)
		return 4;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = ifd, .events = POLLIN },
					 { .fd = w->stop_fd, .events = POLLIN } };
		ssize_t n;

		bool last;

		if (poll(pfd, 2, -1) < 0)
			return 5;
		/* Other tests keep /dev/shm busy: on the stop, take what is
		 * queued (the last buffer's events) and end. */
		last = pfd[1].revents != 0;
		if (last && fcntl(ifd, F_SETFL, O_NONBLOCK) < 0)
			return 7;
		if (!(pfd[0].revents & POLLIN) && !last)
			continue;
		n = read(ifd, buf, sizeof(buf));
		if (last && (n <= 0 || ++drained > 64))
			break;
		for (char *p = buf; n > 0 && p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			char path[PATH_MAX];
			struct stat st;

			p += sizeof(*ev) + ev->len;
			if (!ev->len || !strstr(ev->name, w->tag))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[ev->wd == wd[1]], ev->name);
			if (lstat(path, &st) < 0)
				continue; /* destroyed meanwhile */
			seen++;
			if ((st.st_mode & 07777 & ~w->mode) ||
			    ((st.st_mode & 070) && st.st_gid != w->gid)) {
				fprintf(stderr, "%s seen with mode %04o group %u\n", path,
					(unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
				return 1;
			}
		}
	}
	return seen ? 0 : 6;
}

/* Whatever moment another user looks, the objects are never wider than asked. */
START_TEST(objects_never_wider_while_created)
{
	struct watch w = { .tag = tu_unique_name("atomic"), .mode = 0640, .gid = TEST_GID };
	int ready[2], stop[2], status;
	char c;
	pid_t pid;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(stop), 0);
	w.ready_fd = ready[1];
	w.stop_fd = stop[0];
	w.stop_wr = stop[1];
	pid = tu_fork(watch_objects, &w);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	for (int i = 0; i < 40; i++) {
		char name[128];

		snprintf(name, sizeof(name), "%s-%d", w.tag, i);
		ck_assert_int_eq(
			tz_request(&t, "create %s payload=4K mode=0640 group=%d", name, TEST_GID),
			0);
		ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
	}
	close(stop[1]);
	status = tu_wait(pid, 10000);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0, "watcher: %d (1: an object was wider than asked)",
		      WEXITSTATUS(status));
}
END_TEST

/* ------------------------------------------------------------- squatting */

/* As another user: a segment of our own under the buffer's name, complete
 * enough that anything mapping it would take it for a buffer. */
static int squat_segment(void *arg)
{
	const char *name = arg;
	char obj[ZB_OBJ_NAME_MAX];
	struct zb_oieb *o;
	int fd;

	names_shm(obj, name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (fd < 0 || ftruncate(fd, SQUAT_SIZE) < 0)
		return 1;
	o = mmap(NULL, SQUAT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (o == MAP_FAILED)
		return 2;
	o->version[0] = ZB_VERSION_MAJOR_WIRE;
	o->metadata_size = o->metadata_free_bytes = 64;
	o->payload_size = o->payload_free_bytes = 256;
	memcpy((char *)o + ZB_OIEB_SIZE, SQUAT_MARK, sizeof(SQUAT_MARK));
	o->oieb_size = ZB_OIEB_SIZE;
	munmap(o, SQUAT_SIZE);
	close(fd);
	return 0;
}

static int squat_sem(void *arg)
{
	const char *path = arg; /* /dev/shm/sem.NAME */
	sem_t *s = sem_open(strrchr(path, '.') + 1, O_CREAT | O_EXCL, 0666, 7);

	return s == SEM_FAILED ? 1 : (sem_close(s), 0);
}

/* The squatted segment is exactly as its owner left it. */
static void assert_squat_intact(const char *name)
{
	struct stat st = tu_lstat(tu_shm_path(name));
	char buf[sizeof(SQUAT_MARK)];
	int fd;

	ck_assert_uint_eq(st.st_uid, TU_NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	ck_assert_int_eq(st.st_size, SQUAT_SIZE);
	fd = open(tu_shm_path(name), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), ZB_OIEB_SIZE), (ssize_t)sizeof(buf));
	close(fd);
	ck_assert_str_eq(buf, SQUAT_MARK);
}

START_TEST(squatted_segment_refused)
{
	const char *name = tu_unique_name("squat");

	tz_setup(&t, NULL);
	tz_start_logged(&t);
	ck_assert_int_eq(
		tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, squat_segment, (void *)name, NULL), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K mode=0600", name), -EEXIST);
	ck_assert_ptr_nonnull(strstr(t.reply, "not zbd's to adopt"));
	assert_squat_intact(name);
	/* Nothing of ours left behind under the name either. */
	ck_assert_int_ne(access(tu_sem_path(name, 'w'), F_OK), 0);
	ck_assert_int_ne(access(tu_sem_path(name, 'r'), F_OK), 0);
	ck_assert_int_ne(access(tu_lock_path(name), F_OK), 0);
	ck_assert_int_eq(tz_request(&t, "health %s", name), -ENOENT);
	tz_log_has(&t, true, name, "not created", NULL);
}
END_TEST

START_TEST(squatted_semaphore_refused)
{
	const char *name = tu_unique_name("squatsem");
	char which = _i ? 'r' : 'w', other = _i ? 'w' : 'r';
	sem_t *s;
	struct stat st;
	int v = -1;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, squat_sem,
				    (void *)tu_sem_path(name, which), NULL),
			 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K mode=0600", name), -EEXIST);
	st = tu_lstat(tu_sem_path(name, which));
	ck_assert_uint_eq(st.st_uid, TU_NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	s = sem_open(strrchr(tu_sem_path(name, which), '.') + 1, 0);
	ck_assert_ptr_ne(s, SEM_FAILED);
	ck_assert_int_eq(sem_getvalue(s, &v), 0);
	ck_assert_int_eq(v, 7);
	sem_close(s);
	ck_assert_int_ne(access(tu_shm_path(name), F_OK), 0);
	ck_assert_int_ne(access(tu_sem_path(name, other), F_OK), 0);
	ck_assert_int_ne(access(tu_lock_path(name), F_OK), 0);
}
END_TEST

/* ------------------------------------------------------------- adoption */

static bool state_lists(struct tz *tz, const char *name)
{
	char path[160], buf[8192], needle[256];

	snprintf(path, sizeof(path), "%s/zbd.state", tz->dir);
	ck_assert_int_ge(tu_read_file(path, buf, sizeof(buf)), 0);
	snprintf(needle, sizeof(needle), "\n%s ", name);
	return strstr(buf, needle) != NULL;
}

/* The buffer's lock file, to flock once zbd has let go of it. */
static int open_lock(const char *name)
{
	int fd = open(tu_lock_path(name), O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* While zbd is down, another user puts an object of their own in place of one
 * of ours (the name was free: a foreign stale-buffer cleanup removed ours).
 * The restarted zbd adopts the untouched buffer and refuses the other. */
START_TEST(replaced_objects_not_adopted)
{
	const char *keep = tu_unique_name("keep"), *taken = tu_unique_name("taken");
	/* s, w, r: that object replaced; W: the segment gone too (zbd finishes
	 * what looks like an interrupted destroy, but only with its own objects) */
	char which = "swrW"[_i];
	bool seg_gone = which == 'W';
	char sem = seg_gone ? 'w' : which;
	const char *path = which == 's' ? tu_shm_path(taken) : tu_sem_path(taken, sem);
	int lock_keep, lock_taken;
	struct stat st;

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", keep), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", taken), 0);
	/* The lock for zbd while it is down: other tests' standalone readers on
	 * this host would otherwise clean the buffers away as abandoned. */
	lock_keep = open_lock(keep);
	lock_taken = open_lock(taken);
	tz_kill(&t, SIGTERM);
	ck_assert_int_eq(flock(lock_keep, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(flock(lock_taken, LOCK_EX | LOCK_NB), 0);
	ck_assert(state_lists(&t, taken));

	ck_assert_int_eq(unlink(path), 0);
	if (seg_gone)
		ck_assert_int_eq(unlink(tu_shm_path(taken)), 0);
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0,
				    which == 's' ? squat_segment : squat_sem,
				    which == 's' ? (void *)taken : (void *)path, NULL),
			 0);
	close(lock_keep);
	close(lock_taken);
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "health %s", keep), 0);
	ck_assert_str_eq(tz_get(t.reply, NULL, "adopted"), "1");
	/* Not adopted: at most observed as another's (owner=foreign). */
	ck_assert(!tz_in_list(&t, taken));
	tz_log_has(&t, true, taken, seg_gone ? "left untouched" : "not adopted", path, "uid 65534",
		   NULL);
	ck_assert(!state_lists(&t, taken));
	ck_assert(state_lists(&t, keep));
	st = tu_lstat(path);
	ck_assert_uint_eq(st.st_uid, TU_NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	if (which == 's')
		assert_squat_intact(taken);
}
END_TEST

/* The state file says what zbd adopts: one another user could have written is ignored. */
START_TEST(foreign_state_file_ignored)
{
	const char *name = tu_unique_name("stfile");
	char path[160];

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	tz_kill(&t, SIGTERM);
	snprintf(path, sizeof(path), "%s/zbd.state", t.dir);
	ck_assert_int_eq(chown(path, TU_NOBODY, TU_NOGROUP), 0);
	tz_start_logged(&t);
	ck_assert(!tz_in_list(&t, name));
	tz_log_has(&t, true, "zbd.state", "ignored", NULL);
}
END_TEST

TU_SUITE(security_objects_suite, "security-objects", .root = true)
{
	TCase *tc = tu_tcase(s, "objects", NULL, teardown);

	tcase_add_test(tc, objects_get_configured_mode_and_group);
	tcase_add_test(tc, objects_never_wider_while_created);
	tcase_add_test(tc, squatted_segment_refused);
	tcase_add_loop_test(tc, squatted_semaphore_refused, 0, 2);
	tcase_add_loop_test(tc, replaced_objects_not_adopted, 0, 4);
	tcase_add_test(tc, foreign_state_file_ignored);
}
