/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkeys.h"

/*
 * A field of `st` and its size, refused at compile time unless its C type is
 * `ctype` (_Generic has no match otherwise), so the table cannot read a double
 * as an integer. Text fields are char arrays: they convert to `char *`.
 */
#define FIELD(st, field, ctype)                                                                    \
	.offset = offsetof(st, field),                                                             \
	.size = sizeof(((st *)0)->field) * _Generic(((st *)0)->field, ctype : 1)

#define DAEMON(key, type, field, ctype)                                                            \
	{                                                                                          \
		key, CTLKEY_DAEMON, type, 0, FIELD(struct health_daemon, field, ctype)             \
	}
#define BUFFER(key, type, field, ctype)                                                            \
	{                                                                                          \
		key, CTLKEY_BUFFER, type, 0, FIELD(struct health_buffer, field, ctype)             \
	}
/* Public fields bear their key's name. */
#define PUB_U64(name) BUFFER(#name, CTLKEY_U64, pub.name, uint64_t)
#define PUB_DOUBLE(name, decimals)                                                                 \
	{                                                                                          \
#name, CTLKEY_BUFFER, CTLKEY_DOUBLE, decimals,                                     \
			FIELD(struct health_buffer, pub.name, double)                              \
	}

/* Grouped by record, each group in the order zbd sends it. */
static const struct ctlkey keys[] = {
	{ CTLKEY_STATUS, CTLKEY_REPLY, CTLKEY_INT, 0, 0, 0 },
	{ CTLKEY_ERROR, CTLKEY_REPLY, CTLKEY_TEXT, 0, 0, 0 },
	{ "command", CTLKEY_REPLY, CTLKEY_TEXT, 0, 0, 0 }, /* help */
	{ "metrics", CTLKEY_REPLY, CTLKEY_TEXT, 0, 0, 0 }, /* metrics: a line of Prometheus text */

	/* `version` replies with this record's version= line alone. */
	DAEMON(CTLKEY_DAEMON_NAME, CTLKEY_TEXT, daemon, char *),
	DAEMON("version", CTLKEY_TEXT, pub.version, char *),
	DAEMON("pid", CTLKEY_U64, pid, uint64_t),
	DAEMON("uptime_s", CTLKEY_U64, pub.uptime_s, uint64_t),
	DAEMON("buffers", CTLKEY_U64, pub.buffers, uint64_t),
	DAEMON("clients", CTLKEY_U64, clients, uint64_t),

	/* `list` replies with this record's buffer= line alone, per buffer. */
	BUFFER(CTLKEY_BUFFER_NAME, CTLKEY_TEXT, pub.name, char *),
	BUFFER("state", CTLKEY_TEXT, pub.state_text, char *),
	PUB_U64(payload_size),
	PUB_U64(metadata_size),
	PUB_U64(used_bytes),
	PUB_DOUBLE(utilisation, 1),
	BUFFER("reader_pid", CTLKEY_PID, pub.reader_pid, int64_t),
	BUFFER("reader_alive", CTLKEY_FLAG, pub.reader_alive, int),
	BUFFER("writer_pid", CTLKEY_PID, pub.writer_pid, int64_t),
	BUFFER("writer_alive", CTLKEY_FLAG, pub.writer_alive, int),
	PUB_U64(frames_written),
	PUB_U64(frames_read),
	PUB_U64(bytes_written),
	PUB_U64(bytes_read),
	PUB_DOUBLE(write_rate_fps, 1),
	PUB_DOUBLE(read_rate_fps, 1),
	PUB_DOUBLE(write_rate_bps, 0),
	PUB_DOUBLE(read_rate_bps, 0),
	PUB_U64(readers_reaped),
	PUB_U64(writers_reaped),
	PUB_U64(frames_lost),
	/* zbd's own, not in struct zb_health */
	BUFFER("mode", CTLKEY_OCTAL, mode, unsigned),
	BUFFER("adopted", CTLKEY_FLAG, adopted, int),
	BUFFER("owner", CTLKEY_TEXT, owner, char *),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

const struct ctlkey *ctlkeys_of(enum ctlkey_record record, size_t *ret_count)
{
	size_t first = 0, n = 0;

	while (first < N_KEYS && keys[first].record != record)
		first++;
	while (first + n < N_KEYS && keys[first + n].record == record)
		n++;
	*ret_count = n;
	return &keys[first];
}

const struct ctlkey *ctlkeys_find(const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

const char *ctlkey_format(const struct ctlkey *k, const void *rec, char *buf, size_t size)
{
	const char *field = (const char *)rec + k->offset;

	assert(k->size > 0);
	switch (k->type) {
	case CTLKEY_TEXT:
		return field;
	case CTLKEY_U64:
		snprintf(buf, size, "%" PRIu64, *(const uint64_t *)field);
		break;
	case CTLKEY_PID:
		snprintf(buf, size, "%" PRIu64, (uint64_t) * (const int64_t *)field);
		break;
	case CTLKEY_FLAG:
		snprintf(buf, size, "%d", *(const int *)field);
		break;
	case CTLKEY_DOUBLE:
		snprintf(buf, size, "%.*f", k->decimals, *(const double *)field);
		break;
	case CTLKEY_OCTAL:
		snprintf(buf, size, "%04o", *(const unsigned *)field);
		break;
	case CTLKEY_INT:
		assert(!"no field to format");
		buf[0] = '\0';
		break;
	}
	return buf;
}

static uint64_t num_u64(const char *s)
{
	char *end;
	unsigned long long v;

	if (*s == '-')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	if (*end == '.') {
		double d = strtod(s, NULL);

		return d > 0 && d < 1.8e19 ? (uint64_t)d : 0;
	}
	return v;
}

void ctlkey_parse(const struct ctlkey *k, const char *value, void *rec)
{
	char *field = (char *)rec + k->offset;

	assert(k->size > 0);
	if (!value)
		return;
	switch (k->type) {
	case CTLKEY_TEXT:
		snprintf(field, k->size, "%s", value);
		break;
	case CTLKEY_U64:
		*(uint64_t *)field = num_u64(value);
		break;
	case CTLKEY_PID:
		*(int64_t *)field = (int64_t)num_u64(value);
		break;
	case CTLKEY_FLAG:
		*(int *)field = num_u64(value) != 0;
		break;
	case CTLKEY_DOUBLE:
		*(double *)field = strtod(value, NULL);
		break;
	case CTLKEY_OCTAL:
		*(unsigned *)field = (unsigned)strtoul(value, NULL, 8);
		break;
	case CTLKEY_INT:
		assert(!"no field to parse");
		break;
	}
}
