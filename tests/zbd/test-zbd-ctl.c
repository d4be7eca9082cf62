/* SPDX-License-Identifier: MIT */
/*
 * zbd's control socket against a real zbd: readiness, create / list / health /
 * destroy and the objects they make, configured buffers and SIGHUP, buffers
 * that are not zbd's, malformed input, watchers, idle clients, socket activation.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockfile.h"
#include "segment.h"
#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

START_TEST(ready_only_when_listening)
{
	int fd;

	tz_setup(&t, NULL);
	tz_spawn(&t, NULL);
	ck_assert(tz_wait_ready(&t, 5000));
	/* READY=1 promised a socket that accepts: connect at once, no retry. */
	fd = tz_connect(&t);
	ck_assert_int_eq(tz_request_fd(&t, fd, "version"), 0);
	ck_assert_str_eq(tz_get(t.reply, NULL, "version"), ZB_VERSION_STRING);
	close(fd);
	ck_assert_msg(strstr(t.status, "0 buffers"), "STATUS=%s", t.status);
	/* SIGTERM: a clean stop, the socket file gone. */
	ck_assert_int_eq(tz_kill(&t, SIGTERM), 0);
	ck_assert_int_ne(access(t.sock, F_OK), 0);
}
END_TEST

static void assert_object(const char *path, mode_t mode, gid_t gid)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg((st.st_mode & 07777) == mode, "%s: mode %04o", path,
		      (unsigned)(st.st_mode & 07777));
	ck_assert_uint_eq(st.st_gid, gid);
}

/* With no -s, $ZBD_SOCKET names the socket: the variable zbctl and the
 * library read too, so one setting points both sides at a private zbd. */
START_TEST(socket_from_environment)
{
	tz_setup(&t, NULL);
	t.sock_from_env = true;
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "version"), 0);
}
END_TEST

START_TEST(create_list_health_destroy)
{
	const char *name = tu_unique_name("crud");
	char path[256];

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=64K metadata=4K mode=0640 group=4242", name), 0);
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	assert_object(path, 0640, 4242);
	snprintf(path, sizeof(path), "/dev/shm/sem.sem-w-%s", name);
	assert_object(path, 0640, 4242);
	snprintf(path, sizeof(path), "/dev/shm/sem.sem-r-%s", name);
	assert_object(path, 0640, 4242);
	names_lock(path, sizeof(path), name);
	assert_object(path, 0640, 4242);
	ck_assert(tu_lock_is_held(name));

	ck_assert(tz_in_list(&t, name));
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	ck_assert_str_eq(tz_get(t.reply, NULL, "daemon"), "zbd");
	ck_assert_int_eq(tz_get_num(t.reply, NULL, "buffers"), 1);
	snprintf(path, sizeof(path), "buffer=%s", name);
	ck_assert_int_eq(tz_get_num(t.reply, path, "payload_size"), 65536);
	ck_assert_int_eq(tz_get_num(t.reply, path, "metadata_size"), 4096);
	ck_assert_int_eq(tz_get_num(t.reply, path, "used_bytes"), 0);
	ck_assert_str_eq(tz_get(t.reply, path, "state"), "healthy");
	ck_assert_int_eq(tz_get_num(t.reply, path, "reader_pid"), 0);

	/* A second create of the same name is refused; the first stays intact. */
	ck_assert_int_eq(tz_request(&t, "create %s", name), -EEXIST);
	ck_assert_msg(strstr(t.reply, "exists already"), "%s", t.reply);
	ck_assert_int_eq(tz_request(&t, "health nosuch%s", name), -ENOENT);

	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
	ck_assert(!tu_any_object_exists(name));
	ck_assert(!tz_in_list(&t, name));
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), -ENOENT);
}
END_TEST

START_TEST(usable_by_clients)
{
	const char *name = tu_unique_name("use");
	struct zb_writer *w;
	struct zb_reader *r;
	struct zb_frame f;
	char rec[256];

	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	for (uint64_t seq = 1; seq <= 100; seq++) {
		char buf[512];

		tu_frame_fill(buf, seq);
		ck_assert_int_eq(zb_writer_write(w, buf, tu_frame_size(seq), 1000), 0);
		ck_assert_int_eq(zb_reader_read(r, &f, 1000), 0);
		ck_assert(tu_frame_ok(f.data, f.size, seq));
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
	}
	/* Destroy refuses while peers are attached. */
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), -EBUSY);
	snprintf(rec, sizeof(rec), "has a live reader (pid %d)", (int)getpid());
	ck_assert_msg(strstr(t.reply, rec), "%s", t.reply);
	snprintf(rec, sizeof(rec), "buffer=%s", name);
	ck_assert_int_eq(tz_request(&t, "health %s", name), 0);
	ck_assert_int_eq(tz_get_num(t.reply, rec, "reader_pid"), getpid());
	ck_assert_int_eq(tz_get_num(t.reply, rec, "writer_alive"), 1);
	ck_assert_int_ge(tz_get_num(t.reply, rec, "frames_written"), 100);
	zb_writer_close(w);
	zb_reader_close(r);
	ck_assert_int_eq(tz_request(&t, "destroy %s", name), 0);
}
END_TEST

START_TEST(configured_buffers_and_reload)
{
	const char *a = tu_unique_name("cfga"), *b = tu_unique_name("cfgb");
	char conf[1024], path[256], frame[512];
	struct zb_writer *w;
	FILE *f;

	snprintf(conf, sizeof(conf),
		 "[zbd]\ndefault_mode = 0600\nscan_interval_ms = 20\n"
		 "[buffer %s]\npayload = 8K\nmode = 0640\n",
		 a);
	tz_setup(&t, conf);
	tz_start(&t);
	ck_assert_msg(strstr(t.status, "1 buffer"), "STATUS=%s", t.status);
	snprintf(path, sizeof(path), "/dev/shm/%s", a);
	assert_object(path, 0640, getgid());
	ck_assert(tz_in_list(&t, a));

	/* A stream in use on the first buffer. */
	ck_assert_int_eq(zb_writer_open(&w, a), 0);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		tu_frame_fill(frame, seq);
		ck_assert_int_eq(zb_writer_write(w, frame, tu_frame_size(seq), 1000), 0);
	}

	/* SIGHUP with a new buffer: created; the old one untouched. */
	f = fopen(t.conf, "a");
	fprintf(f, "[buffer %s]\n", b);
	fclose(f);
	kill(t.pid, SIGHUP);
	for (int i = 0; i < 200 && !tz_in_list(&t, b); i++)
		usleep(10000); /* polling the observable result, not a synchronisation guess */
	ck_assert(tz_in_list(&t, b));
	snprintf(path, sizeof(path), "/dev/shm/%s", b);
	assert_object(path, 0600, getgid());

	/* A broken file on SIGHUP: logged, the running configuration stays. */
	f = fopen(t.conf, "a");
	fprintf(f, "no_such_key = 1\n");
	fclose(f);
	kill(t.pid, SIGHUP);
	ck_assert_int_eq(tz_request(&t, "version"), 0);
	ck_assert(tz_in_list(&t, a));
	ck_assert(tz_in_list(&t, b));

	/* Through both reloads the stream was left alone. */
	snprintf(path, sizeof(path), "buffer=%s", a);
	ck_assert_int_eq(tz_request(&t, "health %s", a), 0);
	ck_assert_int_eq(tz_get_num(t.reply, path, "frames_written"), 3);
	ck_assert_int_eq(tz_get_num(t.reply, path, "writer_pid"), getpid());
	tu_frame_fill(frame, 4);
	ck_assert_int_eq(zb_writer_write(w, frame, tu_frame_size(4), 1000), 0);
	zb_writer_close(w);
}
END_TEST

START_TEST(broken_config_stops_start)
{
	tz_setup(&t, "[zbd]\nscan_interval_ms = banana\n");
	tz_spawn(&t, NULL);
	int status = tu_wait(t.pid, 5000);

	t.pid = 0;
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(refuses_what_is_not_ours)
{
	const char *name = tu_unique_name("foreign"), *locked = tu_unique_name("locked");
	struct zb_segment seg;
	int lock_fd;

	tz_setup(&t, NULL);
	tz_start(&t);
	/* Objects made by someone else (no lock held): not ours to adopt. */
	ck_assert_int_eq(segment_create(&seg, name, 0, 4096, 0600, (gid_t)-1, 0), 0);
	ck_assert_int_eq(tz_request(&t, "create %s", name), -EEXIST);
	ck_assert_msg(strstr(t.reply, "not zbd's to adopt"), "%s", t.reply);
	/* ... and left exactly as they were. */
	ck_assert_uint_eq(seg.oieb->oieb_size, 128);
	segment_detach(&seg);
	ck_assert_int_eq(access("/dev/shm/sem.sem-w-", F_OK) == 0, 0);

	/* A lock held by another owner (a standalone reader, say). */
	ck_assert_int_eq(lockfile_take(locked, 0600, &lock_fd), 0);
	ck_assert_int_eq(tz_request(&t, "create %s", locked), -EEXIST);
	ck_assert_msg(strstr(t.reply, "owned by another process"), "%s", t.reply);
	ck_assert(!tz_in_list(&t, locked));
	lockfile_release(locked, lock_fd);
}
END_TEST

/* One bad request on its own connection: an error reply (or a close). */
static void expect_error(const char *line, int expected)
{
	int fd = tz_connect(&t), status;

	status = tz_request_fd(&t, fd, line);
	ck_assert_msg(status == expected, "'%s': status %d, reply '%s'", line, status, t.reply);
	ck_assert_msg(strstr(t.reply, "error="), "'%s': no error text", line);
	close(fd);
}

static void assert_still_serving(int good)
{
	ck_assert_int_eq(tz_request_fd(&t, good, "version"), 0);
}

START_TEST(bad_input)
{
	const char *name = tu_unique_name("bad");
	char *big;
	int good, fd, status;
	static const char random_bytes[] = "\x8f\x01\xfe\xee zz\x7f\x1b[2J\xff\xc3\x28\n";

	tz_setup(&t, NULL);
	tz_start(&t);
	good = tz_connect(&t);
	assert_still_serving(good);

	expect_error("frobnicate", -EINVAL);
	expect_error("create", -EINVAL);
	expect_error("destroy", -EINVAL);
	expect_error("version please", -EINVAL);
	expect_error("list all", -EINVAL);
	expect_error("health a b", -EINVAL);
	expect_error("watch 5", -EINVAL);
	expect_error("watch soon", -EINVAL);
	expect_error("create x payload=0", -EINVAL);
	expect_error("create x payload=1E", -EINVAL);
	expect_error("create x payload=2048G", -EINVAL);
	expect_error("create x payload=-5", -EINVAL);
	expect_error("create x metadata=12Q", -EINVAL);
	expect_error("create x mode=999", -EINVAL);
	expect_error("create x mode=0660 mode=0600", -EINVAL);
	expect_error("create x colour=blue", -EINVAL);
	expect_error("create x stray", -EINVAL);
	expect_error("create x group=no-such-group-anywhere", -EINVAL);
	expect_error("create a/b", -EINVAL);
	expect_error("create ..", -EINVAL);
	expect_error("destroy a/b", -EINVAL);
	expect_error("destroy x now", -EINVAL);
	expect_error("a b c d e f g h i j k l m n o p q r s", -EINVAL);
	assert_still_serving(good);
	ck_assert(!tu_any_object_exists("x"));

	/* Random bytes. */
	fd = tz_connect(&t);
	ck_assert_int_eq(send(fd, random_bytes, sizeof(random_bytes) - 1, MSG_NOSIGNAL),
			 (ssize_t)sizeof(random_bytes) - 1);
	ck_assert_int_eq(tz_read_reply(fd, t.reply, sizeof(t.reply), 5000), -EINVAL);
	close(fd);
	assert_still_serving(good);

	/* A NUL byte: error, then the connection closes. */
	fd = tz_connect(&t);
	ck_assert_int_eq(send(fd, "version\0x\n", 10, MSG_NOSIGNAL), 10);
	ck_assert_int_eq(tz_read_reply(fd, t.reply, sizeof(t.reply), 5000), -EINVAL);
	ck_assert_int_eq(recv(fd, &status, 1, 0), 0);
	close(fd);
	assert_still_serving(good);

	/* 1 MiB with no newline: error, closed, and zbd did not buffer it all. */
	big = malloc(1 << 20);
	memset(big, 'A', 1 << 20);
	fd = tz_connect(&t);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* zbd stops reading at the cap, so most of this never leaves our buffer. */
	(void)send(fd, big, 1 << 20, MSG_NOSIGNAL);
	fcntl(fd, F_SETFL, 0);
	ck_assert_int_eq(tz_read_reply(fd, t.reply, sizeof(t.reply), 5000), -EMSGSIZE);
	free(big);
	close(fd);
	assert_still_serving(good);

	/* Pipelined requests on one connection are answered in order. */
	ck_assert_int_eq(send(good, "version\nlist\n", 13, MSG_NOSIGNAL), 13);
	ck_assert_int_eq(tz_read_reply(good, t.reply, sizeof(t.reply), 5000), 0);
	ck_assert_ptr_nonnull(tz_get(t.reply, NULL, "version"));
	ck_assert_int_eq(tz_read_reply(good, t.reply, sizeof(t.reply), 5000), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", name), 0);
	close(good);
}
END_TEST

START_TEST(watch_and_the_watcher_that_never_reads)
{
	int watcher, lazy, good;
	char rec[64];
	long long clients = -1;

	tz_setup(&t, NULL);
	tz_start(&t);
	/* Enough buffers that each report is big and the output cap fills fast. */
	for (int i = 0; i < 24; i++)
		ck_assert_int_eq(tz_request(&t, "create %s payload=4K", tu_unique_name("w")), 0);

	/* A watcher that reads gets a report per interval. */
	watcher = tz_connect(&t);
	ck_assert_int_eq(tz_request_fd(&t, watcher, "watch 20"), 0);
	ck_assert_int_eq(tz_get_num(t.reply, NULL, "buffers"), 24);
	ck_assert_int_eq(tz_read_reply(watcher, t.reply, sizeof(t.reply), 2000), 0);
	ck_assert_str_eq(tz_get(t.reply, NULL, "daemon"), "zbd");
	close(watcher);

	/* One that never reads is dropped once its output passes the cap; others
	 * are served all along. */
	lazy = tz_connect(&t);
	ck_assert_int_eq(send(lazy, "watch 10\n", 9, MSG_NOSIGNAL), 9);
	good = tz_connect(&t);
	snprintf(rec, sizeof(rec), "daemon=zbd");
	for (int i = 0; i < 3000; i++) {
		double t0 = tu_now_ms();

		ck_assert_int_eq(tz_request_fd(&t, good, "health"), 0);
		/* Generous for slow runs (valgrind); a stalled loop would take seconds. */
		ck_assert_msg(tu_now_ms() - t0 < 1500, "a request took %.0f ms", tu_now_ms() - t0);
		clients = tz_get_num(t.reply, rec, "clients");
		if (clients == 1)
			break;
		usleep(10000);
	}
	ck_assert_int_eq(clients, 1);
	/* What it had not read ends with the connection closed. */
	{
		char buf[65536];
		ssize_t n;

		while ((n = recv(lazy, buf, sizeof(buf), 0)) > 0)
			;
		ck_assert_int_le(n, 0);
	}
	close(lazy);
	close(good);
}
END_TEST

START_TEST(idle_clients_are_closed)
{
	char buf[16];
	int fd;
	double t0;

	tz_setup(&t, "[zbd]\nclient_idle_s = 1\n");
	tz_start(&t);
	fd = tz_connect(&t);
	ck_assert_int_eq(tz_request_fd(&t, fd, "version"), 0);
	t0 = tu_now_ms();
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	ck_assert_double_ge(tu_now_ms() - t0, 900);
	ck_assert_double_lt(tu_now_ms() - t0, 3000);
	close(fd);
}
END_TEST

START_TEST(socket_activation)
{
	char *prefix[] = {
		"/usr/bin/systemd-socket-activate", "-E", "NOTIFY_SOCKET", "-l", t.sock, NULL
	};
	int fd;

	if (access(prefix[0], X_OK) != 0) {
		fprintf(stderr, "socket_activation: no systemd-socket-activate, not tested\n");
		return;
	}
	tz_setup(&t, NULL);
	prefix[4] = t.sock;
	/* systemd-socket-activate listens itself and starts zbd on the first client. */
	tz_spawn(&t, prefix);
	for (int i = 0; i < 500 && access(t.sock, F_OK) != 0; i++)
		usleep(10000);
	fd = tz_connect(&t);
	ck_assert_int_eq(tz_request_fd(&t, fd, "version"), 0);
	close(fd);
	ck_assert(tz_wait_ready(&t, 5000));
}
END_TEST

TU_SUITE(zbd_ctl_suite, "zbd-ctl")
{
	TCase *tc = tu_tcase(s, "ctl", NULL, teardown);

	tcase_add_test(tc, ready_only_when_listening);
	tcase_add_test(tc, socket_from_environment);
	tcase_add_test(tc, create_list_health_destroy);
	tcase_add_test(tc, usable_by_clients);
	tcase_add_test(tc, configured_buffers_and_reload);
	tcase_add_test(tc, broken_config_stops_start);
	tcase_add_test(tc, refuses_what_is_not_ours);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, watch_and_the_watcher_that_never_reads);
	tcase_add_test(tc, idle_clients_are_closed);
	tcase_add_test(tc, socket_activation);
}
