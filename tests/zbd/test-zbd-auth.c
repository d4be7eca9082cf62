/* SPDX-License-Identifier: MIT */
/*
 * Who may do what: a client that is neither root nor in the admin group is
 * refused create and destroy (-EACCES) and allowed list, health and watch;
 * a member of the admin group (by a supplementary group) may administer.
 * Needs root to become other users: skipped (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zbdtest.h"

#define ADMIN_GID 4242

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

struct as_user {
	const char *existing; /* a buffer root created */
	const char *fresh;    /* a name to try to create */
	bool admin_group;     /* join ADMIN_GID as a supplementary group */
};

/* Bit per failed expectation: the exit code says which one. */
static int client_as_nobody(void *arg)
{
	struct as_user *a = arg;
	int fail = 0, want = a->admin_group ? 0 : -EACCES;

	if (tz_request(&t, "create %s payload=4K", a->fresh) != want)
		fail |= 1;
	if (!a->admin_group && !strstr(t.reply, "permission denied"))
		fail |= 2;
	if (tz_request(&t, "destroy %s", a->existing) != want)
		fail |= 4;
	if (tz_request(&t, "health") != 0)
		fail |= 8;
	if (tz_request(&t, "list") != 0)
		fail |= 16;
	return fail;
}

static void run_as_nobody(bool admin_group)
{
	struct as_user a = { .existing = tu_unique_name("exists"),
			     .fresh = tu_unique_name("fresh"),
			     .admin_group = admin_group };
	gid_t groups[1] = { ADMIN_GID };
	int fail;

	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", a.existing), 0);
	fail = tu_as_user(TU_NOBODY, TU_NOGROUP, groups, admin_group ? 1 : 0, client_as_nobody, &a,
			  NULL);
	ck_assert_msg(fail == 0, "expectations failed: %#x", fail);
	ck_assert_int_eq(tz_request(&t, "list"), 0);
	ck_assert_int_eq(strstr(t.reply, a.existing) != NULL, !admin_group);
	if (admin_group)
		ck_assert_int_eq(tz_request(&t, "destroy %s", a.fresh), 0);
	else
		ck_assert_int_eq(tz_request(&t, "destroy %s", a.existing), 0);
}

START_TEST(nobody_is_refused_create_and_destroy)
{
	tz_setup(&t, NULL);
	tz_start(&t);
	run_as_nobody(false);
}
END_TEST

START_TEST(admin_group_member_may_administer)
{
	char conf[128];

	snprintf(conf, sizeof(conf), "[zbd]\nadmin_group = %d\n", ADMIN_GID);
	tz_setup(&t, conf);
	tz_start(&t);
	run_as_nobody(true);
}
END_TEST

TU_SUITE(zbd_auth_suite, "zbd-auth", .root = true)
{
	TCase *tc = tu_tcase(s, "auth", NULL, teardown);

	tcase_add_test(tc, nobody_is_refused_create_and_destroy);
	tcase_add_test(tc, admin_group_member_may_administer);
}
