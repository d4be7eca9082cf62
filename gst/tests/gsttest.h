/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the gst suite: names unique to the run and swept afterwards, a
 * private GStreamer registry holding only our plugin and the few base plugins
 * the tests use, child processes whose stdout the test reads line by line, a
 * real zbd on a private socket, and pipelines run in-process to their end.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gst/gst.h>

/* Call first in main(): marks every name, directory and registry of this run,
 * makes the private plugin directory and registry, and sets the environment
 * children inherit. */
void gt_init_runner(void);

/* Remove every segment, semaphore, lock file and directory this run made,
 * also by tests that failed half-way (for main(), after the runner). */
void gt_sweep(void);

/* A buffer name unique to this run and found by gt_sweep(). Static storage. */
const char *gt_name(const char *tag);

/* A private directory (for a zbd socket, say), removed by gt_sweep(). */
const char *gt_dir(void);

/* The path of the zbgst-peer helper ($ZBGST_PEER). */
const char *gt_peer(void);

/* A child process with its stdout on a pipe. */
struct gt_proc {
	pid_t pid;
	int fd;		   /* read end of its stdout, -1 after EOF */
	char buf[1 << 16]; /* bytes read and not yet returned as lines */
	size_t len;
};

/* fork + exec argv (NULL-terminated); stderr goes to ours (the test log).
 * The child dies with the test process. */
void gt_spawn(struct gt_proc *p, char *const argv[]);

/* The next line of the child's stdout, without its newline, in `line`.
 * 1: a line; 0: EOF; -1: nothing within timeout_ms. */
int gt_readline(struct gt_proc *p, char *line, size_t size, int timeout_ms);

/* Read lines until one starts with `prefix` (copied to `line` if not NULL).
 * false at EOF or after timeout_ms. */
bool gt_expect(struct gt_proc *p, const char *prefix, char *line, size_t size, int timeout_ms);

/* waitpid with a timeout: the raw status, or -1 (the child was then killed). */
int gt_wait(struct gt_proc *p, int timeout_ms);

/* SIGKILL the child and reap it at once (so nobody sees a zombie as alive). */
void gt_kill(struct gt_proc *p);

/* Close our end of the pipe; kill and reap the child if it still runs. */
void gt_proc_close(struct gt_proc *p);

/* A real zbd, ready (READY=1 on a notify socket we own) on a private socket. */
struct gt_zbd {
	char dir[192]; /* gt_dir() */
	char sock[192 + sizeof("/zbd.sock")];
	int notify_fd;
	pid_t pid;
};

void gt_zbd_start(struct gt_zbd *z);
/* SIGTERM zbd and check it exited 0. */
void gt_zbd_stop(struct gt_zbd *z);

/* Run `desc` in this process until EOS, an error or timeout_ms. Returns the
 * message type that ended it (GST_MESSAGE_EOS, GST_MESSAGE_ERROR) or
 * GST_MESSAGE_UNKNOWN on timeout; the error's text and debug text go to
 * *ret_error (g_free) when not NULL. The pipeline is stopped and freed. */
GstMessageType gt_run(const char *desc, int timeout_ms, char **ret_error);

/* As gt_run(), on a pipeline already built (taken over: unreffed). */
GstMessageType gt_run_pipeline(GstElement *pipeline, int timeout_ms, char **ret_error);
