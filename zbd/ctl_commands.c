/* SPDX-License-Identifier: MIT */
/*
 * The control commands, from one table: dispatch, the permission check and
 * `help` all read it, so they cannot disagree. Handlers parse their own
 * arguments (strictly: an unknown, repeated or malformed option is an error,
 * never ignored) and write records into the reply; the server adds the
 * error and status lines. The modules below (registry, health) return -errno
 * and log; the words a client reads for each code are chosen here.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ctl_commands.h"
#include "foreign.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "registry.h"
#include "shmfile.h"

#define MAX_WORDS 16
#define WATCH_MIN_MS 10
#define WATCH_MAX_MS 3600000
#define WATCH_DEFAULT_MS 1000

/*
 * Who may send a request. Creating takes names and memory from everyone, so it
 * is for administrators. Destroying one buffer is also allowed to the users
 * its group may write: they can already stop its stream (corrupt its frames,
 * hold its ring full), so removing it adds no power over others' buffers;
 * a group that may only read it is not enough.
 */
enum ctl_access {
	ACCESS_ANYONE,
	ACCESS_ADMIN,	     /* root or the admin group, checked before the handler */
	ACCESS_BUFFER_GROUP, /* also the buffer's writing group: the handler checks */
};

/* One request being run: who asked, and what a handler asks of the server. */
struct ctl_request {
	struct zbd *d;
	const struct ctl_peer *peer;
	unsigned watch_ms; /* set by watch, which returns CTL_WATCH */
};

struct ctl_command {
	const char *name;
	const char *usage;
	enum ctl_access access;
	int (*handler)(struct ctl_request *q, int argc, char **argv, struct reply *r);
};

static int cmd_create(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_destroy(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_list(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_health(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_watch(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_version(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_metrics(struct ctl_request *q, int argc, char **argv, struct reply *r);
static int cmd_help(struct ctl_request *q, int argc, char **argv, struct reply *r);

static const struct ctl_command commands[] = {
	{ "create", "NAME [payload=SIZE] [metadata=SIZE] [mode=OCTAL] [group=NAME]", ACCESS_ADMIN,
	  cmd_create },
	{ "destroy", "NAME [force]", ACCESS_BUFFER_GROUP, cmd_destroy },
	{ "list", "", ACCESS_ANYONE, cmd_list },
	{ "health", "[NAME]", ACCESS_ANYONE, cmd_health },
	{ "watch", "[INTERVAL_MS]", ACCESS_ANYONE, cmd_watch },
	{ "version", "", ACCESS_ANYONE, cmd_version },
	{ "metrics", "", ACCESS_ANYONE, cmd_metrics },
	{ "help", "", ACCESS_ANYONE, cmd_help },
};

/* Whether gid is the peer's primary or one of its supplementary groups (as at
 * connect time); false for (gid_t)-1. */
static bool peer_in_group(const struct ctl_peer *p, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (gid == (gid_t)-1)
		return false;
	if (p->gid == gid)
		return true;
	/* The peer's supplementary groups as they were when it connected. */
	if (getsockopt(p->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Whether the peer may administer buffers: root, or in the configured admin group. */
static bool peer_is_admin(const struct ctl_request *q)
{
	return q->peer->uid == 0 || peer_in_group(q->peer, q->d->cfg.admin_gid);
}

/* Every refusal is logged with who asked: the admin reads the journal, not the reply. */
static int refuse(struct ctl_request *q, struct reply *r, const char *what, const char *needs)
{
	log_warning_ratelimited("refused %s from uid %u pid %d: needs %s", what,
				(unsigned)q->peer->uid, (int)q->peer->pid, needs);
	return reply_fail(r, -EACCES, "permission denied: %s needs %s", what, needs);
}

static int check_name(const char *name, struct reply *r)
{
	char shown[80];

	if (zb_name_check(name) == 0)
		return 0;
	reply_sanitize(shown, sizeof(shown), name);
	return reply_fail(r, -EINVAL, "invalid buffer name '%s' (%s)", shown, ZB_NAME_RULE);
}

static int too_many(struct reply *r, const char *usage_of)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, usage_of) == 0)
			return reply_fail(r, -EINVAL, "usage: %s %s", usage_of, commands[i].usage);
	return reply_fail(r, -EINVAL, "bad arguments");
}

/* One `key=value` option of create into s; seen[] catches repeats. */
static int create_option(char *arg, struct zbd_buffer_spec *s, bool seen[4], struct reply *r)
{
	static const char *const keys[] = { "payload", "metadata", "mode", "group" };
	char *eq = strchr(arg, '='), shown[80];
	size_t k;
	int err;

	reply_sanitize(shown, sizeof(shown), arg);
	if (!eq)
		return reply_fail(r, -EINVAL, "unexpected argument '%s'", shown);
	*eq = '\0';
	for (k = 0; k < 4 && strcmp(arg, keys[k]) != 0; k++)
		;
	if (k == 4)
		return reply_fail(r, -EINVAL, "unknown option '%s'", shown);
	if (seen[k])
		return reply_fail(r, -EINVAL, "option %s given twice", keys[k]);
	seen[k] = true;
	switch (k) {
	case 0:
	case 1:
		/* -EINVAL for every bad value: -EMSGSIZE means a line too long here. */
		err = zb_size_parse(eq + 1, k == 0 ? &s->payload_size : &s->metadata_size);
		if (err < 0)
			return reply_fail(r, -EINVAL, "bad size '%s' (%s)", shown,
					  config_size_error(err));
		return 0;
	case 2:
		if (config_parse_mode(eq + 1, &s->mode) < 0)
			return reply_fail(r, -EINVAL, "bad mode '%s' (octal)", shown);
		return 0;
	default:
		if (config_parse_group(eq + 1, &s->gid) < 0)
			return reply_fail(r, -EINVAL, "unknown group '%s'", shown);
		return 0;
	}
}

/* What a client reads when the registry could not create NAME: which object
 * refused and why (the registry has logged the details). */
static int create_failed(struct reply *r, const struct zbd_buffer_spec *s, enum registry_step step,
			 int err)
{
	const char *name = s->name;
	char lock[PATH_MAX];

	names_lock(lock, sizeof(lock), name);
	switch (step) {
	case REGISTRY_STEP_NAME:
		if (err == -EEXIST)
			return reply_fail(r, err, "buffer %s exists already", name);
		if (err == -EINVAL)
			return reply_fail(r, err, "invalid buffer name");
		return reply_fail(r, err, "out of memory");
	case REGISTRY_STEP_LOCK_DIR:
		return reply_fail(r, err, "lock directory %s is %s; refused", ZB_LOCK_DIR,
				  err == -ENOTDIR ? "a symbolic link or not a directory"
						  : "not safe (owned by another user, or writable "
						    "by others without the sticky bit)");
	case REGISTRY_STEP_LOCK_TAKE:
		if (err == -EEXIST)
			return reply_fail(
				r, err, "buffer %s is owned by another process (its lock is held)",
				name);
		if (err == -ELOOP || err == -EPERM)
			return reply_fail(r, err, "lock file %s is %s; refused and left untouched",
					  lock,
					  err == -ELOOP ? "a symbolic link"
							: "not zbd's (another owner, not a plain "
							  "file, or linked)");
		/* fall through */
	case REGISTRY_STEP_LOCK_SETUP:
		return reply_fail(r, err, "cannot take or set up lock %s: %s", lock,
				  log_strerror(err));
	case REGISTRY_STEP_OBJECTS:
		if (err == -EEXIST)
			return reply_fail(r, err,
					  "objects of %s exist already and are not zbd's to adopt",
					  name);
		if (err == -ENOSPC)
			return reply_fail(r, err,
					  "no room in %s for %s: %llu bytes asked, %llu left",
					  SHM_DIR, name,
					  (unsigned long long)segment_footprint(s->metadata_size,
										s->payload_size),
					  (unsigned long long)shmfile_space_left());
		return reply_fail(r, err, "cannot create %s: %s", name, log_strerror(err));
	}
	return err;
}

static int cmd_create(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	struct zbd_buffer_spec s = { .mode = q->d->cfg.default_mode, .gid = q->d->cfg.default_gid };
	enum registry_step step;
	bool seen[4] = { false };
	int err;

	if (argc < 2)
		return too_many(r, "create");
	err = check_name(argv[1], r);
	if (err < 0)
		return err;
	snprintf(s.name, sizeof(s.name), "%s", argv[1]); /* it fits: check_name */
	for (int i = 2; i < argc; i++) {
		err = create_option(argv[i], &s, seen, r);
		if (err < 0)
			return err;
	}
	/* A buffer keeps descriptors for its life: not the last ones (fdbudget.h). */
	if (!fdbudget_room(&q->d->fds, FD_USE_BUFFER)) {
		log_warning_ratelimited("%s: not created: zbd is short of file descriptors "
					"(limit %lu)",
					s.name, fdbudget_limit());
		return reply_fail(r, -EMFILE, "zbd is short of file descriptors (limit %lu)",
				  fdbudget_limit());
	}
	err = registry_create(q->d, &s, &step);
	return err < 0 ? create_failed(r, &s, step, err) : 0;
}

static int cmd_destroy(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	struct zbd_buffer *b;
	bool force = false, is_reader;
	uint64_t pid;
	int err;

	if (argc < 2 || argc > 3)
		return too_many(r, "destroy");
	err = check_name(argv[1], r);
	if (err < 0)
		return err;
	if (argc == 3) {
		if (strcmp(argv[2], "force") != 0)
			return too_many(r, "destroy");
		force = true;
	}
	b = registry_find(q->d, argv[1]);
	/* An unknown name is refused too, not -ENOENT: nobody is in its group. */
	if (!peer_is_admin(q) && !(b && (b->mode & S_IWGRP) && peer_in_group(q->peer, b->gid))) {
		char what[ZB_NAME_MAX + 16];

		snprintf(what, sizeof(what), "destroy %s", argv[1]);
		return refuse(q, r, what,
			      "root, the admin group, or the buffer's group with write access");
	}
	if (!b && foreign_find(q->d, argv[1]))
		return reply_fail(r, -EPERM,
				  "buffer %s is not zbd's (owner=foreign): zbd only "
				  "observes it",
				  argv[1]);
	if (!b)
		return reply_fail(r, -ENOENT, "no buffer %s", argv[1]);
	err = registry_destroy(q->d, b, force);
	if (err != -EBUSY)
		return err;
	pid = registry_live_peer(b, &is_reader); /* refused: b is still there */
	/* Clients word the way out in their own terms (zbctl's --force). */
	return reply_fail(r, err, "buffer %s has a live %s (pid %llu)", argv[1],
			  is_reader ? "reader" : "writer", (unsigned long long)pid);
}

static int cmd_list(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	struct zbd_buffer *b, *tmp;

	if (argc != 1)
		return too_many(r, "list");
	list_for_each_safe(b, tmp, &q->d->buffers, struct zbd_buffer, link)
		reply_printf(r, "buffer=%s\nowner=zbd\n", b->name);
	list_for_each_safe(b, tmp, &q->d->foreign, struct zbd_buffer, link)
		reply_printf(r, "buffer=%s\nowner=foreign\n", b->name);
	return 0;
}

int ctl_write_health(struct zbd *d, struct reply *r, const char *only)
{
	struct zbd_buffer *b, *tmp;

	if (only && !registry_find(d, only) && !foreign_find(d, only))
		return reply_fail(r, -ENOENT, "no buffer %s", only);
	health_write_daemon(r, d);
	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link)
		if (!only || strcmp(b->name, only) == 0)
			health_write_buffer(r, b);
	list_for_each_safe(b, tmp, &d->foreign, struct zbd_buffer, link)
		if (!only || strcmp(b->name, only) == 0)
			health_write_buffer(r, b);
	return 0;
}

static int cmd_health(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	int err;

	if (argc > 2)
		return too_many(r, "health");
	if (argc == 2) {
		err = check_name(argv[1], r);
		if (err < 0)
			return err;
	}
	return ctl_write_health(q->d, r, argc == 2 ? argv[1] : NULL);
}

static int cmd_watch(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	unsigned long interval = WATCH_DEFAULT_MS;
	char *end;

	if (argc > 2)
		return too_many(r, "watch");
	if (argc == 2) {
		errno = 0;
		interval = strtoul(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || argv[1][0] == '-' ||
		    interval < WATCH_MIN_MS || interval > WATCH_MAX_MS)
			return reply_fail(r, -EINVAL, "interval must be %d..%d ms", WATCH_MIN_MS,
					  WATCH_MAX_MS);
	}
	q->watch_ms = (unsigned)interval;
	return CTL_WATCH; /* the server's watch timer sends the replies */
}

static int cmd_version(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	if (argc != 1)
		return too_many(r, "version");
	reply_printf(r, "version=%s\n", ZBD_VERSION);
	return 0;
}

/* The Prometheus text, one metrics= line per line of it. */
static int cmd_metrics(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	char *text, *line, *rest;
	size_t len;
	int err;

	if (argc != 1)
		return too_many(r, "metrics");
	err = metrics_text(q->d, &text, &len);
	if (err < 0)
		return reply_fail(r, err, "out of memory");
	rest = text;
	while ((line = strsep(&rest, "\n")) && rest)
		reply_printf(r, "metrics=%s\n", line);
	free(text);
	return 0;
}

static int cmd_help(struct ctl_request *q, int argc, char **argv, struct reply *r)
{
	static const char *const access_shown[] = {
		[ACCESS_ANYONE] = "",
		[ACCESS_ADMIN] = " (admin)",
		[ACCESS_BUFFER_GROUP] = " (admin, or the buffer's writing group)",
	};

	if (argc != 1)
		return too_many(r, "help");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		reply_printf(r, "command=%s%s%s%s\n", commands[i].name,
			     commands[i].usage[0] ? " " : "", commands[i].usage,
			     access_shown[commands[i].access]);
	return 0;
}

/* Up to MAX_WORDS words; *ret_more says whether the line had more. */
static int split_words(char *line, char **argv, bool *ret_more)
{
	int argc = 0;

	*ret_more = false;
	for (char *tok = strtok(line, " \t"); tok; tok = strtok(NULL, " \t")) {
		if (argc == MAX_WORDS) {
			*ret_more = true;
			break;
		}
		argv[argc++] = tok;
	}
	return argc;
}

int ctl_dispatch(struct zbd *d, const struct ctl_peer *peer, char *line, struct reply *r,
		 unsigned *ret_watch_ms)
{
	struct ctl_request q = { .d = d, .peer = peer };
	const struct ctl_command *cmd = NULL;
	char *argv[MAX_WORDS], shown[80];
	int argc, status;
	bool more;

	argc = split_words(line, argv, &more);
	if (argc == 0)
		return CTL_NO_REPLY;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			cmd = &commands[i];
	if (!cmd) {
		reply_sanitize(shown, sizeof(shown), argv[0]);
		return reply_fail(r, -EINVAL, "unknown command '%s' (try help)", shown);
	}
	if (cmd->access == ACCESS_ADMIN && !peer_is_admin(&q))
		return refuse(&q, r, cmd->name, "root or the admin group");
	/* After the permission check, so a malformed request is refused and logged too. */
	if (more)
		return reply_fail(r, -EINVAL, "too many words (at most %d)", MAX_WORDS);
	status = cmd->handler(&q, argc, argv, r);
	if (status == CTL_WATCH)
		*ret_watch_ms = q.watch_ms;
	return status;
}
