/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"
#include "rel.h"
#include "testutil.h"
#include "zbclient.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

void rel_seed(uint64_t seed)
{
	rng = seed;
}

uint64_t rel_rand(void)
{
	return splitmix64(&rng);
}

/* Header, one pattern byte at least, checksum. */
#define FRAME_MIN 25

/* Sizes and bytes of every session's frames: one pattern, at a sequence
 * number made of both. Made before the first fork, inherited by the peers. */
static const struct pattern *frames(void)
{
	static struct pattern p;

	if (!p.table)
		pattern_init(&p, 0x5e55, FRAME_MIN, REL_FRAME_MAX);
	return &p;
}

static uint64_t frame_seq(uint64_t session, uint64_t seq)
{
	return session << 40 ^ seq;
}

size_t rel_frame_size(uint64_t session, uint64_t seq)
{
	return pattern_size(frames(), frame_seq(session, seq));
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

void rel_frame_fill(void *buf, uint64_t session, uint64_t seq)
{
	uint8_t *p = buf;
	size_t n = rel_frame_size(session, seq);
	uint64_t sum;

	memcpy(p, &session, 8);
	memcpy(p + 8, &seq, 8);
	memcpy(p + 16, pattern_data(frames(), frame_seq(session, seq), n - 24), n - 24);
	sum = checksum(p, n - 8);
	memcpy(p + n - 8, &sum, 8);
}

int rel_frame_check(const void *data, size_t size, uint64_t seq, uint64_t *ret_session, char *why,
		    size_t why_size)
{
	uint8_t expect[REL_FRAME_MAX];
	uint64_t session, embedded;

	if (size < FRAME_MIN || size > REL_FRAME_MAX) {
		snprintf(why, why_size, "seq %llu: size %zu out of range", (unsigned long long)seq,
			 size);
		return -1;
	}
	memcpy(&session, data, 8);
	memcpy(&embedded, (const uint8_t *)data + 8, 8);
	if (embedded != seq || session == 0 || session >= REL_SESSIONS ||
	    size != rel_frame_size(session, seq)) {
		snprintf(why, why_size, "seq %llu: carries session %llu seq %llu, size %zu",
			 (unsigned long long)seq, (unsigned long long)session,
			 (unsigned long long)embedded, size);
		return -1;
	}
	rel_frame_fill(expect, session, seq);
	if (memcmp(expect, data, size) != 0) {
		snprintf(why, why_size, "session %llu seq %llu: content or checksum differs",
			 (unsigned long long)session, (unsigned long long)seq);
		return -1;
	}
	*ret_session = session;
	return 0;
}

void rel_ledger_sum(const struct rel_ledger *l, struct rel_sum *ret)
{
	struct rel_sum s = { .redelivered = l->redelivered, .corrupt = l->corrupt };

	for (size_t i = 1; i < REL_SESSIONS; i++) {
		uint64_t total = l->written[i] > l->hi[i] ? l->written[i] : l->hi[i];
		uint64_t delivered = l->hi[i] - l->gaps[i];

		s.total += total;
		s.delivered += delivered;
		s.lost += total - delivered;
	}
	*ret = s;
}

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* SIGTERM asks a peer to finish cleanly (close its handle, exit 0). */
static void catch_term(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	sigaction(SIGTERM, &sa, NULL);
}

static int write_one(struct zb_writer *w, const struct rel_peer *a, uint64_t seq)
{
	uint8_t buf[REL_FRAME_MAX];
	size_t n = rel_frame_size(a->session, seq);
	void *dst;
	int r;

	if (!a->zc) {
		rel_frame_fill(buf, a->session, seq);
		return zb_writer_write(w, buf, n, a->timeout_ms);
	}
	r = zb_writer_acquire(w, n, &dst, a->timeout_ms);
	if (r < 0)
		return r;
	/* In two halves with a yield between: a kill lands mid-frame more often. */
	rel_frame_fill(buf, a->session, seq);
	memcpy(dst, buf, n / 2);
	sched_yield();
	memcpy((uint8_t *)dst + n / 2, buf + n / 2, n - n / 2);
	return zb_writer_commit(w, n);
}

int rel_writer(void *arg)
{
	struct rel_peer *a = arg;
	struct zb_writer *w;
	uint64_t seq = 1;
	int r;

	catch_term();
	r = zb_writer_open(&w, a->name);
	if (r < 0) {
		fprintf(stderr, "writer %s: open: %s\n", a->name, zb_strerror(r));
		return REL_EXIT_OPEN;
	}
	tu_say(a->ready_fd, 1);
	while (!stop_requested && (a->count == 0 || seq <= a->count)) {
		r = write_one(w, a, seq);
		if (r == 0) {
			__atomic_store_n(&a->ledger->written[a->session], seq, __ATOMIC_RELEASE);
			seq++;
			continue;
		}
		/* A reader being replaced: the frame was not written; try it again. */
		if (a->persist && (r == ZB_EREADER_GONE || r == -ENOBUFS))
			continue;
		fprintf(stderr, "writer %s: seq %llu: %s\n", a->name, (unsigned long long)seq,
			zb_strerror(r));
		zb_writer_close(w);
		return r == ZB_EREADER_GONE ? REL_EXIT_READER_GONE
		       : r == ZB_EDESTROYED ? REL_EXIT_DESTROYED
		       : r == -ENOBUFS	    ? REL_EXIT_TIMEOUT
					    : REL_EXIT_ERROR;
	}
	zb_writer_close(w);
	return REL_OK;
}

/* Record one checked frame in the ledger; false if it breaks the order. */
static bool deliver(struct rel_ledger *l, uint64_t s, uint64_t seq, uint64_t *prev_s,
		    uint64_t *prev_seq)
{
	uint64_t hi = l->hi[s];

	/* Sessions follow each other in the ring; within one reader, a session's
	 * frames are consecutive. */
	if (s < l->cur_session || (s == *prev_s && seq != *prev_seq + 1)) {
		snprintf(l->why, sizeof(l->why),
			 "session %llu seq %llu after session %llu seq %llu (ledger at %llu)",
			 (unsigned long long)s, (unsigned long long)seq,
			 (unsigned long long)*prev_s, (unsigned long long)*prev_seq,
			 (unsigned long long)l->cur_session);
		return false;
	}
	if (seq > hi + 1)
		l->gaps[s] += seq - hi - 1;
	if (seq <= hi)
		l->redelivered++;
	else
		__atomic_store_n(&l->hi[s], seq, __ATOMIC_RELEASE);
	l->cur_session = s;
	*prev_s = s;
	*prev_seq = seq;
	return true;
}

/* Reads wait in slices, so that `stopping` is seen soon after it is set. */
#define READ_SLICE_MS 100

int rel_reader(void *arg)
{
	struct rel_peer *a = arg;
	struct rel_ledger *l = a->ledger;
	struct zb_frame held[16];
	unsigned n_held = 0;
	uint64_t prev_s = 0, prev_seq = 0;
	double deadline = tu_now_ms() + a->timeout_ms; /* until_gone: a frame by then */
	struct zb_reader *r;
	bool final = false;
	int err, ret = REL_OK;

	catch_term();
	err = zb_reader_open(&r, a->name);
	if (err < 0) {
		fprintf(stderr, "reader %s: open: %s\n", a->name, zb_strerror(err));
		return REL_EXIT_OPEN;
	}
	tu_say(a->ready_fd, 1);
	for (;;) {
		struct zb_frame f;
		uint64_t s;
		bool stopping;

		err = zb_reader_read(r, &f, final ? 0 : READ_SLICE_MS);
		stopping = __atomic_load_n(&l->stopping, __ATOMIC_ACQUIRE) || stop_requested;
		if (err == ZB_EWRITER_GONE || err == -ETIMEDOUT) {
			if (a->until_gone && err == ZB_EWRITER_GONE)
				break;
			if (final)
				break; /* drained, and no writer will come */
			/* A read that timed out may have raced the writer's last
			 * frame: with the writer gone, one more look takes it. */
			if (stopping && !zb_reader_writer_connected(r))
				final = true;
			else if (a->until_gone && !stopping && tu_now_ms() > deadline) {
				fprintf(stderr, "reader %s: timed out\n", a->name);
				ret = REL_EXIT_TIMEOUT;
				break;
			}
			continue;
		}
		if (err == ZB_EDESTROYED) {
			ret = REL_EXIT_DESTROYED;
			break;
		}
		if (err < 0) {
			snprintf(l->why, sizeof(l->why), "read: %s", zb_strerror(err));
			if (err == ZB_ECORRUPT)
				l->corrupt++;
			ret = err == ZB_ECORRUPT ? REL_EXIT_CORRUPT : REL_EXIT_ERROR;
			break;
		}
		if (rel_frame_check(f.data, f.size, f.sequence, &s, l->why, sizeof(l->why)) < 0 ||
		    !deliver(l, s, f.sequence, &prev_s, &prev_seq)) {
			l->corrupt++;
			ret = REL_EXIT_CORRUPT;
			break;
		}
		deadline = tu_now_ms() + a->timeout_ms;
		if (a->until_session && s == a->until_session && f.sequence >= a->until_seq) {
			zb_reader_release(r, &f);
			break;
		}
		if (a->hold == 0) {
			zb_reader_release(r, &f);
			continue;
		}
		if (n_held == a->hold || n_held == sizeof(held) / sizeof(held[0])) {
			zb_reader_release(r, &held[0]);
			memmove(held, held + 1, --n_held * sizeof(held[0]));
		}
		held[n_held++] = f;
	}
	while (n_held > 0)
		zb_reader_release(r, &held[--n_held]);
	zb_reader_close(r);
	return ret;
}

pid_t rel_start(int (*fn)(void *), struct rel_peer *p, int timeout_ms)
{
	int fds[2];
	pid_t pid;

	frames();
	ck_assert_int_eq(pipe(fds), 0);
	p->ready_fd = fds[1];
	pid = tu_fork(fn, p);
	close(fds[1]);
	if (tu_read_byte(fds[0], timeout_ms) < 0) {
		int st = tu_wait(pid, timeout_ms);

		ck_abort_msg("peer on %s did not attach: status %#x", p->name, st);
	}
	close(fds[0]);
	return pid;
}

long long rel_health(struct tz *t, const char *name, const char *key)
{
	struct zb_ctl *ctl;
	struct zb_ctl_reply *rep = NULL;
	char line[300];
	long long v = -1;

	tz_notify_drain(t);
	if (zb_ctl_connect(&ctl, t->sock) < 0)
		return -1;
	snprintf(line, sizeof(line), "health %s", name);
	if (zb_ctl_request(ctl, line, &rep) == 0 && rep->status == 0) {
		for (size_t i = 0; i < rep->n_records; i++) {
			const char *b = zb_ctl_record_get(&rep->records[i], "buffer");
			const char *val = zb_ctl_record_get(&rep->records[i], key);

			if (b && val && strcmp(b, name) == 0)
				v = strtoll(val, NULL, 10);
		}
	}
	zb_ctl_reply_free(rep);
	zb_ctl_close(ctl);
	return v;
}

long rel_vmrss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int rel_count_fds(pid_t pid, int *ret_pidfds)
{
	char dir[64], path[PATH_MAX], target[256];
	struct dirent *de;
	int n = 0, pidfds = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			if (strstr(target, "pidfd"))
				pidfds++;
		}
	}
	closedir(d);
	if (ret_pidfds)
		*ret_pidfds = pidfds;
	return n;
}
