/* SPDX-License-Identifier: MIT */
/*
 * What every Check suite shares: the runner, and helpers that fail the test
 * when what they set up cannot be had. The Check-free helpers (util.h) and
 * the frame pattern (pattern.h) come with it.
 *
 * The runner. A test program has no main() of its own: tests/common/main.c
 * is the one main of every Check program, and a suite registers itself with
 * TU_SUITE(id, "name", options...), which defines the function that fills
 * the suite in (it gets the Suite as `s`):
 *
 *	TU_SUITE(my_suite, "my-suite", .root = true)
 *	{
 *		TCase *tc = tu_tcase(s, "my-case", NULL, tu_cleanup_all);
 *
 *		tcase_add_test(tc, my_test);
 *	}
 *
 * main() then: hands the command line to the suites that take one (.args);
 * exits 77 (skipped, with the reason) if a suite needs root (.root) or says
 * it cannot run here (.skip); runs every registered suite, each test in a
 * child process unless CK_FORK=no (and always for .fork suites); removes
 * whatever the run left behind (tu_sweep()); exits 0 if every test passed,
 * 1 otherwise. Under valgrind, Check's per-test timeouts grow tenfold as
 * meson's do. Check's own variables work as usual: CK_RUN_SUITE,
 * CK_RUN_CASE, CK_VERBOSITY, CK_FORK, CK_TAP_LOG_FILE_NAME, CK_LOG_FILE_NAME.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>

#include "pattern.h"
#include "util.h"

/* ---------------------------------------------------------------- runner */

struct tu_suite {
	const char *name;	/* the suite's name (CK_RUN_SUITE) */
	void (*fill)(Suite *s); /* adds the test cases (called once, in the runner) */
	bool root;		/* plays other local users: skipped unless root */
	/* Why the suite cannot run on this machine (it is skipped), or NULL. */
	const char *(*skip)(void);
	/* Every test in a process of its own even with CK_FORK=no: for tests
	 * that change their process for good (a mount namespace of its own). */
	bool fork;
	/* Reads the command line (argv[0] included); returns 0, or the status
	 * to exit with at once (2 for a usage error). Without it, arguments are
	 * a usage error. */
	int (*args)(int argc, char **argv);
};

void tu_register(const struct tu_suite *s);
/* The runner; main.c's main() is nothing but a call of it. */
int tu_main(int argc, char **argv);

#define TU_SUITE(id, suite_name, ...)                                                              \
	static void id(Suite *s);                                                                  \
	static const struct tu_suite tu_suite_##id = { .name = suite_name,                         \
						       .fill = id,                                 \
						       __VA_ARGS__ };                              \
	static void __attribute__((constructor)) tu_register_##id(void)                            \
	{                                                                                          \
		tu_register(&tu_suite_##id);                                                       \
	}                                                                                          \
	static void id(Suite *s)

/* A test case of suite `s`, with setup and teardown around each test (NULL:
 * none) run in the test's own process (a checked fixture). */
TCase *tu_tcase(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void));

/* ------------------------------------------------------------- processes */

/* The user and group a test plays when it needs someone who is not root. */
#define TU_NOBODY 65534
#define TU_NOGROUP 65534

/* fork + exec argv; returns the child's pid (the test fails if it cannot). */
pid_t tu_spawn(char *const argv[]);

/* fork + exec `prog args...` (args NULL-terminated, at most 30) with stdin from
 * `in` and stdout/stderr to `out`/`err`, truncated first (NULL: /dev/null;
 * out and err may be the same file). Returns the child's pid. */
pid_t tu_spawn_io(const char *prog, char *const args[], const char *in, const char *out,
		  const char *err);

/*
 * Run `path` as a process that reports on a status pipe: its argv is path,
 * the number of the pipe's write end, with ret_ctl also the number of the
 * read end of a control pipe, then args (NULL-terminated, at most 28). Those
 * ends survive exec on purpose; ours do not. Returns the pid; *ret_status
 * gets our read end (for tu_read_byte()), *ret_ctl (if not NULL) our write end.
 */
pid_t tu_spawn_reporter(const char *path, const char *const args[], int *ret_status, int *ret_ctl);

/* fork a child that dies with the test process; it runs fn(arg) and _exits
 * with its result. */
pid_t tu_fork(int (*fn)(void *arg), void *arg);

/* A writer for tu_fork(): attaches to `name`, writes frames first..last of
 * the frame pattern, says ready (one byte on ready_fd) and waits to be
 * killed. Exits 10 if it cannot attach, 11 if a write fails. */
struct tu_hanging_writer {
	const char *name;
	int ready_fd;
	uint64_t first, last;
};
int tu_writer_then_hang(void *arg);

/* Run fn(arg) in a child as uid/gid with the given supplementary groups and
 * umask 0 (so what it creates has exactly the mode it asks for); returns the
 * child's exit code (the test fails if it does not exit within 20 s or cannot
 * become the user). *ret_pid, if not NULL, gets the child's pid. */
int tu_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, int (*fn)(void *arg),
	       void *arg, pid_t *ret_pid);

/* A reader of buffer `name` in a child that has taken one frame (it has
 * said so) and holds it until killed; returns its pid. */
pid_t tu_reader_holding_frame(const char *name);

/* SIGKILL `pid` after delay_ms from a helper process, whose pid is returned
 * (reap it); the time of the kill (tu_now_ms()) lands in *killed_at_ms, which
 * must be shared (tu_shared()). The victim is not reaped: to its peers it
 * stays a zombie until the test reaps it. */
pid_t tu_kill_later(pid_t pid, int delay_ms, volatile double *killed_at_ms);

/* A tu_wait() status as a shell would say it: the exit code, or 128 + the
 * signal. The test fails if tu_wait() timed out (-1: the child hung). */
int tu_exit_status(int status);

/* --------------------------------------------------------- private mounts */

/*
 * Give this process a mount namespace of its own with a fresh tmpfs on /tmp
 * and, unless `shm_options` is NULL, one on /dev/shm with those tmpfs options
 * ("size=2m"): the real ones are then never attacked, filled or swept, and
 * nothing there outlives the test's processes. Programs named by $ZBD,
 * $ZBCTL or $ZBPEER under the old /tmp stay reachable. False (errno set)
 * where mount namespaces are not available.
 */
bool tu_private_mounts(const char *shm_options);
/* For a suite's .skip: why private mounts cannot be had here (tried in a
 * child, so nothing changes in the caller), or NULL. */
const char *tu_no_private_mounts(void);

/* Whether we are in the initial pid namespace with every process visible:
 * only there does zbd (started by us) take a pid no process that maps the
 * buffer has for a dead peer (zbd/peerproc.c); in a container it says
 * `unknown` (doc/zbd.md, "Liveness"). */
bool tu_pidns_initial(void);

/* ------------------------------------------------------- objects and files */

/* True if anyone holds the flock on NAME.lock (this process through another
 * open file description counts: a reader the test itself created). */
bool tu_lock_is_held(const char *name);

/* lstat `path`; the test fails if it does not exist. */
struct stat tu_lstat(const char *path);

/* Assert owner, group and mode (permission bits) of the four objects of
 * `name`, each a plain file. */
void tu_assert_objects(const char *name, uid_t uid, gid_t gid, mode_t mode);
