/* SPDX-License-Identifier: MIT */
/*
 * A host whose /dev/shm runs full, and what anyone watching /dev/shm sees
 * while a buffer is made. Pages of a shared-memory file are taken on first
 * touch: a buffer that only had its size set could be created on a full
 * /dev/shm, and whoever touched its pages later (a writer; zbd itself writing
 * the control block) died of SIGBUS. Buffers now reserve their memory when
 * they are made, and are made whole before they have a name.
 *
 * Each test runs in a mount namespace of its own with small tmpfs mounts on
 * /dev/shm and /tmp (zbd and zbctl, started from the test, share them), so
 * the real ones are never filled. Needs root: skipped (77) otherwise.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "segment.h"
#include "testutil.h"
#include "zbdtest.h"

#define FILLER "/dev/shm/filler"

static struct tz t;
static struct tz_stream during; /* through another buffer, around each test */

static void teardown(void)
{
	tz_teardown(&t);
}

/* A private /dev/shm of `size`, a private /tmp, and zbd on them. */
static void start(const char *size)
{
	char opts[32];

	snprintf(opts, sizeof(opts), "size=%s", size);
	ck_assert_msg(tu_private_mounts(opts), "private mounts: %s", strerror(errno));
	tz_setup(&t, NULL);
	tz_start_logged(&t);
	tz_stream_start(&t, &during, tu_unique_name("during"), 10000);
}

static uint64_t shm_left(void)
{
	struct statvfs sv;

	ck_assert_int_eq(statvfs("/dev/shm", &sv), 0);
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* Take /dev/shm's space until `left` bytes remain. */
static void fill_shm(uint64_t left)
{
	uint64_t avail = shm_left();
	int fd = open(FILLER, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_gt(avail, left);
	ck_assert_int_eq(fallocate(fd, 0, 0, (off_t)(avail - left)), 0);
	close(fd);
	ck_assert_uint_eq(shm_left(), left);
}

/* ------------------------------------------------------------ case 1 */

/* On 2 MiB, 64 MiB asked: refused with the size asked and what is left,
 * nothing made; with 8 KiB left, 64 KiB asked: refused, where zbd used to
 * die of SIGBUS writing the control block. A stream through another buffer
 * (started by start(), as in every test here) runs around both, its memory
 * reserved when it was made. */
START_TEST(zbd_create_refused_when_full)
{
	const char *big = tu_unique_name("big"), *small = tu_unique_name("small");
	char asked[64];

	start("2m");
	ck_assert_int_eq(tz_request(&t, "create %s payload=64M", big), -ENOSPC);
	snprintf(asked, sizeof(asked), "%llu bytes asked",
		 (unsigned long long)segment_footprint(0, 64 << 20));
	ck_assert_msg(strstr(t.reply, asked) && strstr(t.reply, "left") &&
			      strstr(t.reply, "no room in /dev/shm"),
		      "%s", t.reply);
	ck_assert(!tu_any_object_exists(big));
	tz_log_has(&t, true, big, "not created", asked, NULL);

	fill_shm(8192);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", small), -ENOSPC);
	ck_assert_msg(strstr(t.reply, "8192 left") || strstr(t.reply, " left"), "%s", t.reply);
	ck_assert(!tu_any_object_exists(small));
	ck_assert_int_eq(tz_request(&t, "version"), 0);

	ck_assert_int_eq(unlink(FILLER), 0);
	tz_still_serving(&t, &during);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", small), 0);
}
END_TEST

/* A reader with no zbd: the same refusals, and nothing left behind (not even
 * its lock file); zbctl read --create says what was asked and what is left
 * (a buffer larger than the whole of /dev/shm it refuses before asking). */
START_TEST(standalone_create_refused_when_full)
{
	const char *name = tu_unique_name("alone");
	struct zb_buffer_config cfg = { .payload_size = 64 << 20 };
	struct zb_reader *r = NULL;
	char err[1024], asked[96];

	start("2m");
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), -ENOSPC);
	ck_assert_ptr_null(r);
	ck_assert(!tu_any_object_exists(name));

	fill_shm(8192);
	cfg.payload_size = 64 << 10;
	ck_assert_int_eq(zb_reader_create(&r, name, &cfg), -ENOSPC);
	ck_assert(!tu_any_object_exists(name));
	ck_assert_int_eq(tz_zbctl(&t, NULL, err, sizeof(err),
				  (char *const[]){ "read", (char *)name, "--create", "--payload",
						   "64K", NULL }),
			 1);
	snprintf(asked, sizeof(asked),
		 "no room in /dev/shm for %s: %llu bytes asked, 8192 bytes left", name,
		 (unsigned long long)segment_footprint(0, 64 << 10));
	ck_assert_msg(strstr(err, asked), "%s", err);
	ck_assert(!tu_any_object_exists(name));
	ck_assert_int_eq(unlink(FILLER), 0);
	tz_still_serving(&t, &during);
}
END_TEST

/* A buffer made as upstream readers make it (size set, memory not reserved):
 * on a 2 MiB /dev/shm a 4 MiB ring is refused when a writer attaches, not a
 * SIGBUS once the writer has filled 2 MiB of it. */
static void make_unreserved(const char *name, uint64_t payload)
{
	char obj[ZB_OBJ_NAME_MAX];
	size_t total = ZB_OIEB_SIZE + 1024 + payload;
	struct zb_oieb *o;
	sem_t *sem;
	int fd;

	names_sem_w(obj, name);
	ck_assert_ptr_ne(sem = sem_open(obj, O_CREAT | O_EXCL, 0600, 0), SEM_FAILED);
	sem_close(sem);
	names_sem_r(obj, name);
	ck_assert_ptr_ne(sem = sem_open(obj, O_CREAT | O_EXCL, 0600, 0), SEM_FAILED);
	sem_close(sem);
	names_shm(obj, name);
	fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)total), 0);
	o = mmap(NULL, ZB_OIEB_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(o, MAP_FAILED);
	*o = (struct zb_oieb){ .version = { 1, 0, 0, 0 },
			       .metadata_size = 1024,
			       .metadata_free_bytes = 1024,
			       .payload_size = payload,
			       .payload_free_bytes = payload };
	zb_store(&o->oieb_size, ZB_OIEB_SIZE);
	munmap(o, ZB_OIEB_SIZE);
	close(fd);
}

static int write_until_full(void *arg)
{
	static char frame[1000];
	struct zb_writer *w;
	int err = zb_writer_open(&w, arg);

	if (err == -ENOSPC)
		return 0;
	if (err < 0)
		return 1;
	while (zb_writer_write(w, frame, sizeof(frame), 0) == 0)
		;
	return 2; /* attached, and wrote the ring full: /dev/shm could not have held it */
}

START_TEST(writer_attach_reserves)
{
	const char *name = tu_unique_name("upstream");

	start("2m");
	make_unreserved(name, 4 << 20);
	ck_assert_int_eq(tu_exit_status(tu_wait(tu_fork(write_until_full, (void *)name), 20000)),
			 0);
	tu_cleanup_name(name);
	tz_still_serving(&t, &during);
}
END_TEST

/* ------------------------------------------------------- case 2, creation */

struct seen {
	char names[16][NAME_MAX + 1];
	unsigned n_names;
	unsigned attrib, deleted;
};

static bool seen_before(const struct seen *seen, const char *name)
{
	for (unsigned i = 0; i < seen->n_names; i++)
		if (strcmp(seen->names[i], name) == 0)
			return true;
	return false;
}

static void take_events(int ifd, struct seen *seen)
{
	char buf[16 * 1024] __attribute__((aligned(8)));
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (!ev->len)
				continue;
			/* An O_TMPFILE has a dentry ("#1234") but no name anyone can
			 * open: what is done to it before it is linked is unseen. */
			if ((ev->mask & IN_ATTRIB) && seen_before(seen, ev->name))
				seen->attrib++;
			if (ev->mask & IN_DELETE)
				seen->deleted++;
			if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && seen->n_names < 16)
				snprintf(seen->names[seen->n_names++], NAME_MAX + 1, "%s",
					 ev->name);
		}
	}
}

static bool is_object_of(const char *file, const char *name)
{
	char sem[NAME_MAX + 1];

	if (strcmp(file, name) == 0)
		return true;
	for (char which = 'r'; which <= 'w'; which += 'w' - 'r') {
		snprintf(sem, sizeof(sem), "sem.sem-%c-%s", which, name);
		if (strcmp(file, sem) == 0)
			return true;
	}
	return false;
}

/* Whoever watches /dev/shm while zbd and a standalone reader make buffers
 * sees their three names appear, each once, already with their group and
 * mode: no temporary name (glibc's sem_open makes sem.XXXXXX, which a
 * creator killed inside leaves behind), no change of mode or owner after a
 * name appeared, nothing made and removed. */
START_TEST(objects_appear_whole)
{
	const char *by_zbd = tu_unique_name("byzbd"), *alone = tu_unique_name("alone");
	struct zb_buffer_config cfg = { .payload_size = 4096, .mode = 0640 };
	struct seen seen = { 0 };
	struct zb_reader *r;
	int ifd;

	start("16m");
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ck_assert_int_ge(ifd, 0);
	ck_assert_int_ge(
		inotify_add_watch(ifd, "/dev/shm", IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE),
		0);
	ck_assert_int_eq(
		tz_request(&t, "create %s payload=4K mode=0640 group=%d", by_zbd, TU_NOGROUP), 0);
	ck_assert_int_eq(zb_reader_create(&r, alone, &cfg), 0);
	take_events(ifd, &seen);
	close(ifd);

	ck_assert_uint_eq(seen.n_names, 6);
	for (unsigned i = 0; i < seen.n_names; i++)
		ck_assert_msg(is_object_of(seen.names[i], by_zbd) ||
				      is_object_of(seen.names[i], alone),
			      "/dev/shm/%s appeared while the buffers were made", seen.names[i]);
	ck_assert_msg(seen.attrib == 0, "%u changes of mode or owner after a name appeared",
		      seen.attrib);
	ck_assert_msg(seen.deleted == 0, "%u names made and removed", seen.deleted);
	tu_assert_objects(by_zbd, 0, TU_NOGROUP, 0640);
	tu_assert_objects(alone, 0, 0, 0640);
	zb_reader_close(r);
	ck_assert(!tu_any_object_exists(alone));
	tz_still_serving(&t, &during);
}
END_TEST

/* Every test in a child: each takes a mount namespace of its own. */
TU_SUITE(security_shmfull_suite, "security-shmfull", .root = true, .skip = tu_no_private_mounts,
	 .fork = true)
{
	TCase *tc = tu_tcase(s, "shmfull", NULL, teardown);

	tcase_add_test(tc, zbd_create_refused_when_full);
	tcase_add_test(tc, standalone_create_refused_when_full);
	tcase_add_test(tc, writer_attach_reserves);
	tcase_add_test(tc, objects_appear_whole);
}
