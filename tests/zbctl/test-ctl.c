/* SPDX-License-Identifier: MIT */
/*
 * The control-socket client (zb_ctl_*) against a fake daemon: what it sends,
 * how it reads good, odd and bad replies, and that it never hangs.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "testutil.h"
#include "zbclient.h"

static struct fake fk;

static void teardown(void)
{
	fake_stop(&fk);
}

static struct zb_ctl *connect_fake(void)
{
	struct zb_ctl *ctl = NULL;

	ck_assert_int_eq(zb_ctl_connect(&ctl, fk.path), 0);
	ck_assert_ptr_nonnull(ctl);
	return ctl;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ------------------------------------------------------------- connecting */

START_TEST(connect_no_socket_file)
{
	struct zb_ctl *ctl = (struct zb_ctl *)0x1;

	fake_dead_path(&fk);
	ck_assert_int_eq(zb_ctl_connect(&ctl, fk.path), -ENOENT);
	ck_assert_ptr_eq(ctl, (struct zb_ctl *)0x1); /* untouched on failure */
}
END_TEST

START_TEST(connect_refused)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct zb_ctl *ctl;
	int fd;

	/* A socket file with nobody listening: what a crashed daemon leaves. */
	fake_dead_path(&fk);
	strcpy(addr.sun_path, fk.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	ck_assert_int_eq(zb_ctl_connect(&ctl, fk.path), -ECONNREFUSED);
}
END_TEST

START_TEST(connect_bad_args)
{
	char longpath[300];
	struct zb_ctl *ctl;

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(zb_ctl_connect(NULL, "/tmp/x"), -EINVAL);
	ck_assert_int_eq(zb_ctl_connect(&ctl, ""), -EINVAL);
	ck_assert_int_eq(zb_ctl_connect(&ctl, longpath), -ENAMETOOLONG);
}
END_TEST

START_TEST(default_socket_path)
{
	char buf[256], tiny[4] = "abc";

	setenv("ZBD_SOCKET", "/tmp/elsewhere.sock", 1);
	ck_assert_int_eq(zb_ctl_default_socket(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/tmp/elsewhere.sock");
	ck_assert_int_eq(zb_ctl_default_socket(tiny, sizeof(tiny)), -ENAMETOOLONG);
	ck_assert_str_eq(tiny, "abc");

	unsetenv("ZBD_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	ck_assert_int_eq(zb_ctl_default_socket(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, geteuid() == 0 ? "/run/zbd/zbd.sock" : "/run/user/4242/zbd.sock");
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_int_eq(zb_ctl_default_socket(buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/run/zbd/zbd.sock");

	/* connect(NULL) goes where the default says. */
	fake_start1(&fk, "status=0\n\n");
	setenv("ZBD_SOCKET", fk.path, 1);
	{
		struct zb_ctl *ctl;

		ck_assert_int_eq(zb_ctl_connect(&ctl, NULL), 0);
		zb_ctl_close(ctl);
	}
}
END_TEST

START_TEST(null_handles)
{
	zb_ctl_close(NULL);
	zb_ctl_reply_free(NULL);
	zb_ctl_list_free(NULL);
	zb_health_free(NULL);
	ck_assert_int_eq(zb_ctl_fd(NULL), -EINVAL);
	ck_assert_ptr_null(zb_ctl_last_error(NULL));
	ck_assert_int_eq(zb_ctl_set_timeout(NULL, 10), -EINVAL);
	ck_assert_ptr_null(zb_ctl_record_get(NULL, "x"));
	ck_assert_str_eq(zb_health_state_name(ZB_HEALTH_STALLED), "stalled");
	ck_assert_str_eq(zb_health_state_name((enum zb_health_state)99), "unknown");
}
END_TEST

/* ----------------------------------------------------------- the requests */

START_TEST(create_sends_the_grammar)
{
	struct zb_buffer_config cfg = { .payload_size = 1 << 20,
					.metadata_size = 64,
					.mode = 0660 };
	struct zb_ctl *ctl;

	fake_start1(&fk, "status=0\n\n");
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_create(ctl, "cam0", &cfg, "video"), 0);
	ck_assert_str_eq(fake_request(&fk), "create cam0 payload=1048576 metadata=64 mode=0660 "
					    "group=video");
	ck_assert_ptr_null(zb_ctl_last_error(ctl));
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(create_defaults_send_only_the_name)
{
	struct zb_buffer_config cfg = { 0 };
	const char *replies[] = { "status=0\n\n", "status=0\n\n" };
	struct zb_ctl *ctl;

	fake_start(&fk, replies, 2, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_create(ctl, "a", NULL, NULL), 0);
	ck_assert_str_eq(fake_request(&fk), "create a");
	ck_assert_int_eq(zb_ctl_create(ctl, "b", &cfg, NULL), 0);
	ck_assert_str_eq(fake_request(&fk), "create b");
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(create_error_carries_code_and_text)
{
	struct zb_ctl *ctl;

	fake_start1(&fk, "error=buffer cam0 exists\nstatus=-17\n\n");
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_create(ctl, "cam0", NULL, NULL), -EEXIST);
	ck_assert_str_eq(zb_ctl_last_error(ctl), "buffer cam0 exists");
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(words_that_cannot_travel)
{
	static const char *const bad[] = { "", "a b", "a\tb", "a=b", "x/y", "..", "a\nb" };
	struct zb_buffer_config cfg = { .mode = 010000 };
	struct zb_ctl *ctl;
	struct zb_health *h;
	size_t n;
	char big[ZB_NAME_MAX + 2];

	/* Refused before anything is sent: a silent server proves no request went out. */
	fake_start(&fk, (const char *const[]){ NULL }, 1, 0, FAKE_HANG);
	ctl = connect_fake();
	zb_ctl_set_timeout(ctl, 100);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(zb_ctl_create(ctl, bad[i], NULL, NULL), -EINVAL);
		ck_assert_int_eq(zb_ctl_destroy(ctl, bad[i], 0), -EINVAL);
		ck_assert_int_eq(zb_ctl_health(ctl, bad[i], &h, &n, NULL), -EINVAL);
		if (*bad[i] && strcmp(bad[i], "..") != 0) /* ".." is a word, if an odd group */
			ck_assert_int_eq(zb_ctl_create(ctl, "ok", NULL, bad[i]), -EINVAL);
	}
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(zb_ctl_create(ctl, big, NULL, NULL), -EINVAL);
	ck_assert_int_eq(zb_ctl_create(ctl, "ok", &cfg, NULL), -EINVAL);
	ck_assert_int_eq(zb_ctl_create(NULL, "ok", NULL, NULL), -EINVAL);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(request_line_checks)
{
	char *line = malloc(ZB_CTL_LINE_MAX + 2);
	struct zb_ctl_reply *reply;
	struct zb_ctl *ctl;

	fake_start(&fk, (const char *const[]){ NULL }, 1, 0, FAKE_HANG);
	ctl = connect_fake();
	memset(line, 'a', ZB_CTL_LINE_MAX + 1);
	line[ZB_CTL_LINE_MAX + 1] = '\0';
	ck_assert_int_eq(zb_ctl_request(ctl, line, &reply), -EINVAL);
	ck_assert_int_eq(zb_ctl_request(ctl, "list\nlist", &reply), -EINVAL);
	ck_assert_int_eq(zb_ctl_request(ctl, "", &reply), -EINVAL);
	ck_assert_int_eq(zb_ctl_request(ctl, "list", NULL), -EINVAL);
	ck_assert_int_eq(zb_ctl_set_timeout(ctl, 0), -EINVAL);
	free(line);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(destroy_force_and_busy)
{
	const char *replies[] = { "error=cam0 has peers attached\nstatus=-16\n\n", "status=0\n\n" };
	struct zb_ctl *ctl;

	fake_start(&fk, replies, 2, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_destroy(ctl, "cam0", 0), -EBUSY);
	ck_assert_str_eq(fake_request(&fk), "destroy cam0");
	ck_assert_str_eq(zb_ctl_last_error(ctl), "cam0 has peers attached");
	ck_assert_int_eq(zb_ctl_destroy(ctl, "cam0", 1), 0);
	ck_assert_str_eq(fake_request(&fk), "destroy cam0 force");
	/* The last error belongs to the last reply only. */
	ck_assert_ptr_null(zb_ctl_last_error(ctl));
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(list_names)
{
	const char *replies[] = { "buffer=cam0\nbuffer=mic-1\nbuffer=x.y\nstatus=0\n\n",
				  "status=0\n\n", "error=nope\nstatus=-13\n\n" };
	char **names = (char **)0x1;
	struct zb_ctl *ctl;
	size_t n = 99;

	fake_start(&fk, replies, 3, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), 0);
	ck_assert_str_eq(fake_request(&fk), "list");
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "cam0");
	ck_assert_str_eq(names[1], "mic-1");
	ck_assert_str_eq(names[2], "x.y");
	ck_assert_ptr_null(names[3]);
	zb_ctl_list_free(names);

	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(names[0]);
	zb_ctl_list_free(names);

	names = (char **)0x1;
	n = 99;
	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), -EACCES);
	ck_assert_ptr_eq(names, (char **)0x1);
	ck_assert_uint_eq(n, 99);
	zb_ctl_close(ctl);
}
END_TEST

#define HEALTH_REPLY                                                                               \
	"daemon=zbd\nversion=0.1.0\nuptime_s=12\nbuffers=2\n"                                      \
	"buffer=cam0\nstate=degraded\npayload_size=67108864\nmetadata_size=1024\n"                 \
	"used_bytes=58720256\nutilisation=87.5\nreader_pid=1234\nreader_alive=1\n"                 \
	"writer_pid=5678\nwriter_alive=0\nframes_written=1000\nframes_read=990\n"                  \
	"bytes_written=1024000\nbytes_read=1013760\nwrite_rate_fps=30.0\nread_rate_fps=29.5\n"     \
	"write_rate_bps=30720\nread_rate_bps=30208.5\nreaders_reaped=2\nwriters_reaped=1\n"        \
	"frames_lost=7\n"                                                                          \
	"some_future_key=whatever\n"                                                               \
	"buffer=mic\nstate=sleepy\npayload_size=1048576\n"                                         \
	"status=0\n\n"

START_TEST(health_all)
{
	struct zb_daemon_health d;
	struct zb_health *h;
	struct zb_ctl *ctl;
	size_t n;

	fake_start1(&fk, HEALTH_REPLY);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_health(ctl, NULL, &h, &n, &d), 0);
	ck_assert_str_eq(fake_request(&fk), "health");
	ck_assert_str_eq(d.version, "0.1.0");
	ck_assert_uint_eq(d.uptime_s, 12);
	ck_assert_uint_eq(d.buffers, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(h[0].name, "cam0");
	ck_assert_int_eq(h[0].state, ZB_HEALTH_DEGRADED);
	ck_assert_str_eq(h[0].state_text, "degraded");
	ck_assert_uint_eq(h[0].payload_size, 67108864);
	ck_assert_uint_eq(h[0].metadata_size, 1024);
	ck_assert_uint_eq(h[0].used_bytes, 58720256);
	ck_assert_double_eq_tol(h[0].utilisation, 87.5, 1e-9);
	ck_assert_int_eq(h[0].reader_pid, 1234);
	ck_assert_int_eq(h[0].reader_alive, 1);
	ck_assert_int_eq(h[0].writer_pid, 5678);
	ck_assert_int_eq(h[0].writer_alive, 0);
	ck_assert_uint_eq(h[0].frames_written, 1000);
	ck_assert_uint_eq(h[0].frames_read, 990);
	ck_assert_uint_eq(h[0].bytes_written, 1024000);
	ck_assert_uint_eq(h[0].bytes_read, 1013760);
	ck_assert_double_eq_tol(h[0].write_rate_fps, 30.0, 1e-9);
	ck_assert_double_eq_tol(h[0].read_rate_fps, 29.5, 1e-9);
	ck_assert_double_eq_tol(h[0].write_rate_bps, 30720, 1e-9);
	ck_assert_double_eq_tol(h[0].read_rate_bps, 30208.5, 1e-9);
	ck_assert_uint_eq(h[0].readers_reaped, 2);
	ck_assert_uint_eq(h[0].writers_reaped, 1);
	ck_assert_uint_eq(h[0].frames_lost, 7);
	/* A state we do not know yet, and keys the daemon left out. */
	ck_assert_str_eq(h[1].name, "mic");
	ck_assert_int_eq(h[1].state, ZB_HEALTH_UNKNOWN);
	ck_assert_str_eq(h[1].state_text, "sleepy");
	ck_assert_uint_eq(h[1].payload_size, 1048576);
	ck_assert_uint_eq(h[1].frames_written, 0);
	zb_health_free(h);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(health_one_and_unknown)
{
	const char *replies[] = {
		"daemon=zbd\nbuffer=cam0\nstate=healthy\nstatus=0\n\n",
		"error=no buffer nope\nstatus=-2\n\n",
		"daemon=zbd\nversion=0.1.0\nbuffers=0\nstatus=0\n\n",
	};
	struct zb_health *h = (struct zb_health *)0x1;
	struct zb_ctl *ctl;
	size_t n = 99;

	fake_start(&fk, replies, 3, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_health(ctl, "cam0", &h, &n, NULL), 0);
	ck_assert_str_eq(fake_request(&fk), "health cam0");
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(h[0].state, ZB_HEALTH_HEALTHY);
	zb_health_free(h);

	h = (struct zb_health *)0x1;
	n = 99;
	ck_assert_int_eq(zb_ctl_health(ctl, "nope", &h, &n, NULL), -ENOENT);
	ck_assert_ptr_eq(h, (struct zb_health *)0x1);
	ck_assert_uint_eq(n, 99);

	ck_assert_int_eq(zb_ctl_health(ctl, NULL, &h, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(h);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(raw_reply_records)
{
	struct zb_ctl_reply *reply;
	struct zb_ctl *ctl;

	fake_start1(&fk, "note=a=b=c\nempty=\ndaemon=zbd\nversion=1\nbuffer=x\nstate=ok\n"
			 "buffer=y\nstatus=0\n\n");
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_request(ctl, "health", &reply), 0);
	ck_assert_int_eq(reply->status, 0);
	ck_assert_ptr_null(reply->error);
	ck_assert_uint_eq(reply->n_fields, 7);
	/* Split at the first '=' only: values may hold '='. */
	ck_assert_str_eq(reply->fields[0].key, "note");
	ck_assert_str_eq(reply->fields[0].value, "a=b=c");
	ck_assert_str_eq(reply->fields[1].value, "");
	ck_assert_uint_eq(reply->n_records, 4);
	ck_assert_uint_eq(reply->records[0].n_fields, 2);
	ck_assert_uint_eq(reply->records[1].n_fields, 2);
	ck_assert_str_eq(zb_ctl_record_get(&reply->records[1], "version"), "1");
	ck_assert_uint_eq(reply->records[2].n_fields, 2);
	ck_assert_str_eq(zb_ctl_record_get(&reply->records[2], "buffer"), "x");
	ck_assert_ptr_null(zb_ctl_record_get(&reply->records[2], "version"));
	ck_assert_uint_eq(reply->records[3].n_fields, 1);
	zb_ctl_reply_free(reply);
	zb_ctl_close(ctl);
}
END_TEST

/* ------------------------------------------------ tolerance and bad replies */

START_TEST(tolerant_forms)
{
	/* CRLF, empty lines before a reply, no empty line after the status, a
	 * positive status, and a second reply right behind the first. */
	const char *replies[] = {
		"\r\n\nbuffer=a\r\nstatus=0\r\n",
		"status=2 \n",
		"buffer=b\nstatus=0\n\nbuffer=c\nstatus=-22\n\n",
	};
	struct zb_ctl_reply *reply;
	struct zb_ctl *ctl;
	char **names;
	size_t n;

	fake_start(&fk, replies, 3, 0, FAKE_HANG);
	ctl = connect_fake();
	zb_ctl_set_timeout(ctl, 2000);
	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "a");
	zb_ctl_list_free(names);
	ck_assert_int_eq(zb_ctl_destroy(ctl, "a", 0), -ENOENT);
	ck_assert_int_eq(zb_ctl_send(ctl, "watch"), 0);
	ck_assert_int_eq(zb_ctl_receive(ctl, &reply), 0);
	ck_assert_str_eq(reply->fields[0].value, "b");
	zb_ctl_reply_free(reply);
	ck_assert_int_eq(zb_ctl_receive(ctl, &reply), 0);
	ck_assert_str_eq(reply->fields[0].value, "c");
	ck_assert_int_eq(reply->status, -EINVAL);
	zb_ctl_reply_free(reply);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(reply_in_single_bytes)
{
	const char *replies[] = { HEALTH_REPLY };
	struct zb_health *h;
	struct zb_ctl *ctl;
	size_t n;

	fake_start(&fk, replies, 1, 1, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_health(ctl, NULL, &h, &n, NULL), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(h[0].writers_reaped, 1);
	zb_health_free(h);
	zb_ctl_close(ctl);
}
END_TEST

static const char *const malformed[] = {
	"buffer=a\nno equals sign\nstatus=0\n\n",
	"buffer=a\n\nstatus=0\n\n", /* the reply ends before its status */
	"status=zero\n\n",
	"status=\n\n",
	"status=-1x\n\n",
	"status=99999999999999\n\n",
	"buffer=a\x01"
	"b\nstatus=0\n\n", /* the fake sends \x01 as a NUL byte */
	"buffer=a\n",	   /* then the daemon hangs up mid-reply */
};

START_TEST(malformed_reply)
{
	const char *replies[] = { malformed[_i] };
	struct zb_ctl_reply *reply = (struct zb_ctl_reply *)0x1;
	struct zb_ctl *ctl;
	char **names;
	size_t n;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_request(ctl, "list", &reply), -EPROTO);
	ck_assert_ptr_eq(reply, (struct zb_ctl_reply *)0x1);
	zb_ctl_close(ctl);
	fake_stop(&fk);

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), -EPROTO);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(hangup_without_reply)
{
	const char *replies[] = { "" };
	struct zb_ctl_reply *reply;
	struct zb_ctl *ctl;

	fake_start(&fk, replies, 1, 0, FAKE_CLOSE);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_request(ctl, "list", &reply), -ECONNRESET);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(oversize_reply)
{
	struct timespec t0;
	struct zb_ctl *ctl;
	char **names;
	size_t n;

	fake_start_flood(&fk, ZB_CTL_REPLY_MAX + (1u << 20));
	ctl = connect_fake();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), -EPROTO);
	ck_assert_int_lt(elapsed_ms(&t0), 4000);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(silent_daemon_times_out)
{
	struct zb_ctl_reply *reply;
	struct timespec t0;
	struct zb_ctl *ctl;
	long ms;

	fake_start(&fk, (const char *const[]){ NULL }, 1, 0, FAKE_HANG);
	ctl = connect_fake();
	ck_assert_int_eq(zb_ctl_set_timeout(ctl, 300), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(zb_ctl_request(ctl, "list", &reply), -ETIMEDOUT);
	ms = elapsed_ms(&t0);
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 2000);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(silent_after_partial_reply_times_out)
{
	const char *replies[] = { "daemon=zbd\nbuffer=a\n" };
	struct zb_ctl_reply *reply;
	struct timespec t0;
	struct zb_ctl *ctl;

	fake_start(&fk, replies, 1, 0, FAKE_HANG);
	ctl = connect_fake();
	zb_ctl_set_timeout(ctl, 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(zb_ctl_request(ctl, "health", &reply), -ETIMEDOUT);
	ck_assert_int_lt(elapsed_ms(&t0), 2000);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(reconnect_after_idle_close)
{
	struct pollfd pfd = { .events = POLLIN };
	struct zb_ctl *ctl;
	char **names;
	size_t n;
	int fd;

	fake_start_idle_close(&fk, "buffer=a\nstatus=0\n\n");
	ctl = connect_fake();
	fd = zb_ctl_fd(ctl);
	pfd.fd = fd;
	/* Wait (bounded) until the daemon's close has arrived. */
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(zb_ctl_list(ctl, &names, &n), 0);
	ck_assert_str_eq(fake_request(&fk), "list");
	ck_assert_uint_eq(n, 1);
	zb_ctl_list_free(names);
	/* The descriptor a caller may poll stays the same number. */
	ck_assert_int_eq(zb_ctl_fd(ctl), fd);
	zb_ctl_close(ctl);
}
END_TEST

START_TEST(default_timeout_is_bounded)
{
	struct zb_ctl_reply *reply;
	struct timespec t0;
	struct zb_ctl *ctl;
	long ms;

	/* The documented default, measured once: a silent daemon costs 5 s, not forever. */
	fake_start(&fk, (const char *const[]){ NULL }, 1, 0, FAKE_HANG);
	ctl = connect_fake();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(zb_ctl_request(ctl, "list", &reply), -ETIMEDOUT);
	ms = elapsed_ms(&t0);
	ck_assert_int_ge(ms, ZB_CTL_TIMEOUT_MS - 100);
	ck_assert_int_lt(ms, ZB_CTL_TIMEOUT_MS + 3000);
	zb_ctl_close(ctl);
}
END_TEST

TU_SUITE(zbctl_ctl_suite, "zbctl-ctl")
{
	TCase *tc = tu_tcase(s, "ctl", NULL, teardown);

	tcase_add_test(tc, connect_no_socket_file);
	tcase_add_test(tc, connect_refused);
	tcase_add_test(tc, connect_bad_args);
	tcase_add_test(tc, default_socket_path);
	tcase_add_test(tc, null_handles);
	tcase_add_test(tc, create_sends_the_grammar);
	tcase_add_test(tc, create_defaults_send_only_the_name);
	tcase_add_test(tc, create_error_carries_code_and_text);
	tcase_add_test(tc, words_that_cannot_travel);
	tcase_add_test(tc, request_line_checks);
	tcase_add_test(tc, destroy_force_and_busy);
	tcase_add_test(tc, list_names);
	tcase_add_test(tc, health_all);
	tcase_add_test(tc, health_one_and_unknown);
	tcase_add_test(tc, raw_reply_records);
	tcase_add_test(tc, tolerant_forms);
	tcase_add_test(tc, reply_in_single_bytes);
	tcase_add_loop_test(tc, malformed_reply, 0, sizeof(malformed) / sizeof(malformed[0]));
	tcase_add_test(tc, hangup_without_reply);
	tcase_add_test(tc, oversize_reply);
	tcase_add_test(tc, silent_daemon_times_out);
	tcase_add_test(tc, silent_after_partial_reply_times_out);
	tcase_add_test(tc, reconnect_after_idle_close);
	tcase_add_test(tc, default_timeout_is_bounded);
}
