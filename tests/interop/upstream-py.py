#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""upstream-py: the real upstream Python ZeroBuffer package as a test peer.

The same command line and status-pipe protocol as upstream-cpp.cpp and the
model peer (upstream.c), so the interop suites drive all three alike:

  upstream-py.py SFD CFD read NAME COUNT SEED MIN MAX PAYLOAD [metadata TEXT] [hold]
                 [timeout MS]
  upstream-py.py SFD CFD write NAME COUNT SEED MIN MAX [zerocopy|alternate] [metadata TEXT]

Either takes `unit N`: every frame takes a multiple of N ring bytes (pattern.h).

Run by /usr/bin/python3 with upstream's posix_ipc shim and package first on
PYTHONPATH (../shared/upstream-zerobuffer/README.md). Frames follow the tests'
pattern (tests/common/pattern.c, reproduced below bit for bit). Exit codes as
upstream-cpp's.
"""

import os
import select
import sys

from zerobuffer import BufferConfig, Reader, Writer
from zerobuffer.exceptions import (BufferFullException, ReaderDeadException, SequenceError,
                                   WriterDeadException, ZeroBufferException)

M64 = (1 << 64) - 1
TABLE_SLACK = 64 * 1024
READ_TIMEOUT_S = 20.0


def splitmix64(state):
    """pattern.c's splitmix64(): the new state and the value."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


class Pattern:
    """pattern.h's struct pattern: sizes and bytes of frame `seq` from a seed."""

    def __init__(self, seed, min_size, max_size, unit=0):
        self.seed = seed
        self.unit = unit
        self.min = min_size or 1
        self.max = max(max_size, self.min)
        s, table = seed, bytearray(self.max + TABLE_SLACK)
        for i in range(len(table)):
            s, v = splitmix64(s)
            table[i] = (v >> 24) & 0xFF
        self.table = bytes(table)

    def mix(self, seq, salt):
        return splitmix64(((self.seed * 0x100000001B3) & M64) ^ seq ^ ((salt << 56) & M64))[1]

    def size(self, seq):
        h = self.mix(seq, 1)
        cap = (self.max - self.min + 1) >> (h % 16)
        size = self.min + (h >> 8) % max(cap, 1)
        if self.unit:
            size = (size + 16 + self.unit - 1) // self.unit * self.unit - 16
        return size

    def data(self, seq, size):
        off = self.mix(seq, 2) % (len(self.table) - size + 1)
        return memoryview(self.table)[off:off + size]


def die(code, what):
    sys.stderr.write(f"upstream-py[{os.getpid()}]: {what}\n")
    sys.stderr.flush()
    os._exit(code)


def word_arg(args, word):
    for i in range(len(args) - 1):
        if args[i] == word:
            return args[i + 1]
    return None


def sem_r_value(name):
    """The count of the buffer's sem-r, through the shim upstream uses."""
    import posix_ipc
    try:
        s = posix_ipc.Semaphore(f"/sem-r-{name}")
    except posix_ipc.Error:
        return -1
    try:
        return s.value
    finally:
        s.close()


def do_read(sfd, cfd, name, count, pat, payload, metadata, hold, timeout_s):
    semr_max = 0
    with Reader(name, BufferConfig(metadata_size=1024, payload_size=payload)) as reader:
        os.write(sfd, b"R")
        held = []
        for seq in range(1, count + 1):
            frame = reader.read_frame(timeout=timeout_s)
            if frame is None:
                die(24, f"no frame {seq} in time")
            if frame.sequence != seq:
                die(20, f"sequence {frame.sequence}, expected {seq}")
            size = pat.size(seq)
            if frame.size != size or frame.data != pat.data(seq, size):
                die(21, f"frame {seq}: size {frame.size} or bytes differ")
            if seq == 1 and metadata is not None:
                got = bytes(reader.get_metadata() or b"")
                if got != metadata.encode():
                    die(42, f"metadata {got!r}")
            held.append(frame)
            # At most 4, and under a quarter of the ring: the writer goes on.
            if (not hold or len(held) == 4 or seq == count
                    or sum(f.size + 16 for f in held) >= payload // 4):
                for f in held:
                    reader.release_frame(f)
                held = []
            if seq % 1024 == 0 or seq == count:
                semr_max = max(semr_max, sem_r_value(name))
        os.write(sfd, f"Dframes={count} semr_max={semr_max}\n".encode())
        # Stay until the test has looked (bounded), then close as upstream does.
        while select.select([cfd], [], [], 60)[0] and os.read(cfd, 1):
            pass
    return 0


def do_write(sfd, name, count, pat, mode, metadata):
    with Writer(name) as writer:
        if metadata is not None:
            writer.set_metadata(metadata.encode())
        os.write(sfd, b"R")
        for seq in range(1, count + 1):
            size = pat.size(seq)
            data = pat.data(seq, size)
            if mode == "zerocopy" or (mode == "alternate" and seq % 2 == 0):
                buf = writer.get_frame_buffer(size)
                buf[:] = data
                del buf
                writer.commit_frame()
            else:
                writer.write_frame(data)
        os.write(sfd, f"Dframes={count} semr_max=0\n".encode())
    return 0


def main(argv):
    if len(argv) < 10:
        die(2, "usage: upstream-py.py SFD CFD read|write NAME COUNT SEED MIN MAX [...]")
    sfd, cfd, mode, name = int(argv[1]), int(argv[2]), argv[3], argv[4]
    count, seed = int(argv[5], 0), int(argv[6], 0)
    pat = Pattern(seed, int(argv[7], 0), int(argv[8], 0), int(word_arg(argv[9:], "unit") or 0))
    try:
        if mode == "read":
            rest = argv[10:]
            return do_read(sfd, cfd, name, count, pat, int(argv[9], 0),
                           word_arg(rest, "metadata"), "hold" in rest,
                           int(word_arg(rest, "timeout") or READ_TIMEOUT_S * 1000) / 1000)
        if mode == "write":
            rest = argv[9:]
            wmode = "zerocopy" if "zerocopy" in rest else "alternate" if "alternate" in rest else ""
            return do_write(sfd, name, count, pat, wmode, word_arg(rest, "metadata"))
        die(2, f"bad mode {mode}")
    except WriterDeadException as e:
        die(22, repr(e))
    except ReaderDeadException as e:
        die(26, repr(e))
    except BufferFullException as e:
        die(25, repr(e))
    except SequenceError as e:
        die(20, repr(e))
    except ZeroBufferException as e:
        die(41 if "reader" in str(e).lower() and "no" in str(e).lower() else 23, repr(e))
    except Exception as e:  # upstream's own bugs surface as ValueError and the like
        die(23, repr(e))
    return 0


if __name__ == "__main__":
    # A test that fails before ending us must not leave us behind.
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except OSError:
        pass
    if os.getppid() == 1:
        sys.exit(3)
    sys.exit(main(sys.argv))
