/* SPDX-License-Identifier: MIT */
/*
 * fuzz_zbd_scan: zbd's periodic scan of a buffer whose control block and ring
 * a buggy or hostile peer has scribbled over. Any process allowed to write a
 * buffer can write anything into it, and zbd must go on serving every other
 * buffer: no endless loop, no out-of-bounds access, no crash.
 *
 * Input: byte 0 picks the ring size; the rest is laid over the segment (OIEB,
 * metadata, ring) in states of map_size bytes each, at most MAX_STATES, the
 * last one possibly short. After each state the harness runs what scan_cb()
 * in zbd/daemon.c runs (health_sample, then reaper_scan when the block passes
 * health_block_ok) and writes the buffer's health record, 50 ms of loop time
 * apart. The buffer is created through registry_create() under a name unique
 * to this process and destroyed after each input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fuzz.h"
#include "health.h"
#include "reaper.h"
#include "registry.h"

#define MAX_STATES 4

static struct zbd daemon_;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t rings[] = { 64, 128, 256, 1024 };
	static unsigned counter;
	struct zbd_buffer_spec spec = { .metadata_size = 64, .mode = 0600, .gid = (gid_t)-1 };
	struct zbd_buffer *b;
	struct reply r;
	ev_tstamp now;
	size_t off;
	int err;

	if (size < 1)
		return 0;
	fuzz_daemon_setup(&daemon_, "scan");
	snprintf(spec.name, sizeof(spec.name), "zbfuzz-scan-%d-%u", (int)getpid(), counter++);
	spec.payload_size = rings[data[0] % 4];
	err = registry_create(&daemon_, &spec, NULL);
	if (err < 0) {
		fprintf(stderr, "fuzz_zbd_scan: cannot create %s: %d\n", spec.name, err);
		abort();
	}
	b = registry_find(&daemon_, spec.name);
	now = mono_now();

	off = 1;
	for (int i = 0; i < MAX_STATES && off < size; i++) {
		size_t n = size - off < b->seg.map_size ? size - off : b->seg.map_size;

		memcpy(b->seg.base, data + off, n);
		off += n;
		now += 0.05;
		/* What scan_cb() does for each buffer. */
		health_sample(b, now);
		if (health_block_ok(b))
			reaper_scan(b);
		reply_init(&r);
		health_write_buffer(&r, b);
		if (r.oom || !r.len || memchr(r.data, '\0', r.len)) {
			fprintf(stderr, "fuzz_zbd_scan: bad health record\n");
			abort();
		}
		reply_free(&r);
	}

	err = registry_destroy(&daemon_, b, true);
	if (err < 0) {
		fprintf(stderr, "fuzz_zbd_scan: cannot destroy %s: %d\n", spec.name, err);
		abort();
	}
	return 0;
}
