/* SPDX-License-Identifier: MIT */
/* The payload ring's mechanics (the overview is at the top of ring.h). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ring.h"

/* ------------------------------------------------------------ peer slots */

static bool pid_may_live(uint64_t pid, void *ctx)
{
	(void)ctx;
	return pid_alive(pid);
}

int ring_slot_claim(uint64_t *slot, uint64_t self)
{
	return ring_slot_claim_by(slot, self, pid_may_live, NULL);
}

int ring_slot_claim_by(uint64_t *slot, uint64_t self, bool (*may_live)(uint64_t pid, void *ctx),
		       void *ctx)
{
	for (;;) {
		uint64_t cur = zb_load(slot);

		if (cur == self)
			return 0;
		if (cur != 0 && may_live(cur, ctx))
			return -EBUSY;
		if (__atomic_compare_exchange_n(slot, &cur, self, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
}

bool ring_slot_release(uint64_t *slot, uint64_t holder)
{
	return __atomic_compare_exchange_n(slot, &holder, 0, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

bool ring_slot_fence(uint64_t *slot, uint64_t dead, uint64_t self)
{
	return __atomic_compare_exchange_n(slot, &dead, self, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ zbd's stand-in */

int ring_reader_claim(struct zb_segment *s, uint64_t self)
{
	return ring_reader_claim_by(s, self, pid_may_live, NULL);
}

int ring_reader_claim_by(struct zb_segment *s, uint64_t self,
			 bool (*may_live)(uint64_t pid, void *ctx), void *ctx)
{
	struct zb_oieb *o = s->oieb;

	for (;;) {
		uint64_t cur = zb_load(&o->reader_pid), standin = zb_load(&o->reader_standin);

		/* Our number may be the stand-in's too: a zbd and a reader each in
		 * a pid namespace of its own (pid 1 in both is common). Take it over
		 * all the same: without the stand-in mark, the slot is a reader's. */
		if (cur == self && cur == standin) {
			__atomic_compare_exchange_n(&o->reader_standin, &standin, 0, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			continue;
		}
		if (cur == self)
			return 0;
		if (cur != 0 && cur != standin && may_live(cur, ctx))
			return -EBUSY;
		if (!__atomic_compare_exchange_n(&o->reader_pid, &cur, self, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		/* Taken from a stand-in that became a fence meanwhile (it stood in,
		 * a reader came and died, zbd fenced its slot): the repair is zbd's. */
		if (cur != 0 && cur != zb_load(&o->reader_standin) && may_live(cur, ctx)) {
			ring_slot_fence(&o->reader_pid, self, cur);
			return -EBUSY;
		}
		return 0;
	}
}

void ring_reader_release(struct zb_segment *s, uint64_t self)
{
	struct zb_oieb *o = s->oieb;
	uint64_t standin = zb_load(&o->reader_standin), to = pid_alive(standin) ? standin : 0;

	__atomic_compare_exchange_n(&o->reader_pid, &self, to, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
}

uint64_t ring_reader_pid(const struct zb_segment *s)
{
	uint64_t pid = zb_load(&s->oieb->reader_pid);

	return pid == zb_load(&s->oieb->reader_standin) ? 0 : pid;
}

bool ring_standin_take(struct zb_segment *s, uint64_t self)
{
	struct zb_oieb *o = s->oieb;
	uint64_t cur = 0;

	/* The mark first: a slot holding `self` is then never read as a fence. */
	zb_store(&o->reader_standin, self);
	return __atomic_compare_exchange_n(&o->reader_pid, &cur, self, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE) ||
	       cur == self;
}

void ring_standin_drop(struct zb_segment *s, uint64_t self)
{
	zb_store(&s->oieb->reader_standin, 0);
	ring_slot_release(&s->oieb->reader_pid, self);
}

/* ------------------------------------------------------------ used bytes */

/*
 * Bytes from read position r to write position w (both below p), wrap waste
 * included. Equal positions are an empty ring when `drained` (every frame
 * written was read), a full one otherwise. The callers load the fields, each
 * in the order its own reasoning needs; this is only the arithmetic.
 */
static uint64_t used_between(uint64_t p, uint64_t w, uint64_t r, bool drained)
{
	if (w > r)
		return w - r;
	if (w < r)
		return p - r + w;
	return drained ? 0 : p;
}

uint64_t ring_used_bytes(const struct zb_segment *s)
{
	const struct zb_oieb *o = s->oieb;
	uint64_t p = s->payload_size;
	uint64_t w = zb_load(&o->payload_write_pos) % p;
	uint64_t r = zb_load(&o->payload_read_pos) % p;
	/* The counts tell empty from full, which only equal positions need. */
	bool drained =
		w == r && zb_load(&o->payload_written_count) == zb_load(&o->payload_read_count);

	return used_between(p, w, r, drained);
}

/* ------------------------------------------------------------ walking */

bool ring_step(const struct zb_segment *s, uint64_t pos, uint64_t *next, bool *counted)
{
	uint64_t p = s->payload_size, size;

	*counted = p - pos >= ZB_FRAME_HEADER_SIZE;
	if (!*counted) {
		*next = 0;
		return true;
	}
	memcpy(&size, s->ring + pos, sizeof(size));
	if (size == 0) { /* a marker: never at 0, where the whole ring lies ahead */
		*next = 0;
		return pos != 0;
	}
	if (size > p - pos - ZB_FRAME_HEADER_SIZE)
		return false;
	*next = (pos + ZB_FRAME_HEADER_SIZE + size) % p;
	return true;
}

bool ring_span_walk(const struct zb_segment *s, uint64_t from, uint64_t to, uint64_t entries,
		    struct ring_span *ret)
{
	uint64_t p = s->payload_size, pos = from % p, unmarked = 0, size;
	struct ring_span span = { 0 };

	to %= p;
	for (unsigned steps = 0;; steps++) {
		bool any = entries == RING_SPAN_ANY;

		if (steps > RING_SPAN_STEPS_MAX)
			return false;

		/* A count left over may be an unmarked wrap's: the Python writer's. */
		if (pos == to && (span.ring_bytes > 0 || entries == 0 || any) &&
		    (any || entries <= unmarked)) {
			if (any)
				entries = 0;
			span.wraps += entries;
			if (entries)
				span.last_wrap_counted = true;
			*ret = span;
			return true;
		}
		if (span.ring_bytes >= p)
			return false;
		if (p - pos < ZB_FRAME_HEADER_SIZE) { /* a short tail: no marker */
			span.ring_bytes += p - pos;
			span.last_wrap_counted = false;
			unmarked++;
			pos = 0;
			continue;
		}
		if (entries == 0)
			return false;
		memcpy(&size, s->ring + pos, sizeof(size));
		if (size == 0) { /* a marker */
			if (pos == 0)
				return false;
			span.ring_bytes += p - pos;
			span.wraps++;
			span.last_wrap_counted = true;
			pos = 0;
		} else {
			if (size > p - pos - ZB_FRAME_HEADER_SIZE)
				return false;
			span.ring_bytes += ZB_FRAME_HEADER_SIZE + size;
			span.frames++;
			span.payload += size;
			pos += ZB_FRAME_HEADER_SIZE + size;
			if (pos == p) { /* ends at the end: a tail of 0 bytes */
				span.last_wrap_counted = false;
				unmarked++;
				pos = 0;
			}
		}
		if (!any)
			entries--;
	}
}

/* ------------------------------------------------------------ free space */

/* Walks longer than this are not worth it: a later resync, with less unread, will do. */
#define RESYNC_WALK_MAX 256

/*
 * A writer that follows doc/protocol.md section 8 to the letter writes and counts a wrap
 * marker, takes the ring tail from free space, and only then moves write_pos
 * to 0. Between the last two, the tail looks free from the positions, and
 * giving it back would let the writer overwrite unread frames. So walk the
 * frames the counts announce from read_pos: ending on write_pos is a settled
 * ring (0); one counted entry left, a marker at write_pos, is that window (the
 * tail's size); anything else is a snapshot torn by a commit (-1: leave free
 * alone). A tail too short for a marker is taken without a count: it is always
 * counted as used (under 16 bytes held back, never too many given).
 */
static int64_t tail_in_flight(const struct zb_segment *s, uint64_t r, uint64_t w, uint64_t unread)
{
	uint64_t p = s->payload_size, pos = r, next, size;
	bool counted;

	for (unsigned steps = 0;; steps++) {
		if (pos == w && unread == 0)
			return p - w < ZB_FRAME_HEADER_SIZE ? (int64_t)(p - w) : 0;
		if (pos == w && unread == 1 && w != 0 && p - w >= ZB_FRAME_HEADER_SIZE) {
			memcpy(&size, s->ring + w, sizeof(size));
			if (size == 0)
				return (int64_t)(p - w);
		}
		if (unread == 0 || steps == RESYNC_WALK_MAX || !ring_step(s, pos, &next, &counted))
			return -1;
		unread -= counted;
		pos = next;
	}
}

/*
 * A reader that died holding frames never gave their space back. The free
 * count should be the ring minus what lies between the read and write
 * positions, minus what the caller itself holds (`held`). Free is read before
 * the positions and only ever raised, so a writer committing meanwhile makes us
 * return too little (a later call returns the rest), never too much. An equal
 * read and write position is left alone: empty and full look alike while a
 * commit is half published. Only the party entitled to return space (the
 * reader, or zbd while it fences readers out) may call this.
 */
void ring_resync_free(struct zb_segment *s, uint64_t held)
{
	struct zb_oieb *o = s->oieb;
	uint64_t p = s->payload_size;
	/* Free first: what it lacks was taken by commits we then see in full. */
	uint64_t free_now = zb_load(&o->payload_free_bytes);
	uint64_t wc = zb_load(&o->payload_written_count);
	uint64_t w = zb_load(&o->payload_write_pos) % p;
	uint64_t r = zb_load(&o->payload_read_pos) % p;
	uint64_t rc = zb_load(&o->payload_read_count);
	int64_t tail;
	uint64_t used;

	if (w == r || wc < rc)
		return;
	used = used_between(p, w, r, false) + held;
	/* Nothing missing is the usual case: walk the ring only when something is. */
	if (used >= p || free_now >= p - used)
		return;
	tail = tail_in_flight(s, r, w, wc - rc);
	if (tail < 0)
		return;
	used += (uint64_t)tail;
	if (used < p && free_now < p - used)
		zb_fetch_add(&o->payload_free_bytes, p - used - free_now);
}

/*
 * ring_resync_free() leaves a ring with equal read and write positions
 * alone, since empty and full look alike there. But a reader that read every
 * frame and died holding some leaves exactly that: positions equal, every
 * frame read, free space short by what it held (maybe all of it, and then the
 * writer waits forever). As the only reader (one attaching, or zbd fencing readers out) we know
 * read_pos and read_count cannot move, and with written_count equal to read_count the ring is
 * empty, so free must be the whole ring. A writer publishes a frame by storing write_pos, then
 * taking its bytes from free, then storing written_count: a commit in flight has either not taken
 * its bytes yet (we add only what is missing now; it takes its share afterwards) or has moved
 * write_pos (we see that and leave it). The one exception is a frame that ends where it began
 * (skipped tail + frame = P), which needs the whole ring free and so leaves
 * free at 0: free at 0 is therefore looked at again a moment later, by which
 * time such a commit has published its count.
 */
void ring_resync_empty(struct zb_segment *s)
{
	struct zb_oieb *o = s->oieb;
	uint64_t p = s->payload_size;
	uint64_t rc = zb_load(&o->payload_read_count), r = zb_load(&o->payload_read_pos) % p;
	uint64_t wc, free_now = 0, tail;

	for (int look = 0; look < 2; look++) {
		wc = zb_load(&o->payload_written_count);
		free_now = zb_load(&o->payload_free_bytes);
		if (wc != rc || zb_load(&o->payload_write_pos) % p != r || free_now >= p ||
		    zb_load(&o->payload_written_count) != wc)
			return;
		if (free_now > 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
	/* A tail too short for a marker may be taken already, uncounted. */
	tail = p - r < ZB_FRAME_HEADER_SIZE ? p - r : 0;
	if (free_now < p - tail)
		zb_fetch_add(&o->payload_free_bytes, p - tail - free_now);
}

/* ------------------------------------------------------------ a dead writer */

/*
 * A writer killed inside its commit (write_pos stored, then free taken, then
 * written_count: doc/protocol.md section 8) leaves a frame past write_pos's old value that
 * no count announces: the reader stops before it, and the next writer, which
 * starts from write_pos and written_count, would have every frame announced
 * one late and its last one never. The commit did not finish (the writer never
 * returned success), so we undo it: write_pos goes back to the end of the last
 * counted frame. Whether the dead writer had taken the frame's bytes from free
 * cannot be told (space a live reader holds looks the same); if it had, they
 * stay out of use until a reader's resync (ring_resync_free) returns them,
 * which is harmless, whereas counting the frame would have let its bytes be
 * returned twice. We find the frame by walking from the reader's published
 * position over the frames the counts announce, then on to write_pos. The
 * positions must read the same twice in a row, and the walk must land on
 * write_pos through valid headers, within less than a lap and past at most a
 * wrap marker and one frame: a look torn by a reader between its two stores
 * could otherwise lead through old frames beyond write_pos, which chain up
 * just as well. Returns true with the position to go back to.
 */
static bool unfinished_commit(const struct zb_segment *s, uint64_t *ret_w, uint64_t *ret_back)
{
	const struct zb_oieb *o = s->oieb;
	uint64_t p = s->payload_size, snap[4], now[4], pos, back, walked = 0, extra = 0;
	bool counted, stable = false;

	for (int look = 0; look < 100 && !stable; look++) {
		now[0] = zb_load(&o->payload_read_pos);
		now[1] = zb_load(&o->payload_read_count);
		now[2] = zb_load(&o->payload_write_pos);
		now[3] = zb_load(&o->payload_written_count);
		stable = look > 0 && memcmp(snap, now, sizeof(now)) == 0;
		memcpy(snap, now, sizeof(now));
	}
	if (!stable || snap[3] < snap[1] || snap[0] > p || snap[2] > p)
		return false;
	pos = snap[0] % p;
	for (uint64_t n = 0; n < snap[3] - snap[1]; n += counted) {
		uint64_t next;

		if (!ring_step(s, pos, &next, &counted))
			return false;
		walked += next > pos ? next - pos : p - pos;
		/* Reaching write_pos with frames still announced: a torn look. */
		if (walked > p || (next == snap[2] % p && n + counted < snap[3] - snap[1]))
			return false;
		pos = next;
	}
	back = pos;
	while (pos != snap[2] % p) {
		uint64_t next;

		if (!ring_step(s, pos, &next, &counted))
			return false;
		walked += next > pos ? next - pos : p - pos;
		extra += counted;
		if (walked >= p || extra > 2)
			return false;
		pos = next;
	}
	if (extra == 0)
		return false;
	*ret_w = snap[2];
	*ret_back = back;
	return true;
}

bool ring_unfinished_commit(const struct zb_segment *s)
{
	uint64_t w, back;

	return unfinished_commit(s, &w, &back);
}

bool ring_undo_unfinished_commit(struct zb_segment *s)
{
	uint64_t w, back;

	/* Only the writer stores write_pos, and the caller holds its slot: the
	 * compare-and-swap fails only on a ring that is not ours after all. */
	return unfinished_commit(s, &w, &back) &&
	       __atomic_compare_exchange_n(&s->oieb->payload_write_pos, &w, back, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ a dead reader */

/*
 * Frames lost with a dead reader (health's frames_lost). A reader takes a frame
 * by moving the shared read position, and gives its space back only once the
 * application releases it. So the bytes that are neither free nor unread
 * (between read and write position) are the frames the dead reader had taken
 * and not given back, and they sit just before read_pos. Their bytes are
 * intact (the writer writes only free space): walk their headers from that
 * boundary to read_pos and count them. It is an upper bound of what the
 * application lost, never less: a frame it had processed but not released,
 * or released while the library still batched the return, counts too; zbd
 * cannot look further into a dead process. Frames taken before the reader
 * published its read position are not lost: the next reader gets them again.
 * The held size does not change while the writer commits (used grows by what
 * free shrinks), except during a commit that has stored write_pos and not yet
 * taken its bytes from free; so it is measured 1 ms apart until two looks
 * agree. Walking must land exactly on read_pos, else nothing is counted and
 * the caller says so.
 */
static bool held_bytes(const struct zb_segment *s, uint64_t *ret)
{
	const struct zb_oieb *o = s->oieb;
	uint64_t p = s->payload_size;
	uint64_t free_now = zb_load(&o->payload_free_bytes);
	uint64_t wc = zb_load(&o->payload_written_count), rc = zb_load(&o->payload_read_count);
	uint64_t w = zb_load(&o->payload_write_pos) % p, r = zb_load(&o->payload_read_pos) % p;
	uint64_t used = used_between(p, w, r, wc == rc);

	if (used + free_now > p)
		return false;
	*ret = p - used - free_now;
	return true;
}

bool ring_held_frames(const struct zb_segment *s, uint64_t *ret)
{
	uint64_t p = s->payload_size, r = zb_load(&s->oieb->payload_read_pos) % p;
	uint64_t held = 0, again, left, pos, n = 0;
	bool agreed = false;

	for (int look = 0; look < 4 && !agreed; look++) {
		if (look > 0)
			nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		if (!held_bytes(s, &again))
			continue;
		agreed = look > 0 && again == held;
		held = again;
	}
	if (!agreed)
		return false;
	/* Not ring_step(): this walk counts frames only, not markers, and goes
	 * by bytes up to read_pos rather than by the counts from it. */
	for (left = held, pos = (r + p - held % p) % p; left > 0;) {
		uint64_t size = 0, step = p - pos; /* a ring tail, with or without a marker */

		if (step >= ZB_FRAME_HEADER_SIZE)
			memcpy(&size, s->ring + pos, sizeof(size));
		if (step >= ZB_FRAME_HEADER_SIZE && size != 0) {
			if (size > p - pos - ZB_FRAME_HEADER_SIZE)
				return false;
			step = ZB_FRAME_HEADER_SIZE + size;
			n++;
		}
		if (step > left)
			return false;
		left -= step;
		pos = (pos + step) % p;
	}
	if (pos != r)
		return false;
	*ret = n;
	return true;
}
