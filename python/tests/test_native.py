# SPDX-License-Identifier: MIT
"""The native API, in one process: every call of Reader, Frame and Writer."""

import gc
import weakref

import numpy as np
import pytest

import zbclient
from conftest import objects_left


def test_create_open_and_close_remove_everything(name):
    r = zbclient.Reader.create(name, payload_size=4096, metadata_size=128, mode=0o640)
    assert r.owner and not r.closed and r.name == name
    assert objects_left(name), "create made no objects"
    w = zbclient.Writer.open(name)
    assert w.name == name and not w.closed
    w.close()
    w.close()  # twice does nothing
    r.close()
    r.close()
    assert r.closed and w.closed
    assert objects_left(name) == []


def test_handles_cannot_be_made_directly(name):
    with pytest.raises(TypeError, match="Reader.open"):
        zbclient.Reader(name)
    with pytest.raises(TypeError, match="Writer.open"):
        zbclient.Writer(name)
    with pytest.raises(TypeError):
        zbclient.Frame()


def test_write_read_release(ring):
    r, w = ring
    w.write(b"hello")
    w.write(bytearray(b"world!"))
    w.write(memoryview(b"xyz"))
    w.write(np.arange(4, dtype=np.uint32))
    for seq, want in enumerate([b"hello", b"world!", b"xyz",
                                np.arange(4, dtype=np.uint32).tobytes()], 1):
        f = r.read(timeout=1)
        assert isinstance(f, zbclient.Frame)
        assert f.sequence == seq and f.size == len(want) and len(f) == len(want)
        assert bytes(f) == want
        assert f.reader is r and not f.released
        f.release()
        assert f.released
        f.release()  # twice does nothing


def test_frame_views_are_zero_copy_and_read_only(ring):
    r, w = ring
    data = np.arange(1000, dtype=np.float32)
    w.write(data)
    f = r.read(1)
    a = np.frombuffer(f, dtype=np.float32)
    assert np.array_equal(a, data)
    assert not a.flags.writeable
    # The same memory twice: no copy was made.
    m = memoryview(f)
    assert np.shares_memory(a, np.frombuffer(m, dtype=np.float32))
    assert m.readonly and m.nbytes == data.nbytes
    with pytest.raises(TypeError):
        m[0] = 1
    with pytest.raises(ValueError):
        np.frombuffer(f, dtype=np.uint8).setflags(write=True)
    m.release()
    del a
    f.release()


def test_several_frames_held_and_released_out_of_order(ring):
    r, w = ring
    for i in range(10):
        w.write(bytes([i]) * (100 + i))
    frames = [r.read(1) for _ in range(10)]
    assert [f.sequence for f in frames] == list(range(1, 11))
    for i in (5, 0, 9, 3, 1, 2, 8, 4, 7, 6):
        assert bytes(frames[i]) == bytes([i]) * (100 + i)
        r.release(frames[i])
    assert all(f.released for f in frames)
    # All space came back: a frame of most of the ring fits again.
    w.write(b"z" * 30000, timeout=1)
    with r.read(1) as f:
        assert f.size == 30000


def test_frame_context_manager_releases(ring):
    r, w = ring
    w.write(b"abc")
    with r.read(1) as f:
        assert bytes(f) == b"abc"
    assert f.released


def test_dropping_a_frame_releases_it(ring):
    r, w = ring
    big = b"q" * 20000
    for _ in range(3):
        w.write(big, timeout=1)
        r.read(1)  # dropped at once: released by its destructor
    gc.collect()
    # 3 * 20000 bytes went through a 64 KiB ring: the space came back.
    assert r.stats.frames == 3


def test_reader_release_checks_its_argument(ring, names):
    r, w = ring
    other_name = names("other")
    with zbclient.Reader.create(other_name) as r2, zbclient.Writer.open(other_name) as w2:
        w2.write(b"x")
        f2 = r2.read(1)
        with pytest.raises(zbclient.InvalidArgument, match="another reader"):
            r.release(f2)
        with pytest.raises(TypeError):
            r.release(b"not a frame")
        f2.release()


def test_acquire_commit(ring):
    r, w = ring
    v = w.acquire(16)
    assert isinstance(v, memoryview) and not v.readonly and v.nbytes == 16
    assert w.acquired
    np.frombuffer(v, dtype=np.uint8)[:] = np.arange(16, dtype=np.uint8)
    w.commit()
    assert not w.acquired
    with pytest.raises(ValueError):
        v[0]  # the memoryview acquire() returned is released by commit()
    with r.read(1) as f:
        assert bytes(f) == bytes(range(16))


def test_commit_a_smaller_size(ring):
    r, w = ring
    v = w.acquire(1000)
    v[:5] = b"short"
    w.commit(5)
    with r.read(1) as f:
        assert bytes(f) == b"short"


def test_commit_size_is_checked(ring):
    r, w = ring
    with pytest.raises(zbclient.InvalidArgument, match="no frame is acquired"):
        w.commit()
    w.acquire(10)
    for bad in (0, 11, -1):
        with pytest.raises(zbclient.InvalidArgument):
            w.commit(bad)
    assert w.acquired
    w.commit(10)


def test_acquire_twice_and_write_while_acquired(ring):
    r, w = ring
    w.acquire(8)
    with pytest.raises(zbclient.InvalidArgument, match="already acquired"):
        w.acquire(8)
    with pytest.raises(zbclient.InvalidArgument, match="acquired"):
        w.write(b"x")
    w.commit()


def test_acquired_view_dropped_early_still_commits(ring):
    r, w = ring
    w.acquire(4)[:] = b"abcd"  # the memoryview dies at once
    w.commit()
    with r.read(1) as f:
        assert bytes(f) == b"abcd"


def test_metadata(ring):
    r, w = ring
    assert r.metadata is None
    w.set_metadata(b"1920x1080 I420")
    assert r.metadata == b"1920x1080 I420"
    with pytest.raises(zbclient.MetadataAlreadySet):
        w.set_metadata(b"again")
    assert r.metadata == b"1920x1080 I420"


def test_metadata_from_any_buffer(name):
    with zbclient.Reader.create(name, metadata_size=256) as r, zbclient.Writer.open(name) as w:
        w.set_metadata(np.array([1, 2, 3], dtype=np.uint16))
        assert np.array_equal(np.frombuffer(r.metadata, dtype=np.uint16), [1, 2, 3])


def test_connected(name):
    with zbclient.Reader.create(name) as r:
        assert not r.writer_connected
        with zbclient.Writer.open(name) as w:
            assert r.writer_connected and w.reader_connected
        assert not r.writer_connected


def test_stats(ring):
    r, w = ring
    assert tuple(r.stats) == (0, 0) and tuple(w.stats) == (0, 0)
    w.write(b"12345")
    w.acquire(3)
    w.commit()
    assert w.stats == (2, 8) and w.stats.frames == 2 and w.stats.bytes == 8
    r.read(1).release()
    r.read(1).release()
    assert isinstance(r.stats, zbclient.Stats)
    assert (r.stats.frames, r.stats.bytes) == (2, 8)


def test_set_spin(ring):
    r, w = ring
    r.set_spin(0)
    w.set_spin(0)
    r.set_spin(100)
    w.set_spin(5)
    with pytest.raises(ValueError):
        r.set_spin(10**8)
    with pytest.raises(OverflowError):
        w.set_spin(-1)
    w.write(b"x")
    r.read(1).release()


def test_poll_and_timeouts(ring):
    r, w = ring
    with pytest.raises(zbclient.Timeout):
        r.read(0)
    with pytest.raises(zbclient.Timeout):
        r.read(timeout=0.05)
    with pytest.raises(ValueError):
        r.read(-1)
    with pytest.raises(ValueError):
        r.read(float("nan"))
    with pytest.raises(TypeError):
        r.read("1")
    with pytest.raises(TypeError):
        r.read(1, 2)
    with pytest.raises(TypeError):
        r.read(time=1)
    w.write(b"x")
    r.read(0).release()
    w.write(b"y")
    r.read(None).release()


def test_iteration_ends_when_the_writer_leaves(name):
    with zbclient.Reader.create(name) as r:
        with zbclient.Writer.open(name) as w:
            for i in range(5):
                w.write(b"%d" % i)
        got = []
        for f in r:
            with f:
                got.append(bytes(f))
        assert got == [b"0", b"1", b"2", b"3", b"4"]


def test_writer_gone_once_then_a_new_writer(name):
    with zbclient.Reader.create(name) as r:
        with zbclient.Writer.open(name) as w:
            w.write(b"a")
        r.read(1).release()
        with pytest.raises(zbclient.WriterGone):
            r.read(1)
        with pytest.raises(zbclient.Timeout):
            r.read(0.05)  # not reported twice: waiting for a new writer
        with zbclient.Writer.open(name) as w:
            w.write(b"b")
            with r.read(1) as f:
                assert f.sequence == 1 and bytes(f) == b"b"


def test_closed_handles_refuse(name):
    r = zbclient.Reader.create(name)
    w = zbclient.Writer.open(name)
    w.write(b"x")
    f = r.read(1)
    w.close()
    r.close()
    assert f.released  # its reader closed
    with pytest.raises(ValueError, match="released"):
        memoryview(f)
    f.release()  # nothing to do
    for call in (lambda: r.read(0), lambda: r.metadata, lambda: r.stats,
                 lambda: r.writer_connected, lambda: r.set_spin(0), lambda: r.__enter__()):
        with pytest.raises(ValueError, match="closed"):
            call()
    for call in (lambda: w.write(b"x"), lambda: w.acquire(1), lambda: w.commit(),
                 lambda: w.set_metadata(b""), lambda: w.stats, lambda: w.reader_connected,
                 lambda: w.set_spin(0), lambda: w.__enter__()):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_reader_close_releases_held_frames(name):
    r = zbclient.Reader.create(name)
    with zbclient.Writer.open(name) as w:
        w.write(b"x")
        f = r.read(1)
        r.close()
        assert f.released


def test_repr(ring):
    r, w = ring
    assert name_in(repr(r), r.name) and "Reader" in repr(r)
    assert "Writer" in repr(w)
    w.write(b"abc")
    f = r.read(1)
    assert "sequence=1 size=3" in repr(f)
    f.release()
    assert "released" in repr(f)


def name_in(text, name):
    return repr(name) in text or name in text


def test_weak_references(ring):
    r, w = ring
    assert weakref.ref(r)() is r
    assert weakref.ref(w)() is w


def test_handles_are_freed_without_close(name):
    r = zbclient.Reader.create(name)
    w = zbclient.Writer.open(name)
    w.write(b"x")
    f = r.read(1)
    del w, r
    gc.collect()
    assert objects_left(name), "the frame keeps its reader alive"
    del f
    gc.collect()
    assert objects_left(name) == []


def test_module_helpers():
    assert zbclient.strerror(0) == "success"
    assert zbclient.strerror(-10001) == "writer gone"
    assert zbclient.is_valid_name("camera0")
    for bad in ("", ".", "..", "a/b", "a b", "a=b", "x" * 201, "a\0b", "é", "-a", "sem.x",
                "a\nb"):
        assert not zbclient.is_valid_name(bad), bad
    assert zbclient.NAME_MAX == 200 and zbclient.SIZE_MAX == 1 << 40
    assert zbclient.DEFAULT_SPIN_US == 20
    assert isinstance(zbclient.default_socket(), str)
    assert zbclient.__version__.count(".") == 2


def test_names_are_checked(names):
    with pytest.raises(TypeError):
        zbclient.Reader.create(b"bytes")
    with pytest.raises(zbclient.InvalidArgument, match="NUL"):
        zbclient.Reader.create("a\0b")
    with pytest.raises(zbclient.InvalidArgument, match="NUL"):
        zbclient.Writer.open("a\0b")
    with pytest.raises(ValueError):
        zbclient.Reader.create(names(), mode=0o10000)
    with pytest.raises(ValueError):
        zbclient.Reader.create(names(), payload_size=-1)
    with pytest.raises(TypeError):
        zbclient.Reader.create(names(), payload_size=1.5)


def test_one_reader_and_one_writer_per_process(name):
    """The library would let this process attach twice (the slot holds its
    own pid); two handles would then race on one side of the ring."""
    with zbclient.Reader.create(name) as r:
        with pytest.raises(zbclient.Busy, match="this process already has a reader"):
            zbclient.Reader.open(name)
        with pytest.raises(zbclient.Busy):
            zbclient.Reader.create(name)
        w = zbclient.Writer.open(name)
        with pytest.raises(zbclient.Busy, match="this process already has a writer"):
            zbclient.Writer.open(name)
        w.close()
        zbclient.Writer.open(name).close()  # free again once closed
        w = zbclient.Writer.open(name)
        del w  # and once freed
        gc.collect()
        with zbclient.Writer.open(name) as w:
            w.write(b"still one writer")
            with r.read(1) as f:
                assert bytes(f) == b"still one writer"
    with zbclient.Reader.create(name):  # the reader's record went with it
        pass
