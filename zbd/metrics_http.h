/* SPDX-License-Identifier: MIT */
/*
 * The optional HTTP listener for Prometheus (metrics_listen= in zbd.conf; off
 * by default): GET /metrics answers with metrics_text(). libmicrohttpd does
 * the HTTP; it runs in its external mode on zbd's own loop (its epoll
 * descriptor watched by an ev_io, its timeouts by an ev_timer), so the health
 * it reads is never read from another thread, and nothing blocks: sockets are
 * non-blocking, connections are few and time out.
 */
#pragma once

#include "model.h"

/* Start listening on cfg.metrics_listen if set; 0, or a negative errno (logged). */
int metrics_http_start(struct zbd *d);

/* Stop listening and close every HTTP connection; fine when not started. */
void metrics_http_stop(struct zbd *d);
