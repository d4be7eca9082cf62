/* SPDX-License-Identifier: MIT */
/*
 * The reader. The fast path (a frame is there) touches only shared memory:
 * no system call, no allocation, no clock. Frames are found by comparing
 * payload_written_count with our read count, not by semaphore tokens, so a
 * stray or missing token can delay a wake-up but never make us read a header
 * the writer has not published.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "liveness.h"
#include "lockfile.h"
#include "mapguard.h"
#include "ring.h"
#include "segment.h"
#include "wait.h"

/* Space handed out but not yet given back, in read order. */
struct pending {
	uint64_t bytes;
	bool released;
};

struct zb_reader {
	struct zb_segment seg;
	uint64_t pid;
	struct peer_hold hold; /* our role lock and mark (liveness.h) */
	int lock_fd;	       /* >= 0 when we created the buffer and own it */
	uint64_t read_pos;
	uint64_t read_count;
	uint64_t fence;	    /* write_pos as last loaded: the writer has been up to there */
	uint64_t next_seq;  /* 0: accept any, as at the start of a writer's session */
	bool writer_active; /* a writer or its frames seen since the last "gone" */
	struct pending *queue;
	uint64_t queue_cap; /* power of two */
	uint64_t head;	    /* ticket of the oldest pending entry; tickets start at 1 */
	uint64_t tail;	    /* next ticket */
	uint64_t held;	    /* bytes of all pending entries, unreturned ones included */
	/*
	 * Shared cache lines are what per-frame cost is made of, so while a long
	 * backlog lasts (LAG_MIN frames or more), the reader batches what the
	 * writer does not need at once: released bytes (`unreturned`, given back
	 * in read order), sem-w tokens of frames already taken (`owed`), and the
	 * read position and count. All are settled as soon as the backlog is
	 * short, before the reader spins or sleeps, and when they grow large, so
	 * a writer short of space never waits on a batch, sem-w stays bounded,
	 * and a reader that keeps up leaves the segment exactly as upstream does.
	 */
	uint64_t known_written; /* payload_written_count as last loaded */
	uint64_t unreturned;
	uint64_t return_batch;
	int64_t owed;	       /* frames taken minus tokens taken; < 0 after stray posts */
	unsigned unpublished;  /* frames taken since read_pos/read_count were stored */
	int64_t last_probe_ns; /* last kill(writer, 0) */
	struct removal_watch removal;
	unsigned spin_us;
	bool large_frames; /* the last frame taken was SPIN_FRAME_MAX or more */
	struct spin_state spin;
	struct zb_stats stats;
	struct mapguard_set guard; /* zb_sigbus_guard_install(): faults absorbed */
};

#define QUEUE_INITIAL 64
#define RESYNC_EVERY 1024
/* Tokens owed before they are taken anyway: far below SEM_VALUE_MAX. */
#define OWED_MAX 1024
/* Backlog (frames written, not yet taken) from which the reader batches. */
#define LAG_MIN 32
/*
 * After a frame this large the reader sleeps at once instead of spinning
 * (unless it busy-polls). A writer spends several microseconds on each such
 * frame, so the spin saves little, and on a host whose two CPUs are
 * hyperthreads of one core a spinning reader takes the core from the writer
 * filling the next frame: measured, 1 MiB and 3 MB frames filled in place ran
 * at 0.5 to 0.7 x the speed they reach beside a sleeping reader
 * (tests/bench/PERFORMANCE.md). Smaller frames keep the spin: at 64 KiB,
 * sleeping cost the hand-over 2 to 5 x, each frame paying a wake-up.
 */
#define SPIN_FRAME_MAX (1u << 20)
/* Frames taken before read_pos and read_count are stored anyway. */
#define PUBLISH_EVERY 32
/* A batch of released bytes never exceeds this share of the ring. */
#define RETURN_BATCH_SHIFT 4
/* While frames flow the writer is alive; kill(pid, 0) costs a system call,
 * so an empty ring probes at most this often (a wait slice always probes). */
#define PROBE_EVERY_NS (1000 * 1000)

static struct pending *queue_at(struct zb_reader *r, uint64_t ticket)
{
	return &r->queue[ticket & (r->queue_cap - 1)];
}

static int queue_push(struct zb_reader *r, uint64_t bytes, bool released, uint64_t *ret_ticket)
{
	if (r->tail - r->head == r->queue_cap) {
		uint64_t cap = r->queue_cap * 2;
		struct pending *q = malloc(cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		for (uint64_t t = r->head; t != r->tail; t++)
			q[t & (cap - 1)] = *queue_at(r, t);
		free(r->queue);
		r->queue = q;
		r->queue_cap = cap;
	}
	*queue_at(r, r->tail) = (struct pending){ .bytes = bytes, .released = released };
	r->held += bytes;
	*ret_ticket = r->tail++;
	return 0;
}

/* Give the writer every byte released so far, and one wake-up. */
static void publish_read(struct zb_reader *r);

static void return_flush(struct zb_reader *r)
{
	if (r->unreturned == 0)
		return;
	/* Space goes back only behind the shared read position: a reader that
	 * died with frames taken but unpublished leaves them to the next reader,
	 * who reads them again from there, so the writer must not have them. */
	if (r->unpublished)
		publish_read(r);
	r->held -= r->unreturned;
	zb_fetch_add(&r->seg.oieb->payload_free_bytes, r->unreturned);
	r->unreturned = 0;
	sem_post_once(r->seg.sem_r);
}

/* Take the sem-w tokens of frames already taken (a token may not be posted
 * yet: then it wakes us once, harmlessly, later). */
static void tokens_settle(struct zb_reader *r)
{
	while (r->owed > 0 && sem_take_token(r->seg.sem_w))
		r->owed--;
}

/* At least LAG_MIN frames wait: the written count is reloaded only when the
 * last value loaded does not already say so. */
static bool lagging(struct zb_reader *r)
{
	if (r->known_written - r->read_count >= LAG_MIN)
		return true;
	r->known_written = zb_load(&r->seg.oieb->payload_written_count);
	return r->known_written - r->read_count >= LAG_MIN;
}

/* Return every released entry at the head of the queue: at once unless a
 * long backlog lasts and the batch is still small. */
static void queue_return(struct zb_reader *r)
{
	while (r->head != r->tail && queue_at(r, r->head)->released)
		r->unreturned += queue_at(r, r->head++)->bytes;
	if (r->unreturned && (r->unreturned >= r->return_batch || !lagging(r)))
		return_flush(r);
}

static int reader_init(struct zb_reader *r)
{
	struct zb_oieb *o = r->seg.oieb;
	uint64_t p = r->seg.payload_size;

	r->read_pos = zb_load(&o->payload_read_pos);
	r->read_count = zb_load(&o->payload_read_count);
	if (r->read_pos > p || r->read_count > zb_load(&o->payload_written_count))
		return ZB_ECORRUPT;
	if (r->read_pos == p)
		r->read_pos = 0;
	if (zb_load(&o->payload_free_bytes) > p || zb_load(&o->payload_write_pos) > p)
		return ZB_ECORRUPT;
	r->known_written = r->read_count;
	r->fence = r->read_pos; /* loaded before the first entry is taken */
	r->return_batch = p >> RETURN_BATCH_SHIFT;
	r->spin_us = ZB_DEFAULT_SPIN_US;
	r->queue_cap = QUEUE_INITIAL;
	r->queue = calloc(r->queue_cap, sizeof(*r->queue));
	if (!r->queue)
		return -ENOMEM;
	r->head = r->tail = 1;
	return 0;
}

static struct zb_reader *reader_new(void)
{
	struct zb_reader *r = calloc(1, sizeof(*r));

	if (r) {
		r->lock_fd = -1;
		r->hold.fd = -1;
		r->pid = (uint64_t)getpid();
	}
	return r;
}

ZB_EXPORT int zb_reader_open(struct zb_reader **ret, const char *name)
{
	struct zb_reader *r;
	int err;

	if (!ret || names_check(name) < 0)
		return -EINVAL;
	r = reader_new();
	if (!r)
		return -ENOMEM;
	err = segment_attach(&r->seg, name);
	if (err < 0)
		goto fail;
	err = mapguard_watch(&r->guard, &r->seg);
	if (err < 0)
		goto fail;
	err = liveness_attach(&r->seg, PEER_READER, r->pid, &r->hold);
	if (err < 0)
		goto fail;
	err = reader_init(r);
	if (err < 0)
		goto fail_release;
	ring_resync_free(&r->seg, 0);
	ring_resync_empty(&r->seg);
	*ret = r;
	return 0;

fail_release:
	liveness_detach(&r->seg, PEER_READER, r->pid, &r->hold);
fail:
	mapguard_forget(&r->guard);
	segment_detach(&r->seg);
	free(r);
	return err;
}

ZB_EXPORT int zb_reader_create(struct zb_reader **ret, const char *name,
			       const struct zb_buffer_config *config)
{
	struct zb_buffer_config defaults = { 0 };
	struct zb_reader *r;
	mode_t mode;
	int err;

	if (!ret || names_check(name) < 0)
		return -EINVAL;
	if (!config)
		config = &defaults;
	mode = config->mode ? config->mode : 0600;
	if (mode & ~07777)
		return -EINVAL;
	r = reader_new();
	if (!r)
		return -ENOMEM;
	lockfile_cleanup_stale();
	err = lockfile_take(name, mode, &r->lock_fd);
	if (err < 0)
		goto fail;
	err = segment_create(&r->seg, name, config->metadata_size, config->payload_size, mode,
			     (gid_t)-1, r->pid);
	if (err == -EEXIST) {
		/* We hold the lock: whatever is there has no owner (doc/protocol.md
		 * section 12). But only what is provably our buffer's goes: another
		 * program's or user's file of that name stays, and so does -EEXIST. */
		err = segment_unlink_abandoned(name, false);
		if (err == 0)
			err = segment_create(&r->seg, name, config->metadata_size,
					     config->payload_size, mode, (gid_t)-1, r->pid);
	}
	if (err < 0)
		goto fail;
	err = mapguard_watch(&r->guard, &r->seg);
	if (err == 0)
		err = reader_init(r);
	if (err < 0)
		goto fail_unlink;
	/* Our pid is in the slot already (segment_create): the mark and role lock
	 * make it judged like an attached reader's. Busy only for a role lock a
	 * live peer of the old, ownerless buffer of this name still holds. */
	err = liveness_attach(&r->seg, PEER_READER, r->pid, &r->hold);
	if (err < 0)
		goto fail_unlink;
	*ret = r;
	return 0;

fail_unlink:
	free(r->queue);
	mapguard_forget(&r->guard);
	segment_detach(&r->seg);
	segment_unlink(name);
fail:
	lockfile_release(name, r->lock_fd);
	free(r);
	return err;
}

/* `probe`: also ask the kernel (at `now`) whether a recorded writer lives. */
static bool writer_gone(struct zb_reader *r, bool probe, int64_t now)
{
	uint64_t pid = zb_load(&r->seg.oieb->writer_pid);

	if (pid == 0)
		return true;
	if (!probe)
		return false; /* presumed alive, but not proof of a writer */
	r->last_probe_ns = now;
	if (liveness_of(r->seg.name, r->seg.oieb, PEER_WRITER, pid) == PEER_DEAD)
		return true;
	r->writer_active = true;
	return false;
}

/*
 * The written count can run ahead of the ring: the upstream Python writer
 * counts a wrap it did not mark (a tail under 16 bytes, PROTOCOL.md section
 * 15) before it writes the frame at 0, and the C++ writer counts a marker
 * before it moves write_pos past it. So the count alone does not place an
 * entry: the entry at read_pos is taken only once the writer has been past it
 * (read_pos differs from write_pos, which every writer stores after the bytes
 * it covers), or on a full ring (equal positions, nothing free, nothing held).
 * write_pos is loaded after the count, and again only when the reader reaches
 * the value last loaded, so a reader with a backlog does not load it per frame.
 */
static bool entry_placed(struct zb_reader *r)
{
	struct zb_oieb *o = r->seg.oieb;

	if (r->read_pos != r->fence)
		return true;
	r->fence = zb_load(&o->payload_write_pos) % r->seg.payload_size;
	if (r->read_pos != r->fence)
		return true;
	return r->held == 0 && zb_load(&o->payload_free_bytes) == 0;
}

/* Counts with nothing in the ring behind them are no entries: taken as read,
 * so the shared counts say again what the ring holds. */
static void skip_phantoms(struct zb_reader *r)
{
	r->read_count = r->known_written;
	publish_read(r);
}

static bool frame_ready(void *arg)
{
	struct zb_reader *r = arg;

	r->known_written = zb_load(&r->seg.oieb->payload_written_count);
	return r->known_written != r->read_count && entry_placed(r);
}

static void publish_read(struct zb_reader *r)
{
	r->unpublished = 0;
	zb_store(&r->seg.oieb->payload_read_pos, r->read_pos);
	zb_store(&r->seg.oieb->payload_read_count, r->read_count);
}

/* The writer left the ring's tail unused: give it back in order, move to 0. */
static int skip_tail(struct zb_reader *r)
{
	uint64_t ticket;
	int err = queue_push(r, r->seg.payload_size - r->read_pos, true, &ticket);

	if (err < 0)
		return err;
	r->read_pos = 0;
	queue_return(r);
	return 0;
}

/* What take_frame() found, or < 0 for an error. */
enum { TAKE_AGAIN, TAKE_FRAME, TAKE_AHEAD };

/* TAKE_FRAME: a frame is in *ret; TAKE_AGAIN: a wrap was consumed, look again;
 * TAKE_AHEAD: the count is ahead of the ring (entry_placed), wait. */
static int take_frame(struct zb_reader *r, struct zb_frame *ret)
{
	uint64_t p = r->seg.payload_size, pos = r->read_pos;
	struct zb_frame_header hdr;
	uint64_t ticket;
	int err;

	if (pos == r->fence && !entry_placed(r)) {
		/* The writer stands at 0 or in a short tail: no writer counts a
		 * marker there, so what the count says beyond it is no entry. */
		if (pos == 0 || p - pos < ZB_FRAME_HEADER_SIZE)
			skip_phantoms(r);
		return TAKE_AHEAD;
	}
	if (p - pos < ZB_FRAME_HEADER_SIZE) /* wrap without a marker */
		return skip_tail(r) ?: TAKE_AGAIN;
	/* Copied once: a writer rewriting the header must not change what we checked. */
	memcpy(&hdr, r->seg.ring + pos, sizeof(hdr));
	if (hdr.payload_size == 0) { /* wrap marker, counted like a frame */
		/* A marker means "the frame did not fit before the end": at 0 the whole
		 * ring lies ahead, so none is ever written there, and skipping one at 0
		 * again and again would loop for as long as the counts say. */
		if (pos == 0)
			return ZB_ECORRUPT;
		r->read_count++;
		err = skip_tail(r);
		publish_read(r);
		return err ?: TAKE_AGAIN;
	}
	if (hdr.payload_size > p - pos - ZB_FRAME_HEADER_SIZE)
		return ZB_ECORRUPT;
	if (r->next_seq != 0 && hdr.sequence_number != r->next_seq) {
		/* A new writer restarts at 1: end the old session first, once. */
		if (hdr.sequence_number != 1 || !r->writer_active)
			return ZB_ECORRUPT;
		r->writer_active = false;
		r->next_seq = 0;
		return ZB_EWRITER_GONE;
	}
	err = queue_push(r, ZB_FRAME_HEADER_SIZE + hdr.payload_size, false, &ticket);
	if (err < 0)
		return err;
	r->read_pos = pos + ZB_FRAME_HEADER_SIZE + hdr.payload_size;
	if (r->read_pos == p)
		r->read_pos = 0;
	r->read_count++;
	/* Positions and sem-w tokens: at once unless a long backlog lasts. */
	r->owed++;
	if (!lagging(r)) {
		publish_read(r);
		tokens_settle(r);
	} else {
		if (++r->unpublished >= PUBLISH_EVERY)
			publish_read(r);
		if (r->owed >= OWED_MAX)
			tokens_settle(r);
	}

	r->writer_active = true;
	r->next_seq = hdr.sequence_number + 1;
	r->stats.frames++;
	r->stats.bytes += hdr.payload_size;
	/* Now and then, recover space a previous reader died holding. */
	if (r->stats.frames % RESYNC_EVERY == 0) {
		publish_read(r);
		ring_resync_free(&r->seg, r->held);
	}
	*ret = (struct zb_frame){
		.data = r->seg.ring + pos + ZB_FRAME_HEADER_SIZE,
		.size = hdr.payload_size,
		.sequence = hdr.sequence_number,
		.ticket = ticket,
	};
	return TAKE_FRAME;
}

static int read_frame(struct zb_reader *r, struct zb_frame *ret, int timeout_ms)
{
	int64_t deadline = 0;
	bool slept = false;

	for (;;) {
		int64_t now;
		bool probe, gone, owed;
		unsigned spin;

		/* Our mapping is not the buffer any more: stop before sleeping on it. */
		if (mapguard_hit(&r->guard))
			return ZB_ECORRUPT;

		/* The shared count is loaded only when the frames it announced are
		 * taken: while a backlog lasts, its cache line stays with the writer. */
		if (r->known_written == r->read_count)
			r->known_written = zb_load(&r->seg.oieb->payload_written_count);
		if (r->known_written != r->read_count) {
			int err;

			if (r->known_written < r->read_count)
				return ZB_ECORRUPT;
			/* A writer that has not noticed yet may still stream into it. */
			if (segment_removed_streaming(&r->seg, &r->removal, r->stats.frames,
						      r->stats.bytes))
				return ZB_EDESTROYED;
			err = take_frame(r, ret);
			if (err < 0)
				return err;
			if (err == TAKE_FRAME) {
				r->large_frames = ret->size >= SPIN_FRAME_MAX;
				return 0;
			}
			if (err == TAKE_AGAIN)
				continue;
		}
		/* Nothing to read: whatever the writer may be waiting for goes now. */
		if (r->unpublished)
			publish_read(r);
		return_flush(r);
		tokens_settle(r);
		/* One clock read serves the probe, the deadline and the sleep: at
		 * ~20 ns each they were a measurable part of a blocking round trip. */
		now = clock_now_ns();
		probe = timeout_ms == 0 || slept || now - r->last_probe_ns >= PROBE_EVERY_NS;
		gone = writer_gone(r, probe, now) && !frame_ready(r);
		/* What the count still announces, a writer that has left will
		 * never place (a Python writer's last unmarked wrap). */
		if (gone && r->known_written > r->read_count)
			skip_phantoms(r);
		gone = gone && r->writer_active;
		/* Asked before "writer gone" is told: zbd clears the pids of a buffer
		 * it destroys (once its names are gone), and the end of the buffer
		 * must not pass for the end of a stream. */
		if ((probe || gone) && segment_removed(&r->seg))
			return ZB_EDESTROYED;
		if (gone) {
			r->writer_active = false;
			r->next_seq = 0;
			return ZB_EWRITER_GONE;
		}
		if (timeout_ms == 0)
			return -ETIMEDOUT;
		if (deadline == 0)
			deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
		spin = r->large_frames && !spin_forever(r->spin_us) ? 0 : r->spin_us;
		if (spin_adaptive(&r->spin, frame_ready, r, spin, deadline))
			continue;
		if (spin)
			now = clock_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (spin_forever(r->spin_us))
			continue; /* busy poll: look at the writer, then spin again */
		/* A token is a frame's (owed) or a wake-up (zbd's, after a death or
		 * a destroy). A slice without one, or a token nobody owed us, makes
		 * the next round ask whether the writer and the buffer still live. */
		owed = r->owed > 0;
		slept = sem_wait_slice_from(r->seg.sem_w, deadline, now) < 0;
		if (!slept) {
			r->owed--;
			slept = !owed;
		}
		/* Whatever woke us, the next frame costs a coarse clock read: after
		 * REMOVAL_EVERY_NS asleep, nothing is handed out of a removed segment. */
		r->removal.frames = 0;
	}
}

ZB_EXPORT int zb_reader_read(struct zb_reader *r, struct zb_frame *ret, int timeout_ms)
{
	int err;

	if (!r || !ret)
		return -EINVAL;
	err = read_frame(r, ret, timeout_ms);
	/* A fault absorbed on the way (zb_sigbus_guard_install) made whatever
	 * we saw zeros: the answer is the fault, not what the zeros said. */
	return mapguard_hit(&r->guard) ? ZB_ECORRUPT : err;
}

ZB_EXPORT int zb_reader_release(struct zb_reader *r, const struct zb_frame *frame)
{
	struct pending *e;

	if (!r || !frame || frame->ticket < r->head || frame->ticket >= r->tail)
		return -EINVAL;
	e = queue_at(r, frame->ticket);
	if (e->released)
		return -EINVAL;
	e->released = true;
	if (frame->ticket == r->head)
		queue_return(r);
	return 0;
}

ZB_EXPORT int zb_reader_metadata(struct zb_reader *r, const void **ret_data, size_t *ret_size)
{
	if (!r || !ret_data || !ret_size)
		return -EINVAL;
	if (mapguard_hit(&r->guard))
		return ZB_ECORRUPT;
	return segment_metadata(&r->seg, ret_data, ret_size);
}

ZB_EXPORT int zb_reader_writer_connected(struct zb_reader *r)
{
	if (!r)
		return -EINVAL;
	return liveness_of(r->seg.name, r->seg.oieb, PEER_WRITER,
			   zb_load(&r->seg.oieb->writer_pid)) == PEER_ALIVE;
}

ZB_EXPORT int zb_reader_set_spin(struct zb_reader *r, unsigned spin_us)
{
	if (!r)
		return -EINVAL;
	r->spin_us = spin_us;
	return 0;
}

ZB_EXPORT int zb_reader_stats(struct zb_reader *r, struct zb_stats *ret)
{
	if (!r || !ret)
		return -EINVAL;
	*ret = r->stats;
	return 0;
}

ZB_EXPORT void zb_reader_close(struct zb_reader *r)
{
	bool removed;

	if (!r)
		return;
	/* Frames still held die with the handle: their space goes back now. */
	for (uint64_t t = r->head; t != r->tail; t++)
		queue_at(r, t)->released = true;
	queue_return(r);
	return_flush(r);
	if (r->unpublished)
		publish_read(r);
	/* Destroyed by someone else: the name may be another buffer's by now. */
	removed = segment_removed(&r->seg);
	liveness_detach(&r->seg, PEER_READER, r->pid, &r->hold);
	/* A writer asleep on sem-r (a full ring) learns at once that we left. */
	sem_post(r->seg.sem_r);
	mapguard_forget(&r->guard);
	segment_detach(&r->seg);
	if (r->lock_fd >= 0) {
		if (!removed)
			segment_unlink(r->seg.name);
		lockfile_release(r->seg.name, r->lock_fd);
	}
	free(r->queue);
	free(r);
}
