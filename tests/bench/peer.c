/* SPDX-License-Identifier: MIT */
/* The driver every external peer of zbbench shares (peer.h says what it runs). */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

struct shared {
	int rx_ready[2]; /* channel's taking end is open */
	int go;		 /* both ends of every channel are open */
	int warm_done;
	int64_t t0, t1;
	uint64_t last; /* the last frame's sequence, stored before it is sent */
	char err[256];
};

static const struct peer_transport *tr;
static struct shared *sh;
static bool pin;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->err, sizeof(sh->err), fmt, ap);
	va_end(ap);
	_exit(1);
}

static void wait_flag(int *flag, const char *what)
{
	int64_t until = now_ns() + INT64_C(30) * 1000000000;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (now_ns() > until)
			fail("timed out waiting for %s", what);
		usleep(50);
	}
}

static void stamp(uint8_t *p, size_t n, uint64_t seq)
{
	uint64_t tail = ~seq;

	memcpy(p, &seq, 8);
	memcpy(p + n - 8, &tail, 8);
}

static uint64_t stamp_of(const uint8_t *p, size_t n)
{
	uint64_t a, b;

	memcpy(&a, p, 8);
	memcpy(&b, p + n - 8, 8);
	return a == ~b ? a : UINT64_MAX;
}

static void *open_tx(const char *run, int chan, size_t size)
{
	void *tx = tr->tx_open(run, chan, size);
	int64_t until = now_ns() + INT64_C(30) * 1000000000;

	if (!tx)
		fail("%s: cannot open channel %d for writing", tr->name, chan);
	while (tr->tx_connected && !tr->tx_connected(tx)) {
		if (now_ns() > until)
			fail("%s: channel %d has no reader", tr->name, chan);
		usleep(100);
	}
	return tx;
}

static void *open_rx(const char *run, int chan, size_t size, uint64_t ring)
{
	void *rx = tr->rx_open(run, chan, size, ring);

	if (!rx)
		fail("%s: cannot open channel %d for reading", tr->name, chan);
	__atomic_store_n(&sh->rx_ready[chan], 1, __ATOMIC_RELEASE);
	return rx;
}

static bool give(void *tx, const uint8_t *src, size_t size, uint64_t seq, char mode)
{
	uint8_t *p;

	if (mode == 'c' && tr->write)
		return tr->write(tx, src, size);
	p = tr->loan(tx, size);
	if (!p)
		return false;
	if (mode == 'c')
		memcpy(p, src, size);
	else if (mode == 'f')
		memset(p, (int)(seq & 0xff), size);
	stamp(p, size, seq);
	return tr->publish(tx, p, size);
}

/* ------------------------------------------------------------ throughput */

static void tp_reader(const char *run, size_t size, uint64_t ring, bool busy, uint64_t warm)
{
	void *rx;

	tr->init("zbbench-tp-r");
	rx = open_rx(run, 0, size, ring);
	for (uint64_t expect = 1;; expect++) {
		const uint8_t *f = tr->take(rx, busy);
		uint64_t seq;

		if (!f)
			fail("%s: take failed at frame %" PRIu64, tr->name, expect);
		seq = stamp_of(f, size);
		if (seq != expect)
			fail("%s: frame %" PRIu64 " carries %" PRIu64, tr->name, expect, seq);
		tr->release(rx, f);
		if (expect == warm)
			__atomic_store_n(&sh->warm_done, 1, __ATOMIC_RELEASE);
		if (expect == __atomic_load_n(&sh->last, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&sh->t1, now_ns(), __ATOMIC_RELEASE);
			break;
		}
	}
	/* The writer may still be attached: leave only once it has gone. */
	wait_flag(&sh->go, "the writer to finish");
	tr->rx_close(rx);
	_exit(0);
}

static void tp_writer(const char *run, size_t size, double seconds, char mode, uint64_t warm)
{
	uint8_t *src = aligned_alloc(64, (size + 63) & ~(size_t)63);
	uint64_t every = 65536 / (size + 16) + 1, countdown = every;
	int64_t dur = (int64_t)(seconds * 1e9), t0 = 0;
	void *tx;

	if (!src)
		fail("out of memory");
	memset(src, 0x5a, size);
	tr->init("zbbench-tp-w");
	wait_flag(&sh->rx_ready[0], "the reader");
	tx = open_tx(run, 0, size);
	for (uint64_t seq = 1;; seq++) {
		if (seq == warm + 1) {
			wait_flag(&sh->warm_done, "the warm-up");
			t0 = now_ns();
			sh->t0 = t0;
		}
		if (seq > warm && --countdown == 0) {
			countdown = every;
			if (now_ns() - t0 >= dur)
				__atomic_store_n(&sh->last, seq, __ATOMIC_RELEASE);
		}
		if (mode == 'c')
			stamp(src, size, seq);
		if (!give(tx, src, size, seq, mode))
			fail("%s: giving frame %" PRIu64 " failed", tr->name, seq);
		if (seq == __atomic_load_n(&sh->last, __ATOMIC_ACQUIRE))
			break;
	}
	/* Keep the writer attached until the reader took the last frame. */
	while (__atomic_load_n(&sh->t1, __ATOMIC_ACQUIRE) == 0)
		usleep(100);
	tr->tx_close(tx);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	free(src);
	_exit(0);
}

/* ------------------------------------------------------------ round trips */

static void rt_pong(const char *run, size_t size, bool busy)
{
	void *rx, *tx;

	tr->init("zbbench-rt-pong");
	rx = open_rx(run, 0, size, peer_rt_ring(size));
	wait_flag(&sh->rx_ready[1], "the pinger");
	tx = open_tx(run, 1, size);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	for (;;) {
		const uint8_t *f = tr->take(rx, busy);
		uint8_t *p;
		uint64_t seq;

		if (!f)
			fail("%s: pong: take failed", tr->name);
		seq = stamp_of(f, size);
		if (seq == 0) {
			tr->release(rx, f);
			break;
		}
		p = tr->loan(tx, size);
		if (!p)
			fail("%s: pong: loan failed", tr->name);
		memcpy(p, f, size);
		tr->release(rx, f);
		if (!tr->publish(tx, p, size))
			fail("%s: pong: publish failed", tr->name);
	}
	/* The pinger may still take its last echo: leave after it. */
	wait_flag(&sh->warm_done, "the pinger to finish");
	tr->tx_close(tx);
	tr->rx_close(rx);
	_exit(0);
}

static int rt_ping(const char *run, size_t size, unsigned n, bool busy, pid_t pong)
{
	unsigned warm = peer_rt_warm(size, n);
	uint64_t *ns = calloc(n, sizeof(*ns));
	int64_t cpu0 = 0, pcpu0 = 0, wall0 = 0, cpu, wall;
	clockid_t peer_clock;
	void *rx, *tx;

	uint8_t *src = aligned_alloc(64, (size + 63) & ~(size_t)63);

	if (!ns || !src || clock_getcpuclockid(pong, &peer_clock) != 0)
		fail("out of memory, or no clock for the peer");
	memset(src, 0, size);
	tr->init("zbbench-rt-ping");
	rx = open_rx(run, 1, size, peer_rt_ring(size));
	wait_flag(&sh->rx_ready[0], "the ponger");
	tx = open_tx(run, 0, size);
	wait_flag(&sh->go, "the ponger's writer");
	for (unsigned i = 0; i < warm + n; i++) {
		uint64_t seq = i + 1;
		const uint8_t *f;
		int64_t t0;

		if (i == warm) {
			cpu0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
			pcpu0 = cpu_ns(peer_clock);
			wall0 = now_ns();
		}
		t0 = now_ns();
		/* As zbbench's own ping: the frame is copied in. */
		stamp(src, size, seq);
		if (!give(tx, src, size, seq, 'c'))
			fail("%s: ping: giving failed", tr->name);
		f = tr->take(rx, busy);
		if (!f || stamp_of(f, size) != seq)
			fail("%s: ping: echo %" PRIu64 " missing or wrong", tr->name, seq);
		tr->release(rx, f);
		if (i >= warm)
			ns[i - warm] = (uint64_t)(now_ns() - t0);
	}
	wall = now_ns() - wall0;
	cpu = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0 + cpu_ns(peer_clock) - pcpu0;
	stamp(src, size, 0);
	if (!give(tx, src, size, 0, 'c'))
		fail("%s: ping: stop frame failed", tr->name);
	__atomic_store_n(&sh->warm_done, 1, __ATOMIC_RELEASE);
	printf("samples=%u cpu_ns=%" PRId64 " wall_ns=%" PRId64 "\n", n, cpu, wall);
	for (unsigned i = 0; i < n; i++)
		printf("%" PRIu64 "\n", ns[i]);
	fflush(stdout);
	tr->tx_close(tx);
	tr->rx_close(rx);
	free(ns);
	free(src);
	_exit(0);
}

/* ------------------------------------------------------------ main */

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: %s tp SIZE SECONDS copy|fill|stamp RING busy|block PIN\n"
		"       %s rt SIZE COUNT busy|block PIN\n",
		tr->name, tr->name);
	return 2;
}

int peer_main(int argc, char **argv, const struct peer_transport *t)
{
	char run[64];
	size_t size;
	pid_t a, b;
	int sa, sb;

	tr = t;
	if (argc < 6)
		return usage();
	size = strtoull(argv[2], NULL, 10);
	if (size < 16)
		return usage();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset(sh, 0, sizeof(*sh));
	snprintf(run, sizeof(run), "zbb%d", (int)getpid());
	if (strcmp(argv[1], "tp") == 0 && argc == 8) {
		double seconds = strtod(argv[3], NULL);
		uint64_t ring = strtoull(argv[5], NULL, 10);
		uint64_t warm = ring / (size + 16) + 2;

		pin = strcmp(argv[7], "1") == 0;
		a = fork();
		if (a == 0) {
			if (pin)
				peer_pin_slot(1);
			tp_reader(run, size, ring, strcmp(argv[6], "busy") == 0, warm);
		}
		b = fork();
		if (b == 0) {
			if (pin)
				peer_pin_slot(0);
			tp_writer(run, size, seconds, argv[4][0], warm);
		}
		sb = reap(b);
		sa = reap(a);
		if (sa != 0 || sb != 0) {
			fprintf(stderr, "%s: %s\n", t->name, sh->err[0] ? sh->err : "a child died");
			return 1;
		}
		printf("frames=%" PRIu64 " ns=%" PRId64 "\n", sh->last - warm, sh->t1 - sh->t0);
		return 0;
	}
	if (strcmp(argv[1], "rt") == 0 && argc == 6) {
		unsigned n = (unsigned)strtoul(argv[3], NULL, 10);
		bool busy = strcmp(argv[4], "busy") == 0;

		pin = strcmp(argv[5], "1") == 0;
		if (n == 0)
			return usage();
		fflush(stdout);
		a = fork();
		if (a == 0) {
			if (pin)
				peer_pin_slot(1);
			rt_pong(run, size, busy);
		}
		b = fork();
		if (b == 0) {
			if (pin)
				peer_pin_slot(0);
			rt_ping(run, size, n, busy, a);
		}
		sb = reap(b);
		sa = reap(a);
		if (sa != 0 || sb != 0) {
			fprintf(stderr, "%s: %s\n", t->name, sh->err[0] ? sh->err : "a child died");
			return 1;
		}
		return 0;
	}
	return usage();
}
