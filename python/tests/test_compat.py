# SPDX-License-Identifier: MIT
"""zbclient.zerobuffer, the upstream package's API on libzbclient: the
writer/reader pair of upstream's README run with one import line changed,
its public names, and each call's semantics."""

import ast
import datetime
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import zbclient
from zbclient import zerobuffer as zb
from conftest import shared_dir

# The Quick Start of upstream's Python README (zerobuffer-ipc 1.1.8, the
# version in ../shared), verbatim but for the buffer's name.
README_READER = '''\
from zerobuffer import Reader, BufferConfig

# Create a buffer
config = BufferConfig(metadata_size=1024, payload_size=1024*1024)
with Reader("my-buffer", config) as reader:
    # Wait for writer to connect
    print("Waiting for writer...")

    # Read frames
    while True:
        frame = reader.read_frame(timeout=5.0)
        if frame:
            # Access data without copying
            data = frame.data  # This is a memoryview
            print(f"Received frame {frame.sequence}: {len(data)} bytes")

            # Process the frame...

            # Must release frame to free buffer space
            reader.release_frame(frame)
'''

README_WRITER = '''\
from zerobuffer import Writer

# Connect to existing buffer
with Writer("my-buffer") as writer:
    # Write some metadata
    metadata = b"{'format': 'raw', 'version': 1}"
    writer.set_metadata(metadata)

    # Write frames
    for i in range(100):
        data = f"Frame {i}".encode()
        writer.write_frame(data)
        print(f"Sent frame {i}")
'''


def switch(code):
    """The one line a user changes."""
    return code.replace("from zerobuffer import", "from zbclient.zerobuffer import", 1)


def run_pair(spawn, reader_code, writer_code, name, env=None):
    reader = spawn([sys.executable, "-u", "-c", reader_code.replace("my-buffer", name)],
                   ready=False, env=env)
    assert reader.readline(30) == "Waiting for writer...\n"
    writer = subprocess.run([sys.executable, "-c", writer_code.replace("my-buffer", name)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert writer.returncode == 0, writer.stderr
    reader.wait(60)
    return reader, writer


def test_readme_pair_with_one_import_changed(spawn, name):
    assert switch(README_READER).count("\n") == README_READER.count("\n")
    reader, writer = run_pair(spawn, switch(README_READER), switch(README_WRITER), name)
    assert writer.stdout.splitlines() == [f"Sent frame {i}" for i in range(100)]
    got = reader.stdout.splitlines()
    assert got == [f"Received frame {i + 1}: {len(f'Frame {i}')} bytes" for i in range(100)]
    # The README's loop never ends by itself: the writer's leaving ends it,
    # with upstream's exception.
    assert reader.proc.returncode == 1
    assert reader.stderr.rstrip().endswith("zbclient.zerobuffer.WriterDeadException: "
                                           "Writer process is dead")


def test_readme_pair_same_output_as_upstream(spawn, upstream_env, names):
    """The same scripts, unchanged, on the upstream package, print the same."""
    up_r, up_w = run_pair(spawn, README_READER, README_WRITER, names("up"), env=upstream_env)
    zb_r, zb_w = run_pair(spawn, switch(README_READER), switch(README_WRITER), names("zb"),
                          env=upstream_env)
    assert zb_w.stdout == up_w.stdout
    assert zb_r.stdout == up_r.stdout
    assert "WriterDeadException" in up_r.stderr.splitlines()[-1]


def test_readme_pair_mixed_with_upstream(spawn, upstream_env, names):
    """Upstream's reader with our writer, and ours with upstream's writer."""
    for reader_code, writer_code in ((README_READER, switch(README_WRITER)),
                                     (switch(README_READER), README_WRITER)):
        r, w = run_pair(spawn, reader_code, writer_code, names(), env=upstream_env)
        assert len(r.stdout.splitlines()) == 100
        assert len(w.stdout.splitlines()) == 100


def upstream_public_names():
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/upstream-zerobuffer is absent")
    init = shared / "upstream-zerobuffer" / "python" / "zerobuffer" / "__init__.py"
    tree = ast.parse(init.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "__all__":
            return [ast.literal_eval(e) for e in node.value.elts]
    raise AssertionError("no __all__ in upstream's __init__.py")


DUPLEX = {"DuplexChannelFactory", "DuplexClient", "ImmutableDuplexServer", "IDuplexClient",
          "IDuplexServer", "IImmutableDuplexServer", "IMutableDuplexServer",
          "IDuplexChannelFactory", "DuplexResponse", "ProcessingMode"}


def test_every_upstream_public_name_but_the_duplex_channel():
    names = set(upstream_public_names()) - DUPLEX
    assert names == set(zb.__all__)
    for n in names:
        assert hasattr(zb, n), n


def test_exception_hierarchy():
    for n in zb.__all__:
        obj = getattr(zb, n)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert obj is zb.ZeroBufferException or issubclass(obj, zb.ZeroBufferException)
    e = zb.SequenceError(3, 5)
    assert (e.expected, e.got) == (3, 5) and "expected 3, got 5" in str(e)
    args = zb.ErrorEventArgs(zb.BufferFullException())
    assert isinstance(args.exception, zb.BufferFullException)
    assert "BufferFullException" in str(args)
    with pytest.raises(TypeError):
        zb.ErrorEventArgs("not an exception")


def test_buffer_config():
    assert zb.BufferConfig() == zb.BufferConfig(metadata_size=1024, payload_size=1024 * 1024)
    for bad in ({"metadata_size": 0}, {"payload_size": -1}):
        with pytest.raises(ValueError):
            zb.BufferConfig(**bad)


def test_wire_types():
    h = zb.FrameHeader(payload_size=5, sequence_number=7)
    assert zb.FrameHeader.unpack(h.pack()) == h and len(h.pack()) == zb.FrameHeader.SIZE
    assert zb.FrameHeader(0, 0).is_wrap_marker()
    o = zb.OIEB(128, zb.ProtocolVersion(1, 0, 0), 1024, 1024, 0, 4096, 4096, 100, 50, 3, 2,
                0, 42)
    assert len(o.pack()) == zb.OIEB.SIZE == 128
    assert zb.OIEB.unpack(o.pack()) == o
    assert o.calculate_used_bytes() == 50
    with pytest.raises(ValueError):
        zb.OIEB.unpack(b"short")


@pytest.fixture
def pair(name):
    r = zb.Reader(name, zb.BufferConfig(metadata_size=256, payload_size=8192))
    w = zb.Writer(name)
    yield r, w
    w.close()
    r.close()


def test_frames(pair):
    r, w = pair
    w.write_frame(b"hello")
    f = r.read_frame(timeout=1)
    assert isinstance(f, zb.Frame) and f.is_valid and f.sequence == 1 and f.size == 5
    assert len(f) == 5 and bytes(f) == b"hello" and repr(f) == "Frame(sequence=1, size=5)"
    assert isinstance(f.data, memoryview) and f.data.readonly and f.data is f.data
    r.release_frame(f)
    assert not f.is_valid
    with pytest.raises(ValueError, match="disposed"):
        f.data
    w.write_frame_zero_copy(memoryview(np.arange(3, dtype=np.int16)))
    with r.read_frame(1) as f:
        assert np.array_equal(np.frombuffer(f.data, dtype=np.int16), [0, 1, 2])
    assert not f.is_valid


def test_dispose_refused_while_a_view_of_data_lives(pair):
    r, w = pair
    w.write_frame(b"abcd")
    f = r.read_frame(1)
    a = np.frombuffer(f.data, dtype=np.uint8)
    with pytest.raises(BufferError):
        f.dispose()
    del a
    f.dispose()


def test_frames_held_out_of_order(pair):
    r, w = pair
    for i in range(5):
        w.write_frame(bytes([i]) * 10)
    frames = [r.read_frame(1) for _ in range(5)]
    for i in (3, 1, 4, 0, 2):
        assert bytes(frames[i].data) == bytes([i]) * 10
        r.release_frame(frames[i])
    assert r.frames_read == 5 and r.bytes_read == 50


def test_timeouts_and_writer_death(name):
    with zb.Reader(name) as r:
        # No writer ever came: upstream says the writer is dead after the timeout.
        with pytest.raises(zb.WriterDeadException):
            r.read_frame(timeout=0.05)
        with zb.Writer(name) as w:
            assert r.read_frame(timeout=0.05) is None  # a live writer, no frame
            assert r.is_writer_connected() and r.is_writer_connected(timeout_ms=10)
            w.write_frame(b"x")
        r.release_frame(r.read_frame(1))
        with pytest.raises(zb.WriterDeadException):
            r.read_frame(timeout=5)
        assert not r.is_writer_connected()
        assert not r.is_writer_connected(timeout_ms=30)


def test_metadata(pair):
    r, w = pair
    assert r.get_metadata() is None
    w.set_metadata(bytearray(b"meta"))
    m = r.get_metadata()
    assert isinstance(m, memoryview) and bytes(m) == b"meta"
    with pytest.raises(zb.MetadataAlreadyWrittenException):
        w.set_metadata(b"again")


def test_metadata_too_large(pair):
    r, w = pair
    with pytest.raises(zb.ZeroBufferException, match="too large"):
        w.set_metadata(b"m" * 1000)


def test_get_frame_buffer_commit_frame(pair):
    r, w = pair
    buf = w.get_frame_buffer(4)
    buf[:] = b"wxyz"
    w.commit_frame()
    with pytest.raises(zb.ZeroBufferException, match="No pending frame"):
        w.commit_frame()
    with r.read_frame(1) as f:
        assert bytes(f.data) == b"wxyz"
    assert w.frames_written == 1 and w.bytes_written == 4


def test_writer_errors(pair, names):
    r, w = pair
    with pytest.raises(zb.InvalidFrameSizeException):
        w.write_frame(b"")
    with pytest.raises(zb.InvalidFrameSizeException):
        w.get_frame_buffer(0)
    with pytest.raises(zb.FrameTooLargeException):
        w.write_frame(b"x" * 9000)
    w.write_timeout = datetime.timedelta(milliseconds=50)
    assert w.write_timeout == datetime.timedelta(milliseconds=50)
    with pytest.raises(ValueError):
        w.write_timeout = datetime.timedelta(0)
    with pytest.raises(zb.BufferFullException):
        for _ in range(10):
            w.write_frame(b"x" * 3000)
    with pytest.raises(zb.ZeroBufferException, match="reader must be created first"):
        zb.Writer(names("none"))


def test_second_writer_and_second_reader(pair, name):
    code = ("import sys\n"
            "from zbclient import zerobuffer as zb\n"
            "try:\n"
            "    zb.Writer(sys.argv[1])\n"
            "except zb.WriterAlreadyConnectedException:\n"
            "    print('writer refused')\n"
            "try:\n"
            "    zb.Reader(sys.argv[1])\n"
            "except zb.ReaderAlreadyConnectedException:\n"
            "    print('reader refused')\n")
    r = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True,
                       timeout=60)
    assert r.stdout.splitlines() == ["writer refused", "reader refused"], r.stderr


def test_second_writer_in_this_process(pair, name):
    with pytest.raises(zb.WriterAlreadyConnectedException):
        zb.Writer(name)
    with pytest.raises(zb.ReaderAlreadyConnectedException):
        zb.Reader(name)


def test_reader_dead(name):
    r = zb.Reader(name)
    w = zb.Writer(name)
    assert w.is_reader_connected()
    r.close()
    assert not w.is_reader_connected()
    with pytest.raises(zb.ReaderDeadException):
        w.write_frame(b"x")
    with pytest.raises(zb.ReaderDeadException):
        w.get_frame_buffer(1)
    w.close()


def test_close_disposes_frames_still_held(name):
    r = zb.Reader(name)
    with zb.Writer(name) as w:
        w.write_frame(b"abc")
        f = r.read_frame(1)
        f.data  # a view of it exists
        r.close()
        assert not f.is_valid
    r.close()
    with pytest.raises(zb.ZeroBufferException, match="closed"):
        r.read_frame(0)
    assert r.frames_read == 0 and not r.is_writer_connected()


def test_closed_writer(name):
    with zb.Reader(name):
        w = zb.Writer(name)
        w.close()
        w.close()
        with pytest.raises(zb.ZeroBufferException, match="closed"):
            w.write_frame(b"x")
        assert not w.is_reader_connected() and w.frames_written == 0


def test_module_is_documented():
    assert "one import line" in zb.__doc__ or "import line" in zb.__doc__
    for n in ("Reader", "Writer", "Frame"):
        assert getattr(zb, n).__doc__
    assert pathlib.Path(zb.__file__).name == "zerobuffer.py"
    assert zb.__version__ == zbclient.__version__
