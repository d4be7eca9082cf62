# SPDX-License-Identifier: MIT
"""zbclient.Daemon against a real zbd on a private socket."""

import json
import os
import signal
import subprocess
import time

import pytest

import zbclient
from conftest import objects_left, tool


def zbctl_json(zbd, *args):
    r = subprocess.run([tool("ZBCTL"), "-s", zbd.socket, "--json", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_create_list_destroy(zbd, names):
    a, b = names("a"), names("b")
    with zbd.daemon() as d:
        assert d.socket == zbd.socket and not d.closed
        d.create(a, payload_size=1 << 20, metadata_size=256, mode=0o660)
        d.create(b)
        assert {a, b} <= set(d.list())
        with pytest.raises(zbclient.AlreadyExists) as e:
            d.create(a)
        assert e.value.name == a and a in str(e.value)
        d.destroy(a)
        assert a not in d.list()
        assert objects_left(a) == []
        with pytest.raises(zbclient.NotFound):
            d.destroy(a)
        d.destroy(b, force=True)
    assert d.closed
    with pytest.raises(ValueError, match="closed"):
        d.list()
    d.close()


def test_destroy_refused_while_in_use_unless_forced(zbd, name):
    with zbd.daemon() as d:
        d.create(name, payload_size=65536)
        with zbclient.Reader.open(name) as r:
            with pytest.raises(zbclient.Busy):
                d.destroy(name)
            d.destroy(name, force=True)
            with pytest.raises(zbclient.Destroyed):
                r.read(0.2)


def test_health_has_the_fields_and_values_of_zbctl_json(zbd, name):
    with zbd.daemon() as d:
        d.create(name, payload_size=1 << 16, metadata_size=128, mode=0o640)
        with zbclient.Reader.open(name) as r, zbclient.Writer.open(name) as w:
            for _ in range(10):
                w.write(b"x" * 100)
            for _ in range(4):
                r.read(1).release()
            report = d.health(name)
            want = zbctl_json(zbd, "health", name)
        assert isinstance(report, zbclient.HealthReport)
        assert report.status == want["status"] == 0
        daemon = report.daemon
        assert isinstance(daemon, zbclient.DaemonHealth)
        assert list(type(daemon).__match_args__) == list(want["daemon"])
        assert daemon.daemon == "zbd" and daemon.pid == zbd.proc.pid
        assert daemon.version == want["daemon"]["version"] == zbclient.__version__
        assert daemon.buffers == want["daemon"]["buffers"] == 1
        assert daemon.clients >= 1 and daemon.uptime_s >= 0
        [h] = report.buffers
        assert isinstance(h, zbclient.BufferHealth)
        [j] = want["buffers"]
        assert list(type(h).__match_args__) == list(j), "same fields, same order"
        # Counters zbd's scan may move between the two requests are left out.
        for key in ("buffer", "state", "payload_size", "metadata_size", "used_bytes",
                    "reader_pid", "writer_pid", "reader_alive", "writer_alive",
                    "frames_written", "frames_read", "readers_reaped", "writers_reaped",
                    "frames_lost", "adopted"):
            assert getattr(h, key) == j[key], key
        assert h.buffer == name and h.state == "healthy"
        assert h.reader_pid == h.writer_pid == os.getpid()
        assert h.frames_written == 10 and h.frames_read == 4
        assert h.used_bytes == 6 * 116 and h.utilisation == pytest.approx(100 * 696 / 65536, 0.1)
        assert h.mode == 0o640 == int(j["mode"], 8)
        assert isinstance(h.write_rate_fps, float)


def test_health_of_every_buffer(zbd, names):
    a, b = names("a"), names("b")
    with zbd.daemon() as d:
        d.create(a)
        d.create(b)
        report = d.health()
        assert [h.buffer for h in report.buffers] == [
            j["buffer"] for j in zbctl_json(zbd, "health")["buffers"]]
        assert {a, b} <= {h.buffer for h in report.buffers}
        with pytest.raises(zbclient.NotFound):
            d.health(names("none"))
        with pytest.raises(zbclient.InvalidArgument):
            d.health("no good")


def test_a_killed_writer_is_noticed_quickly(zbd, name, peers):
    with zbd.daemon() as d:
        d.create(name, payload_size=1 << 16)
    with zbclient.Reader.open(name) as r:
        w = peers("write", name, 3, 100, "--stay")
        for _ in range(3):
            r.read(10).release()
        w.proc.kill()
        t0 = time.monotonic()
        with pytest.raises(zbclient.WriterGone):
            r.read(10)
        assert time.monotonic() - t0 < 5  # zbd: milliseconds; the protocol: 5 s


def test_a_stopped_zbd_times_out_and_the_connection_recovers(zbd, name):
    with zbd.daemon(timeout=5) as d:
        d.create(name)
        zbd.proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(zbclient.Timeout):
                zbclient.Daemon(zbd.socket, timeout=0.2).list()
        finally:
            zbd.proc.send_signal(signal.SIGCONT)
        assert name in d.list()


def test_daemon_arguments(zbd):
    with pytest.raises(ValueError):
        zbclient.Daemon(zbd.socket, timeout=0)
    with pytest.raises(TypeError):
        zbd.daemon().create(b"bytes")
    with zbclient.Daemon(socket=zbd.socket) as d:
        assert "Daemon" in repr(d)
    os.environ["ZBD_SOCKET"] = zbd.socket
    try:
        assert zbclient.default_socket() == zbd.socket
        with zbclient.Daemon() as d:
            assert d.socket == zbd.socket
    finally:
        del os.environ["ZBD_SOCKET"]
