/* SPDX-License-Identifier: MIT */
/* Unique names, the objects they own, private directories, the sweep (see util.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segment.h"
#include "util.h"

#define NAME_SIZE 64
#define CHUNK 256

static pid_t run_pid;
/* Names live in chunks that never move: a name stays valid while others are made. */
static char (*chunks[64])[NAME_SIZE];
static unsigned n_names;

static pid_t run(void)
{
	if (!run_pid)
		run_pid = getpid();
	return run_pid;
}

void tu_run_begin(void)
{
	run_pid = getpid();
}

static char *slot(unsigned i)
{
	if (i / CHUNK >= sizeof(chunks) / sizeof(chunks[0])) {
		fprintf(stderr, "tu_unique_name: more than %u names without tu_cleanup_all()\n",
			(unsigned)(CHUNK * (sizeof(chunks) / sizeof(chunks[0]))));
		abort();
	}
	if (!chunks[i / CHUNK] && !(chunks[i / CHUNK] = calloc(CHUNK, NAME_SIZE)))
		abort();
	return chunks[i / CHUNK][i % CHUNK];
}

const char *tu_name_prefix(void)
{
	static char prefix[32];

	snprintf(prefix, sizeof(prefix), "t%d-%d-", (int)run(), (int)getpid());
	return prefix;
}

const char *tu_unique_name(const char *tag)
{
	char *s = slot(n_names);

	snprintf(s, NAME_SIZE, "%s%s-%u", tu_name_prefix(), tag, n_names);
	n_names++;
	return s;
}

void tu_cleanup_name(const char *name)
{
	segment_unlink(name);
	unlink(tu_lock_path(name));
}

void tu_cleanup_all(void)
{
	for (unsigned i = 0; i < n_names; i++)
		tu_cleanup_name(slot(i));
	n_names = 0;
}

int tu_mkdtemp(char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "/tmp/zbt-%d-XXXXXX", (int)run()) >= size)
		return -ENAMETOOLONG;
	if (!mkdtemp(out) || chmod(out, 0755) < 0)
		return -errno;
	return 0;
}

/* Remove every entry of `dir` whose name starts with one of `prefixes`. */
static void sweep_dir(const char *dir, const char *const prefixes[], int n)
{
	char path[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		for (int i = 0; i < n; i++) {
			if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])) == 0) {
				snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
				tu_rmtree(path);
				break;
			}
		}
	}
	closedir(d);
}

void tu_sweep(void)
{
	char p[4][48];
	const char *const prefixes[] = { p[0], p[1], p[2], p[3] };

	snprintf(p[0], sizeof(p[0]), "t%d-", (int)run());
	snprintf(p[1], sizeof(p[1]), "sem.sem-w-t%d-", (int)run());
	snprintf(p[2], sizeof(p[2]), "sem.sem-r-t%d-", (int)run());
	snprintf(p[3], sizeof(p[3]), "zbt-%d-", (int)run());
	sweep_dir("/dev/shm", prefixes, 3);
	sweep_dir(ZB_LOCK_DIR, prefixes, 1);
	sweep_dir("/tmp", prefixes + 3, 1);
}

const char *tu_shm_path(const char *name)
{
	static char path[300];

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	return path;
}

const char *tu_sem_path(const char *name, char which)
{
	static char path[2][300];
	char *p = path[which == 'r'];

	snprintf(p, sizeof(path[0]), "/dev/shm/sem.sem-%c-%s", which, name);
	return p;
}

const char *tu_lock_path(const char *name)
{
	static char path[300];

	if (names_lock(path, sizeof(path), name) < 0)
		path[0] = '\0';
	return path;
}

bool tu_any_object_exists(const char *name)
{
	return access(tu_shm_path(name), F_OK) == 0 || access(tu_sem_path(name, 'w'), F_OK) == 0 ||
	       access(tu_sem_path(name, 'r'), F_OK) == 0 || access(tu_lock_path(name), F_OK) == 0;
}
