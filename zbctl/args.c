/* SPDX-License-Identifier: MIT */
/*
 * The one parsing step of every verb, as `wg` and `ip` have theirs: the common
 * options (-s, --json, --help), the verb's own options and daemon-grammar words
 * from its table entry, then its operand (a checked buffer NAME, or one word
 * the verb reads itself). Option values are checked as they come, so the first
 * mistake on the command line is the one reported. Options may follow the
 * operand (`zbctl list --json`): getopt permutes the verb's arguments.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "zbctl.h"

/* Accepted before the verb and after it. */
static const struct option common_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};
#define COMMON_SHORT "s:h"
#define N_COMMON (sizeof(common_options) / sizeof(common_options[0]) - 1)
#define OPTIONS_MAX 16

void args_init(struct args *a)
{
	*a = (struct args){ .timeout_ms = -1 };
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

bool parse_uint(const char *s, long max, long *ret)
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

/* How an option's argument is read, and what a bad one is called. */
enum kind {
	FLAG,	/* bool, no argument */
	TEXT,	/* const char *, taken as it is */
	SIZE,	/* uint64_t, zb_size_parse() */
	MODE,	/* mode_t, parse_mode() */
	COUNT,	/* long, 1 to INT_MAX (a frame size) */
	MILLIS, /* long, 0 to INT_MAX */
};

/* Where each option lands in struct args. The _Generic refuses, at compile
 * time, a field whose C type is not the one its kind stores. */
#define TO(field, ctype)                                                                           \
	offsetof(struct args, field) + 0 * _Generic(((struct args *)0)->field, ctype : 0)

static const struct target {
	int option;
	enum kind kind;
	size_t offset;
} targets[] = {
	{ OPT_JSON, FLAG, TO(json, bool) },
	{ 's', TEXT, TO(socket, const char *) },
	{ OPT_PAYLOAD, SIZE, TO(cfg.payload_size, uint64_t) },
	{ OPT_METADATA, SIZE, TO(cfg.metadata_size, uint64_t) },
	{ OPT_MODE, MODE, TO(cfg.mode, mode_t) },
	{ OPT_METADATA_TEXT, TEXT, TO(metadata, const char *) },
	{ OPT_GROUP, TEXT, TO(group, const char *) },
	{ OPT_FORCE, FLAG, TO(force, bool) },
	{ OPT_LINES, FLAG, TO(lines, bool) },
	{ OPT_FOLLOW, FLAG, TO(follow, bool) },
	{ OPT_CREATE, FLAG, TO(create, bool) },
	{ OPT_FRAME_SIZE, COUNT, TO(frame_size, long) },
	{ OPT_TIMEOUT, MILLIS, TO(timeout_ms, long) },
};

/* Read `arg` into `field` as `kind` says; NULL when that worked, else the
 * usage message's words for what is wrong (before and after the value). */
static const char *read_value(enum kind kind, const char *arg, void *field, const char **hint)
{
	long *n = field;

	switch (kind) {
	case FLAG:
		*(bool *)field = true;
		return NULL;
	case TEXT:
		*(const char **)field = arg;
		return NULL;
	case SIZE:
		switch (zb_size_parse(arg, field)) {
		case 0:
			return NULL;
		case -EMSGSIZE:
			*hint = " (at most 1 TiB: 1024G)";
			return "size";
		default:
			*hint = " (a positive number of bytes with an optional K, M or G suffix)";
			return "size";
		}
	case MODE:
		*hint = " (octal, e.g. 0660)";
		return parse_mode(arg, field) ? NULL : "mode";
	case COUNT:
		return parse_uint(arg, INT_MAX, n) && *n > 0 ? NULL : "frame size";
	case MILLIS:
		*hint = " (milliseconds)";
		return parse_uint(arg, INT_MAX, n) ? NULL : "timeout";
	}
	return NULL;
}

/* Take one option (from getopt or a daemon-grammar word) into `a`; false
 * after a usage message. */
static bool set_option(struct args *a, int option, const char *arg)
{
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		const char *bad, *hint = "";

		if (t->option != option)
			continue;
		a->sized = a->sized || t->kind == SIZE || t->kind == MODE;
		bad = read_value(t->kind, arg, (char *)a + t->offset, &hint);
		if (bad)
			misuse(a, "invalid %s '%s'%s", bad, arg, hint);
		return bad == NULL;
	}
	abort(); /* an option of the verb table that has no target here */
}

/* 1 if `s` is one of the verb's daemon-grammar words (taken into `a`), 0 if
 * not, -1 after a usage message. */
static int set_word(struct args *a, const char *s)
{
	for (const struct word *w = a->verb->words; w && w->text; w++) {
		size_t len = strlen(w->text);

		if (w->text[len - 1] == '=' ? strncmp(s, w->text, len) != 0
					    : strcmp(s, w->text) != 0)
			continue;
		return set_option(a, w->option, s + len) ? 1 : -1;
	}
	return 0;
}

/* getopt_long over argv into `a`, for the options before the verb (v NULL)
 * or a verb's own. False with *exit_code set after help or a usage error. */
static bool take_options(const struct verb *v, int argc, char **argv, const char *shortopts,
			 const struct option *opts, struct args *a, int *exit_code)
{
	int c;

	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'h') {
			if (v)
				verb_help(v, stdout);
			else
				usage(stdout);
			*exit_code = EXIT_OK;
			return false;
		}
		if (c == OPT_VERSION) {
			printf("zbctl %s\n", ZB_VERSION_STRING);
			*exit_code = EXIT_OK;
			return false;
		}
		/* getopt said what is wrong; set_option() says it for bad values. */
		if (c == '?' || c == ':' || !set_option(a, c, optarg)) {
			if (c == '?' || c == ':')
				fprintf(stderr, "Try 'zbctl%s%s --help'.\n", v ? " " : "",
					v ? v->name : "");
			*exit_code = EXIT_USAGE;
			return false;
		}
	}
	return true;
}

bool args_parse_global(int argc, char **argv, struct args *a, int *exit_code)
{
	/* "+": stop at the verb, whose own options are parsed afterwards. */
	return take_options(NULL, argc, argv, "+" COMMON_SHORT, common_options, a, exit_code);
}

/* The common options and the verb's own, in one array for getopt_long. */
static void verb_options(const struct verb *v, struct option *opts)
{
	size_t n = N_COMMON;

	memcpy(opts, common_options, sizeof(common_options));
	for (const struct option *o = v->options; o && o->name; o++) {
		if (n + 1 >= OPTIONS_MAX)
			abort(); /* the table in main.c outgrew OPTIONS_MAX */
		opts[n++] = *o;
	}
	opts[n] = (struct option){ 0 };
}

/* After the options: daemon-grammar words and the operand. */
static bool parse_operand(int argc, char **argv, struct args *a, int *exit_code)
{
	const struct verb *v = a->verb;
	bool is_name = v->operand == OPERAND_NAME || v->operand == OPERAND_NAME_OPTIONAL;

	for (int i = optind; i < argc; i++) {
		int w = set_word(a, argv[i]);

		if (w < 0) {
			*exit_code = EXIT_USAGE;
			return false;
		}
		if (w > 0)
			continue;
		if (v->operand == OPERAND_NONE || a->operand) {
			*exit_code = misuse(a, "unexpected argument '%s'", argv[i]);
			return false;
		}
		a->operand = argv[i];
	}
	if (v->operand == OPERAND_NAME && !a->operand) {
		*exit_code = misuse(a, "missing buffer NAME");
		return false;
	}
	if (is_name && a->operand && zb_name_check(a->operand) < 0) {
		*exit_code = misuse(a, "invalid buffer name '%s' (%s)", a->operand, ZB_NAME_RULE);
		return false;
	}
	return true;
}

bool args_parse(const struct verb *v, int argc, char **argv, struct args *a, int *exit_code)
{
	static char prog[64];
	struct option opts[OPTIONS_MAX];

	a->verb = v;
	verb_options(v, opts);
	/* getopt's own messages then read "zbctl: VERB: unrecognized option". */
	snprintf(prog, sizeof(prog), "zbctl: %s", v->name);
	argv[0] = prog;
	optind = 0; /* full re-initialisation: the global options were parsed already */
	opterr = 1;
	return take_options(v, argc, argv, COMMON_SHORT, opts, a, exit_code) &&
	       parse_operand(argc, argv, a, exit_code);
}
