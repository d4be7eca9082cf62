/* SPDX-License-Identifier: MIT */
/*
 * The state file: which buffers this zbd owns, so that a zbd started after a
 * crash (or SIGKILL, or an upgrade) adopts them instead of leaving them
 * ownerless. One line per buffer, "NAME MODE GID", after a version line;
 * written to a temporary file and renamed over the old one, so a reader
 * (the next zbd) sees either the old or the new list, never half of one.
 */
#pragma once

#include <sys/types.h>

#include "list.h"

struct statefile_entry {
	const char *name;
	mode_t mode;
	gid_t gid;
};

/* Write `n` entries atomically to `path`. */
int statefile_save(const char *path, const struct statefile_entry *entries, size_t n);

/* Call `fn` for each entry of `path`. -ENOENT when there is no state file;
 * malformed lines are logged and skipped. */
int statefile_load(const char *path, void (*fn)(void *ctx, const struct statefile_entry *e),
		   void *ctx);
