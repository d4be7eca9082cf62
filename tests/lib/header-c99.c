/* SPDX-License-Identifier: MIT */
/* The public header on its own, under strict C99 (compiled by the lib-header-c99 test). */
#include "zbclient.h"

int main(void)
{
	return ZB_NAME_MAX > 0 ? 0 : 1;
}
