/* SPDX-License-Identifier: MIT */
/*
 * The keys of the control protocol's replies (doc/control-protocol.md), each
 * spelled once with its type and, for the health records, its field: zbd
 * formats its records from this table, libzbclient parses them with it, and
 * zb_ctl_key_is_text() answers from it which values are text.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "zbclient.h"

/* The keys that name a record: a health reply is split into records at them. */
#define CTLKEY_DAEMON_NAME "daemon"
#define CTLKEY_BUFFER_NAME "buffer"
/* The keys every reply may carry (the server writes them, not a handler). */
#define CTLKEY_STATUS "status"
#define CTLKEY_ERROR "error"

/* A health reply's daemon record, as zbd sends it: the public part and what
 * only zbd reports. */
struct health_daemon {
	char daemon[8]; /* always "zbd" */
	struct zb_daemon_health pub;
	uint64_t pid;
	uint64_t clients; /* control connections open */
};

/* A health reply's buffer record, likewise. */
struct health_buffer {
	struct zb_health pub;
	unsigned mode; /* of the buffer's objects */
	int adopted;   /* 1: taken over from an earlier zbd */
	char owner[8]; /* "zbd", or "foreign": observed, not owned (zbd/foreign.c) */
};

enum ctlkey_record {
	CTLKEY_REPLY,  /* keys of any reply, outside the health records */
	CTLKEY_DAEMON, /* struct health_daemon */
	CTLKEY_BUFFER, /* struct health_buffer */
};

enum ctlkey_type {
	CTLKEY_TEXT,   /* char array, sent as it is */
	CTLKEY_INT,    /* a decimal number with no field here (status) */
	CTLKEY_U64,    /* uint64_t, decimal */
	CTLKEY_PID,    /* int64_t, sent as the unsigned 64-bit value the control block holds */
	CTLKEY_FLAG,   /* int, 0 or 1 */
	CTLKEY_DOUBLE, /* double, `decimals` digits after the point */
	CTLKEY_OCTAL,  /* unsigned, at least four octal digits (a mode) */
};

struct ctlkey {
	const char *key;
	enum ctlkey_record record;
	enum ctlkey_type type;
	int decimals;  /* CTLKEY_DOUBLE */
	size_t offset; /* of the field in the record's struct */
	size_t size;   /* of the field; 0 for keys without one (CTLKEY_REPLY) */
};

/* Room for any formatted value but text (text is not copied). */
#define CTLKEY_VALUE_MAX 512

/* The keys of `record`, in the order zbd sends them: *ret_count entries. */
const struct ctlkey *ctlkeys_of(enum ctlkey_record record, size_t *ret_count);

/* The entry of `key`, or NULL for a key the protocol does not have. */
const struct ctlkey *ctlkeys_find(const char *key);

/* The value of k's field in `rec` as it travels: written into buf (at least
 * CTLKEY_VALUE_MAX bytes), or the text field itself. Not for CTLKEY_REPLY keys. */
const char *ctlkey_format(const struct ctlkey *k, const void *rec, char *buf, size_t size);

/*
 * Store `value` in k's field of `rec`; NULL (the key was not sent) leaves the
 * field as it is. Numbers are read leniently: a daemon sending "12.0" or
 * "1.9%" still means something, and nonsense reads 0. Text that does not fit
 * is cut short. Not for CTLKEY_REPLY keys.
 */
void ctlkey_parse(const struct ctlkey *k, const char *value, void *rec);
