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
};

/* 0 if `name` is a name the wire protocol allows (a single path component of
 * 1 to ZB_NAME_MAX bytes), -EINVAL otherwise. zb_name_check() narrows it to
 * what zbd and the control protocol carry. */
int names_check(const char *name);
void names_shm(char out[ZB_OBJ_NAME_MAX], const char *name);
void names_sem_w(char out[ZB_OBJ_NAME_MAX], const char *name);
void names_sem_r(char out[ZB_OBJ_NAME_MAX], const char *name);
/* Writes the lock file path; -ENAMETOOLONG if it does not fit. */
int names_lock(char *out, size_t size, const char *name);

/* Map an existing buffer and open its semaphores; validates the control block. */
int segment_attach(struct zb_segment *s, const char *name);

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

/* The metadata a writer set, in place: 0, -ENODATA while none was set,
 * ZB_ECORRUPT when its length prefix disagrees with the control block. */
int segment_metadata(const struct zb_segment *s, const void **ret_data, size_t *ret_size);

/* Remove the segment and both semaphores of `name` (missing ones are fine). */
void segment_unlink(const char *name);

/* True if `pid` names a live process (0 and absurd values are not). */
bool pid_alive(uint64_t pid);
