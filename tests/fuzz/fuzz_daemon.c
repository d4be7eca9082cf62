/* SPDX-License-Identifier: MIT */
/* zbd's core in the harness's own process (see fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_server.h"
#include "daemon.h"
#include "foreign.h"
#include "fuzz.h"
#include "registry.h"

static struct zbd *daemon_;
/* Named with our pid, so run.sh can remove it after a crash. */
static char state_dir[64];

static void remove_state(void)
{
	if (daemon_->listen_fd >= 0)
		ctl_shutdown(daemon_);
	unlink(daemon_->state_path);
	unlink(daemon_->socket_path);
	rmdir(state_dir);
}

void fuzz_daemon_setup(struct zbd *d, const char *tag)
{
	if (d->loop)
		return;
	/* sd_notify() must not reach a real service manager. */
	unsetenv("NOTIFY_SOCKET");
	d->loop = ev_loop_new(EVFLAG_AUTO);
	snprintf(state_dir, sizeof(state_dir), "/tmp/zbfuzz-%s-%d-XXXXXX", tag, (int)getpid());
	if (!d->loop || !mkdtemp(state_dir)) {
		fprintf(stderr, "fuzz: setup: no loop or no state directory\n");
		abort();
	}
	daemon_ = d;
	atexit(remove_state);
	config_defaults(&d->cfg);
	snprintf(d->state_path, sizeof(d->state_path), "%s/state", state_dir);
	snprintf(d->socket_path, sizeof(d->socket_path), "%s/sock", state_dir);
	d->pid = (uint64_t)getpid();
	d->started = mono_now();
	d->listen_fd = -1;
	d->activation_fd = -1; /* no socket from systemd */
	list_init(&d->clients);
	registry_init(d, NULL, NULL);
	foreign_init(d);
}
