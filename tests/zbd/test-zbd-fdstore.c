/* SPDX-License-Identifier: MIT */
/*
 * Buffers' locks in systemd's file-descriptor store (zbd/fdstore.c), with the
 * test playing systemd (zbdtest.h: t.fdstore): zbd hands each buffer's locked
 * lock-file descriptor over as "buf-NAME", so the lock stays held while zbd is
 * down and a ZeroBuffer reader's stale-buffer sweep leaves the buffer alone;
 * the next zbd gets the descriptors back (LISTEN_FDS, LISTEN_FDNAMES) and
 * adopts with them; destroy takes a buffer's descriptor out of the store.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbdtest.h"

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

static const char *fdname(const char *name)
{
	static char out[256]; /* as struct tz's stored names */
	size_t n = (size_t)snprintf(out, sizeof(out), "buf-");

	/* ':' and '%' escaped, as zbd does: systemd refuses ':' in a name. */
	for (const char *p = name; *p && n + 4 < sizeof(out); p++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s",
				      *p == ':'	  ? "%3A"
				      : *p == '%' ? "%25"
						  : (char[]){ *p, '\0' });
	return out;
}

/* What an upstream reader does at start to every lock in /tmp/zerobuffer
 * (libzbclient's lockfile_cleanup_stale), for this test's names only so that
 * other suites' buffers are left alone: a lock nobody holds is an abandoned
 * buffer, and its lock file and objects are removed. */
static int sweep_child(void *arg)
{
	const char *name = arg;
	int fd = open(tu_lock_path(name), O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		unlink(tu_lock_path(name));
		segment_unlink(name);
	}
	return 0;
}

static void sweep(const char *name)
{
	ck_assert_int_eq(tu_exit_status(tu_wait(tu_fork(sweep_child, (void *)name), 5000)), 0);
}

static bool objects_there(const char *name)
{
	return access(tu_shm_path(name), F_OK) == 0 && access(tu_lock_path(name), F_OK) == 0;
}

START_TEST(locks_held_across_a_crash_and_adopted)
{
	char conf[512], odd[256];
	const char *a = tu_unique_name("store-a"), *b = tu_unique_name("store-b");

	/* A name with the two characters the descriptor name escapes. */
	snprintf(odd, sizeof(odd), "%s:x%%y", tu_unique_name("store-odd"));
	snprintf(conf, sizeof(conf), "[buffer %s]\npayload = 64K\n", a);
	tz_setup(&t, conf);
	t.fdstore = true;
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", b), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", odd), 0);
	tz_notify_drain(&t);
	ck_assert_msg(tz_stored_fd(&t, fdname(a)) >= 0, "no %s in the store", fdname(a));
	ck_assert_msg(tz_stored_fd(&t, fdname(b)) >= 0, "no %s in the store", fdname(b));
	ck_assert_msg(tz_stored_fd(&t, fdname(odd)) >= 0, "no %s in the store", fdname(odd));
	ck_assert_uint_eq(t.n_stored, 3);

	/* zbd crashes; while it is down, a reader starting elsewhere sweeps. */
	tz_kill(&t, SIGKILL);
	ck_assert(tu_lock_is_held(a));
	ck_assert(tu_lock_is_held(b));
	sweep(a);
	sweep(b);
	sweep(odd);
	ck_assert_msg(objects_there(a) && objects_there(b) && objects_there(odd),
		      "a buffer was swept while zbd was down");

	/* The next zbd gets the locks back and adopts with them. */
	tz_start(&t);
	ck_assert(tz_in_list(&t, a));
	ck_assert(tz_in_list(&t, b));
	ck_assert(tz_in_list(&t, odd));
	tz_log_has(&t, true, "3 buffer locks were kept by systemd", NULL);
	tz_log_has(&t, false, "not usable", NULL);
	tz_log_has(&t, false, "cannot retake", NULL);
	/* Sent again after adoption, kept once: still one descriptor per buffer. */
	tz_notify_drain(&t);
	ck_assert_uint_eq(t.n_stored, 3);

	/* And again through a second restart, this time a clean one. */
	tz_kill(&t, SIGTERM);
	sweep(a);
	ck_assert(objects_there(a));
	tz_start(&t);
	ck_assert(tz_in_list(&t, a));
}
END_TEST

START_TEST(destroy_takes_the_lock_out_of_the_store)
{
	const char *a = tu_unique_name("store-gone");

	tz_setup(&t, NULL);
	t.fdstore = true;
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	tz_notify_drain(&t);
	ck_assert_int_ge(tz_stored_fd(&t, fdname(a)), 0);
	ck_assert_int_eq(tz_request(&t, "destroy %s", a), 0);
	tz_notify_drain(&t);
	ck_assert_int_eq(tz_stored_fd(&t, fdname(a)), -1);
	ck_assert_uint_eq(t.n_stored, 0);
}
END_TEST

/* Descriptors that come back for buffers zbd does not adopt (their segment
 * went away while zbd was down, or the state file never named them) are
 * closed and dropped from the store, not kept holding a dead name. */
START_TEST(unclaimed_locks_leave_the_store)
{
	const char *a = tu_unique_name("store-vanished"), *stray = tu_unique_name("store-stray");
	int fd;

	tz_setup(&t, NULL);
	t.fdstore = true;
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	tz_notify_drain(&t);
	tz_kill(&t, SIGKILL);
	segment_unlink(a); /* someone removed the buffer meanwhile */

	fd = open(tu_lock_path(stray), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	snprintf(t.stored[t.n_stored].name, sizeof(t.stored[0].name), "%s", fdname(stray));
	t.stored[t.n_stored++].fd = fd;

	tz_start(&t);
	tz_notify_drain(&t);
	ck_assert_uint_eq(t.n_stored, 0);
	ck_assert(!tz_in_list(&t, a));
	ck_assert(!tz_in_list(&t, stray));
	ck_assert_msg(access(tu_lock_path(a), F_OK) < 0, "the vanished buffer's lock file stayed");
	tz_log_has(&t, true, stray, "not adopted; dropped from the store", NULL);
}
END_TEST

TU_SUITE(zbd_fdstore_suite, "zbd-fdstore")
{
	TCase *tc = tu_tcase(s, "fdstore", NULL, teardown);

	tcase_add_test(tc, locks_held_across_a_crash_and_adopted);
	tcase_add_test(tc, destroy_takes_the_lock_out_of_the_store);
	tcase_add_test(tc, unclaimed_locks_leave_the_store);
}
