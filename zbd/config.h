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
#include <sys/socket.h>
#include <sys/types.h>

#include "zbclient.h"

struct zbd_buffer_spec {
	char name[ZB_NAME_MAX + 1];
	uint64_t payload_size;	/* 0: protocol default */
	uint64_t metadata_size; /* 0: protocol default */
	mode_t mode;
	gid_t gid;
	unsigned line; /* where it was declared, for messages */
};

struct zbd_config {
	char *socket_path;	   /* NULL: the default for how we run */
	gid_t admin_gid;	   /* (gid_t)-1: only root administers */
	mode_t default_mode;	   /* of new buffers; default 0660 */
	gid_t default_gid;	   /* of new buffers; default the daemon's group */
	unsigned scan_interval_ms; /* control-block scan; default 50 */
	unsigned stall_ms;	   /* full and unread this long is "stalled"; default 2000 */
	unsigned client_idle_s;	   /* idle control clients are closed; default 300 */
	char *metrics_listen;	   /* "ADDRESS:PORT" of the metrics HTTP listener; NULL: off */
	unsigned foreign_scan_ms;  /* looking for buffers zbd does not own; 0: never; 1000 */
	struct zbd_buffer_spec *buffers;
	size_t n_buffers;
};

/* The built-in defaults (nothing allocated). */
void config_defaults(struct zbd_config *cfg);

/*
 * Load `path` over the defaults into *cfg. On error returns a negative errno
 * and writes "PATH:LINE: what is wrong" into err; *cfg is untouched.
 *
 * *cfg must already hold a configuration (from config_defaults() or an
 * earlier load): on success its old contents are freed and replaced, so a
 * reload that wants to compare old and new loads into a second struct.
 * Each buffer spec comes back with mode and gid resolved (the [zbd] defaults
 * when its section sets none). err may be NULL; a message longer than
 * err_size is truncated (600 bytes plus the length of the path always do).
 * Errors: -ENOENT/-EACCES/... when the file cannot be opened ("PATH: cannot
 * open: ..."), -EISDIR/-EIO when it cannot be read, -EINVAL for a syntax
 * error, an over-long line (see conf/zbd.conf for the limit), an unknown
 * section or key, bad value or bad buffer name, -EEXIST for a buffer declared
 * twice, -ENOENT for an unknown group, -ERANGE for a number out of range,
 * -EMSGSIZE for a size above ZB_SIZE_MAX, -ENOMEM.
 */
int config_load(struct zbd_config *cfg, const char *path, char *err, size_t err_size);

/* Frees what a configuration owns and leaves it empty; NULL is fine. */
void config_free(struct zbd_config *cfg);

/* What is wrong with a size zb_size_parse() (the one size grammar, in
 * libzbclient) refused with `err`, in words. */
const char *config_size_error(int err);

/* "0660": mode bits. -EINVAL unless octal and within 07777 (a leading 0 is optional). */
int config_parse_mode(const char *text, mode_t *ret);

/*
 * Group name or number: gid. -ENOENT for an unknown group name; a number is
 * taken as is (chown accepts any gid); -EINVAL for "" or an out-of-range number.
 */
int config_parse_group(const char *text, gid_t *ret);

/*
 * "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", "[::]:9464": a numeric
 * address and a port (0 picks a free one) into *ret and *ret_len. -EINVAL for
 * anything else (host names are not looked up).
 */
int config_parse_listen(const char *text, struct sockaddr_storage *ret, socklen_t *ret_len);

/* The spec of buffer `name` in cfg, or NULL. */
const struct zbd_buffer_spec *config_buffer(const struct zbd_config *cfg, const char *name);
