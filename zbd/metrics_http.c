/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics.h"
#include "metrics_http.h"

#define HTTP_CONNECTIONS_MAX 16
#define HTTP_CONNECTIONS_PER_IP 4
#define HTTP_TIMEOUT_S 10

static const char index_page[] = "zbd: Prometheus metrics at /metrics\n";

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warning("metrics http: %s", msg);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, void *body, size_t len,
			      enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *res = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result r;

	if (!res) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(c, code, res);
	MHD_destroy_response(res);
	return r;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *t)
{
	return answer(c, code, (void *)t, strlen(t), MHD_RESPMEM_PERSISTENT,
		      "text/plain; charset=utf-8");
}

/* Called on zbd's loop (from MHD_run), so the buffers may be read as they are. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct zbd *d = cls;
	char *body;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (*upload_size != 0) /* a GET with a body: ignore it */
		*upload_size = 0;
	if (strcmp(url, "/") == 0)
		return text(c, MHD_HTTP_OK, index_page);
	if (strcmp(url, "/metrics") != 0)
		return text(c, MHD_HTTP_NOT_FOUND, "not found; the metrics are at /metrics\n");
	if (metrics_text(d, &body, &len) < 0)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return answer(c, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE, METRICS_CONTENT_TYPE);
}

static void rearm(struct zbd *d)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(d->loop, &d->http_timer);
	if (MHD_get_timeout(d->http, &ms) == MHD_YES) {
		ev_timer_set(&d->http_timer, ms / 1000.0, 0);
		ev_timer_start(d->loop, &d->http_timer);
	}
}

static void http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct zbd *d = container_of(w, struct zbd, http_io);

	MHD_run(d->http); /* external mode: handles what is ready, never waits */
	rearm(d);
}

static void http_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct zbd *d = container_of(w, struct zbd, http_timer);

	MHD_run(d->http);
	rearm(d);
}

static void log_address(const struct zbd *d)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->http, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (info && getsockname(info->listen_fd, (struct sockaddr *)&sa, &len) == 0) {
		if (sa.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host,
				  sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host,
				  sizeof(host));
			port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
		}
	}
	log_info("metrics: serving http://%s%s%s:%u/metrics", sa.ss_family == AF_INET6 ? "[" : "",
		 host, sa.ss_family == AF_INET6 ? "]" : "", port);
}

int metrics_http_start(struct zbd *d)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage sa;
	socklen_t len;

	if (!d->cfg.metrics_listen)
		return 0;
	if (config_parse_listen(d->cfg.metrics_listen, &sa, &len) < 0)
		return log_error_errno(-EINVAL, "metrics_listen: bad address %s",
				       d->cfg.metrics_listen);
	d->http = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_request, d, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)HTTP_CONNECTIONS_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)HTTP_TIMEOUT_S, MHD_OPTION_END);
	if (!d->http)
		return log_error_errno(-EADDRNOTAVAIL,
				       "metrics_listen: cannot serve HTTP on %s (in use, or not "
				       "an address of this host)",
				       d->cfg.metrics_listen);
	info = MHD_get_daemon_info(d->http, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		MHD_stop_daemon(d->http);
		d->http = NULL;
		return log_error_errno(-EIO,
				       "metrics_listen: libmicrohttpd has no epoll descriptor");
	}
	ev_io_init(&d->http_io, http_io_cb, info->epoll_fd, EV_READ);
	ev_io_start(d->loop, &d->http_io);
	ev_timer_init(&d->http_timer, http_timer_cb, 0, 0);
	rearm(d);
	log_address(d);
	return 0;
}

void metrics_http_stop(struct zbd *d)
{
	if (!d->http)
		return;
	ev_io_stop(d->loop, &d->http_io);
	ev_timer_stop(d->loop, &d->http_timer);
	MHD_stop_daemon(d->http);
	d->http = NULL;
}
