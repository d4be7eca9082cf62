/* SPDX-License-Identifier: MIT */
/*
 * zbctl's bash completion, driven as bash drives it: the script sourced into
 * a real bash, COMP_WORDS and COMP_CWORD set, _zbctl called, COMPREPLY
 * printed. Verbs and options come from the built zbctl's help, buffer names
 * from its `list` against a fake daemon.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "testutil.h"
#include "zbclient.h"

#define OUT_MAX 4096
#define BASH "/bin/bash"

static const char *zbctl, *completion;
static struct fake fk;
static char tmpdir[64];

static void setup(void)
{
	ck_assert_int_eq(tu_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
}

static void teardown(void)
{
	fake_stop(&fk);
	tu_cleanup_all();
	tu_rmtree(tmpdir);
}

/* The script bash runs: $1 is the completion file, the rest the words of
 * the command line, the last one being completed. */
static const char script[] = "source \"$1\" || exit 3\n"
			     "shift\n"
			     "COMP_WORDS=(\"$@\")\n"
			     "COMP_CWORD=$(($# - 1))\n"
			     "COMP_LINE=\"$*\"\n"
			     "COMP_POINT=${#COMP_LINE}\n"
			     "complete -p zbctl >/dev/null || exit 4\n"
			     "_zbctl\n"
			     "printf '%s\\n' \"${COMPREPLY[@]}\"\n";

/* Complete the words after "zbctl" (the last one is the word being typed);
 * COMPREPLY, one per line, into out. Anything on stderr fails the test. */
static void complete_words(char *out, char *const words[])
{
	char *argv[32] = { "--norc", "--noprofile",	 "-c",	       (char *)script,
			   "bash",   (char *)completion, (char *)zbctl };
	char outp[128], errp[128], err[OUT_MAX];
	int n = 7, status;

	for (int i = 0; words[i]; i++)
		argv[n++] = words[i];
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	status = tu_exit_status(tu_wait(tu_spawn_io(BASH, argv, NULL, outp, errp), 10000));
	ck_assert_int_ge(tu_read_file(errp, err, sizeof(err)), 0);
	ck_assert_int_ge(tu_read_file(outp, out, OUT_MAX), 0);
	ck_assert_msg(status == 0, "bash exited %d: %s", status, err);
	ck_assert_msg(err[0] == '\0', "stderr: %s", err);
}

#define COMPLETE(out, ...) complete_words((out), (char *const[]){ __VA_ARGS__, NULL })

START_TEST(verbs)
{
	char out[OUT_MAX];

	COMPLETE(out, "");
	ck_assert_str_eq(out, "create\ndestroy\nlist\nhealth\nwatch\nmetrics\nwrite\nread\nversion\nhelp\n");
	COMPLETE(out, "de");
	ck_assert_str_eq(out, "destroy\n");
	/* After the common options too, -s's argument not taken for the verb. */
	COMPLETE(out, "--json", "-s", "/nowhere", "he");
	ck_assert_str_eq(out, "health\nhelp\n");
	COMPLETE(out, "help", "wr");
	ck_assert_str_eq(out, "write\n");
}
END_TEST

START_TEST(options)
{
	char out[OUT_MAX];

	COMPLETE(out, "--");
	ck_assert_str_eq(out, "--help\n--json\n--socket\n--version\n");
	/* A verb's own options and the common ones, from `zbctl VERB --help`. */
	COMPLETE(out, "create", "cam0", "--");
	ck_assert_str_eq(out, "--group\n--help\n--json\n--metadata\n--mode\n--payload\n--socket\n"
			      "--version\n");
	COMPLETE(out, "read", "--f");
	ck_assert_str_eq(out, "--follow\n");
	COMPLETE(out, "create", "cam0", "--mode", "06");
	ck_assert_str_eq(out, "0600\n0640\n0660\n0666\n");
	/* A size is the user's to type. */
	COMPLETE(out, "create", "cam0", "--payload", "");
	ck_assert_str_eq(out, "\n");
	/* The daemon's words after create's NAME, and force after destroy's. */
	COMPLETE(out, "create", "cam0", "pay");
	ck_assert_str_eq(out, "payload=\n");
}
END_TEST

START_TEST(buffer_names_from_list)
{
	const char *replies[] = { "buffer=cam0\nbuffer=cam1\nbuffer=mic\nstatus=0\n\n" };
	char out[OUT_MAX];

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	COMPLETE(out, "-s", fk.path, "destroy", "ca");
	ck_assert_str_eq(fake_request(&fk), "list");
	ck_assert_str_eq(out, "cam0\ncam1\n");
	fake_stop(&fk);

	/* The socket from $ZBD_SOCKET, as zbctl itself takes it. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	setenv("ZBD_SOCKET", fk.path, 1);
	COMPLETE(out, "health", "");
	unsetenv("ZBD_SOCKET");
	ck_assert_str_eq(fake_request(&fk), "list");
	ck_assert_str_eq(out, "cam0\ncam1\nmic\n");
	fake_stop(&fk);

	/* NAME given: destroy offers its word, health nothing more. */
	COMPLETE(out, "destroy", "cam0", "f");
	ck_assert_str_eq(out, "force\n");
}
END_TEST

/* read and write attach to any ZeroBuffer buffer: zbd's and those in
 * /dev/shm; no daemon means no names from it, quietly. */
START_TEST(read_write_names_without_zbd)
{
	struct zb_reader *r;
	const char *name = tu_unique_name("cmpl");
	char out[OUT_MAX], want[256];

	ck_assert_int_eq(zb_reader_create(&r, name, NULL), 0);
	fake_dead_path(&fk);
	COMPLETE(out, "-s", fk.path, "write", (char *)name);
	snprintf(want, sizeof(want), "%s\n", name);
	ck_assert_str_eq(out, want);
	COMPLETE(out, "-s", fk.path, "destroy", (char *)name);
	ck_assert_str_eq(out, "\n");
	zb_reader_close(r);
}
END_TEST

/* Also finds zbctl and the completion script. */
static const char *cannot_run(void)
{
	zbctl = getenv("ZBCTL");
	completion = getenv("ZBCTL_COMPLETION");
	if (!zbctl || access(zbctl, X_OK) != 0)
		return "ZBCTL does not name the zbctl executable";
	if (!completion || access(completion, R_OK) != 0)
		return "ZBCTL_COMPLETION does not name the completion script";
	if (access(BASH, X_OK) != 0)
		return "no " BASH;
	return NULL;
}

TU_SUITE(zbctl_completion_suite, "zbctl-completion", .skip = cannot_run)
{
	TCase *tc = tu_tcase(s, "completion", setup, teardown);

	tcase_add_test(tc, verbs);
	tcase_add_test(tc, options);
	tcase_add_test(tc, buffer_names_from_list);
	tcase_add_test(tc, read_write_names_without_zbd);
}
