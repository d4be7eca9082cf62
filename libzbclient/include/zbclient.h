/* SPDX-License-Identifier: MIT */
/*
 * libzbclient: stream frames between processes through a named ZeroBuffer v1
 * ring in shared memory. One writer and one reader per buffer; the reader sees
 * frames in place (zero-copy), the writer copies once or fills the ring directly.
 *
 * Conventions: every function returns 0 (or a count) on success and a negative
 * error code on failure (a negated errno, or one of the ZB_E* codes below);
 * output parameters are written only on success; zb_strerror() names any code.
 * Handles are not thread-safe: use one handle from one thread at a time.
 * Timeouts are in milliseconds: 0 polls, a negative value waits forever.
 */
#ifndef ZBCLIENT_H
#define ZBCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZB_VERSION_MAJOR 0
#define ZB_VERSION_MINOR 1
#define ZB_VERSION_PATCH 0

/* Longest buffer name, so that "sem.sem-w-NAME" stays a valid file name. */
#define ZB_NAME_MAX 200

/*
 * Error codes. Conditions with a natural errno use it (negated):
 *   -EINVAL     invalid argument (bad name, size 0, unknown frame)
 *   -ENOENT     no buffer of that name
 *   -EEXIST     the buffer already exists (and is owned by a live process)
 *   -EBUSY      a live writer (or reader) is already attached
 *   -ETIMEDOUT  nothing arrived within the timeout
 *   -ENOBUFS    buffer full: the writer found no space within its timeout
 *   -EALREADY   metadata was already set
 *   -EMSGSIZE   too large: frame or metadata does not fit the buffer
 *   -ENODATA    no metadata has been set
 *   -EACCES     permission denied
 * Conditions of our own get codes outside the errno range:
 */
enum {
	ZB_EWRITER_GONE = -10001, /* the writer left or died, and every frame was read */
	ZB_EREADER_GONE = -10002, /* the reader left or died */
	ZB_EVERSION = -10003,     /* the segment speaks another protocol version */
	ZB_ECORRUPT = -10004,     /* the segment or a frame fails validation */
};

/* Text for any code this library returns; never NULL, never to be freed. */
const char *zb_strerror(int code);

/* Counters of one handle (frames and payload bytes it moved since it opened). */
struct zb_stats {
	uint64_t frames;
	uint64_t bytes;
};

/* Sizes of a buffer to create. 0 picks the protocol default (1 KiB metadata,
 * 1 MiB payload); both are rounded up to 64 bytes as the protocol demands. */
struct zb_buffer_config {
	uint64_t metadata_size;
	uint64_t payload_size;
	mode_t mode; /* of segment, semaphores and lock file; 0 means 0600 */
};

/* ------------------------------------------------------------------ reader */

struct zb_reader;

/* A frame handed out by zb_reader_read(): `data` points into the shared ring
 * and stays valid until the frame is released. */
struct zb_frame {
	const void *data;
	size_t size;
	uint64_t sequence;
	uint64_t ticket; /* private to the library */
};

/*
 * Attach as the reader of an existing buffer (one that zbd owns).
 * Returns -ENOENT if there is no such buffer, -EBUSY if a live reader is
 * attached, ZB_EVERSION / ZB_ECORRUPT if the segment fails validation.
 * The caller owns *ret and frees it with zb_reader_close().
 */
int zb_reader_open(struct zb_reader **ret, const char *name);

/*
 * Create the buffer and become its reader and owner with no daemon, exactly as
 * upstream ZeroBuffer readers do (PROTOCOL.md section 9): take the lock file,
 * clean up abandoned buffers, create semaphores then segment. `config` may be
 * NULL for defaults. Returns -EEXIST if a live owner holds the buffer.
 * zb_reader_close() removes everything this call created.
 */
int zb_reader_create(struct zb_reader **ret, const char *name, const struct zb_buffer_config *config);

/*
 * Wait up to `timeout_ms` for the next frame and hand it out without copying.
 * Returns 0 and fills *ret; -ETIMEDOUT; ZB_EWRITER_GONE once after the writer
 * left and every frame was read (later calls wait for a new writer, whose
 * frames restart at sequence 1); ZB_ECORRUPT for a frame that fails validation.
 * Several frames may be held at once.
 */
int zb_reader_read(struct zb_reader *r, struct zb_frame *ret, int timeout_ms);

/*
 * Give a frame's space back to the writer. Frames may be released in any order;
 * space returns to the writer in read order. Returns -EINVAL for a frame that is
 * not held.
 */
int zb_reader_release(struct zb_reader *r, const struct zb_frame *frame);

/* The metadata the writer set, in place. -ENODATA while none was set. */
int zb_reader_metadata(struct zb_reader *r, const void **ret_data, size_t *ret_size);

/* 1 if a live writer is attached, 0 if not. */
int zb_reader_writer_connected(struct zb_reader *r);

/* How long read() spins before it sleeps on the semaphore, in microseconds. */
int zb_reader_set_spin(struct zb_reader *r, unsigned spin_us);

int zb_reader_stats(struct zb_reader *r, struct zb_stats *ret);

/* Detach (clears reader_pid); a creating reader also removes the buffer.
 * Frames still held become invalid. Accepts NULL. */
void zb_reader_close(struct zb_reader *r);

/* ------------------------------------------------------------------ writer */

struct zb_writer;

/*
 * Attach as the writer of an existing buffer, created by zbd or by a reader of
 * any ZeroBuffer implementation. Returns -ENOENT, -EBUSY if a live writer is
 * attached, ZB_EVERSION / ZB_ECORRUPT for a bad segment.
 * The caller owns *ret and frees it with zb_writer_close().
 */
int zb_writer_open(struct zb_writer **ret, const char *name);

/* Set the buffer's metadata, once. -EALREADY if set, -EMSGSIZE if too large. */
int zb_writer_set_metadata(struct zb_writer *w, const void *data, size_t size);

/*
 * Copy one frame of `size` (> 0) bytes into the ring, waiting up to timeout_ms
 * for space. Returns -ENOBUFS when the ring stayed full, ZB_EREADER_GONE when
 * the reader left, -EMSGSIZE when the frame can never fit.
 */
int zb_writer_write(struct zb_writer *w, const void *data, size_t size, int timeout_ms);

/*
 * Zero-copy: reserve `size` bytes in the ring and point *ret_data at them.
 * Fill them, then zb_writer_commit(). Errors as zb_writer_write().
 */
int zb_writer_acquire(struct zb_writer *w, size_t size, void **ret_data, int timeout_ms);

/* Publish the acquired frame with its final size (0 < size <= acquired). */
int zb_writer_commit(struct zb_writer *w, size_t size);

/* 1 if a live reader is attached, 0 if not. */
int zb_writer_reader_connected(struct zb_writer *w);

/* How long a writer short of space spins before it sleeps, in microseconds. */
int zb_writer_set_spin(struct zb_writer *w, unsigned spin_us);

int zb_writer_stats(struct zb_writer *w, struct zb_stats *ret);

/* Detach (clears writer_pid). An acquired, uncommitted frame is dropped.
 * Accepts NULL. */
void zb_writer_close(struct zb_writer *w);

#ifdef __cplusplus
}
#endif

#endif
