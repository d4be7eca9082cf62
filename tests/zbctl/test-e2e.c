/* SPDX-License-Identifier: MIT */
/*
 * zbctl against a real zbd on a private socket (zbdtest.h): create -> write
 * -> read -> health -> destroy, the walk the README gives a newcomer.
 * Skipped (77) while the zbd executable is not built.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define OUT_MAX 65536

static const char *zbctl;
static struct tz t;
static char *dir, *sock; /* t's */

static void write_file(const char *path, const char *data)
{
	ck_assert_int_eq(tu_write_file(path, data, strlen(data)), 0);
}

static void read_file(const char *path, char *out, size_t size)
{
	int n = tu_read_file(path, out, size);

	ck_assert_msg(n >= 0, "%s: %s", path, strerror(-n));
}

/* Run zbctl -s SOCK args... to the end; stdout into `out` (may be NULL). */
static int run_zbctl(const char *input, char *out, size_t out_size, char *const args[])
{
	char in[128], outp[128], errp[128], *argv[16] = { "-s", sock };
	int code, n = 2;

	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(outp, sizeof(outp), "%s/out", dir);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	write_file(in, input ? input : "");
	unlink(outp);
	unlink(errp);
	tz_notify_drain(&t);
	code = tu_exit_status(tu_wait(tu_spawn_io(zbctl, argv, in, outp, errp), 10000));
	if (out)
		read_file(outp, out, out_size);
	if (code != 0) {
		char err[1024];

		read_file(errp, err, sizeof(err));
		fprintf(stderr, "zbctl %s: exit %d: %s", args[0], code, err);
	}
	return code;
}

#define ZBCTL(input, out, ...)                                                                     \
	run_zbctl((input), (out), sizeof(out), (char *const[]){ __VA_ARGS__, NULL })

static void start_zbd(void)
{
	tz_setup(&t, NULL);
	tz_start_logged(&t);
	dir = t.dir;
	sock = t.sock;
}

static void stop_zbd(void)
{
	tz_teardown(&t);
}

/* The library's view of one buffer, through the daemon. */
static struct zb_health health_of(const char *name)
{
	struct zb_health *h, copy;
	struct zb_ctl *ctl;
	size_t n;

	tz_notify_drain(&t);
	ck_assert_int_eq(zb_ctl_connect(&ctl, sock), 0);
	ck_assert_int_eq(zb_ctl_health(ctl, name, &h, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	copy = h[0];
	zb_health_free(h);
	zb_ctl_close(ctl);
	return copy;
}

START_TEST(create_write_read_health_destroy)
{
	const char *name = tu_unique_name("e2e");
	char out[OUT_MAX], got[256], rout[128], want[300];
	struct zb_health h;
	pid_t reader;
	int i;

	ck_assert_int_eq(ZBCTL(NULL, out, "create", (char *)name, "--payload", "64K"), 0);
	ck_assert_int_eq(ZBCTL(NULL, out, "list"), 0);
	snprintf(want, sizeof(want), "%s\n", name);
	ck_assert_msg(strstr(out, want), "list: %s", out);
	ck_assert(tu_any_object_exists(name));

	/* A reader on zbd's buffer; attached once the daemon sees its pid alive. */
	snprintf(rout, sizeof(rout), "%s/reader.out", dir);
	reader = tu_spawn_io(zbctl, (char *const[]){ "read", (char *)name, "--lines", NULL }, NULL,
			     rout, NULL);
	for (i = 0; i < 1000; i++) {
		h = health_of(name);
		if (h.reader_alive)
			break;
		usleep(5000);
	}
	ck_assert_int_eq(h.reader_alive, 1);
	ck_assert_int_eq(h.reader_pid, reader);

	ck_assert_int_eq(ZBCTL("a\nbb\nccc\n", out, "write", (char *)name, "--lines"), 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	read_file(rout, got, sizeof(got));
	ck_assert_str_eq(got, "a\nbb\nccc\n");

	h = health_of(name);
	ck_assert_uint_eq(h.payload_size, 64 * 1024);
	ck_assert_uint_eq(h.frames_written, 3);
	ck_assert_uint_eq(h.frames_read, 3);
	ck_assert_uint_eq(h.used_bytes, 0);
	ck_assert_int_eq(h.state, ZB_HEALTH_HEALTHY);
	ck_assert_int_eq(ZBCTL(NULL, out, "--json", "health", (char *)name), 0);
	snprintf(want, sizeof(want), "\"buffer\":\"%s\"", name);
	ck_assert_msg(strstr(out, want), "health: %s", out);
	ck_assert(strncmp(out, "{\"status\":0,", 12) == 0);
	ck_assert_int_eq(ZBCTL(NULL, out, "health"), 0);
	ck_assert(strstr(out, name));

	ck_assert_int_eq(ZBCTL(NULL, out, "destroy", (char *)name), 0);
	ck_assert(!tu_any_object_exists(name));
	ck_assert_int_eq(ZBCTL(NULL, out, "list"), 0);
	ck_assert(!strstr(out, want));
	ck_assert_int_eq(ZBCTL(NULL, out, "destroy", (char *)name), 1);
}
END_TEST

START_TEST(watch_reports_then_sigint)
{
	const char *name = tu_unique_name("watch");
	char out[OUT_MAX], wout[128];
	pid_t watcher;
	int reports = 0;

	ck_assert_int_eq(ZBCTL(NULL, out, "create", (char *)name), 0);
	snprintf(wout, sizeof(wout), "%s/watch.out", dir);
	watcher = tu_spawn_io(zbctl, (char *const[]){ "-s", sock, "--json", "watch", "50", NULL },
			      NULL, wout, NULL);
	/* A report per interval: wait for three, then interrupt. */
	for (int i = 0; i < 500 && reports < 3; i++) {
		usleep(10000);
		/* The watcher may not have opened its output yet: nothing to count. */
		if (tu_read_file(wout, out, sizeof(out)) < 0)
			continue;
		reports = 0;
		for (char *p = out; (p = strstr(p, "{\"status\":0,")); p++)
			reports++;
	}
	ck_assert_int_ge(reports, 3);
	ck_assert(strstr(out, name));
	kill(watcher, SIGINT);
	ck_assert_int_eq(tu_exit_status(tu_wait(watcher, 5000)), 130);
	ck_assert_int_eq(ZBCTL(NULL, out, "destroy", (char *)name), 0);
}
END_TEST

/* What a refused destroy and `version` say with the real daemon on the
 * other end: its words once, the fix in zbctl's terms, both versions. */
START_TEST(errors_and_version_from_zbd)
{
	const char *name = tu_unique_name("busy");
	char out[OUT_MAX], err[2048], want[512], errp[128];
	struct zb_reader *rd;

	ck_assert_int_eq(ZBCTL(NULL, out, "create", (char *)name, "--payload", "64K"), 0);
	ck_assert_int_eq(zb_reader_open(&rd, name), 0);
	ck_assert_int_eq(ZBCTL(NULL, out, "destroy", (char *)name), 1);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	read_file(errp, err, sizeof(err));
	snprintf(want, sizeof(want),
		 "zbctl: destroy: buffer %s has a live reader (pid %d)\n"
		 "zbctl: hint: 'zbctl destroy %s --force' removes it anyway",
		 name, (int)getpid(), name);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	ck_assert_ptr_null(strstr(err, "use force"));
	ck_assert_int_eq(ZBCTL(NULL, out, "destroy", (char *)name, "--force"), 0);
	zb_reader_close(rd);

	ck_assert_int_eq(ZBCTL(NULL, out, "version"), 0);
	snprintf(want, sizeof(want), "zbctl %s\nlibzbclient %s\nzbd %s\n", ZB_VERSION_STRING,
		 zb_version(), ZB_VERSION_STRING);
	ck_assert_str_eq(out, want);
}
END_TEST

/* Also finds zbctl for the tests. */
static const char *no_zbctl_or_zbd(void)
{
	const char *zbd = getenv("ZBD");

	zbctl = getenv("ZBCTL");
	if (!zbctl || access(zbctl, X_OK) != 0)
		return "ZBCTL does not name the zbctl executable";
	if (!zbd || access(zbd, X_OK) != 0)
		return "the zbd executable is not built (ZBD unset)";
	return NULL;
}

TU_SUITE(zbctl_e2e_suite, "zbctl-e2e", .skip = no_zbctl_or_zbd)
{
	TCase *tc = tu_tcase(s, "e2e", start_zbd, stop_zbd);

	tcase_add_test(tc, create_write_read_health_destroy);
	tcase_add_test(tc, watch_reports_then_sigint);
	tcase_add_test(tc, errors_and_version_from_zbd);
}
