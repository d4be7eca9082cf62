/* SPDX-License-Identifier: MIT */
/* Frame contents both processes of a test derive from the seed (see pattern.h). */
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

/* Larger than any frame a test writes, so every window is a fresh offset. */
#define TABLE_SLACK (64 * 1024)

/* The seed of the tu_frame_*() stream. */
#define DEFAULT_SEED 0x7a62

uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t seed, uint64_t seq, uint64_t salt)
{
	uint64_t s = seed * UINT64_C(0x100000001b3) ^ seq ^ (salt << 56);

	return splitmix64(&s);
}

void pattern_init(struct pattern *p, uint64_t seed, size_t min_size, size_t max_size)
{
	uint64_t s = seed;

	p->seed = seed;
	p->unit = 0;
	p->min_size = min_size ? min_size : 1;
	p->max_size = max_size < p->min_size ? p->min_size : max_size;
	p->table_len = p->max_size + TABLE_SLACK;
	p->table = malloc(p->table_len);
	if (!p->table)
		abort();
	for (size_t i = 0; i < p->table_len; i++)
		p->table[i] = (uint8_t)(splitmix64(&s) >> 24);
}

void pattern_free(struct pattern *p)
{
	free(p->table);
	p->table = NULL;
}

/*
 * Sizes spread over every scale: a cap of max >> k for a random k, then a
 * uniform size under it. Small frames (many per wrap) and frames at the top
 * of the range (a third of the ring) both occur often, and the bytes moved
 * stay a fraction of what uniform sizes would cost.
 */
size_t pattern_size(const struct pattern *p, uint64_t seq)
{
	uint64_t h = mix(p->seed, seq, 1);
	size_t span = p->max_size - p->min_size + 1;
	size_t cap = span >> (h % 16);
	size_t size;

	if (cap == 0)
		cap = 1;
	size = p->min_size + (size_t)((h >> 8) % cap);
	/* 16: a frame header (wire.h), which this Check-free helper does not include. */
	if (p->unit)
		size = (size + 16 + p->unit - 1) / p->unit * p->unit - 16;
	return size;
}

const uint8_t *pattern_data(const struct pattern *p, uint64_t seq, size_t size)
{
	uint64_t h = mix(p->seed, seq, 2);

	if (size > p->table_len)
		abort(); /* a test asking for more than it set up */
	return p->table + h % (p->table_len - size + 1);
}

bool pattern_ok(const struct pattern *p, uint64_t seq, const void *data, size_t size)
{
	return size == pattern_size(p, seq) && memcmp(data, pattern_data(p, seq, size), size) == 0;
}

/* Made on first use, in whichever process (a forked child makes its own). */
static const struct pattern *default_stream(void)
{
	static struct pattern p;

	if (!p.table)
		pattern_init(&p, DEFAULT_SEED, 1, TU_FRAME_MAX);
	return &p;
}

size_t tu_frame_size(uint64_t seq)
{
	return pattern_size(default_stream(), seq);
}

const uint8_t *tu_frame_data(uint64_t seq, size_t size)
{
	return pattern_data(default_stream(), seq, size);
}

void tu_frame_fill(void *buf, uint64_t seq)
{
	size_t size = tu_frame_size(seq);

	memcpy(buf, tu_frame_data(seq, size), size);
}

bool tu_frame_ok(const void *data, size_t size, uint64_t seq)
{
	return pattern_ok(default_stream(), seq, data, size);
}
