/* SPDX-License-Identifier: MIT */
/*
 * Scenario 4, dead-peer detection: SIGKILL one side and time how long the
 * other takes to say so. The killer reaps the victim at once (a zombie still
 * answers kill(pid, 0)), so the figure is the library's own detection delay.
 * Each kill lands at a random point of the survivor's 100 ms wait slice.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "zbclient.h"

#define MAX_KILLS 1000

struct dctl {
	unsigned frames; /* frames the long-lived reader took */
	unsigned gones;	 /* ZB_EWRITER_GONE it saw */
	int stop;
	int ready;
	int blocked;	/* the writer is about to block on a full ring */
	int64_t gone_t; /* when the survivor returned "gone" */
	int gone_code;
	char err[256];
};

static bool wait_until(const unsigned *v, unsigned want, int timeout_ms)
{
	return TU_UNTIL(__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want, timeout_ms, 200);
}

static void kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	tu_wait(pid, -1);
}

/* A long-lived reader that counts frames and "writer gone" returns. */
static void reader_loop(struct dctl *c, const char *name, bool owned)
{
	struct zb_buffer_config cfg = { .payload_size = 1u << 20 };
	struct zb_reader *r;
	int err = owned ? zb_reader_open(&r, name) : zb_reader_create(&r, name, &cfg);

	if (err < 0)
		CHILD_FAIL(c, "zb_reader_%s: %s", owned ? "open" : "create", zb_strerror(err));
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		struct zb_frame f;

		err = zb_reader_read(r, &f, 500);
		if (err == 0) {
			zb_reader_release(r, &f);
			__atomic_fetch_add(&c->frames, 1, __ATOMIC_RELEASE);
		} else if (err == ZB_EWRITER_GONE) {
			c->gone_t = tu_now_ns();
			__atomic_fetch_add(&c->gones, 1, __ATOMIC_RELEASE);
		} else if (err != -ETIMEDOUT) {
			CHILD_FAIL(c, "zb_reader_read: %s", zb_strerror(err));
		}
	}
	zb_reader_close(r);
	_exit(0);
}

/* With zbd (`owned`), zbd creates the buffer and the reader only attaches. */
static bool zbd_buffer(bool owned, const char *verb, const char *name, const char *size)
{
	char line[256], reply[4096];
	int st;

	if (!owned)
		return true;
	snprintf(line, sizeof(line), "%s %s %s", verb, name, size);
	st = zbd_request(line, reply, sizeof(reply));
	if (st != 0 && strcmp(verb, "create") == 0) {
		bench_fail("dead peer: zbd %s %s: status %d", verb, name, st);
		return false;
	}
	return true;
}

/* SIGKILL the writer: time until the reader's ZB_EWRITER_GONE. */
static unsigned kill_writers(uint64_t *ns, unsigned n, bool owned)
{
	struct dctl *c = tu_shared(sizeof(*c));
	const char *name = tu_unique_name("dw");
	unsigned done = 0;
	pid_t rd;

	if (!zbd_buffer(owned, "create", name, "payload=1M"))
		return 0;
	rd = fork();
	if (rd == 0)
		reader_loop(c, name, owned);
	if (!wait_until((unsigned *)&c->ready, 1, 10000))
		goto out;
	for (unsigned k = 0; k < n; k++) {
		int64_t t0;
		pid_t wr = fork();

		if (wr == 0) {
			struct zb_writer *w;
			uint64_t v = 1;
			int err = zb_writer_open(&w, name);

			if (err < 0)
				CHILD_FAIL(c, "zb_writer_open: %s", zb_strerror(err));
			err = zb_writer_write(w, &v, sizeof(v), 5000);
			if (err < 0)
				CHILD_FAIL(c, "zb_writer_write: %s", zb_strerror(err));
			for (;;)
				pause();
		}
		if (!wait_until(&c->frames, k + 1, 10000)) {
			bench_fail("dead peer: writer %u never delivered: %s", k, c->err);
			kill_reap(wr);
			break;
		}
		/* Land the kill anywhere in the reader's wait slice. */
		tu_sleep_us(1000 + (unsigned)(rand() % 100000));
		t0 = tu_now_ns();
		kill_reap(wr);
		if (!wait_until(&c->gones, k + 1, 10000)) {
			bench_fail("dead peer: reader never saw writer %u go", k);
			break;
		}
		ns[done++] = (uint64_t)(c->gone_t - t0);
	}
out:
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	if (tu_wait_exit(rd, 5000) != 0)
		bench_fail("dead peer: reader failed: %s", c->err[0] ? c->err : "died");
	zbd_buffer(owned, "destroy", name, "force");
	tu_shared_free(c, sizeof(*c));
	return done;
}

/* SIGKILL the reader: time until the writer, blocked on a full ring, gets
 * ZB_EREADER_GONE. A fresh buffer each time: the killed reader owned it. */
static unsigned kill_readers(uint64_t *ns, unsigned n, bool owned)
{
	struct dctl *c = tu_shared(sizeof(*c));
	unsigned done = 0;

	for (unsigned k = 0; k < n; k++) {
		const char *name = tu_unique_name("dr");
		pid_t rd, wr;
		int64_t t0;

		memset(c, 0, sizeof(*c));
		if (!zbd_buffer(owned, "create", name, "payload=64K"))
			break;
		rd = fork();
		if (rd == 0) {
			struct zb_buffer_config cfg = { .payload_size = 64 * 1024 };
			struct zb_reader *r;
			int err =
				owned ? zb_reader_open(&r, name) : zb_reader_create(&r, name, &cfg);

			if (err < 0)
				CHILD_FAIL(c, "zb_reader_%s: %s", owned ? "open" : "create",
					   zb_strerror(err));
			__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
			for (;;)
				pause();
		}
		if (!wait_until((unsigned *)&c->ready, 1, 10000)) {
			kill_reap(rd);
			bench_fail("dead peer: reader %u did not start: %s", k, c->err);
			break;
		}
		wr = fork();
		if (wr == 0) {
			static uint8_t frame[1024];
			struct zb_writer *w;
			int err = zb_writer_open(&w, name);

			if (err < 0)
				CHILD_FAIL(c, "zb_writer_open: %s", zb_strerror(err));
			while ((err = zb_writer_write(w, frame, sizeof(frame), 0)) == 0)
				;
			if (err != -ENOBUFS)
				CHILD_FAIL(c, "filling the ring: %s", zb_strerror(err));
			__atomic_store_n(&c->blocked, 1, __ATOMIC_RELEASE);
			err = zb_writer_write(w, frame, sizeof(frame), 30000);
			c->gone_t = tu_now_ns();
			c->gone_code = err;
			_exit(0);
		}
		if (!wait_until((unsigned *)&c->blocked, 1, 10000)) {
			kill_reap(rd);
			kill_reap(wr);
			bench_fail("dead peer: writer %u did not block: %s", k, c->err);
			break;
		}
		tu_sleep_us(1000 + (unsigned)(rand() % 100000));
		t0 = tu_now_ns();
		kill_reap(rd);
		if (tu_wait_exit(wr, 10000) != 0 || c->gone_code != ZB_EREADER_GONE) {
			bench_fail("dead peer: writer %u got %s, not reader gone", k,
				   c->err[0] ? c->err : zb_strerror(c->gone_code));
			break;
		}
		ns[done++] = (uint64_t)(c->gone_t - t0);
		zbd_buffer(owned, "destroy", name, "force");
	}
	tu_shared_free(c, sizeof(*c));
	return done;
}

static const struct col dp_cols[] = {
	{ "kills", "kills", 6, 0 },
	{ "p50_ms", "p50 ms", 8, 1 },
	{ "max_ms", "max ms", 8, 1 },
};

static void dp_row(const char *label, const char *impl, uint64_t *ns, unsigned n)
{
	struct pctl p;

	pctl_compute(ns, n, &p);
	out_row(label, impl, (double[]){ n, p.p50 / 1000, p.max / 1000 });
}

void scenario_deadpeer(void)
{
	uint64_t *ns = calloc(opt.kills, sizeof(*ns));

	if (!ns)
		return;
	srand((unsigned)tu_now_ns());
	out_section("dead_peer",
		    "4. Dead-peer detection (SIGKILL, then time until the survivor "
		    "returns \"gone\")",
		    dp_cols, 3);
	dp_row("writer killed", "no zbd (lib slices)", ns, kill_writers(ns, opt.kills, false));
	dp_row("reader killed", "no zbd (lib slices)", ns, kill_readers(ns, opt.kills, false));
	if (!opt.zbd[0]) {
		out_skip("writer killed", "with zbd", "zbd not built");
		out_skip("reader killed", "with zbd", "zbd not built");
	} else if (!zbd_start()) {
		out_skip("writer killed", "with zbd", "zbd did not start");
		out_skip("reader killed", "with zbd", "zbd did not start");
	} else {
		dp_row("writer killed", "with zbd", ns, kill_writers(ns, opt.kills, true));
		dp_row("reader killed", "with zbd", ns, kill_readers(ns, opt.kills, true));
		zbd_stop();
	}
	out_note("without zbd a survivor notices at its next 100 ms wait slice; zbd watches "
		 "pidfds and wakes it. The protocol's own limit is the 5 s timeout.");
	free(ns);
}
