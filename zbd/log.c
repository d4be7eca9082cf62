/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "log.h"

/* strerror's words for errnos, the library's for its own codes: a log line
 * about a socket or a file says what the system says. */
const char *log_strerror(int err)
{
	const char *own = error_own_text(err < 0 ? err : -err);

	return own ? own : strerror(err < 0 ? -err : err);
}

static void log_v(const char *prefix, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One write per line, so lines of concurrent writers never interleave. */
	if (err)
		fprintf(stderr, "%s%s: %s\n", prefix, msg, log_strerror(err));
	else
		fprintf(stderr, "%s%s\n", prefix, msg);
}

void log_line(const char *prefix, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prefix, err, fmt, ap);
	va_end(ap);
}

int log_errno(const char *prefix, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prefix, err, fmt, ap);
	va_end(ap);
	return err;
}
