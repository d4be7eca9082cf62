/* SPDX-License-Identifier: MIT */
/*
 * Scenarios 2 and 3, round-trip latency. This process sends a frame, a forked
 * peer echoes it back through a second channel, and each round trip is timed
 * on its own. The floor is the same ping-pong on one shared cache line: what
 * two cores of this machine need to see each other's writes at all.
 */
#include <errno.h>
#include <sched.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "peer.h"
#include "zbclient.h"

enum lat_kind { LAT_FLOOR, LAT_PIPE, LAT_SOCK, LAT_ZB, LAT_IOX_BUSY, LAT_IOX_WS, LAT_UP };

/* The spin used for "spin-then-block" rows: the library's default. */
#define SPIN_DEFAULT (UINT32_MAX - 1)

struct lctl {
	uint64_t line[8] __attribute__((aligned(64))); /* the floor's cache line */
	int ready;
	char err[256];
};

/* Run totals of one chunk: CPU of both processes, and wall time. */
struct lat_cost {
	int64_t cpu_ns, wall_ns;
};

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

static void pong_zb(struct lctl *c, const char *name_in, const char *name_out, size_t size,
		    unsigned spin)
{
	struct zb_buffer_config cfg = { .payload_size = peer_rt_ring(size) };
	struct zb_reader *r;
	struct zb_writer *w;
	int err;

	err = zb_reader_create(&r, name_in, &cfg);
	if (err < 0)
		CHILD_FAIL(c, "pong: zb_reader_create: %s", zb_strerror(err));
	err = zb_writer_open(&w, name_out);
	if (err < 0)
		CHILD_FAIL(c, "pong: zb_writer_open: %s", zb_strerror(err));
	if (spin != SPIN_DEFAULT) {
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
	return TU_UNTIL(__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE), 30000, 100);
}

/*
 * One ping-pong run of n timed round trips (after a warm-up) into ns[],
 * pinging every `pace_us` (0: back to back). `spin` is the zb spin in us,
 * SPIN_DEFAULT for the library's default. The external peers run their own
 * ping-pong (peer.c), the same way, back to back.
 */
static bool lat_run(enum lat_kind kind, size_t size, unsigned n, unsigned spin, unsigned pace_us,
		    uint64_t *ns, struct lat_cost *cost)
{
	struct lctl *c = tu_shared(sizeof(*c));
	const char *name_a = tu_unique_name("la"), *name_b = tu_unique_name("lb");
	unsigned warm = peer_rt_warm(size, n);
	uint8_t *buf = aligned_alloc(64, (size + 16 + 63) & ~(size_t)63);
	int to_pong[2] = { -1, -1 }, to_ping[2] = { -1, -1 }, status;
	struct zb_buffer_config cfg = { .payload_size = peer_rt_ring(size) };
	struct zb_reader *r = NULL;
	struct zb_writer *w = NULL;
	struct fd_reader fr = { .buf = NULL };
	int64_t cpu0, pcpu0 = 0, wall0, wall;
	clockid_t peer_clock = 0;
	bool ok = false;
	pid_t pid;
	int err;

	if (kind >= LAT_IOX_BUSY) {
		tu_shared_free(c, sizeof(*c));
		free(buf);
		return peer_rt(kind == LAT_UP ? PEER_UPSTREAM : PEER_ICEORYX, size, n,
			       kind == LAT_IOX_BUSY, ns, &cost->cpu_ns, &cost->wall_ns);
	}
	if (!buf)
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
		pin_slot(1);
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
			pong_zb(c, name_a, name_b, size, spin);
			break;
		default:
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
		if (spin != SPIN_DEFAULT) {
			zb_reader_set_spin(r, spin);
			zb_writer_set_spin(w, spin);
		}
	}

	cpu0 = cpu_self_ns();
	wall0 = tu_now_ns();
	for (unsigned i = 0; i < warm + n; i++) {
		uint64_t seq = i + 1;
		int64_t t0, t1;

		if (i == warm) {
			cpu0 = cpu_self_ns();
			pcpu0 = clock_ns(peer_clock);
			wall0 = tu_now_ns();
		}
		if (pace_us && i >= warm) /* the warm-up lap goes back to back */
			tu_sleep_us(pace_us);
		t0 = tu_now_ns();
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
				bench_fail("latency: pipe/socket: %s",
					   err ? strerror(-err) : "EOF");
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
			if (f.sequence != seq || f.size != size ||
			    !check_stamp(f.data, size, seq)) {
				bench_fail("latency: echoed frame %llu does not match",
					   (unsigned long long)seq);
				goto reap;
			}
			zb_reader_release(r, &f);
			break;
		}
		default:
			break;
		}
		t1 = tu_now_ns();
		if (i >= warm)
			ns[i - warm] = (uint64_t)(t1 - t0);
	}
	wall = tu_now_ns() - wall0;
	cost->wall_ns = wall;
	cost->cpu_ns = cpu_self_ns() - cpu0 + clock_ns(peer_clock) - pcpu0;
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
	status = tu_wait_exit(pid, 30000);
	if (status != 0) {
		bench_fail("latency: peer failed: %s", c->err[0] ? c->err : "died");
		ok = false;
	}
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
	free(buf);
	tu_shared_free(c, sizeof(*c));
	return ok;
}

static const struct col lat_cols[] = {
	{ "p50_us", "p50 us", 8, 2 },
	{ "p99_us", "p99 us", 8, 2 },
	{ "p999_us", "p99.9 us", 9, 2 },
	{ "max_us", "max us", 9, 1 },
	{ "p50_vs_floor", "p50 x floor", 11, 2 },
	{ "p50_vs_pipe", "p50 x pipe", 10, 2 },
	{ "cpu_pct", "cpu %", 6, 0 },
	{ "p50_vs_iceoryx", "p50 x iox", 9, 2 },
	{ "p99_vs_iceoryx", "p99 x iox", 9, 2 },
};
#define LAT_NCOLS 9

/* One implementation of an interleaved group. */
struct lat_impl {
	const char *label, *impl;
	enum lat_kind kind;
	size_t size;
	unsigned spin, pace_us;
	enum lat_kind ref; /* the iceoryx row it is compared with, or LAT_FLOOR for none */
	/* results */
	uint64_t *ns;
	unsigned n;
	struct lat_cost cost;
	bool failed;
	struct pctl p;
};

/*
 * n round trips of every implementation, in `chunks` interleaved runs: the
 * floor and the figure it divides see the same spells of load from other
 * processes, and the same placement of our two processes on the CPUs.
 */
/* Why an external peer's row cannot run, or NULL. */
static const char *lat_absent(const struct lat_impl *im)
{
	if (im->kind == LAT_IOX_BUSY || im->kind == LAT_IOX_WS)
		return peer_absent(PEER_ICEORYX);
	if (im->kind == LAT_UP)
		return peer_absent(PEER_UPSTREAM);
	return NULL;
}

static void lat_group(struct lat_impl *im, int nimpl, unsigned n)
{
	int chunks = opt.smoke || n < 50 ? 1 : 5;

	for (int i = 0; i < nimpl; i++) {
		im[i].ns = calloc(n, sizeof(uint64_t));
		im[i].n = 0;
		im[i].cost = (struct lat_cost){ 0, 0 };
		im[i].failed = !im[i].ns || !impl_wanted(im[i].impl) || lat_absent(&im[i]);
	}
	for (int c = 0; c < chunks; c++) {
		unsigned k = c == chunks - 1 ? n - (n / chunks) * (chunks - 1) : n / chunks;

		for (int i = 0; i < nimpl; i++) {
			struct lat_cost one;

			if (im[i].failed)
				continue;
			if (!lat_run(im[i].kind, im[i].size, k, im[i].spin, im[i].pace_us,
				     im[i].ns + im[i].n, &one)) {
				im[i].failed = true;
				continue;
			}
			im[i].n += k;
			im[i].cost.cpu_ns += one.cpu_ns;
			im[i].cost.wall_ns += one.wall_ns;
		}
	}
	for (int i = 0; i < nimpl; i++) {
		if (!im[i].failed)
			pctl_compute(im[i].ns, im[i].n, &im[i].p);
		free(im[i].ns);
		im[i].ns = NULL;
	}
}

static void lat_print(const struct lat_impl *im, double floor, double pipe,
		      const struct lat_impl *all, int nall)
{
	const struct lat_impl *ref = NULL;
	double v[LAT_NCOLS];

	if (!impl_wanted(im->impl))
		return;
	if (lat_absent(im)) {
		out_skip(im->label, im->impl, lat_absent(im));
		return;
	}
	for (int i = 0; i < nall; i++)
		if (im->ref != LAT_FLOOR && all[i].kind == im->ref && !all[i].failed)
			ref = &all[i];
	if (im->failed) {
		out_skip(im->label, im->impl, "failed (see stderr)");
		return;
	}
	v[0] = im->p.p50;
	v[1] = im->p.p99;
	v[2] = im->p.p999;
	v[3] = im->p.max;
	v[4] = im->kind == LAT_FLOOR ? NAN : im->p.p50 / floor;
	v[5] = im->kind == LAT_PIPE || im->kind == LAT_FLOOR ? NAN : im->p.p50 / pipe;
	v[6] = im->cost.wall_ns ? (double)im->cost.cpu_ns / (double)im->cost.wall_ns * 100 : NAN;
	v[7] = ref ? im->p.p50 / ref->p.p50 : NAN;
	v[8] = ref ? im->p.p99 / ref->p.p99 : NAN;
	out_row(im->label, im->impl, v);
}

static double p50_of(const struct lat_impl *im, int nimpl, enum lat_kind kind)
{
	for (int i = 0; i < nimpl; i++)
		if (im[i].kind == kind && !im[i].failed)
			return im[i].p.p50;
	return NAN;
}

#define LAT_IMPL(l, name, k, sz, sp, pace, r)                                                      \
	{                                                                                          \
		.label = l, .impl = name, .kind = k, .size = sz, .spin = sp, .pace_us = pace,      \
		.ref = r                                                                           \
	}

void scenario_latency(void)
{
	cpu_set_t all;
	bool restore = sched_getaffinity(0, sizeof(all), &all) == 0;

	static const size_t sizes[] = { 64, 4096, FRAME_1080P };
	static const char *const labels[] = { "64 B", "4 KiB", "1080p 3110400 B" };
	static const unsigned spins[] = { 0, 5, 20, 50, 200, ZB_SPIN_FOREVER };
	static const char *const spin_names[] = { "zb spin 0 us (block)", "zb spin 5 us",
						  "zb spin 20 us",	  "zb spin 50 us",
						  "zb spin 200 us",	  "zb busy poll" };
	enum { NSPIN = sizeof(spins) / sizeof(spins[0]) };
	double floor_p50 = NAN, pipe64 = NAN;
	char title[200], other[32];

	pin_slot(0); /* we ping; every peer we fork pins itself to the other CPU */

	if (scenario_wanted(2)) {
		bool custom = opt.size != 0;
		size_t nsizes = custom ? 1 : sizeof(sizes) / sizeof(sizes[0]);

		snprintf(title, sizeof(title),
			 "2. Round-trip latency (%u round trips, %u for 1080p, in 5 interleaved "
			 "runs; ratios of p50)",
			 opt.rt_small, opt.rt_large);
		out_section("latency", title, lat_cols, LAT_NCOLS);
		snprintf(other, sizeof(other), "%llu B", (unsigned long long)opt.size);
		for (size_t i = 0; i < nsizes; i++) {
			size_t size = custom ? opt.size : sizes[i];
			const char *label = custom ? other : labels[i];
			unsigned n = size > 65536 ? opt.rt_large : opt.rt_small;
			struct lat_impl im[] = {
				LAT_IMPL("8 B", "spin on 1 cache line", LAT_FLOOR, 8, 0, 0,
					 LAT_FLOOR),
				LAT_IMPL(label, "pipe", LAT_PIPE, size, 0, 0, LAT_IOX_WS),
				LAT_IMPL(label, "socketpair", LAT_SOCK, size, 0, 0, LAT_IOX_WS),
				LAT_IMPL(label, "zb blocking only", LAT_ZB, size, 0, 0, LAT_IOX_WS),
				LAT_IMPL(label, "zb spin-then-block", LAT_ZB, size, SPIN_DEFAULT, 0,
					 LAT_IOX_BUSY),
				LAT_IMPL(label, "zb busy poll", LAT_ZB, size, ZB_SPIN_FOREVER, 0,
					 LAT_IOX_BUSY),
				LAT_IMPL(label, "iceoryx WaitSet", LAT_IOX_WS, size, 0, 0,
					 LAT_FLOOR),
				LAT_IMPL(label, "iceoryx busy poll", LAT_IOX_BUSY, size, 0, 0,
					 LAT_FLOOR),
				LAT_IMPL(label, "upstream (blocking)", LAT_UP, size, 0, 0,
					 LAT_IOX_WS),
			};
			int nimpl = sizeof(im) / sizeof(im[0]), first = i == 0 ? 0 : 1;
			double pipe;

			if (size < 16 || size > (4u << 20)) {
				out_skip(label, "every implementation",
					 "frames of 16 B to 4 MiB only");
				continue;
			}
			lat_group(im + first, nimpl - first, n);
			if (i == 0)
				floor_p50 = p50_of(im, nimpl, LAT_FLOOR);
			pipe = p50_of(im, nimpl, LAT_PIPE);
			if (i == 0)
				pipe64 = pipe;
			for (int j = first; j < nimpl; j++)
				lat_print(&im[j], floor_p50, pipe, im, nimpl);
		}
		out_note("spin-then-block: the library's default spin (ZB_DEFAULT_SPIN_US); busy "
			 "poll: ZB_SPIN_FOREVER; cpu %% is both processes together, in percent of "
			 "one core.");
		out_note("x iox: against iceoryx's busy poll for rows that spin, its WaitSet for "
			 "rows that sleep.");
	}
	if (scenario_wanted(3)) {
		unsigned paced_n = opt.smoke ? 50 : 2000;
		struct lat_impl im[2 + NSPIN + 2], paced[NSPIN];
		int nim = 2 + NSPIN + 2;

		out_section("wait_policy",
			    "3. Wait policy: 64 B round trips by spin before sleeping (back to "
			    "back, and paced at 1 kHz), interleaved",
			    lat_cols, LAT_NCOLS);
		im[0] = (struct lat_impl)LAT_IMPL("8 B", "spin on 1 cache line", LAT_FLOOR, 8, 0, 0,
						  LAT_FLOOR);
		im[1] = (struct lat_impl)LAT_IMPL("64 B back-to-back", "pipe", LAT_PIPE, 64, 0, 0,
						  LAT_IOX_WS);
		for (int i = 0; i < NSPIN; i++) {
			enum lat_kind ref = spins[i] ? LAT_IOX_BUSY : LAT_IOX_WS;

			im[2 + i] = (struct lat_impl)LAT_IMPL("64 B back-to-back", spin_names[i],
							      LAT_ZB, 64, spins[i], 0, ref);
			paced[i] = (struct lat_impl)LAT_IMPL("64 B every 1 ms", spin_names[i],
							     LAT_ZB, 64, spins[i], 1000, LAT_FLOOR);
		}
		im[2 + NSPIN] = (struct lat_impl)LAT_IMPL("64 B back-to-back", "iceoryx WaitSet",
							  LAT_IOX_WS, 64, 0, 0, LAT_FLOOR);
		im[3 + NSPIN] = (struct lat_impl)LAT_IMPL("64 B back-to-back", "iceoryx busy poll",
							  LAT_IOX_BUSY, 64, 0, 0, LAT_FLOOR);
		lat_group(im, nim, opt.rt_small);
		floor_p50 = p50_of(im, nim, LAT_FLOOR);
		pipe64 = p50_of(im, nim, LAT_PIPE);
		for (int i = 0; i < nim; i++)
			lat_print(&im[i], floor_p50, pipe64, im, nim);
		lat_group(paced, NSPIN, paced_n);
		for (int i = 0; i < NSPIN; i++)
			lat_print(&paced[i], floor_p50, pipe64, paced, NSPIN);
		out_note("paced: a ping every 1 ms, so both sides sleep between frames (but the "
			 "busy poll, which spins); cpu %% shows what the spin costs a quiet "
			 "stream.");
	}
	if (restore)
		sched_setaffinity(0, sizeof(all), &all);
}
