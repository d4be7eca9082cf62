/* SPDX-License-Identifier: MIT */
/*
 * Standalone mode (doc/protocol.md sections 12, 13): a reader that creates the buffer
 * itself makes every object with the mode asked for, holds the lock file for
 * the buffer's life, removes everything on close, and cleans up buffers whose
 * lock nobody holds and whose processes are gone.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <semaphore.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libtest.h"
#include "segment.h"
#include "testutil.h"
#include "zbclient.h"

static void path_of(char *out, size_t size, const char *fmt, const char *name)
{
	snprintf(out, size, fmt, name);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static void check_objects(const char *name, mode_t mode, off_t size)
{
	char path[512];
	struct stat st;

	path_of(path, sizeof(path), "/dev/shm/%s", name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, size);
	ck_assert_uint_eq(st.st_mode & 07777, mode);
	path_of(path, sizeof(path), "/dev/shm/sem.sem-w-%s", name);
	ck_assert_uint_eq(mode_of(path), mode);
	path_of(path, sizeof(path), "/dev/shm/sem.sem-r-%s", name);
	ck_assert_uint_eq(mode_of(path), mode);
	names_lock(path, sizeof(path), name);
	ck_assert_uint_eq(mode_of(path), mode);
	ck_assert(tu_lock_is_held(name));
}

START_TEST(create_and_close)
{
	const char *name = tu_unique_name("sa");
	struct zb_buffer_config cfg = { 1000, 10000, 0640 };
	struct zb_reader *r;
	struct zb_oieb *o;
	uint8_t *seg;
	size_t len;

	/* Modes are set explicitly: a narrow umask must not narrow them. */
	umask(077);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	check_objects(name, 0640, 128 + 1024 + 10048);
	seg = seg_map(name, &len);
	o = (struct zb_oieb *)seg;
	ck_assert_uint_eq(o->oieb_size, 128);
	ck_assert_uint_eq(o->reader_pid, (uint64_t)getpid());
	ck_assert_uint_eq(o->writer_pid, 0);
	seg_unmap(seg, len);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(default_mode_and_sizes)
{
	const char *name = tu_unique_name("sadef");
	struct zb_buffer_config bad = { 0, 0, 010000 };
	struct zb_reader *r;

	umask(0);
	ck_assert_int_eq(zb_reader_create(&r, name, &bad), -EINVAL);
	ck_assert(!tu_any_object_exists(name));
	ck_assert_int_eq(zb_reader_create(&r, name, NULL), 0);
	check_objects(name, 0600, 128 + 1024 + 1048576);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

START_TEST(wide_mode_despite_umask)
{
	const char *name = tu_unique_name("sawide");
	struct zb_buffer_config cfg = { 64, 4096, 0666 };
	struct zb_reader *r;

	umask(022);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	check_objects(name, 0666, 128 + 64 + 4096);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

/* Attaching (not creating) leaves the buffer in place and only clears our pid. */
START_TEST(close_clears_pids_only)
{
	const char *name = tu_unique_name("sazbd");
	struct zb_reader *r;
	struct zb_writer *w;
	struct zb_oieb *o;
	uint8_t *seg;
	size_t len;

	struct zb_frame f1, f2;

	seg_create_unowned(name, 64, 4096);
	seg = seg_map(name, &len);
	o = (struct zb_oieb *)seg;
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	ck_assert_uint_eq(o->reader_pid, (uint64_t)getpid());
	ck_assert_uint_eq(o->writer_pid, (uint64_t)getpid());
	ck_assert_int_eq(zb_writer_write(w, "one", 3, 0), 0);
	ck_assert_int_eq(zb_writer_write(w, "two", 3, 0), 0);
	zb_writer_close(w);
	ck_assert_uint_eq(o->writer_pid, 0);
	ck_assert_uint_eq(o->reader_pid, (uint64_t)getpid());
	ck_assert_int_eq(zb_reader_read(r, &f1, 0), 0);
	ck_assert_int_eq(zb_reader_read(r, &f2, 0), 0);
	ck_assert_uint_eq(o->payload_free_bytes, 4096 - 38);
	/* Frames still held when the reader closes go back with it. */
	zb_reader_close(r);
	ck_assert_uint_eq(o->reader_pid, 0);
	ck_assert_uint_eq(o->payload_free_bytes, 4096);
	seg_unmap(seg, len);
	ck_assert(tu_any_object_exists(name));
}
END_TEST

static uint8_t *unready_seg;

static void *finish_creation(void *arg)
{
	nanosleep(&(struct timespec){ .tv_nsec = 30 * 1000 * 1000 }, NULL);
	__atomic_store_n((uint32_t *)unready_seg, 128, __ATOMIC_RELEASE);
	return arg;
}

/* A creator between shm_open and storing oieb_size (doc/protocol.md section 12):
 * an attaching writer waits for it a little instead of failing. */
START_TEST(attach_waits_for_creator)
{
	const char *name = tu_unique_name("unready");
	struct zb_writer *w;
	struct zb_reader *r;
	pthread_t t;
	size_t len;

	seg_create_unowned(name, 64, 4096);
	unready_seg = seg_map(name, &len);
	((struct zb_oieb *)unready_seg)->oieb_size = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, finish_creation, NULL), 0);
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(zb_writer_write(w, "x", 1, 0), 0);
	ck_assert_int_eq(zb_reader_open(&r, name), 0);
	ck_assert_int_eq(zb_reader_read(r, &(struct zb_frame){ 0 }, 0), 0);
	zb_reader_close(r);
	zb_writer_close(w);
	seg_unmap(unready_seg, len);
}
END_TEST

/*
 * An observer that attaches the moment anything appears, as an early upstream
 * writer would: from the first instant the segment exists, both semaphores
 * exist; once oieb_size reads 128, the sizes are filled in. Exit 0 if every
 * look agreed, 1 if not, 2 if the segment never appeared.
 */
static void __attribute__((noreturn)) observe_creation(const char *name, int ready_fd)
{
	char shm[ZB_OBJ_NAME_MAX], sw[ZB_OBJ_NAME_MAX], sr[ZB_OBJ_NAME_MAX];
	int64_t end = tu_now_ms() + 5000;

	names_shm(shm, name);
	names_sem_w(sw, name);
	names_sem_r(sr, name);
	if (write(ready_fd, "R", 1) != 1)
		_exit(3);
	while (tu_now_ms() < end) {
		struct zb_oieb *o;
		sem_t *a, *b;
		int fd = shm_open(shm, O_RDONLY, 0);

		if (fd < 0)
			continue;
		a = sem_open(sw, 0);
		b = sem_open(sr, 0);
		if (a == SEM_FAILED || b == SEM_FAILED)
			_exit(1); /* segment before semaphores */
		o = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		while (o != MAP_FAILED && tu_now_ms() < end) {
			struct stat st;

			/* Touch the page only once ftruncate has made it exist. */
			if (fstat(fd, &st) < 0 || st.st_size < 4096)
				continue;
			if (__atomic_load_n(&o->oieb_size, __ATOMIC_ACQUIRE) == 128)
				_exit(o->payload_size == 4096 && o->metadata_size == 64 &&
						      o->payload_free_bytes == 4096 &&
						      o->version[0] == 1
					      ? 0
					      : 1);
		}
		_exit(1);
	}
	_exit(2);
}

START_TEST(creation_order)
{
	for (int i = 0; i < 20; i++) {
		const char *name = tu_unique_name("order");
		struct zb_buffer_config cfg = { 64, 4096, 0 };
		struct zb_reader *r;
		int fds[2], st;
		char c;
		pid_t pid;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			observe_creation(name, fds[1]);
		ck_assert_int_eq(read(fds[0], &c, 1), 1);
		close(fds[0]);
		close(fds[1]);
		ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		zb_reader_close(r);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "round %d: an early attacher saw a half-made buffer (status 0x%x)", i,
			      st);
	}
}
END_TEST

static void make_stale_lock(const char *name)
{
	char path[256];
	int fd;

	if (mkdir(ZB_LOCK_DIR, 01777) == 0)
		chmod(ZB_LOCK_DIR, 01777);
	names_lock(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd); /* nobody holds it */
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return pid;
}

START_TEST(stale_buffers_cleaned)
{
	const char *stale = tu_unique_name("stale"), *live = tu_unique_name("stalelive");
	const char *held = tu_unique_name("staleheld"), *other = tu_unique_name("staleother");
	const char *args[] = { "create", held, NULL };
	char path[256];
	struct zb_reader *r;
	struct zb_oieb *o;
	struct peer p;
	uint8_t *seg;
	size_t len;

	/* Abandoned: lock free, reader and writer recorded but dead. */
	seg_create_unowned(stale, 64, 4096);
	seg = seg_map(stale, &len);
	o = (struct zb_oieb *)seg;
	o->reader_pid = (uint64_t)dead_pid();
	o->writer_pid = (uint64_t)dead_pid();
	seg_unmap(seg, len);
	make_stale_lock(stale);
	/* Lock free, but a live process still uses the segment: keep the segment. */
	seg_create_unowned(live, 64, 4096);
	seg = seg_map(live, &len);
	((struct zb_oieb *)seg)->writer_pid = (uint64_t)getpid();
	seg_unmap(seg, len);
	make_stale_lock(live);
	/* Owned by a live process holding its lock: untouched. */
	peer_start(&p, args);

	ck_assert_int_eq(zb_reader_create(&r, other, NULL), 0);
	ck_assert(!tu_any_object_exists(stale));
	path_of(path, sizeof(path), "/dev/shm/%s", live);
	ck_assert_int_eq(access(path, F_OK), 0);
	path_of(path, sizeof(path), "/dev/shm/sem.sem-w-%s", live);
	ck_assert_int_eq(access(path, F_OK), 0);
	names_lock(path, sizeof(path), live);
	ck_assert_int_ne(access(path, F_OK), 0); /* its lock was abandoned all the same */
	ck_assert(tu_lock_is_held(held));
	path_of(path, sizeof(path), "/dev/shm/%s", held);
	ck_assert_int_eq(access(path, F_OK), 0);
	zb_reader_close(r);
	peer_kill(&p);
}
END_TEST

/* Leftovers of a dead owner under our name: replaced by a fresh buffer. */
START_TEST(create_over_leftovers)
{
	const char *name = tu_unique_name("leftover");
	struct zb_buffer_config cfg = { 64, 4096, 0 };
	struct zb_reader *r;
	uint8_t *seg;
	size_t len;

	seg_create_unowned(name, 1024, 8192);
	seg = seg_map(name, &len);
	((struct zb_oieb *)seg)->payload_written_count = 77;
	seg_unmap(seg, len);
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), 0);
	seg = seg_map(name, &len);
	ck_assert_uint_eq(len, 128 + 64 + 4096);
	ck_assert_uint_eq(((struct zb_oieb *)seg)->payload_written_count, 0);
	seg_unmap(seg, len);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(name));
}
END_TEST

TU_SUITE(standalone_suite, "standalone")
{
	TCase *tc = tu_tcase(s, "standalone", NULL, tu_cleanup_all);

	tcase_add_test(tc, create_and_close);
	tcase_add_test(tc, default_mode_and_sizes);
	tcase_add_test(tc, wide_mode_despite_umask);
	tcase_add_test(tc, close_clears_pids_only);
	tcase_add_test(tc, attach_waits_for_creator);
	tcase_add_test(tc, creation_order);
	tcase_add_test(tc, stale_buffers_cleaned);
	tcase_add_test(tc, create_over_leftovers);
}
