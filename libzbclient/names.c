/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "segment.h"

/*
 * The one rule for library, zbd, zbctl and the control protocol. Narrower than
 * the wire's "any single path component" (doc/protocol.md section 14, item 16):
 * - printable ASCII without space or '=': a request is words split at white
 *   space, and a '=' makes a word an option; a newline or control character
 *   in a name would forge lines in logs and replies;
 * - not "sem." first: /dev/shm/sem.X is glibc's semaphore X, so a buffer
 *   "sem.sem-w-foo" would take buffer foo's semaphore for its segment;
 * - not '-' first: every command line would read the name as an option.
 */
int names_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, ZB_NAME_MAX + 1);
	if (len == 0 || len > ZB_NAME_MAX)
		return -EINVAL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (name[0] == '-' || strncmp(name, "sem.", 4) == 0)
		return -EINVAL;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 0x21 || *c > 0x7e || *c == '/' || *c == '=')
			return -EINVAL;
	return 0;
}

ZB_EXPORT int zb_name_check(const char *name)
{
	return names_check(name);
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
