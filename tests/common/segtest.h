/* SPDX-License-Identifier: MIT */
/*
 * A buffer's segment and semaphores, raw: map it, copy it, make one as a
 * foreign owner would, compare two images field by field. For the suites
 * that check the wire layout or play a peer that is not libzbclient.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Map /dev/shm/NAME read-write; the test fails if it cannot. */
uint8_t *seg_map(const char *name, size_t *ret_size);
void seg_unmap(uint8_t *base, size_t size);

/* Copy the whole segment into a malloc'ed buffer with the pid fields zeroed. */
uint8_t *seg_snapshot(const char *name, size_t *ret_size);

/* Create a segment of `size` bytes holding `data` (the rest zero) and both
 * semaphores (sem-w at `sem_w_count`, sem-r at 0), as a foreign owner would. */
void seg_install(const char *name, const void *data, size_t len, size_t size, unsigned sem_w_count);

/* A buffer as zbd makes it: well-formed, nobody attached, no lock file. */
void seg_create_unowned(const char *name, uint64_t metadata_size, uint64_t payload_size);

/* Compare two segment images; on a difference the test fails naming the first
 * differing offset and the OIEB field or ring offset it falls in. */
void seg_assert_equal(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
		      uint64_t metadata_size);

/* The current count of sem-w-NAME or sem-r-NAME (`which` is 'w' or 'r'). */
int sem_value(const char *name, char which);
/* Post sem-w-NAME or sem-r-NAME `n` times, as a foreign peer would. */
void sem_post_n(const char *name, char which, unsigned n);
/* Set the count of sem-w-NAME or sem-r-NAME to `value` at once, as a stream of
 * that many posts would (a count near SEM_VALUE_MAX takes minutes to post).
 * Nobody may be waiting on it; glibc's layout is assumed and checked. */
void sem_preset(const char *name, char which, int value);
