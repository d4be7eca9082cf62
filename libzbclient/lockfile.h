/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* Create /tmp/zerobuffer if missing. -ENOTDIR if the name is a link or a file,
 * -EPERM if the directory belongs to another user than root or us, or others
 * may write it and it is not sticky. */
int lockdir_ensure(void);

/* Create and flock NAME.lock without following links. -EEXIST if another
 * process holds it; -ELOOP if it is a link; -EPERM if it exists and is not a
 * plain file of ours with a single name (it is then left untouched). The fd
 * is the lock: keep it open for the buffer's life. */
int lockfile_take(const char *name, mode_t mode, int *ret_fd);

/* Use fd, a descriptor of NAME.lock kept open while we were not running (systemd's
 * file-descriptor store), as the lock again: 0 if it is still NAME.lock, a plain
 * file of ours with one name, and locked through fd. -ESTALE if NAME.lock is now
 * another file (or none), -EPERM if not ours, -EEXIST if another process holds
 * the lock. The caller keeps fd either way. */
int lockfile_retake(const char *name, int fd);

/* Unlink NAME.lock (if it is still the file behind fd) and drop the lock. */
void lockfile_release(const char *name, int fd);

/* What upstream readers do at start: every lock nobody holds is an abandoned
 * buffer; remove the lock, and the segment and semaphores if nobody uses them.
 * Only our uid's locks, and only objects that are provably our buffer's
 * (segment_unlink_abandoned()): nothing of another user or program. */
void lockfile_cleanup_stale(void);
