/* SPDX-License-Identifier: MIT */
/*
 * Repeated log lines become one line with a count. Anything outside zbd can
 * make an event happen as often as it likes (connect, send a refused
 * request, start and kill peers, fill the descriptor table), and a line per
 * event fills the journal and the disk faster than anyone reads them. Each
 * call site of log_*_ratelimited() has its own budget: RATELIMIT_BURST lines
 * per RATELIMIT_INTERVAL_S seconds (monotonic). Beyond it, lines are only
 * counted, and once the interval is over one line says how many were not
 * logged: at the site's next line, or at the next ratelimit_flush() (the scan
 * timer calls it), whichever comes first.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define RATELIMIT_BURST 10
#define RATELIMIT_INTERVAL_S 10

/* One call site's budget (static storage, made by the macros below). */
struct ratelimit {
	const char *prefix, *what; /* the site's priority and format, for the count */
	int64_t window_ns;	   /* start of the current interval; 0: none yet */
	unsigned lines;		   /* logged in the current interval */
	unsigned long long suppressed;
	struct ratelimit *next; /* in the list of sites that owe a count */
	bool listed;
};

/* Whether the site may log a line now (counts it if not). */
bool ratelimit_pass(struct ratelimit *rl);

/* Log the count of every site whose interval is over. */
void ratelimit_flush(void);

#define log_ratelimited(prefix_, err_, fmt_, ...)                                                  \
	do {                                                                                       \
		static struct ratelimit rl_ = { .prefix = prefix_, .what = fmt_ };                 \
                                                                                                   \
		if (ratelimit_pass(&rl_))                                                          \
			log_line(prefix_, err_, fmt_, ##__VA_ARGS__);                              \
	} while (0)

#define log_warning_ratelimited(...) log_ratelimited(SD_WARNING, 0, __VA_ARGS__)
#define log_notice_ratelimited(...) log_ratelimited(SD_NOTICE, 0, __VA_ARGS__)
#define log_info_ratelimited(...) log_ratelimited(SD_INFO, 0, __VA_ARGS__)
#define log_debug_ratelimited(...) log_ratelimited(SD_DEBUG, 0, __VA_ARGS__)
/* With ": <error text>" appended, as log_warning_errno (a statement, not a value). */
#define log_warning_errno_ratelimited(err, ...) log_ratelimited(SD_WARNING, (err), __VA_ARGS__)
