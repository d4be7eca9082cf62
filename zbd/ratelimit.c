/* SPDX-License-Identifier: MIT */
#include "ratelimit.h"
#include "wait.h"

#define INTERVAL_NS ((int64_t)RATELIMIT_INTERVAL_S * 1000000000)

/* Sites with lines counted and not yet reported. */
static struct ratelimit *owing;

static void report(struct ratelimit *rl, int64_t now)
{
	log_line(rl->prefix, 0, "%llu more line%s like \"%s\" not logged in the last %lld s",
		 rl->suppressed, rl->suppressed == 1 ? "" : "s", rl->what,
		 (long long)((now - rl->window_ns) / 1000000000));
	rl->suppressed = 0;
}

/* A new interval starts at `now`, with what the last one counted reported. */
static void window_restart(struct ratelimit *rl, int64_t now)
{
	if (rl->suppressed)
		report(rl, now);
	rl->window_ns = now;
	rl->lines = 0;
}

bool ratelimit_pass(struct ratelimit *rl)
{
	int64_t now = clock_now_ns();

	if (rl->window_ns == 0 || now - rl->window_ns >= INTERVAL_NS)
		window_restart(rl, now);
	if (rl->lines < RATELIMIT_BURST) {
		rl->lines++;
		return true;
	}
	rl->suppressed++;
	if (!rl->listed) {
		rl->next = owing;
		owing = rl;
		rl->listed = true;
	}
	return false;
}

void ratelimit_flush(void)
{
	int64_t now = clock_now_ns();
	struct ratelimit **p = &owing;

	while (*p) {
		struct ratelimit *rl = *p;

		if (rl->suppressed && now - rl->window_ns < INTERVAL_NS) {
			p = &rl->next;
			continue;
		}
		if (rl->suppressed)
			window_restart(rl, now);
		*p = rl->next;
		rl->listed = false;
	}
}
