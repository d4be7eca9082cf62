/* SPDX-License-Identifier: MIT */
/* The public header on its own, under strict C99 (compiled by the lib-header-c99 test). */
#include "zbclient.h"

#if !defined(ZB_VERSION_MAJOR) || !defined(ZB_VERSION_STRING)
#error "zbclient.h lacks its version macros (zbclient-version.h)"
#endif

int main(void)
{
	return ZB_NAME_MAX > 0 ? 0 : 1;
}
