/* SPDX-License-Identifier: MIT */
/*
 * The payload ring: what it is and what may be done to it, in one place for
 * the library and zbd alike (doc/protocol.md sections 6 to 9). segment.h makes,
 * maps and checks the named objects; this module reads and repairs the ring
 * and the control-block fields that describe it. Callers decide *when* (the
 * reader when it attaches and now and then, zbd when a peer dies); how, and
 * why it is safe while the other end keeps running, is here and in ring.c.
 *
 * The peer slots. writer_pid and reader_pid say who holds each end of the
 * ring. A peer claims its slot when it attaches (ring_slot_claim: the slot is
 * 0, names a dead process, or names it already) and releases it when it
 * leaves. Some repairs belong to one end alone: only the reader gives space
 * back, only the writer stores write_pos. Whoever repairs a dead peer's end
 * (zbd) first fences its slot, swapping the dead pid for its own
 * (ring_slot_fence). ring_slot_claim refuses a live recorded pid, so no new
 * peer can attach and start doing the same work while the repair runs; then
 * ring_slot_release gives the slot back to 0. If the fencer itself dies during
 * the fence, the slot names a dead process (it), which the next peer may claim
 * and the next zbd will reap like any other. Every change of a slot is a
 * compare-and-swap from the value expected: a successor that has claimed the
 * slot meanwhile is never displaced.
 *
 * Every control-block field is read and written through wire.h's zb_*
 * accessors (acquire loads, release stores, acq_rel read-modify-writes), and
 * the compare-and-swaps are acq_rel, acquire on failure. Frame headers are
 * copied out of the ring once, then checked: a peer may rewrite them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

/*
 * Try to become the process recorded in *slot: succeeds when the slot is 0,
 * names a dead process, or already names us. -EBUSY if a live process holds it.
 */
int ring_slot_claim(uint64_t *slot, uint64_t self);
/* The same, with the holder judged by may_live(pid, ctx) (liveness.h) instead
 * of by its pid alone. */
int ring_slot_claim_by(uint64_t *slot, uint64_t self, bool (*may_live)(uint64_t pid, void *ctx),
		       void *ctx);

/* Clear *slot if it still names `holder` (a successor may have taken it):
 * a peer leaving, a fencer done, or a dead peer's slot cleared outright.
 * True if it was cleared. */
bool ring_slot_release(uint64_t *slot, uint64_t holder);

/* Fence the slot of `dead`: swap it for `self`, so that no new peer can claim
 * the slot while `self` repairs that end. False if the slot no longer names
 * `dead`: a new peer has claimed it, and what is left to repair is its job. */
bool ring_slot_fence(uint64_t *slot, uint64_t dead, uint64_t self);

/*
 * zbd's stand-in for an absent reader. Upstream writers refuse a buffer whose
 * reader_pid is 0 or dead, and leave it when reader_pid becomes 0; on a buffer
 * zbd owns they should attach and fill the ring before a reader comes, as ours
 * can. So while no reader is attached, zbd records its own pid in reader_pid
 * and, to say that this pid stands in and reads nothing, in reader_standin
 * too (wire.h). Our readers take the slot from the stand-in and give it back
 * when they leave; our writers do not count it as a reader. zbd also fences a
 * dead reader's slot with its pid while it repairs (ring_slot_fence): it clears
 * reader_standin first, so a fence is never mistaken for a stand-in.
 */

/* Attach as the reader: claim reader_pid as ring_slot_claim() does, or from
 * the stand-in. -EBUSY if a live reader (or a repair in progress) holds it. */
int ring_reader_claim(struct zb_segment *s, uint64_t self);
/* The same, with the holder judged by may_live(pid, ctx) (liveness.h). */
int ring_reader_claim_by(struct zb_segment *s, uint64_t self,
			 bool (*may_live)(uint64_t pid, void *ctx), void *ctx);

/* Leave as the reader: the slot goes back to the stand-in if one is recorded
 * and alive, else to 0 (unless a successor already holds it). */
void ring_reader_release(struct zb_segment *s, uint64_t self);

/* The pid of the attached reader: reader_pid, or 0 when that is the stand-in. */
uint64_t ring_reader_pid(const struct zb_segment *s);

/* zbd: stand in (as `self`) if the reader slot is empty, or holds `self` (the
 * fence of a repair just done); true if it does. */
bool ring_standin_take(struct zb_segment *s, uint64_t self);

/* zbd: stop standing in: the mark goes first, then a slot still holding `self`
 * goes back to 0. Before a fence (the slot holds a dead reader), only the mark. */
void ring_standin_drop(struct zb_segment *s, uint64_t self);

/* Distance the writer is ahead of the reader, wrap waste included: 0 for an
 * empty ring, the whole ring for a full one (equal positions, unequal counts). */
uint64_t ring_used_bytes(const struct zb_segment *s);

/* One step of a walk over the ring from `pos`: the next header's position, and
 * whether the step consumed a count (a frame or a marker; a short tail does
 * not). False for a header that cannot be valid. */
bool ring_step(const struct zb_segment *s, uint64_t pos, uint64_t *next, bool *counted);

/* What a stretch of the ring held (ring_span_walk). */
struct ring_span {
	uint64_t frames;	/* frames, markers not included */
	uint64_t payload;	/* their payload bytes */
	uint64_t ring_bytes;	/* ring bytes walked: headers, payload and skipped tails */
	uint64_t wraps;		/* wraps that took a count: markers, and the unmarked
				 * ones the upstream Python writer counts */
	bool last_wrap_counted; /* of the last wrap passed, if any */
};

/* Walk the `entries` counted entries from ring offset `from` to `to` (a
 * position the writer or the reader held at two looks, and the count's growth
 * between them). True with what they held if the walk lands on `to` within a
 * lap through valid headers; false if it cannot (the writer has since gone
 * round the ring over them, or a look was torn by a commit), or would take
 * more than RING_SPAN_STEPS_MAX headers: zbd walks every scan, and a stream of
 * 64-byte frames through a 64 MiB ring once cost it 12 % of a core (the caller
 * estimates instead). Only reads. */
#define RING_SPAN_STEPS_MAX 16384
bool ring_span_walk(const struct zb_segment *s, uint64_t from, uint64_t to, uint64_t entries,
		    struct ring_span *ret);
/* As `entries`: however many lie between the two positions. */
#define RING_SPAN_ANY UINT64_MAX

/* Give back space a dead reader held (see ring.c for who may call it);
 * `held` is what the caller holds itself and has not returned. */
void ring_resync_free(struct zb_segment *s, uint64_t held);

/* The same for a ring whose every frame was read (equal positions and counts):
 * free must then be the whole ring. Same callers, holding nothing. */
void ring_resync_empty(struct zb_segment *s);

/* True if the writer died inside a commit: write_pos stands past a frame no
 * count announces (see ring.c). Only looks; any caller. */
bool ring_unfinished_commit(const struct zb_segment *s);

/* Undo such a commit: write_pos goes back to the end of the last counted
 * frame. The caller must have fenced writer_pid (ring_slot_fence), since only
 * the writer stores write_pos. True if write_pos was moved back. */
bool ring_undo_unfinished_commit(struct zb_segment *s);

/* Count the frames a dead reader had taken and not given back (health's
 * frames_lost; an upper bound, see ring.c). The caller must have fenced
 * reader_pid and call it before giving the space back. False, with *ret
 * untouched, when the ring does not let them be counted. May sleep a few ms. */
bool ring_held_frames(const struct zb_segment *s, uint64_t *ret);
