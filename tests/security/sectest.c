/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sectest.h"
#include "segment.h"
#include "testutil.h"

int st_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, int (*fn)(void *arg),
	       void *arg, pid_t *ret_pid)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Groups before uid: an unprivileged process may not set them. */
		if (setgroups(n_groups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(100);
		umask(0);
		_exit(fn(arg));
	}
	if (ret_pid)
		*ret_pid = pid;
	status = tu_wait(pid, 20000);
	ck_assert_msg(WIFEXITED(status), "user %u's child did not exit: %#x", (unsigned)uid,
		      status);
	ck_assert_msg(WEXITSTATUS(status) != 100, "cannot become uid %u", (unsigned)uid);
	return WEXITSTATUS(status);
}

void st_start_logged(struct tz *t)
{
	char path[160];
	int fd, saved;

	snprintf(path, sizeof(path), "%s/zbd.log", t->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	/* zbd inherits stderr: point ours at the log while it is forked. */
	saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	tz_spawn(t, NULL);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	close(fd);
	ck_assert_msg(tz_wait_ready(t, 5000), "zbd did not send READY=1 within 5 s");
}

static bool line_has_all(const char *line, size_t len, va_list ap)
{
	char buf[1024];
	const char *want;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(buf, want))
			return false;
	return true;
}

bool st_log_has(struct tz *t, bool want, ...)
{
	static char log[256 * 1024];
	char path[160];
	bool found = false;
	va_list ap;

	snprintf(path, sizeof(path), "%s/zbd.log", t->dir);
	for (int tries = 0; tries < 20 && found != want; tries++) {
		if (tries)
			nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
		if (st_read_file(path, log, sizeof(log)) < 0)
			continue;
		for (const char *l = log; *l && !found;) {
			size_t n = strcspn(l, "\n");

			va_start(ap, want);
			found = line_has_all(l, n, ap);
			va_end(ap);
			l += n + (l[n] == '\n');
		}
	}
	ck_assert_msg(found == want, "zbd's log %s the line looked for:\n%s",
		      want ? "lacks" : "has", log);
	return found;
}

bool st_private_tmp(void)
{
	static char zbd[PATH_MAX];
	const char *path = getenv("ZBD");
	int old_tmp;

	/* Private propagation first, or the tmpfs would show up in the host's /tmp. */
	if (unshare(CLONE_NEWNS) < 0)
		return false;
	/* The kernel ignores source and type here; valgrind wants strings. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return false;
	/* A build directory under /tmp would vanish with it: keep reaching zbd
	 * through a descriptor of the old /tmp (inherited, so valid at exec). */
	old_tmp = open("/tmp", O_PATH | O_DIRECTORY);
	if (old_tmp < 0)
		return false;
	if (mount("zbdsec", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return false;
	if (path && strncmp(path, "/tmp/", 5) == 0) {
		snprintf(zbd, sizeof(zbd), "/proc/self/fd/%d/%s", old_tmp, path + 5);
		setenv("ZBD", zbd, 1);
	} else {
		close(old_tmp);
	}
	return true;
}

struct stat st_lstat(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st;
}

const char *st_shm_path(const char *name)
{
	static char path[300];

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	return path;
}

const char *st_sem_path(const char *name, char which)
{
	static char path[2][300];
	char *p = path[which == 'r'];

	snprintf(p, sizeof(path[0]), "/dev/shm/sem.sem-%c-%s", which, name);
	return p;
}

const char *st_lock_path(const char *name)
{
	static char path[300];

	ck_assert_int_eq(names_lock(path, sizeof(path), name), 0);
	return path;
}

void st_assert_objects(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	const char *paths[] = { st_shm_path(name), st_sem_path(name, 'w'), st_sem_path(name, 'r'),
				st_lock_path(name) };

	for (size_t i = 0; i < 4; i++) {
		struct stat st = st_lstat(paths[i]);

		ck_assert_msg(S_ISREG(st.st_mode), "%s is not a plain file", paths[i]);
		ck_assert_msg(st.st_uid == uid && st.st_gid == gid, "%s: owner %u:%u, want %u:%u",
			      paths[i], (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)uid,
			      (unsigned)gid);
		ck_assert_msg((st.st_mode & 07777) == mode, "%s: mode %04o, want %04o", paths[i],
			      (unsigned)(st.st_mode & 07777), (unsigned)mode);
	}
}

bool st_any_object(const char *name)
{
	return access(st_shm_path(name), F_OK) == 0 || access(st_sem_path(name, 'w'), F_OK) == 0 ||
	       access(st_sem_path(name, 'r'), F_OK) == 0 || access(st_lock_path(name), F_OK) == 0;
}

int st_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return (int)len;
}
