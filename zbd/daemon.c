/* SPDX-License-Identifier: MIT */
/*
 * The daemon's life: configuration, the control socket, adopting and creating
 * buffers, then the loop (scan timer, signals, watchdog) until SIGTERM/SIGINT.
 * Stopping leaves every buffer in place: peers keep streaming, and the next
 * zbd adopts them from the state file.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_server.h"
#include "daemon.h"
#include "fdstore.h"
#include "foreign.h"
#include "health.h"
#include "log.h"
#include "metrics_http.h"
#include "notify.h"
#include "ratelimit.h"
#include "reaper.h"
#include "registry.h"

#define RUN_DIR_ROOT "/run/zbd"
#define STATE_FILE "zbd.state"

/* The registry's news: the set of buffers changed, which STATUS= shows. */
static void buffers_changed(void *ctx)
{
	notify_status(ctx);
}

static void scan_buffer(struct zbd_buffer *b, ev_tstamp now)
{
	health_sample(b, now);
	/* A block that fails validation is reported, not repaired: its pids
	 * may be garbage, and reaping would write into it. */
	if (health_block_ok(b))
		reaper_scan(b);
	else if (mapguard_hit(&b->guard))
		reaper_abandon(b);
}

static void scan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct zbd *d = container_of(w, struct zbd, scan_timer);
	struct zbd_buffer *b, *tmp;
	ev_tstamp now = mono_now();

	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link)
		scan_buffer(b, now);
	list_for_each_safe(b, tmp, &d->foreign, struct zbd_buffer, link)
		scan_buffer(b, now);
	ratelimit_flush();
}

static void foreign_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	foreign_discover(container_of(w, struct zbd, foreign_timer));
}

/* Foreign buffers are looked for every foreign_scan_ms, the first time at once. */
static void foreign_start(struct zbd *d)
{
	ev_timer_stop(d->loop, &d->foreign_timer);
	if (d->cfg.foreign_scan_ms == 0) {
		foreign_release_all(d);
		return;
	}
	ev_timer_set(&d->foreign_timer, 0, d->cfg.foreign_scan_ms / 1000.0);
	ev_timer_start(d->loop, &d->foreign_timer);
}

static void scan_start(struct zbd *d)
{
	unsigned ms = d->cfg.scan_interval_ms ? d->cfg.scan_interval_ms : 50;

	ev_timer_stop(d->loop, &d->scan_timer);
	ev_timer_set(&d->scan_timer, ms / 1000.0, ms / 1000.0);
	ev_timer_start(d->loop, &d->scan_timer);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping; buffers stay in place", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void reload(struct zbd *d)
{
	struct zbd_config cfg;
	char err[512] = "";
	int r;

	if (!d->config_path) {
		log_info("SIGHUP: no configuration file, nothing to reload");
		return;
	}
	config_defaults(&cfg);
	r = config_load(&cfg, d->config_path, err, sizeof(err));
	if (r < 0) {
		log_error("SIGHUP: %s; keeping the running configuration",
			  err[0] ? err : log_strerror(r));
		return;
	}
	if ((cfg.metrics_listen == NULL) != (d->cfg.metrics_listen == NULL) ||
	    (cfg.metrics_listen && strcmp(cfg.metrics_listen, d->cfg.metrics_listen) != 0))
		log_notice("SIGHUP: a new metrics_listen takes effect at the next start");
	if ((cfg.socket_path == NULL) != (d->cfg.socket_path == NULL) ||
	    (cfg.socket_path && strcmp(cfg.socket_path, d->cfg.socket_path) != 0))
		log_notice("SIGHUP: a new socket path takes effect at the next start");
	config_free(&d->cfg);
	d->cfg = cfg;
	scan_start(d);
	foreign_start(d);
	/* New buffers are created; those in use are left exactly as they are. */
	registry_create_configured(d);
	log_info("SIGHUP: configuration reloaded from %s", d->config_path);
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	reload(container_of(w, struct zbd, sig_hup));
}

/* -s, else the configuration, else $ZBD_SOCKET (which zbctl and libzbclient
 * read too, so one variable points both sides at a private daemon), else
 * where this kind of run puts it. */
static int resolve_paths(struct zbd *d, const struct zbd_options *opts)
{
	const char *sock = opts->socket_path ? opts->socket_path : d->cfg.socket_path;

	if (!sock && getenv("ZBD_SOCKET") && getenv("ZBD_SOCKET")[0] == '/')
		sock = getenv("ZBD_SOCKET");
	char dir[PATH_MAX];
	int n;

	if (sock) {
		n = snprintf(d->socket_path, sizeof(d->socket_path), "%s", sock);
	} else if (geteuid() == 0) {
		if (mkdir(RUN_DIR_ROOT, 0755) < 0 && errno != EEXIST)
			return log_error_errno(-errno, "cannot create %s", RUN_DIR_ROOT);
		n = snprintf(d->socket_path, sizeof(d->socket_path), RUN_DIR_ROOT "/zbd.sock");
	} else {
		const char *xdg = getenv("XDG_RUNTIME_DIR");

		if (!xdg || xdg[0] != '/')
			return log_error_errno(-EINVAL, "XDG_RUNTIME_DIR is not set: "
							"give a socket path with -s");
		n = snprintf(d->socket_path, sizeof(d->socket_path), "%s/zbd.sock", xdg);
	}
	if (n < 0 || (size_t)n >= sizeof(d->socket_path))
		return log_error_errno(-ENAMETOOLONG, "socket path too long");
	if (opts->state_dir) {
		snprintf(dir, sizeof(dir), "%s", opts->state_dir);
	} else {
		char copy[sizeof(d->socket_path)];

		/* Next to the socket: the runtime directory that belongs to this zbd. */
		snprintf(copy, sizeof(copy), "%s", d->socket_path);
		snprintf(dir, sizeof(dir), "%s", dirname(copy));
	}
	n = snprintf(d->state_path, sizeof(d->state_path), "%s/" STATE_FILE, dir);
	if (n < 0 || (size_t)n >= sizeof(d->state_path))
		return log_error_errno(-ENAMETOOLONG, "state path too long");
	return 0;
}

static int daemon_init(struct zbd *d, const struct zbd_options *opts)
{
	char err[512] = "";
	int r;

	d->listen_fd = -1;
	d->activation_fd = -1;
	d->pid = (uint64_t)getpid();
	d->config_path = opts->config_path;
	list_init(&d->clients);
	registry_init(d, buffers_changed, d);
	foreign_init(d);
	config_defaults(&d->cfg);
	if (opts->config_path) {
		r = config_load(&d->cfg, opts->config_path, err, sizeof(err));
		if (r < 0) {
			log_error("%s", err[0] ? err : log_strerror(r));
			return r;
		}
	}
	r = resolve_paths(d, opts);
	if (r < 0)
		return r;
	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop)
		return log_error_errno(-ENOMEM, "cannot create the event loop");
	d->started = mono_now();
	ev_timer_init(&d->scan_timer, scan_cb, 0, 0);
	ev_timer_init(&d->foreign_timer, foreign_cb, 0, 0);
	ev_signal_init(&d->sig_term, stop_cb, SIGTERM);
	ev_signal_init(&d->sig_int, stop_cb, SIGINT);
	ev_signal_init(&d->sig_hup, hup_cb, SIGHUP);
	return 0;
}

/* Each buffer holds a lock fd and up to two pidfds: a thousand buffers need
 * more than the usual soft limit of 1024. The hard limit is ours to take. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning_errno(-errno, "cannot raise the open file limit");
	}
}

int daemon_run(const struct zbd_options *opts)
{
	struct zbd d = { 0 };
	int r;

	/* Modes of the objects we create are exactly the configured ones. */
	umask(0);
	signal(SIGPIPE, SIG_IGN);
	/* Any member of a buffer's group can truncate its files under our mappings. */
	r = mapguard_install();
	if (r < 0)
		log_warning_errno(r, "cannot catch SIGBUS: a truncated buffer will stop zbd");
	raise_fd_limit();
	r = daemon_init(&d, opts);
	if (r < 0)
		goto fail;
	r = fdstore_receive(&d);
	if (r < 0)
		goto fail;
	r = ctl_listen(&d);
	if (r < 0)
		goto fail;
	registry_adopt_all(&d);
	registry_create_configured(&d);
	fdstore_release_unclaimed(&d);
	r = metrics_http_start(&d);
	if (r < 0)
		goto fail;
	scan_start(&d);
	foreign_start(&d);
	watchdog_start(&d);
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_hup);
	/* Only now: the socket accepts connections and the buffers are in place. */
	notify_ready(&d);
	log_info("zbd %s ready: %zu buffer%s, state in %s", ZBD_VERSION, d.n_buffers,
		 d.n_buffers == 1 ? "" : "s", d.state_path);

	ev_run(d.loop, 0);

	notify_stopping();
	r = 0;
fail:
	if (d.loop) {
		ev_signal_stop(d.loop, &d.sig_term);
		ev_signal_stop(d.loop, &d.sig_int);
		ev_signal_stop(d.loop, &d.sig_hup);
		ev_timer_stop(d.loop, &d.scan_timer);
		ev_timer_stop(d.loop, &d.foreign_timer);
		foreign_release_all(&d);
		watchdog_stop(&d);
		metrics_http_stop(&d);
		ctl_shutdown(&d);
		registry_release_all(&d);
		ev_loop_destroy(d.loop);
	}
	fdstore_forget(&d);
	config_free(&d.cfg);
	return r;
}
