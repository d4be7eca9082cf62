/* SPDX-License-Identifier: MIT */
/*
 * The control socket against other local users. create needs root or the
 * admin group; destroy also lets in the members of a buffer's group when the
 * buffer's mode lets that group write (they can stop its stream anyway), for
 * that buffer only. Every refusal is in zbd's log with the peer's uid and pid.
 * Needs root to become other users: skipped (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "zbdtest.h"

#define ADMIN_GID 4242
#define TEAM_GID 4250  /* the group the test user is in */
#define OTHER_GID 4251 /* a group it is not in */

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

struct names {
	const char *team_rw; /* TEAM_GID, mode 0660: the user may destroy it */
	const char *team_ro; /* TEAM_GID, mode 0640: the group only reads */
	const char *other;   /* OTHER_GID, mode 0660 */
	const char *missing; /* never created */
	const char *fresh;   /* for a create attempt */
};

/* As the user: one bit per expectation that failed. */
static int as_team_member(void *arg)
{
	struct names *n = arg;
	int fail = 0;

	if (tz_request(&t, "destroy %s", n->team_ro) != -EACCES)
		fail |= 1;
	if (!strstr(t.reply, "permission denied"))
		fail |= 2;
	if (tz_request(&t, "destroy %s force", n->other) != -EACCES)
		fail |= 4;
	if (tz_request(&t, "destroy %s", n->missing) != -EACCES)
		fail |= 8;
	if (tz_request(&t, "create %s payload=4K group=%d", n->fresh, TEAM_GID) != -EACCES)
		fail |= 16;
	if (tz_request(&t, "destroy %s", n->team_rw) != 0)
		fail |= 32;
	return fail;
}

static void create_three(struct names *n)
{
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0660 group=%d", n->team_rw, TEAM_GID), 0);
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0640 group=%d", n->team_ro, TEAM_GID), 0);
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0660 group=%d", n->other, OTHER_GID), 0);
}

START_TEST(buffer_group_may_destroy_its_buffer_only)
{
	struct names n = { tu_unique_name("rw"), tu_unique_name("ro"), tu_unique_name("other"),
			   tu_unique_name("missing"), tu_unique_name("fresh") };
	gid_t groups[] = { TEAM_GID };
	char conf[64], pid[32];
	pid_t child;
	int fail;

	snprintf(conf, sizeof(conf), "[zbd]\nadmin_group = %d\n", ADMIN_GID);
	tz_setup(&t, conf);
	tz_start_logged(&t);
	create_three(&n);
	fail = tu_as_user(TU_NOBODY, TU_NOGROUP, groups, 1, as_team_member, &n, &child);
	ck_assert_msg(fail == 0, "expectations failed: %#x", fail);

	ck_assert_int_eq(tz_request(&t, "health %s", n.team_rw), -ENOENT);
	ck_assert_int_eq(tz_request(&t, "health %s", n.team_ro), 0);
	ck_assert_int_eq(tz_request(&t, "health %s", n.other), 0);
	ck_assert(!tu_any_object_exists(n.team_rw));
	snprintf(pid, sizeof(pid), "pid %d", (int)child);
	tz_log_has(&t, true, "refused destroy", n.team_ro, "uid 65534", pid, NULL);
	tz_log_has(&t, true, "refused destroy", n.other, "uid 65534", pid, NULL);
	tz_log_has(&t, true, "refused destroy", n.missing, "uid 65534", pid, NULL);
	tz_log_has(&t, true, "refused create", "uid 65534", pid, NULL);
	tz_log_has(&t, false, "refused destroy", n.team_rw, NULL);
}
END_TEST

/* Outside the admin group and every buffer's group: nothing but reading. */
static int as_outsider(void *arg)
{
	struct names *n = arg;
	int fail = 0;

	if (tz_request(&t, "destroy %s", n->team_rw) != -EACCES)
		fail |= 1;
	if (tz_request(&t, "destroy %s force", n->other) != -EACCES)
		fail |= 2;
	if (tz_request(&t, "create %s", n->fresh) != -EACCES)
		fail |= 4;
	if (tz_request(&t, "health") != 0 || tz_request(&t, "list") != 0)
		fail |= 8;
	/* Malformed as well as forbidden: still a refusal, still logged. */
	if (tz_request(&t, "create %s 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", n->fresh) !=
	    -EACCES)
		fail |= 16;
	return fail;
}

START_TEST(outsider_refused_and_logged)
{
	struct names n = { tu_unique_name("rw"), tu_unique_name("ro"), tu_unique_name("other"),
			   tu_unique_name("missing"), tu_unique_name("fresh") };
	char pid[32];
	pid_t child;
	int fail;

	tz_setup(&t, NULL);
	tz_start_logged(&t);
	create_three(&n);
	fail = tu_as_user(TU_NOBODY, TU_NOGROUP, NULL, 0, as_outsider, &n, &child);
	ck_assert_msg(fail == 0, "expectations failed: %#x", fail);
	ck_assert_int_eq(tz_request(&t, "health %s", n.team_rw), 0);
	ck_assert_int_eq(tz_request(&t, "health %s", n.other), 0);
	snprintf(pid, sizeof(pid), "pid %d", (int)child);
	tz_log_has(&t, true, "refused destroy", n.team_rw, "uid 65534", pid, NULL);
	tz_log_has(&t, true, "refused destroy", n.other, "uid 65534", pid, NULL);
	tz_log_has(&t, true, "refused create", "uid 65534", pid, NULL);
	ck_assert_int_eq(
		tz_request(&t, "create %s 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", n.fresh),
		-EINVAL);
}
END_TEST

/* The admin group may destroy any buffer, whatever its group. */
static int as_admin(void *arg)
{
	struct names *n = arg;

	return (tz_request(&t, "destroy %s", n->other) != 0) |
	       (tz_request(&t, "destroy %s", n->team_ro) != 0) << 1;
}

START_TEST(admin_group_destroys_any)
{
	struct names n = { tu_unique_name("rw"), tu_unique_name("ro"), tu_unique_name("other"),
			   tu_unique_name("missing"), tu_unique_name("fresh") };
	gid_t groups[] = { ADMIN_GID };
	char conf[64];

	snprintf(conf, sizeof(conf), "[zbd]\nadmin_group = %d\n", ADMIN_GID);
	tz_setup(&t, conf);
	tz_start_logged(&t);
	create_three(&n);
	ck_assert_int_eq(tu_as_user(TU_NOBODY, TU_NOGROUP, groups, 1, as_admin, &n, NULL), 0);
	ck_assert_int_eq(tz_request(&t, "health %s", n.other), -ENOENT);
	ck_assert_int_eq(tz_request(&t, "health %s", n.team_ro), -ENOENT);
	tz_log_has(&t, false, "refused", NULL);
}
END_TEST

TU_SUITE(security_ctl_suite, "security-ctl", .root = true)
{
	TCase *tc = tu_tcase(s, "ctl", NULL, teardown);

	tcase_add_test(tc, buffer_group_may_destroy_its_buffer_only);
	tcase_add_test(tc, outsider_refused_and_logged);
	tcase_add_test(tc, admin_group_destroys_any);
}
