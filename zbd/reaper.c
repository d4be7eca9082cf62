/* SPDX-License-Identifier: MIT */
/*
 * The reaper: dead peers noticed in milliseconds, and repaired.
 *
 * Learning who to watch. The control block records the reader's and the
 * writer's pid; peers of any ZeroBuffer implementation write them there and
 * nothing tells us when they do. So a scan timer (scan_interval_ms, default
 * 50) reads both pids of every buffer. For a pid we do not watch yet we open
 * a pidfd (pidfd_open) and put it in the libev loop: it becomes readable the
 * moment the process exits (a zombie counts: kill(pid, 0) still succeeds on a
 * zombie, so pidfds see deaths that the peers' own checks miss). Detection
 * latency is therefore ~0 for a peer that has been attached for one scan
 * interval, and at most one interval for one that attaches and dies at once.
 * A pid that is gone by the time we scan (pidfd_open fails with ESRCH) is
 * reaped on the spot.
 *
 * Repairing a dead writer. Compare-and-swap writer_pid from the dead pid to
 * 0 (if it fails, a new writer has already claimed the slot and nothing is to
 * be done), then post sem-w: a reader sleeping there wakes at once, finds no
 * new frame and writer_pid 0, and returns "writer gone" after it has drained
 * what the writer wrote. Frames and positions are the writer's published
 * state and stay valid; a new writer attaches and carries on. One exception:
 * a writer that died inside its commit left write_pos past a frame no count
 * announces; then the slot goes to our pid first (a fence, as for a reader
 * below), write_pos goes back (unfinished_commit), and the slot goes to 0.
 *
 * Repairing a dead reader. The reader may have died holding frames it had read
 * but not released, so payload_free_bytes is short by their size and a writer
 * would eventually block forever on a ring that is in fact empty. Only the
 * reader may give space back, so we first become the reader: CAS reader_pid
 * from the dead pid to our own pid. That is the fence: pid_claim() refuses a
 * live recorded reader, so no new reader can attach (and start returning space
 * itself) while we repair. Then segment_resync_free() recomputes the free
 * count from the read and write positions (it only ever raises it, never past
 * the truth, even while the writer commits concurrently), and
 * segment_resync_empty() does the same for a ring whose every frame was read.
 * Then reader_pid goes from our pid to 0 and we post sem-r, so a writer
 * blocked on a full ring wakes, uses the space recovered if that is enough,
 * and otherwise (or once the ring fills again) returns "reader gone". Frames the dead reader had
 * not read yet stay in the ring: the next reader starts at the shared
 * read position and receives them, then everything written after, in order.
 * If zbd itself dies during the fence, reader_pid names a dead process (us),
 * which the next reader may claim and the next zbd will reap like any other.
 *
 * Both repairs touch only the control block and the semaphores, exactly the
 * state the protocol defines, so they work for peers of every implementation.
 * Posts use sem_post_once(): one token wakes a sleeper, and tokens that
 * nobody takes must not accumulate (PROTOCOL.md section 10).
 *
 * Limits: a pid recycled between a peer's death and our pidfd_open would be
 * watched as if it were the peer (a window of at most one scan interval, and
 * only when the pid space wraps that fast); pids from another pid namespace
 * are not ours to judge and are left alone.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reaper.h"
#include "wait.h"

static void peer_unwatch(struct zbd_peer *p)
{
	struct zbd *d = p->buffer->daemon;

	if (p->pidfd >= 0) {
		ev_io_stop(d->loop, &p->watcher);
		close(p->pidfd);
	}
	p->pidfd = -1;
	p->pid = 0;
}

/*
 * A writer killed inside its commit (write_pos stored, then free taken, then
 * written_count: PROTOCOL.md 7) leaves a frame past write_pos's old value that
 * no count announces: the reader stops before it, and the next writer, which
 * starts from write_pos and written_count, would have every frame announced
 * one late and its last one never. The commit did not finish (the writer never
 * returned success), so we undo it: write_pos goes back to the end of the last
 * counted frame. Whether the dead writer had taken the frame's bytes from free
 * cannot be told (space a live reader holds looks the same); if it had, they
 * stay out of use until a reader's resync (segment_resync_free) returns them,
 * which is harmless, whereas counting the frame would have let its bytes be
 * returned twice. We find the frame by walking from the reader's published
 * position over the frames the counts announce, then on to write_pos. The
 * positions must read the same twice in a row, and the walk must land on
 * write_pos through valid headers, within less than a lap and past at most a
 * wrap marker and one frame: a look torn by a reader between its two stores
 * could otherwise lead through old frames beyond write_pos, which chain up
 * just as well. Returns true with the position to go back to.
 */
static bool unfinished_commit(const struct zbd_buffer *b, uint64_t *ret_w, uint64_t *ret_back)
{
	const struct zb_oieb *o = b->seg.oieb;
	uint64_t p = b->seg.payload_size, snap[4], now[4], pos, back, walked = 0, extra = 0;
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

		if (!segment_ring_step(&b->seg, pos, &next, &counted))
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

		if (!segment_ring_step(&b->seg, pos, &next, &counted))
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

static void reap_writer(struct zbd_buffer *b, uint64_t pid)
{
	uint64_t expected = pid, self = b->daemon->pid, w, back;

	/* The usual death, between frames: clear the slot. Otherwise fence the
	 * slot as for a reader (below), so that no new writer moves the ring
	 * while we look again and undo the commit. */
	if (!unfinished_commit(b, &w, &back)) {
		if (!__atomic_compare_exchange_n(&b->seg.oieb->writer_pid, &expected, 0, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return; /* a new writer claimed the slot already */
	} else {
		if (!__atomic_compare_exchange_n(&b->seg.oieb->writer_pid, &expected, self, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return;
		/* Only the writer stores write_pos, and the slot is ours. */
		if (unfinished_commit(b, &w, &back) &&
		    __atomic_compare_exchange_n(&b->seg.oieb->payload_write_pos, &w, back, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			log_notice("%s: writer %llu died inside its commit; the frame dropped",
				   b->name, (unsigned long long)pid);
		pid_release(&b->seg.oieb->writer_pid, self);
	}
	sem_post_once(b->seg.sem_w);
	b->writers_reaped++;
	log_info("%s: writer %llu died; cleared, reader woken", b->name, (unsigned long long)pid);
}

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
 * we say so in the log.
 */
static bool held_bytes(const struct zbd_buffer *b, uint64_t *ret)
{
	const struct zb_oieb *o = b->seg.oieb;
	uint64_t p = b->seg.payload_size;
	uint64_t free_now = zb_load(&o->payload_free_bytes);
	uint64_t wc = zb_load(&o->payload_written_count), rc = zb_load(&o->payload_read_count);
	uint64_t w = zb_load(&o->payload_write_pos) % p, r = zb_load(&o->payload_read_pos) % p;
	uint64_t used = w > r ? w - r : w < r ? p - r + w : wc == rc ? 0 : p;

	if (used + free_now > p)
		return false;
	*ret = p - used - free_now;
	return true;
}

static bool held_frames(const struct zbd_buffer *b, uint64_t *ret)
{
	const struct zb_segment *s = &b->seg;
	uint64_t p = s->payload_size, r = zb_load(&s->oieb->payload_read_pos) % p;
	uint64_t held = 0, again, left, pos, n = 0;
	bool agreed = false;

	for (int look = 0; look < 4 && !agreed; look++) {
		if (look > 0)
			nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		if (!held_bytes(b, &again))
			continue;
		agreed = look > 0 && again == held;
		held = again;
	}
	if (!agreed)
		return false;
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

static void reap_reader(struct zbd_buffer *b, uint64_t pid)
{
	uint64_t expected = pid, self = b->daemon->pid, lost = 0;
	bool counted;

	if (!__atomic_compare_exchange_n(&b->seg.oieb->reader_pid, &expected, self, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return; /* a new reader claimed the slot (and resynced free space itself) */
	counted = held_frames(b, &lost);
	segment_resync_free(&b->seg, 0);
	segment_resync_empty(&b->seg);
	pid_release(&b->seg.oieb->reader_pid, self);
	sem_post_once(b->seg.sem_r);
	b->readers_reaped++;
	b->frames_lost += lost;
	if (counted)
		log_info("%s: reader %llu died holding %llu frames; space recovered, writer woken",
			 b->name, (unsigned long long)pid, (unsigned long long)lost);
	else
		log_warning("%s: reader %llu died; frames it held not countable (ring "
			    "inconsistent); space recovered, writer woken",
			    b->name, (unsigned long long)pid);
}

static void peer_died(struct zbd_buffer *b, bool is_reader, uint64_t pid)
{
	if (is_reader)
		reap_reader(b, pid);
	else
		reap_writer(b, pid);
}

static void peer_exited_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct zbd_peer *p = container_of(w, struct zbd_peer, watcher);
	uint64_t pid = p->pid;

	peer_unwatch(p);
	peer_died(p->buffer, p->is_reader, pid);
}

static void peer_watch(struct zbd_buffer *b, struct zbd_peer *p, uint64_t pid)
{
	int fd;

	peer_unwatch(p);
	if (pid == 0)
		return;
	/* Not a pid of this namespace (or garbage): not ours to judge. */
	if (pid > INT32_MAX)
		return;
	fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0) {
		if (errno == ESRCH)
			peer_died(b, p->is_reader, pid);
		else if (!pid_alive(pid)) /* e.g. EINVAL: no pidfds here; judge by kill() */
			peer_died(b, p->is_reader, pid);
		return;
	}
	p->pid = pid;
	p->pidfd = fd;
	ev_io_init(&p->watcher, peer_exited_cb, fd, EV_READ);
	ev_io_start(b->daemon->loop, &p->watcher);
}

void reaper_init(struct zbd_buffer *b)
{
	b->reader = (struct zbd_peer){ .buffer = b, .is_reader = true, .pidfd = -1 };
	b->writer = (struct zbd_peer){ .buffer = b, .is_reader = false, .pidfd = -1 };
}

static void scan_slot(struct zbd_buffer *b, struct zbd_peer *p, uint64_t *slot)
{
	uint64_t pid = zb_load(slot);

	/* Our own pid is the fence of a repair in progress, not a peer. */
	if (pid == p->pid || pid == b->daemon->pid)
		return;
	peer_watch(b, p, pid);
}

void reaper_scan(struct zbd_buffer *b)
{
	scan_slot(b, &b->reader, &b->seg.oieb->reader_pid);
	scan_slot(b, &b->writer, &b->seg.oieb->writer_pid);
}

void reaper_forget(struct zbd_buffer *b)
{
	peer_unwatch(&b->reader);
	peer_unwatch(&b->writer);
}
