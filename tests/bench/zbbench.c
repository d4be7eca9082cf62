/* SPDX-License-Identifier: MIT */
/*
 * zbbench: libzbclient's throughput, latency, wait policy and dead-peer
 * detection, each next to the baselines a user would otherwise pick (pipe,
 * socketpair, memcpy, a spinning cache line), measured in the same run.
 * Run with --help for the options; tests/bench/PERFORMANCE.md explains the table.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct bench_opts opt = {
	.duration_s = 1.0,
	.ring = 64u << 20,
	.rt_small = 100000,
	.rt_large = 2000,
	.kills = 20,
	.spin_us = -1,
};

/* ------------------------------------------------------------------ output */

static const struct col *cur_cols;
static int cur_ncols;
static const char *cur_id;
static bool json_first_row = true;
/* Where the JSON goes: stdout (--json, no table), a file (--json=FILE, beside
 * the table, so one run gives both), or nowhere. */
static FILE *jf;

static void cpu_model(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, size, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(buf, size, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static void json_str(const char *s)
{
	fputc('"', jf);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(jf, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(jf, "\\u%04x", *s);
		else
			fputc(*s, jf);
	}
	fputc('"', jf);
}

void out_begin(void)
{
	char model[256];
	struct utsname u;

	cpu_model(model, sizeof(model));
	uname(&u);
	if (jf) {
		fprintf(jf, "{\"machine\":{\"cpus\":%ld,\"model\":", sysconf(_SC_NPROCESSORS_ONLN));
		json_str(model);
		fprintf(jf, ",\"kernel\":");
		json_str(u.release);
		fprintf(jf,
			"},\"options\":{\"smoke\":%s,\"verify\":%s,\"pin\":%s,\"duration_s\":%g,"
			"\"ring\":%llu},\"results\":[",
			opt.smoke ? "true" : "false", opt.verify ? "true" : "false",
			opt.pin ? "true" : "false", opt.duration_s, (unsigned long long)opt.ring);
		/* Forked children must not inherit unwritten JSON. */
		fflush(jf);
	}
	if (opt.json)
		return;
	printf("zbbench: %ld CPUs, %s, Linux %s%s%s%s\n", sysconf(_SC_NPROCESSORS_ONLN), model,
	       u.release, opt.smoke ? ", smoke run (figures meaningless)" : "",
	       opt.verify ? ", --verify (every byte checked)" : "",
	       opt.pin ? ", --pin (each side of a pair on its own CPU)" : "");
}

void out_section(const char *id, const char *title, const struct col *cols, int ncols)
{
	cur_id = id;
	cur_cols = cols;
	cur_ncols = ncols;
	if (opt.json)
		return;
	printf("\n%s\n%-18s %-22s", title, "case", "impl");
	for (int i = 0; i < ncols; i++)
		printf(" %*s", cols[i].width, cols[i].head);
	putchar('\n');
	fflush(stdout);
}

static void json_row_start(const char *label, const char *impl)
{
	fprintf(jf, "%s\n{\"scenario\":", json_first_row ? "" : ",");
	json_first_row = false;
	json_str(cur_id);
	fprintf(jf, ",\"case\":");
	json_str(label);
	fprintf(jf, ",\"impl\":");
	json_str(impl);
}

void out_row(const char *label, const char *impl, const double *vals)
{
	if (jf) {
		json_row_start(label, impl);
		for (int i = 0; i < cur_ncols; i++) {
			fprintf(jf, ",\"%s\":", cur_cols[i].key);
			if (isnan(vals[i]))
				fprintf(jf, "null");
			else
				fprintf(jf, "%.*f", cur_cols[i].prec < 3 ? 3 : cur_cols[i].prec,
					vals[i]);
		}
		fprintf(jf, "}");
		fflush(jf);
	}
	if (opt.json)
		return;
	printf("%-18s %-22s", label, impl);
	for (int i = 0; i < cur_ncols; i++) {
		if (isnan(vals[i]))
			printf(" %*s", cur_cols[i].width, "-");
		else
			printf(" %*.*f", cur_cols[i].width, cur_cols[i].prec, vals[i]);
	}
	putchar('\n');
	fflush(stdout);
}

void out_skip(const char *label, const char *impl, const char *why)
{
	if (jf) {
		json_row_start(label, impl);
		fprintf(jf, ",\"skipped\":");
		json_str(why);
		fprintf(jf, "}");
		fflush(jf);
	}
	if (opt.json)
		return;
	printf("%-18s %-22s skipped: %s\n", label, impl, why);
	fflush(stdout);
}

void out_note(const char *fmt, ...)
{
	va_list ap;

	/* Notes explain the table; JSON readers have the numbers. */
	if (opt.json)
		return;
	printf("  note: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void out_end(void)
{
	if (jf) {
		fprintf(jf, "\n],\"failures\":%d}\n", bench_failures());
		fflush(jf);
		if (jf != stdout)
			fclose(jf);
	}
	if (!opt.json && bench_failures())
		printf("\n%d FAILURES (see stderr)\n", bench_failures());
}

/* ----------------------------------------------------------------- options */

bool scenario_wanted(int n)
{
	char want[8];
	const char *p;

	if (!opt.only)
		return true;
	snprintf(want, sizeof(want), "%d", n);
	for (p = opt.only; *p; p += strcspn(p, ","), p += *p == ',') {
		if (strncmp(p, want, strlen(want)) == 0 &&
		    (p[strlen(want)] == ',' || p[strlen(want)] == '\0'))
			return true;
	}
	return false;
}

bool impl_wanted(const char *name)
{
	return !opt.impl || strstr(name, opt.impl);
}

bool bench_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n <= 0)
		return false;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return true;
}

/* zbd is looked for beside us in the build tree unless --zbd names it. */
static void find_zbd(void)
{
	char self[2048];
	struct stat st;

	if (opt.zbd[0] || !bench_dir(self, sizeof(self)))
		return;
	snprintf(opt.zbd, sizeof(opt.zbd), "%s/../../zbd/zbd", self);
	if (stat(opt.zbd, &st) < 0 || !S_ISREG(st.st_mode) || access(opt.zbd, X_OK) < 0)
		opt.zbd[0] = '\0';
}

static void usage(FILE *f)
{
	fprintf(f, "usage: zbbench [options]\n"
		   "  --smoke         a seconds-long run that checks everything works\n"
		   "  --json          JSON instead of a table\n"
		   "  --json=FILE     the table, and JSON into FILE (for plot.py)\n"
		   "  --verify        readers check every byte of every frame\n"
		   "  --only=LIST     scenarios to run, e.g. 1,2 (1 throughput, 2 latency,\n"
		   "                  3 wait policy, 4 dead peer, 5 broker cost, 6 scale)\n"
		   "  --duration=S    seconds per throughput case (default 1)\n"
		   "  --round-trips=N round trips for 64 B and 4 KiB frames (default 100000)\n"
		   "  --kills=N       kills per dead-peer case (default 20)\n"
		   "  --size=N        only frames of N bytes in scenarios 1 and 2 (any N from 16)\n"
		   "  --impl=TEXT     only implementations whose name contains TEXT\n"
		   "  --spin=US       zb spin in scenario 1 (default: the library's)\n"
		   "  --pin           give the two processes of each pair a CPU each\n"
		   "  --zbd=PATH      the zbd executable (default: the build tree's, if built)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "smoke", no_argument, NULL, 's' },
		{ "json", optional_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'v' },
		{ "only", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "round-trips", required_argument, NULL, 'r' },
		{ "kills", required_argument, NULL, 'k' },
		{ "zbd", required_argument, NULL, 'z' },
		{ "size", required_argument, NULL, 'S' },
		{ "impl", required_argument, NULL, 'i' },
		{ "spin", required_argument, NULL, 'P' },
		{ "pin", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.smoke = true;
			break;
		case 'j':
			if (!optarg) {
				opt.json = true;
				jf = stdout;
			} else if (!(jf = fopen(optarg, "w"))) {
				fprintf(stderr, "zbbench: %s: %s\n", optarg, strerror(errno));
				return 2;
			}
			break;
		case 'v':
			opt.verify = true;
			break;
		case 'o':
			opt.only = optarg;
			break;
		case 'd':
			opt.duration_s = strtod(optarg, NULL);
			break;
		case 'r':
			opt.rt_small = (unsigned)strtoul(optarg, NULL, 10);
			opt.rt_large = opt.rt_small / 50 ? opt.rt_small / 50 : 1;
			break;
		case 'k':
			opt.kills = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'z':
			snprintf(opt.zbd, sizeof(opt.zbd), "%s", optarg);
			break;
		case 'i':
			opt.impl = optarg;
			break;
		case 'p':
			opt.pin = true;
			break;
		case 'P':
			opt.spin_us = atoi(optarg);
			break;
		case 'S':
			opt.size = strtoull(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || opt.duration_s <= 0 || opt.rt_small == 0 || opt.kills == 0) {
		usage(stderr);
		return 2;
	}
	if (opt.smoke) {
		/* Small enough for a shared CI machine, large enough to wrap every ring. */
		opt.duration_s = 0.05;
		opt.ring = 8u << 20;
		opt.rt_small = 2000;
		opt.rt_large = 20;
		opt.kills = 3;
	}
	/* A peer that dies must not take us with it through a write to its pipe. */
	signal(SIGPIPE, SIG_IGN);
	find_zbd();
	if (opt.verify)
		verify_init();

	out_begin();
	if (scenario_wanted(1) || scenario_wanted(2) || scenario_wanted(3)) {
		/* Every size scenarios 1 to 3 may run, for iceoryx's mempools. */
		size_t sizes[] = { 64, 1024, 4096, 65536, 1u << 20, FRAME_1080P, opt.size };

		peers_start(sizes, opt.size ? 7 : 6);
	}
	if (scenario_wanted(1))
		scenario_throughput();
	if (scenario_wanted(2) || scenario_wanted(3))
		scenario_latency();
	if (scenario_wanted(4))
		scenario_deadpeer();
	if (scenario_wanted(5) || scenario_wanted(6))
		scenario_zbd();
	peers_stop();
	out_end();
	tu_cleanup_all();
	return bench_failures() ? 1 : 0;
}
