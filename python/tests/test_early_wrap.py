# SPDX-License-Identifier: MIT
"""Early wraps (doc/protocol.md section 14, item 21) against the upstream
Python package's reader (../shared): four frames into a ring the reader keeps
up with, zbclient's writer goes back to 0 behind a wrap marker although the
frame would still fit. Frames of exactly 1 MiB in an 8 MiB ring: a writer that
wraps only when it must never writes a marker there, so every extra entry in
payload_written_count is an early wrap, and the upstream reader must have
followed each one to read every frame intact."""

import mmap
import os
import struct
import sys
import time

import zbclient

RING = 8 << 20
SIZE = (1 << 20) - 16
COUNT = 24
FREE_BYTES, WRITTEN_COUNT = 0x28, 0x40  # control-block offsets (doc/protocol.md 4)

UPSTREAM_READER = """
import sys
from zerobuffer import Reader, BufferConfig
name, count, size, ring = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def pattern(seq):
    return bytes([(seq * 7 + i) & 0xff for i in range(256)]) * (size // 256) + bytes(size % 256)
with Reader(name, BufferConfig(metadata_size=1024, payload_size=ring)) as reader:
    print("ready", flush=True)
    for seq in range(1, count + 1):
        frame = reader.read_frame(timeout=30)
        assert frame is not None, seq
        assert frame.sequence == seq, (frame.sequence, seq)
        assert bytes(frame.data) == pattern(seq), seq
        reader.release_frame(frame)
    print("frames=%d bytes=%d seconds=0" % (count, count * size), flush=True)
"""


def pattern(seq):
    return bytes([(seq * 7 + i) & 0xff for i in range(256)]) * (SIZE // 256) + bytes(SIZE % 256)


def field(seg, offset):
    return struct.unpack_from("<Q", seg, offset)[0]


def wait_drained(seg):
    """The upstream reader gave every byte back: the ring's own free count."""
    deadline = time.monotonic() + 30
    while field(seg, FREE_BYTES) != RING:
        assert time.monotonic() < deadline, "the upstream reader did not drain the ring"
        time.sleep(0.0005)


def test_early_wrap_upstream_python_reader(spawn, upstream_env, name):
    p = spawn([sys.executable, "-u", "-c", UPSTREAM_READER, name, COUNT, SIZE, RING],
              env=upstream_env)
    fd = os.open("/dev/shm/" + name, os.O_RDONLY)
    try:
        seg = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    with seg, zbclient.Writer.open(name) as w:
        for seq in range(1, COUNT + 1):
            wait_drained(seg)
            if seq % 2:
                w.write(pattern(seq), timeout=30)
            else:
                v = w.acquire(SIZE, timeout=30)
                v[:] = pattern(seq)
                w.commit()
        markers = field(seg, WRITTEN_COUNT) - COUNT
        assert p.result()["frames"] == COUNT
    assert markers > 0
