/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "metrics.h"

enum value_kind {
	VALUE_U64,   /* a uint64_t field */
	VALUE_FLAG,  /* an int field, 0 or 1 */
	VALUE_RATIO, /* a percentage field, exported as 0..1 */
};

/* One metric of every buffer, from a field of its health record. */
struct family {
	const char *name, *type, *help;
	enum value_kind kind;
	size_t offset; /* in struct health_buffer */
};

#define FIELD(f) offsetof(struct health_buffer, pub.f)

static const struct family families[] = {
	{ "zbd_buffer_payload_size_bytes", "gauge", "Size of the buffer's payload ring.", VALUE_U64,
	  FIELD(payload_size) },
	{ "zbd_buffer_metadata_size_bytes", "gauge", "Size of the buffer's metadata block.",
	  VALUE_U64, FIELD(metadata_size) },
	{ "zbd_buffer_used_bytes", "gauge", "Bytes of the payload ring in use (unread frames).",
	  VALUE_U64, FIELD(used_bytes) },
	{ "zbd_buffer_utilisation_ratio", "gauge", "Used share of the payload ring, 0 to 1.",
	  VALUE_RATIO, FIELD(utilisation) },
	{ "zbd_buffer_reader_attached", "gauge",
	  "1 while the reader recorded in the control block is alive.", VALUE_FLAG,
	  FIELD(reader_alive) },
	{ "zbd_buffer_writer_attached", "gauge",
	  "1 while the writer recorded in the control block is alive.", VALUE_FLAG,
	  FIELD(writer_alive) },
	{ "zbd_buffer_frames_written_total", "counter",
	  "Frames written, as the control block counts them (wrap markers included).", VALUE_U64,
	  FIELD(frames_written) },
	{ "zbd_buffer_frames_read_total", "counter",
	  "Frames read, as the control block counts them (wrap markers included).", VALUE_U64,
	  FIELD(frames_read) },
	{ "zbd_buffer_written_bytes_total", "counter",
	  "Payload bytes written while this zbd watched (estimated from positions).", VALUE_U64,
	  FIELD(bytes_written) },
	{ "zbd_buffer_read_bytes_total", "counter",
	  "Payload bytes read while this zbd watched (estimated from positions).", VALUE_U64,
	  FIELD(bytes_read) },
	{ "zbd_buffer_readers_reaped_total", "counter",
	  "Dead readers zbd cleared from the control block.", VALUE_U64, FIELD(readers_reaped) },
	{ "zbd_buffer_writers_reaped_total", "counter",
	  "Dead writers zbd cleared from the control block.", VALUE_U64, FIELD(writers_reaped) },
	{ "zbd_buffer_frames_lost_total", "counter",
	  "Frames dead readers had taken and not given back.", VALUE_U64, FIELD(frames_lost) },
};

/* The states of doc/control-protocol.md, one series each (1 for the current). */
static const char *const states[] = { "healthy", "degraded", "critical", "stalled", "corrupt" };

/* A label value as the text format wants it: \, " and newline escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void put_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_value(FILE *f, const struct family *m, const struct health_buffer *h)
{
	const char *field = (const char *)h + m->offset;

	switch (m->kind) {
	case VALUE_U64:
		fprintf(f, "%" PRIu64 "\n", *(const uint64_t *)field);
		break;
	case VALUE_FLAG:
		fprintf(f, "%d\n", *(const int *)field ? 1 : 0);
		break;
	case VALUE_RATIO:
		fprintf(f, "%.6g\n", *(const double *)field / 100.0);
		break;
	}
}

static void put_daemon(FILE *f, struct zbd *d)
{
	struct health_daemon h;

	health_daemon_record(d, &h);
	put_header(f, "zbd_info", "gauge", "zbd's version; always 1.");
	fputs("zbd_info{version=\"", f);
	put_label(f, h.pub.version);
	fputs("\"} 1\n", f);
	put_header(f, "zbd_uptime_seconds", "gauge", "Seconds since zbd started.");
	fprintf(f, "zbd_uptime_seconds %" PRIu64 "\n", h.pub.uptime_s);
	put_header(f, "zbd_buffers", "gauge", "Buffers zbd owns.");
	fprintf(f, "zbd_buffers %" PRIu64 "\n", h.pub.buffers);
	put_header(f, "zbd_control_clients", "gauge", "Open control-socket connections.");
	fprintf(f, "zbd_control_clients %" PRIu64 "\n", h.clients);
}

static void put_buffers(FILE *f, const struct health_buffer *h, size_t n)
{
	for (size_t m = 0; m < sizeof(families) / sizeof(families[0]); m++) {
		put_header(f, families[m].name, families[m].type, families[m].help);
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%s{buffer=\"", families[m].name);
			put_label(f, h[i].pub.name);
			fputs("\"} ", f);
			put_value(f, &families[m], &h[i]);
		}
	}
	put_header(f, "zbd_buffer_state", "gauge",
		   "The buffer's health state: 1 for the current one, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
			fputs("zbd_buffer_state{buffer=\"", f);
			put_label(f, h[i].pub.name);
			fprintf(f, "\",state=\"%s\"} %d\n", states[s],
				strcmp(h[i].pub.state_text, states[s]) == 0);
		}
}

int metrics_text(struct zbd *d, char **ret, size_t *ret_len)
{
	struct health_buffer *h = calloc(d->n_buffers ? d->n_buffers : 1, sizeof(*h));
	struct zbd_buffer *b, *tmp;
	char *text = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	if (!h)
		return -ENOMEM;
	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link)
		health_buffer_record(b, &h[n++]);
	f = open_memstream(&text, &len);
	if (!f) {
		free(h);
		return -ENOMEM;
	}
	put_daemon(f, d);
	put_buffers(f, h, n);
	free(h);
	if (ferror(f) | fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}
