/* SPDX-License-Identifier: MIT */
/* The checksum the tests and zbgst-peer compute for a frame. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* FNV-1a over 8-byte words, then the tail byte by byte; the size is mixed in
 * first so that frames of zeros of different sizes differ. */
static inline uint64_t frame_sum(const void *data, size_t size)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull ^ size;
	size_t i = 0;

	for (; i + 8 <= size; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	for (; i < size; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}
