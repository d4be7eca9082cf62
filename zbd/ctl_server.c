/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_commands.h"
#include "ctl_server.h"
#include "log.h"
#include "ratelimit.h"

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents);

static void client_free(struct ctl_client *c)
{
	struct zbd *d = c->daemon;

	ev_io_stop(d->loop, &c->io);
	ev_timer_stop(d->loop, &c->idle);
	ev_timer_stop(d->loop, &c->watch);
	close(c->peer.fd);
	list_remove(&c->link);
	d->n_clients--;
	free(c->out);
	free(c);
}

static size_t out_pending(const struct ctl_client *c)
{
	return c->out_len - c->out_off;
}

/* Read while requests are welcome and output is not piling up; write while
 * output waits. Changing the events of a started ev_io needs stop/set/start. */
static void client_update_io(struct ctl_client *c)
{
	struct ev_loop *loop = c->daemon->loop;
	int events = 0;

	if (!c->closing && out_pending(c) < CTL_OUTPUT_PAUSE)
		events |= EV_READ;
	if (out_pending(c))
		events |= EV_WRITE;
	if (events == (c->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&c->io))
		return;
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->peer.fd, events);
	if (events)
		ev_io_start(loop, &c->io);
}

static void client_flush(struct ctl_client *c)
{
	while (out_pending(c)) {
		ssize_t n = send(c->peer.fd, c->out + c->out_off, out_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->dead = true; /* the peer hung up */
			break;
		}
		c->out_off += (size_t)n;
		if (!c->watching)
			ev_timer_again(c->daemon->loop, &c->idle);
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->closing && !out_pending(c))
		c->dead = true;
}

static void client_send(struct ctl_client *c, const char *data, size_t len)
{
	if (c->dead)
		return;
	/* A reply is always taken when nothing waits (a health report of
	 * thousands of buffers may alone exceed the cap); what piles up behind
	 * unread output is what the cap is for. */
	if (out_pending(c) > 0 && out_pending(c) + len > CTL_OUTPUT_MAX) {
		log_info_ratelimited(
			"control client pid %d dropped: over %d bytes of output unread",
			(int)c->peer.pid, CTL_OUTPUT_MAX);
		c->dead = true;
		return;
	}
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			c->dead = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	client_flush(c);
}

/* Queue a reply: the body of `r`, `error=` when status < 0, `status=`, an empty line. */
static void client_reply(struct ctl_client *c, struct reply *r, int status)
{
	if (r->oom)
		status = reply_fail(r, -ENOMEM, "out of memory");
	if (status < 0) {
		/* A failed request's partial records would only mislead. */
		r->len = 0;
		reply_printf(r, "error=%s\n", r->error[0] ? r->error : log_strerror(status));
	}
	reply_printf(r, "status=%d\n\n", status);
	if (r->oom) {
		static const char oom[] = "error=out of memory\nstatus=-12\n\n";

		client_send(c, oom, sizeof(oom) - 1);
		return;
	}
	client_send(c, r->data, r->len);
}

static void client_error_close(struct ctl_client *c, int status, const char *text)
{
	struct reply r;

	reply_init(&r);
	reply_fail(&r, status, "%s", text);
	client_reply(c, &r, status);
	reply_free(&r);
	c->closing = true;
	c->in_len = 0;
	client_flush(c);
}

/* Run every complete line in the input buffer. */
static void client_process(struct ctl_client *c)
{
	char *nl;

	while (!c->dead && !c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = (size_t)(nl - c->in);

		if (memchr(c->in, '\0', len)) {
			client_error_close(c, -EINVAL, "NUL byte in request");
			return;
		}
		*nl = '\0';
		if (len && c->in[len - 1] == '\r')
			c->in[len - 1] = '\0';
		/* A watcher's stream is the reply; what it sends is ignored. */
		if (!c->watching)
			ctl_client_request(c, c->in);
		c->in_len -= len + 1;
		memmove(c->in, nl + 1, c->in_len);
	}
	if (!c->closing && c->in_len == sizeof(c->in)) {
		log_info_ratelimited("control client pid %d: request line over %d bytes",
				     (int)c->peer.pid, ZB_CTL_LINE_MAX);
		client_error_close(c, -EMSGSIZE, "request line too long");
	}
}

static void client_read(struct ctl_client *c)
{
	ssize_t n;

	/* One read per wake-up: a client that talks fast cannot starve the rest. */
	n = recv(c->peer.fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = true;
		return;
	}
	if (n == 0) {
		c->dead = true;
		return;
	}
	c->in_len += (size_t)n;
	if (!c->watching)
		ev_timer_again(c->daemon->loop, &c->idle);
	client_process(c);
}

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = container_of(w, struct ctl_client, io);

	if (revents & EV_WRITE)
		client_flush(c);
	if ((revents & EV_READ) && !c->dead)
		client_read(c);
	if (c->dead) {
		client_free(c);
		return;
	}
	client_update_io(c);
}

static void client_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *c = container_of(w, struct ctl_client, idle);

	log_debug_ratelimited("control client pid %d closed: idle", (int)c->peer.pid);
	client_free(c);
}

static void client_watch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *c = container_of(w, struct ctl_client, watch);
	struct reply r;
	int status;

	reply_init(&r);
	status = ctl_write_health(c->daemon, &r, NULL);
	client_reply(c, &r, status);
	reply_free(&r);
	if (c->dead) {
		client_free(c);
		return;
	}
	client_update_io(c);
}

/* Push a health reply every interval_ms until the client hangs up. */
static void client_watch(struct ctl_client *c, unsigned interval_ms)
{
	struct ev_loop *loop = c->daemon->loop;

	c->watching = true;
	ev_timer_stop(loop, &c->idle);
	/* The first report at once, then one per interval. */
	ev_timer_set(&c->watch, 0, interval_ms / 1000.0);
	ev_timer_start(loop, &c->watch);
}

void ctl_client_request(struct ctl_client *c, char *line)
{
	unsigned watch_ms = 0;
	struct reply r;
	int status;

	reply_init(&r);
	status = ctl_dispatch(c->daemon, &c->peer, line, &r, &watch_ms);
	if (status == CTL_WATCH)
		client_watch(c, watch_ms);
	else if (status != CTL_NO_REPLY)
		client_reply(c, &r, status);
	reply_free(&r);
}

/* A connection turned away gets a reply that says why, then EOF. */
static void send_refusal(int fd, int status, const char *why)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "error=%s\nstatus=%d\n\n", why, status);

	if (n > 0 && (size_t)n < sizeof(msg))
		(void)!send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static size_t clients_of(const struct zbd *d, uid_t uid)
{
	const struct ctl_client *c, *tmp;
	size_t n = 0;

	list_for_each_safe(c, tmp, &d->clients, struct ctl_client, link)
		n += c->peer.uid == uid;
	return n;
}

/*
 * Whether a new client may stay, or why not (and with which status). The
 * descriptors left to clients (fdbudget.h) are shared: one user may hold at
 * most half of them, so a user who connects again and again cannot lock out
 * the others, nor an administrator who comes to clean up.
 */
static int client_admit(const struct zbd *d, int fd, uid_t uid, const char **ret_why)
{
	size_t slots = fdbudget_client_slots(&d->fds), per_uid;

	if (slots > CTL_CLIENTS_MAX)
		slots = CTL_CLIENTS_MAX;
	per_uid = slots / 2 ? slots / 2 : 1;
	if (d->n_clients >= CTL_CLIENTS_MAX) {
		*ret_why = "too many control clients";
		return -EUSERS;
	}
	if (!fdbudget_allows(&d->fds, fd, FD_USE_CLIENT)) {
		*ret_why = "zbd is short of file descriptors";
		return -EMFILE;
	}
	if (clients_of(d, uid) >= per_uid) {
		*ret_why = "too many control connections from this user";
		return -EUSERS;
	}
	return 0;
}

static void accept_one(struct zbd *d, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_client *c;
	const char *why;
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warning_errno_ratelimited(-errno,
					      "control client refused: no peer credentials");
		close(fd);
		return;
	}
	err = client_admit(d, fd, cred.uid, &why);
	if (err < 0) {
		log_warning_ratelimited("control client uid %u pid %d refused: %s (%zu connected)",
					(unsigned)cred.uid, (int)cred.pid, why, d->n_clients);
		send_refusal(fd, err, why);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->daemon = d;
	c->peer = (struct ctl_peer){ .fd = fd, .uid = cred.uid, .gid = cred.gid, .pid = cred.pid };
	list_append(&d->clients, &c->link);
	d->n_clients++;
	ev_io_init(&c->io, client_io_cb, fd, EV_READ);
	ev_io_start(d->loop, &c->io);
	ev_timer_init(&c->idle, client_idle_cb, 0, d->cfg.client_idle_s);
	ev_timer_again(d->loop, &c->idle);
	ev_timer_init(&c->watch, client_watch_cb, 0, 0);
}

/* Accepted on the reserve descriptor: told, and closed at once. */
static void refuse_spare(int fd, void *ctx)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	log_warning_ratelimited("control client uid %u pid %d refused: zbd is out of file "
				"descriptors (limit %lu)",
				(unsigned)cred.uid, (int)cred.pid, fdbudget_limit());
	send_refusal(fd, -EMFILE, "zbd is out of file descriptors");
}

#define ACCEPT_BACKOFF_S 0.1

/* accept() keeps failing: leave the socket alone for a while rather than
 * spin on a readiness that nothing can clear. */
static void accept_back_off(struct zbd *d)
{
	ev_io_stop(d->loop, &d->listen_watcher);
	ev_timer_set(&d->accept_backoff, ACCEPT_BACKOFF_S, 0);
	ev_timer_start(d->loop, &d->accept_backoff);
}

static void accept_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct zbd *d = container_of(w, struct zbd, accept_backoff);

	fdbudget_refill(&d->fds);
	ev_io_start(loop, &d->listen_watcher);
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct zbd *d = container_of(w, struct zbd, listen_watcher);

	/* A bounded batch per wake-up, so a connection storm cannot starve the loop. */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;

		if (fd >= 0) {
			accept_one(d, fd);
			continue;
		}
		err = -errno;
		if (err == -EAGAIN || err == -EINTR || err == -ECONNABORTED)
			return;
		if (err == -EMFILE || err == -ENFILE) {
			err = fdbudget_accept_spare(&d->fds, d->listen_fd, refuse_spare, NULL);
			if (err == 0)
				continue;
			if (err == -EAGAIN)
				return;
		}
		log_warning_errno_ratelimited(err, "accept on control socket; retrying in %.0f ms",
					      ACCEPT_BACKOFF_S * 1000);
		accept_back_off(d);
		return;
	}
}

/* An existing socket file: another zbd answering on it, or a stale leftover. */
static int check_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return log_error_errno(-EEXIST, "%s exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		r = log_error_errno(-EADDRINUSE, "another zbd is listening on %s", path);
	else if (unlink(path) < 0)
		r = log_error_errno(-errno, "cannot remove stale socket %s", path);
	close(fd);
	return r;
}

static int bind_socket(struct zbd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(d->socket_path) >= sizeof(sa.sun_path))
		return log_error_errno(-ENAMETOOLONG, "socket path %s", d->socket_path);
	r = check_stale_socket(d->socket_path);
	if (r < 0)
		return r;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_error_errno(-errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = log_error_errno(-errno, "cannot bind %s", d->socket_path);
		goto fail;
	}
	d->socket_ours = true;
	/* Anyone who can reach the directory may ask for health; what they may
	 * change is decided per request from their credentials. */
	if (chmod(d->socket_path, 0666) < 0 || listen(fd, 64) < 0) {
		r = log_error_errno(-errno, "cannot listen on %s", d->socket_path);
		goto fail;
	}
	d->listen_fd = fd;
	return 0;

fail:
	if (d->socket_ours)
		unlink(d->socket_path);
	d->socket_ours = false;
	close(fd);
	return r;
}

int ctl_listen(struct zbd *d)
{
	int r;

	if (d->activation_fd >= 0) {
		int fd = d->activation_fd;

		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
			return log_error_errno(-EINVAL, "the socket from systemd is not a "
							"listening Unix stream socket");
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			return log_error_errno(-errno, "socket from systemd");
		d->listen_fd = fd;
		d->activation_fd = -1;
		log_info("listening on the socket systemd passed");
	} else {
		r = bind_socket(d);
		if (r < 0)
			return r;
		log_info("listening on %s", d->socket_path);
	}
	fdbudget_init(&d->fds);
	ev_io_init(&d->listen_watcher, listen_cb, d->listen_fd, EV_READ);
	ev_io_start(d->loop, &d->listen_watcher);
	ev_timer_init(&d->accept_backoff, accept_backoff_cb, 0, 0);
	return 0;
}

void ctl_shutdown(struct zbd *d)
{
	struct ctl_client *c, *tmp;

	list_for_each_safe(c, tmp, &d->clients, struct ctl_client, link)
		client_free(c);
	if (d->listen_fd >= 0) {
		ev_io_stop(d->loop, &d->listen_watcher);
		ev_timer_stop(d->loop, &d->accept_backoff);
		fdbudget_close(&d->fds);
		close(d->listen_fd);
		d->listen_fd = -1;
	}
	if (d->socket_ours)
		unlink(d->socket_path);
	d->socket_ours = false;
}
