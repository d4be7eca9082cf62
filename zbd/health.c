/* SPDX-License-Identifier: MIT */
/*
 * Health. The control block counts entries (frames and the wraps that take a
 * count: markers, and the unmarked wraps the upstream Python writer counts)
 * and holds no byte counts. So every scan walks the frame headers between the
 * positions the last scan saw and the current ones (ring_span_walk), on the
 * writer's side and on the reader's: frames, their payload bytes, and the
 * counted wraps among the entries. frames_written and frames_read are the
 * control block's counts less the counted wraps seen; bytes_* the payload
 * walked. That is exact while a stream does not go round the whole ring
 * between two scans (the headers walked are then all still there). When it
 * did, the walk fails and the interval is estimated: the frames since the
 * writer's last wrap, at the start of the ring, are intact and give the mean
 * frame (else the mean of earlier walks); each lap of the ring takes one wrap,
 * counted as the last wrap seen was. Where a marker ends the lap behind the
 * writer (the headers from it to that marker are the previous lap's), a lap
 * is that many frames and one wrap instead: a writer that wraps early laps
 * a few frames, not the ring. Without any frame seen yet, bytes fall
 * back to a lower bound (every frame at least 17 ring bytes). Counts of wraps
 * and bytes cover what this zbd watched; rates are over the last scan interval.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ctlkeys.h"
#include "events.h"
#include "health.h"
#include "liveness.h"
#include "ring.h"

#define DEGRADED_PERCENT 80.0
#define CRITICAL_PERCENT 95.0
/* Mean ring bytes per frame from which a lapped interval's lap is walked. */
#define LAP_WALK_FRAME_MIN 65536.0

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t moved_bytes(uint64_t from, uint64_t to, uint64_t frames, uint64_t p)
{
	uint64_t dist = to >= from ? to - from : p - from + to;
	uint64_t min;

	/* The count comes from shared memory: an absurd one must cost nothing. */
	if (frames > (UINT64_MAX - p) / (ZB_FRAME_HEADER_SIZE + 1))
		return 0;
	min = frames * (ZB_FRAME_HEADER_SIZE + 1);
	if (frames > 0 && dist == 0)
		dist = p; /* a whole lap back to the same place */
	if (dist < min)	  /* whole laps: every frame is at least a header and a byte */
		dist += (min - dist + p - 1) / p * p;
	return dist > frames * ZB_FRAME_HEADER_SIZE ? dist - frames * ZB_FRAME_HEADER_SIZE : 0;
}

/*
 * Entries published and not yet taken are in the ring, and each takes at least
 * a header (a marker is one); a short tail that a writer counts as an entry
 * (the Python writer does) takes less, but there is at most one per lap. So
 * more than P / 16 + 1 of them is impossible. The read count is loaded before
 * and after the written count: the first proves read <= written at the moment
 * written was loaded, the second bounds what was unread then from above, so a
 * stream moving between the loads is never taken for corruption.
 */
static bool counts_possible(const struct zb_oieb *o, uint64_t p)
{
	uint64_t read_before = zb_load(&o->payload_read_count);
	uint64_t written = zb_load(&o->payload_written_count);
	uint64_t read_after = zb_load(&o->payload_read_count);

	if (read_before > written)
		return false;
	return read_after >= written || written - read_after <= p / ZB_FRAME_HEADER_SIZE + 1;
}

/* An estimate as a count. The counts come from shared memory: an absurd one
 * must give an absurd estimate, not undefined behaviour. */
static uint64_t saturated(double v)
{
	if (!(v >= 0)) /* NaN too */
		return 0;
	return v >= 0x1p64 ? UINT64_MAX : (uint64_t)v;
}

/* Frames, payload and counted wraps of `entries` entries between two
 * positions of one side, walked or, failing that, estimated (see above). */
static struct ring_span side_moved(struct zbd_buffer *b, uint64_t from, uint64_t to,
				   uint64_t entries)
{
	struct buffer_stats *s = &b->stats;
	uint64_t p = b->seg.payload_size, laps, write_pos, lap_frames = 0;
	struct ring_span span = { 0 }, recent, rest;

	if (entries == 0 && from == to)
		return span;
	if (ring_span_walk(&b->seg, from, to, entries, &span)) {
		if (span.frames) {
			s->frame_payload = (double)span.payload / span.frames;
			s->frame_ring = (double)span.ring_bytes / span.frames;
		}
		if (span.wraps || span.ring_bytes >= p - ZB_FRAME_HEADER_SIZE) {
			s->wrap_seen = true;
			s->wrap_counted = span.wraps > 0;
		}
		return span;
	}
	/* Went round the ring: the frames from 0 to the writer are its latest. */
	write_pos = zb_load(&b->seg.oieb->payload_write_pos);
	if (ring_span_walk(&b->seg, 0, write_pos, RING_SPAN_ANY, &recent) && recent.frames) {
		s->frame_payload = (double)recent.payload / recent.frames;
		s->frame_ring = (double)recent.ring_bytes / recent.frames;
		/* Beyond the writer lie the rest of its previous lap and the marker
		 * that ended it: a lap's frames, where a writer that wraps early
		 * (doc/protocol.md section 14, item 21) laps far short of P. Only
		 * frames of 64 KiB or more wrap early, and a walk over them is
		 * short: smaller ones keep one wrap per P. */
		if (write_pos && s->frame_ring >= LAP_WALK_FRAME_MIN &&
		    ring_span_walk(&b->seg, write_pos, 0, RING_SPAN_ANY, &rest) && rest.wraps == 1)
			lap_frames = recent.frames + rest.frames;
	}
	if (s->frame_ring == 0) {
		span.frames = entries;
		span.payload = moved_bytes(from, to, entries, p);
		return span;
	}
	laps = saturated(entries * s->frame_ring / p);
	/* No wrap seen yet: the tail frames of the mean size would leave. */
	if (!s->wrap_seen)
		s->wrap_counted = p % (saturated(s->frame_ring + 0.5) ?: 1) >= ZB_FRAME_HEADER_SIZE;
	if (lap_frames) {
		laps = entries / (lap_frames + 1);
		s->wrap_seen = true;
		s->wrap_counted = true;
	}
	span.wraps = s->wrap_counted ? (laps < entries ? laps : entries) : 0;
	span.frames = entries - span.wraps;
	span.payload = saturated(span.frames * s->frame_payload);
	return span;
}

bool health_block_ok(const struct zbd_buffer *b)
{
	const struct zb_oieb *o = b->seg.oieb;
	uint64_t m, p;

	if (mapguard_hit(&b->guard) || segment_validate(o, b->seg.map_size, &m, &p) < 0)
		return false;
	/* Sizes are fixed at creation; positions and counts must make sense. */
	return m == b->seg.metadata_size && p == b->seg.payload_size &&
	       zb_load(&o->payload_write_pos) <= p && zb_load(&o->payload_read_pos) <= p &&
	       zb_load(&o->payload_free_bytes) <= p && counts_possible(o, p);
}

void health_reset(struct zbd_buffer *b, ev_tstamp now)
{
	b->stats = (struct buffer_stats){ .read_moved_at = now };
}

/* Touch the far end of the segment and both semaphores: a file shrunk by
 * anyone allowed to write it faults here, the fault is absorbed (mapguard.h)
 * and the buffer turns corrupt at once, not when a repair walks the ring. */
static void probe_mappings(struct zbd_buffer *b)
{
	int value;

	(void)zb_load_relaxed(b->seg.base + b->seg.map_size - 1);
	sem_getvalue(b->seg.sem_w, &value);
	sem_getvalue(b->seg.sem_r, &value);
}

static const char *buffer_state(struct zbd_buffer *b, double percent, ev_tstamp now);

/* At most one state event per buffer in this many seconds: a ring hovering
 * at a threshold would otherwise flip its state, and log, at every scan. */
#define STATE_EVENT_INTERVAL_S 0.5

/*
 * A state that differs from the last one logged is an event (events.c); so is
 * a first one that is not healthy. Changes come at most once per interval,
 * from the last state logged to the current one, with the count of changes
 * in between (a change undone within the interval is only counted).
 */
static void track_state(struct zbd_buffer *b, ev_tstamp now)
{
	struct buffer_stats *s = &b->stats;
	uint64_t p = b->seg.payload_size;
	double percent = p && health_block_ok(b) ? 100.0 * ring_used_bytes(&b->seg) / p : 0;
	const char *state = buffer_state(b, percent, now);

	if (state != s->state)
		s->state_changes++;
	s->state = state;
	if (state == s->logged_state)
		return; /* flipped back: the changes are told with the next event */
	if (!s->logged_state && strcmp(state, "healthy") == 0) {
		s->logged_state = state; /* the usual start: nothing to say */
		s->state_changes = 0;
		return;
	}
	if (s->logged_state && now - s->logged_at < STATE_EVENT_INTERVAL_S)
		return;
	events_state(b, s->logged_state, state, percent,
		     s->state_changes > 1 ? s->state_changes - 1 : 0);
	s->logged_state = state;
	s->logged_at = now;
	s->state_changes = 0;
}

void health_sample(struct zbd_buffer *b, ev_tstamp now)
{
	struct buffer_stats *s = &b->stats;
	const struct zb_oieb *o = b->seg.oieb;
	uint64_t p = b->seg.payload_size;
	uint64_t wc = zb_load(&o->payload_written_count), rc = zb_load(&o->payload_read_count);
	uint64_t wp = zb_load(&o->payload_write_pos) % p, rp = zb_load(&o->payload_read_pos) % p;
	double dt = now - s->sampled_at;

	probe_mappings(b);

	if (s->primed && dt > 0 && wc >= s->written_count && rc >= s->read_count) {
		uint64_t dwc = wc - s->written_count, drc = rc - s->read_count;
		struct ring_span wr = side_moved(b, s->write_pos, wp, dwc);
		struct ring_span rd = side_moved(b, s->read_pos, rp, drc);

		s->bytes_written += wr.payload;
		s->bytes_read += rd.payload;
		s->wraps_written += wr.wraps;
		s->wraps_read += rd.wraps;
		s->write_fps = wr.frames / dt;
		s->read_fps = rd.frames / dt;
		s->write_bps = wr.payload / dt;
		s->read_bps = rd.payload / dt;
	} else if (s->primed) {
		/* Counters went backwards: the block was reset or is corrupt. */
		s->write_fps = s->read_fps = s->write_bps = s->read_bps = 0;
	}
	if (!s->primed || rc != s->read_count)
		s->read_moved_at = now;
	s->primed = true;
	s->sampled_at = now;
	s->written_count = wc;
	s->read_count = rc;
	s->write_pos = wp;
	s->read_pos = rp;
	track_state(b, now);
}

/* One record, every key of its kind in the table's order (libzbclient/ctlkeys.c). */
static void write_record(struct reply *r, enum ctlkey_record kind, const void *rec)
{
	char buf[CTLKEY_VALUE_MAX];
	size_t n;
	const struct ctlkey *k = ctlkeys_of(kind, &n);

	for (size_t i = 0; i < n; i++)
		reply_printf(r, "%s=%s\n", k[i].key, ctlkey_format(&k[i], rec, buf, sizeof(buf)));
}

void health_daemon_record(struct zbd *d, struct health_daemon *ret)
{
	ev_tstamp up = mono_now() - d->started;

	*ret = (struct health_daemon){
		.daemon = "zbd",
		.pub = { .version = ZBD_VERSION,
			 .uptime_s = up > 0 ? (uint64_t)up : 0, /* the wall clock may step back */
			 .buffers = d->n_buffers },
		.pid = d->pid,
		.clients = d->n_clients,
	};
}

void health_write_daemon(struct reply *r, struct zbd *d)
{
	struct health_daemon h;

	health_daemon_record(d, &h);
	write_record(r, CTLKEY_DAEMON, &h);
}

static const char *buffer_state(struct zbd_buffer *b, double percent, ev_tstamp now)
{
	unsigned stall_ms = b->daemon->cfg.stall_ms;

	if (!health_block_ok(b))
		return "corrupt";
	/* "Full" is the critical band: a writer there is blocked or about to be. */
	if (percent >= CRITICAL_PERCENT && (now - b->stats.read_moved_at) * 1000.0 >= stall_ms)
		return "stalled";
	if (percent >= CRITICAL_PERCENT)
		return "critical";
	if (percent >= DEGRADED_PERCENT)
		return "degraded";
	return "healthy";
}

static const char *const liveness_text[] = {
	[PEER_NONE] = "none",
	[PEER_ALIVE] = "alive",
	[PEER_DEAD] = "dead",
	[PEER_UNKNOWN] = "unknown",
};

/* As the reaper judged the peer (reaper.c); a pid it has not looked at yet
 * (recorded since the last scan) as a libzbclient peer judges it. */
static enum peer_liveness peer_liveness(const struct zbd_buffer *b, const struct zbd_peer *p,
					uint64_t pid)
{
	if (pid == 0)
		return PEER_NONE;
	if (p->pid == pid)
		return (enum peer_liveness)p->liveness;
	return liveness_of(b->name, b->seg.oieb, p->is_reader ? PEER_READER : PEER_WRITER, pid);
}

void health_buffer_record(struct zbd_buffer *b, struct health_buffer *ret)
{
	const struct zb_oieb *o = b->seg.oieb;
	const struct buffer_stats *s = &b->stats;
	ev_tstamp now = mono_now();
	uint64_t used = ring_used_bytes(&b->seg);
	double percent = b->seg.payload_size ? 100.0 * used / b->seg.payload_size : 0;
	/* zbd standing in for an absent reader is no reader (ring.h). */
	uint64_t rpid = ring_reader_pid(&b->seg), wpid = zb_load(&o->writer_pid);
	enum peer_liveness rl = peer_liveness(b, &b->reader, rpid),
			   wl = peer_liveness(b, &b->writer, wpid);

	*ret = (struct health_buffer){
		.pub = {
			.payload_size = b->seg.payload_size,
			.metadata_size = b->seg.metadata_size,
			.used_bytes = used,
			.utilisation = percent,
			.reader_pid = (int64_t)rpid,
			.reader_alive = rl == PEER_ALIVE,
			.writer_pid = (int64_t)wpid,
			.writer_alive = wl == PEER_ALIVE,
			.frames_written = sub0(zb_load(&o->payload_written_count), s->wraps_written),
			.frames_read = sub0(zb_load(&o->payload_read_count), s->wraps_read),
			.bytes_written = s->bytes_written,
			.bytes_read = s->bytes_read,
			.write_rate_fps = s->write_fps,
			.read_rate_fps = s->read_fps,
			.write_rate_bps = s->write_bps,
			.read_rate_bps = s->read_bps,
			.readers_reaped = b->readers_reaped,
			.writers_reaped = b->writers_reaped,
			.frames_lost = b->frames_lost,
		},
		.mode = (unsigned)b->mode,
		.adopted = b->adopted,
		.owner = "zbd",
	};

	if (b->foreign)
		snprintf(ret->owner, sizeof(ret->owner), "foreign");
	snprintf(ret->reader_liveness, sizeof(ret->reader_liveness), "%s", liveness_text[rl]);
	snprintf(ret->writer_liveness, sizeof(ret->writer_liveness), "%s", liveness_text[wl]);
	snprintf(ret->pub.name, sizeof(ret->pub.name), "%s", b->name);
	snprintf(ret->pub.state_text, sizeof(ret->pub.state_text), "%s",
		 buffer_state(b, percent, now));
}

void health_write_buffer(struct reply *r, struct zbd_buffer *b)
{
	struct health_buffer h;

	health_buffer_record(b, &h);
	write_record(r, CTLKEY_BUFFER, &h);
}
