/* SPDX-License-Identifier: MIT */
/*
 * zbctl: drive zbd's control socket and feed or drain buffers from a shell.
 * Links only the public libzbclient, like any other application would.
 *
 * One table of verbs below: dispatch, `--help` and `zbctl VERB --help` all come
 * from it. Exit status: 0 ok, 1 failed, 2 misused.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zbclient.h"
#include "zbctl_json.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* How long one blocking library call may wait before we look at the stop flag
 * again: the library retries its semaphore waits on EINTR, so a signal alone
 * would not end a wait that has no deadline. */
#define SLICE_MS 100

struct verb {
	const char *name;
	int (*run)(const struct verb *v, int argc, char **argv);
	const char *args;
	const char *description;
	const char *options; /* per-verb help, one "  --opt  text\n" line each */
};

static const struct verb *verb_find(const char *name);
static void usage(FILE *f);

/* Set by the global options, and by the same options after the verb. */
static const char *opt_socket;
static bool opt_json;

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* SIGINT and SIGTERM interrupt blocking calls (no SA_RESTART) and set the flag,
 * so readers and writers detach cleanly and a standalone reader removes its buffer. */
static void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int misuse(const struct verb *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int misuse(const struct verb *v, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zbctl: %s: ", v->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'zbctl %s --help'.\n", v->name);
	return EXIT_USAGE;
}

/* Report a failed call: our text for the code, then the daemon's own words
 * when it said something more. With --json a reply's failure is also a document. */
static int fail(const struct verb *v, int err, struct zb_ctl *ctl)
{
	const char *text = zb_strerror(err), *daemon = ctl ? zb_ctl_last_error(ctl) : NULL;

	if (daemon && strcmp(daemon, text) != 0)
		fprintf(stderr, "zbctl: %s: %s: %s\n", v->name, text, daemon);
	else
		fprintf(stderr, "zbctl: %s: %s\n", v->name, text);
	if (opt_json && ctl) {
		struct json j;

		json_begin(&j, stdout);
		json_object_begin(&j, NULL);
		json_int(&j, "status", err);
		json_string(&j, "error", daemon ? daemon : text);
		json_object_end(&j);
		json_end(&j);
	}
	return EXIT_FAIL;
}

/* Connecting fails for reasons of the socket, not of a buffer: name the path
 * and use the system's words (zb_strerror(-ENOENT) would say "no such buffer"). */
static int connect_or_fail(const struct verb *v, struct zb_ctl **ret)
{
	char path[256] = "?";
	int err = zb_ctl_connect(ret, opt_socket);

	if (err == 0)
		return 0;
	if (opt_socket)
		snprintf(path, sizeof(path), "%s", opt_socket);
	else
		zb_ctl_default_socket(path, sizeof(path));
	if (err == -ENOENT || err == -ECONNREFUSED)
		fprintf(stderr, "zbctl: %s: no zbd listening at %s (%s)\n", v->name, path,
			strerror(-err));
	else
		fprintf(stderr, "zbctl: %s: cannot connect to zbd at %s: %s\n", v->name, path,
			err < 0 && err > -4096 ? strerror(-err) : zb_strerror(err));
	return EXIT_FAIL;
}

/* --------------------------------------------------------------- parsing */

/* SIZE with an optional K, M or G suffix (powers of 1024, "KiB"/"KB" too). */
static bool parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return false;
	*ret = (uint64_t)v << shift;
	return true;
}

static bool parse_mode(const char *s, mode_t *ret)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '7')
		return false;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || *end || v == 0 || v > 07777)
		return false;
	*ret = (mode_t)v;
	return true;
}

/* A non-negative int (milliseconds, a frame size). */
static bool parse_uint(const char *s, long max, long *ret)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

/* A group name the control protocol carries, caught early as a usage error
 * (buffer names: zb_name_check). */
static bool group_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > ZB_NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c <= ' ' || *c == '=')
			return false;
	return true;
}

enum {
	OPT_JSON = 0x100,
	OPT_PAYLOAD,
	OPT_METADATA,
	OPT_MODE,
	OPT_GROUP,
	OPT_FORCE,
	OPT_LINES,
	OPT_FRAME_SIZE,
	OPT_TIMEOUT,
	OPT_FOLLOW,
	OPT_CREATE,
};

/* Accepted after every verb too, so `zbctl list --json` works. */
/* clang-format off */
#define COMMON_OPTIONS                                                                           \
	{ "json", no_argument, NULL, OPT_JSON }, { "socket", required_argument, NULL, 's' },      \
	{ "help", no_argument, NULL, 'h' }
#define COMMON_SHORT "+s:h"
/* clang-format on */

static void verb_help(const struct verb *v, FILE *f);

/* getopt_long over a verb's arguments; prints its messages as "zbctl: VERB: ...".
 * Returns the option, -1 at the end, or -2 when the caller should exit with
 * *exit_code (help printed or a usage error). */
static int next_opt(const struct verb *v, int argc, char **argv, const struct option *opts,
		    int *exit_code)
{
	int c = getopt_long(argc, argv, COMMON_SHORT + 1, opts, NULL);

	switch (c) {
	case OPT_JSON:
		opt_json = true;
		return next_opt(v, argc, argv, opts, exit_code);
	case 's':
		opt_socket = optarg;
		return next_opt(v, argc, argv, opts, exit_code);
	case 'h':
		verb_help(v, stdout);
		*exit_code = EXIT_OK;
		return -2;
	case '?':
	case ':':
		fprintf(stderr, "Try 'zbctl %s --help'.\n", v->name);
		*exit_code = EXIT_USAGE;
		return -2;
	}
	return c;
}

/* Make getopt's own messages read "zbctl: VERB: unrecognized option". */
static void prepare_getopt(const struct verb *v, char **argv)
{
	static char prog[64];

	snprintf(prog, sizeof(prog), "zbctl: %s", v->name);
	argv[0] = prog;
	optind = 0; /* full re-initialisation: the global options were parsed already */
	opterr = 1;
}

/* Buffer sizes and mode shared by `create` and `read --create`; 1 if `c` was one. */
static int size_opt(const struct verb *v, int c, const char *arg, struct zb_buffer_config *cfg,
		    int *exit_code)
{
	switch (c) {
	case OPT_PAYLOAD:
		if (!parse_size(arg, &cfg->payload_size))
			goto bad;
		return 1;
	case OPT_METADATA:
		if (!parse_size(arg, &cfg->metadata_size))
			goto bad;
		return 1;
	case OPT_MODE:
		if (!parse_mode(arg, &cfg->mode)) {
			*exit_code = misuse(v, "invalid mode '%s' (octal, e.g. 0660)", arg);
			return -1;
		}
		return 1;
	}
	return 0;
bad:
	*exit_code = misuse(v, "invalid size '%s' (a positive number, K/M/G suffixes)", arg);
	return -1;
}

/* ---------------------------------------------------------- human output */

static void human_size(char *out, size_t size, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%" PRIu64 "B", bytes);
	else if (v < 10)
		snprintf(out, size, "%.1f%c", v, units[u]);
	else
		snprintf(out, size, "%.0f%c", v, units[u]);
}

/* "-" for no peer, the pid for a live one, "(pid)" for one recorded but dead. */
static void pid_text(char *out, size_t size, int64_t pid, int alive)
{
	if (pid <= 0)
		snprintf(out, size, "-");
	else if (alive)
		snprintf(out, size, "%" PRId64, pid);
	else
		snprintf(out, size, "(%" PRId64 ")", pid);
}

static void human_uptime(char *out, size_t size, uint64_t s)
{
	if (s >= 86400)
		snprintf(out, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(out, size, "%" PRIu64 "s", s);
}

/*
 * The health table. `eol` ends every line: "\n" normally, "\033[K\n" in the
 * live view so each line also erases what the previous frame left on it.
 */
static void print_health_table(FILE *f, const struct zb_daemon_health *d, const struct zb_health *h,
			       size_t n, const char *eol)
{
	char up[32], size[16], used[16], rd[24], wr[24], reaped[48];
	int w = 4;

	human_uptime(up, sizeof(up), d->uptime_s);
	fprintf(f, "zbd %s, up %s, %" PRIu64 " buffer%s%s", d->version[0] ? d->version : "?", up,
		d->buffers, d->buffers == 1 ? "" : "s", eol);
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(h[i].name) > w)
			w = (int)strlen(h[i].name);
	fprintf(f, "%s%-*s %-8s %7s %7s %6s %9s %9s %12s %12s %8s %8s %7s%s", eol, w, "NAME",
		"STATE", "SIZE", "USED", "UTIL", "READER", "WRITER", "WRITTEN", "READ", "W/S",
		"R/S", "REAPED", eol);
	for (size_t i = 0; i < n; i++) {
		human_size(size, sizeof(size), h[i].payload_size);
		human_size(used, sizeof(used), h[i].used_bytes);
		pid_text(rd, sizeof(rd), h[i].reader_pid, h[i].reader_alive);
		pid_text(wr, sizeof(wr), h[i].writer_pid, h[i].writer_alive);
		snprintf(reaped, sizeof(reaped), "%" PRIu64 "/%" PRIu64, h[i].readers_reaped,
			 h[i].writers_reaped);
		fprintf(f,
			"%-*s %-8s %7s %7s %5.1f%% %9s %9s %12" PRIu64 " %12" PRIu64
			" %8.0f %8.0f %7s%s",
			w, h[i].name, h[i].state_text[0] ? h[i].state_text : "?", size, used,
			h[i].utilisation, rd, wr, h[i].frames_written, h[i].frames_read,
			h[i].write_rate_fps, h[i].read_rate_fps, reaped, eol);
	}
}

/* Every key the daemon sent, one per line, records apart: `health NAME`. */
static void print_records(FILE *f, const struct zb_ctl_reply *reply)
{
	for (size_t r = 0; r < reply->n_records; r++) {
		const struct zb_ctl_record *rec = &reply->records[r];

		if (r)
			fputc('\n', f);
		for (size_t i = 0; i < rec->n_fields; i++)
			fprintf(f, "%-16s %s\n", rec->fields[i].key, rec->fields[i].value);
	}
}

/* ------------------------------------------------------------ json output */

/* Keys whose values stay strings even when they look like numbers. */
static bool key_is_text(const char *key)
{
	static const char *const text[] = { "buffer",  "daemon",  "state", "error",
					    "version", "command", "name",  "group" };

	/* Array elements have no key of their own. */
	if (!key)
		return false;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (strcmp(key, text[i]) == 0)
			return true;
	return false;
}

static void json_value(struct json *j, const char *key, const char *value)
{
	if (!key_is_text(key) && json_is_number(value))
		json_raw(j, key, value);
	else
		json_string(j, key, value);
}

/* A record's fields as members of the open object; a repeated key becomes an
 * array of its values, in order. */
static void json_fields(struct json *j, const struct zb_ctl_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t count = 0;
		bool seen = false;

		for (size_t k = 0; k < n; k++) {
			if (strcmp(fields[k].key, fields[i].key) != 0)
				continue;
			seen = seen || k < i;
			count++;
		}
		if (seen)
			continue;
		if (count == 1) {
			json_value(j, fields[i].key, fields[i].value);
			continue;
		}
		json_array_begin(j, fields[i].key);
		for (size_t k = i; k < n; k++)
			if (strcmp(fields[k].key, fields[i].key) == 0)
				json_value(j, NULL, fields[k].value);
		json_array_end(j);
	}
}

/*
 * One reply as one JSON document on one line:
 * {"status":0, <fields before the first record>, "daemon":{...}, "buffers":[{...}]}
 */
static void json_reply(FILE *f, const struct zb_ctl_reply *reply)
{
	bool buffers = false;
	struct json j;

	json_begin(&j, f);
	json_object_begin(&j, NULL);
	json_int(&j, "status", reply->status);
	for (size_t r = 0; r < reply->n_records; r++) {
		const struct zb_ctl_record *rec = &reply->records[r];
		const char *key = rec->fields[0].key;

		if (strcmp(key, "daemon") == 0) {
			json_object_begin(&j, "daemon");
			json_fields(&j, rec->fields, rec->n_fields);
			json_object_end(&j);
		} else if (strcmp(key, "buffer") != 0) {
			json_fields(&j, rec->fields, rec->n_fields);
		}
	}
	for (size_t r = 0; r < reply->n_records; r++) {
		const struct zb_ctl_record *rec = &reply->records[r];

		if (strcmp(rec->fields[0].key, "buffer") != 0)
			continue;
		if (!buffers)
			json_array_begin(&j, "buffers");
		buffers = true;
		json_object_begin(&j, NULL);
		json_fields(&j, rec->fields, rec->n_fields);
		json_object_end(&j);
	}
	if (buffers)
		json_array_end(&j);
	json_object_end(&j);
	json_end(&j);
}

static void json_status(int status)
{
	struct json j;

	json_begin(&j, stdout);
	json_object_begin(&j, NULL);
	json_int(&j, "status", status);
	json_object_end(&j);
	json_end(&j);
}

/* Stdout went away (a closed pipe): that ends us quietly, as it ends `cat`. */
static int finish_stdout(const struct verb *v)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return EXIT_OK;
	if (errno == EPIPE)
		return EXIT_OK;
	fprintf(stderr, "zbctl: %s: stdout: %s\n", v->name, strerror(errno));
	return EXIT_FAIL;
}

/* ----------------------------------------------------------------- verbs */

static int cmd_create(const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{ "payload", required_argument, NULL, OPT_PAYLOAD },
		{ "metadata", required_argument, NULL, OPT_METADATA },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ 0 },
	};
	struct zb_buffer_config cfg = { 0 };
	const char *name = NULL, *group = NULL;
	struct zb_ctl *ctl;
	int c, code = EXIT_OK, err;

	prepare_getopt(v, argv);
	while ((c = next_opt(v, argc, argv, opts, &code)) != -1) {
		if (c == -2)
			return code;
		if (c == OPT_GROUP) {
			group = optarg;
			continue;
		}
		if (size_opt(v, c, optarg, &cfg, &code) < 0)
			return code;
	}
	for (int i = optind; i < argc; i++) {
		static const struct {
			const char *key;
			int opt;
		} words[] = {
			{ "payload=", OPT_PAYLOAD },
			{ "metadata=", OPT_METADATA },
			{ "mode=", OPT_MODE },
			{ "group=", OPT_GROUP },
		};
		bool matched = false;

		/* The daemon's own grammar works too: `create cam0 payload=64M`. */
		for (size_t k = 0; k < sizeof(words) / sizeof(words[0]) && !matched; k++) {
			size_t len = strlen(words[k].key);

			if (strncmp(argv[i], words[k].key, len) != 0)
				continue;
			matched = true;
			if (words[k].opt == OPT_GROUP)
				group = argv[i] + len;
			else if (size_opt(v, words[k].opt, argv[i] + len, &cfg, &code) < 0)
				return code;
		}
		if (matched)
			continue;
		if (name)
			return misuse(v, "unexpected argument '%s'", argv[i]);
		name = argv[i];
	}
	if (!name)
		return misuse(v, "missing buffer NAME");
	if (zb_name_check(name) < 0)
		return misuse(v, "invalid buffer name '%s'", name);
	if (group && !group_ok(group))
		return misuse(v, "invalid group name '%s'", group);
	if (connect_or_fail(v, &ctl))
		return EXIT_FAIL;
	err = zb_ctl_create(ctl, name, &cfg, group);
	if (err < 0)
		code = fail(v, err, ctl);
	else if (opt_json)
		json_status(0);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(v);
}

static int cmd_destroy(const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{ "force", no_argument, NULL, OPT_FORCE },
		{ 0 },
	};
	const char *name = NULL;
	struct zb_ctl *ctl;
	int c, code = EXIT_OK, err, force = 0;

	prepare_getopt(v, argv);
	while ((c = next_opt(v, argc, argv, opts, &code)) != -1) {
		if (c == -2)
			return code;
		if (c == OPT_FORCE)
			force = 1;
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "force") == 0) /* the daemon's grammar */
			force = 1;
		else if (name)
			return misuse(v, "unexpected argument '%s'", argv[i]);
		else
			name = argv[i];
	}
	if (!name)
		return misuse(v, "missing buffer NAME");
	if (zb_name_check(name) < 0)
		return misuse(v, "invalid buffer name '%s'", name);
	if (connect_or_fail(v, &ctl))
		return EXIT_FAIL;
	err = zb_ctl_destroy(ctl, name, force);
	if (err < 0)
		code = fail(v, err, ctl);
	else if (opt_json)
		json_status(0);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(v);
}

/* The common start of verbs with no options of their own. */
static int parse_plain(const struct verb *v, int argc, char **argv, int max_args)
{
	static const struct option opts[] = { COMMON_OPTIONS, { 0 } };
	int c, code = EXIT_OK;

	prepare_getopt(v, argv);
	while ((c = next_opt(v, argc, argv, opts, &code)) != -1)
		if (c == -2)
			return code;
	if (argc - optind > max_args)
		return misuse(v, "unexpected argument '%s'", argv[optind + max_args]);
	return -1;
}

static int cmd_list(const struct verb *v, int argc, char **argv)
{
	struct zb_ctl *ctl;
	char **names;
	size_t count;
	int code = parse_plain(v, argc, argv, 0), err;

	if (code >= 0)
		return code;
	if (connect_or_fail(v, &ctl))
		return EXIT_FAIL;
	err = zb_ctl_list(ctl, &names, &count);
	if (err < 0) {
		code = fail(v, err, ctl);
		zb_ctl_close(ctl);
		return code;
	}
	if (opt_json) {
		struct json j;

		json_begin(&j, stdout);
		json_object_begin(&j, NULL);
		json_int(&j, "status", 0);
		json_array_begin(&j, "buffers");
		for (size_t i = 0; i < count; i++)
			json_string(&j, NULL, names[i]);
		json_array_end(&j);
		json_object_end(&j);
		json_end(&j);
	} else {
		for (size_t i = 0; i < count; i++)
			printf("%s\n", names[i]);
	}
	zb_ctl_list_free(names);
	zb_ctl_close(ctl);
	return finish_stdout(v);
}

/* One health reply, as a table (or every key, for a single buffer) or JSON.
 * `eol` as for print_health_table(). */
static int show_health(const struct verb *v, const struct zb_ctl_reply *reply, bool detail,
		       const char *eol)
{
	struct zb_daemon_health d;
	struct zb_health *h;
	size_t n;
	int err;

	if (opt_json) {
		json_reply(stdout, reply);
		return EXIT_OK;
	}
	if (detail) {
		print_records(stdout, reply);
		return EXIT_OK;
	}
	err = zb_ctl_reply_health(reply, &h, &n, &d);
	if (err < 0)
		return fail(v, err, NULL);
	print_health_table(stdout, &d, h, n, eol);
	zb_health_free(h);
	return EXIT_OK;
}

static int cmd_health(const struct verb *v, int argc, char **argv)
{
	char line[ZB_CTL_LINE_MAX + 1] = "health";
	struct zb_ctl_reply *reply;
	struct zb_ctl *ctl;
	const char *name;
	int code = parse_plain(v, argc, argv, 1), err;

	if (code >= 0)
		return code;
	name = optind < argc ? argv[optind] : NULL;
	if (name && zb_name_check(name) < 0)
		return misuse(v, "invalid buffer name '%s'", name);
	if (name)
		snprintf(line, sizeof(line), "health %s", name);
	if (connect_or_fail(v, &ctl))
		return EXIT_FAIL;
	err = zb_ctl_request(ctl, line, &reply);
	if (err == 0 && reply->status < 0) {
		err = reply->status;
		zb_ctl_reply_free(reply);
	}
	if (err < 0) {
		code = fail(v, err, ctl);
		zb_ctl_close(ctl);
		return code;
	}
	code = show_health(v, reply, name != NULL, "\n");
	zb_ctl_reply_free(reply);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(v);
}

static int cmd_watch(const struct verb *v, int argc, char **argv)
{
	char line[64] = "watch";
	struct zb_ctl *ctl;
	bool live = false, first = true;
	long interval = 1000;
	int code = parse_plain(v, argc, argv, 1), err;

	if (code >= 0)
		return code;
	if (optind < argc) {
		if (!parse_uint(argv[optind], 3600 * 1000, &interval) || interval < 10)
			return misuse(v, "invalid interval '%s' (milliseconds, 10 or more)",
				      argv[optind]);
		snprintf(line, sizeof(line), "watch %ld", interval);
	}
	live = !opt_json && isatty(STDOUT_FILENO);
	catch_stop_signals();
	if (connect_or_fail(v, &ctl))
		return EXIT_FAIL;
	/* Reports come every interval: a wait well past it means a stuck daemon. */
	zb_ctl_set_timeout(ctl, (int)(interval * 3 > interval + ZB_CTL_TIMEOUT_MS
					      ? interval * 3
					      : interval + ZB_CTL_TIMEOUT_MS));
	err = zb_ctl_send(ctl, line);
	while (err == 0 && !stop_signal) {
		struct zb_ctl_reply *reply;

		err = zb_ctl_receive(ctl, &reply);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		if (reply->status < 0) {
			err = reply->status;
			zb_ctl_reply_free(reply);
			break;
		}
		/* The live view: home the cursor and overwrite in place (clearing the
		 * whole screen only once), so the picture does not flicker. */
		if (live) {
			char now[16];
			time_t t = time(NULL);

			strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
			fputs(first ? "\033[H\033[2J" : "\033[H", stdout);
			printf("%s  every %ld ms, Ctrl-C quits\033[K\n", now, interval);
		}
		code = show_health(v, reply, false, live ? "\033[K\n" : "\n");
		if (live)
			fputs("\033[J", stdout);
		else if (!opt_json)
			fputc('\n', stdout);
		first = false;
		zb_ctl_reply_free(reply);
		if (code)
			break;
		if (fflush(stdout) != 0) {
			code = finish_stdout(v);
			break;
		}
	}
	if (err == -ECONNRESET) {
		fprintf(stderr, "zbctl: %s: zbd closed the connection\n", v->name);
		code = EXIT_FAIL;
	} else if (err < 0) {
		code = fail(v, err, ctl);
	}
	zb_ctl_close(ctl);
	if (code)
		return code;
	return finish_stdout(v);
}

/* Reads stdin into frames; see cmd_write(). */
struct input {
	char *buf;
	size_t len, cap;
};

/* Write one frame, waiting for space in slices so a signal can end the wait.
 * `timeout_ms` < 0 waits as long as it takes. */
static int write_frame(struct zb_writer *w, const char *data, size_t size, int timeout_ms,
		       bool split)
{
	struct timespec t0;
	int err;

	if (size == 0)
		return 0; /* a frame cannot be empty: an empty line has nothing to carry */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec now;
		long waited, slice = SLICE_MS;

		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (timeout_ms >= 0 && timeout_ms - waited < slice)
			slice = timeout_ms - waited > 0 ? timeout_ms - waited : 0;
		err = zb_writer_write(w, data, size, (int)slice);
		if (err != -ENOBUFS || stop_signal)
			break;
		if (timeout_ms >= 0 && waited + slice >= timeout_ms)
			break;
	}
	/* Chunks of plain input have no meaning of their own: halve what does not fit. */
	if (err == -EMSGSIZE && split && size > 1) {
		err = write_frame(w, data, size / 2, timeout_ms, split);
		if (err == 0)
			err = write_frame(w, data + size / 2, size - size / 2, timeout_ms, split);
	}
	return err;
}

#define CHUNK_SIZE (64 * 1024)
#define LINE_MAX_BYTES (64u << 20)

static int cmd_write(const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{ "lines", no_argument, NULL, OPT_LINES },
		{ "frame-size", required_argument, NULL, OPT_FRAME_SIZE },
		{ "metadata", required_argument, NULL, OPT_METADATA },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 },
	};
	const char *metadata = NULL, *name;
	struct input in = { 0 };
	struct zb_writer *w;
	bool lines = false, eof = false;
	long frame_size = 0, timeout = -1;
	int c, code = EXIT_OK, err;

	prepare_getopt(v, argv);
	while ((c = next_opt(v, argc, argv, opts, &code)) != -1) {
		switch (c) {
		case -2:
			return code;
		case OPT_LINES:
			lines = true;
			break;
		case OPT_FRAME_SIZE:
			if (!parse_uint(optarg, INT_MAX, &frame_size) || frame_size == 0)
				return misuse(v, "invalid frame size '%s'", optarg);
			break;
		case OPT_METADATA:
			metadata = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, INT_MAX, &timeout))
				return misuse(v, "invalid timeout '%s' (milliseconds)", optarg);
			break;
		}
	}
	if (lines && frame_size)
		return misuse(v, "--lines and --frame-size exclude each other");
	if (optind >= argc)
		return misuse(v, "missing buffer NAME");
	if (argc - optind > 1)
		return misuse(v, "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (zb_name_check(name) < 0)
		return misuse(v, "invalid buffer name '%s'", name);

	catch_stop_signals();
	err = zb_writer_open(&w, name);
	if (err < 0)
		return fail(v, err, NULL);
	if (metadata) {
		err = zb_writer_set_metadata(w, metadata, strlen(metadata));
		if (err < 0)
			goto out;
	}
	in.cap = frame_size > CHUNK_SIZE ? (size_t)frame_size : CHUNK_SIZE;
	in.buf = malloc(in.cap);
	if (!in.buf) {
		err = -ENOMEM;
		goto out;
	}
	while (!eof && err == 0) {
		size_t off = 0;
		ssize_t n = read(STDIN_FILENO, in.buf + in.len, in.cap - in.len);

		if (n < 0 && errno == EINTR) {
			if (stop_signal)
				break;
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "zbctl: %s: stdin: %s\n", v->name, strerror(errno));
			code = EXIT_FAIL;
			break;
		}
		eof = n == 0;
		in.len += (size_t)n;
		if (lines) {
			char *nl;

			while (err == 0 && (nl = memchr(in.buf + off, '\n', in.len - off))) {
				err = write_frame(w, in.buf + off, (size_t)(nl - in.buf) - off,
						  (int)timeout, false);
				off = (size_t)(nl - in.buf) + 1;
			}
		} else if (frame_size) {
			while (err == 0 && in.len - off >= (size_t)frame_size) {
				err = write_frame(w, in.buf + off, (size_t)frame_size, (int)timeout,
						  false);
				off += (size_t)frame_size;
			}
		} else {
			err = write_frame(w, in.buf, in.len, (int)timeout, true);
			off = in.len;
		}
		/* What is left at the end of input is the last frame (a last line
		 * without its newline, a short last frame). */
		if (eof && err == 0 && in.len > off) {
			err = write_frame(w, in.buf + off, in.len - off, (int)timeout, false);
			off = in.len;
		}
		memmove(in.buf, in.buf + off, in.len - off);
		in.len -= off;
		if (lines && in.len == in.cap) {
			char *buf = NULL;

			if (in.cap * 2 <= LINE_MAX_BYTES)
				buf = realloc(in.buf, in.cap * 2);
			if (!buf) {
				err = -EMSGSIZE;
				break;
			}
			in.buf = buf;
			in.cap *= 2;
		}
	}
	if (err == -ENOBUFS && stop_signal)
		err = 0;
	if (stop_signal && code == EXIT_OK) {
		fprintf(stderr, "zbctl: %s: interrupted\n", v->name);
		code = EXIT_FAIL;
	}
out:
	if (err < 0)
		code = fail(v, err, NULL);
	free(in.buf);
	zb_writer_close(w);
	return code;
}

/* Write all of data to stdout's stdio buffer; false on a write error. */
static bool put(const void *data, size_t size)
{
	return fwrite(data, 1, size, stdout) == size;
}

static int cmd_read(const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{ "lines", no_argument, NULL, OPT_LINES },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "create", no_argument, NULL, OPT_CREATE },
		{ "payload", required_argument, NULL, OPT_PAYLOAD },
		{ "metadata", required_argument, NULL, OPT_METADATA },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 },
	};
	struct zb_buffer_config cfg = { 0 };
	bool lines = false, follow = false, create = false, sized = false;
	struct timespec last;
	struct zb_reader *r;
	const char *name;
	long timeout = -1;
	int c, code = EXIT_OK, err;

	prepare_getopt(v, argv);
	while ((c = next_opt(v, argc, argv, opts, &code)) != -1) {
		switch (c) {
		case -2:
			return code;
		case OPT_LINES:
			lines = true;
			break;
		case OPT_FOLLOW:
			follow = true;
			break;
		case OPT_CREATE:
			create = true;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, INT_MAX, &timeout))
				return misuse(v, "invalid timeout '%s' (milliseconds)", optarg);
			break;
		default:
			if (size_opt(v, c, optarg, &cfg, &code) < 0)
				return code;
			sized = true;
		}
	}
	if (optind >= argc)
		return misuse(v, "missing buffer NAME");
	if (argc - optind > 1)
		return misuse(v, "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (zb_name_check(name) < 0)
		return misuse(v, "invalid buffer name '%s'", name);
	if (sized && !create)
		return misuse(v, "--payload, --metadata and --mode need --create");

	catch_stop_signals();
	err = -ENOENT;
	if (create)
		err = zb_reader_create(&r, name, &cfg);
	/* With a live owner already there (zbd), --create just reads from its buffer. */
	if (!create || err == -EEXIST)
		err = zb_reader_open(&r, name);
	if (err < 0)
		return fail(v, err, NULL);

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!stop_signal) {
		struct zb_frame f;

		/* Flush only when nothing is waiting: a burst costs one write(2), and
		 * the consumer still sees every frame as soon as we go idle. */
		err = zb_reader_read(r, &f, 0);
		if (err == -ETIMEDOUT) {
			struct timespec now;
			long idle;

			if (fflush(stdout) != 0) {
				err = 0; /* finish_stdout() tells a closed pipe from a failure */
				break;
			}
			err = zb_reader_read(r, &f, SLICE_MS);
			clock_gettime(CLOCK_MONOTONIC, &now);
			idle = (now.tv_sec - last.tv_sec) * 1000 +
			       (now.tv_nsec - last.tv_nsec) / 1000000;
			if (err == -ETIMEDOUT && (timeout < 0 || idle < timeout))
				continue;
		}
		if (err == ZB_EWRITER_GONE) {
			err = 0;
			if (!follow)
				break;
			continue;
		}
		if (err < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &last);
		if (!put(f.data, f.size) || (lines && !put("\n", 1))) {
			zb_reader_release(r, &f);
			break;
		}
		zb_reader_release(r, &f);
	}
	if (stop_signal && err == -ETIMEDOUT)
		err = 0; /* asked to stop while waiting: a normal end */
	if (err < 0)
		code = fail(v, err, NULL);
	zb_reader_close(r);
	if (code)
		return code;
	return finish_stdout(v);
}

static int cmd_help(const struct verb *v, int argc, char **argv)
{
	const struct verb *about;
	int code = parse_plain(v, argc, argv, 1);

	if (code >= 0)
		return code;
	if (optind >= argc) {
		usage(stdout);
		return EXIT_OK;
	}
	about = verb_find(argv[optind]);
	if (!about)
		return misuse(v, "unknown verb '%s'", argv[optind]);
	verb_help(about, stdout);
	return EXIT_OK;
}

#define SIZE_OPTIONS                                                                               \
	"  --payload SIZE    payload ring size (K, M, G suffixes: powers of 1024)\n"               \
	"  --metadata SIZE   metadata block size\n"                                                \
	"  --mode OCTAL      mode of the segment, semaphores and lock file (e.g. 0660)\n"

static const struct verb verbs[] = {
	{ "create", cmd_create,
	  "NAME [--payload SIZE] [--metadata SIZE] [--mode OCTAL] [--group GROUP]",
	  "create a buffer that zbd owns (the daemon's key=value words work too)",
	  SIZE_OPTIONS "  --group GROUP     group of the buffer's objects\n" },
	{ "destroy", cmd_destroy, "NAME [--force]",
	  "remove a buffer; refused while a peer is attached unless forced",
	  "  --force           remove it anyway; attached peers are told the other side\n"
	  "                    is gone\n" },
	{ "list", cmd_list, "", "list the buffers zbd owns", NULL },
	{ "health", cmd_health, "[NAME]",
	  "show every buffer's health as a table, or every detail of one buffer",
	  "  READER/WRITER show the peer's pid: '-' for none, '(pid)' for one that died\n" },
	{ "watch", cmd_watch, "[INTERVAL_MS]",
	  "live health view, refreshed every interval (default 1000) until interrupted",
	  "  On a terminal the view refreshes in place; otherwise (and with --json, one\n"
	  "  object per line) a report follows another. Ends on SIGINT or when zbd hangs up.\n" },
	{ "write", cmd_write, "NAME [--lines | --frame-size N] [--metadata TEXT] [--timeout MS]",
	  "write stdin into buffer NAME as frames (any ZeroBuffer buffer)",
	  "  --lines           one frame per line, without its newline (empty lines skipped)\n"
	  "  --frame-size N    frames of N bytes (the last one may be shorter)\n"
	  "                    without either, one frame per chunk read from stdin\n"
	  "  --metadata TEXT   set the buffer's metadata first (once per buffer)\n"
	  "  --timeout MS      give up when the ring stays full this long (default: wait)\n" },
	{ "read", cmd_read,
	  "NAME [--lines] [--follow] [--timeout MS]\n"
	  "        [--create [--payload SIZE] [--metadata SIZE] [--mode OCTAL]]",
	  "write the frames of buffer NAME to stdout until the writer has gone",
	  "  --lines           add a newline after each frame\n"
	  "  --follow          keep reading when the writer leaves, from the next writer\n"
	  "  --create          no daemon: create the buffer and own it until exit\n"
	  "                    (an existing buffer is read as it is)\n" SIZE_OPTIONS
	  "  --timeout MS      fail when no frame arrives for this long (default: wait)\n" },
	{ "help", cmd_help, "[VERB]", "show this help, or the help of one verb", NULL },
};

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

#define GLOBAL_OPTIONS                                                                             \
	"  -s, --socket SOCKET  zbd's control socket (default: $ZBD_SOCKET, else\n"                \
	"                       /run/zbd/zbd.sock for root, else $XDG_RUNTIME_DIR/zbd.sock)\n"     \
	"      --json           output for scripts: one JSON document per reply\n"                 \
	"  -h, --help           show help\n"

static void usage(FILE *f)
{
	fputs("Usage: zbctl [-s SOCKET] [--json] VERB [ARGS...]\n\nVerbs:\n", f);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char synopsis[256];

		snprintf(synopsis, sizeof(synopsis), "%s%s%s", verbs[i].name,
			 *verbs[i].args ? " " : "", verbs[i].args);
		fprintf(f, "  %s\n      %s\n", synopsis, verbs[i].description);
	}
	fputs("\nOptions:\n" GLOBAL_OPTIONS "\n"
	      "SIZE takes K, M or G (powers of 1024). `zbctl VERB --help` describes a verb.\n"
	      "Exit status: 0 ok, 1 failed, 2 misused.\n",
	      f);
}

static void verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "Usage: zbctl [-s SOCKET] [--json] %s%s%s\n\n%s\n", v->name, *v->args ? " " : "",
		v->args, v->description);
	if (v->options)
		fprintf(f, "\n%s", v->options);
	fputs("\nOptions of every verb:\n" GLOBAL_OPTIONS, f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTIONS, { 0 } };
	static char prog[] = "zbctl";
	const struct verb *v;
	int c;

	argv[0] = prog; /* getopt's messages say "zbctl: ", whatever path ran us */
	/* A closed stdout is seen as EPIPE where we write, not as a silent death. */
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, COMMON_SHORT, opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			opt_json = true;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fputs("Try 'zbctl --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("zbctl: missing VERB\n\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	v = verb_find(argv[optind]);
	if (!v) {
		fprintf(stderr, "zbctl: unknown verb '%s'\nTry 'zbctl --help'.\n", argv[optind]);
		return EXIT_USAGE;
	}
	return v->run(v, argc - optind, argv + optind);
}
