/* SPDX-License-Identifier: MIT */
/*
 * Scenarios 2 and 3, round-trip latency. This process sends a frame, a forked
 * peer echoes it back through a second channel, and each round trip is timed
 * on its own. The floor is the same ping-pong on one shared cache line: what
 * two cores of this machine need to see each other's writes at all.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "zbclient.h"

enum lat_kind { LAT_FLOOR, LAT_PIPE, LAT_SOCK, LAT_ZB };

struct lctl {
	uint64_t line[8] __attribute__((aligned(64))); /* the floor's cache line */
	int ready;
	char err[256];
};

struct lat_result {
	struct pctl p;
	double cpu_pct; /* both processes, in percent of one core */
};

#define CHILD_FAIL(c, ...)                                                                 \
	do {                                                                               \
		snprintf((c)->err, sizeof((c)->err), __VA_ARGS__);                         \
		_exit(1);                                                                  \
	} while (0)

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static int writev_full(int fd, const void *hdr, const void *data, size_t size)
{
	struct iovec iov[2] = { { (void *)hdr, 16 }, { (void *)data, size } };
	int i = 0;

	while (i < 2) {
		ssize_t k = writev(fd, iov + i, 2 - i);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (i < 2 && (size_t)k >= iov[i].iov_len)
			k -= (ssize_t)iov[i++].iov_len;
		if (i < 2) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
			iov[i].iov_len -= (size_t)k;
		}
	}
	return 0;
}

static void pong_floor(struct lctl *c)
{
	for (;;) {
		uint64_t v = __atomic_load_n(&c->line[0], __ATOMIC_ACQUIRE);

		if (v == UINT64_MAX)
			break;
		if (v & 1)
			__atomic_store_n(&c->line[0], v + 1, __ATOMIC_RELEASE);
		else
			relax();
	}
}

static void pong_fd(struct lctl *c, int in, int out, size_t size)
{
	struct fd_reader fr;

	if (fdr_init(&fr, in, size) < 0)
		CHILD_FAIL(c, "pong: out of memory");
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		const uint8_t *data;
		uint64_t n, seq, hdr[2];
		int err = fdr_next(&fr, &data, &n, &seq);

		if (err == 0)
			break;
		if (err < 0)
			CHILD_FAIL(c, "pong: read: %s", strerror(-err));
		hdr[0] = n;
		hdr[1] = seq;
		err = writev_full(out, hdr, data, n);
		if (err < 0)
			CHILD_FAIL(c, "pong: write: %s", strerror(-err));
	}
	fdr_free(&fr);
}

static void pong_zb(struct lctl *c, const char *name_in, const char *name_out, unsigned spin)
{
	struct zb_buffer_config cfg = { .payload_size = 8u << 20 };
	struct zb_reader *r;
	struct zb_writer *w;
	int err;

	err = zb_reader_create(&r, name_in, &cfg);
	if (err < 0)
		CHILD_FAIL(c, "pong: zb_reader_create: %s", zb_strerror(err));
	err = zb_writer_open(&w, name_out);
	if (err < 0)
		CHILD_FAIL(c, "pong: zb_writer_open: %s", zb_strerror(err));
	if (spin != UINT32_MAX) {
		zb_reader_set_spin(r, spin);
		zb_writer_set_spin(w, spin);
	}
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	for (;;) {
		struct zb_frame f;

		err = zb_reader_read(r, &f, 10000);
		if (err == ZB_EWRITER_GONE)
			break;
		if (err < 0)
			CHILD_FAIL(c, "pong: zb_reader_read: %s", zb_strerror(err));
		err = zb_writer_write(w, f.data, f.size, 10000);
		if (err < 0)
			CHILD_FAIL(c, "pong: zb_writer_write: %s", zb_strerror(err));
		zb_reader_release(r, &f);
	}
	zb_writer_close(w);
	zb_reader_close(r);
}

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool wait_ready(struct lctl *c)
{
	int64_t end = now_ns() + 30 * INT64_C(1000000000);

	while (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE)) {
		if (now_ns() > end)
			return false;
		sleep_us(100);
	}
	return true;
}

/*
 * One ping-pong run of n timed round trips (after a warm-up), pinging every
 * `pace_us` (0: back to back). `spin` is the zb spin in µs, UINT32_MAX for the
 * library's default.
 */
static bool lat_run(enum lat_kind kind, size_t size, unsigned n, unsigned spin, unsigned pace_us,
		    struct lat_result *res)
{
	struct lctl *c = shared_alloc(sizeof(*c));
	const char *name_a = bench_name("la"), *name_b = bench_name("lb");
	unsigned warm = n / 10 < 1000 ? n / 10 : 1000;
	uint64_t *ns = calloc(n, sizeof(*ns));
	uint8_t *buf = aligned_alloc(64, (size + 16 + 63) & ~(size_t)63);
	int to_pong[2] = { -1, -1 }, to_ping[2] = { -1, -1 }, status;
	struct zb_buffer_config cfg = { .payload_size = 8u << 20 };
	struct zb_reader *r = NULL;
	struct zb_writer *w = NULL;
	struct fd_reader fr = { .buf = NULL };
	int64_t cpu0, pcpu0 = 0, wall0, wall;
	clockid_t peer_clock = 0;
	bool ok = false;
	pid_t pid;
	int err;

	if (!ns || !buf)
		goto out;
	memset(buf, 0, size + 16);
	if (kind == LAT_PIPE && (pipe(to_pong) < 0 || pipe(to_ping) < 0))
		goto out;
	if (kind == LAT_SOCK) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, to_pong) < 0)
			goto out;
		/* One socket each: we write and read sp[0] (as to_pong[1] and
		 * to_ping[0]), the peer reads and writes sp[1]. */
		int sp0 = to_pong[0];

		to_pong[0] = to_pong[1];
		to_pong[1] = sp0;
		to_ping[0] = dup(sp0);
		to_ping[1] = dup(to_pong[0]);
	}
	if (kind == LAT_ZB) {
		err = zb_reader_create(&r, name_b, &cfg);
		if (err < 0) {
			bench_fail("latency: zb_reader_create: %s", zb_strerror(err));
			goto out;
		}
	}
	pid = fork();
	if (pid == 0) {
		/* A zb reader inherited from us stays ours: the child never closes it. */
		switch (kind) {
		case LAT_FLOOR:
			__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
			pong_floor(c);
			break;
		case LAT_PIPE:
		case LAT_SOCK:
			close(to_pong[1]);
			close(to_ping[0]);
			pong_fd(c, to_pong[0], to_ping[1], size);
			break;
		case LAT_ZB:
			pong_zb(c, name_a, name_b, spin);
			break;
		}
		_exit(0);
	}
	if (kind == LAT_PIPE || kind == LAT_SOCK) {
		close(to_pong[0]);
		close(to_ping[1]);
		to_pong[0] = to_ping[1] = -1;
		if (fdr_init(&fr, to_ping[0], size) < 0)
			goto reap;
	}
	if (!wait_ready(c) || clock_getcpuclockid(pid, &peer_clock) != 0)
		goto reap;
	if (kind == LAT_ZB) {
		err = zb_writer_open(&w, name_a);
		if (err < 0) {
			bench_fail("latency: zb_writer_open: %s", zb_strerror(err));
			goto reap;
		}
		if (spin != UINT32_MAX) {
			zb_reader_set_spin(r, spin);
			zb_writer_set_spin(w, spin);
		}
	}

	cpu0 = cpu_self_ns();
	wall0 = now_ns();
	for (unsigned i = 0; i < warm + n; i++) {
		uint64_t seq = i + 1;
		int64_t t0, t1;

		if (i == warm) {
			cpu0 = cpu_self_ns();
			pcpu0 = clock_ns(peer_clock);
			wall0 = now_ns();
		}
		if (pace_us)
			sleep_us(pace_us);
		t0 = now_ns();
		switch (kind) {
		case LAT_FLOOR:
			__atomic_store_n(&c->line[0], 2 * seq - 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(&c->line[0], __ATOMIC_ACQUIRE) != 2 * seq)
				relax();
			break;
		case LAT_PIPE:
		case LAT_SOCK: {
			uint64_t hdr[2] = { size, seq }, n_in, seq_in;
			const uint8_t *data;

			memcpy(buf, hdr, 16);
			stamp_frame(buf + 16, size, seq);
			err = write_full(to_pong[1], buf, size + 16);
			if (err == 0)
				err = fdr_next(&fr, &data, &n_in, &seq_in);
			if (err <= 0) {
				bench_fail("latency: pipe/socket: %s", err ? strerror(-err) : "EOF");
				goto reap;
			}
			if (seq_in != seq || n_in != size || !check_stamp(data, size, seq)) {
				bench_fail("latency: echoed frame %llu does not match",
					   (unsigned long long)seq);
				goto reap;
			}
			break;
		}
		case LAT_ZB: {
			struct zb_frame f;

			stamp_frame(buf, size, seq);
			err = zb_writer_write(w, buf, size, 10000);
			if (err == 0)
				err = zb_reader_read(r, &f, 10000);
			if (err < 0) {
				bench_fail("latency: zb: %s", zb_strerror(err));
				goto reap;
			}
			if (f.sequence != seq || f.size != size || !check_stamp(f.data, size, seq)) {
				bench_fail("latency: echoed frame %llu does not match",
					   (unsigned long long)seq);
				goto reap;
			}
			zb_reader_release(r, &f);
			break;
		}
		}
		t1 = now_ns();
		if (i >= warm)
			ns[i - warm] = (uint64_t)(t1 - t0);
	}
	wall = now_ns() - wall0;
	res->cpu_pct = (double)(cpu_self_ns() - cpu0 + clock_ns(peer_clock) - pcpu0) /
		       (double)wall * 100;
	ok = true;

reap:
	if (kind == LAT_FLOOR)
		__atomic_store_n(&c->line[0], UINT64_MAX, __ATOMIC_RELEASE);
	if (w)
		zb_writer_close(w);
	w = NULL;
	/* End of stream for the peer: every descriptor of our end goes. */
	if (to_pong[1] >= 0)
		close(to_pong[1]);
	if (to_ping[0] >= 0)
		close(to_ping[0]);
	to_pong[1] = to_ping[0] = -1;
	status = child_wait(pid, 30000);
	if (status != 0) {
		bench_fail("latency: peer failed: %s", c->err[0] ? c->err : "died");
		ok = false;
	}
	if (ok)
		pctl_compute(ns, n, &res->p);
out:
	if (r)
		zb_reader_close(r);
	for (int i = 0; i < 2; i++) {
		if (to_pong[i] >= 0)
			close(to_pong[i]);
		if (to_ping[i] >= 0)
			close(to_ping[i]);
	}
	fdr_free(&fr);
	free(ns);
	free(buf);
	shared_free(c, sizeof(*c));
	return ok;
}

static const struct col lat_cols[] = {
	{ "p50_us", "p50 us", 8, 2 },   { "p99_us", "p99 us", 8, 2 },
	{ "p999_us", "p99.9 us", 9, 2 }, { "max_us", "max us", 9, 1 },
	{ "p50_vs_floor", "p50 x floor", 11, 2 }, { "p50_vs_pipe", "p50 x pipe", 10, 2 },
	{ "cpu_pct", "cpu %", 6, 0 },
};

static void lat_row(const char *label, const char *impl, const struct lat_result *lr, double floor,
		    double pipe)
{
	double v[7] = { lr->p.p50, lr->p.p99, lr->p.p999, lr->p.max, lr->p.p50 / floor,
			lr->p.p50 / pipe, lr->cpu_pct };

	out_row(label, impl, v);
}

/* The spin used for "spin-then-block" rows: the library's default. */
#define SPIN_DEFAULT UINT32_MAX

void scenario_latency(void)
{
	static const size_t sizes[] = { 64, 4096, FRAME_1080P };
	static const char *const labels[] = { "64 B", "4 KiB", "1080p 3110400 B" };
	static const unsigned spins[] = { 0, 5, 20, 50, 200 };
	struct lat_result floor_r, lr;
	double floor_p50 = NAN, pipe64 = NAN;
	char title[160], impl[64];

	if (lat_run(LAT_FLOOR, 8, opt.rt_small, 0, 0, &floor_r))
		floor_p50 = floor_r.p.p50;
	if (scenario_wanted(2)) {
		snprintf(title, sizeof(title),
			 "2. Round-trip latency (%u round trips, %u for 1080p; ratios of p50)",
			 opt.rt_small, opt.rt_large);
		out_section("latency", title, lat_cols, 7);
		if (!isnan(floor_p50))
			lat_row("8 B", "spin on 1 cache line", &floor_r, floor_p50, NAN);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned n = sizes[i] > 65536 ? opt.rt_large : opt.rt_small;
			double pipe = NAN;

			if (opt.size && opt.size != sizes[i])
				continue;
			if (lat_run(LAT_PIPE, sizes[i], n, 0, 0, &lr)) {
				pipe = lr.p.p50;
				lat_row(labels[i], "pipe", &lr, floor_p50, pipe);
			}
			if (lat_run(LAT_SOCK, sizes[i], n, 0, 0, &lr))
				lat_row(labels[i], "socketpair", &lr, floor_p50, pipe);
			if (lat_run(LAT_ZB, sizes[i], n, 0, 0, &lr))
				lat_row(labels[i], "zb blocking only", &lr, floor_p50, pipe);
			if (lat_run(LAT_ZB, sizes[i], n, SPIN_DEFAULT, 0, &lr))
				lat_row(labels[i], "zb spin-then-block", &lr, floor_p50, pipe);
			if (i == 0)
				pipe64 = pipe;
		}
		out_note("spin-then-block uses the library's default spin; cpu %% is both "
			 "processes together, in percent of one core.");
	}
	if (scenario_wanted(3)) {
		unsigned paced_n = opt.smoke ? 50 : 1000;

		out_section("wait_policy",
			    "3. Wait policy: 64 B round trips by spin time before sleeping "
			    "(back to back, and paced at 1 kHz)",
			    lat_cols, 7);
		if (isnan(pipe64) && lat_run(LAT_PIPE, 64, opt.rt_small, 0, 0, &lr))
			pipe64 = lr.p.p50;
		for (size_t i = 0; i < sizeof(spins) / sizeof(spins[0]); i++) {
			snprintf(impl, sizeof(impl), "zb spin %u us", spins[i]);
			if (lat_run(LAT_ZB, 64, opt.rt_small, spins[i], 0, &lr))
				lat_row("64 B back-to-back", impl, &lr, floor_p50, pipe64);
		}
		for (size_t i = 0; i < sizeof(spins) / sizeof(spins[0]); i++) {
			snprintf(impl, sizeof(impl), "zb spin %u us", spins[i]);
			if (lat_run(LAT_ZB, 64, paced_n, spins[i], 1000, &lr))
				lat_row("64 B every 1 ms", impl, &lr, floor_p50, pipe64);
		}
		out_note("paced: a ping every 1 ms, so each side sleeps between frames; "
			 "cpu %% shows what spinning costs an idle stream.");
	}
}
