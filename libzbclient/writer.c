/* SPDX-License-Identifier: MIT */
/*
 * The writer. Per frame it writes the header and data, publishes write_pos,
 * free bytes and the written count, and posts sem-w once; sem_post enters the
 * kernel only when the reader sleeps. The writer keeps its own copies of the
 * positions and never trusts the shared ones after attaching.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "liveness.h"
#include "mapguard.h"
#include "ring.h"
#include "segment.h"
#include "wait.h"

/*
 * Readers of other implementations post sem-r on every release, and nobody
 * takes those tokens while space suffices (PROTOCOL.md 10). We take the surplus
 * above SEM_R_DRAIN_ABOVE back in bounded batches, so no frame pays more than a
 * few microseconds (a token is one sem_trywait): every SEM_R_DRAIN_EVERY frames
 * at most SEM_R_DRAIN_BATCH tokens, twice what such a reader posts meanwhile.
 * The count then falls by at least one per frame while it is high, and one found
 * near SEM_VALUE_MAX (a long stream before us) is worked down from attach on,
 * before the reader's posts can overflow it.
 */
#define SEM_R_DRAIN_EVERY 32
#define SEM_R_DRAIN_BATCH 64
#define SEM_R_DRAIN_ABOVE 1024

/*
 * Early wrap (doc/protocol.md section 14, item 21). Once the write position is
 * HOT_FRAMES frames into the ring, and everything the reader has not given
 * back lies in the second half of that stretch, the next frame goes back to 0
 * behind a wrap marker. A stream that keeps up then cycles through the first
 * few frames of the ring, which are still in the cache, instead of walking the
 * whole ring onto cold memory (tests/bench/PERFORMANCE.md: a producer that
 * writes every byte of 3 MB frames in place runs about 1.5 to 2 times as
 * fast). It wraps only when free space already covers the skipped tail, and
 * half the stretch is free at 0, so it never makes the writer wait, and a
 * reader that lags further keeps the whole ring to fall behind in. Frames under
 * HOT_FRAME_MIN never wrap early: their cost is per frame, not per byte, and a
 * short stretch turned the reader's batched returns (reader.c) into waits.
 * The reader's progress (a cache line it writes) is looked at no more than
 * once per HOT_LOOK_EVERY bytes of frames.
 */
#define HOT_FRAMES 4
#define HOT_FRAME_MIN (UINT64_C(64) << 10)
#define HOT_LOOK_EVERY (UINT64_C(256) << 10)

struct zb_writer {
	struct zb_segment seg;
	uint64_t pid;
	struct peer_hold hold; /* our role lock and mark (liveness.h) */
	uint64_t write_pos;
	uint64_t written_count;
	uint64_t next_seq;
	uint64_t seen_read_count; /* a reader moving it is a reader that exists */
	bool reader_active;	  /* a reader seen since the last "gone" */
	bool acquired;
	uint64_t acq_size;  /* bytes reserved by acquire */
	uint64_t acq_waste; /* ring tail skipped to place the frame at 0, or 0 */
	/* A lower bound of payload_free_bytes: only the reader raises it, and we
	 * subtract what we take, so the shared field (a cache line the reader
	 * writes) is loaded only when this bound says the frame may not fit. */
	uint64_t free_known;
	uint64_t hot_look_credit; /* frame bytes left before the next look (early wrap) */
	unsigned spin_us;
	struct spin_state spin;
	struct zb_stats stats;
	struct mapguard_set guard; /* zb_sigbus_guard_install(): faults absorbed */
	struct removal_watch removal;
};

static bool reader_lives(struct zb_writer *w)
{
	return liveness_of(w->seg.name, w->seg.oieb, PEER_READER, ring_reader_pid(&w->seg)) ==
	       PEER_ALIVE;
}

static void drain_sem_r(struct zb_writer *w)
{
	int value;

	if (sem_getvalue(w->seg.sem_r, &value) < 0 || value <= SEM_R_DRAIN_ABOVE)
		return;
	/* Safe at any time: we re-check free space before every sleep. */
	for (int n = 0; n < SEM_R_DRAIN_BATCH && value-- > SEM_R_DRAIN_ABOVE; n++)
		if (!sem_take_token(w->seg.sem_r))
			break;
}

ZB_EXPORT int zb_writer_open(struct zb_writer **ret, const char *name)
{
	struct zb_writer *w;
	struct zb_oieb *o;
	int err;

	if (!ret || names_check(name) < 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pid = (uint64_t)getpid();
	w->hold.fd = -1;
	err = segment_attach(&w->seg, name);
	if (err < 0)
		goto fail;
	err = mapguard_watch(&w->guard, &w->seg);
	if (err < 0)
		goto fail;
	o = w->seg.oieb;
	err = liveness_attach(&w->seg, PEER_WRITER, w->pid, &w->hold);
	if (err < 0)
		goto fail;
	w->write_pos = zb_load(&o->payload_write_pos);
	w->written_count = zb_load(&o->payload_written_count);
	w->seen_read_count = zb_load(&o->payload_read_count);
	if (w->write_pos > w->seg.payload_size ||
	    zb_load(&o->payload_free_bytes) > w->seg.payload_size) {
		err = ZB_ECORRUPT;
		goto fail_release;
	}
	if (w->write_pos == w->seg.payload_size)
		w->write_pos = 0;
	w->next_seq = 1;
	w->spin_us = ZB_DEFAULT_SPIN_US;
	w->reader_active = reader_lives(w);
	drain_sem_r(w);
	*ret = w;
	return 0;

fail_release:
	liveness_detach(&w->seg, PEER_WRITER, w->pid, &w->hold);
fail:
	mapguard_forget(&w->guard);
	segment_detach(&w->seg);
	free(w);
	return err;
}

ZB_EXPORT int zb_writer_set_metadata(struct zb_writer *w, const void *data, size_t size)
{
	struct zb_oieb *o;
	uint64_t len = size;

	if (!w || !data || size == 0)
		return -EINVAL;
	if (mapguard_hit(&w->guard))
		return ZB_ECORRUPT;
	o = w->seg.oieb;
	if (zb_load(&o->metadata_written_bytes) != 0)
		return -EALREADY;
	if (size > w->seg.metadata_size || sizeof(len) + size > w->seg.metadata_size)
		return -EMSGSIZE;
	memcpy(w->seg.metadata, &len, sizeof(len));
	if (size)
		memcpy(w->seg.metadata + sizeof(len), data, size);
	zb_store(&o->metadata_free_bytes, w->seg.metadata_size - sizeof(len) - size);
	zb_store(&o->metadata_written_bytes, sizeof(len) + size);
	return 0;
}

ZB_EXPORT int zb_writer_metadata(struct zb_writer *w, const void **ret_data, size_t *ret_size)
{
	if (!w || !ret_data || !ret_size)
		return -EINVAL;
	if (mapguard_hit(&w->guard))
		return ZB_ECORRUPT;
	return segment_metadata(&w->seg, ret_data, ret_size);
}

static bool reader_gone(struct zb_writer *w)
{
	uint64_t pid = ring_reader_pid(&w->seg); /* zbd standing in is no reader */
	uint64_t read_count = zb_load(&w->seg.oieb->payload_read_count);

	if (read_count != w->seen_read_count) {
		w->seen_read_count = read_count;
		w->reader_active = true;
	}
	if (liveness_may_live(w->seg.name, w->seg.oieb, PEER_READER, pid)) {
		w->reader_active = true;
		return false;
	}
	return true;
}

struct space_wait {
	struct zb_writer *w;
	uint64_t need;
};

static bool space_ready(void *arg)
{
	struct space_wait *sw = arg;

	sw->w->free_known = zb_load(&sw->w->seg.oieb->payload_free_bytes);
	return sw->w->free_known >= sw->need;
}

static int wait_space(struct zb_writer *w, uint64_t need, int timeout_ms)
{
	struct space_wait sw = { w, need };
	int64_t deadline = 0;
	bool slept = false;

	for (;;) {
		bool gone;

		if (mapguard_hit(&w->guard))
			return ZB_ECORRUPT;
		if (space_ready(&sw))
			return 0;
		gone = reader_gone(w) && w->reader_active;
		/* Asked where we would sleep or give up, never on a stream's way,
		 * and before "reader gone" (zbd clears the pids of a buffer it
		 * destroys, once its names are gone). */
		if ((slept || gone || timeout_ms == 0) && segment_removed(&w->seg))
			return ZB_EDESTROYED;
		if (gone) {
			w->reader_active = false;
			return ZB_EREADER_GONE;
		}
		if (timeout_ms == 0)
			return -ENOBUFS;
		if (deadline == 0)
			deadline = deadline_from_ms(timeout_ms);
		if (spin_adaptive(&w->spin, space_ready, &sw, w->spin_us, deadline))
			return 0;
		if (clock_now_ns() >= deadline)
			return -ENOBUFS;
		if (spin_forever(w->spin_us))
			continue; /* busy poll: look at the reader, then spin again */
		sem_wait_slice(w->seg.sem_r, deadline);
		slept = true;
	}
}

/* Whether a frame taking `need` bytes, which fits before the end of the ring,
 * should go to 0 anyway, behind a marker. Unreturned bytes of at most pos / 2
 * lie before pos (a reader still in the previous lap holds more), so the tail
 * and the frame's room at 0 are free. */
static bool wrap_early(struct zb_writer *w, uint64_t need)
{
	uint64_t p = w->seg.payload_size, pos = w->write_pos;

	if (need < HOT_FRAME_MIN || pos < HOT_FRAMES * need)
		return false;
	if (p - w->free_known > pos / 2) {
		if (w->hot_look_credit > need) {
			w->hot_look_credit -= need;
			return false;
		}
		w->hot_look_credit = HOT_LOOK_EVERY;
		w->free_known = zb_load(&w->seg.oieb->payload_free_bytes);
	}
	return w->free_known <= p && p - w->free_known <= pos / 2;
}

ZB_EXPORT int zb_writer_acquire(struct zb_writer *w, size_t size, void **ret_data, int timeout_ms)
{
	uint64_t p, to_end, waste, need;
	int err;

	if (!w || !ret_data || size == 0 || w->acquired)
		return -EINVAL;
	if (mapguard_hit(&w->guard))
		return ZB_ECORRUPT;
	/* Nothing goes into a segment that was removed (zb_reader_read likewise). */
	if (segment_removed_streaming(&w->seg, &w->removal, w->stats.frames, w->stats.bytes))
		return ZB_EDESTROYED;
	p = w->seg.payload_size;
	if (size > p - ZB_FRAME_HEADER_SIZE)
		return -EMSGSIZE;
	to_end = p - w->write_pos;
	waste = to_end < ZB_FRAME_HEADER_SIZE + size ? to_end : 0;
	if (!waste && wrap_early(w, ZB_FRAME_HEADER_SIZE + size))
		waste = to_end;
	need = waste + ZB_FRAME_HEADER_SIZE + size;
	/* The skipped tail stays counted until the reader passes it: a frame this
	 * large cannot be placed from here, ever. Frames up to P/2 - 16 always fit. */
	if (need > p)
		return -EMSGSIZE;
	if (w->free_known < need) {
		err = wait_space(w, need, timeout_ms);
		if (err < 0)
			return err;
	}
	w->acquired = true;
	w->acq_size = size;
	w->acq_waste = waste;
	*ret_data = w->seg.ring + (waste ? 0 : w->write_pos) + ZB_FRAME_HEADER_SIZE;
	return 0;
}

ZB_EXPORT int zb_writer_commit(struct zb_writer *w, size_t size)
{
	struct zb_oieb *o;
	struct zb_frame_header hdr;
	uint64_t p, pos, total, count;

	if (!w || !w->acquired || size == 0 || size > w->acq_size)
		return -EINVAL;
	o = w->seg.oieb;
	p = w->seg.payload_size;
	pos = w->write_pos;
	count = w->written_count;
	if (w->acq_waste) {
		if (w->acq_waste >= ZB_FRAME_HEADER_SIZE) {
			hdr = (struct zb_frame_header){ 0, 0 };
			memcpy(w->seg.ring + pos, &hdr, sizeof(hdr));
			count++;
		}
		pos = 0;
	}
	hdr = (struct zb_frame_header){ size, w->next_seq };
	memcpy(w->seg.ring + pos, &hdr, sizeof(hdr));
	total = ZB_FRAME_HEADER_SIZE + size;
	pos += total;
	if (pos == p)
		pos = 0;
	count++;

	/* Release stores: the frame's bytes are visible before any of these. */
	zb_store(&o->payload_write_pos, pos);
	zb_fetch_sub(&o->payload_free_bytes, w->acq_waste + total);
	w->free_known -= w->acq_waste + total;
	zb_store(&o->payload_written_count, count);
	sem_post(w->seg.sem_w);

	w->write_pos = pos;
	w->written_count = count;
	w->next_seq++;
	w->acquired = false;
	w->stats.frames++;
	w->stats.bytes += size;
	if (w->stats.frames % SEM_R_DRAIN_EVERY == 0)
		drain_sem_r(w);
	/* A fault absorbed while the frame was filled or published: it went nowhere. */
	return mapguard_hit(&w->guard) ? ZB_ECORRUPT : 0;
}

ZB_EXPORT int zb_writer_write(struct zb_writer *w, const void *data, size_t size, int timeout_ms)
{
	void *dst;
	int err;

	if (!w || !data)
		return -EINVAL;
	err = zb_writer_acquire(w, size, &dst, timeout_ms);
	if (err < 0)
		return err;
	memcpy(dst, data, size);
	return zb_writer_commit(w, size);
}

ZB_EXPORT int zb_writer_reader_connected(struct zb_writer *w)
{
	if (!w)
		return -EINVAL;
	return reader_lives(w);
}

ZB_EXPORT int zb_writer_set_spin(struct zb_writer *w, unsigned spin_us)
{
	if (!w)
		return -EINVAL;
	w->spin_us = spin_us;
	return 0;
}

ZB_EXPORT int zb_writer_stats(struct zb_writer *w, struct zb_stats *ret)
{
	if (!w || !ret)
		return -EINVAL;
	*ret = w->stats;
	return 0;
}

ZB_EXPORT void zb_writer_close(struct zb_writer *w)
{
	if (!w)
		return;
	liveness_detach(&w->seg, PEER_WRITER, w->pid, &w->hold);
	/* A reader asleep on sem-w learns at once that we left: a token of its
	 * own, as upstream readers take one per frame (reaper.c). */
	sem_post(w->seg.sem_w);
	mapguard_forget(&w->guard);
	segment_detach(&w->seg);
	free(w);
}
