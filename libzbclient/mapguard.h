/* SPDX-License-Identifier: MIT */
/*
 * Mappings another process can shrink. A buffer's segment and semaphores are
 * files in /dev/shm that every member of its group may truncate; touching a
 * page of a mapping past the file's new end raises SIGBUS, which kills the
 * process. zbd must outlive such a buffer, and a library peer may ask to.
 *
 * The remedy is libwayland-server's for its shm pools: a SIGBUS handler that
 * recognises a fault inside a guarded range, maps anonymous memory over the
 * whole range so that the access completes (it reads zeros, and what is
 * written goes nowhere), and flags the range. The owner of the range sees
 * the flag at its next look and treats the buffer as corrupt: its mapping no
 * longer shows the shared file. Faults anywhere else go to the handler that
 * was installed before ours, or end the process as SIGBUS would have.
 *
 * The handler is async-signal-safe: it walks a table of ranges (chunks that
 * are never freed), calls only mmap() and sigaction(), and stores flags.
 * Ranges are added and removed from any thread; a range must be removed
 * before its memory is unmapped, and a fault on memory that a concurrent
 * thread is unmapping (touching a buffer while closing it) is not covered.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

struct mapguard_range;

/* Install the SIGBUS handler, once per process (later calls do nothing).
 * 0 or -errno. */
int mapguard_install(void);

/* The three mappings of one attached buffer: segment, sem-w, sem-r. */
struct mapguard_set {
	struct mapguard_range *range[3];
	uint64_t faults_seen; /* the process's fault count when the set was watched */
};

/* Guard the mappings of `s` (as segment_attach/segment_create left them).
 * -ENOMEM if the table cannot grow; then nothing is guarded. */
int mapguard_watch(struct mapguard_set *g, const struct zb_segment *s);

/* Stop guarding (before the mappings go); a zeroed or forgotten set is fine. */
void mapguard_forget(struct mapguard_set *g);

/* Whether a fault was absorbed in one of the set's mappings: they now hold
 * anonymous memory, not the buffer. One shared load while the process has
 * absorbed no fault since the set was watched. */
bool mapguard_hit(const struct mapguard_set *g);

/*
 * A window for a single-threaded caller that maps a buffer it does not know
 * the addresses of yet (zbd, around segment_create and segment_attach):
 * while it is open, a fault at an address no range guards, on a page beyond
 * the end of a file (BUS_ADRERR), is absorbed the same way, page by page.
 * Closing tells whether that happened; the mapping is then not the buffer.
 */
void mapguard_window_open(void);
bool mapguard_window_close(void);
