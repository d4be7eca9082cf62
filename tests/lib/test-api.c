/* SPDX-License-Identifier: MIT */
/*
 * The library's small calls for tools: its runtime version, the symbolic
 * names of error codes, the size grammar's public face, and a writer looking
 * at the metadata already set.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "testutil.h"
#include "zbclient.h"

START_TEST(version_is_the_header_s)
{
	/* Built together here, so the loaded library and the header agree. */
	ck_assert_ptr_nonnull(zb_version());
	ck_assert_str_eq(zb_version(), ZB_VERSION_STRING);
}
END_TEST

START_TEST(error_names)
{
	ck_assert_str_eq(zb_error_name(-ENOENT), "ENOENT");
	ck_assert_str_eq(zb_error_name(-EACCES), "EACCES");
	ck_assert_str_eq(zb_error_name(-ETIMEDOUT), "ETIMEDOUT");
	ck_assert_str_eq(zb_error_name(ZB_EWRITER_GONE), "ZB_EWRITER_GONE");
	ck_assert_str_eq(zb_error_name(ZB_EREADER_GONE), "ZB_EREADER_GONE");
	ck_assert_str_eq(zb_error_name(ZB_EVERSION), "ZB_EVERSION");
	ck_assert_str_eq(zb_error_name(ZB_ECORRUPT), "ZB_ECORRUPT");
	ck_assert_ptr_null(zb_error_name(0));
	ck_assert_ptr_null(zb_error_name(5));
	ck_assert_ptr_null(zb_error_name(-9999));
	ck_assert_ptr_null(zb_error_name(-20000));
}
END_TEST

/* Every code of our own range that has words has a name, spelled as the
 * header's enum: a code added to the table without one is caught here. */
START_TEST(every_own_code_is_named)
{
	int named = 0;

	for (int code = -10001; code > -10100; code--) {
		const char *name = zb_error_name(code);

		if (strcmp(zb_strerror(code), "unknown error") == 0) {
			ck_assert_msg(!name, "%d: a name (%s) but no words", code, name);
			continue;
		}
		ck_assert_msg(name && strncmp(name, "ZB_E", 4) == 0, "%d (%s): name %s", code,
			      zb_strerror(code), name ? name : "(none)");
		named++;
	}
	ck_assert_int_ge(named, 4);
}
END_TEST

START_TEST(size_parse)
{
	uint64_t v = 7;

	ck_assert_int_eq(zb_size_parse("64M", &v), 0);
	ck_assert_uint_eq(v, 64u << 20);
	ck_assert_int_eq(zb_size_parse("10", &v), 0);
	ck_assert_uint_eq(v, 10); /* not rounded: creating a buffer rounds */
	ck_assert_int_eq(zb_size_parse("1024G", &v), 0);
	ck_assert_uint_eq(v, ZB_SIZE_MAX);
	v = 7;
	/* zbctl accepted these once; the configuration file never did. */
	ck_assert_int_eq(zb_size_parse("64MB", &v), -EINVAL);
	ck_assert_int_eq(zb_size_parse("64MiB", &v), -EINVAL);
	ck_assert_int_eq(zb_size_parse("1025G", &v), -EMSGSIZE);
	ck_assert_int_eq(zb_size_parse(NULL, &v), -EINVAL);
	ck_assert_int_eq(zb_size_parse("1", NULL), -EINVAL);
	ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(writer_sees_metadata)
{
	struct zb_buffer_config cfg = { .payload_size = 4096, .metadata_size = 256 };
	const char *name = tu_unique_name("wmeta");
	struct zb_reader *r;
	struct zb_writer *w, *w2;
	const void *data = NULL;
	size_t size = 99;

	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_int_eq(zb_writer_metadata(w, &data, &size), -ENODATA);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(size, 99);
	ck_assert_int_eq(zb_writer_set_metadata(w, "fmt=I420", 8), 0);
	ck_assert_int_eq(zb_writer_metadata(w, &data, &size), 0);
	ck_assert_uint_eq(size, 8);
	ck_assert(memcmp(data, "fmt=I420", 8) == 0);
	zb_writer_close(w);

	/* A later writer finds what the first one set. */
	ck_assert_int_eq(zb_writer_open(&w2, name), 0);
	ck_assert_int_eq(zb_writer_set_metadata(w2, "other", 5), -EALREADY);
	ck_assert_int_eq(zb_writer_metadata(w2, &data, &size), 0);
	ck_assert_uint_eq(size, 8);
	ck_assert(memcmp(data, "fmt=I420", 8) == 0);
	ck_assert_int_eq(zb_writer_metadata(NULL, &data, &size), -EINVAL);
	ck_assert_int_eq(zb_writer_metadata(w2, NULL, &size), -EINVAL);
	zb_writer_close(w2);
	zb_reader_close(r);
}
END_TEST

TU_SUITE(api_suite, "api")
{
	TCase *tc = tu_tcase(s, "api", NULL, tu_cleanup_all);

	tcase_add_test(tc, version_is_the_header_s);
	tcase_add_test(tc, error_names);
	tcase_add_test(tc, every_own_code_is_named);
	tcase_add_test(tc, size_parse);
	tcase_add_test(tc, writer_sees_metadata);
}
