/* SPDX-License-Identifier: MIT */
/*
 * --json: each reply as one JSON document on one line, built and written by
 * json-c. A reply becomes
 *   {"status":0, <fields before the first record>, "daemon":{...}, "buffers":[{...}]}
 * Values that look like numbers are numbers, unless libzbclient says their key
 * carries text (zb_ctl_key_is_text: names, states, versions, modes).
 */
#include <ctype.h>
#include <errno.h>
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

int json_print_status(int status, const char *error)
{
	struct json_object *doc = json_object_new_object();
	bool ok = doc && add(doc, "status", json_object_new_int(status)) &&
		  (!error || add(doc, "error", json_object_new_string(error)));

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
