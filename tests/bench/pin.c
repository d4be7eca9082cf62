/* SPDX-License-Identifier: MIT */
/* --pin for zbbench and its peers' programs alike (peer.h). */
#include <sched.h>
#include <stdbool.h>

#include "peer.h"

/* The CPUs this process may use, as found before it pinned itself. */
static cpu_set_t allowed;
static bool have;

void peer_pin_slot(int slot)
{
	cpu_set_t one;
	int seen = 0;

	if (!have && sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return;
	have = true;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || seen++ != slot)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
		return;
	}
}

void peer_unpin(void)
{
	if (have)
		sched_setaffinity(0, sizeof(allowed), &allowed);
}
