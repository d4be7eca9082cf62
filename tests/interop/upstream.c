/* SPDX-License-Identifier: MIT */
/*
 * upstream: a behavioural model of an upstream (C++/C#/Python) ZeroBuffer v1
 * peer, written from doc/protocol.md alone, so libzbclient can be checked against
 * a foreign implementation in both directions where the real ones cannot be
 * installed. It deliberately does NOT use libzbclient: only wire.h (the byte
 * layout and the atomics) and the tests' deterministic frame pattern.
 *
 * Where upstream behaviour differs from ours, the model does what upstream
 * does (doc/protocol.md section 15): the reader waits on sem-w once per frame and posts sem-r
 * on every release; the writer refuses to attach without a live reader and
 * notices a dead peer only when a wait times out.
 *
 *   upstream SFD CFD read-create NAME COUNT SEED MIN MAX PAYLOAD [metadata TEXT] [pace]
 *   upstream SFD CFD write NAME COUNT SEED MIN MAX [zerocopy] [metadata TEXT] [pace] [slowwrap]
 *
 * SFD: status pipe; 'R' once created or attached, then 'D' and one line
 * "frames=N markers=N tails=N semr_max=N exact=N" once COUNT frames went
 * through (exact: frames ending exactly at the end of the ring).
 * CFD: the reader, after 'D', stays (buffer and semaphores in place, so the
 * test can inspect them) until CFD reaches EOF, then closes as upstream does.
 * pace: random short pauses, so the ring both fills and drains.
 * slowwrap (writer): pause between taking a wrap's skipped tail from free
 * space and publishing the frame, a window upstream writers also have.
 * python (writer): wrap as the upstream Python writer does: marker (if the
 * tail has room), tail out of free space, write_pos = 0, and then one count
 * whether a marker was written or not (a tail of 0 to 15 bytes is counted
 * too, PROTOCOL.md section 15). Without it the model wraps as the C++ writer.
 *
 * Exit codes: 0 ok, 2 usage, 20 sequence, 21 bytes or size, 22 writer gone
 * early, 23 bad header, 24 timed out, 25 buffer full, 26 reader gone, 27 sem-r
 * overflowed (a post failed, as upstream's at SEM_VALUE_MAX),
 * 30 attach failed, 31 live writer recorded, 32 no segment, 33 bad segment,
 * 41 no live reader (upstream refusal), 42 metadata differs, 43 metadata
 * accepted twice, 50 create failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"
#include "util.h"
#include "wire.h"

/* Upstream defaults (doc/protocol.md sections 10, 11). */
#define READ_TIMEOUT_MS 5000
#define WRITE_TIMEOUT_MS 5000
#define SLICE_MS 100
/* Consecutive 5 s read timeouts with a live writer before the model gives up:
 * a bound for the test, not upstream behaviour (upstream waits forever). */
#define MAX_READ_TIMEOUTS 6

struct buf {
	uint8_t *base;
	size_t map_size;
	struct zb_oieb *o;
	uint8_t *meta;
	uint8_t *ring;
	uint64_t m, p;
	sem_t *sem_w, *sem_r;
	char name[256];
	int lock_fd;
};

struct counts {
	uint64_t frames, markers, tails;
	uint64_t exact; /* frames that end exactly at P */
	int semr_max;
};

static int status_fd = -1;
static uint64_t pace_rng;
static bool pace;
static bool slow_wrap;
static bool python_wrap;

static void __attribute__((noreturn, format(printf, 2, 3))) die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "upstream[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void report(char c)
{
	if (write(status_fd, &c, 1) != 1)
		exit(90);
}

static void report_counts(const struct counts *c)
{
	char line[160];
	int n = snprintf(line, sizeof(line),
			 "Dframes=%llu markers=%llu tails=%llu semr_max=%d exact=%llu\n",
			 (unsigned long long)c->frames, (unsigned long long)c->markers,
			 (unsigned long long)c->tails, c->semr_max, (unsigned long long)c->exact);

	if (write(status_fd, line, (size_t)n) != n)
		exit(90);
}

/* Random pacing only: roughly one frame in 2048 pauses up to 2 ms, which lets
 * the other side run ahead (ring full) or fall behind (ring empty). */
static void maybe_pause(void)
{
	uint64_t h;

	if (!pace)
		return;
	h = splitmix64(&pace_rng);
	if (h % 2048 == 0) {
		struct timespec ts = { 0, (long)((h >> 16) % 2000000) };

		nanosleep(&ts, NULL);
	}
}

static bool alive(uint64_t pid)
{
	return pid != 0 && pid <= (uint64_t)INT32_MAX &&
	       (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static struct timespec realtime_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* 0 on a token, -1 on timeout (upstream uses sem_timedwait on CLOCK_REALTIME). */
static int timed_wait(sem_t *sem, int ms)
{
	struct timespec ts = realtime_in(ms);

	while (sem_timedwait(sem, &ts) < 0) {
		if (errno == ETIMEDOUT)
			return -1;
		if (errno != EINTR)
			die(24, "sem_timedwait: %s", strerror(errno));
	}
	return 0;
}

static void obj_name(char *out, size_t size, const char *prefix, const char *name)
{
	snprintf(out, size, "/%s%s", prefix, name);
}

static void unlink_objects(const char *name)
{
	char obj[300];

	obj_name(obj, sizeof(obj), "", name);
	shm_unlink(obj);
	obj_name(obj, sizeof(obj), "sem-w-", name);
	sem_unlink(obj);
	obj_name(obj, sizeof(obj), "sem-r-", name);
	sem_unlink(obj);
}

/* ------------------------------------------------------------ reader (creator) */

/* doc/protocol.md section 13: every lock we can flock marks an abandoned buffer; its lock
 * goes, and its objects too when neither recorded process lives. */
static void cleanup_stale(void)
{
	struct dirent *de;
	DIR *d = opendir(ZB_LOCK_DIR);

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[512], name[256], obj[300];
		struct zb_oieb oieb;
		int fd, shm;

		if (len <= 5 || len - 5 >= sizeof(name) || strcmp(de->d_name + len - 5, ".lock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", ZB_LOCK_DIR, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd); /* a live owner holds it */
			continue;
		}
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		unlink(path);
		obj_name(obj, sizeof(obj), "", name);
		shm = shm_open(obj, O_RDONLY, 0);
		if (shm >= 0) {
			bool dead = true;

			if (pread(shm, &oieb, sizeof(oieb), 0) == (ssize_t)sizeof(oieb))
				dead = !alive(oieb.reader_pid) && !alive(oieb.writer_pid);
			close(shm);
			if (dead)
				unlink_objects(name);
		} else {
			unlink_objects(name);
		}
		close(fd);
	}
	closedir(d);
}

static sem_t *sem_make(const char *prefix, const char *name)
{
	char obj[300];
	sem_t *s;

	obj_name(obj, sizeof(obj), prefix, name);
	s = sem_open(obj, O_CREAT | O_EXCL, 0666, 0);
	if (s == SEM_FAILED && errno == EEXIST) {
		/* We hold the lock: a leftover is nobody's. */
		sem_unlink(obj);
		s = sem_open(obj, O_CREAT | O_EXCL, 0666, 0);
	}
	if (s == SEM_FAILED)
		die(50, "sem_open %s: %s", obj, strerror(errno));
	return s;
}

static void reader_create(struct buf *b, const char *name, uint64_t payload)
{
	char path[512], obj[300];
	int fd;

	snprintf(b->name, sizeof(b->name), "%s", name);
	if (mkdir(ZB_LOCK_DIR, 0777) < 0 && errno != EEXIST)
		die(50, "mkdir %s: %s", ZB_LOCK_DIR, strerror(errno));
	cleanup_stale();
	snprintf(path, sizeof(path), "%s/%s.lock", ZB_LOCK_DIR, name);
	b->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (b->lock_fd < 0 || flock(b->lock_fd, LOCK_EX | LOCK_NB) < 0)
		die(50, "lock %s: %s", path, strerror(errno));

	/* Semaphores first, then the segment, oieb_size last (doc/protocol.md section 12). */
	b->sem_w = sem_make("sem-w-", name);
	b->sem_r = sem_make("sem-r-", name);
	b->m = zb_align_block(ZB_DEFAULT_METADATA_SIZE);
	b->p = zb_align_block(payload);
	b->map_size = ZB_OIEB_SIZE + b->m + b->p;
	obj_name(obj, sizeof(obj), "", name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (fd < 0 && errno == EEXIST) {
		shm_unlink(obj);
		fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0666);
	}
	if (fd < 0 || ftruncate(fd, (off_t)b->map_size) < 0)
		die(50, "shm %s: %s", obj, strerror(errno));
	b->base = mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->base == MAP_FAILED)
		die(50, "mmap: %s", strerror(errno));
	close(fd);
	b->o = (struct zb_oieb *)b->base;
	b->meta = b->base + ZB_OIEB_SIZE;
	b->ring = b->meta + b->m;
	memset(b->base, 0, b->map_size);
	b->o->version[0] = 1;
	b->o->metadata_size = b->m;
	b->o->metadata_free_bytes = b->m;
	b->o->payload_size = b->p;
	b->o->payload_free_bytes = b->p;
	b->o->reader_pid = (uint64_t)getpid();
	zb_store(&b->o->oieb_size, ZB_OIEB_SIZE);
}

static void reader_close(struct buf *b)
{
	char path[512];

	zb_store(&b->o->reader_pid, 0);
	munmap(b->base, b->map_size);
	sem_close(b->sem_w);
	sem_close(b->sem_r);
	unlink_objects(b->name);
	snprintf(path, sizeof(path), "%s/%s.lock", ZB_LOCK_DIR, b->name);
	unlink(path);
	close(b->lock_fd);
}

static void check_metadata(struct buf *b, const char *want)
{
	uint64_t written = zb_load(&b->o->metadata_written_bytes), len;

	if (!want)
		return;
	memcpy(&len, b->meta, sizeof(len));
	if (written != 8 + strlen(want) || len != strlen(want) ||
	    memcmp(b->meta + 8, want, len) != 0 ||
	    zb_load(&b->o->metadata_free_bytes) != b->m - written)
		die(42, "metadata: written %llu, length %llu, expected \"%s\"",
		    (unsigned long long)written, (unsigned long long)len, want);
}

/* One token per frame; on a timeout, kill(writer, 0) as upstream does. */
static void wait_frame(struct buf *b)
{
	int timeouts = 0;

	for (;;) {
		uint64_t pid;

		if (timed_wait(b->sem_w, READ_TIMEOUT_MS) == 0) {
			/* A token with no frame behind it: wait again (protocol.md section 9). */
			if (zb_load(&b->o->payload_written_count) ==
			    zb_load(&b->o->payload_read_count))
				continue;
			return;
		}
		pid = zb_load(&b->o->writer_pid);
		if (!alive(pid) &&
		    zb_load(&b->o->payload_written_count) <= zb_load(&b->o->payload_read_count))
			die(22, "writer gone before every frame arrived");
		if (++timeouts >= MAX_READ_TIMEOUTS)
			die(24, "no frame for %d s", MAX_READ_TIMEOUTS * READ_TIMEOUT_MS / 1000);
	}
}

static int do_read(const char *name, uint64_t count, const struct pattern *pat, uint64_t payload,
		   const char *metadata, int ctl_fd)
{
	struct counts c = { 0 };
	struct buf b;
	uint64_t expect = 1;

	reader_create(&b, name, payload);
	report('R');
	while (c.frames < count) {
		struct zb_frame_header h;
		uint64_t pos, size;
		int v;

		wait_frame(&b);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		pos = zb_load(&b.o->payload_read_pos);
		if (b.p - pos < ZB_FRAME_HEADER_SIZE) {
			/* Wrap without a marker: the tail goes back, nothing counted. */
			zb_fetch_add(&b.o->payload_free_bytes, b.p - pos);
			pos = 0;
			zb_store(&b.o->payload_read_pos, pos);
			c.tails++;
		}
		memcpy(&h, b.ring + pos, sizeof(h));
		if (h.payload_size == 0) {
			/* Wrap marker: counted, and the frame at 0 shares its token. */
			if (h.sequence_number != 0 || pos == 0)
				die(23, "bad wrap marker at %llu", (unsigned long long)pos);
			zb_fetch_add(&b.o->payload_free_bytes, b.p - pos);
			pos = 0;
			zb_store(&b.o->payload_read_pos, pos);
			zb_store(&b.o->payload_read_count, zb_load(&b.o->payload_read_count) + 1);
			c.markers++;
			memcpy(&h, b.ring, sizeof(h));
		}
		size = h.payload_size;
		if (size == 0 || size > b.p - pos - ZB_FRAME_HEADER_SIZE)
			die(23, "frame %llu: size %llu at %llu", (unsigned long long)expect,
			    (unsigned long long)size, (unsigned long long)pos);
		if (h.sequence_number != expect)
			die(20, "sequence %llu, expected %llu",
			    (unsigned long long)h.sequence_number, (unsigned long long)expect);
		if (expect == 1)
			check_metadata(&b, metadata);
		if (size != pattern_size(pat, expect) ||
		    memcmp(b.ring + pos + ZB_FRAME_HEADER_SIZE, pattern_data(pat, expect, size),
			   size) != 0)
			die(21, "frame %llu: size %llu or bytes differ", (unsigned long long)expect,
			    (unsigned long long)size);
		pos += ZB_FRAME_HEADER_SIZE + size;
		if (pos == b.p) {
			pos = 0;
			c.exact++;
		}
		zb_store(&b.o->payload_read_pos, pos);
		zb_store(&b.o->payload_read_count, zb_load(&b.o->payload_read_count) + 1);
		/* Release: space back, then one post per frame, as upstream does
		 * (doc/protocol.md section 10: nothing bounds this count but the writer). */
		zb_fetch_add(&b.o->payload_free_bytes, ZB_FRAME_HEADER_SIZE + size);
		/* At SEM_VALUE_MAX the C++ reader's post throws and it terminates. */
		if (sem_post(b.sem_r) < 0)
			die(27, "sem_post sem-r: %s", strerror(errno));
		if (sem_getvalue(b.sem_r, &v) == 0 && v > c.semr_max)
			c.semr_max = v;
		c.frames++;
		expect++;
		maybe_pause();
	}
	report_counts(&c);
	/* Stay until the test has looked at the semaphores (bounded). */
	{
		struct pollfd pfd = { .fd = ctl_fd, .events = POLLIN };
		char x;

		while (poll(&pfd, 1, 60000) > 0 && read(ctl_fd, &x, 1) > 0)
			;
	}
	reader_close(&b);
	return 0;
}

/* ------------------------------------------------------------ writer */

static void writer_attach(struct buf *b, const char *name)
{
	char obj[300];
	struct stat st;
	uint64_t pid;
	int fd;

	snprintf(b->name, sizeof(b->name), "%s", name);
	obj_name(obj, sizeof(obj), "", name);
	fd = shm_open(obj, O_RDWR, 0);
	if (fd < 0)
		die(errno == ENOENT ? 32 : 30, "shm_open %s: %s", obj, strerror(errno));
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < ZB_OIEB_SIZE)
		die(33, "segment too small");
	b->map_size = (size_t)st.st_size;
	b->base = mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->base == MAP_FAILED)
		die(30, "mmap: %s", strerror(errno));
	close(fd);
	b->o = (struct zb_oieb *)b->base;
	if (zb_load(&b->o->oieb_size) != ZB_OIEB_SIZE || b->o->version[0] != 1)
		die(33, "not a v1 segment (oieb_size %u)", b->o->oieb_size);
	b->m = b->o->metadata_size;
	b->p = b->o->payload_size;
	if (b->m > b->map_size || b->p > b->map_size || ZB_OIEB_SIZE + b->m + b->p > b->map_size)
		die(33, "segment smaller than its sizes");
	b->meta = b->base + ZB_OIEB_SIZE;
	b->ring = b->meta + b->m;
	/* Upstream refuses to attach without a live reader (doc/protocol.md section 11). */
	if (!alive(zb_load(&b->o->reader_pid)))
		die(41, "no live reader (reader_pid %llu)",
		    (unsigned long long)zb_load(&b->o->reader_pid));
	pid = zb_load(&b->o->writer_pid);
	if (alive(pid) && pid != (uint64_t)getpid())
		die(31, "writer %llu attached", (unsigned long long)pid);
	zb_store(&b->o->writer_pid, (uint64_t)getpid());
	/* Semaphores only now, as upstream: missing ones leave our pid recorded. */
	obj_name(obj, sizeof(obj), "sem-w-", name);
	b->sem_w = sem_open(obj, 0);
	obj_name(obj, sizeof(obj), "sem-r-", name);
	b->sem_r = sem_open(obj, 0);
	if (b->sem_w == SEM_FAILED || b->sem_r == SEM_FAILED)
		die(30, "sem_open: %s", strerror(errno));
}

/* -EALREADY-like refusal when set, as doc/protocol.md section 5 demands. */
static int set_metadata(struct buf *b, const char *text)
{
	uint64_t len = strlen(text);

	if (zb_load(&b->o->metadata_written_bytes) != 0)
		return -1;
	if (8 + len > b->m)
		die(30, "metadata too large");
	memcpy(b->meta, &len, 8);
	memcpy(b->meta + 8, text, len);
	zb_store(&b->o->metadata_free_bytes, b->m - 8 - len);
	zb_store(&b->o->metadata_written_bytes, 8 + len);
	return 0;
}

struct wstate {
	uint64_t write_pos;
	uint64_t seq;
	uint64_t frame_pos;
};

/* Reserve `size` bytes: wrap (marker when >= 16 bytes remain), wait for free
 * space in 100 ms slices on sem-r, re-checking after every wake. */
static uint8_t *reserve(struct buf *b, struct wstate *w, uint64_t size, struct counts *c)
{
	uint64_t to_end = b->p - w->write_pos, need = ZB_FRAME_HEADER_SIZE + size;
	bool wrap = to_end < need;
	int64_t deadline = tu_now_ms() + WRITE_TIMEOUT_MS;

	if (need + (wrap ? to_end : 0) > b->p)
		die(25, "frame of %llu bytes never fits", (unsigned long long)size);
	while (zb_load(&b->o->payload_free_bytes) < need + (wrap ? to_end : 0)) {
		if (tu_now_ms() >= deadline)
			die(25, "buffer full for %d ms", WRITE_TIMEOUT_MS);
		if (timed_wait(b->sem_r, SLICE_MS) < 0 && !alive(zb_load(&b->o->reader_pid)))
			die(26, "reader gone");
	}
	/* Wrap in the order of doc/protocol.md section 8 (upstream's order too): marker and its
	 * count, the skipped tail out of free space, write_pos = 0, all published
	 * before the frame at 0 is written. */
	if (wrap) {
		if (to_end >= ZB_FRAME_HEADER_SIZE) {
			struct zb_frame_header marker = { 0, 0 };

			memcpy(b->ring + w->write_pos, &marker, sizeof(marker));
			__atomic_thread_fence(__ATOMIC_RELEASE);
			if (!python_wrap)
				zb_store(&b->o->payload_written_count,
					 zb_load(&b->o->payload_written_count) + 1);
			c->markers++;
		} else {
			c->tails++;
		}
		zb_fetch_sub(&b->o->payload_free_bytes, to_end);
		/* slowwrap: widen the window in which the skipped tail is already
		 * taken from free space but write_pos still points into it. */
		if (slow_wrap)
			nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 }, NULL);
		w->write_pos = 0;
		zb_store(&b->o->payload_write_pos, 0);
		/* The Python writer counts every wrap here, marked or not. */
		if (python_wrap) {
			zb_store(&b->o->payload_written_count,
				 zb_load(&b->o->payload_written_count) + 1);
			if (slow_wrap)
				nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 }, NULL);
		}
	}
	w->frame_pos = w->write_pos;
	return b->ring + w->frame_pos + ZB_FRAME_HEADER_SIZE;
}

static void commit(struct buf *b, struct wstate *w, uint64_t size, struct counts *c)
{
	struct zb_frame_header h = { size, w->seq++ };

	memcpy(b->ring + w->frame_pos, &h, sizeof(h));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/* A frame ending exactly at P leaves write_pos = P: the next frame wraps
	 * with nothing to skip. A legal state readers must accept. */
	w->write_pos = w->frame_pos + ZB_FRAME_HEADER_SIZE + size;
	zb_store(&b->o->payload_write_pos, w->write_pos);
	if (w->write_pos == b->p)
		c->exact++;
	zb_fetch_sub(&b->o->payload_free_bytes, ZB_FRAME_HEADER_SIZE + size);
	zb_store(&b->o->payload_written_count, zb_load(&b->o->payload_written_count) + 1);
	sem_post(b->sem_w); /* one post for marker and frame together */
}

static int do_write(const char *name, uint64_t count, const struct pattern *pat, bool zerocopy,
		    const char *metadata)
{
	struct counts c = { 0 };
	struct wstate w = { .seq = 1 };
	struct buf b;

	writer_attach(&b, name);
	if (metadata) {
		if (set_metadata(&b, metadata) < 0)
			die(43, "metadata already set");
		if (set_metadata(&b, "again") == 0)
			die(43, "metadata accepted twice");
	}
	w.write_pos = zb_load(&b.o->payload_write_pos);
	report('R');
	for (uint64_t seq = 1; seq <= count; seq++) {
		size_t size = pattern_size(pat, seq);
		const uint8_t *src = pattern_data(pat, seq, size);
		uint8_t *dst;

		if (zerocopy) {
			/* Filled in place before the header exists: only the commit
			 * publishes it. Same bytes as a copy. */
			dst = reserve(&b, &w, size, &c);
			for (size_t i = 0; i < size; i++)
				dst[i] = src[i];
		} else {
			struct zb_frame_header h = { size, w.seq };

			dst = reserve(&b, &w, size, &c);
			memcpy(dst - ZB_FRAME_HEADER_SIZE, &h, sizeof(h));
			memcpy(dst, src, size);
		}
		commit(&b, &w, size, &c);
		c.frames++;
		maybe_pause();
	}
	/* Clean detach (doc/protocol.md section 11). */
	zb_store(&b.o->writer_pid, 0);
	report_counts(&c);
	munmap(b.base, b.map_size);
	sem_close(b.sem_w);
	sem_close(b.sem_r);
	return 0;
}

static const char *word_arg(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i + 1 < argc; i++)
		if (strcmp(argv[i], word) == 0)
			return argv[i + 1];
	return NULL;
}

static bool has_word(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i < argc; i++)
		if (strcmp(argv[i], word) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct pattern pat;
	uint64_t count;
	int r, ctl_fd;

	if (argc < 9) {
		fprintf(stderr,
			"usage: upstream SFD CFD read-create|write NAME COUNT SEED MIN MAX\n");
		return 2;
	}
	/* A test that fails before ending us must not leave us behind. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		return 3;
	status_fd = atoi(argv[1]);
	ctl_fd = atoi(argv[2]);
	count = strtoull(argv[5], NULL, 0);
	pattern_init(&pat, strtoull(argv[6], NULL, 0), strtoul(argv[7], NULL, 0),
		     strtoul(argv[8], NULL, 0));
	pace = has_word(argc, argv, 9, "pace");
	slow_wrap = has_word(argc, argv, 9, "slowwrap");
	python_wrap = has_word(argc, argv, 9, "python");
	pace_rng = pat.seed ^ (uint64_t)getpid();
	if (strcmp(argv[3], "read-create") == 0 && argc >= 10) {
		r = do_read(argv[4], count, &pat, strtoull(argv[9], NULL, 0),
			    word_arg(argc, argv, 10, "metadata"), ctl_fd);
	} else if (strcmp(argv[3], "write") == 0) {
		r = do_write(argv[4], count, &pat, has_word(argc, argv, 9, "zerocopy"),
			     word_arg(argc, argv, 9, "metadata"));
	} else {
		fprintf(stderr, "upstream: bad mode %s\n", argv[3]);
		r = 2;
	}
	pattern_free(&pat);
	return r;
}
