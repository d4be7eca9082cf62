/* SPDX-License-Identifier: MIT */
/*
 * zbpy-peer: a C peer for the Python binding's tests and benchmark, on the
 * public libzbclient API only (as a foreign C application would use it).
 *
 *   zbpy-peer write NAME COUNT MIN [MAX] [options]
 *   zbpy-peer read  NAME COUNT [options]
 *
 * write: attach to an existing buffer and write COUNT frames; frame s (sequences from 1) has
 * size(s) = MIN + s * 2654435761 mod (MAX - MIN + 1) bytes, byte i being
 * (s * 7 + i) mod 256. read: attach (--create: create and own the buffer)
 * and read COUNT frames, checking each against that pattern with --verify.
 *
 * Options: --create PAYLOAD (read: create the buffer with that payload size),
 * --zc (write with acquire/commit), --fast (write: only each frame's first
 * byte follows the pattern, for the benchmark), --metadata TEXT, --stay (write: stay
 * attached until killed once done), --timeout MS (per frame, default 30000),
 * --hold N (read: hold up to N frames, released oldest last).
 *
 * Prints "ready" once attached, then "frames=N bytes=B seconds=S" once done,
 * timed from the first frame to the last; exits 0, 1 on a library error
 * (its code on stderr), 3 on a pattern mismatch, 2 for misuse.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <zbclient.h>

struct opts {
	const char *name;
	uint64_t count;
	size_t min, max;
	uint64_t create_payload;
	bool zc, stay, verify, fast;
	const char *metadata;
	int timeout_ms;
	unsigned hold;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t frame_size(const struct opts *o, uint64_t seq)
{
	if (o->max <= o->min)
		return o->min;
	return o->min + (size_t)((seq * 2654435761u) % (o->max - o->min + 1));
}

static void fill(uint8_t *p, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 7 + i);
}

static bool check(const uint8_t *p, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seq * 7 + i))
			return false;
	return true;
}

static int __attribute__((noreturn)) fail(const char *what, int err)
{
	fprintf(stderr, "zbpy-peer: %s: %s (%d)\n", what, zb_strerror(err), err);
	exit(1);
}

static void report(uint64_t frames, uint64_t bytes, double t0)
{
	printf("frames=%llu bytes=%llu seconds=%.6f\n", (unsigned long long)frames,
	       (unsigned long long)bytes, t0 > 0 ? now_s() - t0 : 0.0);
	fflush(stdout);
}

static int do_write(const struct opts *o)
{
	struct zb_writer *w;
	uint64_t bytes = 0;
	uint8_t *buf;
	double t0 = 0;
	int err = zb_writer_open(&w, o->name);

	if (err < 0)
		fail("open", err);
	buf = malloc(o->max > o->min ? o->max : o->min);
	if (!buf)
		fail("malloc", -ENOMEM);
	if (o->metadata) {
		err = zb_writer_set_metadata(w, o->metadata, strlen(o->metadata));
		if (err < 0)
			fail("set_metadata", err);
	}
	puts("ready");
	fflush(stdout);
	for (uint64_t seq = 1; seq <= o->count; seq++) {
		size_t n = frame_size(o, seq);

		if (seq == 1)
			t0 = now_s();
		if (o->zc) {
			void *dst;

			err = zb_writer_acquire(w, n, &dst, o->timeout_ms);
			if (err == 0) {
				fill(dst, n, seq);
				err = zb_writer_commit(w, n);
			}
		} else {
			/* --fast: the pattern once, then only the first byte, so
			 * that the benchmark times the copy, not the filling. */
			if (seq == 1 || !o->fast)
				fill(buf, n, seq);
			else
				buf[0] = (uint8_t)(seq * 7);
			err = zb_writer_write(w, buf, n, o->timeout_ms);
		}
		if (err < 0)
			fail("write", err);
		bytes += n;
	}
	report(o->count, bytes, t0);
	free(buf);
	if (o->stay)
		for (;;)
			pause();
	zb_writer_close(w);
	return 0;
}

static int do_read(const struct opts *o)
{
	struct zb_frame *held = calloc(o->hold ? o->hold : 1, sizeof(*held));
	struct zb_reader *r;
	uint64_t bytes = 0;
	unsigned n_held = 0;
	double t0 = 0;
	int err;

	if (!held)
		fail("calloc", -ENOMEM);
	if (o->create_payload) {
		struct zb_buffer_config cfg = { .payload_size = o->create_payload };

		err = zb_reader_create(&r, o->name, &cfg);
	} else {
		err = zb_reader_open(&r, o->name);
	}
	if (err < 0)
		fail("open", err);
	puts("ready");
	fflush(stdout);
	for (uint64_t i = 0; i < o->count; i++) {
		struct zb_frame f;

		err = zb_reader_read(r, &f, o->timeout_ms);
		if (err < 0)
			fail("read", err);
		if (i == 0)
			t0 = now_s();
		if (o->verify && (f.size != frame_size(o, f.sequence) ||
				  !check(f.data, f.size, f.sequence))) {
			fprintf(stderr, "zbpy-peer: frame %llu (size %zu) does not match\n",
				(unsigned long long)f.sequence, f.size);
			return 3;
		}
		bytes += f.size;
		if (o->hold) {
			held[n_held++] = f;
			if (n_held == o->hold) {
				/* Newest first: out of read order. */
				while (n_held)
					zb_reader_release(r, &held[--n_held]);
			}
		} else {
			zb_reader_release(r, &f);
		}
	}
	while (n_held)
		zb_reader_release(r, &held[--n_held]);
	report(o->count, bytes, t0);
	free(held);
	zb_reader_close(r);
	return 0;
}

static int __attribute__((noreturn)) usage(void)
{
	fputs("usage: zbpy-peer write NAME COUNT MIN [MAX] [--zc] [--fast] [--metadata TEXT] [--stay]\n"
	      "       zbpy-peer read NAME COUNT [MIN [MAX]] [--verify] [--create PAYLOAD] [--hold N]\n"
	      "       common: [--timeout MS]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .timeout_ms = 30000, .min = 1, .max = 1 };
	int pos = 0;
	bool writing;

	/* A test that dies must not leave its peer behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc < 4)
		usage();
	writing = strcmp(argv[1], "write") == 0;
	if (!writing && strcmp(argv[1], "read") != 0)
		usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--zc") == 0) {
			o.zc = true;
		} else if (strcmp(a, "--stay") == 0) {
			o.stay = true;
		} else if (strcmp(a, "--fast") == 0) {
			o.fast = true;
		} else if (strcmp(a, "--verify") == 0) {
			o.verify = true;
		} else if (strcmp(a, "--metadata") == 0 && next) {
			o.metadata = next;
			i++;
		} else if (strcmp(a, "--create") == 0 && next) {
			o.create_payload = strtoull(next, NULL, 0);
			i++;
		} else if (strcmp(a, "--timeout") == 0 && next) {
			o.timeout_ms = atoi(next);
			i++;
		} else if (strcmp(a, "--hold") == 0 && next) {
			o.hold = (unsigned)atoi(next);
			i++;
		} else if (a[0] == '-') {
			usage();
		} else if (pos == 0) {
			o.name = a;
			pos++;
		} else if (pos == 1) {
			o.count = strtoull(a, NULL, 0);
			pos++;
		} else if (pos == 2) {
			o.min = o.max = strtoull(a, NULL, 0);
			pos++;
		} else if (pos == 3) {
			o.max = strtoull(a, NULL, 0);
			pos++;
		} else {
			usage();
		}
	}
	if (pos < 2 || (writing && pos < 3) || o.min == 0 || o.max < o.min)
		usage();
	return writing ? do_write(&o) : do_read(&o);
}
