/* SPDX-License-Identifier: MIT */
/*
 * zbctl as a user runs it: the write/read pipeline with no daemon, usage
 * errors, generated help, control verbs with no daemon and against a fake one.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

	/* Metadata is set once per buffer: a second writer asking again fails. */
	RUN_IN(&r, "z\n", "write", (char *)name, "--lines", "--metadata", "again");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: write: metadata already set\n");
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
	ck_assert_str_eq(r.err, "zbctl: write: buffer full\n");
	zb_reader_close(rd);
}
END_TEST

START_TEST(write_no_buffer)
{
	struct run r;

	RUN_IN(&r, "a\n", "write", (char *)tu_unique_name("none"), "--lines");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: write: no such buffer\n");
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
	ck_assert_int_eq(kill(reader, SIGINT), 0);
	ck_assert_int_eq(tu_exit_status(tu_wait(reader, 5000)), 0);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(read_timeout)
{
	const char *name = tu_unique_name("rtimeout");
	struct run r;

	RUN(&r, "read", "--create", (char *)name, "--timeout", "150");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: read: timed out\n");
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
		{ { "create", "x", "--mode", "999", NULL }, "zbctl: create: invalid mode '999'" },
		{ { "create", "x", "y", NULL }, "zbctl: create: unexpected argument 'y'" },
		{ { "create", "a/b", NULL }, "zbctl: create: invalid buffer name 'a/b'" },
		{ { "destroy", NULL }, "zbctl: destroy: missing buffer NAME\n" },
		{ { "list", "extra", NULL }, "zbctl: list: unexpected argument 'extra'" },
		{ { "watch", "5", NULL }, "zbctl: watch: invalid interval '5'" },
		{ { "write", NULL }, "zbctl: write: missing buffer NAME\n" },
		{ { "write", "x", "--lines", "--frame-size", "3", NULL }, "exclude each other" },
		{ { "write", "x", "--frame-size", "0", NULL }, "invalid frame size '0'" },
		{ { "read", "x", "--payload", "1M", NULL }, "need --create" },
		{ { "read", "x", "--bogus", NULL }, "zbctl: read: unrecognized option '--bogus'" },
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

static const char *const all_verbs[] = { "create", "destroy", "list", "health",
					 "watch",  "write",   "read", "help" };

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
	ck_assert(strstr(r.out, "Exit status: 0 ok, 1 failed, 2 misused"));
}
END_TEST

START_TEST(verb_help)
{
	static const char *const options[] = { "--payload",   "--force",      "",	  "NAME",
					       "INTERVAL_MS", "--frame-size", "--follow", "VERB" };
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
	const char *replies[] = { "error=cam0 has a reader; use force\nstatus=-16\n\n" };
	struct run r;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "destroy", "cam0");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "zbctl: destroy: a live peer is already attached: "
				"cam0 has a reader; use force\n");
	ck_assert_str_eq(r.out, "");
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "--json", "destroy", "cam0");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "{\"status\":-16,\"error\":\"cam0 has a reader; use force\"}\n");
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
	ck_assert_msg(strstr(r.out, "\ncam0 healthy     1.0M    2.0K   0.2%        10      (11)"),
		      "%s", r.out);
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	RUN(&r, "-s", fk.path, "health", "cam0");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(fake_request(&fk), "health cam0");
	ck_assert(strstr(r.out, "buffer           cam0\nstate            healthy\n"));
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
	ck_assert_ptr_null(strchr(second + 1, '\n') ? strchr(strchr(second + 1, '\n') + 1, '{')
						    : NULL);
}
END_TEST

START_TEST(watch_sigint_exits_0)
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
	ck_assert_int_eq(tu_exit_status(tu_wait(pid, 5000)), 0);
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

	tcase_add_test(use, usage_errors_exit_2);
	tcase_add_test(use, help_lists_every_verb);
	tcase_add_test(use, verb_help);

	tcase_add_test(ctl, no_daemon_exit_1);
	tcase_add_test(ctl, list_human_and_json);
	tcase_add_test(ctl, create_and_destroy_words);
	tcase_add_test(ctl, daemon_error_exit_1);
	tcase_add_test(ctl, malformed_reply_exit_1);
	tcase_add_test(ctl, health_table_detail_json);
	tcase_add_test(ctl, watch_plain_and_json_until_hangup);
	tcase_add_test(ctl, watch_sigint_exits_0);
}
