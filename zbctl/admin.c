/* SPDX-License-Identifier: MIT */
/* The verbs that change what zbd owns: create, destroy. */
#include <errno.h>
#include <string.h>

#include "zbctl.h"

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

/* The daemon's reply to a request that returns only a status. */
static int report(const struct args *a, struct zb_ctl *ctl, int err)
{
	int code = EXIT_OK;

	if (err < 0)
		code = fail(a, err, ctl);
	else if (a->json && json_print_doc(0, NULL, NULL, NULL, 0) < 0)
		code = fail(a, -ENOMEM, NULL);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(a);
}

int cmd_create(const struct args *a)
{
	struct zb_ctl *ctl;

	if (a->group && !group_ok(a->group))
		return misuse(a, "invalid group name '%s'", a->group);
	if (check_buffer_sizes(a))
		return EXIT_FAIL;
	if (connect_or_fail(a, &ctl))
		return EXIT_FAIL;
	return report(a, ctl, zb_ctl_create(ctl, a->operand, &a->cfg, a->group));
}

int cmd_destroy(const struct args *a)
{
	struct zb_ctl *ctl;

	if (connect_or_fail(a, &ctl))
		return EXIT_FAIL;
	return report(a, ctl, zb_ctl_destroy(ctl, a->operand, a->force));
}
