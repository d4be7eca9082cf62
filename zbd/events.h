/* SPDX-License-Identifier: MIT */
/*
 * Health events: a buffer's state changing (healthy, degraded, critical,
 * stalled, corrupt) and a dead peer reaped (with the frames it took). Each is
 * one log line; when stderr is the journal (JOURNAL_STREAM, as under
 * zbd.service) it is sent instead as a structured entry through
 * sd_journal_send(), with the same MESSAGE and priority plus fields to
 * select by:
 *	ZB_EVENT=state|reader-reaped|writer-reaped  ZB_BUFFER=NAME
 *	ZB_STATE=, ZB_PREVIOUS_STATE=, ZB_UTILISATION=, ZB_CHANGES_BETWEEN= (state)
 *	ZB_PID=, ZB_FRAMES_LOST= (reaped)
 * so `journalctl ZB_BUFFER=cam0` shows one buffer's history.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* b's state went from `from` (NULL: first seen) to `to`, at `percent` used,
 * through `between` other changes too quick to log (health.c limits the rate). */
void events_state(const struct zbd_buffer *b, const char *from, const char *to, double percent,
		  unsigned between);

/* b's reader or writer `pid` died and was reaped; `lost` frames it held
 * (readers; `counted` false when the ring did not allow counting them). */
void events_reaped(const struct zbd_buffer *b, bool is_reader, uint64_t pid, uint64_t lost,
		   bool counted);
