/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zbdtest.h"

void tz_setup(struct tz *t, const char *conf)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(t, 0, sizeof(*t));
	t->notify_fd = -1;
	/* 0755: others (the users a test plays) must reach the socket. */
	ck_assert_int_eq(tu_mkdtemp(t->dir, sizeof(t->dir)), 0);
	snprintf(t->sock, sizeof(t->sock), "%s/zbd.sock", t->dir);
	/* Buffers of other tests are not this zbd's business: it would reap
	 * their peers (zbd/foreign.c). A test that wants that says so. */
	if (!conf)
		conf = "[zbd]\nforeign_scan_ms = 0\n";
	snprintf(t->conf, sizeof(t->conf), "%s/zbd.conf", t->dir);
	ck_assert_int_eq(tu_write_file(t->conf, conf, strlen(conf)), 0);
	t->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(t->notify_fd, 0);
	ck_assert_uint_lt(
		(size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", t->dir),
		sizeof(sa.sun_path));
	ck_assert_int_eq(bind(t->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

pid_t tz_spawn(struct tz *t, char *const prefix[])
{
	const char *zbd = getenv("ZBD");
	char notify[128], log[160];
	char *argv[24];
	int n = 0;
	pid_t pid;

	ck_assert_msg(zbd != NULL, "ZBD (path of the zbd binary) is not set");
	snprintf(notify, sizeof(notify), "%s/notify.sock", t->dir);
	for (int i = 0; prefix && prefix[i]; i++)
		argv[n++] = prefix[i];
	argv[n++] = (char *)zbd;
	if (!t->sock_from_env) {
		argv[n++] = "-s";
		argv[n++] = t->sock;
	}
	argv[n++] = "-r";
	argv[n++] = t->dir;
	if (t->conf[0]) {
		argv[n++] = "-c";
		argv[n++] = t->conf;
	}
	argv[n] = NULL;
	if (t->logged)
		snprintf(log, sizeof(log), "%s/zbd.log", t->dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* zbd must not outlive a test that fails half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (t->logged) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

			if (fd < 0 || dup2(fd, 2) < 0)
				_exit(126);
		}
		setenv("NOTIFY_SOCKET", notify, 1);
		if (t->sock_from_env)
			setenv("ZBD_SOCKET", t->sock, 1);
		if (t->watchdog_usec)
			setenv("WATCHDOG_USEC", t->watchdog_usec, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	t->pid = pid;
	t->ready = false;
	t->stopping = false;
	return pid;
}

/* Take one notification; false if none came within timeout_ms. */
static bool notify_take(struct tz *t, int timeout_ms, bool *ready)
{
	struct pollfd pfd = { .fd = t->notify_fd, .events = POLLIN };
	char msg[4096], *st;
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	n = recv(t->notify_fd, msg, sizeof(msg) - 1, 0);
	if (n <= 0)
		return false;
	msg[n] = '\0';
	st = strstr(msg, "STATUS=");
	if (st) {
		snprintf(t->status, sizeof(t->status), "%s", st + 7);
		t->status[strcspn(t->status, "\n")] = '\0';
	}
	if (strstr(msg, "READY=1")) {
		*ready = true;
		t->ready = true;
	}
	if (strstr(msg, "WATCHDOG=1"))
		t->watchdog_pings++;
	if (strstr(msg, "STOPPING=1"))
		t->stopping = true;
	return true;
}

/* zbd's sd_notify blocks once a datagram queue of ~10 is full, as it should
 * under systemd, which reads at once: so do we, before every request. */
void tz_notify_drain(struct tz *t)
{
	bool ready = false;

	if (t->notify_fd >= 0)
		while (notify_take(t, 0, &ready))
			;
}

bool tz_wait_ready(struct tz *t, int timeout_ms)
{
	double end = tu_now_ms() + timeout_ms;
	bool ready = t->ready;

	while (!ready) {
		int left = (int)(end - tu_now_ms());

		if (left <= 0 || !notify_take(t, left, &ready))
			return false;
	}
	return true;
}

void tz_notify_wait(struct tz *t, int timeout_ms, bool (*until)(struct tz *t))
{
	double end = tu_now_ms() + timeout_ms;
	bool ready = false;

	while (!until(t)) {
		int left = (int)(end - tu_now_ms());

		/* Past the deadline, still take what is queued already. */
		if (!notify_take(t, left > 0 ? left : 0, &ready))
			return;
	}
}

void tz_start(struct tz *t)
{
	tz_spawn(t, NULL);
	ck_assert_msg(tz_wait_ready(t, 5000), "zbd did not send READY=1 within 5 s");
}

void tz_start_logged(struct tz *t)
{
	t->logged = true;
	tz_start(t);
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

bool tz_log_has(struct tz *t, bool want, ...)
{
	static char log[256 * 1024];
	char path[160];
	bool found = false;
	va_list ap;

	snprintf(path, sizeof(path), "%s/zbd.log", t->dir);
	for (int tries = 0; tries < 20 && found != want; tries++) {
		if (tries)
			tu_sleep_us(50 * 1000);
		if (tu_read_file(path, log, sizeof(log)) < 0)
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

int tz_kill(struct tz *t, int sig)
{
	int status;

	ck_assert_int_gt(t->pid, 0);
	ck_assert_int_eq(kill(t->pid, sig), 0);
	status = tu_wait(t->pid, 5000);
	t->pid = 0;
	return status;
}

void tz_teardown(struct tz *t)
{
	int status = 0;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		status = tu_wait(t->pid, 5000);
		t->pid = 0;
	}
	if (t->notify_fd >= 0)
		close(t->notify_fd);
	t->notify_fd = -1;
	if (t->dir[0])
		tu_rmtree(t->dir);
	tu_cleanup_all();
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "zbd did not stop cleanly on SIGTERM: status %#x", status);
}

int tz_connect(struct tz *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	tz_notify_drain(t);
	ck_assert_uint_lt((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->sock),
			  sizeof(sa.sun_path));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
		      t->sock, strerror(errno));
	return fd;
}

/* Length of the first complete reply in buf (through "status=N\n\n"), or 0. */
static size_t reply_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 7 <= len; i++) {
		const char *nl;

		if ((i == 0 || buf[i - 1] == '\n') && memcmp(buf + i, "status=", 7) == 0) {
			nl = memchr(buf + i, '\n', len - i);
			if (!nl)
				return 0;
			if ((size_t)(nl - buf) + 1 < len && nl[1] == '\n')
				return (size_t)(nl - buf) + 2;
			return 0;
		}
		nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			return 0;
		i = (size_t)(nl - buf);
	}
	return 0;
}

int tz_read_reply(int fd, char *out, size_t size, int timeout_ms)
{
	double end = tu_now_ms() + timeout_ms;
	size_t len = 0, done;

	out[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int left = (int)(end - tu_now_ms());

		ck_assert_msg(left > 0, "no complete reply within %d ms: '%s'", timeout_ms, out);
		ck_assert_int_gt(poll(&pfd, 1, left), 0);
		ck_assert_uint_lt(len, size - 1);
		/* Peek, and take only up to the end of this reply: the next one (a
		 * pipelined answer, a watch report) stays in the socket. */
		n = recv(fd, out + len, size - 1 - len, MSG_PEEK);
		if (n <= 0)
			return INT32_MIN;
		done = reply_end(out, len + (size_t)n);
		n = recv(fd, out + len, done ? done - len : (size_t)n, 0);
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
		out[len] = '\0';
		if (done) {
			const char *st = len > 2 ? out + len - 3 : out;

			while (st > out && st[-1] != '\n')
				st--;
			return atoi(st + 7);
		}
	}
}

int tz_request_fd(struct tz *t, int fd, const char *line)
{
	char buf[8192];
	size_t len = strlen(line);

	ck_assert_uint_lt(len, sizeof(buf) - 1);
	tz_notify_drain(t);
	memcpy(buf, line, len);
	buf[len++] = '\n';
	ck_assert_int_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
	return tz_read_reply(fd, t->reply, sizeof(t->reply), 5000);
}

int tz_request(struct tz *t, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int fd, status;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = tz_connect(t);
	status = tz_request_fd(t, fd, line);
	close(fd);
	return status;
}

const char *tz_get(const char *reply, const char *record, const char *key)
{
	static char value[512];
	const char *p = reply, *end = NULL;
	char needle[256];

	if (record) {
		snprintf(needle, sizeof(needle), "%s\n", record);
		p = strstr(reply, needle);
		while (p && p != reply && p[-1] != '\n')
			p = strstr(p + 1, needle);
		if (!p)
			return NULL;
		p += strlen(needle);
		/* The record ends where the next one starts. */
		end = strstr(p, "\nbuffer=");
	}
	snprintf(needle, sizeof(needle), "%s=", key);
	for (const char *line = p; *line; line++) {
		size_t n;

		if (end && line > end)
			break;
		if (strncmp(line, needle, strlen(needle)) == 0) {
			n = strcspn(line + strlen(needle), "\n");
			snprintf(value, sizeof(value), "%.*s", (int)n, line + strlen(needle));
			return value;
		}
		line = strchr(line, '\n');
		if (!line)
			break;
	}
	return NULL;
}

long long tz_get_num(const char *reply, const char *record, const char *key)
{
	const char *v = tz_get(reply, record, key);

	ck_assert_msg(v != NULL, "no %s in reply '%s'", key, reply);
	return atoll(v);
}

bool tz_in_list(struct tz *t, const char *name)
{
	char rec[256];

	ck_assert_int_eq(tz_request(t, "list"), 0);
	snprintf(rec, sizeof(rec), "buffer=%s\nowner=zbd\n", name);
	return strstr(t->reply, rec) != NULL;
}
