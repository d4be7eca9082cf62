/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fdstore.h"
#include "health.h"
#include "lockfile.h"
#include "liveness.h"
#include "log.h"
#include "reaper.h"
#include "shmfile.h"
#include "registry.h"
#include "ring.h"
#include "statefile.h"
#include "wait.h"

void registry_init(struct zbd *d, void (*changed)(void *ctx), void *ctx)
{
	list_init(&d->buffers);
	d->n_buffers = 0;
	d->buffers_changed = changed;
	d->buffers_changed_ctx = ctx;
}

struct zbd_buffer *registry_find(struct zbd *d, const char *name)
{
	struct zbd_buffer *b, *tmp;

	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

struct zbd_buffer *registry_buffer_new(struct zbd *d, const char *name, mode_t mode, gid_t gid)
{
	struct zbd_buffer *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->daemon = d;
	snprintf(b->name, sizeof(b->name), "%.*s", ZB_NAME_MAX, name); /* checked by callers */
	b->lock_fd = -1;
	b->mode = mode;
	b->gid = gid;
	list_init(&b->link);
	reaper_init(b);
	return b;
}

/* Start owning a buffer whose objects are in place: watch, report, persist. */
static void buffer_add(struct zbd *d, struct zbd_buffer *b)
{
	if (mapguard_watch(&b->guard, &b->seg) < 0)
		log_warning("%s: out of memory: a truncation of its files would stop zbd", b->name);
	list_append(&d->buffers, &b->link);
	d->n_buffers++;
	health_reset(b, mono_now());
	health_sample(b, mono_now());
	reaper_scan(b);
	fdstore_add(b);
}

/* Take the buffer's lock file: created owner-only, then given the buffer's
 * group and mode like the other objects, so it is never wider than asked.
 * b->lock_fd is still -1 when taking the lock failed, set when setting it up did. */
static int buffer_lock(struct zbd_buffer *b)
{
	int stored = fdstore_take(b->daemon, b->name), err = -ENOENT;

	/* The lock systemd kept for us while no zbd ran: still held, nobody swept it. */
	if (stored >= 0 && (err = lockfile_retake(b->name, stored)) == 0)
		b->lock_fd = stored;
	else if (stored >= 0)
		log_warning_errno(err, "%s: the lock systemd kept is not usable; taking it anew",
				  b->name);
	if (stored >= 0 && err < 0)
		close(stored);
	if (err < 0)
		err = lockfile_take(b->name, 0600, &b->lock_fd);
	if (err < 0)
		return err;
	if ((b->gid != (gid_t)-1 && fchown(b->lock_fd, (uid_t)-1, b->gid) < 0) ||
	    fchmod(b->lock_fd, b->mode) < 0)
		return -errno;
	return 0;
}

/* Give up the lock of a buffer that is going away: unlink, unlock, and out of
 * systemd's descriptor store too. */
static void buffer_unlock(struct zbd_buffer *b)
{
	fdstore_remove(b->name);
	lockfile_release(b->name, b->lock_fd);
	b->lock_fd = -1;
}

static void buffer_free(struct zbd_buffer *b)
{
	reaper_forget(b);
	mapguard_forget(&b->guard);
	segment_detach(&b->seg);
	if (b->lock_fd >= 0)
		close(b->lock_fd);
	free(b);
}

/* The buffers we own, and `creating` (NULL: none) that we are about to make. */
static void save_with(struct zbd *d, const struct zbd_buffer *creating)
{
	struct statefile_entry *e = calloc(d->n_buffers + 1, sizeof(*e));
	struct zbd_buffer *b, *tmp;
	size_t n = 0;
	int r;

	if (!e) {
		log_error("state file not written: out of memory");
		return;
	}
	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link)
		e[n++] =
			(struct statefile_entry){ .name = b->name, .mode = b->mode, .gid = b->gid };
	if (creating)
		e[n++] = (struct statefile_entry){ .name = creating->name,
						   .mode = creating->mode,
						   .gid = creating->gid };
	r = statefile_save(d->state_path, e, n);
	if (r < 0)
		log_error_errno(r, "cannot write state file %s", d->state_path);
	free(e);
	if (d->buffers_changed)
		d->buffers_changed(d->buffers_changed_ctx);
}

static void save(struct zbd *d)
{
	save_with(d, NULL);
}

/* Log why NAME was not created and return err. */
__attribute__((format(printf, 3, 4))) static int not_created(const char *name, int err,
							     const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warning("%s: not created: %s (%s)", name, why, log_strerror(err));
	return err;
}

/* /tmp is anyone's: say plainly which attack, if any, was refused. */
static int lockdir_check(const char *name)
{
	int err = lockdir_ensure();

	if (err == -ENOTDIR)
		return not_created(
			name, err,
			"lock directory %s is a symbolic link or not a directory; refused",
			ZB_LOCK_DIR);
	if (err == -EPERM)
		return not_created(name, err,
				   "lock directory %s is not safe (owned by another user, or "
				   "writable by others without the sticky bit); refused",
				   ZB_LOCK_DIR);
	return 0; /* anything else: taking the lock fails and says so */
}

/* Take b's lock for a create; *step says whether taking or setting it up failed. */
static int create_lock(struct zbd_buffer *b, const char *lock_path, enum registry_step *step)
{
	int err = buffer_lock(b);

	if (err == 0)
		return 0;
	/* Only lockfile_take's refusals: a failed chown of our own lock is not one. */
	*step = b->lock_fd < 0 ? REGISTRY_STEP_LOCK_TAKE : REGISTRY_STEP_LOCK_SETUP;
	if (*step == REGISTRY_STEP_LOCK_TAKE && err == -EEXIST)
		return not_created(b->name, err,
				   "buffer %s is owned by another process (its lock is held)",
				   b->name);
	if (*step == REGISTRY_STEP_LOCK_TAKE && err == -ELOOP)
		return not_created(b->name, err,
				   "lock file %s is a symbolic link; refused and left untouched",
				   lock_path);
	if (*step == REGISTRY_STEP_LOCK_TAKE && err == -EPERM)
		return not_created(b->name, err,
				   "lock file %s is not zbd's (another owner, not a plain file, or "
				   "linked); refused and left untouched",
				   lock_path);
	return not_created(b->name, err, "cannot take or set up lock %s", lock_path);
}

/* segment_create, with faults on its mapping absorbed until buffer_add guards
 * it (mapguard.h): a member of the group may truncate the files as soon as
 * they have their mode. Then the create fails, and what it made goes. */
static int segment_create_guarded(struct zbd_buffer *b, const struct zbd_buffer_spec *s)
{
	int err;

	mapguard_window_open();
	err = segment_create(&b->seg, b->name, s->metadata_size, s->payload_size, b->mode, b->gid,
			     0);
	if (mapguard_window_close() && err == 0) {
		segment_detach(&b->seg);
		segment_unlink(b->name);
		err = ZB_ECORRUPT;
	}
	return err;
}

/*
 * The steps of a create that touch the file system, in order. On failure
 * *step says which step failed, the reason is logged, and what this call made
 * is undone (a lock file that was there before belongs to whoever made it).
 */
static int create_objects(struct zbd *d, struct zbd_buffer *b, const struct zbd_buffer_spec *s,
			  const char *lock_path, enum registry_step *step)
{
	struct stat st;
	bool lock_existed;
	int err;

	*step = REGISTRY_STEP_LOCK_DIR;
	err = lockdir_check(b->name);
	if (err < 0)
		return err;
	/* Recorded before any object exists: a zbd killed while creating leaves
	 * a name the next one finishes removing (adopt_one), not objects that
	 * nobody owns and every later create refuses. */
	save_with(d, b);
	lock_existed = lstat(lock_path, &st) == 0;
	err = create_lock(b, lock_path, step);
	if (err < 0)
		goto fail;
	*step = REGISTRY_STEP_OBJECTS;
	err = segment_create_guarded(b, s);
	if (err == -EEXIST)
		not_created(b->name, err, "objects of %s exist already and are not zbd's to adopt",
			    b->name);
	else if (err == -ENOSPC)
		not_created(
			b->name, err, "%s cannot hold it: %llu bytes asked, %llu left", SHM_DIR,
			(unsigned long long)segment_footprint(s->metadata_size, s->payload_size),
			(unsigned long long)shmfile_space_left());
	else if (err < 0)
		not_created(b->name, err, "cannot create %s", b->name);
	if (err == 0) {
		segment_close_fd(&b->seg); /* one descriptor per buffer is enough: the lock */
		return 0;
	}
fail:
	if (b->lock_fd >= 0 && lock_existed)
		close(b->lock_fd);
	else if (b->lock_fd >= 0)
		buffer_unlock(b);
	b->lock_fd = -1;
	return err;
}

int registry_create(struct zbd *d, const struct zbd_buffer_spec *s, enum registry_step *failed_at)
{
	enum registry_step step = REGISTRY_STEP_NAME;
	char lock_path[PATH_MAX];
	struct zbd_buffer *b = NULL;
	int err = 0;

	if (zb_name_check(s->name) < 0 || names_lock(lock_path, sizeof(lock_path), s->name) < 0)
		err = -EINVAL;
	else if (registry_find(d, s->name))
		err = -EEXIST;
	else if (!(b = registry_buffer_new(d, s->name, s->mode, s->gid)))
		err = -ENOMEM;
	else
		err = create_objects(d, b, s, lock_path, &step);
	if (err < 0) {
		if (b) {
			buffer_free(b);
			save(d);
		}
		if (failed_at)
			*failed_at = step;
		return err;
	}
	buffer_add(d, b);
	save(d);
	log_info("%s: created (payload %llu, metadata %llu, mode %04o)", b->name,
		 (unsigned long long)b->seg.payload_size, (unsigned long long)b->seg.metadata_size,
		 (unsigned)b->mode);
	return 0;
}

uint64_t registry_live_peer(const struct zbd_buffer *b, bool *ret_is_reader)
{
	uint64_t rpid = ring_reader_pid(&b->seg), wpid = zb_load(&b->seg.oieb->writer_pid);

	*ret_is_reader = liveness_may_live(b->name, b->seg.oieb, PEER_READER, rpid);
	if (*ret_is_reader)
		return rpid;
	return liveness_may_live(b->name, b->seg.oieb, PEER_WRITER, wpid) ? wpid : 0;
}

int registry_destroy(struct zbd *d, struct zbd_buffer *b, bool force)
{
	struct zb_oieb *o = b->seg.oieb;
	bool is_reader;

	if (!force && registry_live_peer(b, &is_reader))
		return -EBUSY;
	reaper_forget(b);
	/* The names first: a peer of ours that wakes, or sees its peer's pid
	 * cleared, then finds its segment without a name (ZB_EDESTROYED). */
	segment_unlink(b->name);
	ring_standin_drop(&b->seg, d->pid);
	if (force) {
		/* Peers keep their mappings. Waking both sides makes ours see the
		 * removal at once; clearing the pids tells peers of other
		 * implementations that the other side is gone. */
		zb_store(&o->writer_pid, 0);
		zb_store(&o->reader_pid, 0);
		sem_post_once(b->seg.sem_w);
		sem_post_once(b->seg.sem_r);
	}
	mapguard_forget(&b->guard);
	segment_detach(&b->seg);
	buffer_unlock(b);
	log_info("%s: destroyed%s", b->name, force ? " (forced)" : "");
	list_remove(&b->link);
	d->n_buffers--;
	buffer_free(b);
	save(d);
	return 0;
}

/* While no zbd ran, the name was anyone's: a semaphore another user put there
 * is theirs to remove. (/dev/shm is sticky: one found ours stays ours.) */
static void sem_unlink_ours(const char *name, const char *obj)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm/sem.%s", obj + 1);
	if (lstat(path, &st) < 0)
		return;
	if (S_ISREG(st.st_mode) && st.st_uid == geteuid()) {
		sem_unlink(obj);
		return;
	}
	log_warning("%s: %s is owned by uid %u, not zbd's uid %u; left untouched", name, path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
}

/*
 * A zbd killed while destroying a buffer has unlinked some of its objects
 * (segment, semaphores, lock file, in that order) but not yet dropped it from
 * the state file. The name is still ours: with its lock taken, the rest goes,
 * so that no half-destroyed buffer is left for nobody to remove.
 */
static void finish_destroy(struct zbd *d, const struct statefile_entry *e)
{
	struct zbd_buffer *b = registry_buffer_new(d, e->name, e->mode, e->gid);
	char obj[ZB_OBJ_NAME_MAX];

	if (!b)
		return;
	if (buffer_lock(b) == 0) {
		names_sem_w(obj, e->name);
		sem_unlink_ours(e->name, obj);
		names_sem_r(obj, e->name);
		sem_unlink_ours(e->name, obj);
		buffer_unlock(b);
	}
	buffer_free(b);
}

struct adopt_ctx {
	struct zbd *d;
	size_t dropped;
};

/*
 * While no zbd ran, the names were anyone's: a segment or semaphore another
 * user put in place of ours is theirs, not a buffer to adopt (mapping it would
 * let them feed our peers, and the reaper would write into it). /dev/shm is
 * sticky, so an object found to be ours here stays ours while we map it.
 */
static bool objects_ours(const char *name)
{
	char obj[ZB_OBJ_NAME_MAX], path[PATH_MAX];
	void (*const names[])(char[ZB_OBJ_NAME_MAX], const char *) = { names_shm, names_sem_w,
								       names_sem_r };
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		names[i](obj, name);
		snprintf(path, sizeof(path), "/dev/shm/%s%s", i ? "sem." : "", obj + 1);
		if (lstat(path, &st) < 0) {
			log_notice("%s: in the state file but %s is gone; dropped", name, path);
			return false;
		}
		if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
			log_warning("%s: not adopted: %s is owned by uid %u, not zbd's uid %u (or "
				    "not a plain file); left untouched and dropped from the state",
				    name, path, (unsigned)st.st_uid, (unsigned)geteuid());
			return false;
		}
	}
	return true;
}

/* A segment that was never initialised: shorter than a control block, or
 * with oieb_size still 0 (the creator stores it last, doc/protocol.md 12). */
static bool creation_unfinished(const char *name)
{
	char shm[ZB_OBJ_NAME_MAX];
	uint32_t oieb_size = 1;
	struct stat st;
	bool unfinished;
	int fd;

	names_shm(shm, name);
	fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	unfinished = fstat(fd, &st) == 0 &&
		     (st.st_size < ZB_OIEB_SIZE ||
		      (pread(fd, &oieb_size, sizeof(oieb_size), 0) == sizeof(oieb_size) &&
		       oieb_size == 0));
	close(fd);
	return unfinished;
}

static void adopt_one(void *ctx, const struct statefile_entry *e)
{
	struct adopt_ctx *a = ctx;
	char shm[PATH_MAX];
	struct zbd_buffer *b;
	int err;

	if (zb_name_check(e->name) < 0 || registry_find(a->d, e->name)) {
		a->dropped++;
		return;
	}
	snprintf(shm, sizeof(shm), "/dev/shm/%s", e->name);
	if (access(shm, F_OK) < 0) {
		log_notice("%s: in the state file but its segment is gone; dropped", e->name);
		finish_destroy(a->d, e);
		a->dropped++;
		return;
	}
	if (!objects_ours(e->name)) {
		a->dropped++;
		return;
	}
	b = registry_buffer_new(a->d, e->name, e->mode, e->gid);
	if (!b) {
		a->dropped++;
		return;
	}
	err = buffer_lock(b);
	if (err < 0) {
		log_warning_errno(err, "%s: cannot retake its lock; dropped", e->name);
		goto fail;
	}
	/* Map it as it is: a live stream goes on through the adoption untouched. */
	mapguard_window_open();
	err = segment_attach(&b->seg, e->name);
	if (mapguard_window_close() && err == 0) {
		/* Truncated while we mapped it: what we saw was not the buffer. */
		segment_detach(&b->seg);
		err = ZB_ECORRUPT;
	}
	if (err < 0 && creation_unfinished(e->name)) {
		/* Never initialised (oieb_size is stored last): a zbd was killed
		 * creating it, and the objects are ours (objects_ours). */
		log_notice("%s: its creation never finished; removed", e->name);
		segment_unlink(e->name);
		buffer_unlock(b);
		goto fail;
	}
	if (err < 0) {
		log_warning_errno(err, "%s: cannot map it; dropped", e->name);
		goto fail;
	}
	segment_close_fd(&b->seg);
	b->adopted = true;
	buffer_add(a->d, b);
	log_info("%s: adopted (reader %llu, writer %llu)", b->name,
		 (unsigned long long)zb_load(&b->seg.oieb->reader_pid),
		 (unsigned long long)zb_load(&b->seg.oieb->writer_pid));
	return;

fail:
	a->dropped++;
	buffer_free(b);
}

void registry_adopt_all(struct zbd *d)
{
	struct adopt_ctx a = { .d = d };
	int r = statefile_load(d->state_path, adopt_one, &a);

	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "cannot read state file %s", d->state_path);
	if (r == 0)
		save(d);
}

void registry_create_configured(struct zbd *d)
{
	for (size_t i = 0; i < d->cfg.n_buffers; i++)
		if (!registry_find(d, d->cfg.buffers[i].name))
			registry_create(d, &d->cfg.buffers[i], NULL); /* logged if it fails */
}

void registry_release_all(struct zbd *d)
{
	struct zbd_buffer *b, *tmp;

	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link) {
		/* Upstream writers see no reader while no zbd stands in. */
		ring_standin_drop(&b->seg, d->pid);
		list_remove(&b->link);
		buffer_free(b);
	}
	d->n_buffers = 0;
}
