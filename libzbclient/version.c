/* SPDX-License-Identifier: MIT */
#include "export.h"
#include "zbclient.h"

/* The number this copy of the library was built with, which a program
 * compiled against another header (ZB_VERSION_STRING) can compare. */
ZB_EXPORT const char *zb_version(void)
{
	return ZB_VERSION_STRING;
}
