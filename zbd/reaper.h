/* SPDX-License-Identifier: MIT */
/* Noticing dead readers and writers and repairing what they leave behind
 * (the design is described at the top of reaper.c). */
#pragma once

#include "model.h"

/* Set up the (idle) peer watchers of a new buffer. */
void reaper_init(struct zbd_buffer *b);

/* Learn the buffer's current reader and writer pids and watch new ones;
 * peers found dead already are reaped on the spot. Called every scan. */
void reaper_scan(struct zbd_buffer *b);

/* Stop watching the buffer's peers (before it is destroyed or released). */
void reaper_forget(struct zbd_buffer *b);

/* The buffer's mappings were taken from under zbd (mapguard.h): stop watching
 * its peers and wake both sides, once, so that they look and fail. */
void reaper_abandon(struct zbd_buffer *b);
