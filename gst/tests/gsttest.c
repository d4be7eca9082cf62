/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gsttest.h"

/* The base plugins the tests use, from GStreamer's own plugin directory. */
static const char *const base_plugins[] = {
	"libgstcoreelements.so", "libgstvideotestsrc.so", "libgstvideoconvertscale.so",
	"libgstvideorate.so",	 "libgstapp.so",
};

static char marker[32];	  /* in every name and directory of this run */
static char private[128]; /* /tmp/gstt-MARKER: plugins, registry, zbd dirs */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void gt_init_runner(void)
{
	char path[256], target[512], registry[512];

	snprintf(marker, sizeof(marker), "gst%dx", (int)getpid());
	snprintf(private, sizeof(private), "/tmp/gstt-%s", marker);
	if (mkdir(private, 0755) < 0 && errno != EEXIST) {
		perror(private);
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/plugins", private);
	mkdir(path, 0755);
	for (size_t i = 0; i < sizeof(base_plugins) / sizeof(base_plugins[0]); i++) {
		snprintf(target, sizeof(target), "%s/%s", GT_SYSTEM_PLUGINS, base_plugins[i]);
		snprintf(registry, sizeof(registry), "%s/%s", path, base_plugins[i]);
		if (symlink(target, registry) < 0 && errno != EEXIST) {
			perror(registry);
			exit(99);
		}
	}
	/* Children (the peers) inherit all of this. The registry is scanned in
	 * process (no gst-plugin-scanner), which the sanitizer build needs. */
	setenv("GST_PLUGIN_SYSTEM_PATH_1_0", path, 1);
	snprintf(registry, sizeof(registry), "%s/registry.bin", private);
	setenv("GST_REGISTRY_1_0", registry, 1);
	setenv("GST_REGISTRY_FORK", "no", 1);
	setenv("GST_REGISTRY_UPDATE", "yes", 1);
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

void gt_sweep(void)
{
	char cmd[256];

	sweep_dir("/dev/shm");
	sweep_dir("/tmp/zerobuffer");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", private);
	if (system(cmd) != 0)
		fprintf(stderr, "sweep: %s failed\n", cmd);
}

const char *gt_name(const char *tag)
{
	static char name[128];
	static unsigned n;

	/* Check forks each test from the runner: the pid keeps names of
	 * different tests apart, the counter those of one test. */
	snprintf(name, sizeof(name), "%s-%d-%s-%u", marker, (int)getpid(), tag, n++);
	return name;
}

const char *gt_dir(void)
{
	static char dir[192];

	snprintf(dir, sizeof(dir), "%s/d-XXXXXX", private);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

const char *gt_peer(void)
{
	const char *peer = getenv("ZBGST_PEER");

	ck_assert_msg(peer != NULL, "ZBGST_PEER (path of zbgst-peer) is not set");
	return peer;
}

void gt_spawn(struct gt_proc *p, char *const argv[])
{
	int fds[2];

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	p->fd = fds[0];
}

int gt_readline(struct gt_proc *p, char *line, size_t size, int timeout_ms)
{
	double end = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		struct pollfd pfd;
		ssize_t n;
		int left;

		if (nl) {
			size_t l = (size_t)(nl - p->buf);

			snprintf(line, size, "%.*s", (int)l, p->buf);
			memmove(p->buf, nl + 1, p->len - l - 1);
			p->len -= l + 1;
			return 1;
		}
		if (p->fd < 0)
			return 0;
		left = (int)(end - now_ms());
		if (left < 0)
			return -1;
		pfd = (struct pollfd){ .fd = p->fd, .events = POLLIN };
		if (poll(&pfd, 1, left) <= 0)
			continue;
		ck_assert_uint_lt(p->len, sizeof(p->buf));
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0) {
			close(p->fd);
			p->fd = -1;
			if (p->len) { /* a last line without newline */
				snprintf(line, size, "%.*s", (int)p->len, p->buf);
				p->len = 0;
				return 1;
			}
			return 0;
		}
		p->len += (size_t)n;
	}
}

bool gt_expect(struct gt_proc *p, const char *prefix, char *line, size_t size, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		int left = (int)(end - now_ms());
		int r = gt_readline(p, buf, sizeof(buf), left > 0 ? left : 0);

		if (r <= 0)
			return false;
		if (strncmp(buf, prefix, strlen(prefix)) == 0) {
			if (line)
				snprintf(line, size, "%s", buf);
			return true;
		}
	}
}

/* Wait up to timeout_ms for `pid` to exit (a pidfd says when), reading and
 * dropping what arrives on *drain_fd meanwhile so that the child never blocks
 * on a full pipe. The raw status, or -1 on timeout (the child is then killed). */
static int wait_exit(pid_t pid, int timeout_ms, int *drain_fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	double end = now_ms() + timeout_ms;
	int status = -1;

	/* Without pidfd_open (valgrind 3.19 lacks it) the wait is a poll of
	 * waitpid every 10 ms. */
	ck_assert(pidfd >= 0 || errno == ENOSYS);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = pidfd, .events = POLLIN },
					 { .fd = drain_fd ? *drain_fd : -1, .events = POLLIN } };
		int left = (int)(end - now_ms());

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			status = -1;
			break;
		}
		if (pidfd < 0 && left > 10)
			left = 10;
		if (poll(pfd, 2, left) > 0 && (pfd[1].revents & (POLLIN | POLLHUP))) {
			char sink[4096];

			if (read(*drain_fd, sink, sizeof(sink)) <= 0) {
				close(*drain_fd);
				*drain_fd = -1;
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return status;
}

int gt_wait(struct gt_proc *p, int timeout_ms)
{
	int status = wait_exit(p->pid, timeout_ms, &p->fd);

	p->pid = 0;
	return status;
}

void gt_kill(struct gt_proc *p)
{
	int status;

	ck_assert_int_gt(p->pid, 0);
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
}

void gt_proc_close(struct gt_proc *p)
{
	if (p->pid > 0)
		gt_kill(p);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

void gt_zbd_start(struct gt_zbd *z)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *zbd = getenv("ZBD");
	double end;

	ck_assert_msg(zbd != NULL, "ZBD (path of the zbd binary) is not set");
	memset(z, 0, sizeof(*z));
	snprintf(z->dir, sizeof(z->dir), "%s", gt_dir());
	snprintf(z->sock, sizeof(z->sock), "%s/zbd.sock", z->dir);
	z->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(z->notify_fd, 0);
	ck_assert_uint_lt(
		(size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%.80s/notify.sock", z->dir),
		sizeof(sa.sun_path));
	ck_assert_int_eq(bind(z->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	z->pid = fork();
	ck_assert_int_ge(z->pid, 0);
	if (z->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execl(zbd, zbd, "-s", z->sock, "-r", z->dir, (char *)NULL);
		_exit(127);
	}
	/* READY=1 comes once the socket listens. */
	end = now_ms() + 10000;
	for (;;) {
		struct pollfd pfd = { .fd = z->notify_fd, .events = POLLIN };
		char msg[4096];
		ssize_t n;
		int left = (int)(end - now_ms());

		ck_assert_msg(left > 0, "zbd did not send READY=1 within 10 s");
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = recv(z->notify_fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		if (strstr(msg, "READY=1"))
			break;
	}
}

void gt_zbd_stop(struct gt_zbd *z)
{
	int status = 0;

	if (z->pid > 0) {
		/* Drain notifications: zbd's sd_notify may block on a full queue. */
		char msg[4096];

		while (recv(z->notify_fd, msg, sizeof(msg), MSG_DONTWAIT) > 0)
			;
		kill(z->pid, SIGTERM);
		status = wait_exit(z->pid, 10000, &z->notify_fd);
		z->pid = 0;
	}
	if (z->notify_fd >= 0)
		close(z->notify_fd);
	z->notify_fd = -1;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "zbd did not stop cleanly on SIGTERM: status %#x", status);
}

GstMessageType gt_run_pipeline(GstElement *pipeline, int timeout_ms, char **ret_error)
{
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessageType type = GST_MESSAGE_UNKNOWN;
	GstMessage *msg;

	gst_element_set_state(pipeline, GST_STATE_PLAYING);
	msg = gst_bus_timed_pop_filtered(bus, (GstClockTime)timeout_ms * GST_MSECOND,
					 GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	if (msg) {
		type = GST_MESSAGE_TYPE(msg);
		if (type == GST_MESSAGE_ERROR && ret_error) {
			GError *err = NULL;
			gchar *debug = NULL;

			gst_message_parse_error(msg, &err, &debug);
			*ret_error = g_strdup_printf("%s | %s", err->message, debug ? debug : "");
			g_error_free(err);
			g_free(debug);
		}
		gst_message_unref(msg);
	}
	/* Stopping must work whatever happened. */
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	gst_object_unref(bus);
	gst_object_unref(pipeline);
	return type;
}

GstMessageType gt_run(const char *desc, int timeout_ms, char **ret_error)
{
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(desc, &err);

	ck_assert_msg(pipeline != NULL, "cannot build \"%s\": %s", desc, err ? err->message : "?");
	ck_assert_msg(err == NULL, "building \"%s\": %s", desc, err->message);
	return gt_run_pipeline(pipeline, timeout_ms, ret_error);
}
