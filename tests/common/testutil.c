/* SPDX-License-Identifier: MIT */
/* The runner and the helpers that fail a Check test (see testutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"

/* ---------------------------------------------------------------- runner */

static const struct tu_suite *suites[8];
static unsigned n_suites;

void tu_register(const struct tu_suite *s)
{
	if (n_suites == sizeof(suites) / sizeof(suites[0]))
		abort();
	suites[n_suites++] = s;
}

/* Why this program cannot run here, or NULL. */
static const char *skip_reason(void)
{
	for (unsigned i = 0; i < n_suites; i++) {
		const char *why = NULL;

		if (suites[i]->root && geteuid() != 0)
			why = "playing other local users needs root";
		else if (suites[i]->skip)
			why = suites[i]->skip();
		if (why)
			return why;
	}
	return NULL;
}

int tu_main(int argc, char **argv)
{
	bool takes_args = false, fork_all = false;
	const char *why;
	SRunner *sr;
	int failed;

	if (n_suites == 0) {
		fprintf(stderr, "%s: no suite registered (TU_SUITE in testutil.h)\n", argv[0]);
		return EXIT_FAILURE;
	}
	for (unsigned i = 0; i < n_suites; i++) {
		int r = suites[i]->args ? suites[i]->args(argc, argv) : 0;

		if (r)
			return r;
		takes_args |= suites[i]->args != NULL;
	}
	if (argc > 1 && !takes_args) {
		fprintf(stderr, "usage: %s (tests are chosen with CK_RUN_SUITE and CK_RUN_CASE)\n",
			argv[0]);
		return 2;
	}
	why = skip_reason();
	if (why) {
		printf("skipped: %s\n", why);
		return 77;
	}
	tu_run_begin();
	/* What a test printed before it crashed or hung still shows. */
	setvbuf(stdout, NULL, _IONBF, 0);
	/* Everything is some 10-50 times slower under valgrind: meson's timeouts
	 * grow tenfold in that setup, Check's must too (read when cases are made). */
	if (tu_under_valgrind())
		setenv("CK_TIMEOUT_MULTIPLIER", "10", 0);
	sr = srunner_create(NULL);
	for (unsigned i = 0; i < n_suites; i++) {
		Suite *s = suite_create(suites[i]->name);

		suites[i]->fill(s);
		srunner_add_suite(sr, s);
		fork_all |= suites[i]->fork;
	}
	if (fork_all)
		srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	tu_sweep();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

TCase *tu_tcase(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

/* ------------------------------------------------------------- processes */

pid_t tu_spawn(char *const argv[])
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t tu_spawn_io(const char *prog, char *const args[], const char *in, const char *out,
		  const char *err)
{
	char *argv[32] = { (char *)prog };
	pid_t pid;

	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(i + 1, 31);
		argv[i + 1] = args[i];
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *paths[3] = { in, out, err };

		for (int fd = 0; fd < 3; fd++) {
			/* Append after truncating: out and err may name one file. */
			int f = open(paths[fd] ? paths[fd] : "/dev/null",
				     fd == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
				     0600);

			if (f < 0 || dup2(f, fd) < 0)
				_exit(126);
			close(f);
		}
		execv(prog, argv);
		_exit(127);
	}
	return pid;
}

pid_t tu_spawn_reporter(const char *path, const char *const args[], int *ret_status, int *ret_ctl)
{
	char *argv[32], sfd[16], cfd[16];
	int st[2], ctl[2] = { -1, -1 }, n = 0;
	pid_t pid;

	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(pipe(st), 0);
	ck_assert_int_eq(fcntl(st[0], F_SETFD, FD_CLOEXEC), 0);
	snprintf(sfd, sizeof(sfd), "%d", st[1]);
	argv[n++] = (char *)path;
	argv[n++] = sfd;
	if (ret_ctl) {
		ck_assert_int_eq(pipe(ctl), 0);
		ck_assert_int_eq(fcntl(ctl[1], F_SETFD, FD_CLOEXEC), 0);
		snprintf(cfd, sizeof(cfd), "%d", ctl[0]);
		argv[n++] = cfd;
	}
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(n, 30);
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	pid = tu_spawn(argv);
	close(st[1]);
	*ret_status = st[0];
	if (ret_ctl) {
		close(ctl[0]);
		*ret_ctl = ctl[1];
	}
	return pid;
}

pid_t tu_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg));
	}
	return pid;
}

/* The child of tu_reader_holding_frame(). */
static const char *holding_name;
static int holding_fd;

static int hold_a_frame(void *arg)
{
	struct zb_reader *r;
	struct zb_frame f;

	if (zb_reader_open(&r, holding_name) < 0 || zb_reader_read(r, &f, 5000) < 0)
		return 1;
	tu_say(holding_fd, 'r');
	pause();
	return 0;
}

pid_t tu_reader_holding_frame(const char *name)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	holding_name = name;
	holding_fd = p[1];
	pid = tu_fork(hold_a_frame, NULL);
	close(p[1]);
	ck_assert_msg(tu_read_byte(p[0], 5000) == 'r', "the reader took no frame of %s", name);
	close(p[0]);
	return pid;
}

pid_t tu_kill_later(pid_t pid, int delay_ms, volatile double *killed_at_ms)
{
	pid_t k = fork();

	ck_assert_int_ge(k, 0);
	if (k == 0) {
		/* Only to let the victim's peer go to sleep first: the outcome does not
		 * depend on it (a peer that is not asleep yet learns the same). */
		tu_sleep_us((unsigned)delay_ms * 1000);
		*killed_at_ms = tu_now_ms();
		kill(pid, SIGKILL);
		_exit(0);
	}
	return k;
}

struct as_user {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	int (*fn)(void *arg);
	void *arg;
};

static int as_user_main(void *arg)
{
	const struct as_user *a = arg;

	/* Groups before uid: an unprivileged process may not set them. */
	if (setgroups(a->n_groups, a->groups) < 0 || setgid(a->gid) < 0 || setuid(a->uid) < 0)
		return 100;
	umask(0);
	return a->fn(a->arg);
}

int tu_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, int (*fn)(void *arg),
	       void *arg, pid_t *ret_pid)
{
	struct as_user a = { uid, gid, groups, n_groups, fn, arg };
	pid_t pid = tu_fork(as_user_main, &a);
	int status;

	if (ret_pid)
		*ret_pid = pid;
	status = tu_wait(pid, 20000);
	ck_assert_msg(status != -1 && WIFEXITED(status), "user %u's child did not exit: %#x",
		      (unsigned)uid, status);
	ck_assert_msg(WEXITSTATUS(status) != 100, "cannot become uid %u", (unsigned)uid);
	return WEXITSTATUS(status);
}

int tu_exit_status(int status)
{
	ck_assert_msg(status != -1, "the child did not exit in time");
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* --------------------------------------------------------- private mounts */

/* $var names a program under the old /tmp: reach it through a descriptor of
 * that directory (inherited, so valid at exec). */
static void keep_reaching(const char *var, int old_tmp)
{
	static char paths[3][PATH_MAX];
	static int used;
	const char *path = getenv(var);

	if (!path || strncmp(path, "/tmp/", 5) != 0 || used == 3)
		return;
	snprintf(paths[used], sizeof(paths[used]), "/proc/self/fd/%d/%s", old_tmp, path + 5);
	setenv(var, paths[used++], 1);
}

bool tu_private_mounts(const char *shm_options)
{
	int old_tmp;

	/* Private propagation first, or the mounts would show up in the host's. */
	if (unshare(CLONE_NEWNS) < 0)
		return false;
	/* The kernel ignores source and type here; valgrind wants strings. */
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return false;
	old_tmp = open("/tmp", O_PATH | O_DIRECTORY);
	if (old_tmp < 0)
		return false;
	if (mount("zbtest", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return false;
	keep_reaching("ZBD", old_tmp);
	keep_reaching("ZBCTL", old_tmp);
	keep_reaching("ZBPEER", old_tmp);
	if (shm_options) {
		char opts[128];

		snprintf(opts, sizeof(opts), "mode=1777,%s", shm_options);
		if (mount("zbtest", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
			return false;
	}
	return true;
}

const char *tu_no_private_mounts(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(tu_private_mounts("size=1m") ? 0 : 1);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)
		return NULL;
	return "no private mount namespace for /tmp and /dev/shm (unshare or mount refused)";
}

int tu_writer_then_hang(void *arg)
{
	const struct tu_hanging_writer *a = arg;
	struct zb_writer *w;
	char buf[TU_FRAME_MAX];

	if (zb_writer_open(&w, a->name) < 0)
		return 10;
	for (uint64_t seq = a->first; seq <= a->last; seq++) {
		tu_frame_fill(buf, seq);
		if (zb_writer_write(w, buf, tu_frame_size(seq), 5000) < 0)
			return 11;
	}
	tu_say(a->ready_fd, 1);
	pause();
	return 12;
}

bool tu_pidns_initial(void)
{
	struct stat st;

	/* 0xEFFFFFFC: the kernel's fixed inode of the initial pid namespace. */
	return stat("/proc/self/ns/pid", &st) == 0 && (uint32_t)st.st_ino == 0xEFFFFFFCu &&
	       access("/proc/1/status", R_OK) == 0;
}

/* ------------------------------------------------------- objects and files */

bool tu_lock_is_held(const char *name)
{
	const char *path = tu_lock_path(name);
	int fd, r;

	ck_assert_str_ne(path, "");
	/* flock belongs to the open file description: a fresh one conflicts with
	 * every holder, this process included, and no child is needed (under
	 * valgrind a forked child reports our heap as its own leaks and exits 99). */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	r = flock(fd, LOCK_EX | LOCK_NB);
	ck_assert_msg(r == 0 || errno == EWOULDBLOCK, "flock %s: %s", path, strerror(errno));
	close(fd); /* lets go of the lock if we took it */
	return r < 0;
}

struct stat tu_lstat(const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st;
}

void tu_assert_objects(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	const char *paths[] = { tu_shm_path(name), tu_sem_path(name, 'w'), tu_sem_path(name, 'r'),
				tu_lock_path(name) };

	for (size_t i = 0; i < 4; i++) {
		struct stat st = tu_lstat(paths[i]);

		ck_assert_msg(S_ISREG(st.st_mode), "%s is not a plain file", paths[i]);
		ck_assert_msg(st.st_uid == uid && st.st_gid == gid, "%s: owner %u:%u, want %u:%u",
			      paths[i], (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)uid,
			      (unsigned)gid);
		ck_assert_msg((st.st_mode & 07777) == mode, "%s: mode %04o, want %04o", paths[i],
			      (unsigned)(st.st_mode & 07777), (unsigned)mode);
	}
}
