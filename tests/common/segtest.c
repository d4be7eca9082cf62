/* SPDX-License-Identifier: MIT */
/* Raw access to a buffer's segment and semaphores (see segtest.h). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment.h"
#include "segtest.h"
#include "util.h"

uint8_t *seg_map(const char *name, size_t *ret_size)
{
	char shm[ZB_OBJ_NAME_MAX];
	struct stat st;
	uint8_t *base;
	int fd;

	names_shm(shm, name);
	fd = shm_open(shm, O_RDWR, 0);
	ck_assert_msg(fd >= 0, "shm_open %s: %s", shm, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_msg(base != MAP_FAILED, "mmap %s: %s", shm, strerror(errno));
	close(fd);
	*ret_size = st.st_size;
	return base;
}

void seg_unmap(uint8_t *base, size_t size)
{
	munmap(base, size);
}

uint8_t *seg_snapshot(const char *name, size_t *ret_size)
{
	size_t size;
	uint8_t *base = seg_map(name, &size), *copy = malloc(size);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, base, size);
	seg_unmap(base, size);
	/* Process ids differ from run to run; the vectors carry them as 0 too. */
	memset(copy + offsetof(struct zb_oieb, writer_pid), 0, 16);
	*ret_size = size;
	return copy;
}

void seg_install(const char *name, const void *data, size_t len, size_t size, unsigned sem_w_count)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem;
	int fd;

	names_sem_w(obj, name);
	sem = sem_open(obj, O_CREAT | O_EXCL, 0600, sem_w_count);
	ck_assert_msg(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	sem_close(sem);
	names_sem_r(obj, name);
	sem = sem_open(obj, O_CREAT | O_EXCL, 0600, 0);
	ck_assert_msg(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	sem_close(sem);
	names_shm(obj, name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_msg(fd >= 0, "shm_open %s: %s", obj, strerror(errno));
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (len)
		ck_assert_int_eq(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
}

void seg_create_unowned(const char *name, uint64_t metadata_size, uint64_t payload_size)
{
	struct zb_segment s;

	ck_assert_int_eq(segment_create(&s, name, metadata_size, payload_size, 0600, (gid_t)-1, 0),
			 0);
	segment_detach(&s);
}

static const char *oieb_field(size_t off)
{
	static const char *const fields[] = {
		"oieb_size/version",	  "metadata_size",    "metadata_free_bytes",
		"metadata_written_bytes", "payload_size",     "payload_free_bytes",
		"payload_write_pos",	  "payload_read_pos", "payload_written_count",
		"payload_read_count",	  "writer_pid",	      "reader_pid",
	};

	return off / 8 < sizeof(fields) / sizeof(fields[0]) ? fields[off / 8] : "reserved";
}

void seg_assert_equal(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		      uint64_t metadata_size)
{
	size_t i;

	ck_assert_uint_eq(got_len, want_len);
	for (i = 0; i < want_len && got[i] == want[i]; i++)
		;
	if (i == want_len)
		return;
	if (i < ZB_OIEB_SIZE)
		ck_abort_msg("segment differs at 0x%zx (OIEB %s): got 0x%02x, want 0x%02x", i,
			     oieb_field(i), got[i], want[i]);
	if (i < ZB_OIEB_SIZE + metadata_size)
		ck_abort_msg("segment differs at 0x%zx (metadata +%zu): got 0x%02x, want 0x%02x", i,
			     i - ZB_OIEB_SIZE, got[i], want[i]);
	ck_abort_msg("segment differs at 0x%zx (ring +%zu): got 0x%02x, want 0x%02x", i,
		     (size_t)(i - ZB_OIEB_SIZE - metadata_size), got[i], want[i]);
}

static sem_t *sem_of(const char *name, char which)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem;

	if (which == 'w')
		names_sem_w(obj, name);
	else
		names_sem_r(obj, name);
	sem = sem_open(obj, 0);
	ck_assert_msg(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	return sem;
}

int sem_value(const char *name, char which)
{
	sem_t *sem = sem_of(name, which);
	int value;

	ck_assert_int_eq(sem_getvalue(sem, &value), 0);
	sem_close(sem);
	return value;
}

void sem_post_n(const char *name, char which, unsigned n)
{
	sem_t *sem = sem_of(name, which);

	while (n--)
		ck_assert_int_eq(sem_post(sem), 0);
	sem_close(sem);
}

void sem_preset(const char *name, char which, int value)
{
	char path[ZB_OBJ_NAME_MAX + 16];
	uint32_t *count;
	int fd;

	snprintf(path, sizeof(path), "%s", tu_sem_path(name, which));
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	count = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_msg(count != MAP_FAILED, "mmap %s: %s", path, strerror(errno));
	/* glibc's sem_t on 64-bit hosts: one u64 whose low half is the count and
	 * high half the number of waiters (none here). sem_getvalue() checks it. */
	__atomic_store_n(count, (uint32_t)value, __ATOMIC_SEQ_CST);
	munmap(count, sizeof(uint64_t));
	ck_assert_msg(sem_value(name, which) == value,
		      "sem_t is not laid out as glibc's on 64-bit hosts: cannot preset %s", path);
}
