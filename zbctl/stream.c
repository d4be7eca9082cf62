/* SPDX-License-Identifier: MIT */
/* The verbs that move frames between a buffer and a pipe: write, read. They
 * attach to the buffer directly, with or without zbd. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zbctl.h"

/* How long one blocking library call may wait before we look at the stop flag
 * again: the library retries its semaphore waits on EINTR, so a signal alone
 * would not end a wait that has no deadline. */
#define SLICE_MS 100

#define CHUNK_SIZE (64 * 1024)
#define LINE_MAX_BYTES (64u << 20)

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ------------------------------------------------------------------ write */

/* Stdin as read so far and not yet written as frames. */
struct input {
	char *buf;
	size_t len, cap;
};

/* Write one frame, waiting for space in slices so a signal can end the wait.
 * `timeout_ms` < 0 waits as long as it takes. */
static int write_frame(struct zb_writer *w, const char *data, size_t size, int timeout_ms,
		       bool split)
{
	struct timespec t0;
	int err;

	if (size == 0)
		return 0; /* a frame cannot be empty: an empty line has nothing to carry */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long waited = ms_since(&t0), slice = SLICE_MS;

		if (timeout_ms >= 0 && timeout_ms - waited < slice)
			slice = timeout_ms - waited > 0 ? timeout_ms - waited : 0;
		err = zb_writer_write(w, data, size, (int)slice);
		if (err != -ENOBUFS || stop_signal)
			break;
		if (timeout_ms >= 0 && waited + slice >= timeout_ms)
			break;
	}
	/* Chunks of plain input have no meaning of their own: halve what does not fit. */
	if (err == -EMSGSIZE && split && size > 1) {
		err = write_frame(w, data, size / 2, timeout_ms, split);
		if (err == 0)
			err = write_frame(w, data + size / 2, size - size / 2, timeout_ms, split);
	}
	return err;
}

/* Write what `in` holds as frames (whole lines, whole frames of --frame-size,
 * or everything as it came) and keep the rest for the next read. At the end
 * of input the rest is the last frame (a last line without its newline, a
 * short last frame). */
static int write_input(const struct args *a, struct zb_writer *w, struct input *in, bool eof)
{
	int timeout = (int)a->timeout_ms, err = 0;
	size_t off = 0;

	if (a->lines) {
		char *nl;

		while (err == 0 && (nl = memchr(in->buf + off, '\n', in->len - off))) {
			err = write_frame(w, in->buf + off, (size_t)(nl - in->buf) - off, timeout,
					  false);
			off = (size_t)(nl - in->buf) + 1;
		}
	} else if (a->frame_size) {
		while (err == 0 && in->len - off >= (size_t)a->frame_size) {
			err = write_frame(w, in->buf + off, (size_t)a->frame_size, timeout, false);
			off += (size_t)a->frame_size;
		}
	} else {
		err = write_frame(w, in->buf, in->len, timeout, true);
		off = in->len;
	}
	if (eof && err == 0 && in->len > off) {
		err = write_frame(w, in->buf + off, in->len - off, timeout, false);
		off = in->len;
	}
	memmove(in->buf, in->buf + off, in->len - off);
	in->len -= off;
	return err;
}

/* Read stdin to its end (or a signal) into frames. Returns a library error;
 * a failure of stdin itself is reported here and sets *code. */
static int pump_stdin(const struct args *a, struct zb_writer *w, struct input *in, int *code)
{
	bool eof = false;
	int err = 0;

	while (!eof && err == 0) {
		ssize_t n = read(STDIN_FILENO, in->buf + in->len, in->cap - in->len);

		if (n < 0 && errno == EINTR) {
			if (stop_signal)
				break;
			continue;
		}
		if (n < 0) {
			*code = fail_text(a, -errno, NULL, "stdin: %s", strerror(errno));
			break;
		}
		eof = n == 0;
		in->len += (size_t)n;
		err = write_input(a, w, in, eof);
		/* A line that fills the buffer: make room for the rest of it. */
		if (a->lines && in->len == in->cap) {
			char *buf = NULL;

			if (in->cap * 2 <= LINE_MAX_BYTES)
				buf = realloc(in->buf, in->cap * 2);
			if (!buf)
				return -EMSGSIZE;
			in->buf = buf;
			in->cap *= 2;
		}
	}
	return err;
}

/* Set the metadata, which a buffer takes once: the same bytes again are no
 * conflict (a writer restarting with its format), other bytes are. */
static int set_metadata(struct zb_writer *w, const char *text)
{
	size_t len = strlen(text), have_len;
	const void *have;
	int err = zb_writer_set_metadata(w, text, len);

	if (err == -EALREADY && zb_writer_metadata(w, &have, &have_len) == 0 && have_len == len &&
	    memcmp(have, text, len) == 0)
		return 0;
	return err;
}

/* The counters of a stream as JSON fields: frames and bytes. */
struct counters {
	char frames[24], bytes[24];
	struct zb_ctl_field fields[2];
};

static const struct zb_ctl_field *counted(struct counters *c, const struct zb_stats *st)
{
	snprintf(c->frames, sizeof(c->frames), "%" PRIu64, st->frames);
	snprintf(c->bytes, sizeof(c->bytes), "%" PRIu64, st->bytes);
	c->fields[0] = (struct zb_ctl_field){ "frames", c->frames };
	c->fields[1] = (struct zb_ctl_field){ "bytes", c->bytes };
	return c->fields;
}

/* How a stream ended (`err`, `code` for a failure already reported), said
 * once, with the handle's counters for --json. */
static int stream_end(const struct args *a, int err, int code, const struct zb_stats *st)
{
	struct counters c;

	if (stop_signal && code == EXIT_OK && err == 0)
		return interrupted(a, counted(&c, st), 2);
	if (err < 0)
		return fail_with(a, err, NULL, counted(&c, st), 2);
	if (code == EXIT_OK && a->json && json_print_doc(0, NULL, NULL, counted(&c, st), 2) < 0)
		return fail(a, -ENOMEM, NULL);
	return code;
}

int cmd_write(const struct args *a)
{
	struct zb_stats st = { 0 };
	struct input in = { 0 };
	struct zb_writer *w;
	int code = EXIT_OK, err;

	if (a->lines && a->frame_size)
		return misuse(a, "--lines and --frame-size exclude each other");
	/* Set once per buffer, and upstream readers refuse an empty one for good. */
	if (a->metadata && !a->metadata[0])
		return misuse(a, "--metadata TEXT must not be empty");
	catch_stop_signals();
	err = zb_writer_open(&w, a->operand);
	if (err < 0)
		return fail(a, err, NULL);
	if (a->metadata)
		err = set_metadata(w, a->metadata);
	if (err == 0) {
		in.cap = a->frame_size > CHUNK_SIZE ? (size_t)a->frame_size : CHUNK_SIZE;
		in.buf = malloc(in.cap);
		err = in.buf ? pump_stdin(a, w, &in, &code) : -ENOMEM;
		if (err == -ENOBUFS && stop_signal)
			err = 0;
	}
	zb_writer_stats(w, &st);
	code = stream_end(a, err, code, &st);
	free(in.buf);
	zb_writer_close(w);
	return code ? code : finish_stdout(a);
}

/* ------------------------------------------------------------------- read */

/* Write all of data to stdout's stdio buffer; false on a write error. */
static bool put(const void *data, size_t size)
{
	return fwrite(data, 1, size, stdout) == size;
}

/* Copy frames to stdout until the writer leaves (unless --follow), a signal,
 * an error, or --timeout without a frame. Returns 0 or a library error. */
static int drain(const struct args *a, struct zb_reader *r)
{
	struct timespec last;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!stop_signal) {
		struct zb_frame f;

		/* Flush only when nothing is waiting: a burst costs one write(2), and
		 * the consumer still sees every frame as soon as we go idle. */
		err = zb_reader_read(r, &f, 0);
		if (err == -ETIMEDOUT) {
			if (fflush(stdout) != 0)
				return 0; /* finish_stdout() tells a closed pipe from a failure */
			err = zb_reader_read(r, &f, SLICE_MS);
			if (err == -ETIMEDOUT &&
			    (a->timeout_ms < 0 || ms_since(&last) < a->timeout_ms))
				continue;
		}
		if (err == ZB_EWRITER_GONE) {
			err = 0;
			if (!a->follow)
				break;
			continue;
		}
		if (err < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &last);
		if (a->json ? json_print_frame(&f) < 0
			    : !put(f.data, f.size) || (a->lines && !put("\n", 1))) {
			zb_reader_release(r, &f);
			break;
		}
		zb_reader_release(r, &f);
	}
	if (stop_signal && err == -ETIMEDOUT)
		err = 0; /* asked to stop while waiting: a normal end */
	return err;
}

/* A /dev/shm that cannot hold the buffer: what was asked, and what is left. */
static int no_room(const struct args *a)
{
	return fail_text(a, -ENOSPC, "choose a smaller --payload, or free memory in /dev/shm",
			 "no room in /dev/shm for %s: %" PRIu64 " bytes asked, %" PRIu64
			 " bytes left",
			 a->operand, buffer_bytes(a), shm_bytes_left());
}

int cmd_read(const struct args *a)
{
	struct zb_stats st = { 0 };
	struct zb_reader *r;
	int code, err = -ENOENT;

	if (a->sized && !a->create)
		return misuse(a, "--payload, --metadata and --mode need --create");
	if (a->lines && a->json)
		return misuse(a, "--lines and --json exclude each other");
	if (a->create && check_buffer_sizes(a))
		return EXIT_FAIL;
	catch_stop_signals();
	if (a->create)
		err = zb_reader_create(&r, a->operand, &a->cfg);
	/* With a live owner already there (zbd), --create just reads from its buffer. */
	if (!a->create || err == -EEXIST) {
		err = zb_reader_open(&r, a->operand);
		/* Nothing live to read from: the name is someone else's. */
		if (a->create && err < 0 && err != -EBUSY && err != -ENOSPC)
			return fail_text(a, -EEXIST, NULL,
					 "/dev/shm holds objects named %s that are not a "
					 "ZeroBuffer buffer of yours; left untouched (%s)",
					 a->operand, zb_strerror(err));
	}
	if (err == -ENOSPC)
		return no_room(a);
	if (err < 0)
		return fail(a, err, NULL);
	err = drain(a, r);
	zb_reader_stats(r, &st);
	code = stream_end(a, err, EXIT_OK, &st);
	zb_reader_close(r);
	return code ? code : finish_stdout(a);
}
