/* SPDX-License-Identifier: MIT */
/*
 * --json: each reply as one JSON document on one line (JSON Lines), built and
 * written by json-c. Every document has "status" (0, or the negative code);
 * a failure adds "error", "error_name" ("ENOENT") and perhaps "hint". A reply
 * becomes
 *   {"status":0, <fields before the first record>, "daemon":{...}, "buffers":[{...}]}
 * Values that look like numbers are numbers, unless libzbclient says their key
 * carries text (zb_ctl_key_is_text: names, states, versions, modes).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "zbctl.h"

/* Compact, and '/' left alone (json-c escapes it by default). */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Serialise, print and free one document; `ok` false: building it ran out
 * of memory, and it is only freed. */
static int print_doc(struct json_object *doc, bool ok)
{
	const char *text = ok ? json_object_to_json_string_ext(doc, JSON_FLAGS) : NULL;

	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	json_object_put(doc);
	return text ? 0 : -ENOMEM;
}

/* Add `value` to an object, or to an array when `key` is NULL; it belongs to
 * `container` afterwards either way. False when memory ran out. */
static bool add(struct json_object *container, const char *key, struct json_object *value)
{
	int r;

	if (!value)
		return false;
	r = key ? json_object_object_add(container, key, value)
		: json_object_array_add(container, value);
	if (r < 0)
		json_object_put(value);
	return r == 0;
}

static const char *digits(const char *s)
{
	const char *start = s;

	while (isdigit((unsigned char)*s))
		s++;
	return s == start ? NULL : s;
}

/* True if `s` is a number in JSON's own grammar (so "007", "1.", "NaN" and
 * "0x10" are not: json-c's parser would take some of those). */
static bool is_number(const char *s)
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

/* A number that is_number() accepted: 64-bit integers as such; fractions,
 * exponents and larger integers keep the daemon's own digits ("0.2" stays
 * 0.2, not 0.20000000000000001). */
static struct json_object *number(const char *s)
{
	if (!strpbrk(s, ".eE")) {
		char *end;

		errno = 0;
		if (*s == '-') {
			long long v = strtoll(s, &end, 10);

			if (errno == 0 && v != 0) /* "-0" keeps its sign below */
				return json_object_new_int64(v);
		} else {
			unsigned long long v = strtoull(s, &end, 10);

			if (errno == 0)
				return json_object_new_uint64(v);
		}
	}
	return json_object_new_double_s(strtod(s, NULL), s);
}

static struct json_object *value_of(const char *key, const char *value)
{
	if (zb_ctl_key_is_text(key) == 0 && is_number(value))
		return number(value);
	return json_object_new_string(value);
}

/* Add one field to `obj`; a key seen before becomes an array of its values,
 * in order, where its first value stood. */
static bool add_field(struct json_object *obj, const struct zb_ctl_field *field)
{
	struct json_object *value = value_of(field->key, field->value), *prev, *array;

	if (!json_object_object_get_ex(obj, field->key, &prev))
		return add(obj, field->key, value);
	/* Values are never arrays themselves: an array is one we made. */
	if (json_object_is_type(prev, json_type_array))
		return add(prev, NULL, value);
	array = json_object_new_array();
	if (!array || !add(array, NULL, json_object_get(prev))) {
		json_object_put(array);
		json_object_put(value);
		return false;
	}
	if (!add(array, NULL, value)) {
		json_object_put(array);
		return false;
	}
	return add(obj, field->key, array); /* in place of `prev` */
}

static bool add_fields(struct json_object *obj, const struct zb_ctl_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!add_field(obj, &fields[i]))
			return false;
	return true;
}

static struct json_object *record_object(const struct zb_ctl_record *rec)
{
	struct json_object *obj = json_object_new_object();

	if (obj && !add_fields(obj, rec->fields, rec->n_fields)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static bool is_record(const struct zb_ctl_record *rec, const char *key)
{
	return strcmp(rec->fields[0].key, key) == 0;
}

int json_print_reply(const struct zb_ctl_reply *reply)
{
	struct json_object *doc = json_object_new_object(), *buffers = NULL;
	bool ok = doc && add(doc, "status", json_object_new_int(reply->status));

	for (size_t r = 0; ok && r < reply->n_records; r++) {
		const struct zb_ctl_record *rec = &reply->records[r];

		if (is_record(rec, "daemon"))
			ok = add(doc, "daemon", record_object(rec));
		else if (!is_record(rec, "buffer"))
			ok = add_fields(doc, rec->fields, rec->n_fields);
	}
	/* The buffers come last, in one array. */
	for (size_t r = 0; ok && r < reply->n_records; r++) {
		if (!is_record(&reply->records[r], "buffer"))
			continue;
		if (!buffers)
			ok = (buffers = json_object_new_array()) != NULL;
		ok = ok && add(buffers, NULL, record_object(&reply->records[r]));
	}
	if (ok && buffers) {
		ok = add(doc, "buffers", buffers);
		buffers = NULL; /* the document's now, or freed by add() */
	}
	json_object_put(buffers);
	return print_doc(doc, ok);
}

int json_print_doc(int status, const char *error, const char *hint,
		   const struct zb_ctl_field *extra, size_t n_extra)
{
	struct json_object *doc = json_object_new_object();
	const char *name = zb_error_name(status);
	bool ok = doc && add(doc, "status", json_object_new_int(status));

	if (ok && error) {
		ok = add(doc, "error", json_object_new_string(error)) &&
		     (!name || add(doc, "error_name", json_object_new_string(name))) &&
		     (!hint || add(doc, "hint", json_object_new_string(hint)));
	}
	ok = ok && add_fields(doc, extra, n_extra);
	return print_doc(doc, ok);
}

int json_print_list(char *const *names, size_t count)
{
	struct json_object *doc = json_object_new_object(), *array = json_object_new_array();
	bool ok = doc && array && add(doc, "status", json_object_new_int(0));

	for (size_t i = 0; ok && i < count; i++)
		ok = add(array, NULL, json_object_new_string(names[i]));
	if (ok) {
		ok = add(doc, "buffers", array);
		array = NULL; /* the document's now, or freed by add() */
	}
	json_object_put(array);
	return print_doc(doc, ok);
}

/* Base64 (RFC 4648) of `data` straight onto stdout, so a frame of any size
 * needs no copy in memory. */
static void put_base64(const unsigned char *data, size_t size)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4096];
	size_t n = 0;

	for (size_t i = 0; i < size; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t left = size - i;

		if (left > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (left > 2)
			v |= data[i + 2];
		out[n++] = alphabet[v >> 18 & 63];
		out[n++] = alphabet[v >> 12 & 63];
		out[n++] = left > 1 ? alphabet[v >> 6 & 63] : '=';
		out[n++] = left > 2 ? alphabet[v & 63] : '=';
		if (n + 4 > sizeof(out)) {
			fwrite(out, 1, n, stdout);
			n = 0;
		}
	}
	fwrite(out, 1, n, stdout);
}

int json_print_frame(const struct zb_frame *f)
{
	/* Written by hand: every part is digits or base64, nothing to escape. */
	printf("{\"sequence\":%" PRIu64 ",\"size\":%zu,\"data\":\"", f->sequence, f->size);
	put_base64(f->data, f->size);
	fputs("\"}\n", stdout);
	return ferror(stdout) ? -EIO : 0;
}
