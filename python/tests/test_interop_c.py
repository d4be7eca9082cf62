# SPDX-License-Identifier: MIT
"""Both directions against the C library, as real processes: zbpy-peer (a C
program on the public API) and zbctl read/write."""

import subprocess
import time

import numpy as np
import pytest

import zbclient
from conftest import frame_size, pattern, tool

# Sizes that make frames wrap, with and without a marker, in a small ring.
LO, HI = 1, 3000
RING = 16384


@pytest.mark.parametrize("mode", ["copy", "zc"])
def test_c_writer_to_python_reader(name, peers, mode):
    count = 2000
    with zbclient.Reader.create(name, payload_size=RING) as r:
        extra = ["--zc"] if mode == "zc" else []
        w = peers("write", name, count, LO, HI, "--metadata", "from C", *extra)
        for seq in range(1, count + 1):
            with r.read(30) as f:
                assert f.sequence == seq
                assert bytes(f) == pattern(seq, frame_size(seq, LO, HI)), seq
        assert r.metadata == b"from C"
        assert w.result()["frames"] == count
        with pytest.raises(zbclient.WriterGone):
            r.read(10)


def fill(view, seq):
    np.frombuffer(view, dtype=np.uint8)[:] = np.frombuffer(
        pattern(seq, len(view)), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["write", "acquire"])
def test_python_writer_to_c_reader(name, peers, mode):
    count = 2000
    reader = peers("read", name, count, LO, HI, "--verify", "--create", RING)
    with zbclient.Writer.open(name) as w:
        for seq in range(1, count + 1):
            n = frame_size(seq, LO, HI)
            if mode == "write":
                w.write(pattern(seq, n), timeout=30)
            else:
                v = w.acquire(n, timeout=30)
                fill(v, seq)
                w.commit()
        assert w.stats.frames == count
    res = reader.result()
    assert res["frames"] == count


def test_python_reader_holds_frames_out_of_order(name, peers):
    """Up to 7 frames held at once, released in a shuffled order, while a C
    writer keeps the small ring full: nothing is overwritten while held."""
    count, rng = 3000, np.random.default_rng(1)
    with zbclient.Reader.create(name, payload_size=8192) as r:
        w = peers("write", name, count, 16, 900)
        held = []
        for seq in range(1, count + 1):
            f = r.read(30)
            assert f.sequence == seq
            held.append(f)
            if len(held) == 7 or seq == count:
                for i in rng.permutation(len(held)):
                    f = held[i]
                    assert bytes(f) == pattern(f.sequence, frame_size(f.sequence, 16, 900))
                    f.release()
                held = []
        assert w.result()["frames"] == count


def test_c_reader_holding_frames_against_a_python_writer(name, peers):
    count = 1500
    reader = peers("read", name, count, 16, 900, "--verify", "--hold", 5, "--create", 8192)
    with zbclient.Writer.open(name) as w:
        for seq in range(1, count + 1):
            w.write(pattern(seq, frame_size(seq, 16, 900)), timeout=30)
    assert reader.result()["frames"] == count


def test_zbctl_write_to_python_reader(name):
    with zbclient.Reader.create(name) as r:
        p = subprocess.run([tool("ZBCTL"), "write", name, "--lines", "--metadata", "text/plain"],
                           input="frame one\nframe two\n", capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr
        assert r.metadata == b"text/plain"
        assert [bytes(f) for f in (r.read(5), r.read(5))] == [b"frame one", b"frame two"]


def test_python_writer_to_zbctl_read(name):
    p = subprocess.Popen([tool("ZBCTL"), "read", name, "--lines", "--create"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                w = zbclient.Writer.open(name)
                break
            except zbclient.NotFound:
                assert time.monotonic() < deadline, "zbctl read --create made no buffer"
                time.sleep(0.01)
        with w:
            w.set_metadata(b"text/plain")
            for line in (b"alpha", b"beta", b"gamma"):
                w.write(line)
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert out == "alpha\nbeta\ngamma\n"
    finally:
        p.kill()
        p.wait()
