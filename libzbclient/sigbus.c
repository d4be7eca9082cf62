/* SPDX-License-Identifier: MIT */
/* The opt-in SIGBUS guard of the public API (zbclient.h; how it works: mapguard.h). */
#include "export.h"
#include "mapguard.h"

ZB_EXPORT int zb_sigbus_guard_install(void)
{
	return mapguard_install();
}
