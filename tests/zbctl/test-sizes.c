/* SPDX-License-Identifier: MIT */
/*
 * zbctl's look at /dev/shm before a buffer is made, on a 1 MiB tmpfs of the
 * test's own (a private mount namespace): a buffer that fits says nothing,
 * one larger than the free space is asked of zbd as it is (zbd reserves a
 * buffer's memory and answers -ENOSPC itself), one larger than the whole of
 * /dev/shm is refused before zbd is asked. Root only (mounts).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake.h"
#include "testutil.h"

#define OUT_MAX 4096

static const char *zbctl;
static struct fake fk;
static char tmpdir[64];

/* A mount namespace of this test process's own with 1 MiB on /dev/shm. */
static bool small_dev_shm(void)
{
	/* Private propagation first, or the tmpfs would show up on the host. */
	return unshare(CLONE_NEWNS) == 0 &&
	       mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0 &&
	       mount("zbtshm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=1777") == 0;
}

static void setup(void)
{
	ck_assert_msg(small_dev_shm(), "no private /dev/shm: %s", strerror(errno));
	ck_assert_int_eq(tu_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
}

static void teardown(void)
{
	fake_stop(&fk);
	tu_rmtree(tmpdir);
}

/* Run `zbctl -s SOCKET create NAME --payload SIZE`; stderr into err. */
static int create(const char *size, char *err)
{
	char errp[128];
	int n, status;

	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	status = tu_exit_status(
		tu_wait(tu_spawn_io(zbctl,
				    (char *const[]){ "-s", fk.path, "create", "cam0", "--payload",
						     (char *)size, NULL },
				    NULL, NULL, errp),
			10000));
	n = tu_read_file(errp, err, OUT_MAX);
	ck_assert_int_ge(n, 0);
	return status;
}

START_TEST(fits_quietly)
{
	char err[OUT_MAX];

	fake_start1(&fk, "status=0\n\n");
	ck_assert_int_eq(create("512K", err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(fake_request(&fk), "create cam0 payload=524288");
}
END_TEST

START_TEST(more_than_free_asks_zbd)
{
	static char fill[768 * 1024];
	char path[128], err[OUT_MAX];

	/* 768K of the 1M taken: 512K + metadata + control block do not fit now. */
	snprintf(path, sizeof(path), "/dev/shm/%s", tu_unique_name("fill"));
	memset(fill, 'f', sizeof(fill));
	ck_assert_int_eq(tu_write_file(path, fill, sizeof(fill)), 0);
	fake_start1(&fk, "error=no room in /dev/shm for cam0: 525440 bytes asked, 262144 left\n"
			 "status=-28\n\n");
	ck_assert_int_eq(create("512K", err), 1);
	ck_assert_msg(strstr(err, "zbctl: create: no room in /dev/shm for cam0"), "%s", err);
	ck_assert_str_eq(fake_request(&fk), "create cam0 payload=524288");
	unlink(path);
}
END_TEST

START_TEST(more_than_all_refused)
{
	char err[OUT_MAX];

	fake_dead_path(&fk); /* a refusal never gets as far as connecting */
	ck_assert_int_eq(create("2M", err), 1);
	ck_assert_msg(
		strncmp(err, "zbctl: create: a buffer of 2.0M cannot fit in /dev/shm (1M in all)\n",
			67) == 0,
		"%s", err);
	ck_assert_msg(strstr(err, "zbctl: hint: choose a smaller --payload"), "%s", err);
}
END_TEST

/* Can a child get a private /dev/shm? Tried there, so nothing changes here;
 * also finds zbctl. */
static const char *cannot_run(void)
{
	pid_t pid;
	int status;

	zbctl = getenv("ZBCTL");
	if (!zbctl || access(zbctl, X_OK) != 0)
		return "ZBCTL does not name the zbctl executable";
	pid = fork();
	if (pid == 0)
		_exit(small_dev_shm() ? 0 : 1);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)
		return NULL;
	return "no private mount namespace for /dev/shm (unshare or mount refused)";
}

/* Every test in a child of its own: each takes a mount namespace. */
TU_SUITE(zbctl_sizes_suite, "zbctl-sizes", .root = true, .skip = cannot_run, .fork = true)
{
	TCase *tc = tu_tcase(s, "dev-shm", setup, teardown);

	tcase_add_test(tc, fits_quietly);
	tcase_add_test(tc, more_than_free_asks_zbd);
	tcase_add_test(tc, more_than_all_refused);
}
