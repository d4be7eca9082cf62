/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "zbclient.h"

/* strerror for errnos, our words for the codes of our own (libzbclient's
 * zb_strerror lives in the shared library, which the daemon does not link). */
const char *log_strerror(int err)
{
	switch (err) {
	case ZB_EWRITER_GONE:
		return "writer gone";
	case ZB_EREADER_GONE:
		return "reader gone";
	case ZB_EVERSION:
		return "unsupported protocol version";
	case ZB_ECORRUPT:
		return "control block fails validation";
	default:
		return strerror(err < 0 ? -err : err);
	}
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
