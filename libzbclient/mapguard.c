/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapguard.h"

#define CHUNK_SLOTS 64

/* len 0: free, or not set up yet. Fields are read by the handler at any time. */
struct mapguard_range {
	uintptr_t start;
	size_t len;
	int hit;
	int taken;
};

struct chunk {
	struct mapguard_range slot[CHUNK_SLOTS];
	struct chunk *next;
};

static struct chunk first;
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int install_err;
/* Faults absorbed so far, in any range: a set looks at its own flags only
 * once this moved since it was watched. */
static uint64_t faults;
static int window_open, window_faults;
static size_t page_size; /* sysconf() is not async-signal-safe: read it once */

#define load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Anonymous memory in place of [start, start + len): the faulting access
 * completes, and every later one reads what was written there, or zeros. */
static bool replace(uintptr_t start, size_t len)
{
	return mmap((void *)start, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED;
}

/* The fault was not ours: to the handler before us, or die as SIGBUS does. */
static void chain(int sig, siginfo_t *si, void *uctx)
{
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, uctx);
		return;
	}
	if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/* Default action: a fault recurs when we return and ends the process;
	 * a SIGBUS that was sent, not caused, is sent again. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	if (si->si_code <= 0)
		raise(SIGBUS);
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	int saved_errno = errno;
	bool absorbed = false;

	for (struct chunk *c = &first; c; c = load(&c->next)) {
		for (int i = 0; i < CHUNK_SLOTS; i++) {
			struct mapguard_range *r = &c->slot[i];
			size_t len = load(&r->len);
			uintptr_t start = load(&r->start);

			/* Every range that holds the address: two handles of one
			 * process may share a semaphore's mapping. */
			if (len && addr - start < len && replace(start, len)) {
				store(&r->hit, 1);
				absorbed = true;
			}
		}
	}
	if (!absorbed && load(&window_open) && si->si_code == BUS_ADRERR) {
		uintptr_t page = page_size;

		if (replace(addr & ~(page - 1), page)) {
			store(&window_faults, 1);
			absorbed = true;
		}
	}
	if (absorbed)
		__atomic_add_fetch(&faults, 1, __ATOMIC_RELEASE);
	errno = saved_errno;
	if (!absorbed)
		chain(sig, si, uctx);
}

static void install_once(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_ONSTACK };

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) < 0)
		install_err = -errno;
}

int mapguard_install(void)
{
	pthread_once(&installed, install_once);
	return install_err;
}

static struct mapguard_range *range_add(uintptr_t start, size_t len)
{
	struct chunk *c = &first, *next;

	for (;;) {
		for (int i = 0; i < CHUNK_SLOTS; i++) {
			struct mapguard_range *r = &c->slot[i];
			int free_ = 0;

			if (!__atomic_compare_exchange_n(&r->taken, &free_, 1, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				continue;
			store(&r->hit, 0);
			store(&r->start, start);
			store(&r->len, len); /* last: the handler looks at it first */
			return r;
		}
		next = load(&c->next);
		if (!next) {
			struct chunk *fresh = calloc(1, sizeof(*fresh)), *none = NULL;

			if (!fresh)
				return NULL;
			/* Chunks are never freed (the handler may be walking them):
			 * one that lost the race to be appended is dropped unused. */
			if (__atomic_compare_exchange_n(&c->next, &none, fresh, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				next = fresh;
			else {
				free(fresh);
				next = none;
			}
		}
		c = next;
	}
}

static void range_remove(struct mapguard_range *r)
{
	store(&r->len, 0);
	store(&r->taken, 0);
}

int mapguard_watch(struct mapguard_set *g, const struct zb_segment *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const struct {
		const void *addr;
		size_t len;
	} maps[3] = {
		{ s->base, s->map_size },
		/* sem_open maps the whole file (one sem_t) from offset 0. */
		{ s->sem_w, page },
		{ s->sem_r, page },
	};

	memset(g, 0, sizeof(*g));
	g->faults_seen = load(&faults);
	for (int i = 0; i < 3; i++) {
		if (!maps[i].addr)
			continue;
		g->range[i] = range_add((uintptr_t)maps[i].addr, maps[i].len);
		if (!g->range[i]) {
			mapguard_forget(g);
			return -ENOMEM;
		}
	}
	return 0;
}

void mapguard_forget(struct mapguard_set *g)
{
	for (int i = 0; i < 3; i++) {
		if (g->range[i])
			range_remove(g->range[i]);
		g->range[i] = NULL;
	}
}

bool mapguard_hit(const struct mapguard_set *g)
{
	if (load(&faults) == g->faults_seen)
		return false;
	for (int i = 0; i < 3; i++)
		if (g->range[i] && load(&g->range[i]->hit))
			return true;
	return false;
}

void mapguard_window_open(void)
{
	store(&window_faults, 0);
	store(&window_open, 1);
}

bool mapguard_window_close(void)
{
	store(&window_open, 0);
	return load(&window_faults) != 0;
}
