/* SPDX-License-Identifier: MIT */
#include <stdbool.h>

#include "log.h"
#include "notify.h"

void notify_ready(struct zbd *d)
{
	sd_notifyf(0, "READY=1\nSTATUS=%zu buffer%s, listening", d->n_buffers,
		   d->n_buffers == 1 ? "" : "s");
}

void notify_status(struct zbd *d)
{
	sd_notifyf(0, "STATUS=%zu buffer%s, listening", d->n_buffers, d->n_buffers == 1 ? "" : "s");
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Pinged from the loop itself: a wedged loop stops the pings, which is the point. */
	sd_notify(0, "WATCHDOG=1");
}

void watchdog_start(struct zbd *d)
{
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(0, &usec);

	ev_timer_init(&d->watchdog_timer, watchdog_cb, 0, 0);
	if (r <= 0 || usec == 0)
		return;
	ev_timer_set(&d->watchdog_timer, 0, usec / 2 / 1e6);
	ev_timer_start(d->loop, &d->watchdog_timer);
	log_info("watchdog: pinging every %.3f s", usec / 2 / 1e6);
}

void watchdog_stop(struct zbd *d)
{
	ev_timer_stop(d->loop, &d->watchdog_timer);
}
