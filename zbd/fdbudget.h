/* SPDX-License-Identifier: MIT */
/*
 * File descriptors, when there are few. Everyone competes for them: control
 * clients (anyone who can open the socket), buffers (a lock file each, a
 * pidfd per watched peer) and short-lived work (a create opens four files, a
 * state file write two). Once the table is full, accept() fails and leaves
 * the connection queued: the listening socket stays readable, and a loop
 * that retries at once spins at 100 % of a core, logging the failure each
 * time; and as `destroy` needs a connection, nothing ever frees a descriptor.
 *
 * So the descriptors are shared out by number (the kernel always hands out
 * the lowest free one, so a new descriptor's number says how many are in
 * use). With H = limit / 8, kept between 8 and 64:
 * - buffers (lock files, pidfds) take descriptors below limit - 2H; a create
 *   beyond is refused, a peer beyond is watched by the scan instead of a pidfd;
 * - clients take descriptors below limit - H, so a client can always connect
 *   to destroy a buffer;
 * - the last H are left to short-lived work, so a create that is allowed has
 *   what it needs to open its objects.
 * And a reserve descriptor (/dev/null), opened first: when accept() fails
 * for want of descriptors all the same (the limit was lowered under a running
 * zbd), the reserve is closed, the connection accepted, told why and closed,
 * and the reserve opened again (libev's and nginx's remedy). The limit is
 * read at each decision: `prlimit --pid` may change it at any time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct fdbudget {
	int reserve; /* /dev/null, or -1 while it is spent */
	int base;    /* the lowest free descriptor once zbd was set up */
};

enum fd_use {
	FD_USE_BUFFER, /* lock files, pidfds: what a buffer keeps */
	FD_USE_CLIENT, /* a control connection */
};

/* Open the reserve; call once the daemon's own descriptors are open. */
void fdbudget_init(struct fdbudget *f);
void fdbudget_close(struct fdbudget *f);

/* Whether descriptor `fd`, just obtained, is one that `use` may keep. */
bool fdbudget_allows(const struct fdbudget *f, int fd, enum fd_use use);

/* Whether `use` may take one more descriptor now. */
bool fdbudget_room(const struct fdbudget *f, enum fd_use use);

/* How many clients the descriptors left to them can hold (at least 1). */
size_t fdbudget_client_slots(const struct fdbudget *f);

/* The current limit of open descriptors. */
unsigned long fdbudget_limit(void);

/* Take the reserve back if it is spent (cheap when it is not). */
void fdbudget_refill(struct fdbudget *f);

/*
 * Accept one waiting connection on the reserve, hand it to refuse(fd, ctx)
 * and close it, then open the reserve again. 0 when a connection was
 * refused; -EAGAIN when none waited; another -errno when even the reserve
 * did not make room (the caller backs off).
 */
int fdbudget_accept_spare(struct fdbudget *f, int listen_fd, void (*refuse)(int fd, void *ctx),
			  void *ctx);
