/* SPDX-License-Identifier: MIT */
/*
 * zbctl as a user runs it: the write/read pipeline with no daemon, usage
 * errors, generated help, control verbs with no daemon and against a fake one.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "testutil.h"
#include "zbclient.h"

#define ARGS_MAX 32
#define OUT_MAX 65536

static const char *zbctl;
static struct fake fk;
static char tmpdir[64];

struct run {
	int status; /* exit code, or 128 + signal */
	char out[OUT_MAX];
	char err[OUT_MAX];
};

static void setup(void)
{
	ck_assert_int_eq(tu_mkdtemp(tmpdir, sizeof(tmpdir)), 0);
}

static void teardown(void)
{
	fake_stop(&fk);
	tu_cleanup_all();
	tu_rmtree(tmpdir);
}

static void tmp_path(char *out, size_t size, const char *file)
{
	snprintf(out, size, "%s/%s", tmpdir, file);
}

static void write_file(const char *path, const char *data, size_t len)
{
	ck_assert_int_eq(tu_write_file(path, data, len), 0);
}

static size_t read_file(const char *path, char *out, size_t size)
{
	int n = tu_read_file(path, out, size);

	ck_assert_msg(n >= 0, "%s: %s", path, strerror(-n));
	return (size_t)n;
}

/* Run zbctl to the end (bounded) with `input` on stdin. */
static void run_in(struct run *r, const char *input, size_t input_len, char *const args[])
{
	char in[128], out[128], err[128];

	tmp_path(in, sizeof(in), "stdin");
	tmp_path(out, sizeof(out), "stdout");
	tmp_path(err, sizeof(err), "stderr");
	write_file(in, input ? input : "", input ? input_len : 0);
	r->status = tu_exit_status(tu_wait(tu_spawn_io(zbctl, args, in, out, err), 10000));
	read_file(out, r->out, sizeof(r->out));
	read_file(err, r->err, sizeof(r->err));
}

/* True if `s` begins with the printf-formatted text. */
__attribute__((format(printf, 2, 3))) static bool starts_with(const char *s, const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	return strncmp(s, want, strlen(want)) == 0;
}

/* `out` is JSON Lines: exactly `n` lines, each one JSON object (json-c's
 * strict parser, the whole line consumed) with a "status" number. */
static void assert_json_lines(const char *out, int n)
{
	const char *line = out;
	int lines = 0;

	while (*line) {
		const char *nl = strchr(line, '\n');
		struct json_tokener *tok = json_tokener_new();
		struct json_object *doc, *status;
		size_t len;

		ck_assert_msg(nl, "an unterminated line: %s", line);
		len = (size_t)(nl - line);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		doc = json_tokener_parse_ex(tok, line, (int)len);
		ck_assert_msg(doc && json_tokener_get_parse_end(tok) == len,
			      "line %d is not one JSON document: %.*s", lines + 1, (int)len, line);
		ck_assert_msg(json_object_is_type(doc, json_type_object) &&
				      json_object_object_get_ex(doc, "status", &status) &&
				      json_object_is_type(status, json_type_int),
			      "line %d has no status: %.*s", lines + 1, (int)len, line);
		json_object_put(doc);
		json_tokener_free(tok);
		lines++;
		line = nl + 1;
	}
	ck_assert_int_eq(lines, n);
}

#define RUN(r, ...) run_in((r), NULL, 0, (char *const[]){ __VA_ARGS__, NULL })
#define RUN_IN(r, input, ...)                                                                      \
	run_in((r), (input), strlen(input), (char *const[]){ __VA_ARGS__, NULL })

/*
 * Wait until `name` exists with a live reader: zb_reader_open() says -EBUSY
 * then, and has no side effect on the buffer. Bounded; no sleeping guesses.
 */
static void wait_for_reader(const char *name)
{
	struct zb_reader *r;
	int err;

	TU_UNTIL((err = zb_reader_open(&r, name)) == -EBUSY || err == 0, 5000, 2000);
	ck_assert_int_ne(err, 0); /* a buffer with no reader: not the one we made */
	ck_assert_msg(err == -EBUSY, "no reader appeared on %s", name);
}

/* Start `zbctl read --create NAME [extra...]` in the background, stdout to a file. */
static pid_t start_reader(const char *name, const char *out, char *const extra[])
{
	char *args[ARGS_MAX] = { "read", "--create", (char *)name };
	int n = 3;
	pid_t pid;

	for (int i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	pid = tu_spawn_io(zbctl, args, NULL, out, NULL);
	wait_for_reader(name);
	return pid;
}

/* ------------------------------------------------------------- pipelines */

START_TEST(pipeline_lines)
{
	const char *name = tu_unique_name("lines");
	char out[128], got[256];
	struct run r;
	pid_t reader;

	tmp_path(out, sizeof(out), "reader.out");
	reader = start_reader(name, out, (char *const[]){ "--lines", NULL });
	RUN_IN(&r, "a\nbb\nccc\n", "write", (char *)name, "--lines");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
	/* The writer has gone and the ring is drained: the reader ends by itself. */
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	read_file(out, got, sizeof(got));
	ck_assert_str_eq(got, "a\nbb\nccc\n");
	/* The standalone owner removed everything it created. */
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(pipeline_last_line_and_empty_lines)
{
	const char *name = tu_unique_name("lastline");
	char out[128], got[256];
	struct run r;
	pid_t reader;

	tmp_path(out, sizeof(out), "reader.out");
	reader = start_reader(name, out, (char *const[]){ "--lines", NULL });
	RUN_IN(&r, "one\n\ntwo\nthree", "write", (char *)name, "--lines");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	read_file(out, got, sizeof(got));
	ck_assert_str_eq(got, "one\ntwo\nthree\n");
}
END_TEST

START_TEST(pipeline_frame_size)
{
	const char *name = tu_unique_name("fsize");
	char out[128], got[256];
	struct run r;
	pid_t reader;

	tmp_path(out, sizeof(out), "reader.out");
	reader = start_reader(name, out, (char *const[]){ "--lines", NULL });
	RUN_IN(&r, "abcdefghij", "write", (char *)name, "--frame-size", "4");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	read_file(out, got, sizeof(got));
	ck_assert_str_eq(got, "abcd\nefgh\nij\n");
}
END_TEST

START_TEST(pipeline_chunks_binary)
{
	const char *name = tu_unique_name("chunks");
	char out[128], got[OUT_MAX], in[128], data[20000];
	pid_t reader, writer;
	size_t n;

	/* Without --lines or --frame-size the bytes arrive as they were, NULs and all. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	tmp_path(out, sizeof(out), "reader.out");
	tmp_path(in, sizeof(in), "writer.in");
	write_file(in, data, sizeof(data));
	reader = start_reader(name, out, NULL);
	writer = tu_spawn_io(zbctl, (char *const[]){ "write", (char *)name, NULL }, in, NULL, NULL);
	ck_assert_int_eq(tu_exit_status(tu_wait(writer, 5000)), 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	n = read_file(out, got, sizeof(got));
	ck_assert_uint_eq(n, sizeof(data));
	ck_assert(memcmp(got, data, n) == 0);
}
END_TEST

START_TEST(write_into_library_created_buffer)
{
	struct zb_buffer_config cfg = { .payload_size = 64 * 1024, .metadata_size = 256 };
	const char *name = tu_unique_name("libbuf");
	const void *meta;
	struct zb_reader *rd;
	struct zb_frame f;
	size_t meta_len;
	struct run r;

	/* Another implementation's reader owns the buffer: zbctl write just attaches. */
	ck_assert_int_eq(zb_reader_create(&rd, name, &cfg), 0);
	RUN_IN(&r, "x\nyy\n", "write", (char *)name, "--lines", "--metadata", "fmt=text");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(zb_reader_metadata(rd, &meta, &meta_len), 0);
	ck_assert_uint_eq(meta_len, 8);
	ck_assert(memcmp(meta, "fmt=text", 8) == 0);
	ck_assert_int_eq(zb_reader_read(rd, &f, 1000), 0);
	ck_assert_uint_eq(f.size, 1);
	ck_assert(memcmp(f.data, "x", 1) == 0);
	zb_reader_release(rd, &f);
	ck_assert_int_eq(zb_reader_read(rd, &f, 1000), 0);
	ck_assert_uint_eq(f.size, 2);
	zb_reader_release(rd, &f);
	ck_assert_int_eq(zb_reader_read(rd, &f, 1000), ZB_EWRITER_GONE);

	/* Empty metadata is refused before anything is written: upstream readers
	 * reject it, and metadata cannot be set a second time. */
	RUN_IN(&r, "w\n", "write", (char *)name, "--lines", "--metadata", "");
	ck_assert_int_eq(r.status, 2);
	ck_assert_int_eq(zb_reader_read(rd, &f, 0), -ETIMEDOUT);

	/* Metadata is set once per buffer: a second writer giving the same is
	 * fine (a writer restarting with its format), other metadata fails. */
	RUN_IN(&r, "z\n", "write", (char *)name, "--lines", "--metadata", "fmt=text");
	ck_assert_msg(r.status == 0, "%s", r.err);
	ck_assert_str_eq(r.err, "");
	ck_assert_int_eq(zb_reader_read(rd, &f, 1000), 0);
	ck_assert_uint_eq(f.size, 1);
	zb_reader_release(rd, &f);
	RUN_IN(&r, "z\n", "write", (char *)name, "--lines", "--metadata", "again");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(starts_with(r.err,
				  "zbctl: write: %s: metadata already set\n"
				  "zbctl: hint: metadata is set once per buffer",
				  name),
		      "%s", r.err);
	zb_reader_close(rd);
}
END_TEST

START_TEST(write_full_ring_times_out)
{
	struct zb_buffer_config cfg = { .payload_size = 1024 };
	const char *name = tu_unique_name("full");
	char big[4096];
	struct zb_reader *rd;
	struct run r;

	/* A reader that never reads: the ring fills, --timeout ends the wait. */
	ck_assert_int_eq(zb_reader_create(&rd, name, &cfg), 0);
	memset(big, 'q', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	RUN_IN(&r, big, "write", (char *)name, "--frame-size", "100", "--timeout", "200");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(starts_with(r.err, "zbctl: write: %s: buffer full\n", name), "%s", r.err);
	zb_reader_close(rd);
}
END_TEST

START_TEST(write_no_buffer)
{
	const char *name = tu_unique_name("none");
	struct run r;

	/* The buffer's name, and how to make one. */
	RUN_IN(&r, "a\n", "write", (char *)name, "--lines");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(starts_with(r.err,
				  "zbctl: write: %s: no such buffer\n"
				  "zbctl: hint: make it first: 'zbctl create %s' (zbd owns it), "
				  "or 'zbctl read %s --create'",
				  name, name, name),
		      "%s", r.err);
	RUN(&r, "read", (char *)name);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(starts_with(r.err, "zbctl: read: %s: no such buffer\nzbctl: hint: ", name),
		      "%s", r.err);
}
END_TEST

START_TEST(read_follow_two_writers_then_sigint)
{
	const char *name = tu_unique_name("follow");
	char out[128], got[256];
	struct run r;
	pid_t reader;

	tmp_path(out, sizeof(out), "reader.out");
	reader = start_reader(name, out, (char *const[]){ "--lines", "--follow", NULL });
	RUN_IN(&r, "first\n", "write", (char *)name, "--lines");
	ck_assert_int_eq(r.status, 0);
	RUN_IN(&r, "second\n", "write", (char *)name, "--lines");
	ck_assert_int_eq(r.status, 0);
	/* Both sessions arrive; the reader then waits for a third until told to stop. */
	for (int i = 0; i < 500; i++) {
		read_file(out, got, sizeof(got));
		if (strcmp(got, "first\nsecond\n") == 0)
			break;
		usleep(10000);
	}
	ck_assert_str_eq(got, "first\nsecond\n");
	/* Interrupted: 130, as shells expect of Ctrl-C, and everything removed. */
	ck_assert_int_eq(kill(reader, SIGINT), 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 130);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(read_timeout)
{
	const char *name = tu_unique_name("rtimeout");
	struct run r;

	RUN(&r, "read", "--create", (char *)name, "--timeout", "150");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(starts_with(r.err, "zbctl: read: %s: timed out\n", name), "%s", r.err);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(read_closed_stdout_is_quiet)
{
	const char *name = tu_unique_name("epipe");
	char err[128], got[256];
	char *args[] = { "read", "--create", (char *)name, "--lines", NULL };
	int p[2], status;
	struct run r;
	pid_t reader;

	/* stdout is a pipe nobody reads: the first frame meets EPIPE. */
	ck_assert_int_eq(pipe(p), 0);
	tmp_path(err, sizeof(err), "reader.err");
	reader = fork();
	ck_assert_int_ge(reader, 0);
	if (reader == 0) {
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(p[1], 1);
		dup2(e, 2);
		close(p[0]);
		execv(zbctl, (char *[]){ (char *)zbctl, args[0], args[1], args[2], args[3], NULL });
		_exit(127);
	}
	close(p[0]);
	close(p[1]);
	wait_for_reader(name);
	RUN_IN(&r, "a\nb\n", "write", (char *)name, "--lines");
	ck_assert_int_eq(r.status, 0);
	status = tu_exit_status(tu_wait(reader, 5000));
	ck_assert_int_eq(status, 0);
	read_file(err, got, sizeof(got));
	ck_assert_str_eq(got, "");
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

/* ----------------------------------------------------------- usage, help */

START_TEST(usage_errors_exit_2)
{
	static const struct {
		char *args[6];
		const char *message;
	} cases[] = {
		{ { NULL }, "zbctl: missing VERB\n" },
		{ { "frobnicate", NULL }, "zbctl: unknown verb 'frobnicate'\n" },
		{ { "--bogus", "list", NULL }, "unrecognized option '--bogus'" },
		{ { "create", NULL }, "zbctl: create: missing buffer NAME\n" },
		{ { "create", "x", "--payload", "12Q", NULL }, "create: invalid size '12Q'" },
		{ { "create", "x", "payload=0", NULL }, "zbctl: create: invalid size '0'" },
		/* One size grammar: zbd.conf never took "64MB", nor does zbctl now. */
		{ { "create", "x", "--payload", "64MB", NULL }, "create: invalid size '64MB'" },
		{ { "create", "x", "--payload", "64MiB", NULL }, "create: invalid size '64MiB'" },
		{ { "create", "x", "--payload", "1025G", NULL }, "'1025G' (at most 1 TiB: 1024G)" },
		{ { "create", "x", "--mode", "999", NULL }, "zbctl: create: invalid mode '999'" },
		{ { "create", "x", "y", NULL }, "zbctl: create: unexpected argument 'y'" },
		{ { "create", "a/b", NULL },
		  "zbctl: create: invalid buffer name 'a/b' (1 to 200 " },
		{ { "destroy", NULL }, "zbctl: destroy: missing buffer NAME\n" },
		{ { "list", "extra", NULL }, "zbctl: list: unexpected argument 'extra'" },
		{ { "watch", "5", NULL }, "zbctl: watch: invalid interval '5'" },
		{ { "write", NULL }, "zbctl: write: missing buffer NAME\n" },
		{ { "write", "x", "--lines", "--frame-size", "3", NULL }, "exclude each other" },
		{ { "write", "x", "--frame-size", "0", NULL }, "invalid frame size '0'" },
		{ { "read", "x", "--payload", "1M", NULL }, "need --create" },
		{ { "read", "x", "--bogus", NULL }, "zbctl: read: unrecognized option '--bogus'" },
		{ { "read", "x", "--lines", "--json", NULL }, "--lines and --json exclude" },
		{ { "version", "x", NULL }, "zbctl: version: unexpected argument 'x'" },
		{ { "help", "nope", NULL }, "zbctl: help: unknown verb 'nope'" },
	};
	char *argv[8];
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 0;

		for (; cases[i].args[n]; n++)
			argv[n] = cases[i].args[n];
		argv[n] = NULL;
		run_in(&r, NULL, 0, argv);
		ck_assert_msg(r.status == 2, "case %zu: status %d", i, r.status);
		ck_assert_msg(strstr(r.err, cases[i].message), "case %zu: stderr '%s'", i, r.err);
		ck_assert_str_eq(r.out, "");
	}
}
END_TEST

static const char *const all_verbs[] = { "create", "destroy", "list",	 "health", "watch",
					 "write",  "read",    "version", "help" };

START_TEST(help_lists_every_verb)
{
	char want[32];
	struct run r;

	RUN(&r, "--help");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
	ck_assert(strncmp(r.out, "Usage: zbctl ", 13) == 0);
	for (size_t i = 0; i < sizeof(all_verbs) / sizeof(all_verbs[0]); i++) {
		snprintf(want, sizeof(want), "\n  %s", all_verbs[i]);
		ck_assert_msg(strstr(r.out, want), "--help lacks %s", all_verbs[i]);
	}
	ck_assert(strstr(r.out, "Exit status: 0 ok, 1 failed, 2 misused, 130 interrupted"));
}
END_TEST

START_TEST(verb_help)
{
	static const char *const options[] = { "--payload", "--force",	   "",
					       "NAME",	    "INTERVAL_MS", "--frame-size",
					       "--follow",  "libzbclient", "VERB" };
	char want[64];
	struct run r, r2;

	for (size_t i = 0; i < sizeof(all_verbs) / sizeof(all_verbs[0]); i++) {
		RUN(&r, (char *)all_verbs[i], "--help");
		ck_assert_int_eq(r.status, 0);
		snprintf(want, sizeof(want), "Usage: zbctl [-s SOCKET] [--json] %s", all_verbs[i]);
		ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
		ck_assert_msg(strstr(r.out, options[i]), "%s --help lacks %s", all_verbs[i],
			      options[i]);
		/* `zbctl help VERB` is the same text. */
		RUN(&r2, "help", (char *)all_verbs[i]);
		ck_assert_int_eq(r2.status, 0);
		ck_assert_str_eq(r.out, r2.out);
	}
}
END_TEST

/* ------------------------------------------------------- control verbs */

START_TEST(no_daemon_exit_1)
{
	static char *const verbs[][3] = {
		{ "list", NULL },	 { "health", NULL },	   { "health", "x", NULL },
		{ "create", "x", NULL }, { "destroy", "x", NULL }, { "watch", NULL },
	};
	char want[256];
	struct run r;

	fake_dead_path(&fk);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char *args[6] = { "-s", fk.path, verbs[i][0], verbs[i][1], NULL };

		run_in(&r, NULL, 0, args);
		ck_assert_int_eq(r.status, 1);
		snprintf(want, sizeof(want), "zbctl: %s: no zbd listening at %s (", verbs[i][0],
			 fk.path);
		ck_assert_msg(strncmp(r.err, want, strlen(want)) == 0, "stderr: %s", r.err);
		ck_assert_str_eq(r.out, "");
	}
	/* The socket comes from $ZBD_SOCKET too. */
	setenv("ZBD_SOCKET", fk.path, 1);
	RUN(&r, "list");
	unsetenv("ZBD_SOCKET");
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(r.err, fk.path));
}
END_TEST

START_TEST(list_human_and_json)
{
	const char *replies[] = { "buffer=cam0\nbuffer=mic\nstatus=0\n\n" };
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "list");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "cam0\nmic\n");
	ck_assert_str_eq(fake_request(&fk), "list");
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "list", "--json", "-s", fk.path);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "{\"status\":0,\"buffers\":[\"cam0\",\"mic\"]}\n");
}
END_TEST

START_TEST(create_and_destroy_words)
{
	const char *replies[] = { "status=0\n\n", "status=0\n\n", "status=0\n\n" };
	struct run r;

	fake_start(&fk, replies, 3, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "create", "cam0", "--payload", "64M", "--metadata", "4K", "--mode",
	    "0640", "--group", "video");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(fake_request(&fk), "create cam0 payload=67108864 metadata=4096 mode=0640 "
					    "group=video");
	fake_stop(&fk);

	/* The daemon's own words work as well. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "--json", "create", "payload=1G", "cam1", "group=audio");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "{\"status\":0}\n");
	ck_assert_str_eq(fake_request(&fk), "create cam1 payload=1073741824 group=audio");
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "destroy", "cam1", "--force");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(fake_request(&fk), "destroy cam1 force");
}
END_TEST

START_TEST(daemon_error_exit_1)
{
	const char *replies[] = { "error=buffer cam0 has a live reader (pid 7)\nstatus=-16\n\n" };
	struct run r;

	/* The daemon's words, then the way out in zbctl's own terms. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "destroy", "cam0");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: destroy: buffer cam0 has a live reader (pid 7)\n"
				"zbctl: hint: 'zbctl destroy cam0 --force' removes it anyway: its "
				"reader and writer are told it was destroyed\n");
	ck_assert_str_eq(r.out, "");
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "--json", "destroy", "cam0");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "{\"status\":-16,\"error\":\"buffer cam0 has a live reader (pid "
				"7)\",\"error_name\":\"EBUSY\",\"hint\":\"'zbctl destroy cam0 "
				"--force' removes it anyway: its reader and writer are told it "
				"was destroyed\"}\n");
	assert_json_lines(r.out, 1);
}
END_TEST

/* The daemon's text begins with our word for the code: said once, not twice. */
START_TEST(daemon_error_said_once)
{
	const char *replies[] = {
		"error=permission denied: create needs root or the admin group\nstatus=-13\n\n"
	};
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "create", "cam0");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(starts_with(r.err, "zbctl: create: permission denied: create needs root or "
					 "the admin group\nzbctl: hint: "),
		      "%s", r.err);
	ck_assert_msg(strstr(r.err, "admin_group"), "%s", r.err);
	ck_assert_ptr_null(strstr(r.err, "denied: permission denied"));
}
END_TEST

START_TEST(malformed_reply_exit_1)
{
	const char *replies[] = { "garbage\n" };
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "list");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: list: Protocol error\n");
}
END_TEST

#define HEALTH                                                                                     \
	"daemon=zbd\nversion=0.1.0\nuptime_s=3725\nbuffers=1\n"                                    \
	"buffer=cam0\nstate=healthy\npayload_size=1048576\nmetadata_size=1024\n"                   \
	"used_bytes=2048\nutilisation=0.2\nreader_pid=10\nreader_alive=1\nwriter_pid=11\n"         \
	"writer_alive=0\nframes_written=7\nframes_read=5\nnote=say \"hi\"\\\tthere\nmode=0660\n"   \
	"status=0\n\n"

START_TEST(health_table_detail_json)
{
	const char *replies[] = { HEALTH };
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "health");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(fake_request(&fk), "health");
	ck_assert_msg(strncmp(r.out, "zbd 0.1.0, up 1h02m, 1 buffer\n\nNAME ", 36) == 0, "%s",
		      r.out);
	/* Sizes as the size grammar writes them: 1M, not 1.0M. */
	ck_assert_msg(strstr(r.out, "\ncam0 healthy       1M      2K   0.2%        10      (11)"),
		      "%s", r.out);
	ck_assert_msg(strstr(r.out, " REAPED(R/W)\n"), "%s", r.out);
	ck_assert_msg(strstr(r.out, "0/0\n"), "%s", r.out);
	fake_stop(&fk);

	/* One buffer: labelled lines, the same sizes, keys zbctl does not know
	 * shown as they came; not a dump of the reply. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "health", "cam0");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(fake_request(&fk), "health cam0");
	ck_assert_str_eq(r.out, "zbd 0.1.0, up 1h02m, 1 buffer\n"
				"\n"
				"buffer    cam0\n"
				"state     healthy\n"
				"size      payload 1M, metadata 1K\n"
				"used      2K of 1M (0.2%)\n"
				"reader    pid 10 (alive)\n"
				"writer    pid 11 (dead)\n"
				"frames    7 written, 5 read, 0 lost with dead readers\n"
				"bytes     0B written, 0B read while zbd watched\n"
				"rates     writing 0 frames/s (0B/s), reading 0 frames/s (0B/s)\n"
				"reaped    0 dead readers, 0 dead writers cleared by zbd\n"
				"mode      0660\n"
				"note      say \"hi\"\\\tthere\n");
	fake_stop(&fk);

	/* Numbers stay numbers, names and look-alikes ("0660") stay strings, text
	 * is escaped: one valid document on one line. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "--json", "health");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
			 "{\"status\":0,\"daemon\":{\"daemon\":\"zbd\",\"version\":\"0.1.0\","
			 "\"uptime_s\":3725,\"buffers\":1},\"buffers\":[{\"buffer\":\"cam0\","
			 "\"state\":\"healthy\",\"payload_size\":1048576,\"metadata_size\":1024,"
			 "\"used_bytes\":2048,\"utilisation\":0.2,\"reader_pid\":10,"
			 "\"reader_alive\":1,\"writer_pid\":11,\"writer_alive\":0,"
			 "\"frames_written\":7,\"frames_read\":5,"
			 "\"note\":\"say \\\"hi\\\"\\\\\\tthere\",\"mode\":\"0660\"}]}\n");
	assert_json_lines(r.out, 1);
}
END_TEST

START_TEST(watch_plain_and_json_until_hangup)
{
	const char *replies[] = { HEALTH HEALTH };
	struct run r;
	char *second;

	/* Not a terminal: plain reports one after another; zbd hanging up ends it. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "watch", "50");
	ck_assert_str_eq(fake_request(&fk), "watch 50");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: watch: zbd closed the connection\n");
	ck_assert(strncmp(r.out, "zbd 0.1.0", 9) == 0);
	second = strstr(r.out + 1, "zbd 0.1.0");
	ck_assert_ptr_nonnull(second);
	ck_assert_ptr_null(strstr(second + 1, "zbd 0.1.0"));
	ck_assert_ptr_null(strchr(r.out, '\033'));
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "--json", "watch");
	ck_assert_str_eq(fake_request(&fk), "watch");
	second = strchr(r.out, '\n');
	ck_assert_ptr_nonnull(second);
	ck_assert(strncmp(r.out, "{\"status\":0,", 12) == 0);
	ck_assert(strncmp(second + 1, "{\"status\":0,", 12) == 0);
	/* Two reports, then zbd hanging up, said as a document too. */
	second = strchr(second + 1, '\n');
	ck_assert_ptr_nonnull(second);
	ck_assert_msg(strncmp(second + 1, "{\"status\":-104,", 15) == 0, "%s", r.out);
	ck_assert_msg(strstr(second, "\"error_name\":\"ECONNRESET\""), "%s", r.out);
	assert_json_lines(r.out, 3);
}
END_TEST

START_TEST(watch_sigint_exits_130)
{
	const char *replies[] = { HEALTH };
	char out[128], got[OUT_MAX];
	pid_t pid;

	fake_start(&fk, replies, 1, 0, FAKE_HANG);
	tmp_path(out, sizeof(out), "watch.out");
	pid = tu_spawn_io(zbctl, (char *const[]){ "-s", fk.path, "watch", NULL }, NULL, out, NULL);
	ck_assert_str_eq(fake_request(&fk), "watch");
	/* The first report is out once the file has it; then interrupt the wait. */
	for (int i = 0; i < 500; i++) {
		read_file(out, got, sizeof(got));
		if (strstr(got, "cam0"))
			break;
		usleep(10000);
	}
	ck_assert(strstr(got, "cam0"));
	kill(pid, SIGINT);
	ck_assert_int_eq(tu_exit_status(tu_wait(pid, 5000)), 130);
}
END_TEST

/* ------------------------------------------------------- JSON, versions */

START_TEST(read_write_json)
{
	const char *name = tu_unique_name("json");
	char out[128], got[OUT_MAX];
	struct run r;
	pid_t reader;

	/* Frames as documents with their bytes in base64, then the counters. */
	tmp_path(out, sizeof(out), "reader.out");
	reader = start_reader(name, out, (char *const[]){ "--json", NULL });
	RUN_IN(&r, "a\nbb\nccc\n", "--json", "write", (char *)name, "--lines");
	ck_assert_msg(r.status == 0, "%s", r.err);
	ck_assert_str_eq(r.out, "{\"status\":0,\"frames\":3,\"bytes\":6}\n");
	assert_json_lines(r.out, 1);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	read_file(out, got, sizeof(got));
	ck_assert_str_eq(got, "{\"sequence\":1,\"size\":1,\"data\":\"YQ==\"}\n"
			      "{\"sequence\":2,\"size\":2,\"data\":\"YmI=\"}\n"
			      "{\"sequence\":3,\"size\":3,\"data\":\"Y2Nj\"}\n"
			      "{\"status\":0,\"frames\":3,\"bytes\":6}\n");
	/* Frame documents carry no status: only the last line is checked as one. */
	assert_json_lines(strrchr(got, '{'), 1);
}
END_TEST

/* With --json every failure is a document on stdout with the code's name:
 * no daemon, no buffer. */
START_TEST(json_on_every_failure)
{
	const char *name = tu_unique_name("jsonfail");
	struct run r;

	fake_dead_path(&fk);
	RUN(&r, "-s", fk.path, "--json", "list");
	ck_assert_int_eq(r.status, 1);
	assert_json_lines(r.out, 1);
	ck_assert_msg(
		starts_with(r.out, "{\"status\":-2,\"error\":\"no zbd listening at %s (", fk.path),
		"%s", r.out);
	ck_assert_msg(strstr(r.out, "\"error_name\":\"ENOENT\",\"hint\":\"is zbd running?"), "%s",
		      r.out);
	ck_assert(strstr(r.err, "no zbd listening at"));

	RUN_IN(&r, "a\n", "--json", "write", (char *)name);
	ck_assert_int_eq(r.status, 1);
	assert_json_lines(r.out, 1);
	ck_assert_msg(starts_with(r.out,
				  "{\"status\":-2,\"error\":\"%s: no such buffer\","
				  "\"error_name\":\"ENOENT\",\"hint\":\"make it first",
				  name),
		      "%s", r.out);

	RUN(&r, "read", (char *)name, "--json");
	ck_assert_int_eq(r.status, 1);
	assert_json_lines(r.out, 1);
	ck_assert_msg(strstr(r.out, "\"error_name\":\"ENOENT\""), "%s", r.out);
}
END_TEST

START_TEST(version_both_ends)
{
	const char *replies[] = { "version=9.9.9\nstatus=0\n\n" };
	char want[256];
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "version");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(fake_request(&fk), "version");
	snprintf(want, sizeof(want), "zbctl %s\nlibzbclient %s\nzbd 9.9.9\n", ZB_VERSION_STRING,
		 zb_version());
	ck_assert_str_eq(r.out, want);
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "--json", "version");
	ck_assert_int_eq(r.status, 0);
	snprintf(want, sizeof(want),
		 "{\"status\":0,\"zbctl\":\"%s\",\"libzbclient\":\"%s\",\"zbd\":"
		 "\"9.9.9\"}\n",
		 ZB_VERSION_STRING, zb_version());
	ck_assert_str_eq(r.out, want);
	assert_json_lines(r.out, 1);
	fake_stop(&fk);

	/* No daemon: this end is still shown, and the status says what is missing. */
	fake_dead_path(&fk);
	RUN(&r, "-s", fk.path, "version");
	ck_assert_int_eq(r.status, 1);
	snprintf(want, sizeof(want), "zbctl %s\nlibzbclient %s\n", ZB_VERSION_STRING, zb_version());
	ck_assert_str_eq(r.out, want);
	ck_assert(strstr(r.err, "zbctl: version: no zbd listening at "));
	RUN(&r, "-s", fk.path, "--json", "version");
	ck_assert_int_eq(r.status, 1);
	assert_json_lines(r.out, 1);
	snprintf(want, sizeof(want), "\"zbctl\":\"%s\",\"libzbclient\":\"%s\"}\n",
		 ZB_VERSION_STRING, zb_version());
	ck_assert_msg(strstr(r.out, want), "%s", r.out);

	RUN(&r, "--version");
	ck_assert_int_eq(r.status, 0);
	snprintf(want, sizeof(want), "zbctl %s\n", ZB_VERSION_STRING);
	ck_assert_str_eq(r.out, want);
	RUN(&r, "list", "--version");
	ck_assert_str_eq(r.out, want);
}
END_TEST

/* ------------------------------------------------------------------ sizes */

START_TEST(sizes_rounding_said)
{
	const char *replies[] = { "status=0\n\n" };
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "create", "cam0", "--payload", "10", "--metadata", "100");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(fake_request(&fk), "create cam0 payload=10 metadata=100");
	ck_assert_msg(strstr(r.err, "zbctl: create: note: payload size 10 is rounded up to 64 "
				    "bytes"),
		      "%s", r.err);
	ck_assert_msg(strstr(r.err, "metadata size 100 is rounded up to 128 bytes"), "%s", r.err);
	fake_stop(&fk);

	/* Whole multiples of 64 need no note. */
	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "create", "cam0", "--payload", "64K");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
}
END_TEST

/* A buffer larger than the whole of /dev/shm is refused before anything is
 * asked of zbd or made in /dev/shm (test-sizes.c tries the warning, on a
 * tmpfs of its own). */
START_TEST(sizes_beyond_dev_shm_refused)
{
	const char *name = tu_unique_name("huge");
	struct statvfs st;
	struct run r;

	ck_assert_int_eq(statvfs("/dev/shm", &st), 0);
	if ((uint64_t)st.f_blocks * st.f_frsize >= ZB_SIZE_MAX) {
		fprintf(stderr, "sizes_beyond_dev_shm_refused: /dev/shm holds 1 TiB; not tried\n");
		return;
	}
	fake_dead_path(&fk);
	RUN(&r, "-s", fk.path, "create", (char *)name, "--payload", "1024G");
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.err, "zbctl: create: a buffer of 1.0T cannot fit in /dev/shm ("),
		      "%s", r.err);
	ck_assert_msg(!strstr(r.err, "no zbd listening"), "%s", r.err);
	RUN(&r, "--json", "read", (char *)name, "--create", "--payload", "1024G");
	ck_assert_int_eq(r.status, 1);
	assert_json_lines(r.out, 1);
	ck_assert_msg(strstr(r.out, "\"error_name\":\"ENOSPC\""), "%s", r.out);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

/* Ctrl-C in the middle of a write: 130, and with --json a document saying so. */
START_TEST(write_sigint_exits_130)
{
	struct zb_buffer_config cfg = { .payload_size = 4096 };
	const char *name = tu_unique_name("wsigint");
	char fifo[128], out[128], got[1024];
	struct zb_reader *rd;
	pid_t writer;
	int fd;

	ck_assert_int_eq(zb_reader_create(&rd, name, &cfg), 0);
	tmp_path(fifo, sizeof(fifo), "stdin.fifo");
	tmp_path(out, sizeof(out), "writer.out");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	writer = tu_spawn_io(zbctl, (char *const[]){ "--json", "write", (char *)name, NULL }, fifo,
			     out, NULL);
	fd = open(fifo, O_WRONLY); /* meets the writer's open of its stdin */
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(TU_UNTIL(zb_reader_writer_connected(rd) == 1, 5000, 2000),
		      "the writer did not attach");
	ck_assert_int_eq(kill(writer, SIGINT), 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(writer, 5000)), 130);
	close(fd);
	read_file(out, got, sizeof(got));
	ck_assert_str_eq(got, "{\"status\":-4,\"error\":\"interrupted\",\"error_name\":\"EINTR\","
			      "\"frames\":0,\"bytes\":0}\n");
	zb_reader_close(rd);
}
END_TEST

/* Also finds zbctl for the tests. */
static const char *no_zbctl(void)
{
	zbctl = getenv("ZBCTL");
	if (!zbctl || access(zbctl, X_OK) != 0)
		return "ZBCTL does not name the zbctl executable";
	return NULL;
}

TU_SUITE(zbctl_cli_suite, "zbctl-cli", .skip = no_zbctl)
{
	TCase *pipe = tu_tcase(s, "pipeline", setup, teardown);
	TCase *use = tu_tcase(s, "usage", setup, teardown);
	TCase *ctl = tu_tcase(s, "control", setup, teardown);

	tcase_add_test(pipe, pipeline_lines);
	tcase_add_test(pipe, pipeline_last_line_and_empty_lines);
	tcase_add_test(pipe, pipeline_frame_size);
	tcase_add_test(pipe, pipeline_chunks_binary);
	tcase_add_test(pipe, write_into_library_created_buffer);
	tcase_add_test(pipe, write_full_ring_times_out);
	tcase_add_test(pipe, write_no_buffer);
	tcase_add_test(pipe, read_follow_two_writers_then_sigint);
	tcase_add_test(pipe, read_timeout);
	tcase_add_test(pipe, read_closed_stdout_is_quiet);
	tcase_add_test(pipe, read_write_json);
	tcase_add_test(pipe, write_sigint_exits_130);

	tcase_add_test(use, usage_errors_exit_2);
	tcase_add_test(use, help_lists_every_verb);
	tcase_add_test(use, verb_help);

	tcase_add_test(ctl, no_daemon_exit_1);
	tcase_add_test(ctl, list_human_and_json);
	tcase_add_test(ctl, create_and_destroy_words);
	tcase_add_test(ctl, daemon_error_exit_1);
	tcase_add_test(ctl, daemon_error_said_once);
	tcase_add_test(ctl, malformed_reply_exit_1);
	tcase_add_test(ctl, health_table_detail_json);
	tcase_add_test(ctl, watch_plain_and_json_until_hangup);
	tcase_add_test(ctl, watch_sigint_exits_130);
	tcase_add_test(ctl, json_on_every_failure);
	tcase_add_test(ctl, version_both_ends);
	tcase_add_test(ctl, sizes_rounding_said);
	tcase_add_test(ctl, sizes_beyond_dev_shm_refused);
}
