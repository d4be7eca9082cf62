# SPDX-License-Identifier: MIT
"""Threads: blocking calls release the GIL; handles shared between threads
stay consistent (calls are serialised, releases from other threads are
queued, close() from another thread ends a wait)."""

import queue
import threading
import time

import numpy as np
import pytest

import zbclient
from conftest import frame_size, pattern


def spin_counter(stop):
    """Count in Python until told to stop: progresses only with the GIL."""
    n = 0
    while not stop.is_set():
        n += 1
    return n


def run_while(blocked, call):
    """Run `call` in a thread while this thread counts; return the count
    and what the call raised or returned."""
    out = {}

    def target():
        try:
            out["value"] = call()
        except BaseException as e:  # noqa: B902 - reported to the test
            out["error"] = e
        finally:
            blocked.set()

    t = threading.Thread(target=target)
    t.start()
    n = spin_counter(blocked)
    t.join(10)
    assert not t.is_alive()
    return n, out


@pytest.fixture
def ring_sizes():
    return {"payload_size": 8192}


def test_blocked_read_releases_the_gil(ring):
    r, w = ring
    done = threading.Event()
    n, out = run_while(done, lambda: r.read(0.5))
    assert isinstance(out.get("error"), zbclient.Timeout)
    # Counting went on during the half second the read waited (with the GIL
    # held it could not have counted at all).
    assert n > 1000


def test_blocked_write_and_acquire_release_the_gil(ring):
    r, w = ring
    w.write(b"x" * 6000)
    done = threading.Event()
    n, out = run_while(done, lambda: w.write(b"y" * 6000, timeout=0.5))
    assert isinstance(out.get("error"), zbclient.BufferFull) and n > 1000
    done = threading.Event()
    n, out = run_while(done, lambda: w.acquire(6000, timeout=0.5))
    assert isinstance(out.get("error"), zbclient.BufferFull) and n > 1000


def test_a_read_waits_for_another_threads_write(ring):
    r, w = ring
    t = threading.Timer(0.2, lambda: w.write(b"late"))
    t.start()
    t0 = time.monotonic()
    with r.read(5) as f:
        assert bytes(f) == b"late"
    assert time.monotonic() - t0 < 4
    t.join()


def test_close_from_another_thread_ends_a_blocked_read(ring):
    r, w = ring
    got = {}

    def reader():
        try:
            r.read(None)
        except ValueError as e:
            got["error"] = e

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.2)
    r.close()
    t.join(5)
    assert not t.is_alive()
    assert "closed" in str(got["error"])


def test_frames_released_by_worker_threads(name, peers):
    """One thread reads, four threads release (out of order, while the
    reader waits in read()): every frame arrives intact, in order, and the
    ring's space always comes back."""
    count, lo, hi = 3000, 16, 700
    with zbclient.Reader.create(name, payload_size=16384) as r:
        writer = peers("write", name, count, lo, hi)
        work = queue.Queue(maxsize=64)
        errors = []

        def worker():
            while True:
                f = work.get()
                if f is None:
                    return
                try:
                    assert bytes(f) == pattern(f.sequence, frame_size(f.sequence, lo, hi))
                    time.sleep(0.0001 * (f.sequence % 3))
                    f.release()
                except BaseException as e:  # noqa: B902
                    errors.append(e)

        workers = [threading.Thread(target=worker) for _ in range(4)]
        for t in workers:
            t.start()
        for seq in range(1, count + 1):
            f = r.read(30)
            assert f.sequence == seq
            work.put(f)
            del f
        for _ in workers:
            work.put(None)
        for t in workers:
            t.join(30)
        assert not errors, errors[0]
        assert writer.result()["frames"] == count
        assert r.stats.frames == count


def test_threads_share_one_writer(name):
    """Four threads write through one writer: each write is whole."""
    n_threads, per_thread = 4, 500
    with zbclient.Reader.create(name, payload_size=1 << 16) as r:
        with zbclient.Writer.open(name) as w:
            def write(k):
                for i in range(per_thread):
                    w.write(np.full(100 + k, k, dtype=np.uint8), timeout=30)

            threads = [threading.Thread(target=write, args=(k,)) for k in range(n_threads)]
            for t in threads:
                t.start()
            seen = [0] * n_threads
            for _ in range(n_threads * per_thread):
                with r.read(30) as f:
                    a = np.frombuffer(f, dtype=np.uint8)
                    k = int(a[0])
                    assert a.size == 100 + k and (a == k).all()
                    del a
                    seen[k] += 1
            for t in threads:
                t.join(30)
            assert seen == [per_thread] * n_threads
