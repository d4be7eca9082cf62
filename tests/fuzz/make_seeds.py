#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the crafted seeds of corpus/reader/ (the upstream vectors beside them are
# copies of tests/lib/vectors/). Each seed is a consistent segment image in a state
# the plain vectors do not reach, some followed by an operation script (see
# fuzz_reader.c). Run it again after changing it; the output is deterministic.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'reader')


def frame_bytes(seq, size):
	# The vectors' pattern: byte i of frame k (seq k + 1) is (k*31 + i) & 0xff.
	k = seq - 1
	return struct.pack('<QQ', size, seq) + bytes(((k * 31 + i) & 0xff) for i in range(size))


def image(m, p, placed, write_pos, read_pos, written, read, free, meta=None, script=None):
	"""placed: [(offset, bytes)] in the ring; meta: metadata content or None."""
	meta_written = 0 if meta is None else 8 + len(meta)
	oieb = struct.pack('<I4B', 128, 1, 0, 0, 0)
	oieb += struct.pack('<12Q', m, m - meta_written, meta_written, p, free, write_pos,
			    read_pos, written, read, 0, 0, 0)
	oieb += bytes(128 - len(oieb))
	assert len(oieb) == 128
	mblock = bytearray(m)
	if meta is not None:
		mblock[0:8 + len(meta)] = struct.pack('<Q', len(meta)) + meta
	ring = bytearray(p)
	for off, b in placed:
		assert off + len(b) <= p
		ring[off:off + len(b)] = b
	out = oieb + bytes(mblock) + bytes(ring)
	if script is not None:
		out += bytes(script)
	return out


MARKER = struct.pack('<QQ', 0, 0)


def op(code, arg=0):
	return (arg << 4) | code


READ, READN, RELEASE_AT, RELEASE_ALL, RELEASE_REV, META = 0, 3, 4, 5, 6, 7
WRITE, ACQ_COMMIT, SET_META, W_RESTART, R_RESTART, STATS, BAD_RELEASE = 8, 9, 10, 11, 12, 13, 14

seeds = {}

# Seq 2 at 116 unread, a marker at 232 (24 bytes left), seq 3 wrapped to 0.
seeds['marker-mid-tail'] = image(64, 256,
	[(116, frame_bytes(2, 100)), (232, MARKER), (0, frame_bytes(3, 50))],
	write_pos=66, read_pos=116, written=4, read=1, free=50)

# A marker filling the last 16 bytes exactly, then the frame at 0.
seeds['marker-exact-16'] = image(64, 256, [(240, MARKER), (0, frame_bytes(5, 30))],
	write_pos=46, read_pos=240, written=7, read=5, free=194)

# 8 bytes left at the end: a wrap without a marker.
seeds['tail-under-16'] = image(64, 256, [(0, frame_bytes(2, 40))],
	write_pos=56, read_pos=248, written=2, read=1, free=192)

# A full ring: four frames of 48 bytes, write_pos == read_pos, free 0.
seeds['full'] = image(64, 256, [(i * 64, frame_bytes(i + 1, 48)) for i in range(4)],
	write_pos=0, read_pos=0, written=4, read=0, free=0)

# A frame that ends exactly at P.
seeds['ends-at-p'] = image(64, 128, [(0, frame_bytes(1, 112))],
	write_pos=0, read_pos=0, written=1, read=0, free=0)

# Metadata set, one frame.
seeds['metadata-set'] = image(64, 128, [(0, frame_bytes(1, 20))],
	write_pos=36, read_pos=0, written=1, read=0, free=92, meta=b'hello-fuzz')

# Metadata whose length prefix disagrees with metadata_written_bytes.
bad = bytearray(image(64, 128, [], 0, 0, 0, 0, 128, meta=b'hello-fuzz'))
bad[128:136] = struct.pack('<Q', 100)
seeds['metadata-bad-length'] = bytes(bad)

# An empty ring driven by our own writer and reader: many wraps, odd sizes.
cycle = [op(WRITE, 7), op(READ), op(RELEASE_ALL), op(ACQ_COMMIT, 6), op(WRITE, 13), op(READN, 3),
	 op(RELEASE_REV), op(WRITE, 8), op(READ), op(RELEASE_AT, 0), op(BAD_RELEASE, 1)]
seeds['script-cycles'] = image(64, 1024, [], 0, 0, 0, 0, 1024,
	script=[0x00] + cycle * 12 + [op(META), op(SET_META, 9), op(META), op(STATS)])

# Writer first, fills the ring, reader restarts holding frames, writer restarts.
seeds['script-restarts'] = image(128, 512, [], 0, 0, 0, 0, 512,
	script=[0x13] + [op(WRITE, 6)] * 5 + [op(READN, 2), op(R_RESTART), op(READN, 15),
	op(W_RESTART, 1), op(WRITE, 0), op(READN, 4), op(RELEASE_AT, 1), op(W_RESTART),
	op(WRITE, 11), op(ACQ_COMMIT, 12), op(ACQ_COMMIT, 9), op(RELEASE_ALL), op(READN, 15),
	op(SET_META, 8), op(SET_META, 1), op(META), op(STATS)])

# Waits that must end: a timed write into a full ring, timed reads until it is empty.
TIMED_WRITE, TIMED_READ = (8 << 4) | 15, (9 << 4) | 15
seeds['script-timed'] = seeds['full'] + bytes([0x00, TIMED_WRITE, op(READN, 4), TIMED_READ,
	op(RELEASE_ALL), TIMED_READ, (14 << 4) | 15])

# The upstream wrap vector with a script appended: read across its marker, then write.
with open(os.path.join(OUT, 'wrap-marker.bin'), 'rb') as f:
	seeds['wrap-marker-script'] = f.read() + bytes([0x03, op(READN, 3), op(RELEASE_REV),
		op(WRITE, 7), op(WRITE, 7), op(READN, 3), op(RELEASE_ALL), op(WRITE, 15)])

for name, data in seeds.items():
	with open(os.path.join(OUT, 'crafted-' + name + '.bin'), 'wb') as f:
		f.write(data)

# corpus/zbd_scan/: byte 0 picks the ring (2: 256 bytes, metadata 64, so states of
# 448 bytes), then successive states of the segment as a healthy stream leaves them.
SCAN = os.path.join(HERE, 'corpus', 'zbd_scan')
os.makedirs(SCAN, exist_ok=True)
fresh = image(64, 256, [], 0, 0, 0, 0, 256)
three = image(64, 256, [(i * 64, frame_bytes(i + 1, 48)) for i in range(3)],
	write_pos=192, read_pos=0, written=3, read=0, free=64)
read2 = image(64, 256, [(i * 64, frame_bytes(i + 1, 48)) for i in range(3)],
	write_pos=192, read_pos=128, written=3, read=2, free=192)
wrapped = image(64, 256, [(192, frame_bytes(4, 48)), (0, frame_bytes(5, 48))],
	write_pos=64, read_pos=192, written=5, read=3, free=128)
scan_seeds = {
	'stream': bytes([2]) + fresh + three + read2 + wrapped,
	'full-stalled': bytes([2]) + seeds['full'][:448] + seeds['full'][:448],
	'marker': bytes([2]) + seeds['marker-mid-tail'][:448] + seeds['marker-exact-16'][:448],
}
for name, data in scan_seeds.items():
	with open(os.path.join(SCAN, name + '.bin'), 'wb') as f:
		f.write(data)
