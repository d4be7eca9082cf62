/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "liveness.h"
#include "segment.h"
#include "shmfile.h"

/* A creator may be between shm_open and storing oieb_size: give it this long. */
#define ATTACH_RETRIES 20
#define ATTACH_RETRY_NS (10 * 1000 * 1000)

bool pid_alive(uint64_t pid)
{
	if (pid == 0 || pid > INT32_MAX)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int segment_validate(const struct zb_oieb *oieb, size_t map_size, uint64_t *ret_metadata_size,
		     uint64_t *ret_payload_size)
{
	uint32_t oieb_size;
	uint64_t m, p;

	if (map_size < ZB_OIEB_SIZE)
		return -EAGAIN;
	oieb_size = zb_load(&oieb->oieb_size);
	if (oieb_size == 0)
		return -EAGAIN;
	if (oieb_size != ZB_OIEB_SIZE || oieb->version[0] != ZB_VERSION_MAJOR_WIRE)
		return ZB_EVERSION;
	m = zb_load(&oieb->metadata_size);
	p = zb_load(&oieb->payload_size);
	if (m > map_size || p > map_size || ZB_OIEB_SIZE + m + p > map_size)
		return ZB_ECORRUPT;
	/* The smallest ring that holds a header and one byte, and a marker before it. */
	if (p < 2 * ZB_FRAME_HEADER_SIZE)
		return ZB_ECORRUPT;
	if (zb_load(&oieb->metadata_written_bytes) > m)
		return ZB_ECORRUPT;
	*ret_metadata_size = m;
	*ret_payload_size = p;
	return 0;
}

static int sems_open(struct zb_segment *s, const char *name)
{
	char sem[ZB_OBJ_NAME_MAX];

	names_sem_w(sem, name);
	s->sem_w = sem_open(sem, 0);
	if (s->sem_w == SEM_FAILED) {
		s->sem_w = NULL;
		return -errno;
	}
	names_sem_r(sem, name);
	s->sem_r = sem_open(sem, 0);
	if (s->sem_r == SEM_FAILED) {
		s->sem_r = NULL;
		return -errno;
	}
	return 0;
}

static void segment_set_layout(struct zb_segment *s, uint64_t m, uint64_t p)
{
	s->oieb = (struct zb_oieb *)s->base;
	s->metadata = s->base + ZB_OIEB_SIZE;
	s->metadata_size = m;
	s->ring = s->metadata + m;
	s->payload_size = p;
}

static int attach(struct zb_segment *s, const char *name, bool reserve)
{
	char shm[ZB_OBJ_NAME_MAX];
	struct stat st;
	uint64_t m = 0, p = 0;
	int fd, r = -EAGAIN;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	r = names_check(name);
	if (r < 0)
		return r;
	snprintf(s->name, sizeof(s->name), "%s", name);
	names_shm(shm, name);
	fd = shm_open(shm, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	for (int tries = 0; tries < ATTACH_RETRIES; tries++) {
		if (fstat(fd, &st) < 0) {
			r = -errno;
			goto fail;
		}
		if (s->base && (size_t)st.st_size != s->map_size) {
			munmap(s->base, s->map_size);
			s->base = NULL;
		}
		if (!s->base && st.st_size >= (off_t)ZB_OIEB_SIZE) {
			s->base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (s->base == MAP_FAILED) {
				s->base = NULL;
				r = -errno;
				goto fail;
			}
			s->map_size = st.st_size;
		}
		r = s->base ? segment_validate((struct zb_oieb *)s->base, s->map_size, &m, &p)
			    : -EAGAIN;
		if (r != -EAGAIN)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = ATTACH_RETRY_NS }, NULL);
	}
	if (r == -EAGAIN)
		r = ZB_ECORRUPT;
	if (r < 0)
		goto fail;
	/* A creator that did not reserve the memory (upstream's): a page that
	 * /dev/shm cannot give would SIGBUS whoever touches it first. */
	r = reserve ? shmfile_reserve(fd, s->map_size) : 0;
	if (r < 0)
		goto fail;
	segment_set_layout(s, m, p);
	r = sems_open(s, name);
	if (r < 0)
		goto fail;
	s->fd = fd;
	return 0;

fail:
	close(fd);
	segment_detach(s);
	return r;
}

int segment_attach(struct zb_segment *s, const char *name)
{
	return attach(s, name, true);
}

int segment_observe(struct zb_segment *s, const char *name)
{
	return attach(s, name, false);
}

/* M and P of a buffer asked for these sizes (0: the default), as created. */
static void block_sizes(uint64_t metadata_size, uint64_t payload_size, uint64_t *m, uint64_t *p)
{
	*m = zb_align_block(metadata_size ? metadata_size : ZB_DEFAULT_METADATA_SIZE);
	*p = zb_align_block(payload_size ? payload_size : ZB_DEFAULT_PAYLOAD_SIZE);
}

/* The control block of a new, zeroed segment (doc/protocol.md section 4). */
static void oieb_init(struct zb_oieb *o, uint64_t m, uint64_t p, uint64_t reader_pid)
{
	o->version[0] = ZB_VERSION_MAJOR_WIRE;
	o->version[1] = ZB_VERSION_MINOR_WIRE;
	o->version[2] = ZB_VERSION_PATCH_WIRE;
	o->metadata_size = m;
	o->metadata_free_bytes = m;
	o->payload_size = p;
	o->payload_free_bytes = p;
	o->reader_pid = reader_pid;
	/* Last, with release: a writer that sees 128 sees everything above. */
	zb_store(&o->oieb_size, ZB_OIEB_SIZE);
}

int segment_create(struct zb_segment *s, const char *name, uint64_t metadata_size,
		   uint64_t payload_size, mode_t mode, gid_t gid, uint64_t reader_pid)
{
	char obj[ZB_OBJ_NAME_MAX];
	bool made_w = false, made_r = false;
	uint64_t m, p;
	size_t total;
	int fd = -1, r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	r = names_check(name);
	if (r < 0)
		return r;
	block_sizes(metadata_size, payload_size, &m, &p);
	if (payload_size > ZB_SIZE_MAX || metadata_size > ZB_SIZE_MAX)
		return -EMSGSIZE;
	total = ZB_OIEB_SIZE + m + p;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->sems_made = true;

	names_sem_w(obj, name);
	r = shmfile_make_sem(obj, mode, gid, &s->sem_w);
	made_w = s->sem_w != NULL;
	if (r < 0)
		goto fail;
	names_sem_r(obj, name);
	r = shmfile_make_sem(obj, mode, gid, &s->sem_r);
	made_r = s->sem_r != NULL;
	if (r < 0)
		goto fail;

	/* Filled in before it has a name: nobody ever sees oieb_size 0 from us. */
	fd = shmfile_make(total, mode, gid);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	s->base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		r = -errno;
		goto fail;
	}
	s->map_size = total;
	segment_set_layout(s, m, p);
	oieb_init(s->oieb, m, p, reader_pid);
	r = shmfile_link(fd, name);
	if (r < 0)
		goto fail;
	s->fd = fd;
	return 0;

fail:
	/* Remove only what this call made: an existing buffer is not ours to touch. */
	segment_detach(s);
	if (fd >= 0)
		close(fd);
	if (made_w) {
		names_sem_w(obj, name);
		sem_unlink(obj);
	}
	if (made_r) {
		names_sem_r(obj, name);
		sem_unlink(obj);
	}
	return r;
}

int segment_metadata(const struct zb_segment *s, const void **ret_data, size_t *ret_size)
{
	uint64_t written = zb_load(&s->oieb->metadata_written_bytes), len;

	if (written == 0)
		return -ENODATA;
	if (written < sizeof(uint64_t) || written > s->metadata_size)
		return ZB_ECORRUPT;
	memcpy(&len, s->metadata, sizeof(len));
	if (len != written - sizeof(uint64_t))
		return ZB_ECORRUPT;
	*ret_data = s->metadata + sizeof(uint64_t);
	*ret_size = len;
	return 0;
}

void segment_detach(struct zb_segment *s)
{
	/* Our own mappings where we made the semaphores; sem_open's where we
	 * opened them (sem_close finds only those). */
	if (s->sem_w)
		s->sems_made ? munmap(s->sem_w, sizeof(sem_t)) : sem_close(s->sem_w);
	if (s->sem_r)
		s->sems_made ? munmap(s->sem_r, sizeof(sem_t)) : sem_close(s->sem_r);
	s->sems_made = false;
	if (s->base) {
		munmap(s->base, s->map_size);
		if (s->fd >= 0)
			close(s->fd);
	}
	s->fd = -1;
	s->sem_w = s->sem_r = NULL;
	s->base = NULL;
	s->oieb = NULL;
}

void segment_unlink(const char *name)
{
	char obj[ZB_OBJ_NAME_MAX];

	names_shm(obj, name);
	shm_unlink(obj);
	names_sem_w(obj, name);
	sem_unlink(obj);
	names_sem_r(obj, name);
	sem_unlink(obj);
}

/* A plain file of our uid with no other name, whose descriptor is in *ret_fd. */
static bool file_ours(const char *path, struct stat *st, int *ret_fd)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
	    st->st_nlink == 1) {
		*ret_fd = fd;
		return true;
	}
	close(fd);
	return false;
}

/* /dev/shm/NAME is a ZeroBuffer segment of ours: its control block validates
 * against its size. *ret_in_use: it records a live reader or writer. */
static bool segment_file_ours(const char *name, bool *ret_in_use)
{
	char path[ZB_OBJ_NAME_MAX + 16];
	struct zb_oieb oieb = { 0 }; /* no pid recorded, should pread fail */
	struct stat st;
	uint64_t m, p;
	bool ours;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", SHM_DIR, name);
	if (!file_ours(path, &st, &fd))
		return false;
	ours = pread(fd, &oieb, sizeof(oieb), 0) == (ssize_t)sizeof(oieb) &&
	       segment_validate(&oieb, (size_t)st.st_size, &m, &p) == 0;
	/* Judged as the peers are (liveness.h): a peer in another pid namespace
	 * is not taken for dead because its pid means nothing here. */
	*ret_in_use = liveness_may_live(name, &oieb, PEER_READER, oieb.reader_pid) ||
		      liveness_may_live(name, &oieb, PEER_WRITER, oieb.writer_pid);
	close(fd);
	return ours;
}

/* The file of semaphore `obj` ("/sem-w-NAME") is one of ours: a sem_t alone. */
static bool sem_file_ours(const char *obj)
{
	char path[ZB_OBJ_NAME_MAX + 16];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/sem.%s", SHM_DIR, obj + 1);
	if (!file_ours(path, &st, &fd))
		return false;
	close(fd);
	return st.st_size == (off_t)sizeof(sem_t);
}

int segment_unlink_abandoned(const char *name, bool unless_in_use)
{
	void (*const sem_names[])(char[ZB_OBJ_NAME_MAX], const char *) = { names_sem_w,
									   names_sem_r };
	char obj[ZB_OBJ_NAME_MAX], path[ZB_OBJ_NAME_MAX + 16];
	bool in_use = false;
	struct stat st;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s", SHM_DIR, name);
	if (segment_file_ours(name, &in_use)) {
		if (unless_in_use && in_use)
			return -EBUSY;
		names_shm(obj, name);
		shm_unlink(obj);
	} else if (lstat(path, &st) == 0) {
		r = -EEXIST;
	}
	for (size_t i = 0; i < sizeof(sem_names) / sizeof(sem_names[0]); i++) {
		sem_names[i](obj, name);
		snprintf(path, sizeof(path), "%s/sem.%s", SHM_DIR, obj + 1);
		if (sem_file_ours(obj))
			sem_unlink(obj);
		else if (lstat(path, &st) == 0)
			r = -EEXIST;
	}
	return r;
}

void segment_close_fd(struct zb_segment *s)
{
	if (s->base && s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

bool segment_removed(struct zb_segment *s)
{
	struct stat st;

	if (!s->removed && s->base && s->fd >= 0 && fstat(s->fd, &st) == 0)
		s->removed = st.st_nlink == 0;
	return s->removed;
}

bool segment_removed_due(struct zb_segment *s, struct removal_watch *w, uint64_t frames,
			 uint64_t bytes)
{
	struct timespec ts;
	int64_t now;

	if (s->removed) {
		w->frames = w->bytes = 0; /* due from now on: every call answers at once */
		return true;
	}
	w->frames = frames + REMOVAL_EVERY_FRAMES;
	w->bytes = bytes + REMOVAL_EVERY_BYTES;
	/* The coarse clock is a load from the vDSO page, without a TSC read. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (now < w->ns)
		return false;
	w->ns = now + REMOVAL_EVERY_NS;
	if (!segment_removed(s))
		return false;
	w->frames = w->bytes = 0;
	return true;
}

uint64_t segment_footprint(uint64_t metadata_size, uint64_t payload_size)
{
	uint64_t m, p;

	block_sizes(metadata_size, payload_size, &m, &p);
	return ZB_OIEB_SIZE + m + p;
}
