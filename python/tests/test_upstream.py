# SPDX-License-Identifier: MIT
"""Against the upstream ZeroBuffer Python package (../shared), both ways, as
real processes: upstream's reader with zbclient's writer and the other way
round, for the native API and for zbclient.zerobuffer.

Sizes are multiples of 16 and fixed per stream: the upstream reader reads
past the ring when a wrap leaves under 16 bytes, and the upstream writer
writes past it when a frame ends exactly at the ring's end (both known
upstream defects, ../shared/upstream-zerobuffer/README.md), which these
tests are not about."""

import sys

import pytest

import zbclient
from conftest import pattern, python_peer

RING = 65536


PATTERN_PY = """
def pattern(seq, size):
    start = (seq * 7) % 256
    return (bytes(range(256)) * ((size + start) // 256 + 1))[start:start + size]
"""


def reader_script(package, then=""):
    """A reader on the upstream API of `package` (zerobuffer, or
    zbclient.zerobuffer) that creates the buffer, checks `count` frames of
    `size` bytes and the metadata, then runs `then` (lines indented as in a
    with block) before it reports."""
    return PATTERN_PY + f"""
import sys
from {package} import Reader, BufferConfig, WriterDeadException
name, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with Reader(name, BufferConfig(metadata_size=1024, payload_size={RING})) as reader:
    print("ready", flush=True)
    for seq in range(1, count + 1):
        frame = reader.read_frame(timeout=30)
        assert frame is not None, seq
        assert frame.sequence == seq, (frame.sequence, seq)
        assert bytes(frame.data) == pattern(seq, size), seq
        reader.release_frame(frame)
    print("metadata=" + bytes(reader.get_metadata()).decode(), flush=True)
{then}
    print("frames=%d bytes=%d seconds=0" % (count, count * size), flush=True)
"""


UPSTREAM_READER = reader_script("zerobuffer")

UPSTREAM_WRITER = PATTERN_PY + """
import sys
from zerobuffer import Writer
name, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with Writer(name) as writer:
    print("ready", flush=True)
    writer.set_metadata(b"from upstream")
    for seq in range(1, count + 1):
        if seq % 2:
            writer.write_frame(pattern(seq, size))
        else:
            buf = writer.get_frame_buffer(size)
            buf[:] = pattern(seq, size)
            writer.commit_frame()
    print("frames=%d bytes=%d seconds=0" % (count, count * size), flush=True)
"""


def test_upstream_reader_zbclient_writer(spawn, upstream_env, name):
    count, size = 3000, 1008
    p = python_peer(spawn, UPSTREAM_READER, name, count, size, env=upstream_env)
    with zbclient.Writer.open(name) as w:
        w.set_metadata(b"from zbclient")
        for seq in range(1, count + 1):
            if seq % 2:
                w.write(pattern(seq, size), timeout=30)
            else:
                v = w.acquire(size, timeout=30)
                v[:] = pattern(seq, size)
                w.commit()
    res = p.result()
    assert res["frames"] == count
    assert "metadata=from zbclient" in p.stdout


def test_zbclient_reader_upstream_writer(spawn, upstream_env, name):
    count, size = 3000, 1008
    with zbclient.Reader.create(name, payload_size=RING) as r:
        p = python_peer(spawn, UPSTREAM_WRITER, name, count, size, env=upstream_env)
        for seq in range(1, count + 1):
            with r.read(30) as f:
                assert f.sequence == seq
                assert bytes(f) == pattern(seq, size), seq
        assert r.metadata == b"from upstream"
        assert p.result()["frames"] == count
        with pytest.raises(zbclient.WriterGone):
            r.read(30)


COMPAT_READER = reader_script("zbclient.zerobuffer", """\
    try:
        reader.read_frame(timeout=30)
    except WriterDeadException:
        print("writer gone", flush=True)""")


def test_compat_reader_upstream_writer(spawn, upstream_env, name):
    count, size = 2000, 2032
    r = python_peer(spawn, COMPAT_READER, name, count, size, env=upstream_env)
    w = python_peer(spawn, UPSTREAM_WRITER, name, count, size, env=upstream_env)
    assert w.result()["frames"] == count
    assert r.result()["frames"] == count
    assert "metadata=from upstream" in r.stdout and "writer gone" in r.stdout


def test_upstream_reader_compat_writer(spawn, upstream_env, name):
    count, size = 2000, 2032
    compat_writer = UPSTREAM_WRITER.replace("from zerobuffer import", "from zbclient.zerobuffer import")
    r = python_peer(spawn, UPSTREAM_READER, name, count, size, env=upstream_env)
    w = python_peer(spawn, compat_writer, name, count, size, env=upstream_env)
    assert w.result()["frames"] == count
    assert r.result()["frames"] == count
    assert "metadata=from upstream" in r.stdout
