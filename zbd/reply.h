/* SPDX-License-Identifier: MIT */
/*
 * The body of one control reply: key=value lines grown in memory, plus the
 * error text of a failed request. The server adds `error=`, `status=` and the
 * empty line (doc/control-protocol.md), so handlers only write records.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct reply {
	char *data;
	size_t len, cap;
	bool oom; /* an append failed: the reply is incomplete, report -ENOMEM */
	char error[256];
};

void reply_init(struct reply *r);
void reply_free(struct reply *r);
void reply_printf(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set the error text and return `err`, for `return reply_fail(r, -EINVAL, "...")`. */
int reply_fail(struct reply *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copy `in` for an error message: at most 64 bytes, unprintable bytes as '?'.
 * Text a client sent must never break the line structure of a reply or log. */
void reply_sanitize(char *out, size_t size, const char *in);
