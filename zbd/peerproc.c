/* SPDX-License-Identifier: MIT */
/* Finding a peer's process across pid namespaces (the design is in peerproc.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "peerproc.h"

/* The kernel's fixed inode of the initial pid namespace (PROC_PID_INIT_INO). */
#define INIT_PIDNS_INO 0xEFFFFFFCu

enum fit { FIT_YES, FIT_NO, FIT_UNREADABLE };

/* The last NSpid: entry of /proc/PID/status (the pid the process knows):
 * 0 if it has none (gone), -1 if we may not read it. */
static int64_t own_pid(pid_t pid)
{
	char path[64], line[256];
	int64_t last = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == EACCES || errno == EPERM ? -1 : 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (;;) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			last = v;
			p = end;
		}
		break;
	}
	fclose(f);
	return last;
}

static enum fit in_pidns(pid_t pid, uint32_t pidns)
{
	char path[64];
	struct stat st;

	if (pidns == 0)
		return FIT_YES;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat(path, &st) < 0)
		return errno == EACCES || errno == EPERM ? FIT_UNREADABLE : FIT_NO;
	return (uint32_t)st.st_ino == pidns ? FIT_YES : FIT_NO;
}

/* Whether /proc/PID/maps has a mapping of the segment. */
static enum fit maps_segment(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], line[512];
	enum fit fit = FIT_NO;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == EACCES || errno == EPERM ? FIT_UNREADABLE : FIT_NO;
	/* "start-end perms offset major:minor inode path"; a line longer than
	 * the buffer continues in the next read, which never parses as one. */
	while (fit == FIT_NO && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long i;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &i) == 3 &&
		    maj == major(dev) && min == minor(dev) && i == (unsigned long long)ino)
			fit = FIT_YES;
	}
	if (ferror(f) && fit == FIT_NO)
		fit = FIT_UNREADABLE;
	fclose(f);
	return fit;
}

static enum fit fits(const struct peerproc_query *q, pid_t pid)
{
	int64_t own = own_pid(pid);
	enum fit fit;

	if (own < 0)
		return FIT_UNREADABLE;
	if ((uint64_t)own != q->pid)
		return FIT_NO;
	fit = in_pidns(pid, q->pidns);
	return fit == FIT_YES ? maps_segment(pid, q->seg_dev, q->seg_ino) : fit;
}

bool peerproc_fits(const struct peerproc_query *q, pid_t pid)
{
	return fits(q, pid) == FIT_YES;
}

enum peerproc_found peerproc_find(const struct peerproc_query *q, pid_t *ret_pid,
				  bool *ret_complete)
{
	unsigned found = 0;
	struct dirent *de;
	DIR *dir;

	*ret_complete = false;
	if (q->pid == 0 || q->pid > INT32_MAX)
		return PEERPROC_NONE;
	dir = opendir("/proc");
	if (!dir)
		return PEERPROC_NONE;
	*ret_complete = true;
	while ((de = readdir(dir))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		switch (fits(q, pid)) {
		case FIT_YES:
			if (found++ == 0)
				*ret_pid = pid;
			break;
		case FIT_UNREADABLE:
			*ret_complete = false;
			break;
		case FIT_NO:
			break;
		}
	}
	closedir(dir);
	if (found > 1)
		return PEERPROC_AMBIGUOUS;
	return found ? PEERPROC_FOUND : PEERPROC_NONE;
}

bool peerproc_sees_all(void)
{
	struct stat st;

	/* /proc/1 hidden from us (hidepid=invisible) or unreadable (hidepid=
	 * noaccess): other processes may be too. */
	if (stat("/proc/self/ns/pid", &st) < 0 || (uint32_t)st.st_ino != INIT_PIDNS_INO)
		return false;
	return own_pid(1) == 1;
}

bool peerproc_mapping_of(const void *addr, dev_t *ret_dev, ino_t *ret_ino)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long start, i;
		unsigned maj, min;

		if (sscanf(line, "%llx-%*x %*s %*s %x:%x %llu", &start, &maj, &min, &i) == 4 &&
		    start == (unsigned long long)(uintptr_t)addr && i != 0) {
			*ret_dev = makedev(maj, min);
			*ret_ino = (ino_t)i;
			found = true;
		}
	}
	fclose(f);
	return found;
}
