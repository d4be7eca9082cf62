/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

/* strerror's words for errnos, the library's for its own codes: a log line
 * about a socket or a file says what the system says. */
const char *log_strerror(int err)
{
	const char *own = error_own_text(err < 0 ? err : -err);

	return own ? own : strerror(err < 0 ? -err : err);
}

/* Whether stderr is a stream to the journal: systemd says so with
 * JOURNAL_STREAM=DEV:INODE of that stream (systemd.exec(5)); a terminal or a
 * file gets plain lines, without the "<6>" priority prefixes. */
bool log_stderr_is_journal(void)
{
	static int known = -1;
	const char *e;
	unsigned long long dev, ino;
	struct stat st;

	if (known >= 0)
		return known;
	e = getenv("JOURNAL_STREAM");
	known = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
		st.st_dev == dev && st.st_ino == ino;
	return known;
}

static void log_v(const char *prefix, int err, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_stderr_is_journal())
		prefix = "";
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
