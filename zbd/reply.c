/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

void reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
}

void reply_free(struct reply *r)
{
	free(r->data);
	reply_init(r);
}

static bool reply_reserve(struct reply *r, size_t more)
{
	size_t cap = r->cap ? r->cap : 512;
	char *p;

	if (r->len + more + 1 <= r->cap)
		return true;
	while (cap < r->len + more + 1)
		cap *= 2;
	p = realloc(r->data, cap);
	if (!p) {
		r->oom = true;
		return false;
	}
	r->data = p;
	r->cap = cap;
	return true;
}

void reply_printf(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reply_reserve(r, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(r->data + r->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r->len += (size_t)n;
}

int reply_fail(struct reply *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return err;
}

void reply_sanitize(char *out, size_t size, const char *in)
{
	size_t i;

	if (size == 0)
		return;
	for (i = 0; in[i] && i + 1 < size && i < 64; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}
