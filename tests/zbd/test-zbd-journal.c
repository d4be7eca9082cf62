/* SPDX-License-Identifier: MIT */
/*
 * Health events as structured journal entries (zbd/events.c): with zbd's
 * stderr being the journal's stream ($JOURNAL_STREAM names it, as under
 * zbd.service), a state change and a reaped reader arrive at the journal's
 * socket as entries with ZB_EVENT=, ZB_BUFFER=, ZB_STATE=, ZB_PID= fields,
 * and are not repeated as plain lines. The journal is played by a datagram
 * socket at /run/systemd/journal/socket in a private mount namespace (root).
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

static struct tz t;
static int journal_fd = -1;

static void teardown(void)
{
	tz_teardown(&t);
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = -1;
}

/* Tried in a child: the runner itself stays in the host's namespace. */
static const char *no_namespaces(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) == 0 &&
				      mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0 &&
				      mount("zbdjournal", "/run", "tmpfs", 0, NULL) == 0
			      ? 0
			      : 1);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)
		return NULL;
	return "no private mount namespace for /run (unshare or mount refused)";
}

/* A private /run with our socket where sd_journal_send() sends. */
static void journal_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX,
				  .sun_path = "/run/systemd/journal/socket" };

	/* Each test runs in a process of its own (.fork): the namespace is its own. */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("zbdjournal", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"),
			 0);
	ck_assert_int_eq(mkdir("/run/systemd", 0755), 0);
	ck_assert_int_eq(mkdir("/run/systemd/journal", 0755), 0);
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(journal_fd, 0);
	ck_assert_int_eq(bind(journal_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

/* zbd's stderr (t.dir/zbd.log) is the journal's stream. */
static void stderr_is_journal(void)
{
	char log[160], env[64];
	struct stat st;

	snprintf(log, sizeof(log), "%s/zbd.log", t.dir);
	ck_assert_int_eq(tu_write_file(log, "", 0), 0);
	ck_assert_int_eq(stat(log, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
}

/* The next entry carrying every one of the NULL-terminated "FIELD=value" lines. */
static bool entry_with(int timeout_ms, ...) __attribute__((sentinel));
static bool entry_with(int timeout_ms, ...)
{
	double end = tu_now_ms() + timeout_ms;
	char msg[8192];

	for (;;) {
		struct pollfd pfd = { .fd = journal_fd, .events = POLLIN };
		int left = (int)(end - tu_now_ms());
		bool all = true;
		const char *want;
		va_list ap;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		n = recv(journal_fd, msg + 1, sizeof(msg) - 2, 0);
		if (n <= 0)
			return false;
		msg[0] = '\n';
		msg[n + 1] = '\0';
		va_start(ap, timeout_ms);
		while ((want = va_arg(ap, const char *))) {
			char line[512];

			snprintf(line, sizeof(line), "\n%s\n", want);
			all = all && strstr(msg, line);
		}
		va_end(ap);
		if (all)
			return true;
	}
}

START_TEST(events_are_journal_entries)
{
	const char *a = tu_unique_name("journal"), *b = tu_unique_name("journal-reap");
	char buffer[300], pid[64];
	static char frame[1000];
	struct zb_writer *w;
	pid_t reader;

	journal_socket();
	tz_setup(&t, NULL);
	stderr_is_journal();
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	snprintf(buffer, sizeof(buffer), "ZB_BUFFER=%s", a);

	ck_assert_int_eq(zb_writer_open(&w, a), 0);
	for (int i = 0; i < 52; i++) /* 80.6 % of the ring */
		ck_assert_int_eq(zb_writer_write(w, frame, sizeof(frame), 1000), 0);
	ck_assert_msg(entry_with(5000, "ZB_EVENT=state", buffer, "ZB_STATE=degraded",
				 "ZB_PREVIOUS_STATE=healthy", "PRIORITY=5", NULL),
		      "no journal entry for the state change");

	/* On a short backlog, where the reader publishes each frame it takes at
	 * once (with a long one it batches, and a frame it took unpublished is
	 * read again by the next reader: not lost). */
	zb_writer_close(w);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", b), 0);
	snprintf(buffer, sizeof(buffer), "ZB_BUFFER=%s", b);
	ck_assert_int_eq(zb_writer_open(&w, b), 0);
	ck_assert_int_eq(zb_writer_write(w, frame, sizeof(frame), 1000), 0);
	reader = tu_reader_holding_frame(b);
	snprintf(pid, sizeof(pid), "ZB_PID=%d", (int)reader);
	kill(reader, SIGKILL);
	tu_wait(reader, 5000);
	ck_assert_msg(
		entry_with(5000, "ZB_EVENT=reader-reaped", buffer, pid, "ZB_FRAMES_LOST=1", NULL),
		"no journal entry for the reaped reader");
	/* Said once, in the journal: not again as a line on stderr. */
	tz_log_has(&t, false, "died holding", NULL);
	tz_log_has(&t, false, "state healthy -> degraded", NULL);
	zb_writer_close(w);
}
END_TEST

TU_SUITE(zbd_journal_suite, "zbd-journal", .root = true, .skip = no_namespaces, .fork = true)
{
	TCase *tc = tu_tcase(s, "journal", NULL, teardown);

	tcase_add_test(tc, events_are_journal_entries);
}
