/* SPDX-License-Identifier: MIT */
/*
 * A peer process of the interop suites: the model (upstream.c) or a real
 * upstream peer (upstream-cpp.cpp, upstream-py.py), all run alike. argv is
 * the program, the number of a status pipe's write end, of a control pipe's
 * read end, then the peer's own arguments. The peer reports 'R' once attached,
 * then 'D' and one line of counts once its frames went through; a reader
 * stays until the control pipe closes.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct up {
	pid_t pid;
	int status_fd; /* read end: 'R', then 'D' and a counts line */
	int ctl_fd;    /* write end: closing it lets a reader close */
};

/* Start `path` with args (NULL-terminated); no wait. */
void up_spawn(struct up *u, const char *path, const char *const args[]);
/* up_spawn, then wait for 'R' (the test fails if it does not come). */
void up_start(struct up *u, const char *path, const char *const args[]);
/* The next status byte within timeout_ms; -1 at EOF or on timeout. */
int up_byte(struct up *u, int timeout_ms);
/* Wait for 'D' and read the line after it into `line` (the test fails without). */
void up_done_line(struct up *u, int timeout_ms, char *line, size_t size);
/* Close the control pipe and reap: the exit code, or -1 if killed or late. */
int up_exit(struct up *u, int timeout_ms);
