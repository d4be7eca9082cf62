/* SPDX-License-Identifier: MIT */
/* Peer processes of the interop suites (see peer.h). */
#include <check.h>
#include <unistd.h>

#include "peer.h"
#include "testutil.h"

void up_spawn(struct up *u, const char *path, const char *const args[])
{
	ck_assert_msg(path != NULL, "no peer program (run through meson test)");
	u->pid = tu_spawn_reporter(path, args, &u->status_fd, &u->ctl_fd);
}

int up_byte(struct up *u, int timeout_ms)
{
	return tu_read_byte(u->status_fd, timeout_ms);
}

int up_exit(struct up *u, int timeout_ms)
{
	int code;

	if (u->ctl_fd >= 0)
		close(u->ctl_fd);
	u->ctl_fd = -1;
	code = tu_wait_exit(u->pid, timeout_ms);
	if (u->status_fd >= 0)
		close(u->status_fd);
	u->status_fd = -1;
	return code;
}

void up_start(struct up *u, const char *path, const char *const args[])
{
	int c;

	up_spawn(u, path, args);
	c = up_byte(u, 20000);
	if (c != 'R')
		ck_abort_msg("%s %s did not become ready (exit code %d)", path, args[0],
			     up_exit(u, 5000));
}

void up_done_line(struct up *u, int timeout_ms, char *line, size_t size)
{
	size_t n = 0;
	int b = up_byte(u, timeout_ms);

	ck_assert_msg(b == 'D', "the peer did not finish (got %d)", b);
	while (n + 1 < size && (b = up_byte(u, 5000)) >= 0 && b != '\n')
		line[n++] = (char)b;
	line[n] = '\0';
}
