/* SPDX-License-Identifier: MIT */
/*
 * Running zbd for the scenarios that need it (4 with zbd, 5 and 6): a private
 * instance on a socket in a temporary directory, driven with raw request
 * lines (doc/control-protocol.md), so these figures include nothing of the
 * client library but the socket round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

struct zbd {
	pid_t pid;
	char dir[64];
	char sock[96]; /* fits sun_path */
	int fd;	       /* one connection, kept for every request */
};

static struct zbd zbd = { .pid = -1, .fd = -1 };

static int zbd_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", zbd.sock);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

pid_t zbd_pid(void)
{
	return zbd.pid;
}

bool zbd_start(void)
{
	bool exited = false;

	if (zbd.pid > 0)
		return true;
	if (!opt.zbd[0] || tu_mkdtemp(zbd.dir, sizeof(zbd.dir)) < 0)
		return false;
	snprintf(zbd.sock, sizeof(zbd.sock), "%s/zbd.sock", zbd.dir);
	zbd.pid = fork();
	if (zbd.pid == 0) {
		char log[128];
		int fd;

		/* Its log goes to a file beside the socket: our output is the table. */
		snprintf(log, sizeof(log), "%s/zbd.log", zbd.dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(opt.zbd, "zbd", "-s", zbd.sock, "-r", zbd.dir, (char *)NULL);
		_exit(127);
	}
	if (TU_UNTIL((zbd.fd = zbd_connect()) >= 0 ||
			     (exited = waitpid(zbd.pid, NULL, WNOHANG) == zbd.pid),
		     10000, 10000) &&
	    zbd.fd >= 0)
		return true;
	bench_fail("zbd did not start (log: %s/zbd.log)", zbd.dir);
	if (!exited) {
		kill(zbd.pid, SIGKILL);
		tu_wait(zbd.pid, 5000);
	}
	zbd.pid = -1;
	return false;
}

/*
 * Send one request line and read its reply (everything up to the blank line
 * after status=) into buf. Returns the status, or a negative errno of ours.
 */
int zbd_request(const char *line, char *buf, size_t size)
{
	char req[512];
	size_t have = 0;
	int n = snprintf(req, sizeof(req), "%s\n", line);

	if (zbd.fd < 0)
		return -ENOTCONN;
	if (write_full(zbd.fd, req, (size_t)n) < 0)
		return -EIO;
	for (;;) {
		ssize_t k;
		char *st;

		if (have + 1 >= size)
			return -ENOBUFS;
		k = read(zbd.fd, buf + have, size - have - 1);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			return -EIO;
		}
		have += (size_t)k;
		buf[have] = '\0';
		st = strstr(buf, "status=");
		while (st && st != buf && st[-1] != '\n')
			st = strstr(st + 1, "status=");
		if (st && strstr(st, "\n\n"))
			return atoi(st + 7);
	}
}

void zbd_stop(void)
{
	pid_t pid;

	if (zbd.pid <= 0)
		return;
	close(zbd.fd);
	zbd.fd = -1;
	kill(zbd.pid, SIGTERM);
	pid = zbd.pid;
	zbd.pid = -1;
	if (tu_wait_exit(pid, 10000) != 0) {
		bench_fail("zbd did not stop cleanly (log: %s/zbd.log)", zbd.dir);
		return; /* its directory stays, for the log */
	}
	tu_rmtree(zbd.dir); /* socket, state file, our copy of its log */
}

/* CPU time of a process, in ns: /proc/PID/schedstat (ns, the main thread:
 * zbd has one), else utime + stime of /proc/PID/stat (clock ticks). */
static int64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (f) {
		int n = fscanf(f, "%llu", &ut);

		fclose(f);
		if (n == 1)
			return (int64_t)ut;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	/* Fields after the command name, which may hold spaces: from the last ')'. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

static double proc_rss_mib(pid_t pid)
{
	char path[64], line[256];
	double kib = NAN;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf", &kib) == 1)
			break;
	fclose(f);
	return kib / 1024;
}

static void broker_cost(void)
{
	static const struct col cols[] = {
		{ "mframes_per_s", "Mframes/s", 10, 3 },
		{ "gb_per_s", "GB/s", 8, 2 },
		{ "wall_s", "wall s", 7, 2 },
		{ "zbd_cpu_ms", "zbd cpu ms", 10, 1 },
		{ "zbd_cpu_pct", "zbd cpu %", 9, 3 },
	};
	static const size_t sizes[] = { 64, 1u << 20 };
	static const char *const labels[] = { "64 B", "1 MiB" };
	char title[160];

	snprintf(title, sizeof(title),
		 "5. Broker cost: zbd's CPU (/proc/PID/schedstat) while scenario 1 streams through "
		 "a "
		 "zbd-owned %llu MiB buffer",
		 (unsigned long long)(opt.ring >> 20));
	out_section("broker_cost", title, cols, 5);
	for (size_t i = 0; i < 2; i++) {
		struct tp_owned res;

		if (!tp_run_zbd_owned(sizes[i], proc_cpu_ns, &res)) {
			out_skip(labels[i], "zb write (copy)", "failed (see stderr)");
			continue;
		}
		out_row(labels[i], "zb write (copy)",
			(double[]){ res.fps / 1e6, res.gbs, res.wall_s, res.broker_cpu_ns / 1e6,
				    res.broker_cpu_ns / 1e9 / res.wall_s * 100 });
	}
	out_note("zbd's CPU time from /proc/PID/schedstat over the whole run (buffer set-up, "
		 "warm-up lap and timed part); zbd scans every buffer every 50 ms.");
}

static void scale(void)
{
	static const struct col cols[] = {
		{ "buffers", "buffers", 8, 0 },	      { "create_ms", "create ms", 10, 1 },
		{ "per_create_us", "us each", 8, 0 }, { "zbd_rss_mib", "RSS MiB", 8, 1 },
		{ "health_ms", "health ms", 10, 2 },  { "destroy_ms", "destroy ms", 10, 1 },
	};
	unsigned n = opt.smoke ? 50 : 1000, made = 0;
	size_t cap = 64u << 20;
	char *reply = malloc(cap), line[256], name[64];
	int64_t t0, t_create, t_health, t_destroy;
	double rss, rss0;
	int st;

	out_section("scale", "6. Scale: zbd owning many 64 KiB buffers (one control connection)",
		    cols, 6);
	if (!reply)
		return;
	rss0 = proc_rss_mib(zbd.pid);
	t0 = tu_now_ns();
	for (; made < n; made++) {
		snprintf(name, sizeof(name), "%sscale-%u", tu_name_prefix(), made);
		snprintf(line, sizeof(line), "create %s payload=64K", name);
		st = zbd_request(line, reply, cap);
		if (st != 0) {
			bench_fail("scale: create %s: status %d", name, st);
			break;
		}
	}
	t_create = tu_now_ns() - t0;
	rss = proc_rss_mib(zbd.pid);
	t0 = tu_now_ns();
	st = zbd_request("health", reply, cap);
	t_health = tu_now_ns() - t0;
	if (st != 0)
		bench_fail("scale: health: status %d", st);
	t0 = tu_now_ns();
	for (unsigned i = 0; i < made; i++) {
		snprintf(name, sizeof(name), "%sscale-%u", tu_name_prefix(), i);
		snprintf(line, sizeof(line), "destroy %s force", name);
		if (zbd_request(line, reply, cap) != 0)
			bench_fail("scale: destroy %s failed", name);
	}
	t_destroy = tu_now_ns() - t0;
	out_row("zbd", "create / health / destroy",
		(double[]){ made, t_create / 1e6, made ? t_create / 1e3 / made : NAN, rss,
			    st == 0 ? t_health / 1e6 : NAN, t_destroy / 1e6 });
	out_note("zbd RSS was %.1f MiB before the buffers were created; health is one "
		 "request answering for all of them.",
		 rss0);
	free(reply);
}

void scenario_zbd(void)
{
	const char *why = opt.zbd[0] ? "zbd did not start" : "zbd not built";
	bool up = zbd_start();

	if (scenario_wanted(5)) {
		if (up) {
			broker_cost();
		} else {
			out_section("broker_cost", "5. Broker cost", NULL, 0);
			out_skip("broker CPU", "zbd during scenario 1", why);
		}
	}
	if (scenario_wanted(6)) {
		if (up) {
			scale();
		} else {
			out_section("scale", "6. Scale", NULL, 0);
			out_skip("1000 buffers", "create / health / destroy", why);
		}
	}
	zbd_stop();
}
