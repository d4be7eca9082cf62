/* SPDX-License-Identifier: MIT */
/*
 * zbbench: what every scenario shares. Each scenario forks real reader and
 * writer processes and reports its figures next to baselines measured in the
 * same run, so a noisy machine moves both sides of every ratio together.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"

struct bench_opts {
	bool smoke; /* seconds-long run that only proves everything works */
	bool json;
	bool verify;	   /* readers check every byte, not just the stamps */
	double duration_s; /* timed part of each throughput case */
	uint64_t ring;	   /* payload ring of the throughput buffers */
	unsigned rt_small; /* round trips for 64 B and 4 KiB frames */
	unsigned rt_large; /* round trips for the 1080p frame */
	unsigned kills;	   /* dead-peer kills per case */
	const char *only;  /* comma-separated scenario numbers, or NULL for all */
	uint64_t size;	   /* run only this frame size in scenarios 1 and 2, or 0 */
	const char *impl;  /* run only implementations whose name contains this */
	int spin_us;	   /* zb spin in scenario 1, or -1 for the library default */
	bool pin;	   /* the two processes of a pair each get their own CPU */
	char zbd[4096];	   /* zbd executable, or "" when none was found */
};

extern struct bench_opts opt;

/* Sizes the issue names: 64 B ... one 1080p YUV420 frame. */
#define FRAME_1080P 3110400u

/* The clock, shared memory, reaping children within a timeout, unique buffer
 * names and their cleanup, waiting for a flag: the tests' own helpers
 * (tests/common/util.h), Check-free. */

/* The directory of the zbbench executable (its peers' programs are there). */
bool bench_dir(char *buf, size_t size);

/* Record a failure (the run then exits 1) and print it on stderr. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int bench_failures(void);

/* In a forked peer: leave the reason in the shared control block `c` (its
 * `err` array) for the parent to report, and exit 1. */
#define CHILD_FAIL(c, ...)                                                                         \
	do {                                                                                       \
		snprintf((c)->err, sizeof((c)->err), __VA_ARGS__);                                 \
		_exit(1);                                                                          \
	} while (0)
/* With --pin, bind the calling process to the slot-th CPU it may use (0 or
 * 1): the two sides of a pair then never share a CPU. No-op without --pin. */
void pin_slot(int slot);
/* CPU time (user + system) of this process so far, in ns. */
int64_t cpu_self_ns(void);

/* ------------------------------------------------------------------ output */

struct col {
	const char *key;  /* JSON key */
	const char *head; /* table heading */
	int width;
	int prec; /* digits after the point; a value < 0 prints as "-" */
};

void out_begin(void);
void out_section(const char *id, const char *title, const struct col *cols, int ncols);
/* One row of the current section; NaN values print as "-" (null in JSON). */
void out_row(const char *label, const char *impl, const double *vals);
void out_skip(const char *label, const char *impl, const char *why);
void out_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_end(void);

/* ------------------------------------------------------- frame content checks */

/* Every frame carries its sequence number in its first and last 8 bytes, so a
 * reader catches lost, repeated and torn frames while touching two cache lines. */
static inline void stamp_frame(uint8_t *p, size_t n, uint64_t seq)
{
	uint64_t tail = ~seq;

	memcpy(p, &seq, 8);
	memcpy(p + n - 8, &tail, 8);
}

static inline bool check_stamp(const uint8_t *p, size_t n, uint64_t seq)
{
	uint64_t a, b;

	memcpy(&a, p, 8);
	memcpy(&b, p + n - 8, 8);
	return a == seq && b == ~seq;
}

/* --verify: the bytes between the stamps are the tests' frame pattern
 * (pattern.h) of the sequence, ready (made once, before any fork) after
 * verify_init(). */
void verify_init(void);
void fill_frame(uint8_t *p, size_t n, uint64_t seq);
bool check_frame(const uint8_t *p, size_t n, uint64_t seq);

/* ------------------------------------------- framing over pipes and sockets */

/* The baselines send what a careful user would: a 16-byte header
 * {length, sequence} and the data, with one write per frame, and read with a
 * large buffer so that several small frames arrive in one read(). */
struct fd_reader {
	int fd;
	uint8_t *buf;
	size_t cap, head, tail;
};

int write_full(int fd, const void *p, size_t n);
int fdr_init(struct fd_reader *fr, int fd, size_t max_frame);
void fdr_free(struct fd_reader *fr);
/* 1 and the frame (valid until the next call), 0 at end of stream, < 0 error. */
int fdr_next(struct fd_reader *fr, const uint8_t **data, uint64_t *size, uint64_t *seq);

/* ---------------------------------------------------------------- scenarios */

bool scenario_wanted(int n);
/* --impl: whether rows of this implementation run (baselines always do when
 * a ratio needs them, unless --impl names them out too). */
bool impl_wanted(const char *name);
void scenario_throughput(void);
void scenario_latency(void);
void scenario_deadpeer(void);
void scenario_zbd(void);

/* zbd (zbd.c): a private instance for scenarios 4, 5 and 6. */
bool zbd_start(void);
void zbd_stop(void);
pid_t zbd_pid(void);
/* Send a request line; the reply lands in buf. Returns its status= value. */
int zbd_request(const char *line, char *buf, size_t size);

/* Scenario 1's zb write (copy) through a buffer zbd creates, timing the
 * broker's CPU (cpu_ns(zbd's pid)) over the whole run. */
struct tp_owned {
	double fps, gbs, wall_s, broker_cpu_ns;
};
bool tp_run_zbd_owned(size_t size, int64_t (*cpu_ns)(pid_t), struct tp_owned *ret);

/* The external peers (peers.c, peer.h): other libraries' programs, run for
 * the same cases. peers_start() finds them and starts iceoryx's RouDi with
 * mempools for `sizes`; peer_absent() says why one cannot run, or NULL. */
enum peer_id { PEER_ICEORYX, PEER_UPSTREAM, PEER_N };
void peers_start(const size_t *sizes, int n);
void peers_stop(void);
const char *peer_absent(enum peer_id p);
const char *peer_name(enum peer_id p);
/* One throughput run (mode 'c' copy, 'f' fill every byte, 's' stamps only). */
bool peer_tp(enum peer_id p, size_t size, double seconds, char mode, double *ret_fps);
/* n round trips into ns[], busy-polling or blocking; CPU of both sides and wall time. */
bool peer_rt(enum peer_id p, size_t size, unsigned n, bool busy, uint64_t *ns, int64_t *ret_cpu,
	     int64_t *ret_wall);

/* Percentiles of n samples (sorted in place), in microseconds. */
struct pctl {
	double p50, p99, p999, max;
};
void pctl_compute(uint64_t *ns, size_t n, struct pctl *ret);
