/* SPDX-License-Identifier: MIT */
/* Check-free helpers (see util.h): time, processes, pipes, shared memory, files. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "util.h"

double tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int64_t tu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tu_sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn)) broken(const char *what, pid_t pid)
{
	fprintf(stderr, "tu_wait: %s for pid %d: %s\n", what, (int)pid, strerror(errno));
	abort();
}

static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) != pid)
		if (errno != EINTR)
			broken("waitpid", pid);
}

/* Without pidfds (valgrind does not know the syscall): poll waitpid. */
static int wait_polling(pid_t pid, int timeout_ms, int *status)
{
	for (int waited = 0; waited <= timeout_ms || timeout_ms < 0; waited++) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			broken("waitpid", pid);
		tu_sleep_us(1000);
	}
	return 0;
}

int tu_wait(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), status, r;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	/* Reaped already (or never ours): nothing to wait for. */
	if (fd < 0 && errno == ESRCH && waitpid(pid, &status, WNOHANG) < 0 && errno == ECHILD)
		return -1;
	if (fd < 0) {
		if (errno != ENOSYS)
			broken("pidfd_open", pid);
		if (wait_polling(pid, timeout_ms, &status))
			return status;
		kill(pid, SIGKILL);
		reap(pid, &status);
		return -1;
	}
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r == 0)
		kill(pid, SIGKILL);
	reap(pid, &status);
	return r == 0 ? -1 : status;
}

int tu_wait_exit(pid_t pid, int timeout_ms)
{
	int st = tu_wait(pid, timeout_ms);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tu_read_byte(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char c;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

void tu_say(int fd, char c)
{
	if (fd >= 0 && write(fd, &c, 1) != 1)
		_exit(90);
}

void *tu_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("tu_shared: mmap");
		abort();
	}
	return p;
}

void tu_shared_free(void *p, size_t size)
{
	munmap(p, size);
}

bool tu_under_valgrind(void)
{
	return RUNNING_ON_VALGRIND;
}

int tu_read_file(const char *path, char *buf, size_t size)
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

int tu_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), err = 0;

	if (fd < 0)
		return -errno;
	if (len && write(fd, data, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void tu_rmtree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
