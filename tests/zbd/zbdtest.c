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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "zbdtest.h"

static pid_t runner_pid;
static char marker[32]; /* in every name and directory this run creates */

void tz_init_runner(void)
{
	runner_pid = getpid();
	snprintf(marker, sizeof(marker), "zd%dx", (int)runner_pid);
}

const char *tz_name(const char *tag)
{
	char t[48];

	snprintf(t, sizeof(t), "%s-%s", marker, tag);
	return tu_unique_name(t);
}

static void sweep_dir(const char *dir)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, marker))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

void tz_sweep(void)
{
	char cmd[256];

	sweep_dir("/dev/shm");
	sweep_dir("/tmp/zerobuffer");
	/* Private directories of tests that failed before their teardown. */
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/zbdt-%s-*", marker);
	if (system(cmd) != 0)
		fprintf(stderr, "sweep: %s failed\n", cmd);
}

void tz_setup(struct tz *t, const char *conf)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(t, 0, sizeof(*t));
	t->notify_fd = -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/zbdt-%s-XXXXXX", marker);
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	/* Others (the non-admin test's "nobody") must reach the socket. */
	ck_assert_int_eq(chmod(t->dir, 0755), 0);
	snprintf(t->sock, sizeof(t->sock), "%s/zbd.sock", t->dir);
	if (conf) {
		FILE *f;

		snprintf(t->conf, sizeof(t->conf), "%s/zbd.conf", t->dir);
		f = fopen(t->conf, "w");
		ck_assert_ptr_nonnull(f);
		fputs(conf, f);
		fclose(f);
	}
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
	char notify[128];
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
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* zbd must not outlive a test that fails half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
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
static void notify_drain(struct tz *t)
{
	bool ready = false;

	if (t->notify_fd >= 0)
		while (notify_take(t, 0, &ready))
			;
}

bool tz_wait_ready(struct tz *t, int timeout_ms)
{
	double end = tz_now_ms() + timeout_ms;
	bool ready = t->ready;

	while (!ready) {
		int left = (int)(end - tz_now_ms());

		if (left <= 0 || !notify_take(t, left, &ready))
			return false;
	}
	return true;
}

void tz_notify_wait(struct tz *t, int timeout_ms, bool (*until)(struct tz *t))
{
	double end = tz_now_ms() + timeout_ms;
	bool ready = false;

	while (!until(t)) {
		int left = (int)(end - tz_now_ms());

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
	char cmd[160];

	int status = 0;

	if (t->pid > 0) {
		kill(t->pid, SIGTERM);
		status = tu_wait(t->pid, 5000);
		t->pid = 0;
	}
	if (t->notify_fd >= 0)
		close(t->notify_fd);
	t->notify_fd = -1;
	if (t->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "teardown: %s failed\n", cmd);
	}
	tu_cleanup_all();
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "zbd did not stop cleanly on SIGTERM: status %#x", status);
}

int tz_connect(struct tz *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	notify_drain(t);
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
	double end = tz_now_ms() + timeout_ms;
	size_t len = 0, done;

	out[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int left = (int)(end - tz_now_ms());

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
	notify_drain(t);
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

size_t tz_frame_size(uint64_t seq)
{
	return 1 + (size_t)((seq * 7919) % 300);
}

void tz_frame_fill(void *buf, uint64_t seq)
{
	uint8_t *p = buf;
	size_t n = tz_frame_size(seq);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 31 + i * 7);
}

bool tz_frame_ok(const void *data, size_t size, uint64_t seq)
{
	const uint8_t *p = data;

	if (size != tz_frame_size(seq))
		return false;
	for (size_t i = 0; i < size; i++)
		if (p[i] != (uint8_t)(seq * 31 + i * 7))
			return false;
	return true;
}

double tz_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

pid_t tz_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	return pid;
}

pid_t tz_kill_later(pid_t pid, int delay_ms, volatile double *killed_at_ms)
{
	pid_t k = fork();

	ck_assert_int_ge(k, 0);
	if (k == 0) {
		/* Only to let the victim's peer go to sleep first: the outcome does not
		 * depend on it (a peer that is not asleep yet learns the same). */
		nanosleep(&(struct timespec){ .tv_nsec = delay_ms * 1000000L }, NULL);
		*killed_at_ms = tz_now_ms();
		kill(pid, SIGKILL);
		_exit(0);
	}
	return k;
}

void *tz_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

int tz_run(Suite *s)
{
	SRunner *sr;
	int failed;

	tz_init_runner();
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tz_sweep();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
