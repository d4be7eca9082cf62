/* SPDX-License-Identifier: MIT */
/* The daemon's life, from configuration to SIGTERM (the data model is in model.h). */
#pragma once

/* Command-line choices that override the configuration. */
struct zbd_options {
	const char *config_path;
	const char *socket_path;
	const char *state_dir;
};

/* Run the daemon until SIGTERM/SIGINT. 0 on a clean stop, negative on failure. */
int daemon_run(const struct zbd_options *opts);
