/* SPDX-License-Identifier: MIT */
/*
 * zbbench's side of the external peers (peer.h): finding their programs,
 * running them, and iceoryx's RouDi daemon, which zbbench starts with a
 * configuration of its own (mempools for the frame sizes of the run) and
 * stops at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "peer.h"

static const char *const programs[PEER_N] = {
	[PEER_ICEORYX] = "zbbench-iceoryx",
	[PEER_UPSTREAM] = "zbbench-upstream",
};
static const char *const not_built[PEER_N] = {
	[PEER_ICEORYX] = "not built (needs libiceoryx-binding-c-dev and cmake when configuring)",
	[PEER_UPSTREAM] = "not built (needs ../shared/upstream-zerobuffer, g++ and the Boost "
			  "packages of its README when configuring)",
};

static char path[PEER_N][4096];
static char absent[PEER_N][200];
static pid_t roudi = -1;
static char roudi_dir[64];
static size_t roudi_sizes[8];
static int roudi_nsizes;

static void find_program(enum peer_id p)
{
	char self[2048];

	if (!bench_dir(self, sizeof(self)))
		return;
	snprintf(path[p], sizeof(path[p]), "%s/%s", self, programs[p]);
	if (access(path[p], X_OK) < 0) {
		path[p][0] = '\0';
		snprintf(absent[p], sizeof(absent[p]), "%s", not_built[p]);
	}
}

/* A RouDi already running owns iceoryx's fixed shared-memory names. */
static pid_t other_roudi(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	while (d && (e = readdir(d))) {
		char p[300], comm[64];

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		if (tu_read_file(p, comm, sizeof(comm)) > 0 && strncmp(comm, "iox-roudi", 9) == 0)
			found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static bool write_roudi_config(const char *file, const size_t *sizes, int n)
{
	size_t pools[16];
	int np = 0;
	FILE *f = fopen(file, "w");

	if (!f)
		return false;
	for (int i = 0; i < n && np < 16; i++)
		pools[np++] = (sizes[i] + 63) & ~(size_t)63;
	qsort(pools, (size_t)np, sizeof(pools[0]), cmp_size);
	fprintf(f, "[general]\nversion = 1\n\n[[segment]]\n");
	for (int i = 0; i < np; i++) {
		if (i > 0 && pools[i] == pools[i - 1])
			continue;
		fprintf(f, "\n[[segment.mempool]]\nsize = %zu\ncount = %llu\n", pools[i],
			(unsigned long long)peer_iceoryx_chunks(pools[i]));
	}
	return fclose(f) == 0;
}

/* Start iox-roudi with our configuration and wait for "ready for clients". */
static void roudi_start(const size_t *sizes, int n)
{
	char config[128], out[4096];
	const char *exe = "/usr/bin/iox-roudi";
	size_t got = 0;
	int fds[2];
	pid_t other = other_roudi();

	if (other) {
		snprintf(absent[PEER_ICEORYX], sizeof(absent[0]),
			 "another RouDi (pid %d) owns iceoryx's shared memory", (int)other);
		return;
	}
	if (access(exe, X_OK) < 0) {
		snprintf(absent[PEER_ICEORYX], sizeof(absent[0]), "no %s (Debian package iceoryx)",
			 exe);
		return;
	}
	if (tu_mkdtemp(roudi_dir, sizeof(roudi_dir)) < 0 ||
	    (snprintf(config, sizeof(config), "%s/roudi.toml", roudi_dir),
	     !write_roudi_config(config, sizes, n)) ||
	    pipe(fds) < 0) {
		snprintf(absent[PEER_ICEORYX], sizeof(absent[0]),
			 "cannot write RouDi's configuration: %s", strerror(errno));
		return;
	}
	roudi = fork();
	if (roudi == 0) {
		/* Never outlive the benchmark, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execl(exe, exe, "-c", config, "-l", "warning", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < sizeof(out)) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t k;

		if (poll(&pfd, 1, 20000) <= 0 ||
		    (k = read(fds[0], out + got, sizeof(out) - 1 - got)) <= 0)
			break;
		got += (size_t)k;
		out[got] = '\0';
		if (strstr(out, "RouDi is ready for clients"))
			break;
	}
	out[got] = '\0';
	close(fds[0]);
	if (!strstr(out, "RouDi is ready for clients")) {
		snprintf(absent[PEER_ICEORYX], sizeof(absent[0]), "RouDi did not start");
		peers_stop();
	}
}

void peers_start(const size_t *sizes, int n)
{
	for (int p = 0; p < PEER_N; p++)
		find_program(p);
	roudi_nsizes = n < 8 ? n : 8;
	memcpy(roudi_sizes, sizes, (size_t)roudi_nsizes * sizeof(sizes[0]));
}

void peers_stop(void)
{
	if (roudi > 0) {
		kill(roudi, SIGTERM);
		if (tu_wait(roudi, 15000) < 0) {
			kill(roudi, SIGKILL);
			tu_wait(roudi, 5000);
		}
		roudi = -1;
	}
	if (roudi_dir[0])
		tu_rmtree(roudi_dir);
	roudi_dir[0] = '\0';
}

const char *peer_absent(enum peer_id p)
{
	/* RouDi starts when iceoryx is first asked for, and only then. */
	if (p == PEER_ICEORYX && !absent[p][0] && roudi < 0)
		roudi_start(roudi_sizes, roudi_nsizes);
	return absent[p][0] ? absent[p] : NULL;
}

const char *peer_name(enum peer_id p)
{
	return p == PEER_ICEORYX ? "iceoryx" : "upstream";
}

/* Run the peer's program with `args`; its stdout in a FILE to read. */
static FILE *run(enum peer_id p, char *const args[], pid_t *ret_pid)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return NULL;
	pid = fork();
	if (pid == 0) {
		/* The program pins its own two processes (PIN), from every CPU. */
		peer_unpin();
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(path[p], args);
		_exit(127);
	}
	close(fds[1]);
	*ret_pid = pid;
	return fdopen(fds[0], "r");
}

static bool finish(enum peer_id p, FILE *f, pid_t pid, const char *what)
{
	int code;

	fclose(f);
	code = tu_wait_exit(pid, 120000);
	if (code != 0)
		bench_fail("%s %s: exit code %d (see stderr)", peer_name(p), what, code);
	return code == 0;
}

bool peer_tp(enum peer_id p, size_t size, double seconds, char mode, double *ret_fps)
{
	char s_size[32], s_sec[32], s_ring[32];
	char *args[] = { path[p], "tp", s_size, s_sec, NULL, s_ring, "block", opt.pin ? "1" : "0",
			 NULL };
	unsigned long long frames = 0;
	long long ns = 0;
	pid_t pid;
	FILE *f;
	int got;

	args[4] = mode == 'c' ? "copy" : mode == 'f' ? "fill" : "stamp";
	snprintf(s_size, sizeof(s_size), "%zu", size);
	snprintf(s_sec, sizeof(s_sec), "%g", seconds);
	snprintf(s_ring, sizeof(s_ring), "%llu", (unsigned long long)opt.ring);
	f = run(p, args, &pid);
	if (!f)
		return false;
	got = fscanf(f, "frames=%llu ns=%lld", &frames, &ns);
	if (!finish(p, f, pid, "throughput") || got != 2 || ns <= 0)
		return false;
	*ret_fps = (double)frames / ((double)ns / 1e9);
	return true;
}

bool peer_rt(enum peer_id p, size_t size, unsigned n, bool busy, uint64_t *ns, int64_t *ret_cpu,
	     int64_t *ret_wall)
{
	char s_size[32], s_n[32];
	char *args[] = { path[p], "rt", s_size, s_n, busy ? "busy" : "block", opt.pin ? "1" : "0",
			 NULL };
	unsigned got = 0;
	long long cpu = 0, wall = 0;
	pid_t pid;
	FILE *f;
	bool ok;

	snprintf(s_size, sizeof(s_size), "%zu", size);
	snprintf(s_n, sizeof(s_n), "%u", n);
	f = run(p, args, &pid);
	if (!f)
		return false;
	ok = fscanf(f, "samples=%u cpu_ns=%lld wall_ns=%lld", &got, &cpu, &wall) == 3 && got == n;
	for (unsigned i = 0; ok && i < n; i++)
		ok = fscanf(f, "%" SCNu64, &ns[i]) == 1;
	if (!finish(p, f, pid, "round trips") || !ok)
		return false;
	*ret_cpu = cpu;
	*ret_wall = wall;
	return true;
}
