/* SPDX-License-Identifier: MIT */
/* Kernel-held liveness of readers and writers (the design is in liveness.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "liveness.h"
#include "lockfile.h"
#include "ring.h"

/* Readable by every judge (flock needs only an open file); nobody else may write. */
#define ROLE_LOCK_MODE 0644
/* A judge's probe (and the stale sweep) holds the lock for microseconds, but
 * on a loaded machine it may be descheduled holding it: a peer that meets one
 * tries again this often, for up to this long, unless a marked peer holds the
 * slot (then the lock is most likely its own). */
#define TAKE_RETRY_NS (1000 * 1000)
#define TAKE_TRIES 1000
#define MARK_PID_MASK 0xffffffffu

uint64_t *liveness_slot(struct zb_oieb *o, enum peer_role role)
{
	return role == PEER_READER ? &o->reader_pid : &o->writer_pid;
}

uint64_t *liveness_mark(struct zb_oieb *o, enum peer_role role)
{
	return role == PEER_READER ? &o->reader_mark : &o->writer_mark;
}

static uint64_t mark_of(const struct zb_oieb *o, enum peer_role role)
{
	return zb_load(liveness_mark((struct zb_oieb *)o, role));
}

static int role_lock_path(char *out, size_t size, const char *name, enum peer_role role)
{
	int n = snprintf(out, size, "%s/%s%s", ZB_LOCK_DIR, name,
			 role == PEER_READER ? LIVENESS_SUFFIX_READER : LIVENESS_SUFFIX_WRITER);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

uint32_t liveness_pidns(void)
{
	/* Judges ask often (zbd every scan); a process never changes its pid
	 * namespace, but a child forked after unshare() has another one. */
	static __thread pid_t known_for;
	static __thread uint32_t known;
	struct stat st;
	pid_t self = getpid();

	if (known_for == self)
		return known;
	if (stat("/proc/self/ns/pid", &st) < 0 || (uint32_t)st.st_ino == 0)
		return UINT32_MAX;
	known = (uint32_t)st.st_ino;
	known_for = self;
	return known;
}

bool liveness_marked(const struct zb_oieb *o, enum peer_role role, uint64_t pid)
{
	uint64_t mark = mark_of(o, role);

	return pid != 0 && mark != 0 && (mark & MARK_PID_MASK) == pid;
}

uint32_t liveness_mark_pidns(const struct zb_oieb *o, enum peer_role role)
{
	return (uint32_t)(mark_of(o, role) >> 32);
}

bool liveness_same_namespace(const struct zb_oieb *o, enum peer_role role, uint64_t pid)
{
	return liveness_marked(o, role, pid) && (mark_of(o, role) >> 32) == liveness_pidns();
}

/* Held: alive. Free, or removed (the holder left, or a sweep took a dead
 * holder's file): dead. A lock directory we do not see at all says nothing. */
static enum peer_liveness probe_role_lock(const char *name, enum peer_role role)
{
	char path[PATH_MAX];
	enum peer_liveness l;
	int fd;

	if (role_lock_path(path, sizeof(path), name, role) < 0)
		return PEER_UNKNOWN;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT && access(ZB_LOCK_DIR, F_OK) == 0)
			return PEER_DEAD;
		return PEER_UNKNOWN;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		l = PEER_DEAD;
	else
		l = errno == EWOULDBLOCK ? PEER_ALIVE : PEER_UNKNOWN;
	close(fd);
	return l;
}

enum peer_liveness liveness_of(const char *name, const struct zb_oieb *o, enum peer_role role,
			       uint64_t pid)
{
	if (pid == 0)
		return PEER_NONE;
	if (liveness_marked(o, role, pid))
		return probe_role_lock(name, role);
	return pid_alive(pid) ? PEER_ALIVE : PEER_DEAD;
}

bool liveness_may_live(const char *name, const struct zb_oieb *o, enum peer_role role, uint64_t pid)
{
	enum peer_liveness l = liveness_of(name, o, role, pid);

	return l == PEER_ALIVE || l == PEER_UNKNOWN;
}

/* Take the role lock of `s`; -EBUSY while someone else holds it. */
static int take_role_lock(const struct zb_segment *s, enum peer_role role, int *ret_fd)
{
	struct timespec pause = { 0, TAKE_RETRY_NS };
	char path[PATH_MAX];
	int r = role_lock_path(path, sizeof(path), s->name, role);

	for (int tries = 0; r == 0; tries++) {
		r = lockfile_take_path(path, ROLE_LOCK_MODE, ret_fd);
		if (r != -EEXIST)
			break;
		/* A marked holder with the lock held exclusively: its own. */
		if (tries == TAKE_TRIES ||
		    (liveness_marked(s->oieb, role, zb_load(liveness_slot(s->oieb, role))) &&
		     probe_role_lock(s->name, role) == PEER_ALIVE))
			return -EBUSY;
		nanosleep(&pause, NULL);
		r = 0;
	}
	return r;
}

struct claim_ctx {
	const struct zb_segment *s;
	enum peer_role role;
	uint64_t mark;	/* the role's mark before we wrote ours */
	bool have_lock; /* we hold the role lock */
};

/* The slot's holder, judged by the mark it left (ours has replaced it): a
 * holder that marked its slot held the role lock, and if we hold it now that
 * holder is gone. Judging the slot's bare pid instead would take a dead peer
 * of another pid namespace (pid 1) for whatever lives here under its number,
 * and refuse every new peer. */
static bool holder_may_live(uint64_t pid, void *arg)
{
	struct claim_ctx *c = arg;

	if (c->mark != 0 && (c->mark & MARK_PID_MASK) == pid) {
		if (c->have_lock)
			return false;
		return probe_role_lock(c->s->name, c->role) != PEER_DEAD;
	}
	return pid_alive(pid);
}

int liveness_attach(struct zb_segment *s, enum peer_role role, uint64_t self, struct peer_hold *ret)
{
	struct claim_ctx ctx = { .s = s, .role = role };
	uint64_t *mark = liveness_mark(s->oieb, role), before;
	struct peer_hold h = { .fd = -1 };
	int err;

	/* Not taken (a live holder has it, or anyone who may read the file holds
	 * it shared: a refusal here would let them lock us out): we go unmarked,
	 * and the claim below judges whoever holds the slot. */
	take_role_lock(s, role, &h.fd);
	/* The holder's mark is judged first, so it goes in before the slot is
	 * claimed: a judge never sees our pid in the slot unmarked. */
	before = zb_load(mark);
	ctx.mark = before;
	ctx.have_lock = h.fd >= 0;
	if (h.fd >= 0) {
		h.mark = (uint64_t)liveness_pidns() << 32 | (self & MARK_PID_MASK);
		zb_store(mark, h.mark);
	}
	if (role == PEER_READER)
		err = ring_reader_claim_by(s, self, holder_may_live, &ctx);
	else
		err = ring_slot_claim_by(liveness_slot(s->oieb, role), self, holder_may_live, &ctx);
	if (err < 0) {
		if (h.mark)
			__atomic_compare_exchange_n(mark, &h.mark, before, false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
		if (h.fd >= 0) {
			char path[PATH_MAX];

			lockfile_release_path(role_lock_path(path, sizeof(path), s->name, role) == 0
						      ? path
						      : NULL,
					      h.fd);
		}
		return err;
	}
	*ret = h;
	return 0;
}

void liveness_forget(struct zb_oieb *o, enum peer_role role, uint64_t pid)
{
	uint64_t *mark = liveness_mark(o, role), cur = zb_load(mark);

	if (cur != 0 && (cur & MARK_PID_MASK) == pid)
		__atomic_compare_exchange_n(mark, &cur, 0, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
}

void liveness_detach(struct zb_segment *s, enum peer_role role, uint64_t self, struct peer_hold *h)
{
	char path[PATH_MAX];
	uint64_t mark = h->mark;

	if (role == PEER_READER)
		ring_reader_release(s, self); /* back to zbd's stand-in, if any */
	else
		ring_slot_release(liveness_slot(s->oieb, role), self);
	if (mark)
		__atomic_compare_exchange_n(liveness_mark(s->oieb, role), &mark, 0, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	if (h->fd >= 0)
		lockfile_release_path(role_lock_path(path, sizeof(path), s->name, role) == 0 ? path
											     : NULL,
				      h->fd);
	h->fd = -1;
	h->mark = 0;
}
