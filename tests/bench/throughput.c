/* SPDX-License-Identifier: MIT */
/*
 * Scenario 1, one-way throughput. A writer process streams frames of one size
 * for a fixed time; a reader process checks every sequence number and each
 * frame's stamps. Before the clock starts, the writer sends one ring's worth of
 * frames and waits until the reader has taken them, so every page of the ring
 * is mapped and the timed part measures the steady state, not page faults.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "zbclient.h"

enum tp_kind {
	TP_PIPE,
	TP_SOCK,
	TP_ZB_COPY,
	TP_ZB_ACQ,
	TP_ZB_FILL,
	TP_IOX_COPY,
	TP_IOX_ACQ,
	TP_IOX_FILL,
	TP_UP_COPY,
	TP_UP_ACQ,
	TP_UP_FILL,
	TP_N
};

/* Every case runs TP_REPS times, interleaved with the others, and reports
 * the median: interleaving exposes every implementation to the same spells of
 * load from other processes, and the median keeps one lucky or unlucky spell
 * from deciding a ratio. */
#define TP_REPS 3
static double rep_s; /* timed seconds of one run */
/* Set while a run uses a buffer zbd owns: the reader attaches, not creates. */
static const char *owned_name;

static const char *const tp_names[TP_N] = {
	[TP_PIPE] = "pipe",
	[TP_SOCK] = "socketpair",
	[TP_ZB_COPY] = "zb write (copy)",
	[TP_ZB_ACQ] = "zb acquire/commit",
	[TP_ZB_FILL] = "zb acquire+fill",
	[TP_IOX_COPY] = "iceoryx loan+copy",
	[TP_IOX_ACQ] = "iceoryx loan/publish",
	[TP_IOX_FILL] = "iceoryx loan+fill",
	[TP_UP_COPY] = "upstream write_frame",
	[TP_UP_ACQ] = "upstream get/commit",
	[TP_UP_FILL] = "upstream get+fill",
};

/* How the producer makes a frame: copied in ('c'), every byte written in
 * place ('f'), or only the stamps written in place ('s'). */
static char tp_mode(enum tp_kind k)
{
	switch (k) {
	case TP_ZB_ACQ:
	case TP_IOX_ACQ:
	case TP_UP_ACQ:
		return 's';
	case TP_ZB_FILL:
	case TP_IOX_FILL:
	case TP_UP_FILL:
		return 'f';
	default:
		return 'c';
	}
}

/* The external peer a kind runs on, or -1 for ours and the baselines. */
static int tp_peer(enum tp_kind k)
{
	if (k >= TP_IOX_COPY && k <= TP_IOX_FILL)
		return PEER_ICEORYX;
	if (k >= TP_UP_COPY && k <= TP_UP_FILL)
		return PEER_UPSTREAM;
	return -1;
}

/* The peer's kind that makes frames as `k` does. */
static enum tp_kind tp_same_mode(enum peer_id p, enum tp_kind k)
{
	char m = tp_mode(k);
	enum tp_kind first = p == PEER_ICEORYX ? TP_IOX_COPY : TP_UP_COPY;

	return m == 'c' ? first : m == 's' ? first + 1 : first + 2;
}

struct tctl {
	int ready;     /* the reader created the buffer */
	int warm_done; /* the reader took every warm-up frame */
	int64_t t0, t1;
	uint64_t written; /* frames, warm-up included */
	uint64_t last;	  /* the last frame's sequence, stored before it is sent */
	uint64_t read;
	char err[256];
};

static bool is_zb(enum tp_kind k)
{
	return k == TP_ZB_COPY || k == TP_ZB_ACQ || k == TP_ZB_FILL;
}

static void wait_flag(int *flag, struct tctl *c, const char *what)
{
	/* Sleep rather than spin: the peer needs the other core. */
	if (!TU_UNTIL(__atomic_load_n(flag, __ATOMIC_ACQUIRE), 30000, 50))
		CHILD_FAIL(c, "timed out waiting for %s", what);
}

static void tp_writer(enum tp_kind kind, struct tctl *c, int fd, const char *name, size_t size,
		      uint64_t warm)
{
	uint8_t *buf = aligned_alloc(64, (size + 16 + 63) & ~(size_t)63);
	int64_t dur = (int64_t)(rep_s * 1e9), t0 = 0;
	/* Look at the clock about every 64 KiB: often enough, rarely enough. */
	uint64_t every = 65536 / (size + 16) + 1, countdown = every, seq;
	struct zb_writer *w = NULL;
	int err;

	if (!buf)
		CHILD_FAIL(c, "writer: out of memory");
	memset(buf, 0, size + 16);
	if (is_zb(kind)) {
		wait_flag(&c->ready, c, "the reader");
		err = zb_writer_open(&w, name);
		if (err < 0)
			CHILD_FAIL(c, "zb_writer_open: %s", zb_strerror(err));
		if (opt.spin_us >= 0)
			zb_writer_set_spin(w, (unsigned)opt.spin_us);
	}
	for (seq = 1;; seq++) {
		if (seq == warm + 1) {
			wait_flag(&c->warm_done, c, "the warm-up");
			t0 = tu_now_ns();
			c->t0 = t0;
		}
		/* Time is up: this frame is the last, and the reader is told so before
		 * it can see the frame, so it stops its clock when it takes it (and not
		 * when it notices the writer left, which may be a wait slice later). */
		if (seq > warm && --countdown == 0) {
			countdown = every;
			if (tu_now_ns() - t0 >= dur)
				__atomic_store_n(&c->last, seq, __ATOMIC_RELEASE);
		}
		switch (kind) {
		case TP_PIPE:
		case TP_SOCK: {
			uint64_t hdr[2] = { size, seq };

			memcpy(buf, hdr, 16);
			if (opt.verify)
				fill_frame(buf + 16, size, seq);
			else
				stamp_frame(buf + 16, size, seq);
			err = write_full(fd, buf, size + 16);
			if (err < 0)
				CHILD_FAIL(c, "writer: write: %s", strerror(-err));
			break;
		}
		case TP_ZB_COPY:
			if (opt.verify)
				fill_frame(buf, size, seq);
			else
				stamp_frame(buf, size, seq);
			err = zb_writer_write(w, buf, size, 10000);
			if (err < 0)
				CHILD_FAIL(c, "zb_writer_write: %s", zb_strerror(err));
			break;
		case TP_ZB_ACQ: {
			void *p;

			err = zb_writer_acquire(w, size, &p, 10000);
			if (err < 0)
				CHILD_FAIL(c, "zb_writer_acquire: %s", zb_strerror(err));
			/* The producer renders in place: here it writes only the stamps. */
			if (opt.verify)
				fill_frame(p, size, seq);
			else
				stamp_frame(p, size, seq);
			err = zb_writer_commit(w, size);
			if (err < 0)
				CHILD_FAIL(c, "zb_writer_commit: %s", zb_strerror(err));
			break;
		}
		case TP_ZB_FILL: {
			void *p;

			err = zb_writer_acquire(w, size, &p, 10000);
			if (err < 0)
				CHILD_FAIL(c, "zb_writer_acquire: %s", zb_strerror(err));
			/* The producer writes every byte of the frame in place. */
			if (opt.verify) {
				fill_frame(p, size, seq);
			} else {
				memset(p, (int)(seq & 0xff), size);
				stamp_frame(p, size, seq);
			}
			err = zb_writer_commit(w, size);
			if (err < 0)
				CHILD_FAIL(c, "zb_writer_commit: %s", zb_strerror(err));
			break;
		}
		default:
			break;
		}
		if (seq == c->last)
			break;
	}
	c->written = seq;
	if (w)
		zb_writer_close(w);
	else
		close(fd);
	free(buf);
	_exit(0);
}

static void tp_reader(enum tp_kind kind, struct tctl *c, int fd, const char *name, size_t size,
		      uint64_t warm)
{
	struct zb_buffer_config cfg = { .payload_size = opt.ring };
	struct zb_reader *r = NULL;
	struct fd_reader fr;
	uint64_t expect = 1;
	int err;

	if (is_zb(kind)) {
		err = owned_name ? zb_reader_open(&r, name) : zb_reader_create(&r, name, &cfg);
		if (err < 0)
			CHILD_FAIL(c, "zb_reader_%s: %s", owned_name ? "open" : "create",
				   zb_strerror(err));
		if (opt.spin_us >= 0)
			zb_reader_set_spin(r, (unsigned)opt.spin_us);
		__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	} else if (fdr_init(&fr, fd, size) < 0) {
		CHILD_FAIL(c, "reader: out of memory");
	}
	for (;; expect++) {
		struct zb_frame f;
		const uint8_t *data;
		uint64_t n, seq;

		if (r) {
			err = zb_reader_read(r, &f, 10000);
			if (err == ZB_EWRITER_GONE)
				break;
			if (err < 0)
				CHILD_FAIL(c, "zb_reader_read at %llu: %s",
					   (unsigned long long)expect, zb_strerror(err));
			data = f.data;
			n = f.size;
			seq = f.sequence;
		} else {
			err = fdr_next(&fr, &data, &n, &seq);
			if (err == 0)
				break;
			if (err < 0)
				CHILD_FAIL(c, "reader: read: %s", strerror(-err));
		}
		if (seq != expect || n != size)
			CHILD_FAIL(c, "frame %llu: got sequence %llu size %llu",
				   (unsigned long long)expect, (unsigned long long)seq,
				   (unsigned long long)n);
		if (opt.verify ? !check_frame(data, n, seq) : !check_stamp(data, n, seq))
			CHILD_FAIL(c, "frame %llu: content does not match",
				   (unsigned long long)seq);
		if (r && (err = zb_reader_release(r, &f)) < 0)
			CHILD_FAIL(c, "zb_reader_release: %s", zb_strerror(err));
		if (expect == warm)
			__atomic_store_n(&c->warm_done, 1, __ATOMIC_RELEASE);
		if (expect == __atomic_load_n(&c->last, __ATOMIC_ACQUIRE))
			c->t1 = tu_now_ns();
	}
	c->read = expect - 1;
	if (r)
		zb_reader_close(r);
	else
		fdr_free(&fr);
	_exit(0);
}

struct tp_result {
	double fps, gbs;
};

static bool tp_run(enum tp_kind kind, size_t size, struct tp_result *res)
{
	struct tctl *c = tu_shared(sizeof(*c));
	const char *name = owned_name ? owned_name : tu_unique_name("tp");
	uint64_t warm = opt.ring / (size + 16) + 2;
	int fds[2] = { -1, -1 }, sr, sw;
	pid_t rd, wr;
	bool ok = false;

	if (tp_peer(kind) >= 0) {
		ok = peer_tp(tp_peer(kind), size, rep_s, tp_mode(kind), &res->fps);
		res->gbs = res->fps * (double)size / 1e9;
		goto out;
	}
	if (!is_zb(kind) && warm > 1000)
		warm = 1000; /* no pages to fault in: a short warm-up is enough */
	if (kind == TP_PIPE && pipe(fds) < 0)
		goto out;
	if (kind == TP_SOCK && socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		goto out;
	rd = fork();
	if (rd == 0) {
		if (fds[1] >= 0)
			close(fds[1]);
		pin_slot(1);
		tp_reader(kind, c, fds[0], name, size, warm);
	}
	wr = fork();
	if (wr == 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		pin_slot(0);
		tp_writer(kind, c, fds[1], name, size, warm);
	}
	if (fds[0] >= 0) {
		close(fds[0]);
		close(fds[1]);
	}
	sw = tu_wait_exit(wr, (int)(rep_s * 1000) + 120000);
	sr = tu_wait_exit(rd, 60000);
	if (sw != 0 || sr != 0) {
		bench_fail("throughput %zu B %s: %s", size, tp_names[kind],
			   c->err[0] ? c->err : "a child died");
		goto out;
	}
	if (c->read != c->written || c->written <= warm) {
		bench_fail("throughput %zu B %s: wrote %llu frames, read %llu", size,
			   tp_names[kind], (unsigned long long)c->written,
			   (unsigned long long)c->read);
		goto out;
	}
	res->fps = (double)(c->written - warm) / ((double)(c->t1 - c->t0) / 1e9);
	res->gbs = res->fps * (double)size / 1e9;
	ok = true;
out:
	tu_shared_free(c, sizeof(*c));
	return ok;
}

/* The copy limit: the same frame copied to successive slots of a region as
 * large as the ring (so it is not cache-resident either), in one process. */
static void memcpy_run(size_t size, struct tp_result *res)
{
	size_t region = opt.ring, off = 0;
	uint8_t *dst =
		mmap(NULL, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *src = aligned_alloc(64, (size + 63) & ~(size_t)63);
	int64_t dur = (int64_t)(rep_s * 1e9), t0, t;
	uint64_t frames = 0, every = 65536 / (size + 16) + 1;

	if (dst == MAP_FAILED || !src) {
		bench_fail("memcpy: out of memory");
		res->fps = res->gbs = NAN;
		return;
	}
	memset(dst, 1, region);
	memset(src, 2, size);
	t0 = tu_now_ns();
	for (;;) {
		for (uint64_t i = 0; i < every; i++) {
			if (off + 16 + size > region)
				off = 0;
			stamp_frame(src, size, frames);
			memcpy(dst + off + 16, src, size);
			/* Keep the compiler from dropping stores nobody reads. */
			__asm__ __volatile__("" : : "r"(dst) : "memory");
			off += 16 + size;
			frames++;
		}
		t = tu_now_ns();
		if (t - t0 >= dur)
			break;
	}
	res->fps = (double)frames / ((double)(t - t0) / 1e9);
	res->gbs = res->fps * (double)size / 1e9;
	munmap(dst, region);
	free(src);
}

static const struct col tp_cols[] = {
	{ "mframes_per_s", "Mframes/s", 10, 3 }, { "gb_per_s", "GB/s", 8, 2 },
	{ "vs_memcpy", "x memcpy", 9, 2 },	 { "vs_pipe", "x pipe", 8, 2 },
	{ "vs_iceoryx", "x iceoryx", 9, 2 },	 { "vs_upstream", "x upstream", 10, 2 },
};

/* The frame sizes of scenario 1: the defaults, or --size alone. */
static const size_t tp_sizes[] = { 64, 1024, 65536, 1u << 20, FRAME_1080P };
static const char *const tp_labels[] = { "64 B", "1 KiB", "64 KiB", "1 MiB", "1080p 3110400 B" };

static const char *size_label(size_t size, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(tp_sizes) / sizeof(tp_sizes[0]); i++)
		if (tp_sizes[i] == size)
			return tp_labels[i];
	snprintf(buf, len, "%zu B", size);
	return buf;
}

/* Whether kind k runs: wanted, and its peer (if any) is there. */
static bool tp_runs(enum tp_kind k)
{
	return impl_wanted(tp_names[k]) && (tp_peer(k) < 0 || !peer_absent(tp_peer(k)));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n frame rates, as a result for frames of `size` bytes. */
static struct tp_result tp_median(double *fps, int n, size_t size)
{
	struct tp_result r;

	qsort(fps, (size_t)n, sizeof(*fps), cmp_double);
	r.fps = n % 2 ? fps[n / 2] : (fps[n / 2 - 1] + fps[n / 2]) / 2;
	r.gbs = r.fps * (double)size / 1e9;
	return r;
}

static void tp_size(size_t size, int reps)
{
	struct tp_result mc, base[TP_N], one;
	double runs[TP_N + 1][TP_REPS];
	bool failed[TP_N] = { false };
	char buf[32];
	const char *label = size_label(size, buf, sizeof(buf));
	double v[6];

	if (2 * (size + 16) > opt.ring || size < 16) {
		out_skip(label, "every implementation", "frames of 16 B up to half the ring only");
		return;
	}
	for (int r = 0; r < reps; r++) {
		memcpy_run(size, &one);
		runs[TP_N][r] = one.fps;
		for (int k = 0; k < TP_N; k++) {
			if (!tp_runs(k) || failed[k])
				continue;
			if (!tp_run(k, size, &one))
				failed[k] = true;
			runs[k][r] = one.fps;
		}
	}
	mc = tp_median(runs[TP_N], reps, size);
	for (int k = 0; k < TP_N; k++)
		base[k] = tp_runs(k) && !failed[k] ? tp_median(runs[k], reps, size)
						   : (struct tp_result){ NAN, NAN };
	v[0] = mc.fps / 1e6;
	v[1] = mc.gbs;
	v[2] = v[3] = v[4] = v[5] = NAN;
	out_row(label, "memcpy (1 process)", v);
	for (int k = 0; k < TP_N; k++) {
		int peer = tp_peer(k);

		if (!impl_wanted(tp_names[k]))
			continue;
		if (peer >= 0 && peer_absent(peer)) {
			if (k == (int)tp_same_mode(peer, TP_ZB_COPY))
				out_skip(label, peer_name(peer), peer_absent(peer));
			continue;
		}
		if (failed[k]) {
			out_skip(label, tp_names[k], "failed (see stderr)");
			continue;
		}
		v[0] = base[k].fps / 1e6;
		v[1] = base[k].gbs;
		v[2] = base[k].gbs / mc.gbs;
		v[3] = k == TP_PIPE ? NAN : base[k].fps / base[TP_PIPE].fps;
		v[4] = k <= TP_SOCK || peer == PEER_ICEORYX
			       ? NAN
			       : base[k].fps / base[tp_same_mode(PEER_ICEORYX, k)].fps;
		v[5] = k <= TP_SOCK || peer >= 0
			       ? NAN
			       : base[k].fps / base[tp_same_mode(PEER_UPSTREAM, k)].fps;
		out_row(label, tp_names[k], v);
	}
}

void scenario_throughput(void)
{
	int reps = opt.smoke ? 1 : TP_REPS;
	char title[160];

	rep_s = opt.duration_s / reps;
	snprintf(title, sizeof(title),
		 "1. One-way throughput (median of %d x %.2g s, %llu MiB ring, reader checks %s)",
		 reps, rep_s, (unsigned long long)(opt.ring >> 20),
		 opt.verify ? "every byte" : "sequence and first/last 8 bytes");
	out_section("throughput", title, tp_cols, 6);
	if (opt.size)
		tp_size(opt.size, reps);
	else
		for (size_t i = 0; i < sizeof(tp_sizes) / sizeof(tp_sizes[0]); i++)
			tp_size(tp_sizes[i], reps);
	out_note("memcpy: one process copies the frame to successive slots of a region the "
		 "size of the ring (the copy limit).");
	out_note("pipe/socketpair: a 16-byte {length, sequence} header and the data, one "
		 "write() per frame, read with a 256 KiB+ buffer.");
	out_note(
		"copy: the frame is copied in; fill: the producer writes every byte in place; "
		"acquire/commit, loan/publish, get/commit: only the 16 stamp bytes (a hand-over).");
	out_note("x iceoryx, x upstream: frames/s against the peer's row that makes frames the "
		 "same way (copy, fill or stamps).");
}

bool tp_run_zbd_owned(size_t size, int64_t (*cpu_ns)(pid_t), struct tp_owned *ret)
{
	char line[256], reply[4096];
	struct tp_result res;
	int64_t cpu0, t0;
	bool ok;
	int st;

	owned_name = tu_unique_name("own");
	snprintf(line, sizeof(line), "create %s payload=%llu", owned_name,
		 (unsigned long long)opt.ring);
	st = zbd_request(line, reply, sizeof(reply));
	if (st != 0) {
		bench_fail("broker cost: create: status %d", st);
		owned_name = NULL;
		return false;
	}
	rep_s = opt.duration_s;
	cpu0 = cpu_ns(zbd_pid());
	t0 = tu_now_ns();
	ok = tp_run(TP_ZB_COPY, size, &res);
	ret->wall_s = (double)(tu_now_ns() - t0) / 1e9;
	ret->broker_cpu_ns = (double)(cpu_ns(zbd_pid()) - cpu0);
	ret->fps = res.fps;
	ret->gbs = res.gbs;
	snprintf(line, sizeof(line), "destroy %s force", owned_name);
	zbd_request(line, reply, sizeof(reply));
	owned_name = NULL;
	return ok && cpu0 >= 0;
}
