/* SPDX-License-Identifier: MIT */
/*
 * The buffers zbd owns: creating them (lock, semaphores, segment), adopting
 * them from an earlier zbd through the state file, destroying them, and
 * letting go of them at exit without touching the shared memory.
 */
#pragma once

#include "daemon.h"
#include "reply.h"

struct zbd_buffer *registry_find(struct zbd *d, const char *name);

/*
 * Create NAME and own it. Sizes of 0 pick the protocol defaults. On failure
 * returns a negative code with a reason in r->error; objects that existed
 * before the call are never touched (-EEXIST: they are not ours to adopt).
 */
int registry_create(struct zbd *d, const char *name, uint64_t payload_size, uint64_t metadata_size,
		    mode_t mode, gid_t gid, struct reply *r);

/*
 * Remove a buffer and all its objects. -EBUSY while a live reader or writer is
 * recorded, unless `force`: then both pids are cleared and both semaphores
 * posted first, so blocked peers wake at once and are told the other side is gone.
 */
int registry_destroy(struct zbd *d, struct zbd_buffer *b, bool force, struct reply *r);

/* Take over the buffers listed in the state file (see statefile.h): relock
 * and map them, reset nothing. Buffers whose objects are gone are dropped. */
void registry_adopt_all(struct zbd *d);

/* Create every configured buffer we do not own yet (at start and on SIGHUP). */
void registry_create_configured(struct zbd *d);

/* Rewrite the state file after the set of buffers changed. */
void registry_save(struct zbd *d);

/* At exit: stop watching, unmap and unlock every buffer; the objects stay. */
void registry_release_all(struct zbd *d);
