/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "events.h"
#include "log.h"
#include "ratelimit.h"

/* The sd-daemon.h prefix of a syslog priority, for the line on stderr. */
static const char *prefix_of(int priority)
{
	return priority == LOG_WARNING ? SD_WARNING : priority == LOG_NOTICE ? SD_NOTICE : SD_INFO;
}

static int worse(const char *state)
{
	static const char *const order[] = { "healthy", "degraded", "critical", "stalled",
					     "corrupt" };

	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
		if (state && strcmp(state, order[i]) == 0)
			return i;
	return 0;
}

void events_state(const struct zbd_buffer *b, const char *from, const char *to, double percent,
		  unsigned between)
{
	/* Getting worse is news for whoever watches; getting better is not. */
	int priority =
		worse(to) > worse(from) ? (worse(to) >= 2 ? LOG_WARNING : LOG_NOTICE) : LOG_INFO;
	char msg[ZB_NAME_MAX + 160], also[64] = "";

	if (between)
		snprintf(also, sizeof(also), "; %u changes in between", between);
	snprintf(msg, sizeof(msg), "%s: state %s -> %s (%.1f%% of the ring used%s)", b->name,
		 from ? from : "none", to, percent, also);
	/* On the journal's stream a structured entry replaces the line. */
	if (!log_stderr_is_journal()) {
		log_line(prefix_of(priority), 0, "%s", msg);
		return;
	}
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "ZB_EVENT=state",
			"ZB_BUFFER=%s", b->name, "ZB_STATE=%s", to, "ZB_PREVIOUS_STATE=%s",
			from ? from : "none", "ZB_UTILISATION=%.1f", percent,
			"ZB_CHANGES_BETWEEN=%u", between, NULL);
}

void events_reaped(const struct zbd_buffer *b, bool is_reader, uint64_t pid, uint64_t lost,
		   bool counted)
{
	/* Anyone may start and kill peers as fast as they like (ratelimit.h). */
	static struct ratelimit rl = { .prefix = SD_INFO, .what = "%s: a peer died" };
	const char *peer = is_reader ? "reader" : "writer";
	int priority = is_reader && (lost || !counted) ? LOG_WARNING : LOG_INFO;
	char msg[ZB_NAME_MAX + 160];

	if (!ratelimit_pass(&rl))
		return;

	if (!is_reader)
		snprintf(msg, sizeof(msg), "%s: writer %" PRIu64 " died; cleared, reader woken",
			 b->name, pid);
	else if (counted)
		snprintf(msg, sizeof(msg),
			 "%s: reader %" PRIu64 " died holding %" PRIu64
			 " frames; space recovered, writer woken",
			 b->name, pid, lost);
	else
		snprintf(msg, sizeof(msg),
			 "%s: reader %" PRIu64 " died; frames it held not countable (ring "
			 "inconsistent); space recovered, writer woken",
			 b->name, pid);
	/* On the journal's stream a structured entry replaces the line. */
	if (!log_stderr_is_journal()) {
		log_line(prefix_of(priority), 0, "%s", msg);
		return;
	}
	sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority, "ZB_EVENT=%s-reaped", peer,
			"ZB_BUFFER=%s", b->name, "ZB_PID=%" PRIu64, pid, "ZB_FRAMES_LOST=%" PRIu64,
			lost, NULL);
}
