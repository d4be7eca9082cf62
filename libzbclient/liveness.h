/* SPDX-License-Identifier: MIT */
/*
 * Whether a reader or a writer is alive, whatever pid namespace it and its
 * judge are in (doc/zbd.md, "Liveness").
 *
 * A pid in the control block is the peer's pid in its own namespace: in a
 * container, 1 or 31337 say nothing about a process on the host. So a
 * libzbclient peer holds evidence the kernel keeps for it: flock(LOCK_EX) on
 * a role lock, ZB_LOCK_DIR/NAME.writer.live or NAME.reader.live, for as long
 * as its handle lives. The kernel drops the lock when the process exits, in
 * any namespace and before it becomes a zombie; anyone who sees the lock
 * directory can probe it (flock(LOCK_SH | LOCK_NB): refused while held).
 *
 * Which pid the lock speaks for is said by the role's mark, upstream's last two
 * reserved words of the control block (writer_mark, reader_mark: wire.h): the
 * holder's pid-namespace inode in the high 32 bits and its pid in the low 32.
 * A mark whose pid is the slot's pid says "judge this slot by its role lock";
 * any other slot pid is a peer of another implementation (which leaves the
 * words 0), judged by its pid as upstream judges it: sound in the judge's own
 * namespace only (zbd does better: zbd/peerproc.h; the limits are in
 * doc/zbd.md). The slot's pid keeps the value the protocol expects, for the
 * other implementations.
 *
 * The role lock's name ends in ".live", not ".lock": upstream readers'
 * stale-buffer sweep takes every *.lock for a buffer's, and no buffer's lock
 * can be a role lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

#define LIVENESS_SUFFIX_READER ".reader.live"
#define LIVENESS_SUFFIX_WRITER ".writer.live"

enum peer_role { PEER_READER, PEER_WRITER };

enum peer_liveness {
	PEER_NONE,    /* no pid recorded */
	PEER_ALIVE,   /* its role lock is held, or its pid lives */
	PEER_DEAD,    /* its role lock is free or gone, or its pid is */
	PEER_UNKNOWN, /* the evidence cannot be read: neither reaped nor trusted */
};

/* What a handle holds while it is attached. */
struct peer_hold {
	int fd;	       /* the role lock, or -1 (it could not be taken: judged by pid) */
	uint64_t mark; /* what we stored in the mark word */
};

/* The slot and the mark of `role` in a control block. */
uint64_t *liveness_slot(struct zb_oieb *o, enum peer_role role);
uint64_t *liveness_mark(struct zb_oieb *o, enum peer_role role);

/*
 * Attach as `role` with pid `self`: take the role lock, mark, then claim the
 * slot (ring_slot_claim, judging the holder by the mark it left). -EBUSY if a
 * live peer holds the role. A role lock that cannot be taken (held by a live
 * peer, held shared by anyone who may read it, another user's file, no lock
 * directory) leaves the peer unmarked, judged by its pid as before: never a
 * refusal of its own, which anyone could cause.
 */
int liveness_attach(struct zb_segment *s, enum peer_role role, uint64_t self,
		    struct peer_hold *ret);

/* Leave: the slot, then the mark, then the role lock (in that order, so a
 * judge never sees our pid unmarked). */
void liveness_detach(struct zb_segment *s, enum peer_role role, uint64_t self, struct peer_hold *h);

/* Judge the peer recorded as `pid` in `role` of buffer `name` (`o` may be a
 * copy of the control block). */
enum peer_liveness liveness_of(const char *name, const struct zb_oieb *o, enum peer_role role,
			       uint64_t pid);

/* Neither PEER_NONE nor PEER_DEAD: a peer that must not be displaced. */
bool liveness_may_live(const char *name, const struct zb_oieb *o, enum peer_role role,
		       uint64_t pid);

/* True if `pid` in `role` is a libzbclient peer of our own pid namespace:
 * its pid may then be watched directly (zbd's pidfds). */
bool liveness_same_namespace(const struct zb_oieb *o, enum peer_role role, uint64_t pid);

/* The pid namespace inode a role's mark names (0: none). */
uint32_t liveness_mark_pidns(const struct zb_oieb *o, enum peer_role role);

/* True if `pid` in `role` carries a mark (a libzbclient peer's pid). */
bool liveness_marked(const struct zb_oieb *o, enum peer_role role, uint64_t pid);

/* Clear the mark of a peer that was found dead and cleared from its slot, so
 * that a later peer of another implementation with the same pid number is not
 * judged by a dead peer's lock. */
void liveness_forget(struct zb_oieb *o, enum peer_role role, uint64_t pid);

/* Our pid namespace's inode (nonzero; 0xffffffff when /proc cannot say). */
uint32_t liveness_pidns(void);
