/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "export.h"
#include "zbclient.h"

static const struct {
	int code;
	const char *text;
} errors[] = {
	{ 0, "success" },
	{ -EINVAL, "invalid argument" },
	{ -ENOENT, "no such buffer" },
	{ -EEXIST, "buffer already exists" },
	{ -EBUSY, "a live peer is already attached" },
	{ -ETIMEDOUT, "timed out" },
	{ -ENOBUFS, "buffer full" },
	{ -EALREADY, "metadata already set" },
	{ -EMSGSIZE, "too large for the buffer" },
	{ -ENODATA, "no metadata set" },
	{ -EACCES, "permission denied" },
	{ -EPERM, "operation not permitted" },
	{ -ENOMEM, "out of memory" },
	{ ZB_EWRITER_GONE, "writer gone" },
	{ ZB_EREADER_GONE, "reader gone" },
	{ ZB_EVERSION, "incompatible protocol version" },
	{ ZB_ECORRUPT, "corrupt segment or frame" },
};

ZB_EXPORT const char *zb_strerror(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].text;
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
