/* SPDX-License-Identifier: MIT */
/*
 * Runs files through a harness's LLVMFuzzerTestOneInput without libFuzzer, so
 * the corpora and the kept crash inputs are regression tests in every build
 * (gcc, ASan, valgrind). Arguments are files or directories (not recursive).
 * A harness reports a finding by crashing or aborting; this exits 1 if a file
 * cannot be read and if no input was found at all (a wrong path in meson.build
 * must not pass as "nothing failed").
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		goto fail;
	/* One spare byte: a 0-byte input still gets a valid, distinct pointer. */
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto fail;
	fclose(f);
	fprintf(stderr, "replay: %s (%ld bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;

fail:
	fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
	if (f)
		fclose(f);
	free(buf);
	return -1;
}

static int replay_dir(const char *dir, unsigned *count)
{
	struct dirent **entries;
	int n = scandir(dir, &entries, NULL, alphasort), r = 0;

	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, entries[i]->d_name);
		/* Dot files are the README and editor leftovers, not inputs. */
		if (entries[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) < 0)
				r = -1;
			else
				(*count)++;
		}
		free(entries[i]);
	}
	free(entries);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int r = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			r = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				r = -1;
		} else if (replay_file(argv[i]) < 0) {
			r = -1;
		} else {
			count++;
		}
	}
	printf("replayed %u inputs\n", count);
	if (count == 0)
		fprintf(stderr, "replay: no inputs found\n");
	return r < 0 || count == 0 ? 1 : 0;
}
