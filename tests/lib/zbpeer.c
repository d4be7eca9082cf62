/* SPDX-License-Identifier: MIT */
/*
 * zbpeer: the second process of the libzbclient tests. A real writer or reader
 * in its own address space, driven by its arguments and reporting on a status
 * pipe: 'R' once attached, 'D' once its frames are done. Exit status 0 means
 * every frame went through (and, reading, matched byte for byte).
 *
 *   zbpeer FD write  NAME COUNT SEED MIN MAX [zc] [stay|closehold]
 *   zbpeer FD read   NAME COUNT SEED MIN MAX [stay] [hold N] [keep]
 *   zbpeer FD create NAME
 *   zbpeer FD pidns PID write|read|create ...
 *   zbpeer nsexec PROGRAM ARGS...
 *
 * write: attach as writer, write COUNT frames of pattern(SEED, MIN, MAX), by
 *   copy or (zc) acquire/commit. stay: then remain attached until killed;
 *   closehold: detach, then remain alive until killed.
 * read: attach to an existing buffer as reader and verify COUNT frames.
 *   stay: remain attached afterwards; hold N: keep up to N frames held at once
 *   and release them in a shuffled order after checking them again. keep: release
 *   nothing (a reader that will die holding its frames).
 * create: create the buffer standalone (zb_reader_create) and wait to be killed.
 * pidns PID: be that peer in a new pid namespace (and mount namespace, with
 *   its own /proc), as pid PID there, as in a container; PID 1 or any above
 *   1. The process the test started stays outside and exits as the peer does;
 *   killing it kills the whole namespace (the peer is its last process).
 * nsexec: run PROGRAM (a path) as pid 1 of a new pid namespace with its own
 *   /proc (zbd in a container); SIGTERM and SIGINT go on to it, and we exit as
 *   it does.
 *
 * Failing to attach exits with 31 for -EBUSY, 32 for -ENOENT, 33 for -EEXIST,
 * 30 for anything else, so tests can tell a refusal from a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "pattern.h"
#include "wire.h"
#include "zbclient.h"

#define FRAME_TIMEOUT_MS 30000

static int status_fd = -1;

static void report(char c)
{
	if (write(status_fd, &c, 1) != 1)
		exit(90);
}

static void __attribute__((noreturn)) die(int code, const char *what, int err)
{
	fprintf(stderr, "zbpeer: %s: %s (%d)\n", what, zb_strerror(err), err);
	exit(code);
}

static void __attribute__((noreturn)) park(void)
{
	for (;;)
		pause();
}

static int __attribute__((noreturn)) die_attach(const char *what, int err)
{
	fprintf(stderr, "zbpeer: %s: %s (%d)\n", what, zb_strerror(err), err);
	exit(err == -EBUSY ? 31 : err == -ENOENT ? 32 : err == -EEXIST ? 33 : 30);
}

static bool has_word(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i < argc; i++)
		if (strcmp(argv[i], word) == 0)
			return true;
	return false;
}

static int do_write(const char *name, uint64_t count, const struct pattern *pat, bool zc, bool stay,
		    bool closehold)
{
	struct zb_writer *w;
	int r = zb_writer_open(&w, name);

	if (r < 0)
		die_attach("zb_writer_open", r);
	report('R');
	for (uint64_t seq = 1; seq <= count; seq++) {
		size_t size = pattern_size(pat, seq);
		const uint8_t *data = pattern_data(pat, seq, size);

		if (zc) {
			void *dst;

			r = zb_writer_acquire(w, size, &dst, FRAME_TIMEOUT_MS);
			if (r < 0)
				die(11, "zb_writer_acquire", r);
			memcpy(dst, data, size);
			r = zb_writer_commit(w, size);
		} else {
			r = zb_writer_write(w, data, size, FRAME_TIMEOUT_MS);
		}
		if (r < 0)
			die(12, "write", r);
	}
	if (stay) {
		report('D');
		park();
	}
	zb_writer_close(w);
	report('D');
	if (closehold)
		park();
	return 0;
}

static void check_frame(const struct pattern *pat, const struct zb_frame *f, uint64_t seq)
{
	if (f->sequence != seq) {
		fprintf(stderr, "zbpeer: sequence %llu, expected %llu\n",
			(unsigned long long)f->sequence, (unsigned long long)seq);
		exit(20);
	}
	if (!pattern_ok(pat, seq, f->data, f->size)) {
		fprintf(stderr, "zbpeer: frame %llu: size %zu (expected %zu) or bytes differ\n",
			(unsigned long long)seq, f->size, pattern_size(pat, seq));
		exit(21);
	}
}

static int do_read(const char *name, uint64_t count, const struct pattern *pat, bool stay,
		   unsigned hold, bool keep)
{
	struct zb_frame held[16];
	struct zb_reader *rd;
	uint64_t rng = pat->seed;
	unsigned n = 0;
	size_t held_bytes = 0;
	int r = zb_reader_open(&rd, name);

	if (r < 0)
		die_attach("zb_reader_open", r);
	report('R');
	if (hold < 1 || hold > 16)
		hold = 1;
	for (uint64_t seq = 1; seq <= count; seq++) {
		r = zb_reader_read(rd, &held[n], FRAME_TIMEOUT_MS);
		if (r < 0)
			die(13, "zb_reader_read", r);
		check_frame(pat, &held[n], seq);
		if (keep)
			continue;
		held_bytes += held[n].size + ZB_FRAME_HEADER_SIZE;
		/* Held bytes stay under half a largest frame (a sixth of the ring when
		 * MAX is a third of it), so the writer always finds room to go on. */
		if (++n < hold && held_bytes < pat->max_size / 2 && seq < count)
			continue;
		/* Shuffled release; each frame is checked again just before: still intact. */
		while (n > 0) {
			unsigned i = (unsigned)(splitmix64(&rng) % n);

			check_frame(pat, &held[i], held[i].sequence);
			r = zb_reader_release(rd, &held[i]);
			if (r < 0)
				die(14, "zb_reader_release", r);
			held[i] = held[--n];
		}
		held_bytes = 0;
	}
	report('D');
	if (stay)
		park();
	zb_reader_close(rd);
	return 0;
}

static int do_create(const char *name)
{
	struct zb_reader *rd;
	int r = zb_reader_create(&rd, name, NULL);

	if (r < 0)
		die_attach("zb_reader_create", r);
	report('R');
	park();
}

static void __attribute__((noreturn)) wait_for(pid_t child)
{
	int st;

	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			_exit(91);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static pid_t ns_init;

static void forward_signal(int sig)
{
	kill(ns_init, sig);
}

/* pid 1 of a new pid namespace, with its own /proc: dies with its parent. */
static void become_ns_init(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(92);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", 0, NULL) < 0)
		_exit(93);
}

static void __attribute__((noreturn)) nsexec(char **argv)
{
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		_exit(92);
	ns_init = fork();
	if (ns_init < 0)
		_exit(92);
	if (ns_init > 0) {
		signal(SIGTERM, forward_signal);
		signal(SIGINT, forward_signal);
		wait_for(ns_init);
	}
	become_ns_init();
	execv(argv[0], argv);
	_exit(127);
}

/* Return in a process that is `target` in a new pid namespace; the processes
 * on the way wait for it and exit as it does, and die with their parent. */
static void enter_pidns(long target)
{
	char last[32];
	pid_t child;
	int fd;

	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
		_exit(92);
	child = fork();
	if (child < 0)
		_exit(92);
	if (child > 0)
		wait_for(child);
	/* pid 1 of the namespace: its death ends the namespace. */
	become_ns_init();
	if (target == 1)
		return;
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	snprintf(last, sizeof(last), "%ld", target - 1);
	if (fd < 0 || write(fd, last, strlen(last)) < 0)
		_exit(94);
	close(fd);
	child = fork();
	if (child < 0)
		_exit(92);
	if (child > 0)
		wait_for(child);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getpid() != target)
		_exit(95);
}

int main(int argc, char **argv)
{
	struct pattern pat;
	uint64_t count;
	bool in_pidns = false;
	int r;

	if (argc > 2 && strcmp(argv[1], "nsexec") == 0)
		nsexec(argv + 2);
	if (argc > 4 && strcmp(argv[2], "pidns") == 0) {
		enter_pidns(strtol(argv[3], NULL, 0));
		argv[3] = argv[1];
		argv += 2;
		argc -= 2;
		in_pidns = true;
	}

	if (argc < 4) {
		fprintf(stderr, "usage: zbpeer FD write|read|create NAME ...\n");
		return 2;
	}
	/* A test that fails before killing us must not leave us parked forever. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (getppid() == 1 && !in_pidns))
		return 3;
	status_fd = atoi(argv[1]);
	if (strcmp(argv[2], "create") == 0)
		return do_create(argv[3]);
	if (argc < 8) {
		fprintf(stderr, "zbpeer: %s needs NAME COUNT SEED MIN MAX\n", argv[2]);
		return 2;
	}
	count = strtoull(argv[4], NULL, 0);
	pattern_init(&pat, strtoull(argv[5], NULL, 0), strtoul(argv[6], NULL, 0),
		     strtoul(argv[7], NULL, 0));
	if (strcmp(argv[2], "write") == 0) {
		r = do_write(argv[3], count, &pat, has_word(argc, argv, 8, "zc"),
			     has_word(argc, argv, 8, "stay"), has_word(argc, argv, 8, "closehold"));
	} else if (strcmp(argv[2], "read") == 0) {
		unsigned hold = 1;

		for (int i = 8; i + 1 < argc; i++)
			if (strcmp(argv[i], "hold") == 0)
				hold = (unsigned)atoi(argv[i + 1]);
		r = do_read(argv[3], count, &pat, has_word(argc, argv, 8, "stay"), hold,
			    has_word(argc, argv, 8, "keep"));
	} else {
		fprintf(stderr, "zbpeer: unknown mode %s\n", argv[2]);
		r = 2;
	}
	pattern_free(&pat);
	return r;
}
