/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "statefile.h"
#include "zbclient.h"

#define STATE_HEADER "zbd-state 1"

int statefile_save(const char *path, const struct statefile_entry *entries, size_t n)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd = -1, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A fresh file, never one found there: in a state directory others can
	 * write, a planted hard link would otherwise have us truncate its target. */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		goto fail;
	}
	fd = -1;
	fprintf(f, "%s\n", STATE_HEADER);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %04o %ld\n", entries[i].name, (unsigned)entries[i].mode,
			entries[i].gid == (gid_t)-1 ? -1L : (long)entries[i].gid);
	if (fflush(f) != 0 || ferror(f)) {
		r = -EIO;
		goto fail;
	}
	r = fclose(f);
	f = NULL;
	if (r != 0) {
		r = -errno;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;

fail:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int statefile_load(const char *path, void (*fn)(void *ctx, const struct statefile_entry *e),
		   void *ctx)
{
	char line[ZB_NAME_MAX + 64], name[ZB_NAME_MAX + 1];
	unsigned lineno = 0, mode;
	struct stat st;
	long gid;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* The file says which objects zbd adopts: only a file zbd wrote counts. */
	if (fstat(fileno(f), &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) ||
	    !S_ISREG(st.st_mode)) {
		log_error("%s: not a regular file owned by uid %u and writable only by it; "
			  "ignored",
			  path, (unsigned)geteuid());
		fclose(f);
		return -EPERM;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, STATE_HEADER "\n") != 0) {
				log_error("%s: not a zbd state file, ignored", path);
				break;
			}
			continue;
		}
		if (sscanf(line, "%200s %o %ld", name, &mode, &gid) != 3 || mode > 07777) {
			log_warning("%s:%u: malformed line skipped", path, lineno);
			continue;
		}
		fn(ctx, &(struct statefile_entry){ .name = name,
						   .mode = mode,
						   .gid = gid < 0 ? (gid_t)-1 : (gid_t)gid });
	}
	fclose(f);
	return 0;
}
