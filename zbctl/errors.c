/* SPDX-License-Identifier: MIT */
/*
 * What zbctl says when something fails, in one place. One line names the verb
 * and, where a buffer is concerned, the buffer; the daemon's own words stand
 * alone when it sent some (they are the more precise, and repeating our word
 * for the code before them only stutters); then, for failures with a usual
 * fix, a hint in zbctl's terms (its options, not the control protocol's).
 * With --json the same goes into one document on stdout, with the code's
 * symbolic name, so a script sees every failure, connection errors included.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "zbctl.h"

struct hint {
	const char *verbs; /* the verbs it applies to, separated by spaces */
	int code;
	const char *text; /* a format whose %1$s, if any, is the buffer NAME */
};

static const struct hint hints[] = {
	{ "create", -EACCES,
	  "creating buffers takes root or zbd's admin group: name a group in admin_group of "
	  "zbd.conf (see zbd.conf(5)) and join it" },
	{ "create", -EEXIST,
	  "'zbctl health %1$s' shows it; 'zbctl destroy %1$s' first to make it anew" },
	{ "destroy", -EACCES,
	  "destroying takes root, zbd's admin group, or write access through the buffer's group" },
	{ "destroy", -EBUSY,
	  "'zbctl destroy %1$s --force' removes it anyway: its reader and writer are told it "
	  "was destroyed" },
	{ "destroy health", -ENOENT, "'zbctl list' shows the buffers zbd owns" },
	{ "read write", -ENOENT,
	  "make it first: 'zbctl create %1$s' (zbd owns it), or 'zbctl read %1$s --create' "
	  "(that reader owns it, no zbd needed)" },
	{ "read write", ZB_EDESTROYED,
	  "it was removed while attached (a forced destroy, say); 'zbctl list' shows whether "
	  "it exists again" },
	{ "read", -EBUSY, "a buffer has one reader at a time; 'zbctl health %1$s' shows its pid" },
	{ "write", -EBUSY, "a buffer has one writer at a time; 'zbctl health %1$s' shows its pid" },
	{ "read write", -EACCES,
	  "the mode and group of the buffer's objects decide who may attach: "
	  "'ls -l /dev/shm/%1$s'" },
	{ "write", -EALREADY,
	  "metadata is set once per buffer: a later writer may give the same metadata again, or "
	  "leave out --metadata" },
	{ "write", -EMSGSIZE,
	  "a frame or the metadata is larger than the buffer: make the buffer with a larger "
	  "--payload or --metadata" },
	{ "create destroy list health watch version", -ETIMEDOUT,
	  "zbd took too long to answer; its log may say why ('journalctl -u zbd')" },
};

static bool verb_in(const char *verbs, const char *verb)
{
	size_t len = strlen(verb);

	for (const char *p = verbs; (p = strstr(p, verb)); p += len)
		if ((p == verbs || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

/* The hint for `err` in verb a->verb, written into out; false if none. */
static bool find_hint(const struct args *a, int err, char *out, size_t size)
{
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		if (hints[i].code != err || !verb_in(hints[i].verbs, a->verb->name))
			continue;
			/* Our own table's formats: %1$s is the only conversion they use. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(out, size, hints[i].text, a->operand ? a->operand : "NAME");
#pragma GCC diagnostic pop
		return true;
	}
	return false;
}

/* Say it: stderr, and the --json document. */
static int report(const struct args *a, int err, const char *what, const char *hint,
		  const struct zb_ctl_field *extra, size_t n_extra)
{
	fprintf(stderr, "zbctl: %s: %s\n", a->verb->name, what);
	if (hint)
		fprintf(stderr, "zbctl: hint: %s\n", hint);
	if (a->json)
		json_print_doc(err, what, hint, extra, n_extra);
	return EXIT_FAIL;
}

int misuse(const struct args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zbctl: %s: ", a->verb->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'zbctl %s --help'.\n", a->verb->name);
	return EXIT_USAGE;
}

int fail_with(const struct args *a, int err, struct zb_ctl *ctl, const struct zb_ctl_field *extra,
	      size_t n_extra)
{
	const char *daemon = ctl ? zb_ctl_last_error(ctl) : NULL;
	bool named = a->operand && a->verb->operand != OPERAND_WORD_OPTIONAL;
	char what[512], hint[512];

	if (daemon && *daemon)
		snprintf(what, sizeof(what), "%s", daemon);
	else if (ctl && err == -ECONNRESET)
		snprintf(what, sizeof(what), "zbd closed the connection");
	else if (named)
		snprintf(what, sizeof(what), "%s: %s", a->operand, zb_strerror(err));
	else
		snprintf(what, sizeof(what), "%s", zb_strerror(err));
	return report(a, err, what, find_hint(a, err, hint, sizeof(hint)) ? hint : NULL, extra,
		      n_extra);
}

int fail(const struct args *a, int err, struct zb_ctl *ctl)
{
	return fail_with(a, err, ctl, NULL, 0);
}

int fail_text(const struct args *a, int err, const char *hint, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return report(a, err, what, hint, NULL, 0);
}

/* Connecting fails for reasons of the socket, not of a buffer: name the path
 * and use the system's words (zb_strerror(-ENOENT) would say "no such buffer"). */
int connect_or_fail_with(const struct args *a, struct zb_ctl **ret,
			 const struct zb_ctl_field *extra, size_t n_extra)
{
	char path[256] = "?", what[512], hint[512] = "";
	int err = zb_ctl_connect(ret, a->socket);

	if (err == 0)
		return EXIT_OK;
	if (a->socket)
		snprintf(path, sizeof(path), "%s", a->socket);
	else
		zb_ctl_default_socket(path, sizeof(path));
	if (err == -ENOENT || err == -ECONNREFUSED) {
		snprintf(what, sizeof(what), "no zbd listening at %s (%s)", path, strerror(-err));
		if (a->socket)
			snprintf(hint, sizeof(hint),
				 "is zbd running? 'zbd --socket %s' starts one there", path);
		else
			snprintf(hint, sizeof(hint),
				 "is zbd running? start it ('systemctl start zbd'), or name the "
				 "socket "
				 "it listens on with -s or $ZBD_SOCKET");
	} else {
		snprintf(what, sizeof(what), "cannot connect to zbd at %s: %s", path,
			 err < 0 && err > -4096 ? strerror(-err) : zb_strerror(err));
		if (err == -EACCES)
			snprintf(hint, sizeof(hint),
				 "the socket's directory or mode keeps you out: ask for access, or "
				 "run your own zbd with --socket");
	}
	return report(a, err, what, *hint ? hint : NULL, extra, n_extra);
}

int connect_or_fail(const struct args *a, struct zb_ctl **ret)
{
	return connect_or_fail_with(a, ret, NULL, 0);
}

int interrupted(const struct args *a, const struct zb_ctl_field *extra, size_t n_extra)
{
	int sig = stop_signal ? stop_signal : SIGINT;

	if (a->json)
		json_print_doc(-EINTR, sig == SIGTERM ? "terminated" : "interrupted", NULL, extra,
			       n_extra);
	return EXIT_SIGNAL_BASE + sig;
}
