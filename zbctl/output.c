/* SPDX-License-Identifier: MIT */
/* What the verbs print as text: the end of stdout, sizes, and the health
 * reports (json.c has them as JSON, errors.c the failures). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "zbctl.h"

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

void format_size(char *out, size_t size, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	unsigned u = 0;
	double v;

	while (u + 1 < sizeof(units) - 1 && bytes >> (10 * (u + 1)))
		u++;
	if (u == 0 || bytes % (UINT64_C(1) << (10 * u)) == 0) {
		snprintf(out, size, "%" PRIu64 "%c", bytes >> (10 * u), units[u]);
		return;
	}
	v = (double)bytes / (double)(UINT64_C(1) << (10 * u));
	/* 1023.96K would print as "1024.0K": the next unit says it better. */
	if (v >= 1023.95 && u + 1 < sizeof(units) - 1)
		v /= 1024, u++;
	snprintf(out, size, "%.1f%c", v, units[u]);
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

	format_size(size, sizeof(size), h->payload_size);
	format_size(used, sizeof(used), h->used_bytes);
	pid_text(rd, sizeof(rd), h->reader_pid, h->reader_alive);
	pid_text(wr, sizeof(wr), h->writer_pid, h->writer_alive);
	snprintf(reaped, sizeof(reaped), "%" PRIu64 "/%" PRIu64, h->readers_reaped,
		 h->writers_reaped);
	fprintf(f,
		"%-*s %-8s %7s %7s %5.1f%% %9s %9s %12" PRIu64 " %12" PRIu64 " %8.0f %8.0f %11s%s",
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
	fprintf(f, "%s%-*s %-8s %7s %7s %6s %9s %9s %12s %12s %8s %8s %11s%s", eol, w, "NAME",
		"STATE", "SIZE", "USED", "UTIL", "READER", "WRITER", "WRITTEN", "READ", "W/S",
		"R/S", "REAPED(R/W)", eol);
	for (size_t i = 0; i < n; i++)
		print_health_row(f, w, &h[i], eol);
}

/* "pid 10 (alive)", "pid 11 (dead)", "none". */
static void peer_text(char *out, size_t size, int64_t pid, int alive)
{
	if (pid <= 0)
		snprintf(out, size, "none");
	else
		snprintf(out, size, "pid %" PRId64 " (%s)", pid, alive ? "alive" : "dead");
}

/* The keys print_detail() words itself; any other is shown as sent. */
static const char *const detailed[] = {
	"buffer",	  "state",	   "payload_size",   "metadata_size", "used_bytes",
	"utilisation",	  "reader_pid",	   "reader_alive",   "writer_pid",    "writer_alive",
	"frames_written", "frames_read",   "frames_lost",    "bytes_written", "bytes_read",
	"write_rate_fps", "read_rate_fps", "write_rate_bps", "read_rate_bps", "readers_reaped",
	"writers_reaped", "mode",	   "adopted",
};

static bool is_detailed(const char *key)
{
	for (size_t i = 0; i < sizeof(detailed) / sizeof(detailed[0]); i++)
		if (strcmp(detailed[i], key) == 0)
			return true;
	return false;
}

#define LABEL "%-9s "

/* One buffer, a labelled line per aspect, sizes as the table shows them. */
static void print_detail(FILE *f, const struct zb_health *h, const struct zb_ctl_record *rec)
{
	const char *mode = zb_ctl_record_get(rec, "mode");
	const char *adopted = zb_ctl_record_get(rec, "adopted");
	char a[32], b[32];

	fprintf(f, LABEL "%s\n", "buffer", h->name);
	fprintf(f, LABEL "%s\n", "state", h->state_text[0] ? h->state_text : "?");
	format_size(a, sizeof(a), h->payload_size);
	format_size(b, sizeof(b), h->metadata_size);
	fprintf(f, LABEL "payload %s, metadata %s\n", "size", a, b);
	format_size(a, sizeof(a), h->used_bytes);
	format_size(b, sizeof(b), h->payload_size);
	fprintf(f, LABEL "%s of %s (%.1f%%)\n", "used", a, b, h->utilisation);
	peer_text(a, sizeof(a), h->reader_pid, h->reader_alive);
	fprintf(f, LABEL "%s\n", "reader", a);
	peer_text(a, sizeof(a), h->writer_pid, h->writer_alive);
	fprintf(f, LABEL "%s\n", "writer", a);
	fprintf(f,
		LABEL "%" PRIu64 " written, %" PRIu64 " read, %" PRIu64 " lost with dead readers\n",
		"frames", h->frames_written, h->frames_read, h->frames_lost);
	format_size(a, sizeof(a), h->bytes_written);
	format_size(b, sizeof(b), h->bytes_read);
	fprintf(f, LABEL "%s written, %s read while zbd watched\n", "bytes", a, b);
	format_size(a, sizeof(a), (uint64_t)h->write_rate_bps);
	format_size(b, sizeof(b), (uint64_t)h->read_rate_bps);
	fprintf(f, LABEL "writing %.0f frames/s (%s/s), reading %.0f frames/s (%s/s)\n", "rates",
		h->write_rate_fps, a, h->read_rate_fps, b);
	fprintf(f, LABEL "%" PRIu64 " dead reader%s, %" PRIu64 " dead writer%s cleared by zbd\n",
		"reaped", h->readers_reaped, h->readers_reaped == 1 ? "" : "s", h->writers_reaped,
		h->writers_reaped == 1 ? "" : "s");
	if (mode)
		fprintf(f, LABEL "%s\n", "mode", mode);
	if (adopted)
		fprintf(f, LABEL "%s\n", "adopted",
			strcmp(adopted, "0") == 0 ? "no" : "yes, from an earlier zbd");
	for (size_t i = 0; i < rec->n_fields; i++)
		if (!is_detailed(rec->fields[i].key))
			fprintf(f, LABEL "%s\n", rec->fields[i].key, rec->fields[i].value);
}

int print_health_detail(FILE *f, const struct zb_ctl_reply *reply)
{
	struct zb_daemon_health d;
	struct zb_health *h;
	size_t n, i = 0;
	int err = zb_ctl_reply_health(reply, &h, &n, &d);

	if (err < 0)
		return err;
	print_health_table(f, &d, NULL, 0, "\n");
	/* The records of the buffers, in the order zb_ctl_reply_health() read them. */
	for (size_t r = 0; r < reply->n_records && i < n; r++) {
		const struct zb_ctl_record *rec = &reply->records[r];

		if (rec->n_fields == 0 || strcmp(rec->fields[0].key, "buffer") != 0)
			continue;
		fputc('\n', f);
		print_detail(f, &h[i++], rec);
	}
	zb_health_free(h);
	return 0;
}
