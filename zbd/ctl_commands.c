/* SPDX-License-Identifier: MIT */
/*
 * The control commands, from one table: dispatch, the permission check and
 * `help` all read it, so they cannot disagree. Handlers parse their own
 * arguments (strictly: an unknown, repeated or malformed option is an error,
 * never ignored) and write records into the reply; the server adds the
 * error and status lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_commands.h"
#include "health.h"
#include "log.h"
#include "registry.h"

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

struct ctl_command {
	const char *name;
	const char *usage;
	enum ctl_access access;
	int (*handler)(struct ctl_client *c, int argc, char **argv, struct reply *r);
};

static int cmd_create(struct ctl_client *c, int argc, char **argv, struct reply *r);
static int cmd_destroy(struct ctl_client *c, int argc, char **argv, struct reply *r);
static int cmd_list(struct ctl_client *c, int argc, char **argv, struct reply *r);
static int cmd_health(struct ctl_client *c, int argc, char **argv, struct reply *r);
static int cmd_watch(struct ctl_client *c, int argc, char **argv, struct reply *r);
static int cmd_version(struct ctl_client *c, int argc, char **argv, struct reply *r);
static int cmd_help(struct ctl_client *c, int argc, char **argv, struct reply *r);

static const struct ctl_command commands[] = {
	{ "create", "NAME [payload=SIZE] [metadata=SIZE] [mode=OCTAL] [group=NAME]", ACCESS_ADMIN,
	  cmd_create },
	{ "destroy", "NAME [force]", ACCESS_BUFFER_GROUP, cmd_destroy },
	{ "list", "", ACCESS_ANYONE, cmd_list },
	{ "health", "[NAME]", ACCESS_ANYONE, cmd_health },
	{ "watch", "[INTERVAL_MS]", ACCESS_ANYONE, cmd_watch },
	{ "version", "", ACCESS_ANYONE, cmd_version },
	{ "help", "", ACCESS_ANYONE, cmd_help },
};

/* Every refusal is logged with who asked: the admin reads the journal, not the reply. */
static int refuse(struct ctl_client *c, struct reply *r, const char *what, const char *needs)
{
	log_warning("refused %s from uid %u pid %d: needs %s", what, (unsigned)c->uid, (int)c->pid,
		    needs);
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

static int cmd_create(struct ctl_client *c, int argc, char **argv, struct reply *r)
{
	struct zbd *d = c->daemon;
	uint64_t payload = 0, metadata = 0;
	mode_t mode = d->cfg.default_mode;
	gid_t gid = d->cfg.default_gid;
	bool seen[4] = { false };
	static const char *const keys[] = { "payload", "metadata", "mode", "group" };
	char shown[80];
	int err;

	if (argc < 2)
		return too_many(r, "create");
	err = check_name(argv[1], r);
	if (err < 0)
		return err;
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t k;

		reply_sanitize(shown, sizeof(shown), argv[i]);
		if (!eq)
			return reply_fail(r, -EINVAL, "unexpected argument '%s'", shown);
		*eq = '\0';
		for (k = 0; k < 4 && strcmp(argv[i], keys[k]) != 0; k++)
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
			err = config_parse_size(eq + 1, k == 0 ? &payload : &metadata);
			if (err < 0)
				return reply_fail(r, -EINVAL, "bad size '%s' (%s)", shown,
						  config_size_error(err));
			break;
		case 2:
			if (config_parse_mode(eq + 1, &mode) < 0)
				return reply_fail(r, -EINVAL, "bad mode '%s' (octal)", shown);
			break;
		default:
			if (config_parse_group(eq + 1, &gid) < 0)
				return reply_fail(r, -EINVAL, "unknown group '%s'", shown);
			break;
		}
	}
	return registry_create(d, argv[1], payload, metadata, mode, gid, r);
}

static int cmd_destroy(struct ctl_client *c, int argc, char **argv, struct reply *r)
{
	struct zbd_buffer *b;
	bool force = false;
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
	b = registry_find(c->daemon, argv[1]);
	/* An unknown name is refused too, not -ENOENT: nobody is in its group. */
	if (!ctl_client_is_admin(c) &&
	    !(b && (b->mode & S_IWGRP) && ctl_client_in_group(c, b->gid))) {
		char what[ZB_NAME_MAX + 16];

		snprintf(what, sizeof(what), "destroy %s", argv[1]);
		return refuse(c, r, what,
			      "root, the admin group, or the buffer's group with write access");
	}
	if (!b)
		return reply_fail(r, -ENOENT, "no buffer %s", argv[1]);
	return registry_destroy(c->daemon, b, force, r);
}

static int cmd_list(struct ctl_client *c, int argc, char **argv, struct reply *r)
{
	struct zbd_buffer *b, *tmp;

	if (argc != 1)
		return too_many(r, "list");
	list_for_each_safe(b, tmp, &c->daemon->buffers, struct zbd_buffer, link)
		reply_printf(r, "buffer=%s\n", b->name);
	return 0;
}

int ctl_write_health(struct zbd *d, struct reply *r, const char *only)
{
	struct zbd_buffer *b, *tmp;

	if (only && !registry_find(d, only))
		return reply_fail(r, -ENOENT, "no buffer %s", only);
	health_write_daemon(r, d);
	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer,
			   link) if (!only || strcmp(b->name, only) == 0) health_write_buffer(r, b);
	return 0;
}

static int cmd_health(struct ctl_client *c, int argc, char **argv, struct reply *r)
{
	int err;

	if (argc > 2)
		return too_many(r, "health");
	if (argc == 2) {
		err = check_name(argv[1], r);
		if (err < 0)
			return err;
	}
	return ctl_write_health(c->daemon, r, argc == 2 ? argv[1] : NULL);
}

static int cmd_watch(struct ctl_client *c, int argc, char **argv, struct reply *r)
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
	ctl_client_watch(c, (unsigned)interval);
	return 1; /* the watch timer sends the replies */
}

static int cmd_version(struct ctl_client *c, int argc, char **argv, struct reply *r)
{
	if (argc != 1)
		return too_many(r, "version");
	reply_printf(r, "version=%s\n", ZBD_VERSION);
	return 0;
}

static int cmd_help(struct ctl_client *c, int argc, char **argv, struct reply *r)
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

void ctl_dispatch(struct ctl_client *c, char *line)
{
	const struct ctl_command *cmd = NULL;
	char *argv[MAX_WORDS], shown[80];
	struct reply r;
	int argc, status;
	bool more;

	reply_init(&r);
	argc = split_words(line, argv, &more);
	if (argc == 0)
		goto out; /* an empty line asks nothing */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[0]) == 0)
			cmd = &commands[i];
	if (!cmd) {
		reply_sanitize(shown, sizeof(shown), argv[0]);
		status = reply_fail(&r, -EINVAL, "unknown command '%s' (try help)", shown);
		goto reply;
	}
	if (cmd->access == ACCESS_ADMIN && !ctl_client_is_admin(c)) {
		status = refuse(c, &r, cmd->name, "root or the admin group");
		goto reply;
	}
	/* After the permission check, so a malformed request is refused and logged too. */
	if (more) {
		status = reply_fail(&r, -EINVAL, "too many words (at most %d)", MAX_WORDS);
		goto reply;
	}
	status = cmd->handler(c, argc, argv, &r);
	if (status > 0)
		goto out;
reply:
	ctl_client_reply(c, &r, status);
out:
	reply_free(&r);
}
