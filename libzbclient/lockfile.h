/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* Create /tmp/zerobuffer if missing; refuse one that is not a real directory. */
int lockdir_ensure(void);

/* Create and flock NAME.lock without following links. -EEXIST if another
 * process holds it. The fd is the lock: keep it open for the buffer's life. */
int lockfile_take(const char *name, mode_t mode, int *ret_fd);

/* Unlink NAME.lock (if it is still the file behind fd) and drop the lock. */
void lockfile_release(const char *name, int fd);

/* What upstream readers do at start: every lock nobody holds is an abandoned
 * buffer; remove the lock, and the segment and semaphores if nobody uses them. */
void lockfile_cleanup_stale(void);
