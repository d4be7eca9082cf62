/* SPDX-License-Identifier: MIT */
/* Segment access, peers and cleanup for the libzbclient suites (see libtest.h). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libtest.h"
#include "segment.h"
#include "testutil.h"

uint8_t *seg_map(const char *name, size_t *ret_size)
{
	char shm[ZB_OBJ_NAME_MAX];
	struct stat st;
	uint8_t *base;
	int fd;

	names_shm(shm, name);
	fd = shm_open(shm, O_RDWR, 0);
	ck_assert_msg(fd >= 0, "shm_open %s: %s", shm, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_msg(base != MAP_FAILED, "mmap %s: %s", shm, strerror(errno));
	close(fd);
	*ret_size = st.st_size;
	return base;
}

void seg_unmap(uint8_t *base, size_t size)
{
	munmap(base, size);
}

uint8_t *seg_snapshot(const char *name, size_t *ret_size)
{
	size_t size;
	uint8_t *base = seg_map(name, &size), *copy = malloc(size);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, base, size);
	seg_unmap(base, size);
	/* Process ids differ from run to run; the vectors carry them as 0 too. */
	memset(copy + offsetof(struct zb_oieb, writer_pid), 0, 16);
	*ret_size = size;
	return copy;
}

void seg_install(const char *name, const void *data, size_t len, size_t size, unsigned sem_w_count)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem;
	int fd;

	names_sem_w(obj, name);
	sem = sem_open(obj, O_CREAT | O_EXCL, 0600, sem_w_count);
	ck_assert_msg(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	sem_close(sem);
	names_sem_r(obj, name);
	sem = sem_open(obj, O_CREAT | O_EXCL, 0600, 0);
	ck_assert_msg(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	sem_close(sem);
	names_shm(obj, name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_msg(fd >= 0, "shm_open %s: %s", obj, strerror(errno));
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (len)
		ck_assert_int_eq(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
}

void seg_create_unowned(const char *name, uint64_t metadata_size, uint64_t payload_size)
{
	struct zb_segment s;

	ck_assert_int_eq(segment_create(&s, name, metadata_size, payload_size, 0600, (gid_t)-1, 0),
			 0);
	segment_detach(&s);
}

static const char *oieb_field(size_t off)
{
	static const char *const fields[] = {
		"oieb_size/version",	  "metadata_size",    "metadata_free_bytes",
		"metadata_written_bytes", "payload_size",     "payload_free_bytes",
		"payload_write_pos",	  "payload_read_pos", "payload_written_count",
		"payload_read_count",	  "writer_pid",	      "reader_pid",
	};

	return off / 8 < sizeof(fields) / sizeof(fields[0]) ? fields[off / 8] : "reserved";
}

void seg_assert_equal(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		      uint64_t metadata_size)
{
	size_t i;

	ck_assert_uint_eq(got_len, want_len);
	for (i = 0; i < want_len && got[i] == want[i]; i++)
		;
	if (i == want_len)
		return;
	if (i < ZB_OIEB_SIZE)
		ck_abort_msg("segment differs at 0x%zx (OIEB %s): got 0x%02x, want 0x%02x", i,
			     oieb_field(i), got[i], want[i]);
	if (i < ZB_OIEB_SIZE + metadata_size)
		ck_abort_msg("segment differs at 0x%zx (metadata +%zu): got 0x%02x, want 0x%02x", i,
			     i - ZB_OIEB_SIZE, got[i], want[i]);
	ck_abort_msg("segment differs at 0x%zx (ring +%zu): got 0x%02x, want 0x%02x", i,
		     (size_t)(i - ZB_OIEB_SIZE - metadata_size), got[i], want[i]);
}

static sem_t *sem_of(const char *name, char which)
{
	char obj[ZB_OBJ_NAME_MAX];
	sem_t *sem;

	if (which == 'w')
		names_sem_w(obj, name);
	else
		names_sem_r(obj, name);
	sem = sem_open(obj, 0);
	ck_assert_msg(sem != SEM_FAILED, "sem_open %s: %s", obj, strerror(errno));
	return sem;
}

int sem_value(const char *name, char which)
{
	sem_t *sem = sem_of(name, which);
	int value;

	ck_assert_int_eq(sem_getvalue(sem, &value), 0);
	sem_close(sem);
	return value;
}

void sem_post_n(const char *name, char which, unsigned n)
{
	sem_t *sem = sem_of(name, which);

	while (n--)
		ck_assert_int_eq(sem_post(sem), 0);
	sem_close(sem);
}

static void peer_spawn(struct peer *p, const char *const args[])
{
	const char *path = getenv("ZBPEER");
	char *argv[32], fdarg[16];
	int fds[2], n = 0;

	ck_assert_msg(path != NULL, "ZBPEER is not set (run through meson test)");
	/* The write end survives exec on purpose: it is the peer's status channel. */
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fcntl(fds[0], F_SETFD, FD_CLOEXEC), 0);
	snprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
	argv[n++] = (char *)path;
	argv[n++] = fdarg;
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(n, 30);
		argv[n++] = (char *)args[i];
	}
	argv[n] = NULL;
	p->pid = tu_spawn(argv);
	close(fds[1]);
	p->fd = fds[0];
}

void peer_start(struct peer *p, const char *const args[])
{
	int st;

	peer_spawn(p, args);
	st = peer_status(p, 20000);
	if (st == 'R')
		return;
	st = tu_wait(p->pid, 5000);
	ck_abort_msg("zbpeer %s did not become ready (exit status 0x%x)", args[0], st);
}

int peer_run(const char *const args[], int timeout_ms)
{
	struct peer p;
	int st;

	peer_spawn(&p, args);
	st = tu_wait(p.pid, timeout_ms);
	close(p.fd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int peer_status(struct peer *p, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	unsigned char c;
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || read(p->fd, &c, 1) != 1)
		return -1;
	return c;
}

void peer_expect_success(struct peer *p, int timeout_ms)
{
	int st = tu_wait(p->pid, timeout_ms);

	close(p->fd);
	p->fd = -1;
	ck_assert_msg(st != -1, "zbpeer %d did not finish within %d ms", (int)p->pid, timeout_ms);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "zbpeer failed (status 0x%x)", st);
}

void peer_kill(struct peer *p)
{
	kill(p->pid, SIGKILL);
	tu_wait(p->pid, 5000);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static struct {
	pthread_t thread;
	pid_t pid;
	int delay_ms;
} killer;

static void *killer_main(void *arg)
{
	struct timespec ts = { killer.delay_ms / 1000, (killer.delay_ms % 1000) * 1000000L };
	int st;

	nanosleep(&ts, NULL);
	kill(killer.pid, SIGKILL);
	waitpid(killer.pid, &st, 0);
	return arg;
}

void killer_start(pid_t pid, int delay_ms)
{
	killer.pid = pid;
	killer.delay_ms = delay_ms;
	ck_assert_int_eq(pthread_create(&killer.thread, NULL, killer_main, NULL), 0);
}

void killer_join(void)
{
	pthread_join(killer.thread, NULL);
}

/* Test children write their pids here; the runner reads them at the end. */
static int pid_pipe[2] = { -1, -1 };

static void cleanup_at_exit(void)
{
	tu_cleanup_all();
}

void lt_setup(void)
{
	pid_t self = getpid();

	if (pid_pipe[1] >= 0 && write(pid_pipe[1], &self, sizeof(self)) != sizeof(self))
		fprintf(stderr, "libtest: cannot record pid %d for cleanup\n", (int)self);
	/* A test that ends by exit() (a passing one, or CK_FORK=no) cleans up here. */
	atexit(cleanup_at_exit);
}

void lt_teardown(void)
{
	tu_cleanup_all();
}

/* Unlink every entry of `dir` that starts with one of `prefixes`. */
static void sweep_dir(const char *dir, const char *const prefixes[], int n)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		for (int i = 0; i < n; i++) {
			if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])) == 0) {
				unlinkat(dirfd(d), de->d_name, 0);
				break;
			}
		}
	}
	closedir(d);
}

static void sweep_pid(pid_t pid)
{
	char p[3][48];
	const char *const prefixes[] = { p[0], p[1], p[2] };

	snprintf(p[0], sizeof(p[0]), "t%d-", (int)pid);
	snprintf(p[1], sizeof(p[1]), "sem.sem-w-t%d-", (int)pid);
	snprintf(p[2], sizeof(p[2]), "sem.sem-r-t%d-", (int)pid);
	sweep_dir("/dev/shm", prefixes, 3);
	sweep_dir(ZB_LOCK_DIR, prefixes, 1);
}

int lt_run(struct Suite *s)
{
	SRunner *sr = srunner_create(s);
	pid_t pid;
	int failed;

	/* Non-blocking both ways: a full pipe drops pids rather than hang a test. */
	if (pipe2(pid_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		pid_pipe[0] = pid_pipe[1] = -1;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (pid_pipe[0] >= 0) {
		close(pid_pipe[1]);
		while (read(pid_pipe[0], &pid, sizeof(pid)) == sizeof(pid))
			sweep_pid(pid);
		close(pid_pipe[0]);
	}
	sweep_pid(getpid());
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
