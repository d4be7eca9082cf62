/* SPDX-License-Identifier: MIT */
/*
 * Files in /dev/shm made whole before they have a name. An O_TMPFILE gets its
 * group, its mode, its size and its memory, the caller fills it in through a
 * mapping, and only then is it linked to its name:
 * - its memory is reserved (fallocate) when it is made, so a full /dev/shm is
 *   -ENOSPC at creation, never a SIGBUS at the first touch of a page later;
 * - nobody ever sees it half made, or with a mode or group it was not given;
 * - a creator killed at any point leaves nothing behind: a file without a name
 *   goes with its last descriptor (glibc's sem_open leaves its sem.XXXXXX
 *   temporaries when killed inside).
 * Semaphores made this way are what sem_open makes (a pshared sem_t at offset
 * 0 of a file named sem.NAME), so every implementation's sem_open finds them.
 */
#pragma once

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHM_DIR "/dev/shm"

/* An unnamed file in /dev/shm of `size` bytes, its memory reserved, given
 * `gid` (unless (gid_t)-1) and `mode`. Returns the descriptor, or -errno:
 * -ENOSPC when /dev/shm cannot hold it. */
int shmfile_make(size_t size, mode_t mode, gid_t gid);

/* Name the file of `fd` /dev/shm/FILE (FILE without a '/'). -EEXIST if the
 * name is taken: what has it stays as it is. */
int shmfile_link(int fd, const char *file);

/* Reserve the memory of the first `size` bytes of an existing object, so that
 * touching them cannot SIGBUS. -ENOSPC if /dev/shm cannot hold them; 0 when
 * reserved, or when the file system cannot reserve (nothing is promised then). */
int shmfile_reserve(int fd, size_t size);

/* A semaphore file for sem_open: `sem_name` as sem_open takes it ("/sem-w-X"),
 * made as above with count 0. -EEXIST if the name is taken. On success *ret is
 * the semaphore, mapped here (not sem_open's: sem_close does not know it;
 * munmap(*ret, sizeof(sem_t)) ends it). Mapped through the descriptor that
 * made it, so the creator uses it whatever its mode lets anyone reopen. */
int shmfile_make_sem(const char *sem_name, mode_t mode, gid_t gid, sem_t **ret);

/* Bytes /dev/shm can still give to an unprivileged file (f_bavail). */
uint64_t shmfile_space_left(void);
