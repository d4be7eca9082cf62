/* SPDX-License-Identifier: MIT */
/*
 * Logging on stderr with sd-daemon.h priority prefixes when stderr is the
 * journal (JOURNAL_STREAM), so journald keeps the priority; a terminal or a
 * file shows plain lines.
 * The *_errno helpers log and return the (negative) error in one step:
 *	return log_error_errno(r, "cannot bind %s", path);
 */
#pragma once

#include <stdbool.h>

#include <systemd/sd-daemon.h>

/* Text for a negative errno or ZB_E* code. */
const char *log_strerror(int err);

/* Whether stderr is a stream to the journal (JOURNAL_STREAM, systemd.exec(5)). */
bool log_stderr_is_journal(void);

void log_line(const char *prefix, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_line(SD_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_line(SD_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_line(SD_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_line(SD_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_line(SD_DEBUG, 0, __VA_ARGS__)

/* Log with ": <error text>" appended and evaluate to `err` (negative). */
int log_errno(const char *prefix, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define log_error_errno(err, ...) log_errno(SD_ERR, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_errno(SD_WARNING, (err), __VA_ARGS__)
