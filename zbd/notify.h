/* SPDX-License-Identifier: MIT */
/* Talking to systemd: readiness, status, the watchdog, stopping. All calls are
 * no-ops when zbd does not run under systemd (no NOTIFY_SOCKET). */
#pragma once

#include "model.h"

void notify_ready(struct zbd *d);
void notify_status(struct zbd *d);
void notify_stopping(void);

/* Start WATCHDOG=1 pings at half the interval if systemd asked for them. */
void watchdog_start(struct zbd *d);
void watchdog_stop(struct zbd *d);
