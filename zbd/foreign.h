/* SPDX-License-Identifier: MIT */
/* Buffers zbd observes but does not own (the design is at the top of foreign.c). */
#pragma once

#include "model.h"

void foreign_init(struct zbd *d);

/* Look for new foreign buffers and let go of those that are gone. Called every
 * foreign_scan_ms (the daemon's timer); between calls, the scan timer samples
 * and reaps them with zbd's own buffers. */
void foreign_discover(struct zbd *d);

/* The foreign buffer `name`, or NULL. */
struct zbd_buffer *foreign_find(struct zbd *d, const char *name);

/* Stop observing every foreign buffer (at exit, or when observation is off). */
void foreign_release_all(struct zbd *d);
