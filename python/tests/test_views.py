# SPDX-License-Identifier: MIT
"""Views after release: a view must never show bytes the writer has since
overwritten. The choice (README, zbclient/reader.c): releasing a frame, or
closing its reader, while a view of it is exported fails loudly with
BufferError and changes nothing; a frame released exports no new view
(ValueError). On the writer's side, commit() and close() refuse the same way
while a view of the acquired frame other than acquire()'s own is alive."""

import gc

import numpy as np
import pytest

import zbclient

PAYLOAD = 4096


@pytest.fixture
def ring_sizes():
    return {"payload_size": PAYLOAD}


def test_release_refused_while_a_memoryview_is_exported(ring):
    r, w = ring
    w.write(b"a" * 100)
    f = r.read(1)
    m = memoryview(f)
    with pytest.raises(BufferError, match="cannot release frame 1 while 1 view"):
        f.release()
    assert not f.released and m.tobytes() == b"a" * 100
    with pytest.raises(BufferError):
        r.release(f)
    with pytest.raises(BufferError):
        with f:
            pass
    m.release()
    f.release()
    assert f.released


def test_release_refused_while_a_numpy_array_lives(ring):
    r, w = ring
    w.write(np.full(256, 7, dtype=np.uint8))
    f = r.read(1)
    a = np.frombuffer(f, dtype=np.uint8).reshape(16, 16)
    b = a[2:5]  # a view of the view: keeps the export too
    del a
    with pytest.raises(BufferError):
        f.release()
    del b
    gc.collect()
    f.release()


def test_no_view_after_release(ring):
    r, w = ring
    w.write(b"x" * 10)
    f = r.read(1)
    f.release()
    with pytest.raises(ValueError, match="released"):
        memoryview(f)
    with pytest.raises(ValueError, match="released"):
        bytes(f)
    with pytest.raises(ValueError, match="released"):
        np.frombuffer(f, dtype=np.uint8)
    assert f.sequence == 1 and f.size == 10  # still known


def test_a_held_view_keeps_the_writer_off_its_bytes(ring):
    """The frame a view shows is not given back, so the writer cannot reuse
    its space: the ring fills up instead, and the view stays intact."""
    r, w = ring
    w.write(b"A" * 1500)
    f = r.read(1)
    a = np.frombuffer(f, dtype=np.uint8)
    with pytest.raises(BufferError):
        f.release()
    # Everything else the ring can take is written and read; the held frame's
    # space is still taken, so the writer runs out rather than overwrite it.
    written = 0
    with pytest.raises(zbclient.BufferFull):
        while True:
            w.write(b"B" * 1500, timeout=0.05)
            written += 1
            r.read(1).release()
    assert written >= 1
    assert bytes(a) == b"A" * 1500
    del a
    f.release()
    w.write(b"C" * 1500, timeout=1)  # the space came back


def test_reader_close_refused_while_a_view_is_exported(name):
    r = zbclient.Reader.create(name, payload_size=PAYLOAD)
    w = zbclient.Writer.open(name)
    w.write(b"abc")
    f = r.read(1)
    m = memoryview(f)
    with pytest.raises(BufferError, match="cannot close the reader"):
        r.close()
    with pytest.raises(BufferError):
        r.__exit__(None, None, None)
    assert not r.closed and m.tobytes() == b"abc"
    m.release()
    r.close()
    assert f.released
    w.close()


def test_commit_refused_while_an_array_of_the_acquired_frame_lives(ring):
    r, w = ring
    v = w.acquire(64)
    a = np.frombuffer(v, dtype=np.uint8)
    a[:] = 9
    with pytest.raises(BufferError, match="cannot commit"):
        w.commit()
    # Nothing was published, the frame is still acquired and writable.
    with pytest.raises(zbclient.Timeout):
        r.read(0)
    assert w.acquired
    a[0] = 1
    del a
    w.commit()
    with r.read(1) as f:
        assert bytes(f) == b"\x01" + b"\x09" * 63


def test_commit_refused_while_a_slice_lives(ring):
    r, w = ring
    v = w.acquire(8)
    s = v[2:4]
    v[:] = b"abcdefgh"
    with pytest.raises(BufferError):
        w.commit()
    del s
    w.commit()  # acquire()'s memoryview was already released by the first try
    with r.read(1) as f:
        assert bytes(f) == b"abcdefgh"


def test_the_acquired_frame_exports_nothing_after_commit(ring):
    r, w = ring
    v = w.acquire(8)
    exporter = v.obj
    w.commit()
    with pytest.raises(ValueError, match="committed"):
        memoryview(exporter)


def test_writer_close_refused_while_an_array_of_the_acquired_frame_lives(name):
    r = zbclient.Reader.create(name, payload_size=PAYLOAD)
    w = zbclient.Writer.open(name)
    a = np.frombuffer(w.acquire(16), dtype=np.uint8)
    with pytest.raises(BufferError, match="close the writer"):
        w.close()
    assert not w.closed
    del a
    w.close()  # drops the acquired frame: nothing was published
    assert not r.writer_connected
    with pytest.raises(zbclient.Timeout):
        r.read(0)
    r.close()
