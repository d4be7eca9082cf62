/* SPDX-License-Identifier: MIT */
/*
 * The named objects of one buffer (segment, two semaphores, lock file) and the
 * checks that make a mapped segment safe to use. Shared by library and daemon.
 * What the ring inside the segment is and does (used bytes, walks, repairs,
 * the reader and writer slots) is ring.h's.
 */
#pragma once

#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"
#include "zbclient.h"

/* "/sem-w-" + name + NUL */
#define ZB_OBJ_NAME_MAX (ZB_NAME_MAX + 8)

struct zb_segment {
	char name[ZB_NAME_MAX + 1];
	uint8_t *base;
	size_t map_size;
	struct zb_oieb *oieb;
	uint8_t *metadata;
	uint64_t metadata_size; /* M, fixed once validated: never re-read from the segment */
	uint8_t *ring;
	uint64_t payload_size; /* P, likewise */
	sem_t *sem_w;
	sem_t *sem_r;
	bool sems_made; /* sem_w and sem_r are our mappings (segment_create), not sem_open's */
	/* The segment's descriptor while mapped (-1: closed): an unlinked file's
	 * st_nlink is 0, so fstat tells a peer its buffer was destroyed. */
	int fd;
	bool removed; /* seen without a name once: it stays so */
};

/*
 * A peer streaming without a pause asks whether its segment was removed at a
 * cadence that costs next to nothing per frame: it reads the coarse clock every
 * REMOVAL_EVERY_FRAMES frames or REMOVAL_EVERY_BYTES bytes, and calls fstat
 * once REMOVAL_EVERY_NS have passed. Blocked or idle peers ask at every wake.
 */
#define REMOVAL_EVERY_FRAMES 16
#define REMOVAL_EVERY_BYTES (64 * 1024)
#define REMOVAL_EVERY_NS (20 * 1000 * 1000)

struct removal_watch {
	uint64_t frames, bytes; /* the handle's counts at which to read the clock */
	int64_t ns;		/* coarse clock time from which to fstat */
};

/* 0 if `name` may name a buffer, -EINVAL otherwise: the one rule of library,
 * zbd, zbctl and the control protocol (zb_name_check() is the public name). */
int names_check(const char *name);
void names_shm(char out[ZB_OBJ_NAME_MAX], const char *name);
void names_sem_w(char out[ZB_OBJ_NAME_MAX], const char *name);
void names_sem_r(char out[ZB_OBJ_NAME_MAX], const char *name);
/* Writes the lock file path; -ENAMETOOLONG if it does not fit. */
int names_lock(char *out, size_t size, const char *name);

/* Map an existing buffer and open its semaphores; validates the control block,
 * and reserves the segment's memory (-ENOSPC if /dev/shm cannot hold it). */
int segment_attach(struct zb_segment *s, const char *name);

/* segment_attach without reserving: zbd observing another owner's buffer
 * (foreign.c) must not allocate, and be charged for, a ring its peers may
 * never fill; it absorbs the SIGBUS of a page /dev/shm cannot give. */
int segment_observe(struct zb_segment *s, const char *name);

/*
 * Create a buffer: semaphores first, then the zeroed segment, then the control
 * block with oieb_size stored last, so a writer that attaches early either
 * fails cleanly or finds everything in place (doc/protocol.md section 12).
 * Every object is made owner-only, given `gid` (unless (gid_t)-1), then `mode`:
 * never visible wider than asked, whatever the umask. -EEXIST if any of the
 * three objects exists already; nothing that existed before is touched.
 */
int segment_create(struct zb_segment *s, const char *name, uint64_t metadata_size,
		   uint64_t payload_size, mode_t mode, gid_t gid, uint64_t reader_pid);

/* Check the control block against the mapping; fills M and P on success. */
int segment_validate(const struct zb_oieb *oieb, size_t map_size, uint64_t *ret_metadata_size,
		     uint64_t *ret_payload_size);

void segment_detach(struct zb_segment *s);

/* Close the segment's descriptor and keep the mapping (zbd, which holds many
 * buffers and needs no removal check). */
void segment_close_fd(struct zb_segment *s);

/* True once the segment we mapped has no name any more (destroyed, whatever
 * may have been created under its name since). One fstat, until it is true. */
bool segment_removed(struct zb_segment *s);

bool segment_removed_due(struct zb_segment *s, struct removal_watch *w, uint64_t frames,
			 uint64_t bytes);

/* segment_removed() at the streaming cadence, for a handle that has moved
 * `frames` frames of `bytes` bytes in all: two comparisons on most frames. */
static inline bool segment_removed_streaming(struct zb_segment *s, struct removal_watch *w,
					     uint64_t frames, uint64_t bytes)
{
	/* Once seen (here or by segment_removed()), told for good. */
	if (!s->removed && frames < w->frames && bytes < w->bytes)
		return false;
	return segment_removed_due(s, w, frames, bytes);
}

/* Bytes of the segment a buffer of these requested sizes has (0: default). */
uint64_t segment_footprint(uint64_t metadata_size, uint64_t payload_size);

/* The metadata a writer set, in place: 0, -ENODATA while none was set,
 * ZB_ECORRUPT when its length prefix disagrees with the control block. */
int segment_metadata(const struct zb_segment *s, const void **ret_data, size_t *ret_size);

/* Remove the segment and both semaphores of `name` (missing ones are fine). */
void segment_unlink(const char *name);

/*
 * Remove what is left of an abandoned buffer `name`, but of its objects in
 * /dev/shm only those that are provably a ZeroBuffer buffer's and ours: plain
 * files of our uid with no other name, the segment with a control block that
 * validates against its size, each semaphore the size of a sem_t. Another
 * program's file, another user's, is left as it is. With `unless_in_use`, a
 * segment recording a live reader or writer is not abandoned: nothing is
 * removed and the result is -EBUSY. Otherwise 0 when nothing of `name` is
 * left, -EEXIST when something that is not ours stays.
 */
int segment_unlink_abandoned(const char *name, bool unless_in_use);

/* True if `pid` names a live process (0 and absurd values are not). */
bool pid_alive(uint64_t pid);
