/* SPDX-License-Identifier: MIT */
/*
 * zbd under valgrind memcheck: 10,000 buffers created and destroyed through
 * the control socket (the zb_ctl_* API, one connection, then a fresh
 * connection every 100 buffers so that client setup and teardown are covered
 * too), a health request now and then, then SIGTERM. valgrind exits 99 on any
 * error or on a definite or indirect leak, so zbd must exit 0.
 *
 * VALGRIND is its path (meson finds it). Skipped (77) without valgrind, and
 * in a sanitizer build (ASan and valgrind do not run together).
 * REL_LEAK_BUFFERS changes the count.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

static struct tz t;

static const char *valgrind_path;

START_TEST(create_destroy_10000)
{
	char *valgrind[] = { (char *)valgrind_path,
			     "-q",
			     "--leak-check=full",
			     "--error-exitcode=99",
			     "--errors-for-leak-kinds=definite,indirect",
			     NULL };
	const char *env = getenv("REL_LEAK_BUFFERS");
	unsigned n = env ? (unsigned)atoi(env) : 10000;
	struct zb_buffer_config cfg = { .payload_size = 4096, .metadata_size = 64 };
	struct zb_ctl *ctl = NULL;
	double start = tu_now_ms();
	char name[64];
	int st;

	tz_setup(&t, NULL);
	tz_spawn(&t, valgrind);
	ck_assert_msg(tz_wait_ready(&t, 120000), "zbd under valgrind did not get ready");
	for (unsigned i = 0; i < n; i++) {
		if (i % 100 == 0) {
			zb_ctl_close(ctl);
			ck_assert_int_eq(zb_ctl_connect(&ctl, t.sock), 0);
			ck_assert_int_eq(zb_ctl_set_timeout(ctl, 60000), 0);
		}
		/* A unique name is kept for cleanup until tu_cleanup_all(): one at a time. */
		snprintf(name, sizeof(name), "%s-%u", tu_unique_name("leak"), i);
		tu_cleanup_all();
		/* zbd sends STATUS= at every create and destroy: read it as systemd would. */
		tz_notify_drain(&t);
		st = zb_ctl_create(ctl, name, &cfg, NULL);
		ck_assert_msg(st == 0, "create %s: %s", name, zb_strerror(st));
		if (i % 1000 == 0) {
			struct zb_health *h = NULL;
			size_t count = 0;

			ck_assert_int_eq(zb_ctl_health(ctl, NULL, &h, &count, NULL), 0);
			ck_assert_uint_eq(count, 1);
			zb_health_free(h);
		}
		tz_notify_drain(&t);
		st = zb_ctl_destroy(ctl, name, i % 2);
		ck_assert_msg(st == 0, "destroy %s: %s", name, zb_strerror(st));
		ck_assert(!tu_any_object_exists(name));
	}
	zb_ctl_close(ctl);
	printf("zbd-leaks: %u buffers created and destroyed in %.1f s\n", n,
	       (tu_now_ms() - start) / 1e3);
	st = tz_kill(&t, SIGTERM);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 99,
		      "valgrind reported errors or leaks in zbd (see its output above)");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "zbd exit status %#x", st);
	printf("zbd-leaks: valgrind: no errors, no definite or indirect leaks; %.1f s\n",
	       (tu_now_ms() - start) / 1e3);
}
END_TEST

static void teardown(void)
{
	tz_teardown(&t);
}

/* Also finds valgrind for the test (VALGRIND, from meson). */
static const char *no_valgrind(void)
{
	valgrind_path = getenv("VALGRIND");
	if (!valgrind_path || access(valgrind_path, X_OK) != 0)
		return "valgrind is not installed";
	/* ASan and valgrind do not run together. */
	if (getenv("ZBD_SANITIZED") && strcmp(getenv("ZBD_SANITIZED"), "none") != 0)
		return "zbd is built with sanitizers, which valgrind cannot run";
	return NULL;
}

TU_SUITE(zbd_leaks_suite, "zbd-leaks", .skip = no_valgrind)
{
	TCase *tc = tu_tcase(s, "leaks", NULL, teardown);

	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, create_destroy_10000);
}
