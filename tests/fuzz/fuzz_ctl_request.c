/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctl_request: zbd's control-request parser and dispatcher, ctl_dispatch()
 * (zbd/ctl_commands.c) as the server runs it for a client (ctl_client_request()
 * in zbd/ctl_server.c), fed the lines a client sends.
 *
 * Input: byte 0 picks the mode; the rest is the byte stream the client writes.
 *
 * Modes 0-3, one per identity (see identities[]): the stream is cut into lines
 * the way the server does (client_process() in zbd/ctl_server.c: '\n' ends a
 * line, a trailing '\r' is dropped, a NUL byte or a line over ZB_CTL_LINE_MAX
 * closes the connection). Each line is dispatched on a client whose replies go
 * through a socketpair that the harness reads back and checks: one well-formed
 * reply per request (key=value lines, error= on failure, status=N, an empty
 * line), none for a blank line or a started watch, and create/destroy always
 * refused to a client that is not an administrator, which never owns a
 * buffer afterwards.
 *
 * Modes 4-7: the real server path. The harness connects to the control socket
 * that ctl_listen() bound, sends the stream and turns zbd's loop
 * (EVRUN_NOWAIT) until it goes quiet, so accept, the bounded reads, the line
 * cutting, the NUL and over-long line refusals and the output queue are zbd's
 * own code. Every reply that comes back must be well formed, and zbd must have
 * freed the client once we hang up. The peer is this process (root in CI), so
 * this mode does not vary the identity. An administrator's create really creates the buffer
 * (segment, semaphores, lock file, under the fuzzer's name); every buffer is
 * destroyed again at the end of each input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_server.h"
#include "fuzz.h"
#include "registry.h"

#define MAX_LINES 32
#define ADMIN_GID 4242
#define REPLY_MAX (256 * 1024)
#define LOOP_TURNS_MAX 256
#define QUIET_TURNS 3

struct identity {
	uid_t uid;
	gid_t gid;
	gid_t admin_gid; /* the daemon's configured admin group */
	bool admin;
};

static const struct identity identities[] = {
	{ 0, 0, (gid_t)-1, true },	      /* root */
	{ 1000, ADMIN_GID, ADMIN_GID, true }, /* in the admin group */
	{ 1000, 1000, ADMIN_GID, false },     /* a user outside it */
	{ 65534, 65534, (gid_t)-1, false },   /* nobody, no admin group configured */
};

static struct zbd daemon_;
static int report_fd = 2;
static char reply[REPLY_MAX + 1];

/* zbd logs every refusal and creation on stderr; run.sh closes it with
 * -close_fd_mask=2 to keep fuzzing fast, so findings go to a copy of it. */
__attribute__((constructor)) static void keep_stderr(void)
{
	int fd = dup(2);

	if (fd >= 0)
		report_fd = fd;
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(report_fd, "fuzz_ctl_request: invariant failed: ");
	vdprintf(report_fd, fmt, ap);
	dprintf(report_fd, "\n");
	va_end(ap);
	abort();
}

static void never_called(struct ev_loop *loop, ev_timer *w, int revents)
{
	fail("a timer of the fuzzed client fired: the harness never runs the loop");
}

static void never_called_io(struct ev_loop *loop, ev_io *w, int revents)
{
	fail("an io watcher of the fuzzed client fired");
}

static struct ctl_client *client_new(const struct identity *id, int fd)
{
	struct ctl_client *c = calloc(1, sizeof(*c));

	if (!c)
		fail("out of memory");
	c->daemon = &daemon_;
	c->peer = (struct ctl_peer){ .fd = fd, .uid = id->uid, .gid = id->gid, .pid = getpid() };
	list_append(&daemon_.clients, &c->link);
	daemon_.n_clients++;
	/* As accept_one() sets them up, minus starting them: no loop runs here. */
	ev_io_init(&c->io, never_called_io, fd, EV_READ);
	ev_timer_init(&c->idle, never_called, 0, daemon_.cfg.client_idle_s);
	ev_timer_init(&c->watch, never_called, 0, 0);
	return c;
}

static void client_drop(struct ctl_client *c)
{
	ev_io_stop(daemon_.loop, &c->io);
	ev_timer_stop(daemon_.loop, &c->idle);
	ev_timer_stop(daemon_.loop, &c->watch);
	list_remove(&c->link);
	daemon_.n_clients--;
	free(c->out);
	free(c);
}

/* The first word of a line, as split_words() in ctl_commands.c sees it. */
static size_t first_word(const char *line, const char **ret)
{
	size_t n;

	line += strspn(line, " \t");
	n = strcspn(line, " \t");
	*ret = line;
	return n;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(w, s, n) == 0;
}

/* Everything the client has been sent so far. */
static size_t read_reply(int fd)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, reply + len, REPLY_MAX - len, MSG_DONTWAIT);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == REPLY_MAX)
			fail("reply over %d bytes", REPLY_MAX);
	}
	reply[len] = '\0';
	return len;
}

/* key=value lines, then error= (on failure) and status=N, then an empty line. */
static int check_reply(const char *req, size_t len)
{
	const char *p = reply, *end = reply + len, *last = NULL, *prev = NULL;
	long status;
	char *num_end;

	if (memchr(reply, '\0', len))
		fail("NUL byte in the reply to '%s'", req);
	if (len < 2 || end[-1] != '\n' || end[-2] != '\n')
		fail("reply to '%s' does not end in an empty line: '%s'", req, reply);
	while (p < end - 1) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t key = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");

		if (key == 0 || p[key] != '=')
			fail("reply to '%s' has a line that is not key=value: '%.*s'", req,
			     (int)(nl - p), p);
		prev = last;
		last = p;
		p = nl + 1;
	}
	if (strncmp(last, "status=", 7) != 0)
		fail("reply to '%s' does not end with its status line", req);
	errno = 0;
	status = strtol(last + 7, &num_end, 10);
	if (errno || *num_end != '\n' || status > 0)
		fail("reply to '%s' has a bad status line", req);
	if (status < 0 && (!prev || strncmp(prev, "error=", 6) != 0))
		fail("failed reply to '%s' has no error= line before its status", req);
	return (int)status;
}

static void run_line(struct ctl_client *c, const struct identity *id, int peer, const char *line,
		     size_t len)
{
	/* An exact-size copy: ASan sees any read past the end of the request. */
	char *buf = malloc(len + 1), *shown = malloc(len + 1);
	const char *word;
	size_t wlen, got;
	int status;

	if (!buf || !shown)
		fail("out of memory");
	memcpy(buf, line, len);
	buf[len] = '\0';
	memcpy(shown, buf, len + 1);
	wlen = first_word(shown, &word);

	ctl_client_request(c, buf);

	got = read_reply(peer);
	/* Replaying by hand: show what each request got. */
	if (getenv("ZBFUZZ_VERBOSE"))
		dprintf(report_fd, "> %s\n%s", shown, reply);
	if (wlen == 0 || c->watching) {
		if (got)
			fail("reply to '%s', which asks for none: '%s'", shown, reply);
	} else {
		if (!got)
			fail("no reply to '%s'", shown);
		status = check_reply(shown, got);
		/* Refused, if not for permission then for its syntax (parsed first). */
		if (!id->admin &&
		    (word_is(word, wlen, "create") || word_is(word, wlen, "destroy")) &&
		    status != -EACCES && status != -EINVAL)
			fail("'%s' from a non-administrator returned status %d", shown, status);
	}
	if (!id->admin && daemon_.n_buffers != 0)
		fail("'%s' from a non-administrator left %zu buffers", shown, daemon_.n_buffers);
	free(buf);
	free(shown);
}

/* Check and drop every complete reply at the start of reply[0, *len). */
static void take_replies(size_t *len)
{
	char *end;

	while ((end = memmem(reply, *len, "\n\n", 2))) {
		size_t n = (size_t)(end - reply) + 2;
		char saved = reply[n];

		reply[n] = '\0';
		if (getenv("ZBFUZZ_VERBOSE"))
			dprintf(report_fd, "< %s", reply);
		check_reply("(a request on the socket)", n);
		reply[n] = saved;
		memmove(reply, reply + n, *len - n);
		*len -= n;
	}
}

/* Receive what zbd sent; false once it has closed the connection. */
static bool receive(int fd, size_t *len)
{
	for (;;) {
		ssize_t n = recv(fd, reply + *len, REPLY_MAX - *len, MSG_DONTWAIT);

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		*len += (size_t)n;
		if (*len == REPLY_MAX)
			fail("a reply over %d bytes", REPLY_MAX);
		take_replies(len);
	}
}

static void run_socket(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t sent = 0, len = 0, clients = daemon_.n_clients;
	int fd, quiet = 0;

	if (daemon_.listen_fd < 0 && ctl_listen(&daemon_) < 0)
		fail("ctl_listen on %s failed", daemon_.socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", daemon_.socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail("connect %s: %s", daemon_.socket_path, strerror(errno));

	for (int turn = 0; turn < LOOP_TURNS_MAX && quiet < QUIET_TURNS; turn++) {
		size_t before = sent + len;
		bool open;

		if (sent < size) {
			ssize_t n = send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
		}
		ev_run(daemon_.loop, EVRUN_NOWAIT);
		open = receive(fd, &len);
		quiet = sent + len == before ? quiet + 1 : 0;
		if (!open)
			break;
	}
	if (len)
		fail("zbd sent %zu bytes that are not a complete reply", len);
	close(fd);
	/* zbd notices the hang-up on its next turns and frees the client. */
	for (int turn = 0; turn < QUIET_TURNS && daemon_.n_clients != clients; turn++)
		ev_run(daemon_.loop, EVRUN_NOWAIT);
	if (daemon_.n_clients != clients)
		fail("zbd kept the client after it hung up");
}

static void destroy_all(void)
{
	struct zbd_buffer *b, *tmp;

	list_for_each_safe(b, tmp, &daemon_.buffers, struct zbd_buffer, link) {
		int err = registry_destroy(&daemon_, b, true);

		if (err < 0)
			fail("forced destroy of %s failed: %d", b->name, err);
	}
	if (daemon_.n_buffers != 0 || !list_empty(&daemon_.buffers))
		fail("buffers left after destroying them all");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct identity *id;
	struct ctl_client *c;
	const char *p, *end;
	int sv[2];

	if (size < 1)
		return 0;
	fuzz_daemon_setup(&daemon_, "ctl");
	if (data[0] & 4) {
		run_socket(data + 1, size - 1);
		destroy_all();
		return 0;
	}
	id = &identities[data[0] % (sizeof(identities) / sizeof(identities[0]))];
	daemon_.cfg.admin_gid = id->admin_gid;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair: %s", strerror(errno));
	c = client_new(id, sv[0]);

	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (int n = 0; n < MAX_LINES && p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len;

		if (!nl)
			break; /* the server waits for the rest of the line */
		len = (size_t)(nl - p);
		/* The server closes the connection on these: nothing is dispatched. */
		if (len > ZB_CTL_LINE_MAX || memchr(p, '\0', len))
			break;
		run_line(c, id, sv[1], p, len && p[len - 1] == '\r' ? len - 1 : len);
		p = nl + 1;
		/* A watcher's stream is the reply; the server ignores what it sends. */
		if (c->watching || c->dead || c->closing)
			break;
	}

	client_drop(c);
	close(sv[0]);
	close(sv[1]);
	destroy_all();
	return 0;
}
