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
 * Repairing a dead writer. Clear writer_pid from the dead pid to 0 (if that
 * fails, a new writer has already claimed the slot and nothing is to be done),
 * then post sem-w: a reader sleeping there wakes at once, finds no new frame
 * and writer_pid 0, and returns "writer gone" after it has drained what the
 * writer wrote. Frames and positions are the writer's published state and stay
 * valid; a new writer attaches and carries on. One exception: a writer that
 * died inside its commit left write_pos past a frame no count announces
 * (ring_unfinished_commit); then the slot goes to our pid first (a fence, as
 * for a reader below), write_pos goes back (ring_undo_unfinished_commit), and
 * the slot goes to 0.
 *
 * Repairing a dead reader. The reader may have died holding frames it had read
 * but not released, so payload_free_bytes is short by their size and a writer
 * would eventually block forever on a ring that is in fact empty. Only the
 * reader may give space back, so we first become the reader: reader_pid goes
 * from the dead pid to our own (ring_slot_fence), and no new reader can attach
 * (and start returning space itself) while we repair. Then ring_held_frames()
 * counts what the dead reader held (health's frames_lost), ring_resync_free()
 * recomputes the free count from the read and write positions (it only ever
 * raises it, never past the truth, even while the writer commits
 * concurrently), and ring_resync_empty() does the same for a ring whose every
 * frame was read. Then reader_pid goes from our pid to 0 and we post sem-r, so
 * a writer blocked on a full ring wakes, uses the space recovered if that is
 * enough, and otherwise (or once the ring fills again) returns "reader gone".
 * Frames the dead reader had not read yet stay in the ring: the next reader
 * starts at the shared read position and receives them, then everything
 * written after, in order.
 *
 * How each step works, and why it is safe while the other end keeps running
 * (the fence, the orders of loads, the walks over the ring), is in ring.h and
 * ring.c: this file decides only when to call what, and logs and counts it.
 * Both repairs touch only the control block and the semaphores, exactly the
 * state the protocol defines, so they work for peers of every implementation.
 * One post per death or departure, on top of any token already there: an
 * upstream reader takes one token per frame, so a wake-up merged into a
 * frame's token would leave it asleep for its whole timeout after the last
 * frame. One token per event cannot pile up (doc/protocol.md section 10); our
 * readers and writers take strays in their next wait.
 *
 * Limits: a pid recycled between a peer's death and our pidfd_open would be
 * watched as if it were the peer (a window of at most one scan interval, and
 * only when the pid space wraps that fast); pids from another pid namespace
 * are not ours to judge and are left alone.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "events.h"
#include "log.h"
#include "ratelimit.h"
#include "reaper.h"
#include "ring.h"
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
 * A peer that cleared its own slot has left cleanly, but its counterpart may be
 * asleep on a semaphore nobody posts (upstream peers do not post when they
 * leave): wake it, so that a clean exit is seen as fast as a crash.
 */
static void peer_left(struct zbd_buffer *b, bool is_reader)
{
	sem_post(is_reader ? b->seg.sem_r : b->seg.sem_w);
}

static void reap_writer(struct zbd_buffer *b, uint64_t pid)
{
	uint64_t *slot = &b->seg.oieb->writer_pid, self = b->daemon->pid;

	/* The usual death, between frames: clear the slot. Otherwise fence the
	 * slot as for a reader (below), so that no new writer moves the ring
	 * while we look again and undo the commit. */
	if (!ring_unfinished_commit(&b->seg)) {
		if (!ring_slot_release(slot, pid)) {
			if (zb_load(slot) == 0)
				peer_left(b, false);
			return; /* left cleanly, or a new writer claimed the slot */
		}
	} else {
		if (!ring_slot_fence(slot, pid, self))
			return;
		if (ring_undo_unfinished_commit(&b->seg))
			log_notice_ratelimited("%s: writer %llu died inside its commit; the frame "
					       "dropped",
					       b->name, (unsigned long long)pid);
		ring_slot_release(slot, self);
	}
	sem_post(b->seg.sem_w);
	b->writers_reaped++;
	events_reaped(b, false, pid, 0, true);
}

static void reap_reader(struct zbd_buffer *b, uint64_t pid)
{
	uint64_t *slot = &b->seg.oieb->reader_pid, self = b->daemon->pid, lost = 0;
	/* An earlier zbd that died standing in: no reader died, but the slot
	 * holds a dead pid all the same, and is fenced and repaired as one. */
	bool standin = pid == zb_load(&b->seg.oieb->reader_standin);
	bool counted;

	if (zb_load(slot) != pid) {
		if (zb_load(slot) == 0 || zb_load(slot) == self)
			peer_left(b, true);
		return; /* left cleanly, or a new reader claimed the slot (and resynced) */
	}
	/* Our stand-in mark goes before our pid fences the slot (ring.h). */
	if (!b->foreign)
		ring_standin_drop(&b->seg, self);
	if (!ring_slot_fence(slot, pid, self))
		return;
	counted = ring_held_frames(&b->seg, &lost);
	ring_resync_free(&b->seg, 0);
	ring_resync_empty(&b->seg);
	/* zbd's own buffer: the fence becomes the stand-in, so upstream writers
	 * go on filling the ring for the next reader. */
	if (b->foreign || !ring_standin_take(&b->seg, self))
		ring_slot_release(slot, self); /* foreign: no stand-in */
	sem_post(b->seg.sem_r);
	if (standin) {
		log_info("%s: replaced the stand-in of an earlier zbd (pid %llu)", b->name,
			 (unsigned long long)pid);
		return;
	}
	b->readers_reaped++;
	b->frames_lost += lost;
	events_reaped(b, true, pid, lost, counted);
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
	/* Short of descriptors (fdbudget.h): the scan watches it instead, by kill(). */
	if (!fdbudget_allows(&b->daemon->fds, fd, FD_USE_BUFFER)) {
		close(fd);
		log_notice_ratelimited("%s: zbd is short of file descriptors: pid %llu is watched "
				       "every scan instead of through a pidfd",
				       b->name, (unsigned long long)pid);
		if (!pid_alive(pid))
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
	uint64_t pid = zb_load(slot), self = b->daemon->pid;

	/* No reader in a buffer of ours: stand in for it (ring.h). */
	if (pid == 0 && p->is_reader && !b->foreign && ring_standin_take(&b->seg, self))
		pid = self;
	if (pid == p->pid)
		return;
	/* The peer we watched cleared its slot, or gave it back to our stand-in:
	 * it left cleanly. */
	if ((pid == 0 || pid == self) && p->pid != 0)
		peer_left(b, p->is_reader);
	/* Our own pid is our stand-in (a fence lasts only while we repair). */
	peer_watch(b, p, pid == self ? 0 : pid);
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

void reaper_abandon(struct zbd_buffer *b)
{
	if (b->abandoned)
		return;
	b->abandoned = true;
	reaper_forget(b);
	/* Sleepers wake, look, and fail instead of waiting for a slice; a post
	 * on a semaphore that was itself truncated lands in our own copy. */
	sem_post_once(b->seg.sem_w);
	sem_post_once(b->seg.sem_r);
	log_error("%s: its segment or a semaphore shrank under zbd (truncated by a process "
		  "allowed to write it): reported corrupt until destroyed, peers woken",
		  b->name);
}
