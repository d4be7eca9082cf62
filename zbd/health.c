/* SPDX-License-Identifier: MIT */
/*
 * Health. Frame counts come straight from the control block (wrap markers
 * included, as the protocol counts them). Byte counts are not in the control
 * block, so they are estimated from the movement of the write and read
 * positions between two scans: the distance moved, modulo the ring, is the
 * bytes of the frames written (headers and any skipped ring tail included),
 * unless the writer went round the ring more than once between two scans. We
 * correct for that when the frame count proves it (every frame takes at least
 * 17 bytes: whole laps are added until the distance covers 17 per frame) and
 * then subtract the 16-byte headers. So bytes_* are exact for streams that do
 * not lap the ring within one scan interval and a lower bound otherwise, and
 * count only what moved while this zbd was watching. Rates are over the last
 * scan interval.
 */
#include <stdio.h>

#include "clock.h"
#include "ctlkeys.h"
#include "health.h"
#include "ring.h"

#define DEGRADED_PERCENT 80.0
#define CRITICAL_PERCENT 95.0

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
		uint64_t dwb = moved_bytes(s->write_pos, wp, dwc, p);
		uint64_t drb = moved_bytes(s->read_pos, rp, drc, p);

		s->bytes_written += dwb;
		s->bytes_read += drb;
		s->write_fps = dwc / dt;
		s->read_fps = drc / dt;
		s->write_bps = dwb / dt;
		s->read_bps = drb / dt;
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

void health_write_daemon(struct reply *r, struct zbd *d)
{
	ev_tstamp up = mono_now() - d->started;
	struct health_daemon h = {
		.daemon = "zbd",
		.pub = { .version = ZBD_VERSION,
			 .uptime_s = up > 0 ? (uint64_t)up : 0, /* the wall clock may step back */
			 .buffers = d->n_buffers },
		.pid = d->pid,
		.clients = d->n_clients,
	};

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

void health_write_buffer(struct reply *r, struct zbd_buffer *b)
{
	const struct zb_oieb *o = b->seg.oieb;
	const struct buffer_stats *s = &b->stats;
	ev_tstamp now = mono_now();
	uint64_t used = ring_used_bytes(&b->seg);
	double percent = b->seg.payload_size ? 100.0 * used / b->seg.payload_size : 0;
	uint64_t rpid = zb_load(&o->reader_pid), wpid = zb_load(&o->writer_pid);
	struct health_buffer h = {
		.pub = {
			.payload_size = b->seg.payload_size,
			.metadata_size = b->seg.metadata_size,
			.used_bytes = used,
			.utilisation = percent,
			.reader_pid = (int64_t)rpid,
			.reader_alive = pid_alive(rpid),
			.writer_pid = (int64_t)wpid,
			.writer_alive = pid_alive(wpid),
			.frames_written = zb_load(&o->payload_written_count),
			.frames_read = zb_load(&o->payload_read_count),
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
	};

	snprintf(h.pub.name, sizeof(h.pub.name), "%s", b->name);
	snprintf(h.pub.state_text, sizeof(h.pub.state_text), "%s", buffer_state(b, percent, now));
	write_record(r, CTLKEY_BUFFER, &h);
}
