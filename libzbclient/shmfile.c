/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shmfile.h"

int shmfile_reserve(int fd, size_t size)
{
	/* fallocate(2) itself, not posix_fallocate: where the file system cannot
	 * reserve, glibc's fallback writes into the file, which is someone's
	 * live segment when we attach. tmpfs can (since Linux 3.5). */
	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == ENOSYS)
		return 0;
	return -errno;
}

int shmfile_make(size_t size, mode_t mode, gid_t gid)
{
	int fd, r;

	/* Owner-only from the start; nobody can open it by name before it has one. */
	fd = open(SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if ((gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) || fchmod(fd, mode) < 0 ||
	    ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto fail;
	}
	r = shmfile_reserve(fd, size);
	if (r < 0)
		goto fail;
	return fd;

fail:
	close(fd);
	return r;
}

int shmfile_link(int fd, const char *file)
{
	char path[PATH_MAX], proc[64];
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", SHM_DIR, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* Through /proc: linkat's AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH. Both
	 * refuse an existing name (EEXIST), never replace it. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	err = -errno;
	if (err != -ENOENT || access("/proc/self/fd", F_OK) == 0)
		return err; /* ENOENT with /proc there: /dev/shm itself is missing */
	return linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0 ? 0 : -errno;
}

int shmfile_make_sem(const char *sem_name, mode_t mode, gid_t gid, sem_t **ret)
{
	char file[NAME_MAX + 1];
	sem_t *sem;
	int fd, r;

	/* sem_open's file for "/X" is /dev/shm/sem.X. */
	if (sem_name[0] != '/' ||
	    snprintf(file, sizeof(file), "sem.%s", sem_name + 1) >= (int)sizeof(file))
		return -ENAMETOOLONG;
	fd = shmfile_make(sizeof(sem_t), mode, gid);
	if (fd < 0)
		return fd;
	sem = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sem == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	r = sem_init(sem, 1, 0) < 0 ? -errno : 0;
	if (r == 0)
		r = shmfile_link(fd, file);
	if (r == 0)
		*ret = sem;
	else
		munmap(sem, sizeof(sem_t));
out:
	close(fd);
	return r;
}

uint64_t shmfile_space_left(void)
{
	struct statvfs sv;

	if (statvfs(SHM_DIR, &sv) < 0)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}
