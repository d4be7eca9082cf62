/* SPDX-License-Identifier: MIT */
/* What every verb prints: usage errors, failures, the end of stdout, and the
 * health reports as text (json.c has them as JSON). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "zbctl.h"

int misuse(const struct args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zbctl: %s: ", a->verb->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'zbctl %s --help'.\n", a->verb->name);
	return EXIT_USAGE;
}

/* Report a failed call: our text for the code, then the daemon's own words
 * when it said something more. With --json a reply's failure is also a document. */
int fail(const struct args *a, int err, struct zb_ctl *ctl)
{
	const char *text = zb_strerror(err), *daemon = ctl ? zb_ctl_last_error(ctl) : NULL;

	if (daemon && strcmp(daemon, text) != 0)
		fprintf(stderr, "zbctl: %s: %s: %s\n", a->verb->name, text, daemon);
	else
		fprintf(stderr, "zbctl: %s: %s\n", a->verb->name, text);
	if (a->json && ctl)
		json_print_status(err, daemon ? daemon : text);
	return EXIT_FAIL;
}

/* Connecting fails for reasons of the socket, not of a buffer: name the path
 * and use the system's words (zb_strerror(-ENOENT) would say "no such buffer"). */
int connect_or_fail(const struct args *a, struct zb_ctl **ret)
{
	char path[256] = "?";
	int err = zb_ctl_connect(ret, a->socket);

	if (err == 0)
		return EXIT_OK;
	if (a->socket)
		snprintf(path, sizeof(path), "%s", a->socket);
	else
		zb_ctl_default_socket(path, sizeof(path));
	if (err == -ENOENT || err == -ECONNREFUSED)
		fprintf(stderr, "zbctl: %s: no zbd listening at %s (%s)\n", a->verb->name, path,
			strerror(-err));
	else
		fprintf(stderr, "zbctl: %s: cannot connect to zbd at %s: %s\n", a->verb->name, path,
			err < 0 && err > -4096 ? strerror(-err) : zb_strerror(err));
	return EXIT_FAIL;
}

/* Stdout went away (a closed pipe): that ends us quietly, as it ends `cat`. */
int finish_stdout(const struct args *a)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return EXIT_OK;
	if (errno == EPIPE)
		return EXIT_OK;
	fprintf(stderr, "zbctl: %s: stdout: %s\n", a->verb->name, strerror(errno));
	return EXIT_FAIL;
}

/* ------------------------------------------------------------ health text */

static void human_size(char *out, size_t size, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%" PRIu64 "B", bytes);
	else if (v < 10)
		snprintf(out, size, "%.1f%c", v, units[u]);
	else
		snprintf(out, size, "%.0f%c", v, units[u]);
}

/* "-" for no peer, the pid for a live one, "(pid)" for one recorded but dead. */
static void pid_text(char *out, size_t size, int64_t pid, int alive)
{
	if (pid <= 0)
		snprintf(out, size, "-");
	else if (alive)
		snprintf(out, size, "%" PRId64, pid);
	else
		snprintf(out, size, "(%" PRId64 ")", pid);
}

static void human_uptime(char *out, size_t size, uint64_t s)
{
	if (s >= 86400)
		snprintf(out, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(out, size, "%" PRIu64 "s", s);
}

static void print_health_row(FILE *f, int w, const struct zb_health *h, const char *eol)
{
	char size[16], used[16], rd[24], wr[24], reaped[48];

	human_size(size, sizeof(size), h->payload_size);
	human_size(used, sizeof(used), h->used_bytes);
	pid_text(rd, sizeof(rd), h->reader_pid, h->reader_alive);
	pid_text(wr, sizeof(wr), h->writer_pid, h->writer_alive);
	snprintf(reaped, sizeof(reaped), "%" PRIu64 "/%" PRIu64, h->readers_reaped,
		 h->writers_reaped);
	fprintf(f,
		"%-*s %-8s %7s %7s %5.1f%% %9s %9s %12" PRIu64 " %12" PRIu64 " %8.0f %8.0f %7s%s",
		w, h->name, h->state_text[0] ? h->state_text : "?", size, used, h->utilisation, rd,
		wr, h->frames_written, h->frames_read, h->write_rate_fps, h->read_rate_fps, reaped,
		eol);
}

/*
 * The health table. `eol` ends every line: "\n" normally, "\033[K\n" in the
 * live view so each line also erases what the previous frame left on it.
 */
void print_health_table(FILE *f, const struct zb_daemon_health *d, const struct zb_health *h,
			size_t n, const char *eol)
{
	char up[32];
	int w = 4;

	human_uptime(up, sizeof(up), d->uptime_s);
	fprintf(f, "zbd %s, up %s, %" PRIu64 " buffer%s%s", d->version[0] ? d->version : "?", up,
		d->buffers, d->buffers == 1 ? "" : "s", eol);
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(h[i].name) > w)
			w = (int)strlen(h[i].name);
	fprintf(f, "%s%-*s %-8s %7s %7s %6s %9s %9s %12s %12s %8s %8s %7s%s", eol, w, "NAME",
		"STATE", "SIZE", "USED", "UTIL", "READER", "WRITER", "WRITTEN", "READ", "W/S",
		"R/S", "REAPED", eol);
	for (size_t i = 0; i < n; i++)
		print_health_row(f, w, &h[i], eol);
}

/* Every key the daemon sent, one per line, records apart: `health NAME`. */
void print_records(FILE *f, const struct zb_ctl_reply *reply)
{
	for (size_t r = 0; r < reply->n_records; r++) {
		const struct zb_ctl_record *rec = &reply->records[r];

		if (r)
			fputc('\n', f);
		for (size_t i = 0; i < rec->n_fields; i++)
			fprintf(f, "%-16s %s\n", rec->fields[i].key, rec->fields[i].value);
	}
}
