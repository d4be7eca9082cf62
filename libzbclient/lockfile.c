/* SPDX-License-Identifier: MIT */
/*
 * Lock files in /tmp/zerobuffer: the owner of a buffer holds flock(LOCK_EX) on
 * NAME.lock for the buffer's life; a lock nobody holds marks an abandoned buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile.h"
#include "segment.h"

/*
 * /tmp is world-writable, so anyone may have made the directory first, or put a
 * link or file in its place. It is used only if it is a real directory owned
 * by root or by us, and either writable by nobody else or sticky: otherwise its
 * owner (or anyone, when it is writable without the sticky bit) could remove,
 * rename or replace our lock files under us. Refusing is safer than repairing:
 * a directory that is not ours is not ours to chmod. tmpfiles.d makes it
 * root-owned at boot, before any user can.
 */
int lockdir_ensure(void)
{
	struct stat st;

	if (mkdir(ZB_LOCK_DIR, 01777) == 0) {
		/* The umask narrowed the mode; /tmp is sticky, so the name still
		 * refers to the directory we just made. */
		if (chmod(ZB_LOCK_DIR, 01777) < 0)
			return -errno;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(ZB_LOCK_DIR, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR; /* a symlink or file squatting the name */
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

/* A lock file that exists already is used only if it is a plain file of ours
 * with no other name: one planted by another user, or a hard link to someone
 * else's file, must not be locked, chowned or chmodded on their behalf. */
static int fd_is_our_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* Unlinked since we opened it: another process's stale-buffer cleanup
	 * could flock it before we did. Not a planted file; the caller looks again. */
	if (st.st_nlink == 0)
		return -ESTALE;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
		return -EPERM;
	return 0;
}

/* flock on an fd whose file was unlinked and replaced under us protects nothing. */
static bool fd_is_path(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int lockfile_take(const char *name, mode_t mode, int *ret_fd)
{
	char path[PATH_MAX];
	int fd, r;

	r = names_lock(path, sizeof(path), name);
	if (r < 0)
		return r;
	r = lockdir_ensure();
	if (r < 0)
		return r;
	for (int tries = 0; tries < 8; tries++) {
		/* An existing name is opened without O_CREAT, a new one made with
		 * O_EXCL: neither follows a link (a link is -ELOOP whatever the
		 * kernel's protected_* settings), and O_CREAT never meets a file
		 * another user planted. A name that appears in between: look again. */
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
			if (fd < 0 && errno == EEXIST)
				continue;
		}
		if (fd < 0)
			return errno == ELOOP ? -ELOOP : -errno;
		r = fd_is_our_file(fd);
		if (r < 0) {
			close(fd);
			if (r == -ESTALE)
				continue;
			return r;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			r = errno == EWOULDBLOCK ? -EEXIST : -errno;
			close(fd);
			return r;
		}
		if (fd_is_path(fd, path)) {
			/* open() let the umask narrow the mode; a stale file (ours, checked
			 * above) kept its own. */
			(void)fchmod(fd, mode);
			*ret_fd = fd;
			return 0;
		}
		close(fd);
	}
	return -EAGAIN;
}

int lockfile_retake(const char *name, int fd)
{
	char path[PATH_MAX];
	int r = names_lock(path, sizeof(path), name);

	if (r < 0)
		return r;
	r = fd_is_our_file(fd);
	if (r < 0)
		return r;
	/* Held already through this open file description: flock only confirms. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EEXIST : -errno;
	return fd_is_path(fd, path) ? 0 : -ESTALE;
}

void lockfile_release(const char *name, int fd)
{
	char path[PATH_MAX];

	if (fd < 0)
		return;
	if (names_lock(path, sizeof(path), name) == 0 && fd_is_path(fd, path))
		unlink(path);
	close(fd);
}

void lockfile_cleanup_stale(void)
{
	char path[PATH_MAX], name[ZB_NAME_MAX + 1];
	struct dirent *de;
	DIR *dir;

	/* Through a link or in another user's directory, the "stale" locks and
	 * the buffers they name are whatever that user chose. */
	if (lockdir_ensure() < 0)
		return;
	dir = opendir(ZB_LOCK_DIR);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		int fd;

		if (len <= 5 || len - 5 > ZB_NAME_MAX || strcmp(de->d_name + len - 5, ".lock") != 0)
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (names_check(name) < 0 || names_lock(path, sizeof(path), name) < 0)
			continue;
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Only our own locks, and only what is provably our buffer: a lock
		 * another user planted would name our buffers for us to remove. */
		if (fd_is_our_file(fd) == 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    fd_is_path(fd, path)) {
			unlink(path);
			segment_unlink_abandoned(name, true);
		}
		close(fd);
	}
	closedir(dir);
}
