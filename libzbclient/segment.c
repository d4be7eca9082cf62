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

#include "segment.h"

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

int segment_attach(struct zb_segment *s, const char *name)
{
	char shm[ZB_OBJ_NAME_MAX];
	struct stat st;
	uint64_t m = 0, p = 0;
	int fd, r = -EAGAIN;

	memset(s, 0, sizeof(*s));
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
	segment_set_layout(s, m, p);
	r = sems_open(s, name);
	if (r < 0)
		goto fail;
	close(fd);
	return 0;

fail:
	close(fd);
	segment_detach(s);
	return r;
}

static int sem_create(sem_t **ret, const char *sem_name, mode_t mode, gid_t gid)
{
	char path[ZB_OBJ_NAME_MAX + 16];
	struct stat st;
	sem_t *sem;
	int fd, r = 0;

	/* Created owner-only, then given its group and mode: never wider than asked. */
	sem = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
	if (sem == SEM_FAILED)
		return -errno;
	*ret = sem;
	snprintf(path, sizeof(path), "/dev/shm/sem.%s", sem_name + 1);
	/* Through a descriptor, without following links, and only the file we
	 * made: should /dev/shm lack its sticky bit, another user could swap the
	 * name for a link to a file of theirs (or ours) between sem_open and here. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
		r = -EPERM;
	else if ((gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) || fchmod(fd, mode) < 0)
		r = -errno;
	close(fd);
	return r;
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
	bool made_w = false, made_r = false, made_shm = false;
	uint64_t m, p;
	size_t total;
	int fd = -1, r;

	memset(s, 0, sizeof(*s));
	r = names_check(name);
	if (r < 0)
		return r;
	m = zb_align_block(metadata_size ? metadata_size : ZB_DEFAULT_METADATA_SIZE);
	p = zb_align_block(payload_size ? payload_size : ZB_DEFAULT_PAYLOAD_SIZE);
	if (payload_size > ZB_SIZE_MAX || metadata_size > ZB_SIZE_MAX)
		return -EMSGSIZE;
	total = ZB_OIEB_SIZE + m + p;
	snprintf(s->name, sizeof(s->name), "%s", name);

	names_sem_w(obj, name);
	r = sem_create(&s->sem_w, obj, mode, gid);
	made_w = s->sem_w != NULL;
	if (r < 0)
		goto fail;
	names_sem_r(obj, name);
	r = sem_create(&s->sem_r, obj, mode, gid);
	made_r = s->sem_r != NULL;
	if (r < 0)
		goto fail;

	names_shm(obj, name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	made_shm = true;
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) {
		r = -errno;
		goto fail;
	}
	if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)total) < 0) {
		r = -errno;
		goto fail;
	}
	s->base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		r = -errno;
		goto fail;
	}
	s->map_size = total;
	close(fd);
	segment_set_layout(s, m, p);
	oieb_init(s->oieb, m, p, reader_pid);
	return 0;

fail:
	/* Remove only what this call made: an existing buffer is not ours to touch. */
	if (fd >= 0)
		close(fd);
	segment_detach(s);
	if (made_shm) {
		names_shm(obj, name);
		shm_unlink(obj);
	}
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
	if (s->sem_w)
		sem_close(s->sem_w);
	if (s->sem_r)
		sem_close(s->sem_r);
	if (s->base)
		munmap(s->base, s->map_size);
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
