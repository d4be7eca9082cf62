/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <dirent.h>
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

#include "zbclient.h"
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

/* In the child: the stored descriptors at 3, 4, ... as systemd passes them. */
static void pass_stored(struct tz *t)
{
	char names[TZ_FDSTORE_MAX * 257] = "", num[32];
	int high[TZ_FDSTORE_MAX];

	if (!t->fdstore || t->n_stored == 0)
		return;
	/* Out of the way first: a stored fd may sit where another must go. */
	for (unsigned i = 0; i < t->n_stored; i++) {
		high[i] = fcntl(t->stored[i].fd, F_DUPFD, 100);
		if (high[i] < 0)
			_exit(126);
	}
	for (unsigned i = 0; i < t->n_stored; i++) {
		if (dup2(high[i], 3 + (int)i) < 0)
			_exit(126);
		close(high[i]);
		if (i)
			strcat(names, ":");
		strcat(names, t->stored[i].name);
	}
	snprintf(num, sizeof(num), "%u", t->n_stored);
	setenv("LISTEN_FDS", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
}

int tz_stored_fd(const struct tz *t, const char *fdname)
{
	for (unsigned i = 0; i < t->n_stored; i++)
		if (strcmp(t->stored[i].name, fdname) == 0)
			return t->stored[i].fd;
	return -1;
}

/* What systemd does with FDSTORE=1 and FDSTOREREMOVE=1 (t->fdstore). */
static void fdstore_message(struct tz *t, const char *msg, int fd)
{
	const char *fn = strstr(msg, "FDNAME=");
	char name[256] = "stored";
	struct stat a, b;

	if (fn)
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(fn + 7, "\n"), fn + 7);
	if (strstr(msg, "FDSTOREREMOVE=1")) {
		for (unsigned i = 0; i < t->n_stored;) {
			if (strcmp(t->stored[i].name, name) != 0) {
				i++;
				continue;
			}
			close(t->stored[i].fd);
			t->stored[i] = t->stored[--t->n_stored];
		}
	}
	if (fd < 0)
		return;
	if (!t->fdstore || !strstr(msg, "FDSTORE=1") || t->n_stored == TZ_FDSTORE_MAX ||
	    fstat(fd, &a) < 0) {
		close(fd);
		return;
	}
	for (unsigned i = 0; i < t->n_stored; i++)
		if (fstat(t->stored[i].fd, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			close(fd); /* the same file again: kept once */
			return;
		}
	snprintf(t->stored[t->n_stored].name, sizeof(t->stored[0].name), "%s", name);
	t->stored[t->n_stored++].fd = fd;
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
		if (!prefix)
			pass_stored(t);
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
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	int fd = -1;
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	n = recvmsg(t->notify_fd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return false;
	msg[n] = '\0';
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got); /* zbd sends one per message */
		}
	}
	if (fd >= 0 || strstr(msg, "FDSTOREREMOVE=1"))
		fdstore_message(t, msg, fd);
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
	/* What zbd sent before it died, read as systemd reads it at once: a lock
	 * descriptor (FDSTORE=1) left in the socket's queue would hold its flock. */
	tz_notify_drain(t);
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
	while (t->n_stored)
		close(t->stored[--t->n_stored].fd);
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

#define STREAM_TIMEOUT_MS 20000

static int stream_writer(void *arg)
{
	const struct tz_stream *s = arg;
	uint8_t buf[TU_FRAME_MAX];
	struct zb_writer *w;

	if (zb_writer_open(&w, s->name) < 0)
		return 10;
	for (uint64_t seq = 1; seq <= s->frames; seq++) {
		tu_frame_fill(buf, seq);
		if (zb_writer_write(w, buf, tu_frame_size(seq), STREAM_TIMEOUT_MS) < 0)
			return 11;
	}
	zb_writer_close(w);
	return 0;
}

static int stream_reader(void *arg)
{
	const struct tz_stream *s = arg;
	struct zb_reader *r;
	struct zb_frame f;

	if (zb_reader_open(&r, s->name) < 0)
		return 20;
	for (uint64_t seq = 1; seq <= s->frames; seq++) {
		if (zb_reader_read(r, &f, STREAM_TIMEOUT_MS) < 0)
			return 21;
		if (f.sequence != seq || !tu_frame_ok(f.data, f.size, seq))
			return 22;
		zb_reader_release(r, &f);
	}
	zb_reader_close(r);
	return 0;
}

void tz_stream_start(struct tz *t, struct tz_stream *s, const char *name, unsigned frames)
{
	*s = (struct tz_stream){ .name = name, .frames = frames };
	ck_assert_msg(tz_request(t, "create %s payload=4K", name) == 0, "create %s: %s", name,
		      t->reply);
	/* The reader first: a writer of ours waits for no one, but the frames
	 * must not be mistaken for a finished stream. */
	s->reader = tu_fork(stream_reader, s);
	s->writer = tu_fork(stream_writer, s);
}

void tz_stream_finish(struct tz *t, struct tz_stream *s)
{
	int w = tu_wait_exit(s->writer, STREAM_TIMEOUT_MS);
	int r = tu_wait_exit(s->reader, STREAM_TIMEOUT_MS);

	ck_assert_msg(w == 0 && r == 0, "stream through %s: writer exit %d, reader exit %d",
		      s->name, w, r);
	ck_assert_msg(tz_request(t, "health %s", s->name) == 0, "health %s: %s", s->name, t->reply);
	ck_assert_ptr_nonnull(tz_get(t->reply, NULL, "state"));
	ck_assert_msg(tz_request(t, "destroy %s", s->name) == 0, "destroy %s: %s", s->name,
		      t->reply);
}

void tz_serves_another(struct tz *t, const char *name)
{
	struct tz_stream s;

	tz_stream_start(t, &s, name, 10000);
	tz_stream_finish(t, &s);
}

void tz_still_serving(struct tz *t, struct tz_stream *during)
{
	tz_stream_finish(t, during);
	tz_serves_another(t, tu_unique_name("after"));
}

pid_t tz_zbctl_start(struct tz *t, const char *in, const char *err, char *const args[])
{
	char *argv[30] = { "-s", t->sock };
	const char *zbctl = getenv("ZBCTL");

	ck_assert_msg(zbctl, "ZBCTL is not set (run through meson test)");
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(i + 2, 29);
		argv[i + 2] = args[i];
	}
	return tu_spawn_io(zbctl, argv, in, NULL, err);
}

int tz_zbctl(struct tz *t, const char *in, char *errbuf, size_t size, char *const args[])
{
	char path[sizeof(t->dir) + 16];
	int code;

	snprintf(path, sizeof(path), "%s/zbctl.err", t->dir);
	code = tu_exit_status(tu_wait(tz_zbctl_start(t, in, path, args), 20000));
	ck_assert_int_ge(tu_read_file(path, errbuf, size), 0);
	return code;
}

const char *tz_state(struct tz *t, const char *name)
{
	static char state[32];
	char rec[ZB_NAME_MAX + 16];

	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(t, "health %s", name), 0);
	snprintf(state, sizeof(state), "%s", tz_get(t->reply, rec, "state"));
	return state;
}

bool tz_watches(struct tz *t, pid_t pid)
{
	char path[300], line[64], want[32];
	bool found = false;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)t->pid);
	snprintf(want, sizeof(want), "Pid:\t%d\n", (int)pid);
	dir = opendir(path);
	while (dir && !found && (de = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)t->pid, de->d_name);
		f = fopen(path, "re");
		while (f && !found && fgets(line, sizeof(line), f))
			found = strcmp(line, want) == 0;
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}
