/* SPDX-License-Identifier: MIT */
/* Health of the buffers and the daemon, as the control socket reports it. */
#pragma once

#include "ctlkeys.h"
#include "model.h"
#include "reply.h"

/* Take one sample of a buffer's counters (every scan): rates and byte estimates. */
void health_sample(struct zbd_buffer *b, ev_tstamp now);

/* Forget past samples (a new or adopted buffer starts its rates afresh). */
void health_reset(struct zbd_buffer *b, ev_tstamp now);

/* The values of the daemon's and a buffer's health records (ctlkeys.h), for
 * whoever formats them otherwise (metrics.c). */
void health_daemon_record(struct zbd *d, struct health_daemon *ret);
void health_buffer_record(struct zbd_buffer *b, struct health_buffer *ret);

/* The daemon record (daemon=zbd ...) of a health reply. */
void health_write_daemon(struct reply *r, struct zbd *d);

/* One buffer record (buffer=NAME ...) of a health reply. */
void health_write_buffer(struct reply *r, struct zbd_buffer *b);

/* Whether the control block still passes validation against our mapping,
 * and the mapping still shows the buffer (no fault was absorbed in it). */
bool health_block_ok(const struct zbd_buffer *b);
