/* SPDX-License-Identifier: MIT */
/*
 * zbctl: drive zbd's control socket and feed or drain buffers from a shell.
 * Links only the public libzbclient, like any other application would.
 *
 * main.c holds the one table of verbs; args.c the one parsing step every verb
 * goes through (common options, the verb's own, its NAME or other operand);
 * errors.c what a failure says (and the hint at its fix); sizes.c the checks
 * of a buffer's sizes before it is made; output.c and json.c what the verbs
 * print; admin.c, query.c and stream.c the verbs themselves, one function each.
 */
#pragma once

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "zbclient.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
/* Ended by SIGINT or SIGTERM: 128 + the signal, as shells report it. */
#define EXIT_SIGNAL_BASE 128

struct args;

/* What follows a verb's options on its command line. */
enum operand {
	OPERAND_NONE,	       /* nothing */
	OPERAND_NAME,	       /* a buffer NAME, required */
	OPERAND_NAME_OPTIONAL, /* a buffer NAME or nothing */
	OPERAND_WORD_OPTIONAL, /* one word the verb reads itself, or nothing */
};

/* A word of the daemon's own grammar accepted in place of an option: a prefix
 * ending in '=' takes the rest of the word as its argument ("payload=64M"),
 * any other word must match whole ("force"). */
struct word {
	const char *text;
	int option; /* as in struct option's `val` */
};

struct verb {
	const char *name;
	int (*run)(const struct args *a);
	enum operand operand;
	const struct option *options; /* the verb's own, { 0 }-terminated, or NULL */
	const struct word *words;     /* { 0 }-terminated, or NULL */
	const char *synopsis;	      /* after the verb, in the usage */
	const char *description;
	const char *help; /* per-verb help, one "  --opt  text\n" line each, or NULL */
};

/* Options of the verbs, beyond -s, --json and --help. */
enum {
	OPT_JSON = 0x100,
	OPT_PAYLOAD,
	OPT_METADATA,	   /* a size (create, read --create) */
	OPT_METADATA_TEXT, /* the metadata itself (write) */
	OPT_MODE,
	OPT_GROUP,
	OPT_FORCE,
	OPT_LINES,
	OPT_FRAME_SIZE,
	OPT_TIMEOUT,
	OPT_FOLLOW,
	OPT_CREATE,
	OPT_VERSION,
};

/* A verb's command line, parsed and checked: each verb reads what its table
 * entry accepts; the rest keep the values args_init() gave them. */
struct args {
	const struct verb *verb;
	const char *socket; /* -s, or NULL for the default */
	bool json;
	const char *operand;	     /* NAME (zb_name_check() passed), or the verb's one word */
	struct zb_buffer_config cfg; /* --payload, --metadata SIZE, --mode */
	bool sized;		     /* one of those three was given */
	const char *group;
	const char *metadata; /* write --metadata TEXT */
	bool force, lines, follow, create;
	long frame_size; /* 0: none */
	long timeout_ms; /* -1: wait as long as it takes */
};

/* main.c */
extern volatile sig_atomic_t stop_signal;
void catch_stop_signals(void);
const struct verb *verb_find(const char *name);
void usage(FILE *f);
void verb_help(const struct verb *v, FILE *f);

/*
 * args.c: the parsing step. Each returns true to go on, or false with the exit
 * code in *exit_code (help printed, or a usage error reported).
 * args_parse_global() takes the common options before the verb and leaves
 * optind at the verb; args_parse() then parses the verb's arguments (argv[0]
 * is the verb) into `a`.
 */
void args_init(struct args *a);
bool args_parse_global(int argc, char **argv, struct args *a, int *exit_code);
bool args_parse(const struct verb *v, int argc, char **argv, struct args *a, int *exit_code);
/* A non-negative number up to `max` (milliseconds, a frame size). */
bool parse_uint(const char *s, long max, long *ret);

/*
 * errors.c: what goes wrong, said once: on stderr "zbctl: VERB: what" (with
 * the buffer's name) and "zbctl: hint: how to fix it" when there is a usual
 * fix; with --json also a document {"status", "error", "error_name", "hint"}
 * on stdout. Each returns the exit code (EXIT_USAGE, EXIT_FAIL).
 */
int misuse(const struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failed call: `err` from the library or the daemon (whose error= text, if
 * any, `ctl` still holds). */
int fail(const struct args *a, int err, struct zb_ctl *ctl);
/* The same, with counters for the JSON document (read, write). */
int fail_with(const struct args *a, int err, struct zb_ctl *ctl, const struct zb_ctl_field *extra,
	      size_t n_extra);
/* A failure zbctl found itself, worded by the caller. */
int fail_text(const struct args *a, int err, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Connect to zbd, or report why not (the socket's path, and a hint). */
int connect_or_fail(const struct args *a, struct zb_ctl **ret);
int connect_or_fail_with(const struct args *a, struct zb_ctl **ret,
			 const struct zb_ctl_field *extra, size_t n_extra);
/* The exit code of a run a signal ended (EXIT_SIGNAL_BASE + signal), with
 * the --json document that says so; `extra` as for fail_with(). */
int interrupted(const struct args *a, const struct zb_ctl_field *extra, size_t n_extra);

/* sizes.c: before a buffer is made (create, read --create): a note when a
 * size will be rounded up, a refusal (EXIT_FAIL) when /dev/shm could never
 * hold it (less free space than it needs is zbd's and the library's -ENOSPC). */
int check_buffer_sizes(const struct args *a);
/* The bytes of the segment a buffer of a's sizes has; what /dev/shm has free. */
uint64_t buffer_bytes(const struct args *a);
uint64_t shm_bytes_left(void);

/* output.c: text */
int finish_stdout(const struct args *a);
/* Bytes in the size grammar's units: "64M", "1K", "100B"; one decimal when
 * not a whole number of the unit ("1.5M"). */
void format_size(char *out, size_t size, uint64_t bytes);
void print_health_table(FILE *f, const struct zb_daemon_health *d, const struct zb_health *h,
			size_t n, const char *eol);
/* `health NAME`: one buffer, every detail, labelled. */
int print_health_detail(FILE *f, const struct zb_ctl_reply *reply);

/* json.c: one document per line on stdout (JSON Lines); 0 or -ENOMEM */
int json_print_reply(const struct zb_ctl_reply *reply);
/* {"status":status, "error":..., "error_name":..., "hint":..., extra fields...}:
 * error and hint may be NULL; extra values are typed as replies' are. */
int json_print_doc(int status, const char *error, const char *hint,
		   const struct zb_ctl_field *extra, size_t n_extra);
int json_print_list(char *const *names, size_t count);
/* {"sequence":N,"size":N,"data":"BASE64"}: one frame of `read --json`. */
int json_print_frame(const struct zb_frame *f);

/* The verbs */
int cmd_create(const struct args *a);
int cmd_destroy(const struct args *a);
int cmd_list(const struct args *a);
int cmd_health(const struct args *a);
int cmd_metrics(const struct args *a);
int cmd_watch(const struct args *a);
int cmd_write(const struct args *a);
int cmd_read(const struct args *a);
int cmd_version(const struct args *a);
int cmd_help(const struct args *a);
