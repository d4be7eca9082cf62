/* SPDX-License-Identifier: MIT */
/*
 * zbd's configuration: built-in defaults, overridden by an INI file
 * (conf/zbd.conf documents every key). Loading never half-applies: on any
 * error the caller keeps its previous configuration.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zbclient.h"

struct zbd_buffer_spec {
	char name[ZB_NAME_MAX + 1];
	uint64_t payload_size;  /* 0: protocol default */
	uint64_t metadata_size; /* 0: protocol default */
	mode_t mode;
	gid_t gid;
	unsigned line; /* where it was declared, for messages */
};

struct zbd_config {
	char *socket_path;          /* NULL: the default for how we run */
	gid_t admin_gid;            /* (gid_t)-1: only root administers */
	mode_t default_mode;        /* of new buffers; default 0660 */
	gid_t default_gid;          /* of new buffers; default the daemon's group */
	unsigned scan_interval_ms;  /* control-block scan; default 50 */
	unsigned stall_ms;          /* full and unread this long is "stalled"; default 2000 */
	unsigned client_idle_s;     /* idle control clients are closed; default 300 */
	struct zbd_buffer_spec *buffers;
	size_t n_buffers;
};

/* The built-in defaults (nothing allocated). */
void config_defaults(struct zbd_config *cfg);

/*
 * Load `path` over the defaults into *cfg. On error returns a negative errno
 * and writes "PATH:LINE: what is wrong" into err; *cfg is untouched.
 */
int config_load(struct zbd_config *cfg, const char *path, char *err, size_t err_size);

void config_free(struct zbd_config *cfg);

/* "64M", "1024", "4K", "1G": bytes. -EINVAL for garbage, 0 or overflow. */
int config_parse_size(const char *text, uint64_t *ret);

/* "0660": mode bits. -EINVAL unless octal and within 07777. */
int config_parse_mode(const char *text, mode_t *ret);

/* Group name or number: gid. -ENOENT for an unknown group. */
int config_parse_group(const char *text, gid_t *ret);
