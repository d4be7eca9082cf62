/* SPDX-License-Identifier: MIT */
/*
 * zbd's one clock for durations (stall detection, rates, uptime): monotonic.
 * Never libev's ev_now(), which follows the wall clock: a step of the date
 * (an operator, NTP, a VM resumed) would turn a full buffer stalled at once
 * and jump the uptime. libev's timers are monotonic already.
 */
#pragma once

#include "wait.h"

/* Seconds on CLOCK_MONOTONIC. */
static inline double mono_now(void)
{
	return (double)clock_now_ns() / 1e9;
}
