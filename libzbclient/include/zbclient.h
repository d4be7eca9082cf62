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

/* Largest payload or metadata size a buffer may be created with (1 TiB). */
#define ZB_SIZE_MAX (UINT64_C(1) << 40)

/*
 * Default spin before a reader (or a writer short of space) sleeps, in
 * microseconds. Chosen by measurement (zbbench scenario 3, 2-core machine,
 * tests/bench/PERFORMANCE.md): a peer that answers within the spin is seen in
 * a fraction of a microsecond instead of after a futex wake-up (several us),
 * and while the reader spins the writer's sem_post stays out of the kernel.
 * 20 us catches request/response traffic and keeps a busy stream out of the
 * kernel; a quiet stream pays at most 20 us of CPU per frame, and only until
 * the spin has missed 8 times in a row: it is then mostly skipped (tried once
 * in 16 waits) until it catches the peer again. After the first 3 us the spin
 * yields the CPU every round, and a spin during which other tasks ran on our
 * CPU counts as a miss: when both peers share one CPU, spinning only delays
 * the peer (measured: twice the blocking latency), so the library falls back
 * to blocking there. 0 sleeps at once.
 */
#define ZB_DEFAULT_SPIN_US 20

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
	ZB_EVERSION = -10003,	  /* the segment speaks another protocol version */
	ZB_ECORRUPT = -10004,	  /* the segment or a frame fails validation */
};

/* Text for any code this library returns; never NULL, never to be freed. */
const char *zb_strerror(int code);

/*
 * 0 if `name` can name a buffer that zbd creates and the control protocol
 * carries: 1 to ZB_NAME_MAX bytes of printable ASCII, without space, '/' or
 * '=', and neither "." nor "..". -EINVAL otherwise. (zb_reader_open and
 * zb_writer_open also attach to buffers other implementations named with any
 * single path component, which this rule narrows.)
 */
int zb_name_check(const char *name);

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
int zb_reader_create(struct zb_reader **ret, const char *name,
		     const struct zb_buffer_config *config);

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

/*
 * How long read() spins (watching the ring, no system call) before it sleeps
 * on the semaphore, in microseconds; 0 sleeps at once. Default
 * ZB_DEFAULT_SPIN_US (see there for why).
 */
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

/* How long a writer short of space spins before it sleeps, in microseconds.
 * Default ZB_DEFAULT_SPIN_US. */
int zb_writer_set_spin(struct zb_writer *w, unsigned spin_us);

int zb_writer_stats(struct zb_writer *w, struct zb_stats *ret);

/* Detach (clears writer_pid). An acquired, uncommitted frame is dropped.
 * Accepts NULL. */
void zb_writer_close(struct zb_writer *w);

/* ---------------------------------------------------------- control socket */

/*
 * A client of zbd's control socket (doc/control-protocol.md): create, destroy,
 * list and inspect the buffers zbd owns. One request at a time per handle; a
 * handle is not thread-safe. Every call waits at most the handle's timeout
 * (ZB_CTL_TIMEOUT_MS unless changed with zb_ctl_set_timeout()) for the daemon,
 * so a silent or stuck daemon gives -ETIMEDOUT, never a hang. zbd closes
 * connections that stay idle (5 minutes by default): the next request then
 * reconnects once by itself, since the request had not reached the daemon.
 *
 * Errors common to the calls below:
 *   -ENOENT, -ECONNREFUSED  no daemon listens on the socket (from zb_ctl_connect)
 *   -EACCES                 the socket may not be opened
 *   -ETIMEDOUT              the daemon did not answer within the timeout
 *   -ECONNRESET             the daemon closed the connection
 *   -EPROTO                 the reply is malformed or larger than ZB_CTL_REPLY_MAX;
 *                           the connection is then out of step: close the handle
 *   -EINTR                  a signal arrived while waiting (the reply, if any,
 *                           can still be received with zb_ctl_receive())
 *   any other negative code the daemon sent in the reply's status line
 */

struct zb_ctl;

/* Default time to wait for a reply. */
#define ZB_CTL_TIMEOUT_MS 5000
/* Largest reply accepted (all lines together); a larger one is -EPROTO. */
#define ZB_CTL_REPLY_MAX (4u << 20)
/* Longest request line, without its newline (zbd reads a line and its newline
 * into 4096 bytes; doc/control-protocol.md). */
#define ZB_CTL_LINE_MAX 4095

/*
 * Write the socket path zb_ctl_connect(NULL) uses into buf (NUL-terminated):
 * $ZBD_SOCKET if set and not empty; else /run/zbd/zbd.sock for root; else
 * $XDG_RUNTIME_DIR/zbd.sock when that is set; else /run/zbd/zbd.sock.
 * Returns 0, or -ENAMETOOLONG if it does not fit in `size` bytes (buf untouched).
 */
int zb_ctl_default_socket(char *buf, size_t size);

/*
 * Connect to zbd's control socket at `socket_path`, or at the default path
 * (see zb_ctl_default_socket()) when NULL. Returns 0, -ENOENT / -ECONNREFUSED
 * when no daemon listens there, -EACCES, -ENAMETOOLONG for a path that does
 * not fit a Unix socket address, -ETIMEDOUT if the daemon does not accept in time.
 * The caller owns *ret and frees it with zb_ctl_close().
 */
int zb_ctl_connect(struct zb_ctl **ret, const char *socket_path);

/* Change how long each call waits for the daemon, in milliseconds (> 0, or
 * negative to wait forever, which only makes sense for zb_ctl_receive()
 * during a watch). Returns 0 or -EINVAL. */
int zb_ctl_set_timeout(struct zb_ctl *ctl, int timeout_ms);

/* The connection's file descriptor, to poll() it for POLLIN while waiting for
 * watch replies; owned by the handle (never close it). -EINVAL for NULL. */
int zb_ctl_fd(struct zb_ctl *ctl);

/* The `error=` text of the last reply received on this handle, or NULL when
 * it had none. Valid until the next call on the handle; do not free. */
const char *zb_ctl_last_error(struct zb_ctl *ctl);

/* Close the connection and free the handle. Accepts NULL. */
void zb_ctl_close(struct zb_ctl *ctl);

/* One `key=value` line of a reply (split at the first '='). */
struct zb_ctl_field {
	const char *key;
	const char *value;
};

/* A run of fields that starts at a `daemon=` or `buffer=` key (the key that
 * names the record), or the fields before the first such key. */
struct zb_ctl_record {
	const struct zb_ctl_field *fields;
	size_t n_fields;
};

/* A reply as received, for tools that show what the daemon said. Read-only:
 * everything in it belongs to the reply and is freed by zb_ctl_reply_free(). */
struct zb_ctl_reply {
	int status;			   /* the status line: 0 or a negative code */
	const char *error;		   /* the error= text, or NULL */
	const struct zb_ctl_field *fields; /* every line before the status line, in order */
	size_t n_fields;
	const struct zb_ctl_record *records; /* the same fields split into records */
	size_t n_records;
};

/* The value of the first `key` in the record, or NULL. Owned by the reply. */
const char *zb_ctl_record_get(const struct zb_ctl_record *record, const char *key);

/*
 * 1 if the values of reply key `key` are text even when they look like
 * numbers: names, states, versions, messages, modes ("buffer", "state",
 * "version", "error", "mode"...); 0 for numeric keys and for keys this library
 * does not know; -EINVAL for NULL. For tools that turn replies into typed data
 * such as JSON.
 */
int zb_ctl_key_is_text(const char *key);

/*
 * Send one request line (no newline; at most ZB_CTL_LINE_MAX bytes, no NUL or
 * newline inside, else -EINVAL) and receive its reply. Returns 0 and sets *ret
 * whatever the reply's status (it is in (*ret)->status); an error only when no
 * well-formed reply arrived. The caller frees *ret with zb_ctl_reply_free().
 */
int zb_ctl_request(struct zb_ctl *ctl, const char *line, struct zb_ctl_reply **ret);

/* The two halves of zb_ctl_request(), for requests with many replies (`watch`):
 * send the line once, then receive each reply as it comes. */
int zb_ctl_send(struct zb_ctl *ctl, const char *line);
int zb_ctl_receive(struct zb_ctl *ctl, struct zb_ctl_reply **ret);

/* Free a reply. Accepts NULL. */
void zb_ctl_reply_free(struct zb_ctl_reply *reply);

/*
 * Ask zbd to create and own buffer `name`. `config` may be NULL; its zero
 * fields (and mode 0) leave the daemon's defaults. `group` (a group name, or
 * NULL for the daemon's default) owns the buffer's objects. Returns 0 or the
 * daemon's code (-EEXIST, -EPERM when not allowed, -EINVAL...); -EINVAL before
 * sending for a name or group that cannot travel in a request line (empty,
 * too long, containing '/', '=', white space).
 */
int zb_ctl_create(struct zb_ctl *ctl, const char *name, const struct zb_buffer_config *config,
		  const char *group);

/* Ask zbd to remove buffer `name`. Without `force` the daemon refuses with
 * -EBUSY while a peer is attached; with it, the peers are woken and told the
 * other side is gone. Returns 0 or the daemon's code (-ENOENT, -EPERM...). */
int zb_ctl_destroy(struct zb_ctl *ctl, const char *name, int force);

/*
 * The names of the buffers zbd owns: *ret_names is a NULL-terminated array of
 * *ret_count strings, in the daemon's order. Returns 0 or an error. The caller
 * frees the array and its strings with zb_ctl_list_free().
 */
int zb_ctl_list(struct zb_ctl *ctl, char ***ret_names, size_t *ret_count);

/* Free what zb_ctl_list() returned. Accepts NULL. */
void zb_ctl_list_free(char **names);

enum zb_health_state {
	ZB_HEALTH_UNKNOWN = 0, /* a state this library does not know (see state_text) */
	ZB_HEALTH_HEALTHY,     /* under 80 % used */
	ZB_HEALTH_DEGRADED,    /* under 95 % used */
	ZB_HEALTH_CRITICAL,    /* 95 % or more used */
	ZB_HEALTH_STALLED,     /* full, and the reader has not consumed for the stall time */
	ZB_HEALTH_CORRUPT,     /* the control block fails validation */
};

/* One buffer's health as zbd reports it. Keys the daemon did not send read 0. */
struct zb_health {
	char name[ZB_NAME_MAX + 1];
	enum zb_health_state state;
	char state_text[32]; /* the state as sent, e.g. "healthy" */
	uint64_t payload_size;
	uint64_t metadata_size;
	uint64_t used_bytes; /* of the payload ring */
	double utilisation;  /* used_bytes in percent of payload_size */
	int64_t reader_pid;  /* 0: none recorded */
	int reader_alive;    /* 1 if reader_pid names a live process */
	int64_t writer_pid;
	int writer_alive;
	uint64_t frames_written;
	uint64_t frames_read;
	uint64_t bytes_written;
	uint64_t bytes_read;
	double write_rate_fps; /* rates over the daemon's last scan interval */
	double read_rate_fps;
	double write_rate_bps; /* bytes per second */
	double read_rate_bps;
	uint64_t readers_reaped; /* dead readers zbd cleared from the control block */
	uint64_t writers_reaped;
	/* Frames dead readers had taken and not given back: an upper bound on what
	 * they took with them (held frames already delivered count too). */
	uint64_t frames_lost;
	uint64_t reserved[7]; /* room to grow without changing the size; zero */
};

/* The daemon's own record in a health reply. */
struct zb_daemon_health {
	char version[32];
	uint64_t uptime_s;
	uint64_t buffers; /* number of buffers the daemon owns */
	uint64_t reserved[4];
};

/*
 * Health of one buffer (`name`), or of all when `name` is NULL: *ret is an
 * array of *ret_count entries (NULL and 0 when there are none), freed by the
 * caller with zb_health_free(). `ret_daemon` may be NULL; when not, it gets
 * the daemon's record. Returns 0 or an error (-ENOENT for an unknown name).
 */
int zb_ctl_health(struct zb_ctl *ctl, const char *name, struct zb_health **ret, size_t *ret_count,
		  struct zb_daemon_health *ret_daemon);

/* The same decoding from a reply already received (each `watch` report).
 * Returns 0, the reply's status when it is not 0, -EPROTO for a buffer name
 * longer than ZB_NAME_MAX, or -ENOMEM. */
int zb_ctl_reply_health(const struct zb_ctl_reply *reply, struct zb_health **ret, size_t *ret_count,
			struct zb_daemon_health *ret_daemon);

/* Free what zb_ctl_health() returned. Accepts NULL. */
void zb_health_free(struct zb_health *health);

/* "healthy", "degraded", ... for a state; never NULL, never to be freed. */
const char *zb_health_state_name(enum zb_health_state state);

#ifdef __cplusplus
}
#endif

#endif
