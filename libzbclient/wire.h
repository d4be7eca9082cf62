/* SPDX-License-Identifier: MIT */
/*
 * The ZeroBuffer v1 wire format (doc/protocol.md), defined once for the
 * library and the daemon. Everything in this file is part of the contract with
 * the C++, C# and Python implementations: do not reorder, resize or renumber.
 */
#pragma once

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define ZB_OIEB_SIZE 128u
#define ZB_VERSION_MAJOR_WIRE 1u
#define ZB_VERSION_MINOR_WIRE 0u
#define ZB_VERSION_PATCH_WIRE 0u
#define ZB_FRAME_HEADER_SIZE 16u
#define ZB_BLOCK_ALIGN 64u
#define ZB_DEFAULT_METADATA_SIZE 1024u
#define ZB_DEFAULT_PAYLOAD_SIZE (1024u * 1024u)
#define ZB_LOCK_DIR "/tmp/zerobuffer"

/* All fields little-endian; we only build for little-endian hosts. */
struct zb_oieb {
	uint32_t oieb_size;
	uint8_t version[4];
	uint64_t metadata_size;
	uint64_t metadata_free_bytes;
	uint64_t metadata_written_bytes;
	uint64_t payload_size;
	uint64_t payload_free_bytes;
	uint64_t payload_write_pos;
	uint64_t payload_read_pos;
	uint64_t payload_written_count;
	uint64_t payload_read_count;
	uint64_t writer_pid;
	uint64_t reader_pid;
	/* Ours, in the first reserved word (upstream peers never look there): the
	 * pid of the zbd that stands in for an absent reader, or 0. While
	 * reader_pid holds that value it means "no reader yet", and a reader may
	 * take the slot from it (ring.h). doc/protocol.md section 14. */
	uint64_t reader_standin;
	uint64_t reserved[3];
};

struct zb_frame_header {
	uint64_t payload_size;
	uint64_t sequence_number;
};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian");
static_assert(sizeof(struct zb_oieb) == 128, "OIEB is 128 bytes");
static_assert(offsetof(struct zb_oieb, oieb_size) == 0x00, "oieb_size");
static_assert(offsetof(struct zb_oieb, version) == 0x04, "version");
static_assert(offsetof(struct zb_oieb, metadata_size) == 0x08, "metadata_size");
static_assert(offsetof(struct zb_oieb, metadata_free_bytes) == 0x10, "metadata_free_bytes");
static_assert(offsetof(struct zb_oieb, metadata_written_bytes) == 0x18, "metadata_written_bytes");
static_assert(offsetof(struct zb_oieb, payload_size) == 0x20, "payload_size");
static_assert(offsetof(struct zb_oieb, payload_free_bytes) == 0x28, "payload_free_bytes");
static_assert(offsetof(struct zb_oieb, payload_write_pos) == 0x30, "payload_write_pos");
static_assert(offsetof(struct zb_oieb, payload_read_pos) == 0x38, "payload_read_pos");
static_assert(offsetof(struct zb_oieb, payload_written_count) == 0x40, "payload_written_count");
static_assert(offsetof(struct zb_oieb, payload_read_count) == 0x48, "payload_read_count");
static_assert(offsetof(struct zb_oieb, writer_pid) == 0x50, "writer_pid");
static_assert(offsetof(struct zb_oieb, reader_pid) == 0x58, "reader_pid");
static_assert(offsetof(struct zb_oieb, reader_standin) == 0x60, "reader_standin");
static_assert(offsetof(struct zb_oieb, reserved) == 0x68, "reserved");
static_assert(sizeof(struct zb_frame_header) == 16, "frame header is 16 bytes");
static_assert(offsetof(struct zb_frame_header, payload_size) == 0, "frame payload_size");
static_assert(offsetof(struct zb_frame_header, sequence_number) == 8, "frame sequence_number");

/* Shared fields are touched by other processes: every access goes through these. */
#define zb_load(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define zb_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define zb_store(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define zb_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define zb_fetch_sub(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)

static inline uint64_t zb_align_block(uint64_t n)
{
	return (n + ZB_BLOCK_ALIGN - 1) & ~(uint64_t)(ZB_BLOCK_ALIGN - 1);
}
