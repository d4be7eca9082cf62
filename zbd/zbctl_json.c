/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <ctype.h>

#include "zbctl_json.h"

void json_begin(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->comma[0] = false;
}

void json_end(struct json *j)
{
	assert(j->depth == 0);
	fputc('\n', j->f);
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f); /* bytes >= 0x80 pass: the daemon speaks UTF-8 */
	}
	fputc('"', f);
}

/* The separator and key every member starts with. */
static void member(struct json *j, const char *key)
{
	if (j->comma[j->depth])
		fputc(',', j->f);
	j->comma[j->depth] = true;
	if (key) {
		put_string(j->f, key);
		fputc(':', j->f);
	}
}

static void open_(struct json *j, const char *key, char c)
{
	member(j, key);
	fputc(c, j->f);
	assert(j->depth < JSON_DEPTH_MAX);
	j->comma[++j->depth] = false;
}

void json_object_begin(struct json *j, const char *key)
{
	open_(j, key, '{');
}

void json_object_end(struct json *j)
{
	j->depth--;
	fputc('}', j->f);
}

void json_array_begin(struct json *j, const char *key)
{
	open_(j, key, '[');
}

void json_array_end(struct json *j)
{
	j->depth--;
	fputc(']', j->f);
}

void json_string(struct json *j, const char *key, const char *value)
{
	member(j, key);
	put_string(j->f, value);
}

void json_int(struct json *j, const char *key, long long value)
{
	member(j, key);
	fprintf(j->f, "%lld", value);
}

void json_raw(struct json *j, const char *key, const char *literal)
{
	member(j, key);
	fputs(literal, j->f);
}

static const char *digits(const char *s)
{
	const char *start = s;

	while (isdigit((unsigned char)*s))
		s++;
	return s == start ? NULL : s;
}

bool json_is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (!(s = digits(s)))
		return false;
	if (*s == '.' && !(s = digits(s + 1)))
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(s = digits(s)))
			return false;
	}
	return *s == '\0';
}
