# SPDX-License-Identifier: MIT
"""Fixtures of the zbclient tests: unique buffer names cleaned up even on
failure, C peers (zbpy-peer, zbctl) as real processes, a real zbd on a private
socket, and the upstream ZeroBuffer Python package from ../shared.

meson test sets ZBD, ZBCTL, ZBPY_PEER and PYTHONPATH (the build directory's
copy of the package); ZB_SOURCE_ROOT locates ../shared.
"""

import itertools
import os
import pathlib
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import zbclient

# Every object this run creates carries the marker, so a sweep at the end
# finds what a crashed test left behind (and nothing of other runs).
MARKER = f"zbpy{os.getpid()}x"
LOCK_DIR = pathlib.Path("/tmp/zerobuffer")
_counter = itertools.count()


def object_paths(name):
    """Segment, both semaphores and lock file of buffer `name`."""
    return [
        pathlib.Path("/dev/shm") / name,
        pathlib.Path("/dev/shm") / f"sem.sem-w-{name}",
        pathlib.Path("/dev/shm") / f"sem.sem-r-{name}",
        LOCK_DIR / f"{name}.lock",
    ]


def remove_objects(name):
    for p in object_paths(name):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def objects_left(name):
    return [str(p) for p in object_paths(name) if p.exists()]


def sweep():
    for d in (pathlib.Path("/dev/shm"), LOCK_DIR):
        if d.is_dir():
            for p in d.iterdir():
                if MARKER in p.name:
                    p.unlink(missing_ok=True)
    for p in pathlib.Path(tempfile.gettempdir()).glob(f"zbpyd-{MARKER}-*"):
        shutil.rmtree(p, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _sweep_at_end():
    yield
    sweep()


def unique_name(tag="b"):
    tag = "".join(c if c.isalnum() else "-" for c in tag)[:40]
    return f"{MARKER}-{tag}-{next(_counter)}"


@pytest.fixture
def names(request):
    """A factory of unique buffer names; each one's objects are removed when
    the test ends, whatever happened."""
    made = []

    def make(tag=None):
        n = unique_name(tag or request.node.name)
        made.append(n)
        return n

    yield make
    for n in made:
        remove_objects(n)


@pytest.fixture
def name(names):
    return names()


def tool(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"${var} is not set to an executable (run the tests with meson test)")
    return path


class Peer:
    """A child process that prints "ready" once attached, then a
    "frames=N bytes=B seconds=S" line once done."""

    def __init__(self, argv, ready=True, timeout=15, **kw):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, **kw)
        if ready:
            line = self.readline(timeout)
            if line.strip() != "ready":
                self.kill()
                raise AssertionError(f"{argv[:3]} did not get ready: {line!r} "
                                     f"{self.proc.stderr.read()}")

    def readline(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise AssertionError(f"{self.argv[:3]}: nothing on stdout within {timeout} s")
        return self.proc.stdout.readline()

    def wait(self, timeout=60):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.argv[:3]} still runs after {timeout} s")
        self.stdout, self.stderr = out, err
        return self.proc.returncode

    def result(self, timeout=60):
        """Wait for a clean exit and return its summary line as a dict."""
        rc = self.wait(timeout)
        assert rc == 0, f"{self.argv} exited {rc}: {self.stderr}"
        last = [ln for ln in self.stdout.splitlines() if ln.startswith("frames=")][-1]
        return {k: float(v) if "." in v else int(v)
                for k, v in (kv.split("=") for kv in last.split())}

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def spawn():
    """Start other processes (argv) as Peers; killed when the test ends."""
    started = []

    def start(argv, ready=True, **kw):
        p = Peer(list(map(str, argv)), ready=ready, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


@pytest.fixture
def peers(spawn):
    """Start C peers (zbpy-peer ARGS...); all are killed when the test ends."""
    exe = tool("ZBPY_PEER")

    def start(*args, ready=True, **kw):
        return spawn([exe, *args], ready=ready, **kw)

    return start


@pytest.fixture
def ring_sizes():
    """Reader.create()'s sizes for `ring`; a test module overrides this."""
    return {"payload_size": 64 * 1024}


@pytest.fixture
def ring(name, ring_sizes):
    """A buffer this process created and owns (no daemon), and its writer:
    (reader, writer), both closed when the test ends."""
    with zbclient.Reader.create(name, **ring_sizes) as r:
        with zbclient.Writer.open(name) as w:
            yield r, w


def pattern(seq, size):
    """The bytes zbpy-peer puts in frame `seq`: byte i is (seq * 7 + i) % 256."""
    start = (seq * 7) % 256
    reps = (size + start) // 256 + 1
    return (bytes(range(256)) * reps)[start:start + size]


def frame_size(seq, lo, hi):
    """The size zbpy-peer gives frame `seq` for sizes lo..hi."""
    if hi <= lo:
        return lo
    return lo + (seq * 2654435761) % (hi - lo + 1)


class Zbd:
    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.socket = str(self.dir / "zbd.sock")
        self.log = open(self.dir / "zbd.log", "w+")
        # Buffers of other tests are not this zbd's business (zbd/foreign.c).
        conf = self.dir / "zbd.conf"
        conf.write_text("[zbd]\nforeign_scan_ms = 0\n")
        self.proc = subprocess.Popen([tool("ZBD"), "-s", self.socket, "-r", str(self.dir),
                                      "-c", str(conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                zbclient.Daemon(self.socket).close()
                return
            except zbclient.DaemonUnavailable:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.logtext()
                    self.stop()
                    raise AssertionError(f"zbd did not start: {log}")
                time.sleep(0.02)

    def logtext(self):
        self.log.seek(0)
        return self.log.read()

    def daemon(self, **kw):
        return zbclient.Daemon(self.socket, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def sock_dir():
    """A private directory with a short path, for Unix sockets (108 bytes at
    most), removed when the test ends."""
    d = tempfile.mkdtemp(prefix=f"zbpyd-{MARKER}-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def zbd():
    """A real zbd on a private socket in a private directory. Buffers it
    creates stay in place when it stops (as zbd's do): the names fixture
    removes them."""
    d = tempfile.mkdtemp(prefix=f"zbpyd-{MARKER}-")
    os.chmod(d, 0o755)
    z = Zbd(d)
    yield z
    z.stop()
    shutil.rmtree(d, ignore_errors=True)


def shared_dir():
    """../shared beside the repository, by the one rule of tests/find-shared.sh
    (meson passes its answer as ZB_SHARED)."""
    root = pathlib.Path(os.environ.get("ZB_SOURCE_ROOT",
                                       pathlib.Path(__file__).resolve().parents[2]))
    found = os.environ.get("ZB_SHARED")
    if not found:
        try:
            found = subprocess.run([str(root / "tests" / "find-shared.sh"), str(root)],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
    return pathlib.Path(found) if found else None


@pytest.fixture(scope="session")
def upstream_env():
    """Environment for a child process that imports the upstream `zerobuffer`
    package (its ctypes posix_ipc shim first on PYTHONPATH, as
    ../shared/upstream-zerobuffer/README.md says), and zbclient."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/upstream-zerobuffer is absent (a plain clone has no ../shared)")
    up = shared / "upstream-zerobuffer"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(up / "pyshim"), str(up / "python"), os.environ.get("PYTHONPATH", "")])
    return env


def run_python(code, args=(), env=None, timeout=60, **kw):
    """Run `code` in a new interpreter (this one's), failing on a non-zero exit."""
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                       text=True, env=env, timeout=timeout, **kw)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def python_peer(spawn, code, *args, env=None, ready=True):
    """A Python child running `code` with `args` (which prints "ready" when
    attached)."""
    return spawn([sys.executable, "-u", "-c", code, *args], ready=ready, env=env)
