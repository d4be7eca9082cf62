/* SPDX-License-Identifier: MIT */
/*
 * The one frame pattern of the tests, the benchmark's --verify and the peer
 * programs (zbpeer, upstream): frame `seq` of a stream has a size and bytes
 * that follow from the stream's seed alone, so a writer and a reader in
 * different processes agree without talking. The bytes are a window into a
 * table of random bytes at an offset picked per sequence: a frame shifted,
 * truncated or taken from another sequence does not match.
 *
 * No Check here: programs that are not test runners use it too.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pattern {
	uint8_t *table;
	size_t table_len;
	uint64_t seed;
	size_t min_size, max_size;
	/* 0, or frames take a multiple of `unit` ring bytes (16-byte header
	 * included): sizes are rounded up to it, which decides which wraps a
	 * stream can make. Set after pattern_init(). */
	size_t unit;
};

/* Sizes from min_size to max_size; any size up to max_size + 64 KiB can be
 * asked of pattern_data(). Aborts if out of memory. pattern_free() accepts a
 * pattern whose table is NULL. */
void pattern_init(struct pattern *p, uint64_t seed, size_t min_size, size_t max_size);
void pattern_free(struct pattern *p);
/* The size of frame `seq`: spread over every scale from min_size to max_size. */
size_t pattern_size(const struct pattern *p, uint64_t seq);
/* The `size` bytes of frame `seq` (a pointer into the table). */
const uint8_t *pattern_data(const struct pattern *p, uint64_t seq, size_t size);
/* Whether `data` is frame `seq`: pattern_size(seq) bytes, each as pattern_data() says. */
bool pattern_ok(const struct pattern *p, uint64_t seq, const void *data, size_t size);

/*
 * The stream most tests need, ready without setup: frames of 1 to 300 bytes
 * (TU_FRAME_MAX). tu_frame_data() gives the bytes for any size up to 64 KiB,
 * for a test that picks its own sizes.
 */
#define TU_FRAME_MAX 300
size_t tu_frame_size(uint64_t seq);
const uint8_t *tu_frame_data(uint64_t seq, size_t size);
/* Write frame `seq` (tu_frame_size(seq) bytes) into buf. */
void tu_frame_fill(void *buf, uint64_t seq);
bool tu_frame_ok(const void *data, size_t size, uint64_t seq);

/* The generator behind the pattern, for tests that need random numbers:
 * advances *state and returns the next value. */
uint64_t splitmix64(uint64_t *state);
