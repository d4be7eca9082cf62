/* SPDX-License-Identifier: MIT */
/*
 * The buffers zbd owns: creating them (lock, semaphores, segment), adopting
 * them from an earlier zbd through the state file, destroying them, and
 * letting go of them at exit without touching the shared memory.
 *
 * Failures come back as negative errnos, and the registry logs the details
 * itself; the words a control client reads are the control layer's.
 */
#pragma once

#include "model.h"

/*
 * Start with no buffers. `changed` (NULL: nobody listens) is called with ctx
 * whenever the set of buffers changed: the registry's only way up.
 */
void registry_init(struct zbd *d, void (*changed)(void *ctx), void *ctx);

struct zbd_buffer *registry_find(struct zbd *d, const char *name);

/* A buffer record not yet mapped or listed, its peers not watched (calloc'd;
 * NULL without memory). foreign.c makes its records with it too. */
struct zbd_buffer *registry_buffer_new(struct zbd *d, const char *name, mode_t mode, gid_t gid);

/* The step at which a create failed: one code means different things at
 * different steps (-EPERM: an unsafe lock directory, or a lock file not zbd's). */
enum registry_step {
	REGISTRY_STEP_NAME,	  /* -EINVAL invalid, -EEXIST zbd owns it, -ENOMEM */
	REGISTRY_STEP_LOCK_DIR,	  /* ZB_LOCK_DIR: -ENOTDIR a link or no directory, -EPERM unsafe */
	REGISTRY_STEP_LOCK_TAKE,  /* NAME.lock: -EEXIST held by another process, -ELOOP a link,
				   * -EPERM not zbd's (all left untouched), or an errno */
	REGISTRY_STEP_LOCK_SETUP, /* giving our lock file the buffer's group and mode */
	REGISTRY_STEP_OBJECTS,	  /* segment, semaphores: -EEXIST there already (not zbd's to
				   * adopt), or an errno */
};

/*
 * Create the buffer `s` describes and own it (s->line is not used). Sizes of 0
 * pick the protocol defaults. 0 on success; on failure a negative errno, the
 * reason logged, and *failed_at (unless NULL) set to the step that failed.
 * Objects that existed before the call are never touched.
 */
int registry_create(struct zbd *d, const struct zbd_buffer_spec *s, enum registry_step *failed_at);

/* The live peer recorded in b's control block: the reader's pid if it is
 * alive, else the writer's, else 0; *ret_is_reader says which. */
uint64_t registry_live_peer(const struct zbd_buffer *b, bool *ret_is_reader);

/*
 * Remove a buffer and all its objects. -EBUSY while a live reader or writer is
 * recorded (registry_live_peer), unless `force`: then both pids are cleared and
 * both semaphores posted first, so blocked peers wake at once and are told the
 * other side is gone.
 */
int registry_destroy(struct zbd *d, struct zbd_buffer *b, bool force);

/* Take over the buffers listed in the state file (see statefile.h): relock
 * and map them, reset nothing. Buffers whose objects are gone are dropped. */
void registry_adopt_all(struct zbd *d);

/* Create every configured buffer we do not own yet (at start and on SIGHUP). */
void registry_create_configured(struct zbd *d);

/* At exit: stop watching, unmap and unlock every buffer; the objects stay. */
void registry_release_all(struct zbd *d);
