/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"

#define MAX_NAMES 1024

static char names[MAX_NAMES][64];
static unsigned n_names;

const char *tu_unique_name(const char *tag)
{
	char *slot;

	ck_assert_uint_lt(n_names, MAX_NAMES);
	slot = names[n_names];
	snprintf(slot, sizeof(names[0]), "t%d-%s-%u", (int)getpid(), tag, n_names);
	n_names++;
	return slot;
}

void tu_cleanup_name(const char *name)
{
	char path[256];

	segment_unlink(name);
	if (names_lock(path, sizeof(path), name) == 0)
		unlink(path);
}

void tu_cleanup_all(void)
{
	for (unsigned i = 0; i < n_names; i++)
		tu_cleanup_name(names[i]);
	n_names = 0;
}

bool tu_any_object_exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "/dev/shm/sem.sem-w-%s", name);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "/dev/shm/sem.sem-r-%s", name);
	if (access(path, F_OK) == 0)
		return true;
	return names_lock(path, sizeof(path), name) == 0 && access(path, F_OK) == 0;
}

bool tu_lock_is_held(const char *name)
{
	char path[256];
	int status;
	pid_t pid;

	ck_assert_int_eq(names_lock(path, sizeof(path), name), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			_exit(2);
		_exit(flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	status = tu_wait(pid, 5000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 2);
	return WEXITSTATUS(status) == 0;
}

pid_t tu_spawn(char *const argv[])
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t tu_spawn_io(const char *prog, char *const args[], const char *in, const char *out,
		  const char *err)
{
	char *argv[32] = { (char *)prog };
	pid_t pid;

	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(i + 1, 31);
		argv[i + 1] = args[i];
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *paths[3] = { in, out, err };

		for (int fd = 0; fd < 3; fd++) {
			/* Append after truncating: out and err may name one file. */
			int f = open(paths[fd] ? paths[fd] : "/dev/null",
				     fd == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
				     0600);

			if (f < 0 || dup2(f, fd) < 0)
				_exit(126);
			close(f);
		}
		execv(prog, argv);
		_exit(127);
	}
	return pid;
}

int tu_exit_status(int status)
{
	ck_assert_msg(status != -1, "the child did not exit in time");
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Without pidfds (valgrind does not know the syscall): poll waitpid. */
static int wait_polling(pid_t pid, int timeout_ms, int *status)
{
	struct timespec tick = { .tv_nsec = 1000000 };

	for (int waited = 0; waited <= timeout_ms || timeout_ms < 0; waited++) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		ck_assert_int_eq(r, 0);
		nanosleep(&tick, NULL);
	}
	return 0;
}

int tu_wait(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), status, r;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (fd < 0) {
		ck_assert_int_eq(errno, ENOSYS);
		if (wait_polling(pid, timeout_ms, &status))
			return status;
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		return -1;
	}
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r == 0)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return r == 0 ? -1 : status;
}
