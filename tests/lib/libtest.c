/* SPDX-License-Identifier: MIT */
/* zbpeer, the killer thread and the vectors' bytes for the libzbclient suites (see libtest.h). */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libtest.h"

void vector_frame(uint8_t *out, uint64_t k, size_t size)
{
	for (size_t i = 0; i < size; i++)
		out[i] = (uint8_t)((k * 31 + i) & 0xff);
}

void vector_write(struct zb_writer *w, uint64_t k, size_t size)
{
	uint8_t buf[2048];

	ck_assert_uint_le(size, sizeof(buf));
	vector_frame(buf, k, size);
	ck_assert_int_eq(zb_writer_write(w, buf, size, 0), 0);
}

void vector_read(struct zb_reader *r, uint64_t k, size_t size, bool release)
{
	uint8_t want[2048];
	struct zb_frame f;

	ck_assert_uint_le(size, sizeof(want));
	vector_frame(want, k, size);
	ck_assert_int_eq(zb_reader_read(r, &f, 0), 0);
	ck_assert_uint_eq(f.sequence, k + 1);
	ck_assert_uint_eq(f.size, size);
	ck_assert_mem_eq(f.data, want, size);
	if (release)
		ck_assert_int_eq(zb_reader_release(r, &f), 0);
}

static void peer_spawn(struct peer *p, const char *const args[])
{
	const char *path = getenv("ZBPEER");

	ck_assert_msg(path != NULL, "ZBPEER is not set (run through meson test)");
	p->pid = tu_spawn_reporter(path, args, &p->fd, NULL);
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
	int code;

	peer_spawn(&p, args);
	code = tu_wait_exit(p.pid, timeout_ms);
	close(p.fd);
	return code;
}

int peer_status(struct peer *p, int timeout_ms)
{
	return tu_read_byte(p->fd, timeout_ms);
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
	int st;

	tu_sleep_us((unsigned)killer.delay_ms * 1000);
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
