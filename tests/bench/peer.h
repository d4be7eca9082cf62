/* SPDX-License-Identifier: MIT */
/*
 * zbbench's external peers: other IPC libraries measured next to libzbclient
 * (iceoryx, the upstream ZeroBuffer C++ library). Each is a small program,
 * built only where its library is found, whose transport fills in struct
 * peer_transport; peer.c is the rest, shared by all of them and written like
 * zbbench's own cases (the same warm-up, clock, stamps, pinning and output),
 * so a row of a peer and a row of libzbclient measure the same thing.
 *
 *   PROG tp SIZE SECONDS MODE RING POLICY PIN
 *       one-way throughput; prints "frames=N ns=T" (the timed part)
 *   PROG rt SIZE COUNT POLICY PIN
 *       round trips; prints "samples=N cpu_ns=C wall_ns=W", then N lines of ns
 *
 * MODE: copy (the frame is copied in from a buffer), fill (the producer writes
 * every byte in place), stamp (it writes only the 16 stamp bytes in place: a
 * zero-copy hand-over). POLICY: busy (the taker polls, never sleeps) or block
 * (it sleeps until woken). PIN: 1 puts the two processes on CPUs of their own.
 * Exit status 0, or 1 with the reason on stderr.
 */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer_transport {
	const char *name;
	/* Once in every process, first (iceoryx: its runtime, named `proc`). */
	void (*init)(const char *proc);
	/* Channel `chan` (0 or 1) of run `run`: its taking end is opened first
	 * (upstream: the reader creates the buffer, of `ring` bytes), then its
	 * giving end. NULL on failure, with the reason on stderr. */
	void *(*rx_open)(const char *run, int chan, size_t size, uint64_t ring);
	void *(*tx_open)(const char *run, int chan, size_t size);
	/* Whether the taking end is attached, so frames will not be lost. */
	bool (*tx_connected)(void *tx);
	/* A frame of `size` bytes to fill in place, then publish; NULL on error. */
	void *(*loan)(void *tx, size_t size);
	bool (*publish)(void *tx, void *frame, size_t size);
	/* Optional: the library's own copy-in call, for MODE copy. */
	bool (*write)(void *tx, const void *data, size_t size);
	/* The next frame (polling if `busy`, else sleeping); NULL on error. */
	const void *(*take)(void *rx, bool busy);
	void (*release)(void *rx, const void *frame);
	void (*tx_close)(void *tx);
	void (*rx_close)(void *rx);
};

int peer_main(int argc, char **argv, const struct peer_transport *t);

/* Bind the calling process to the slot-th CPU it may use (0 or 1), so the two
 * processes of a pair never share one (zbbench --pin; the peers' PIN). */
void peer_pin_slot(int slot);
/* Every CPU again (a child about to run a program that pins itself). */
void peer_unpin(void);

/* The ring of a round-trip channel: 1 MiB, or 8 MiB for frames that need it. */
static inline uint64_t peer_rt_ring(size_t size)
{
	return 2 * (size + 16) <= (UINT64_C(1) << 20) ? UINT64_C(1) << 20 : UINT64_C(8) << 20;
}

/* Round trips before the timed ones: a tenth of them (at most 1000), but at
 * least a lap of the ring, so that every page of it is mapped in both
 * processes (a first touch is a page fault of ~10 us, every 4 KiB) and the
 * timed part measures the steady state, as iceoryx's reused chunks do. */
static inline unsigned peer_rt_warm(size_t size, unsigned n)
{
	uint64_t lap = peer_rt_ring(size) / (size + 16) + 2, warm = n / 10 < 1000 ? n / 10 : 1000;

	return (unsigned)(warm > lap ? warm : lap);
}

/* iceoryx's mempools (written into RouDi's configuration by zbbench, used by
 * the peer for its subscriber's queue): about 64 MiB of chunks per frame size,
 * as libzbclient gets a 64 MiB ring, and never fewer than 8. */
static inline uint64_t peer_iceoryx_chunks(size_t size)
{
	uint64_t n = (UINT64_C(64) << 20) / (size + 64);

	return n < 8 ? 8 : n > 4096 ? 4096 : n;
}

/* A subscriber queue that can never hold every chunk: the publisher blocks on
 * a full queue rather than failing to loan. */
static inline uint64_t peer_iceoryx_queue(size_t size)
{
	uint64_t n = peer_iceoryx_chunks(size) - 4;

	return n > 256 ? 256 : n;
}

#ifdef __cplusplus
}
#endif
