/* SPDX-License-Identifier: MIT */
/*
 * The control-socket client (doc/control-protocol.md). Replies are collected
 * whole in the handle's receive buffer and parsed only once their status line
 * is in: a wait cut short by a signal or a timeout loses nothing, and the
 * next zb_ctl_receive() picks up where the last one stopped.
 *
 * Tolerance where the protocol leaves room: "\r\n" line ends, empty lines
 * between replies, a missing empty line after the status line (the reply is
 * complete at its status line, so we never wait for that empty line), and a
 * positive status (taken as the negated errno it surely means).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlkeys.h"
#include "export.h"
#include "segment.h"
#include "wait.h"

#define DEFAULT_ROOT_SOCKET "/run/zbd/zbd.sock"
#define RECV_CHUNK 4096

struct zb_ctl {
	int fd;
	int timeout_ms;
	struct sockaddr_un addr; /* to reconnect after zbd closed an idle connection */
	char *buf;		 /* received, not yet handed out as a reply */
	size_t len;		 /* bytes in buf */
	size_t cap;
	char *last_error;
};

/* The reply as allocated; callers see only `pub`. */
struct reply {
	struct zb_ctl_reply pub;
	char *text;
	struct zb_ctl_field *fields;
	struct zb_ctl_record *records;
};

ZB_EXPORT int zb_ctl_default_socket(char *buf, size_t size)
{
	const char *env = getenv("ZBD_SOCKET"), *dir;
	char path[PATH_MAX];
	int n;

	if (!buf)
		return -EINVAL;
	if (env && *env)
		n = snprintf(path, sizeof(path), "%s", env);
	else if (geteuid() != 0 && (dir = getenv("XDG_RUNTIME_DIR")) && *dir)
		n = snprintf(path, sizeof(path), "%s/zbd.sock", dir);
	else
		n = snprintf(path, sizeof(path), "%s", DEFAULT_ROOT_SOCKET);
	/* Built aside first: the caller's buffer is written only when it all fits. */
	if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, path, (size_t)n + 1);
	return 0;
}

static void set_sndtimeo(int fd, int timeout_ms)
{
	struct timeval tv = { 0, 0 }; /* 0: wait forever */

	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A connected, non-blocking socket to `addr`, in *ret_fd. */
static int open_socket(const struct sockaddr_un *addr, int timeout_ms, int *ret_fd)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	/* A Unix connect blocks while the daemon's backlog is full; SO_SNDTIMEO
	 * bounds that wait (the kernel then reports EAGAIN). */
	set_sndtimeo(fd, timeout_ms);
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		err = errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto fail;
	}
	/* From here on every wait goes through poll() with a deadline. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		goto fail;
	}
	*ret_fd = fd;
	return 0;

fail:
	close(fd);
	return err;
}

ZB_EXPORT int zb_ctl_connect(struct zb_ctl **ret, const char *socket_path)
{
	struct zb_ctl *ctl;
	int err;

	if (!ret || (socket_path && !*socket_path))
		return -EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->timeout_ms = ZB_CTL_TIMEOUT_MS;
	ctl->addr.sun_family = AF_UNIX;
	if (socket_path) {
		err = -ENAMETOOLONG;
		if (strlen(socket_path) >= sizeof(ctl->addr.sun_path))
			goto fail;
		strcpy(ctl->addr.sun_path, socket_path);
	} else {
		err = zb_ctl_default_socket(ctl->addr.sun_path, sizeof(ctl->addr.sun_path));
		if (err < 0)
			goto fail;
	}
	err = open_socket(&ctl->addr, ctl->timeout_ms, &ctl->fd);
	if (err < 0)
		goto fail;
	*ret = ctl;
	return 0;

fail:
	free(ctl);
	return err;
}

/* zbd closes connections that stay idle: open a new one under the same
 * descriptor number, so a caller polling zb_ctl_fd() keeps a valid fd. */
static int reopen(struct zb_ctl *ctl)
{
	int fd, err = open_socket(&ctl->addr, ctl->timeout_ms, &fd);

	if (err < 0)
		return err;
	if (dup3(fd, ctl->fd, O_CLOEXEC) < 0)
		err = -errno;
	close(fd);
	ctl->len = 0;
	return err;
}

ZB_EXPORT int zb_ctl_set_timeout(struct zb_ctl *ctl, int timeout_ms)
{
	if (!ctl || timeout_ms == 0)
		return -EINVAL;
	ctl->timeout_ms = timeout_ms;
	return 0;
}

ZB_EXPORT int zb_ctl_fd(struct zb_ctl *ctl)
{
	return ctl ? ctl->fd : -EINVAL;
}

ZB_EXPORT const char *zb_ctl_last_error(struct zb_ctl *ctl)
{
	return ctl ? ctl->last_error : NULL;
}

ZB_EXPORT void zb_ctl_close(struct zb_ctl *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	free(ctl->buf);
	free(ctl->last_error);
	free(ctl);
}

/* Wait for `events` on the socket until the deadline: 0, -ETIMEDOUT or -EINTR. */
static int wait_fd(struct zb_ctl *ctl, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = ctl->fd, .events = events };
	int64_t left_ms;
	int r;

	if (deadline == INT64_MAX) {
		left_ms = -1;
	} else {
		left_ms = (deadline - clock_now_ns() + 999999) / 1000000;
		if (left_ms <= 0)
			return -ETIMEDOUT;
		if (left_ms > INT_MAX)
			left_ms = INT_MAX;
	}
	r = poll(&pfd, 1, (int)left_ms);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

ZB_EXPORT int zb_ctl_send(struct zb_ctl *ctl, const char *line)
{
	int64_t deadline;
	size_t len, off = 0;
	bool reopened = false;
	char *msg;
	int err = 0;

	if (!ctl || !line)
		return -EINVAL;
	len = strnlen(line, ZB_CTL_LINE_MAX + 1);
	if (len == 0 || len > ZB_CTL_LINE_MAX || strchr(line, '\n'))
		return -EINVAL;
	msg = malloc(len + 1);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, line, len);
	msg[len] = '\n';
	deadline = deadline_from_ms(ctl->timeout_ms);
	while (off < len + 1) {
		/* MSG_NOSIGNAL: a library must not kill its caller with SIGPIPE. */
		ssize_t n = send(ctl->fd, msg + off, len + 1 - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EAGAIN) {
			err = wait_fd(ctl, POLLOUT, deadline);
			if (err < 0)
				break;
			continue;
		}
		if (errno == EINTR)
			continue;
		/* Nothing of this request reached a daemon that had already closed
		 * (and no reply is pending): reconnecting once and sending again is safe. */
		if ((errno == EPIPE || errno == ECONNRESET) && off == 0 && ctl->len == 0 &&
		    !reopened) {
			reopened = true;
			err = reopen(ctl);
			if (err < 0)
				break;
			continue;
		}
		err = errno == EPIPE ? -ECONNRESET : -errno;
		break;
	}
	free(msg);
	return err;
}

/* The line at buf[pos..], without its "\n" or "\r\n"; *next is the next line. */
static size_t line_at(const char *buf, size_t pos, const char *nl, size_t *next)
{
	size_t end = (size_t)(nl - buf);

	*next = end + 1;
	if (end > pos && buf[end - 1] == '\r')
		end--;
	return end - pos;
}

static bool is_status(const char *line, size_t len)
{
	size_t n = strlen(CTLKEY_STATUS);

	return len > n && memcmp(line, CTLKEY_STATUS, n) == 0 && line[n] == '=';
}

/*
 * Look for one whole reply at the start of the buffer. Returns 1 with
 * [*start, *end) the reply's lines (the status line included), 0 when more
 * bytes are needed, -EPROTO when what is there can never be a valid reply.
 */
static int find_reply(const struct zb_ctl *ctl, size_t *start, size_t *end)
{
	size_t pos = 0, next;
	bool started = false;

	if (ctl->len == 0) /* nothing received yet: buf may still be NULL */
		return 0;
	for (;;) {
		const char *nl = memchr(ctl->buf + pos, '\n', ctl->len - pos);
		size_t len;

		if (!nl)
			return 0;
		len = line_at(ctl->buf, pos, nl, &next);
		if (memchr(ctl->buf + pos, '\0', len))
			return -EPROTO;
		if (len == 0) {
			/* Between replies an empty line is the terminator we did not wait
			 * for; inside one it means the status line is missing. */
			if (started)
				return -EPROTO;
		} else {
			if (!started)
				*start = pos;
			started = true;
			if (!memchr(ctl->buf + pos, '=', len))
				return -EPROTO;
			if (is_status(ctl->buf + pos, len)) {
				*end = next;
				return 1;
			}
		}
		pos = next;
	}
}

static int parse_status(const char *value, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (errno || end == value || *end || v < INT_MIN || v > INT_MAX || v == INT_MIN)
		return -EPROTO;
	*ret = v > 0 ? (int)-v : (int)v;
	return 0;
}

static bool starts_record(const char *key)
{
	return strcmp(key, CTLKEY_DAEMON_NAME) == 0 || strcmp(key, CTLKEY_BUFFER_NAME) == 0;
}

/* Build the reply from the lines in text[0..size) (a private copy). */
static int parse_reply(char *text, size_t size, struct reply *rep)
{
	size_t n_lines = 0, n_fields = 0, n_records = 0;
	char *p = text, *line;

	for (size_t i = 0; i < size; i++)
		n_lines += text[i] == '\n';
	rep->fields = calloc(n_lines ? n_lines : 1, sizeof(*rep->fields));
	rep->records = calloc(n_lines ? n_lines : 1, sizeof(*rep->records));
	if (!rep->fields || !rep->records)
		return -ENOMEM;
	while ((line = strsep(&p, "\n")) && p) {
		size_t len = strlen(line);
		char *eq;

		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0)
			continue; /* empty lines before the reply */
		eq = strchr(line, '=');
		*eq = '\0';
		if (strcmp(line, CTLKEY_STATUS) == 0)
			return parse_status(eq + 1, &rep->pub.status);
		if (strcmp(line, CTLKEY_ERROR) == 0 && !rep->pub.error)
			rep->pub.error = eq + 1;
		rep->fields[n_fields] = (struct zb_ctl_field){ line, eq + 1 };
		if (n_records == 0 || starts_record(line)) {
			rep->records[n_records].fields = &rep->fields[n_fields];
			n_records++;
		}
		rep->records[n_records - 1].n_fields++;
		rep->pub.n_fields = ++n_fields;
		rep->pub.n_records = n_records;
	}
	return -EPROTO; /* find_reply() saw a status line: unreachable */
}

ZB_EXPORT void zb_ctl_reply_free(struct zb_ctl_reply *reply)
{
	struct reply *rep = (struct reply *)reply;

	if (!rep)
		return;
	free(rep->text);
	free(rep->fields);
	free(rep->records);
	free(rep);
}

/* Take the reply in buf[start..end) out of the buffer and parse it. */
static int take_reply(struct zb_ctl *ctl, size_t start, size_t end, struct zb_ctl_reply **ret)
{
	struct reply *rep = calloc(1, sizeof(*rep));
	int err;

	if (!rep)
		return -ENOMEM;
	rep->text = malloc(end - start + 1);
	if (!rep->text) {
		free(rep);
		return -ENOMEM;
	}
	memcpy(rep->text, ctl->buf + start, end - start);
	rep->text[end - start] = '\0';
	memmove(ctl->buf, ctl->buf + end, ctl->len - end);
	ctl->len -= end;
	err = parse_reply(rep->text, end - start, rep);
	if (err < 0) {
		zb_ctl_reply_free(&rep->pub);
		return err;
	}
	rep->pub.fields = rep->fields;
	rep->pub.records = rep->records;
	free(ctl->last_error);
	ctl->last_error = rep->pub.error ? strdup(rep->pub.error) : NULL;
	*ret = &rep->pub;
	return 0;
}

/* Only blank lines (or nothing) in the buffer: a clean end of the stream. */
static bool buffer_blank(const struct zb_ctl *ctl)
{
	for (size_t i = 0; i < ctl->len; i++)
		if (ctl->buf[i] != '\n' && ctl->buf[i] != '\r')
			return false;
	return true;
}

ZB_EXPORT int zb_ctl_receive(struct zb_ctl *ctl, struct zb_ctl_reply **ret)
{
	int64_t deadline;
	size_t start = 0, end = 0;
	int found;

	if (!ctl || !ret)
		return -EINVAL;
	deadline = deadline_from_ms(ctl->timeout_ms);
	for (;;) {
		ssize_t n;
		int err;

		found = find_reply(ctl, &start, &end);
		if (found < 0)
			return found;
		if (found)
			return take_reply(ctl, start, end, ret);
		if (ctl->len >= ZB_CTL_REPLY_MAX)
			return -EPROTO;
		if (ctl->cap - ctl->len < RECV_CHUNK) {
			size_t cap = ctl->cap ? ctl->cap * 2 : 2 * RECV_CHUNK;
			char *buf;

			if (cap > ZB_CTL_REPLY_MAX)
				cap = ZB_CTL_REPLY_MAX;
			buf = realloc(ctl->buf, cap);
			if (!buf)
				return -ENOMEM;
			ctl->buf = buf;
			ctl->cap = cap;
		}
		n = recv(ctl->fd, ctl->buf + ctl->len, ctl->cap - ctl->len, 0);
		if (n > 0) {
			ctl->len += (size_t)n;
			continue;
		}
		if (n == 0) /* the daemon hung up: cleanly, or in the middle of a reply */
			return buffer_blank(ctl) ? -ECONNRESET : -EPROTO;
		if (errno == EINTR)
			return -EINTR;
		if (errno != EAGAIN)
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		err = wait_fd(ctl, POLLIN, deadline);
		if (err < 0)
			return err;
	}
}

ZB_EXPORT int zb_ctl_request(struct zb_ctl *ctl, const char *line, struct zb_ctl_reply **ret)
{
	int err;

	if (!ctl || !line || !ret)
		return -EINVAL;
	err = zb_ctl_send(ctl, line);
	if (err < 0)
		return err;
	return zb_ctl_receive(ctl, ret);
}

ZB_EXPORT const char *zb_ctl_record_get(const struct zb_ctl_record *record, const char *key)
{
	if (!record || !key)
		return NULL;
	for (size_t i = 0; i < record->n_fields; i++)
		if (strcmp(record->fields[i].key, key) == 0)
			return record->fields[i].value;
	return NULL;
}

ZB_EXPORT int zb_ctl_key_is_text(const char *key)
{
	const struct ctlkey *k;

	if (!key)
		return -EINVAL;
	k = ctlkeys_find(key);
	/* A mode is written in octal: a number to no one who reads it as JSON. */
	return k && (k->type == CTLKEY_TEXT || k->type == CTLKEY_OCTAL);
}

/* A request and only its status: for the calls that return nothing else. */
static int request_status(struct zb_ctl *ctl, const char *line)
{
	struct zb_ctl_reply *reply;
	int err = zb_ctl_request(ctl, line, &reply);

	if (err < 0)
		return err;
	err = reply->status;
	zb_ctl_reply_free(reply);
	return err;
}

/* A word that travels intact in a request line: words split at white space,
 * and a '=' would turn a name into an option. */
static bool word_ok(const char *word, size_t max)
{
	size_t len;

	if (!word)
		return false;
	len = strnlen(word, max + 1);
	if (len == 0 || len > max)
		return false;
	for (const unsigned char *c = (const unsigned char *)word; *c; c++)
		if (*c <= ' ' || *c == '=' || *c == 0x7f)
			return false;
	return true;
}

ZB_EXPORT int zb_ctl_create(struct zb_ctl *ctl, const char *name,
			    const struct zb_buffer_config *config, const char *group)
{
	char line[ZB_CTL_LINE_MAX + 1];
	size_t n;

	if (!ctl || zb_name_check(name) < 0 ||
	    (group && (!word_ok(group, 256) || strchr(group, '/'))))
		return -EINVAL;
	if (config && (config->mode & ~(mode_t)07777))
		return -EINVAL;
	n = (size_t)snprintf(line, sizeof(line), "create %s", name);
	if (config && config->payload_size)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " payload=%llu",
				      (unsigned long long)config->payload_size);
	if (config && config->metadata_size)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " metadata=%llu",
				      (unsigned long long)config->metadata_size);
	if (config && config->mode)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " mode=0%o",
				      (unsigned)config->mode);
	if (group)
		snprintf(line + n, sizeof(line) - n, " group=%s", group);
	/* Name (200) and group (256) plus the rest stay far below the line cap. */
	return request_status(ctl, line);
}

ZB_EXPORT int zb_ctl_destroy(struct zb_ctl *ctl, const char *name, int force)
{
	char line[ZB_CTL_LINE_MAX + 1];

	if (!ctl || zb_name_check(name) < 0)
		return -EINVAL;
	snprintf(line, sizeof(line), "destroy %s%s", name, force ? " force" : "");
	return request_status(ctl, line);
}

ZB_EXPORT void zb_ctl_list_free(char **names)
{
	if (!names)
		return;
	for (char **n = names; *n; n++)
		free(*n);
	free(names);
}

ZB_EXPORT int zb_ctl_list(struct zb_ctl *ctl, char ***ret_names, size_t *ret_count)
{
	struct zb_ctl_reply *reply;
	char **names;
	size_t count = 0;
	int err;

	if (!ctl || !ret_names || !ret_count)
		return -EINVAL;
	err = zb_ctl_request(ctl, "list", &reply);
	if (err < 0)
		return err;
	if (reply->status < 0) {
		err = reply->status;
		goto out;
	}
	names = calloc(reply->n_fields + 1, sizeof(*names));
	if (!names) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < reply->n_fields; i++) {
		if (strcmp(reply->fields[i].key, CTLKEY_BUFFER_NAME) != 0)
			continue;
		names[count] = strdup(reply->fields[i].value);
		if (!names[count]) {
			zb_ctl_list_free(names);
			err = -ENOMEM;
			goto out;
		}
		count++;
	}
	*ret_names = names;
	*ret_count = count;
out:
	zb_ctl_reply_free(reply);
	return err;
}

static const char *const state_names[] = {
	[ZB_HEALTH_UNKNOWN] = "unknown",   [ZB_HEALTH_HEALTHY] = "healthy",
	[ZB_HEALTH_DEGRADED] = "degraded", [ZB_HEALTH_CRITICAL] = "critical",
	[ZB_HEALTH_STALLED] = "stalled",   [ZB_HEALTH_CORRUPT] = "corrupt",
};

ZB_EXPORT const char *zb_health_state_name(enum zb_health_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return state_names[ZB_HEALTH_UNKNOWN];
	return state_names[state];
}

/* Every key of one record kind the table knows, from `rec` into `out`. */
static void parse_record(enum ctlkey_record kind, const struct zb_ctl_record *rec, void *out)
{
	size_t n;
	const struct ctlkey *k = ctlkeys_of(kind, &n);

	for (size_t i = 0; i < n; i++)
		ctlkey_parse(&k[i], zb_ctl_record_get(rec, k[i].key), out);
}

static int health_from_record(const struct zb_ctl_record *rec, struct zb_health *ret)
{
	struct health_buffer h = { 0 };

	if (strlen(zb_ctl_record_get(rec, CTLKEY_BUFFER_NAME)) > ZB_NAME_MAX)
		return -EPROTO;
	parse_record(CTLKEY_BUFFER, rec, &h);
	for (size_t i = 1; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(h.pub.state_text, state_names[i]) == 0)
			h.pub.state = (enum zb_health_state)i;
	*ret = h.pub;
	return 0;
}

ZB_EXPORT void zb_health_free(struct zb_health *health)
{
	free(health);
}

ZB_EXPORT int zb_ctl_reply_health(const struct zb_ctl_reply *reply, struct zb_health **ret,
				  size_t *ret_count, struct zb_daemon_health *ret_daemon)
{
	struct health_daemon daemon = { .daemon = "" };
	struct zb_health *h = NULL;
	size_t count = 0;

	if (!reply || !ret || !ret_count)
		return -EINVAL;
	if (reply->status < 0)
		return reply->status;
	for (size_t i = 0; i < reply->n_records; i++)
		count += strcmp(reply->records[i].fields[0].key, CTLKEY_BUFFER_NAME) == 0;
	if (count) {
		h = calloc(count, sizeof(*h));
		if (!h)
			return -ENOMEM;
	}
	count = 0;
	for (size_t i = 0; i < reply->n_records; i++) {
		const struct zb_ctl_record *rec = &reply->records[i];

		if (strcmp(rec->fields[0].key, CTLKEY_BUFFER_NAME) == 0) {
			int err = health_from_record(rec, &h[count]);

			if (err < 0) {
				free(h);
				return err;
			}
			count++;
		} else if (strcmp(rec->fields[0].key, CTLKEY_DAEMON_NAME) == 0) {
			parse_record(CTLKEY_DAEMON, rec, &daemon);
		}
	}
	*ret = h;
	*ret_count = count;
	if (ret_daemon)
		*ret_daemon = daemon.pub;
	return 0;
}

ZB_EXPORT int zb_ctl_health(struct zb_ctl *ctl, const char *name, struct zb_health **ret,
			    size_t *ret_count, struct zb_daemon_health *ret_daemon)
{
	char line[ZB_CTL_LINE_MAX + 1] = "health";
	struct zb_ctl_reply *reply;
	int err;

	if (!ctl || !ret || !ret_count || (name && zb_name_check(name) < 0))
		return -EINVAL;
	if (name)
		snprintf(line, sizeof(line), "health %s", name);
	err = zb_ctl_request(ctl, line, &reply);
	if (err < 0)
		return err;
	err = zb_ctl_reply_health(reply, ret, ret_count, ret_daemon);
	zb_ctl_reply_free(reply);
	return err;
}
