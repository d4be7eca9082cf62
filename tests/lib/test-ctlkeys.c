/* SPDX-License-Identifier: MIT */
/*
 * The table of control-reply keys (libzbclient/ctlkeys.c): the health records
 * it writes are the text zbd always sent (the expected text below is built
 * with zbd's former printf formats), what it writes it reads back, and
 * zb_ctl_key_is_text() answers from it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlkeys.h"
#include "libtest.h"
#include "zbclient.h"

/* A whole record as zbd sends it, from the table. */
static void format_record(enum ctlkey_record kind, const void *rec, char *out, size_t size)
{
	char buf[CTLKEY_VALUE_MAX];
	size_t n, len = 0;
	const struct ctlkey *k = ctlkeys_of(kind, &n);

	ck_assert_uint_gt(n, 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int r = snprintf(out + len, size - len, "%s=%s\n", k[i].key,
				 ctlkey_format(&k[i], rec, buf, sizeof(buf)));

		ck_assert_int_gt(r, 0);
		ck_assert_uint_lt((size_t)r, size - len);
		len += (size_t)r;
	}
}

/* Odd but possible values: a pid field holding an absurd control-block value,
 * rates that round, a bit set in a high octal digit. */
static struct health_buffer sample_buffer(void)
{
	struct health_buffer h = {
		.pub = { .name = "cam0",
			 .state_text = "stalled",
			 .payload_size = 67108864,
			 .metadata_size = 1024,
			 .used_bytes = 66000000,
			 .utilisation = 98.25,
			 .reader_pid = -2, /* 0xfffffffffffffffe in the control block */
			 .reader_alive = 0,
			 .writer_pid = 4242,
			 .writer_alive = 1,
			 .frames_written = UINT64_MAX,
			 .frames_read = 7,
			 .bytes_written = 123456789012ull,
			 .bytes_read = 0,
			 .write_rate_fps = 29.97,
			 .read_rate_fps = 0.05,
			 .write_rate_bps = 1234.6,
			 .read_rate_bps = 0.4,
			 .readers_reaped = 3,
			 .writers_reaped = 1,
			 .frames_lost = 2 },
		.mode = 02660,
		.adopted = 1,
		.owner = "foreign",
	};

	return h;
}

START_TEST(buffer_record_text)
{
	struct health_buffer h = sample_buffer();
	const struct zb_health *p = &h.pub;
	char got[4096], want[4096];

	format_record(CTLKEY_BUFFER, &h, got, sizeof(got));
	/* zbd/health.c's formats before the table, verbatim. */
	snprintf(want, sizeof(want),
		 "buffer=%s\nstate=%s\npayload_size=%llu\nmetadata_size=%llu\n"
		 "used_bytes=%llu\nutilisation=%.1f\n"
		 "reader_pid=%llu\nreader_alive=%d\nwriter_pid=%llu\nwriter_alive=%d\n"
		 "frames_written=%llu\nframes_read=%llu\nbytes_written=%llu\nbytes_read=%llu\n"
		 "write_rate_fps=%.1f\nread_rate_fps=%.1f\nwrite_rate_bps=%.0f\n"
		 "read_rate_bps=%.0f\n"
		 "readers_reaped=%llu\nwriters_reaped=%llu\nframes_lost=%llu\n"
		 "mode=%04o\nadopted=%d\nowner=%s\n",
		 p->name, p->state_text, (unsigned long long)p->payload_size,
		 (unsigned long long)p->metadata_size, (unsigned long long)p->used_bytes,
		 p->utilisation, (unsigned long long)(uint64_t)p->reader_pid, p->reader_alive,
		 (unsigned long long)(uint64_t)p->writer_pid, p->writer_alive,
		 (unsigned long long)p->frames_written, (unsigned long long)p->frames_read,
		 (unsigned long long)p->bytes_written, (unsigned long long)p->bytes_read,
		 p->write_rate_fps, p->read_rate_fps, p->write_rate_bps, p->read_rate_bps,
		 (unsigned long long)p->readers_reaped, (unsigned long long)p->writers_reaped,
		 (unsigned long long)p->frames_lost, h.mode, h.adopted, h.owner);
	ck_assert_str_eq(got, want);
	ck_assert(strstr(got, "\nreader_pid=18446744073709551614\n"));
	ck_assert(strstr(got, "\nmode=2660\n"));
}
END_TEST

START_TEST(daemon_record_text)
{
	struct health_daemon d = {
		.daemon = "zbd",
		.pub = { .version = "0.1.0", .uptime_s = 3725, .buffers = 2 },
		.pid = 99,
		.clients = 1,
	};
	char got[1024];

	format_record(CTLKEY_DAEMON, &d, got, sizeof(got));
	ck_assert_str_eq(got, "daemon=zbd\nversion=0.1.0\npid=99\nuptime_s=3725\nbuffers=2\n"
			      "clients=1\n");
}
END_TEST

/* What the table writes it reads back. */
START_TEST(buffer_record_round_trip)
{
	struct health_buffer h = sample_buffer(), back = { 0 };
	char buf[CTLKEY_VALUE_MAX], text[4096], again[4096];
	size_t n;
	const struct ctlkey *k = ctlkeys_of(CTLKEY_BUFFER, &n);

	for (size_t i = 0; i < n; i++)
		ctlkey_parse(&k[i], ctlkey_format(&k[i], &h, buf, sizeof(buf)), &back);
	format_record(CTLKEY_BUFFER, &h, text, sizeof(text));
	format_record(CTLKEY_BUFFER, &back, again, sizeof(again));
	ck_assert_str_eq(again, text);
	ck_assert_str_eq(back.pub.name, "cam0");
	ck_assert_int_eq(back.pub.reader_pid, -2);
	ck_assert_uint_eq(back.pub.frames_written, UINT64_MAX);
	ck_assert_double_eq(back.pub.utilisation, 98.2); /* as sent: one decimal */
	ck_assert_uint_eq(back.mode, 02660);
	ck_assert_int_eq(back.adopted, 1);
}
END_TEST

/* Lenient reading, as the library always did: a key not sent stays, nonsense
 * reads 0, "12.9" is 12, text is cut to its field. */
START_TEST(lenient_parse)
{
	struct health_buffer h = { 0 };
	char longstate[100];

	memset(longstate, 'x', sizeof(longstate) - 1);
	longstate[sizeof(longstate) - 1] = '\0';
	h.pub.frames_read = 5;
	ctlkey_parse(ctlkeys_find("frames_read"), NULL, &h);
	ck_assert_uint_eq(h.pub.frames_read, 5);
	ctlkey_parse(ctlkeys_find("frames_read"), "lots", &h);
	ck_assert_uint_eq(h.pub.frames_read, 0);
	ctlkey_parse(ctlkeys_find("used_bytes"), "12.9", &h);
	ck_assert_uint_eq(h.pub.used_bytes, 12);
	ctlkey_parse(ctlkeys_find("used_bytes"), "-3", &h);
	ck_assert_uint_eq(h.pub.used_bytes, 0);
	ctlkey_parse(ctlkeys_find("reader_alive"), "7", &h);
	ck_assert_int_eq(h.pub.reader_alive, 1);
	ctlkey_parse(ctlkeys_find("state"), longstate, &h);
	ck_assert_uint_eq(strlen(h.pub.state_text), sizeof(h.pub.state_text) - 1);
}
END_TEST

/* Each key once; record keys have a field, reply keys none. */
START_TEST(table_is_consistent)
{
	static const enum ctlkey_record kinds[] = { CTLKEY_REPLY, CTLKEY_DAEMON, CTLKEY_BUFFER };
	size_t total = 0;

	for (size_t r = 0; r < sizeof(kinds) / sizeof(kinds[0]); r++) {
		size_t n;
		const struct ctlkey *k = ctlkeys_of(kinds[r], &n);

		ck_assert_uint_gt(n, 0);
		for (size_t i = 0; i < n; i++) {
			ck_assert_ptr_eq(ctlkeys_find(k[i].key), &k[i]);
			ck_assert_int_eq(k[i].record, kinds[r]);
			if (kinds[r] == CTLKEY_REPLY)
				ck_assert_uint_eq(k[i].size, 0);
			else
				ck_assert_uint_gt(k[i].size, 0);
		}
		total += n;
	}
	ck_assert_uint_eq(total, 4 + 6 + 24);
	ck_assert_ptr_null(ctlkeys_find("note"));
	/* The record-naming keys come first in their records. */
	ck_assert_str_eq(ctlkeys_of(CTLKEY_DAEMON, &total)->key, CTLKEY_DAEMON_NAME);
	ck_assert_str_eq(ctlkeys_of(CTLKEY_BUFFER, &total)->key, CTLKEY_BUFFER_NAME);
}
END_TEST

START_TEST(key_is_text)
{
	static const char *const text[] = { "buffer", "daemon",	 "state", "version",
					    "error",  "command", "mode" };
	static const char *const numeric[] = { "status",     "payload_size", "utilisation",
					       "reader_pid", "adopted",	     "pid",
					       "uptime_s" };

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		ck_assert_msg(zb_ctl_key_is_text(text[i]) == 1, "%s", text[i]);
	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		ck_assert_msg(zb_ctl_key_is_text(numeric[i]) == 0, "%s", numeric[i]);
	ck_assert_int_eq(zb_ctl_key_is_text("note"), 0); /* unknown */
	ck_assert_int_eq(zb_ctl_key_is_text(""), 0);
	ck_assert_int_eq(zb_ctl_key_is_text(NULL), -EINVAL);
}
END_TEST

TU_SUITE(ctlkeys_suite, "ctlkeys")
{
	TCase *tc = tu_tcase(s, "ctlkeys", NULL, NULL);

	tcase_add_test(tc, buffer_record_text);
	tcase_add_test(tc, daemon_record_text);
	tcase_add_test(tc, buffer_record_round_trip);
	tcase_add_test(tc, lenient_parse);
	tcase_add_test(tc, table_is_consistent);
	tcase_add_test(tc, key_is_text);
}
