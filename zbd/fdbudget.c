/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdbudget.h"

#define HEADROOM_MIN 8
#define HEADROOM_MAX 64

unsigned long fdbudget_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > INT32_MAX)
		return INT32_MAX;
	return (unsigned long)rl.rlim_cur;
}

static unsigned long headroom(unsigned long limit)
{
	unsigned long h = limit / 8;

	return h < HEADROOM_MIN ? HEADROOM_MIN : h > HEADROOM_MAX ? HEADROOM_MAX : h;
}

/* The first descriptor number `use` may not keep. */
static unsigned long ceiling(enum fd_use use)
{
	unsigned long limit = fdbudget_limit(),
		      keep = headroom(limit) * (use == FD_USE_BUFFER ? 2 : 1);

	return limit > keep ? limit - keep : 0;
}

static int reserve_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void fdbudget_init(struct fdbudget *f)
{
	f->reserve = reserve_open();
	f->base = f->reserve >= 0 ? f->reserve + 1 : 0;
}

void fdbudget_close(struct fdbudget *f)
{
	if (f->reserve >= 0)
		close(f->reserve);
	f->reserve = -1;
}

bool fdbudget_allows(const struct fdbudget *f, int fd, enum fd_use use)
{
	return fd >= 0 && (unsigned long)fd < ceiling(use);
}

bool fdbudget_room(const struct fdbudget *f, enum fd_use use)
{
	int probe = reserve_open(); /* the lowest free number */
	bool room = fdbudget_allows(f, probe, use);

	if (probe >= 0)
		close(probe);
	return room;
}

size_t fdbudget_client_slots(const struct fdbudget *f)
{
	unsigned long top = ceiling(FD_USE_CLIENT);

	return top > (unsigned long)f->base + 1 ? top - (unsigned long)f->base : 1;
}

void fdbudget_refill(struct fdbudget *f)
{
	if (f->reserve < 0)
		f->reserve = reserve_open();
}

int fdbudget_accept_spare(struct fdbudget *f, int listen_fd, void (*refuse)(int fd, void *ctx),
			  void *ctx)
{
	int fd, err;

	fdbudget_refill(f);
	if (f->reserve < 0)
		return -errno;
	close(f->reserve);
	f->reserve = -1;
	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	err = errno;
	if (fd >= 0) {
		refuse(fd, ctx);
		close(fd);
	}
	f->reserve = reserve_open();
	if (fd >= 0)
		return 0;
	return err == EAGAIN || err == EINTR || err == ECONNABORTED ? -EAGAIN : -err;
}
