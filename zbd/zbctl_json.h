/* SPDX-License-Identifier: MIT */
/*
 * A minimal JSON emitter for zbctl's --json output: compact, one document per
 * line, members written as they come (no tree is built).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 8

struct json {
	FILE *f;
	int depth;
	bool comma[JSON_DEPTH_MAX + 1]; /* a member was written at this depth */
};

void json_begin(struct json *j, FILE *f);
/* Ends the document with a newline. */
void json_end(struct json *j);

/* `key` names the member inside an object; NULL inside an array or at the top. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
void json_int(struct json *j, const char *key, long long value);
/* `literal` must already be valid JSON (see json_is_number()). */
void json_raw(struct json *j, const char *key, const char *literal);

/* True if `s` is a number in JSON's own grammar (so "007" and "1." are not). */
bool json_is_number(const char *s);
