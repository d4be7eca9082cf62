# SPDX-License-Identifier: MIT
"""Every exception class: raised for its library code, under zbclient.Error,
with the code, the errno and the buffer's name (also in the message)."""

import errno
import mmap
import os
import socket
import subprocess
import sys
import threading

import pytest

import zbclient
from conftest import run_python

OIEB_SIZE = 128
METADATA = 1024  # the default metadata block: the ring starts after it

ALL = {
    "InvalidArgument": (-errno.EINVAL, ValueError),
    "NotFound": (-errno.ENOENT, FileNotFoundError),
    "AlreadyExists": (-errno.EEXIST, FileExistsError),
    "Busy": (-errno.EBUSY, None),
    "Timeout": (-errno.ETIMEDOUT, TimeoutError),
    "BufferFull": (-errno.ENOBUFS, None),
    "MetadataAlreadySet": (-errno.EALREADY, None),
    "TooLarge": (-errno.EMSGSIZE, None),
    "NoMetadata": (-errno.ENODATA, None),
    "PermissionDenied": (-errno.EACCES, PermissionError),
    "WriterGone": (-10001, None),
    "ReaderGone": (-10002, None),
    "VersionMismatch": (-10003, None),
    "Corrupt": (-10004, None),
    "Destroyed": (-10005, None),
    "DaemonUnavailable": (-errno.ECONNREFUSED, ConnectionRefusedError),
    "ConnectionLost": (-errno.ECONNRESET, ConnectionResetError),
    "ProtocolError": (-errno.EPROTO, None),
    "Interrupted": (-errno.EINTR, InterruptedError),
}


def check(excinfo, cls, name):
    """The exception is `cls`, carries its code and `name`, says the name."""
    e = excinfo.value
    assert type(e) is cls
    assert isinstance(e, zbclient.Error) and isinstance(e, OSError)
    code, builtin = ALL[cls.__name__]
    assert e.code == code
    assert e.errno == (-code if code > -4096 else None)
    assert e.name == name
    assert str(name) in str(e)
    assert zbclient.strerror(code) in str(e)
    if builtin:
        assert isinstance(e, builtin)


def test_the_hierarchy():
    assert issubclass(zbclient.Error, OSError)
    for n in ALL:
        cls = getattr(zbclient, n)
        assert issubclass(cls, zbclient.Error) and cls.__module__ == "zbclient", n
        assert cls.__doc__, n
        assert n in zbclient.__all__


@pytest.fixture
def ring_sizes():
    return {"payload_size": 4096, "metadata_size": 64}


def test_invalid_argument(ring, zbd, name):
    r, w = ring
    with pytest.raises(zbclient.InvalidArgument) as e:
        w.write(b"")
    check(e, zbclient.InvalidArgument, name)
    with pytest.raises(zbclient.InvalidArgument) as e:
        w.acquire(0)
    check(e, zbclient.InvalidArgument, name)
    with pytest.raises(zbclient.InvalidArgument):
        w.commit()
    with zbd.daemon() as d:
        with pytest.raises(zbclient.InvalidArgument) as e:
            d.create("bad/name")
        check(e, zbclient.InvalidArgument, "bad/name")


def test_not_found(names):
    n = names()
    for call in (zbclient.Reader.open, zbclient.Writer.open):
        with pytest.raises(zbclient.NotFound) as e:
            call(n)
        check(e, zbclient.NotFound, n)


def test_already_exists(name, zbd):
    with zbclient.Reader.create(name):
        # From another process (this one would be refused as Busy: it
        # already has a reader on the buffer).
        out = run_python(
            "import sys, errno, zbclient\n"
            "try:\n"
            "    zbclient.Reader.create(sys.argv[1])\n"
            "except zbclient.AlreadyExists as e:\n"
            "    assert isinstance(e, FileExistsError) and e.code == -errno.EEXIST, e\n"
            "    print(e)\n", args=[name])
        assert out == f"{name}: buffer already exists\n"
    with zbd.daemon() as d:
        d.create(name)
        with pytest.raises(zbclient.AlreadyExists) as e:
            d.create(name)
        check(e, zbclient.AlreadyExists, name)


def test_busy(ring, name):
    # From another process: the live peers attached are this one's.
    out = run_python(
        "import sys, errno, zbclient\n"
        "for call in (zbclient.Writer.open, zbclient.Reader.open):\n"
        "    try:\n"
        "        call(sys.argv[1])\n"
        "    except zbclient.Busy as e:\n"
        "        assert e.code == -errno.EBUSY and e.name == sys.argv[1], e\n"
        "        print(e)\n", args=[name])
    assert out.splitlines() == [f"{name}: a live peer is already attached"] * 2


def test_timeout(ring, name):
    r, w = ring
    with pytest.raises(zbclient.Timeout) as e:
        r.read(0.01)
    check(e, zbclient.Timeout, name)


def test_buffer_full(ring, name):
    r, w = ring
    w.write(b"x" * 3000)
    with pytest.raises(zbclient.BufferFull) as e:
        w.write(b"y" * 3000, timeout=0.01)
    check(e, zbclient.BufferFull, name)
    with pytest.raises(zbclient.BufferFull) as e:
        w.acquire(3000, timeout=0)
    check(e, zbclient.BufferFull, name)


def test_metadata_errors(ring, name):
    r, w = ring
    with pytest.raises(zbclient.TooLarge) as e:
        w.set_metadata(b"m" * 100)
    check(e, zbclient.TooLarge, name)
    w.set_metadata(b"ok")
    with pytest.raises(zbclient.MetadataAlreadySet) as e:
        w.set_metadata(b"again")
    check(e, zbclient.MetadataAlreadySet, name)


def test_too_large(ring, name):
    r, w = ring
    with pytest.raises(zbclient.TooLarge) as e:
        w.write(b"z" * 5000)
    check(e, zbclient.TooLarge, name)
    with pytest.raises(zbclient.TooLarge):
        w.acquire(4096)


def test_no_metadata_is_none_not_an_error(ring):
    r, w = ring
    # -ENODATA is the absence of metadata: the property says None. The class
    # exists for completeness (one per library code).
    assert r.metadata is None
    assert issubclass(zbclient.NoMetadata, zbclient.Error)


def test_permission_denied(name):
    if os.geteuid() != 0:
        pytest.skip("needs root, to try as another user (nobody)")
    with zbclient.Reader.create(name, mode=0o600):
        # A forked child drops to nobody with the module already imported: a
        # new interpreter could not import it from a build tree under /root.
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                zbclient.Writer.open(name)
                text = "opened"
            except zbclient.PermissionDenied as e:
                ok = isinstance(e, PermissionError) and e.name == name
                text = f"{e.code} {e}" if ok else f"wrong: {e!r}"
            except BaseException as e:  # report anything else to the parent
                text = f"unexpected: {e!r}"
            os.write(wfd, text.encode())
            os._exit(0)
        os.close(wfd)
        with os.fdopen(rfd, "rb") as f:
            out = f.read().decode()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert out.startswith(f"{-errno.EACCES} {name}: permission denied"), out


def test_writer_gone(name):
    with zbclient.Reader.create(name) as r:
        with zbclient.Writer.open(name) as w:
            w.write(b"last")
        r.read(1).release()
        with pytest.raises(zbclient.WriterGone) as e:
            r.read(1)
        check(e, zbclient.WriterGone, name)


def test_reader_gone(zbd, name):
    with zbd.daemon() as d:
        d.create(name, payload_size=4096)
    with zbclient.Writer.open(name) as w:
        with zbclient.Reader.open(name) as r:
            w.write(b"a")
            r.read(1).release()
        # The reader left: the writer hears it once the ring is full.
        with pytest.raises(zbclient.ReaderGone) as e:
            for _ in range(100):
                w.write(b"x" * 1000, timeout=5)
        check(e, zbclient.ReaderGone, name)


def test_destroyed(zbd, name):
    """A forced destroy reaches a blocked reader, a writer, and every later
    call, as Destroyed: not as the end of a stream."""
    with zbd.daemon() as d:
        d.create(name, payload_size=4096)
    with zbclient.Reader.open(name) as r, zbclient.Writer.open(name) as w:
        w.write(b"a")
        r.read(1).release()
        def destroy():
            with zbd.daemon() as d:
                d.destroy(name, force=True)

        killer = threading.Timer(0.2, destroy)
        killer.start()
        with pytest.raises(zbclient.Destroyed) as e:
            r.read(30)  # blocked: no frame comes
        killer.join()
        check(e, zbclient.Destroyed, name)
        # A writer checks every 16 frames (or 64 KiB) at most, and then only
        # once 20 ms have passed since its last look: never per frame.
        with pytest.raises(zbclient.Destroyed) as e:
            for _ in range(17):
                w.write(b"b", timeout=5)
        check(e, zbclient.Destroyed, name)
        assert not w.reader_connected
        with pytest.raises(zbclient.Destroyed):
            r.read(0)
        with pytest.raises(zbclient.Destroyed):
            list(r)  # not the end of a stream: iteration raises too


def poke(name, offset, value, size=8):
    fd = os.open(f"/dev/shm/{name}", os.O_RDWR)
    try:
        with mmap.mmap(fd, 0) as m:
            m[offset:offset + size] = value.to_bytes(size, "little")
    finally:
        os.close(fd)


def test_version_mismatch(name):
    with zbclient.Reader.create(name):
        poke(name, 4, 9, size=1)  # the major version
        with pytest.raises(zbclient.VersionMismatch) as e:
            zbclient.Writer.open(name)
        check(e, zbclient.VersionMismatch, name)
        poke(name, 4, 1, size=1)


def test_corrupt(name):
    with zbclient.Reader.create(name, payload_size=4096) as r:
        with zbclient.Writer.open(name) as w:
            w.write(b"a frame")
            poke(name, OIEB_SIZE + METADATA, 1 << 40)  # its header's size
            with pytest.raises(zbclient.Corrupt) as e:
                r.read(1)
            check(e, zbclient.Corrupt, name)


def test_daemon_unavailable(sock_dir):
    path = str(sock_dir / "nobody.sock")
    with pytest.raises(zbclient.DaemonUnavailable) as e:
        zbclient.Daemon(path)
    check(e, zbclient.DaemonUnavailable, path)
    assert "is zbd running?" in str(e.value)
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)  # bound, not listening: refused
    with pytest.raises(zbclient.DaemonUnavailable) as e:
        zbclient.Daemon(path)
    s.close()


class FakeDaemon:
    """A control socket that answers each request line with `reply(line)`
    (bytes to send, or None to close the connection at once)."""

    def __init__(self, path, reply):
        self.path = path
        self.reply = reply
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen()
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.talk, args=(c,), daemon=True).start()

    def talk(self, c):
        buf = b""
        while True:
            try:
                chunk = c.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                out = self.reply(line.decode())
                if out is None:
                    c.close()
                    return
                c.sendall(out)

    def close(self):
        self.srv.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def fake_daemon(sock_dir):
    """Start a FakeDaemon(reply) in sock_dir; closed when the test ends."""
    started = []

    def start(reply):
        fake = FakeDaemon(str(sock_dir / f"s{len(started)}"), reply)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()


def test_connection_lost(fake_daemon):
    fake = fake_daemon(lambda line: None)
    d = zbclient.Daemon(fake.path)
    with pytest.raises(zbclient.ConnectionLost) as e:
        d.list()
    check(e, zbclient.ConnectionLost, fake.path)


def test_protocol_error(fake_daemon):
    fake = fake_daemon(lambda line: b"this is not key=value\n\n")
    d = zbclient.Daemon(fake.path)
    with pytest.raises(zbclient.ProtocolError) as e:
        d.list()
    check(e, zbclient.ProtocolError, fake.path)


def test_daemon_timeout(fake_daemon):
    fake = fake_daemon(lambda line: b"")  # never answers
    d = zbclient.Daemon(fake.path, timeout=0.2)
    with pytest.raises(zbclient.Timeout) as e:
        d.health()
    check(e, zbclient.Timeout, fake.path)


def test_daemon_error_text_is_in_the_message(fake_daemon):
    fake = fake_daemon(lambda line: b"error=not allowed for uid 1000\nstatus=-1\n\n")
    d = zbclient.Daemon(fake.path)
    with pytest.raises(zbclient.PermissionDenied) as e:
        d.destroy("somebuffer")
    assert e.value.code == -errno.EPERM and e.value.name == "somebuffer"
    assert "not allowed for uid 1000" in str(e.value)


def test_unknown_codes_raise_the_base_class(fake_daemon):
    fake = fake_daemon(lambda line: b"status=-28\n\n")
    d = zbclient.Daemon(fake.path)
    with pytest.raises(zbclient.Error) as e:
        d.create("abc")
    assert type(e.value) is zbclient.Error and e.value.errno == errno.ENOSPC
