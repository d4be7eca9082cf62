/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "peer.h"
#include "pattern.h"

static int failures;

void bench_fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	fprintf(stderr, "zbbench: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int bench_failures(void)
{
	return failures;
}

void pin_slot(int slot)
{
	if (opt.pin)
		peer_pin_slot(slot);
}

int64_t cpu_self_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct pattern verify_pattern;

void verify_init(void)
{
	pattern_init(&verify_pattern, 0xbe7c, 1, FRAME_1080P);
}

void fill_frame(uint8_t *p, size_t n, uint64_t seq)
{
	memcpy(p, pattern_data(&verify_pattern, seq, n), n);
	stamp_frame(p, n, seq);
}

bool check_frame(const uint8_t *p, size_t n, uint64_t seq)
{
	return check_stamp(p, n, seq) &&
	       memcmp(p + 8, pattern_data(&verify_pattern, seq, n) + 8, n - 16) == 0;
}

int write_full(int fd, const void *p, size_t n)
{
	const uint8_t *c = p;

	while (n > 0) {
		ssize_t k = write(fd, c, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

int fdr_init(struct fd_reader *fr, int fd, size_t max_frame)
{
	fr->fd = fd;
	fr->cap = 2 * (max_frame + 16);
	if (fr->cap < 256 * 1024)
		fr->cap = 256 * 1024;
	fr->buf = malloc(fr->cap);
	fr->head = fr->tail = 0;
	return fr->buf ? 0 : -ENOMEM;
}

void fdr_free(struct fd_reader *fr)
{
	free(fr->buf);
	fr->buf = NULL;
}

int fdr_next(struct fd_reader *fr, const uint8_t **data, uint64_t *size, uint64_t *seq)
{
	for (;;) {
		size_t have = fr->tail - fr->head;
		ssize_t k;

		if (have >= 16) {
			uint64_t hdr[2];

			memcpy(hdr, fr->buf + fr->head, 16);
			if (hdr[0] > fr->cap / 2 - 16)
				return -EPROTO;
			if (have >= 16 + hdr[0]) {
				*data = fr->buf + fr->head + 16;
				*size = hdr[0];
				*seq = hdr[1];
				fr->head += 16 + hdr[0];
				return 1;
			}
		}
		/* Room for at least one whole frame behind what we hold. */
		if (fr->head > 0 && fr->cap - fr->tail < fr->cap / 2) {
			memmove(fr->buf, fr->buf + fr->head, have);
			fr->head = 0;
			fr->tail = have;
		}
		k = read(fr->fd, fr->buf + fr->tail, fr->cap - fr->tail);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return have == 0 ? 0 : -EPROTO;
		fr->tail += (size_t)k;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void pctl_compute(uint64_t *ns, size_t n, struct pctl *ret)
{
	if (n == 0) {
		*ret = (struct pctl){ NAN, NAN, NAN, NAN };
		return;
	}
	qsort(ns, n, sizeof(*ns), cmp_u64);
	/* Nearest rank: the smallest sample with at least q of them at or below it. */
#define RANK(q)                                                                                    \
	ns[(size_t)ceil((q) * (double)n) - 1 < n ? (size_t)ceil((q) * (double)n) - 1 : n - 1]
	ret->p50 = (double)RANK(0.50) / 1000.0;
	ret->p99 = (double)RANK(0.99) / 1000.0;
	ret->p999 = (double)RANK(0.999) / 1000.0;
	ret->max = (double)ns[n - 1] / 1000.0;
#undef RANK
}
