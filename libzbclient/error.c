/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "export.h"
#include "zbclient.h"

struct error_text {
	int code;
	const char *text;
};

struct own_error {
	int code;
	const char *text;
	const char *name; /* as the header spells it, for zb_error_name() */
};

/* A row of our own codes, named by the enum itself. */
#define OWN(code, text)                                                                            \
	{                                                                                          \
		code, text, #code                                                                  \
	}

/* The one table of our own codes' words: zb_strerror and zbd's log share it. */
static const struct own_error own[] = {
	OWN(ZB_EWRITER_GONE, "writer gone"),
	OWN(ZB_EREADER_GONE, "reader gone"),
	OWN(ZB_EVERSION, "incompatible protocol version"),
	OWN(ZB_ECORRUPT, "corrupt segment or frame"),
	OWN(ZB_EDESTROYED, "buffer destroyed while attached"),
};

/* What an errno means for a caller of this library (zbd logs strerror's words). */
static const struct error_text library[] = {
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
	{ -ENOSPC, "no room in /dev/shm for the buffer" },
};

static const char *lookup(const struct error_text *table, size_t n, int code)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].code == code)
			return table[i].text;
	return NULL;
}

static const struct own_error *own_row(int code)
{
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (own[i].code == code)
			return &own[i];
	return NULL;
}

const char *error_own_text(int code)
{
	const struct own_error *row = own_row(code);

	return row ? row->text : NULL;
}

ZB_EXPORT const char *zb_error_name(int code)
{
	const struct own_error *row = own_row(code);

	if (row)
		return row->name;
	/* glibc's table of errno names ("ENOENT"); NULL for numbers it lacks. */
	return code < 0 && code > -4096 ? strerrorname_np(-code) : NULL;
}

ZB_EXPORT const char *zb_strerror(int code)
{
	const char *text = error_own_text(code);

	if (!text)
		text = lookup(library, sizeof(library) / sizeof(library[0]), code);
	if (text)
		return text;
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
