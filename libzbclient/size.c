/* SPDX-License-Identifier: MIT */
/*
 * The one size grammar: zbd.conf, the control protocol's create and zbctl all
 * read sizes here, so "64M" means the same everywhere and "64MB" nowhere.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>

#include "export.h"
#include "wire.h"
#include "zbclient.h"

static_assert(ZB_SIZE_ALIGN == ZB_BLOCK_ALIGN, "the public alignment is the wire's");

ZB_EXPORT int zb_size_parse(const char *text, uint64_t *ret)
{
	uint64_t v = 0, unit = 1;
	bool huge = false;
	const char *p;

	if (!text || !ret)
		return -EINVAL;
	/* isdigit, not strtoull: no sign, no space, no hex, no "1e9" slip through. */
	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	for (p = text; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		/* Past 2^64 it is certainly too large, but garbage after it still
		 * makes it garbage: keep reading. */
		if (v > (UINT64_MAX - d) / 10)
			huge = true;
		else
			v = v * 10 + d;
	}
	switch (*p) {
	case 'K':
	case 'k':
		unit = UINT64_C(1) << 10;
		p++;
		break;
	case 'M':
	case 'm':
		unit = UINT64_C(1) << 20;
		p++;
		break;
	case 'G':
	case 'g':
		unit = UINT64_C(1) << 30;
		p++;
		break;
	}
	if (*p != '\0' || (v == 0 && !huge))
		return -EINVAL;
	if (huge || v > ZB_SIZE_MAX / unit)
		return -EMSGSIZE;
	*ret = v * unit;
	return 0;
}
