/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake.h"
#include "testutil.h"

static int listen_on(struct fake *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	ck_assert_int_eq(tu_mkdtemp(f->dir, sizeof(f->dir)), 0);
	snprintf(f->path, sizeof(f->path), "%s/zbd.sock", f->dir);
	strcpy(addr.sun_path, f->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	/* Bound and listening before the fork: the client's connect cannot race. */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

/* Child side: read up to a newline, pass the line to the parent. */
static int read_request(int conn, int out)
{
	char c;

	for (;;) {
		ssize_t n = read(conn, &c, 1);

		if (n <= 0)
			return -1;
		if (write(out, &c, 1) != 1)
			return -1;
		if (c == '\n')
			return 0;
	}
}

static void send_all(int conn, const char *data, size_t len, int bytewise)
{
	char nul = '\0';

	while (len) {
		/* Replies are C strings: \x01 stands for the NUL byte they cannot hold. */
		const char *p = *data == '\x01' ? &nul : data;
		const char *mark = memchr(data, '\x01', len);
		size_t chunk = bytewise || p == &nul ? 1 : mark ? (size_t)(mark - data) : len;
		ssize_t n = send(conn, p, chunk, MSG_NOSIGNAL);

		if (n <= 0)
			_exit(0); /* the client left: nothing more to do */
		if (bytewise)
			usleep(200);
		data += n;
		len -= (size_t)n;
	}
}

static void start(struct fake *f, void (*serve)(int lfd, int conn, int out, const void *arg),
		  const void *arg)
{
	int lfd = listen_on(f), p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0) {
		int conn;

		close(p[0]);
		conn = accept(lfd, NULL, NULL);
		if (conn < 0)
			_exit(1);
		serve(lfd, conn, p[1], arg);
		_exit(0);
	}
	close(p[1]);
	close(lfd);
	f->requests = p[0];
}

struct script {
	const char *const *replies;
	size_t n;
	int bytewise;
	enum fake_after after;
};

static void serve_script(int lfd, int conn, int out, const void *arg)
{
	const struct script *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		if (read_request(conn, out) < 0)
			_exit(0);
		if (!s->replies[i])
			pause();
		send_all(conn, s->replies[i], strlen(s->replies[i]), s->bytewise);
	}
	if (s->after == FAKE_HANG)
		pause();
	close(conn);
}

void fake_start(struct fake *f, const char *const *replies, size_t n, int bytewise,
		enum fake_after after)
{
	struct script s = { replies, n, bytewise, after };

	/* The script lives in our memory; the child got its own copy at fork. */
	start(f, serve_script, &s);
}

void fake_start1(struct fake *f, const char *reply)
{
	const char *replies[] = { reply };

	fake_start(f, replies, 1, 0, FAKE_CLOSE);
}

static void serve_flood(int lfd, int conn, int out, const void *arg)
{
	size_t bytes = *(const size_t *)arg, sent = 0;
	char chunk[4096];

	for (size_t i = 0; i + 4 <= sizeof(chunk); i += 4)
		memcpy(chunk + i, "k=v\n", 4);
	if (read_request(conn, out) < 0)
		_exit(0);
	while (sent < bytes) {
		send_all(conn, chunk, sizeof(chunk), 0);
		sent += sizeof(chunk);
	}
	pause();
}

void fake_start_flood(struct fake *f, size_t bytes)
{
	start(f, serve_flood, &bytes);
}

/* An idle connection the daemon closes, then a second one that is served. */
static void serve_idle_close(int lfd, int conn, int out, const void *arg)
{
	const char *reply = arg;

	close(conn);
	conn = accept(lfd, NULL, NULL);
	if (conn < 0 || read_request(conn, out) < 0)
		_exit(1);
	send_all(conn, reply, strlen(reply), 0);
	close(conn);
}

void fake_start_idle_close(struct fake *f, const char *reply)
{
	start(f, serve_idle_close, reply);
}

const char *fake_request(struct fake *f)
{
	static char line[8192];
	size_t len = 0;
	char c;

	while (len < sizeof(line) - 1 && read(f->requests, &c, 1) == 1 && c != '\n')
		line[len++] = c;
	line[len] = '\0';
	return line;
}

void fake_stop(struct fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	if (f->requests > 0)
		close(f->requests);
	f->requests = -1;
	if (f->dir[0])
		tu_rmtree(f->dir);
}

void fake_dead_path(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->requests = -1;
	ck_assert_int_eq(tu_mkdtemp(f->dir, sizeof(f->dir)), 0);
	snprintf(f->path, sizeof(f->path), "%s/zbd.sock", f->dir);
}
