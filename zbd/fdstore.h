/* SPDX-License-Identifier: MIT */
/*
 * The service manager's file-descriptor store. A buffer's lock is an flock on
 * its lock file, held for as long as some process keeps the locked descriptor
 * open; while no zbd runs, nobody would, and any ZeroBuffer reader starting
 * then sweeps the buffer away as abandoned. Under systemd each buffer's locked
 * descriptor is also handed to the service manager (FDSTORE=1, named
 * "buf-NAME"), which keeps it open across a restart or crash of zbd and passes
 * it back to the next zbd through sd_listen_fds_with_names(), together with
 * zbd.socket's control socket. Without systemd (no NOTIFY_SOCKET) every call
 * here is a no-op and the store stays empty.
 */
#pragma once

#include "model.h"

/*
 * Take what systemd passed at start: the control socket (any descriptor not
 * named "buf-...", at most one, kept in d->activation_fd) and buffers' lock
 * descriptors (kept until fdstore_take claims them). 0 or a negative errno.
 */
int fdstore_receive(struct zbd *d);

/* The stored descriptor of NAME's lock, now the caller's, or -1 if none came. */
int fdstore_take(struct zbd *d, const char *name);

/* Hand b's locked descriptor to the service manager, as "buf-NAME". */
void fdstore_add(const struct zbd_buffer *b);

/* Ask the service manager to close every descriptor stored as NAME's. */
void fdstore_remove(const char *name);

/* After adoption: close the stored descriptors no buffer claimed, and drop
 * them from the store unless a buffer of that name is owned. */
void fdstore_release_unclaimed(struct zbd *d);

/* Close what fdstore_receive kept and nothing claimed, leaving the store as it
 * is (a zbd that failed to start must not empty it for the next one). */
void fdstore_forget(struct zbd *d);

/* "buf-" and NAME with ':' and '%' escaped (%3A, %25): systemd refuses ':' in
 * a descriptor name. Returns -ENAMETOOLONG if size is too small. */
int fdstore_name(char *out, size_t size, const char *name);
