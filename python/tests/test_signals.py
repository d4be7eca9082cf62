# SPDX-License-Identifier: MIT
"""Ctrl-C: SIGINT to a process blocked in a wait raises KeyboardInterrupt
there promptly (the library waits in slices of WAIT_SLICE_MS); a signal
whose handler does not raise lets the wait go on."""

import signal
import socket
import sys
import threading
import time

import pytest

import zbclient


# Generous for a loaded machine; a slice is 50 ms.
MAIN = threading.main_thread().ident
PROMPT_S = 1.0

BLOCKED = r"""
import sys, time, zbclient
name, what = sys.argv[1], sys.argv[2]
with zbclient.Reader.create(name, payload_size=4096) as r:
    w = zbclient.Writer.open(name)
    if what != "read":
        w.write(b"x" * 3000)           # the ring is now too full for another
    print("ready", flush=True)
    try:
        if what == "read":
            r.read()                   # no timeout: only a signal ends it
        elif what == "write":
            w.write(b"y" * 3000)
        elif what == "acquire":
            w.acquire(3000)
    except KeyboardInterrupt:
        print("interrupted %.6f" % time.monotonic(), flush=True)
        raise
    print("returned", flush=True)
"""


def interrupt(spawn, name, what):
    p = spawn([sys.executable, "-u", "-c", BLOCKED, name, what])
    time.sleep(0.3)  # well inside the wait
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGINT)
    line = p.readline(10)
    assert line.startswith("interrupted"), line
    latency = float(line.split()[1]) - t0
    rc = p.wait(30)
    assert "KeyboardInterrupt" in p.stderr
    assert rc == -signal.SIGINT or rc == 130 or rc == 1, rc
    return latency


@pytest.mark.parametrize("what", ["read", "write", "acquire"])
def test_ctrl_c_interrupts_a_blocked_call(spawn, name, what):
    latency = interrupt(spawn, name, what)
    assert latency < PROMPT_S, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"


SILENT_DAEMON = r"""
import socket, sys, time, zbclient
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen()
d = zbclient.Daemon(path, timeout=60)
conn, _ = srv.accept()                 # accepted, never answered
print("ready", flush=True)
try:
    d.list()
except KeyboardInterrupt:
    print("interrupted %.6f" % time.monotonic(), flush=True)
    raise
"""


def test_ctrl_c_interrupts_a_daemon_request(spawn, sock_dir):
    p = spawn([sys.executable, "-u", "-c", SILENT_DAEMON, sock_dir / "s.sock"])
    time.sleep(0.3)
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGINT)
    line = p.readline(10)
    assert line.startswith("interrupted"), line
    assert float(line.split()[1]) - t0 < PROMPT_S
    p.wait(30)
    assert "KeyboardInterrupt" in p.stderr


def test_a_handler_that_does_not_raise_lets_the_read_go_on(name):
    calls = []
    old = signal.signal(signal.SIGUSR1, lambda *a: calls.append(a[0]))
    try:
        with zbclient.Reader.create(name) as r, zbclient.Writer.open(name) as w:
            threading.Timer(0.1, signal.pthread_kill, (MAIN, signal.SIGUSR1)).start()
            t = threading.Timer(0.4, w.write, (b"after the signal",))
            t.start()
            with r.read(10) as f:
                assert bytes(f) == b"after the signal"
            t.join()
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert calls == [signal.SIGUSR1]


def test_a_handler_that_raises_ends_the_read(name):
    class Stop(Exception):
        pass

    def handler(*a):
        raise Stop()

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        with zbclient.Reader.create(name) as r:
            threading.Timer(0.1, signal.pthread_kill, (MAIN, signal.SIGUSR1)).start()
            with pytest.raises(Stop):
                r.read(10)
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_a_handler_that_does_not_raise_interrupts_a_create(sock_dir, names):
    """A create cut short by a signal may or may not have reached zbd: it is
    not repeated (Interrupted); a list is (it is safe to repeat)."""
    path = str(sock_dir / "fake.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen()
    conns = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            buf = b""
            while b"\n" not in buf:
                chunk = c.recv(4096)
                if not chunk:
                    break
                buf += chunk
            if buf.startswith(b"list"):
                c.sendall(b"buffer=a\nbuffer=b\nstatus=0\n\n")
            # anything else: never answered

    threading.Thread(target=serve, daemon=True).start()
    old = signal.signal(signal.SIGUSR1, lambda *a: None)
    try:
        d = zbclient.Daemon(path, timeout=30)
        threading.Timer(0.2, signal.pthread_kill, (MAIN, signal.SIGUSR1)).start()
        with pytest.raises(zbclient.Interrupted) as e:
            d.create(names(), payload_size=4096)
        assert isinstance(e.value, InterruptedError)
        assert d.list() == ["a", "b"]  # reconnected: the old one is out of step
        d.close()
    finally:
        signal.signal(signal.SIGUSR1, old)
        srv.close()
        for c in conns:
            c.close()
