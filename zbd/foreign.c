/* SPDX-License-Identifier: MIT */
/*
 * Foreign buffers: every ZeroBuffer buffer on the host that zbd does not own.
 *
 * zbd owns the buffers it creates. Others are created by upstream readers, or
 * by standalone libzbclient readers, and their peers gain just as much from a
 * daemon that notices deaths in a millisecond. So every foreign_scan_ms zbd
 * lists /dev/shm and takes as a foreign buffer each segment NAME that
 *  - has sem.sem-w-NAME and sem.sem-r-NAME beside it, and a name the control
 *    protocol carries (zb_name_check);
 *  - has a finished control block (oieb_size 128; a creator still at work is
 *    looked at again next time) that validates against the mapping;
 *  - zbd may map read-write (whoever owns it: zbd needs to write to repair);
 *  - zbd does not own, and no other live zbd stands in for its reader (that
 *    zbd owns it and watches it: ring.h's stand-in).
 *
 * A foreign buffer is sampled for health and reaped by the scan timer exactly
 * like zbd's own (daemon.c), so a peer blocked on a dead counterpart is woken
 * and the space a dead reader held comes back (reaper.c), with one exception:
 * zbd never stands in for its reader. Nothing else is done to it: it is never
 * written to the state file, never adopted, never destroyed (`destroy` answers
 * -EPERM), its objects are never unlinked, and its lock is never touched.
 * `list` and `health` mark it owner=foreign. At most FOREIGN_MAX are observed,
 * and only while descriptors are left for buffers (fdbudget.h). zbd lets go of it when its
 * segment is unlinked (its owner closed it, or an upstream reader's sweep
 * removed it), replaced by another file, or taken over by another zbd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "foreign.h"
#include "mapguard.h"
#include "health.h"
#include "log.h"
#include "reaper.h"
#include "registry.h"

#define SHM_DIR "/dev/shm"
/* Anyone can make files in /dev/shm: a flood of fake buffers must not cost
 * zbd more than this many mappings and scans. */
#define FOREIGN_MAX 256

void foreign_init(struct zbd *d)
{
	list_init(&d->foreign);
	d->n_foreign = 0;
}

struct zbd_buffer *foreign_find(struct zbd *d, const char *name)
{
	struct zbd_buffer *b, *tmp;

	list_for_each_safe(b, tmp, &d->foreign, struct zbd_buffer, link)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

static void drop(struct zbd *d, struct zbd_buffer *b)
{
	list_remove(&b->link);
	d->n_foreign--;
	reaper_forget(b);
	mapguard_forget(&b->guard);
	segment_detach(&b->seg);
	free(b);
}

/* Another live zbd stands in for its reader: that zbd owns and watches it. */
static bool other_zbd(const struct zbd *d, const struct zb_oieb *o)
{
	uint64_t standin = zb_load(&o->reader_standin);

	return standin != 0 && standin != d->pid && pid_alive(standin);
}

static bool shm_stat(const char *obj, struct stat *st)
{
	char path[PATH_MAX];

	return snprintf(path, sizeof(path), SHM_DIR "/%s", obj) < (int)sizeof(path) &&
	       lstat(path, st) == 0 && S_ISREG(st->st_mode);
}

/* The segment zbd mapped is still the one under its name. */
static bool still_there(struct zbd *d, struct zbd_buffer *b)
{
	struct stat st;

	return shm_stat(b->name, &st) && st.st_ino == b->seg_ino && !other_zbd(d, b->seg.oieb);
}

/* Both semaphores, and a control block its creator has finished (read without
 * mapping: segment_attach() would wait for an unfinished one). */
static bool complete(const char *name)
{
	char obj[ZB_OBJ_NAME_MAX + 8];
	uint32_t oieb_size = 0;
	struct stat st;
	int fd;

	snprintf(obj, sizeof(obj), "sem.sem-w-%.*s", ZB_NAME_MAX, name);
	if (!shm_stat(obj, &st))
		return false;
	snprintf(obj, sizeof(obj), "sem.sem-r-%.*s", ZB_NAME_MAX, name);
	if (!shm_stat(obj, &st))
		return false;
	names_shm(obj, name);
	fd = shm_open(obj, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return false;
	if (pread(fd, &oieb_size, sizeof(oieb_size), 0) != sizeof(oieb_size))
		oieb_size = 0;
	close(fd);
	return oieb_size == ZB_OIEB_SIZE;
}

/* Map it, absorbing a fault while mapping (mapguard.h): its owner, or anyone
 * allowed to write it, may truncate its file at any time. */
static int attach_guarded(struct zbd_buffer *b)
{
	int err;

	mapguard_window_open();
	err = segment_observe(&b->seg, b->name);
	if (mapguard_window_close() && err == 0)
		err = ZB_ECORRUPT;
	if (err == 0 && mapguard_watch(&b->guard, &b->seg) < 0)
		err = -ENOMEM;
	return err;
}

static void consider(struct zbd *d, const char *name)
{
	ev_tstamp now = mono_now();
	struct zbd_buffer *b;
	struct stat st;

	if (d->n_foreign >= FOREIGN_MAX || !fdbudget_room(&d->fds, FD_USE_BUFFER) ||
	    zb_name_check(name) < 0 || registry_find(d, name) || foreign_find(d, name) ||
	    !shm_stat(name, &st) || st.st_size < (off_t)ZB_OIEB_SIZE || !complete(name))
		return;
	b = registry_buffer_new(d, name, st.st_mode & 07777, st.st_gid);
	if (!b)
		return;
	b->foreign = true;
	b->seg_ino = st.st_ino;
	/* Not ours to map (another user's, read-only to us), or not a buffer. */
	if (attach_guarded(b) < 0 || other_zbd(d, b->seg.oieb)) {
		mapguard_forget(&b->guard);
		segment_detach(&b->seg);
		free(b);
		return;
	}
	segment_close_fd(&b->seg); /* still_there() looks by name */
	list_append(&d->foreign, &b->link);
	d->n_foreign++;
	health_reset(b, now);
	health_sample(b, now);
	reaper_scan(b);
	log_info("%s: observing a buffer zbd does not own (reader %llu, writer %llu)", b->name,
		 (unsigned long long)zb_load(&b->seg.oieb->reader_pid),
		 (unsigned long long)zb_load(&b->seg.oieb->writer_pid));
}

void foreign_discover(struct zbd *d)
{
	struct zbd_buffer *b, *tmp;
	struct dirent *de;
	DIR *dir;

	list_for_each_safe(b, tmp, &d->foreign, struct zbd_buffer, link) {
		if (!still_there(d, b)) {
			log_info("%s: the foreign buffer is gone; no longer observed", b->name);
			drop(d, b);
		}
	}
	dir = opendir(SHM_DIR);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' && strncmp(de->d_name, "sem.", 4) != 0)
			consider(d, de->d_name);
	closedir(dir);
}

void foreign_release_all(struct zbd *d)
{
	struct zbd_buffer *b, *tmp;

	list_for_each_safe(b, tmp, &d->foreign, struct zbd_buffer, link)
		drop(d, b);
}
