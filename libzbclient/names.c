/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "segment.h"

int names_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, ZB_NAME_MAX + 1);
	if (len == 0 || len > ZB_NAME_MAX)
		return -EINVAL;
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

ZB_EXPORT int zb_name_check(const char *name)
{
	if (names_check(name) < 0)
		return -EINVAL;
	/* Requests are words split at white space, and a '=' makes a word an option. */
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 0x21 || *c > 0x7e || *c == '=')
			return -EINVAL;
	return 0;
}

void names_shm(char out[ZB_OBJ_NAME_MAX], const char *name)
{
	snprintf(out, ZB_OBJ_NAME_MAX, "/%s", name);
}

void names_sem_w(char out[ZB_OBJ_NAME_MAX], const char *name)
{
	snprintf(out, ZB_OBJ_NAME_MAX, "/sem-w-%s", name);
}

void names_sem_r(char out[ZB_OBJ_NAME_MAX], const char *name)
{
	snprintf(out, ZB_OBJ_NAME_MAX, "/sem-r-%s", name);
}

int names_lock(char *out, size_t size, const char *name)
{
	int n = snprintf(out, size, "%s/%s.lock", ZB_LOCK_DIR, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
