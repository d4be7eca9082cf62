# SPDX-License-Identifier: MIT
"""The upstream ZeroBuffer Python package's API, on libzbclient.

A program written for the upstream `zerobuffer` package switches by changing
its import line:

    from zerobuffer import Reader, Writer, BufferConfig          # before
    from zbclient.zerobuffer import Reader, Writer, BufferConfig # after

    import zerobuffer                                             # before
    import zbclient.zerobuffer as zerobuffer                      # after

The public names (Reader, Writer, BufferConfig, Frame, OIEB, FrameHeader,
ErrorEventArgs and the exception classes) behave as upstream's do, except
where upstream's behaviour is a defect:

- a dead peer is noticed within about 100 ms (with zbd, within a millisecond
  or so), not after a 5-second timeout; a writer that leaves is reported as
  soon as its last frame was read;
- the reader never reads past the ring on a short wrap, and removes both its
  semaphores on close;
- several frames may be held at once and released in any order;
- a Frame refuses to be disposed while a view made from its `data` is alive
  (BufferError), where upstream would let the writer overwrite what the view
  shows;
- Writer(name) attaches to buffers zbd owns, which have no reader until one
  opens them; write_frame() then raises ReaderDeadException while no live
  reader is attached, as upstream does for a buffer whose reader left.

Not provided: the duplex channel (DuplexChannelFactory and the rest).
"""

import datetime as _dt
import functools as _functools
import struct as _struct
import time as _time
import weakref as _weakref
from dataclasses import dataclass as _dataclass
from typing import Any, Callable, Generic, Optional, Tuple, TypeVar, Union

from . import _zbclient as _zb

__all__ = [
    "Reader",
    "Writer",
    "BufferConfig",
    "Frame",
    "OIEB",
    "FrameHeader",
    "ZeroBufferException",
    "WriterDeadException",
    "ReaderDeadException",
    "WriterAlreadyConnectedException",
    "ReaderAlreadyConnectedException",
    "BufferFullException",
    "FrameTooLargeException",
    "SequenceError",
    "InvalidFrameSizeException",
    "MetadataAlreadyWrittenException",
    "ErrorEventArgs",
]

__version__ = _zb.__version__

BytesLike = Union[bytes, bytearray, memoryview]


# ------------------------------------------------------------------ errors


class ZeroBufferException(Exception):
    """Base of every error this module raises (upstream's base class)."""


class _DefaultMessage(ZeroBufferException):
    """An error whose message, when none is given, is its class's `default`
    (upstream's texts)."""

    default = ""

    def __init__(self, message: Optional[str] = None) -> None:
        super().__init__(self.default if message is None else message)


class WriterDeadException(_DefaultMessage):
    """The writer died or left, and every frame it wrote was read."""

    default = "Writer process is dead"


class ReaderDeadException(_DefaultMessage):
    """The reader died or left."""

    default = "Reader process is dead"


class WriterAlreadyConnectedException(_DefaultMessage):
    """A live writer is already attached to the buffer."""

    default = "Another writer is already connected"


class ReaderAlreadyConnectedException(_DefaultMessage):
    """A live reader already owns the buffer."""

    default = "Another reader is already connected"


class BufferFullException(_DefaultMessage):
    """The ring stayed full for the writer's write_timeout."""

    default = "Buffer is full"


class FrameTooLargeException(_DefaultMessage):
    """The frame can never fit the ring."""

    default = "Frame size exceeds buffer capacity"


class InvalidFrameSizeException(_DefaultMessage):
    """A frame of 0 bytes."""

    default = "Invalid frame size (zero or too large)"


class SequenceError(ZeroBufferException):
    """A frame's sequence number is not the one expected."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"Sequence error: expected {expected}, got {got}")
        self.expected = expected
        self.got = got


class MetadataAlreadyWrittenException(_DefaultMessage):
    """The buffer's metadata was already written; it is written once."""

    default = "Metadata has already been written"


class ErrorEventArgs:
    """An exception passed to an error event handler."""

    def __init__(self, exception: Exception) -> None:
        if not isinstance(exception, Exception):
            raise TypeError("exception must be an Exception instance")
        self._exception = exception

    @property
    def exception(self) -> Exception:
        return self._exception

    def __str__(self) -> str:
        return f"ErrorEventArgs({type(self._exception).__name__}: {self._exception})"

    def __repr__(self) -> str:
        return f"ErrorEventArgs(exception={self._exception!r})"


# The library's errors, as upstream names them. Anything not listed becomes
# ZeroBufferException. The original is chained as __cause__.
_UPSTREAM_ERRORS = {
    _zb.WriterGone: WriterDeadException,
    _zb.ReaderGone: ReaderDeadException,
    _zb.BufferFull: BufferFullException,
    _zb.TooLarge: FrameTooLargeException,
    _zb.MetadataAlreadySet: MetadataAlreadyWrittenException,
}


def _translate(err: "_zb.Error", busy=None, gone=None) -> ZeroBufferException:
    if isinstance(err, (_zb.Busy, _zb.AlreadyExists)) and busy is not None:
        return busy()
    # Upstream has no word for a removed buffer: to its peers the other side
    # is gone (a creating reader's close removes the buffer).
    if isinstance(err, _zb.Destroyed) and gone is not None:
        return gone()
    for native, upstream in _UPSTREAM_ERRORS.items():
        if isinstance(err, native):
            return upstream()
    return ZeroBufferException(str(err))


_F = TypeVar("_F", bound=Callable[..., Any])


def _upstream_errors(method: _F) -> _F:
    """`method` raises the library's errors as upstream's exceptions."""

    @_functools.wraps(method)
    def translating(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except _zb.Error as e:
            raise _translate(e, gone=getattr(args[0], "_peer_gone", None)) from e

    return translating  # type: ignore[return-value]


# ------------------------------------------------------------- wire types


@_dataclass
class BufferConfig:
    """Sizes of a buffer a Reader creates (rounded up to 64 bytes)."""

    metadata_size: int = 1024
    payload_size: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.metadata_size <= 0:
            raise ValueError("metadata_size must be positive")
        if self.payload_size <= 0:
            raise ValueError("payload_size must be positive")


@_dataclass
class ProtocolVersion:
    """The OIEB's protocol version: major.minor.patch, and a reserved byte."""

    major: int
    minor: int
    patch: int
    reserved: int = 0


@_dataclass
class OIEB:
    """The operation info exchange block at the start of a segment (128
    bytes, little-endian): a description of the wire format; this module
    never reads segments with it, libzbclient does."""

    oieb_size: int
    version: ProtocolVersion
    metadata_size: int
    metadata_free_bytes: int
    metadata_written_bytes: int
    payload_size: int
    payload_free_bytes: int
    payload_write_pos: int
    payload_read_pos: int
    payload_written_count: int
    payload_read_count: int
    writer_pid: int
    reader_pid: int
    _reserved: Tuple[int, int, int, int] = (0, 0, 0, 0)

    FORMAT = "<I4B11Q4Q"
    SIZE = 128

    def pack(self) -> bytes:
        v = self.version
        return _struct.pack(self.FORMAT, self.oieb_size, v.major, v.minor, v.patch, v.reserved,
                            self.metadata_size, self.metadata_free_bytes,
                            self.metadata_written_bytes, self.payload_size,
                            self.payload_free_bytes, self.payload_write_pos,
                            self.payload_read_pos, self.payload_written_count,
                            self.payload_read_count, self.writer_pid, self.reader_pid,
                            *self._reserved)

    @classmethod
    def unpack(cls, data: BytesLike) -> "OIEB":
        if len(data) < cls.SIZE:
            raise ValueError(f"Invalid OIEB data size: {len(data)} < {cls.SIZE}")
        f = _struct.unpack_from(cls.FORMAT, data)
        return cls(f[0], ProtocolVersion(*f[1:5]), *f[5:16], _reserved=tuple(f[16:20]))

    def calculate_used_bytes(self) -> int:
        if self.payload_write_pos >= self.payload_read_pos:
            return self.payload_write_pos - self.payload_read_pos
        return self.payload_size - self.payload_read_pos + self.payload_write_pos


@_dataclass
class FrameHeader:
    """The 16-byte header before each frame in the ring; payload_size 0
    marks a wrap to the ring's start."""

    payload_size: int
    sequence_number: int

    FORMAT = "<2Q"
    SIZE = 16
    WRAP_MARKER = 0

    def pack(self) -> bytes:
        return _struct.pack(self.FORMAT, self.payload_size, self.sequence_number)

    @classmethod
    def unpack(cls, data: BytesLike) -> "FrameHeader":
        if len(data) < cls.SIZE:
            raise ValueError(f"Invalid frame header size: {len(data)} < {cls.SIZE}")
        return cls(*_struct.unpack_from(cls.FORMAT, data))

    def is_wrap_marker(self) -> bool:
        return self.payload_size == self.WRAP_MARKER


# ------------------------------------------------------------------- frames


class Frame:
    """A frame read in place. `data` is a read-only memoryview of the bytes
    in shared memory (no copy); dispose() (or a with block, or
    Reader.release_frame) gives the space back to the writer."""

    __slots__ = ("_frame", "_view", "_sequence", "_size", "_disposed", "__weakref__")

    def __init__(self, frame: "_zb.Frame") -> None:
        self._frame: Optional[_zb.Frame] = frame
        self._view: Optional[memoryview] = None
        self._sequence = frame.sequence
        self._size = frame.size
        self._disposed = False

    @property
    def data(self) -> memoryview:
        """Zero-copy, read-only view of the frame's bytes."""
        if self._disposed or self._frame is None:
            raise ValueError("Cannot access data of disposed frame")
        if self._view is None:
            self._view = memoryview(self._frame)
        return self._view

    @property
    def size(self) -> int:
        return self._size

    @property
    def sequence(self) -> int:
        return self._sequence

    @property
    def is_valid(self) -> bool:
        return self._size > 0 and not self._disposed

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        return bytes(self.data)

    def dispose(self) -> None:
        """Release the frame. BufferError while an array or memoryview made
        from `data` is alive (the writer would overwrite what it shows)."""
        if self._disposed:
            return
        if self._view is not None:
            self._view.release()  # BufferError while something views it
            self._view = None
        if self._frame is not None:
            self._frame.release()
            self._frame = None
        self._disposed = True

    def __enter__(self) -> "Frame":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Frame(sequence={self._sequence}, size={self._size})"


def _seconds(timeout: Optional[float]) -> Optional[float]:
    if timeout is None:
        return None
    return max(0.0, float(timeout))


# ----------------------------------------------------------------- handles

_Native = TypeVar("_Native", _zb.Reader, _zb.Writer)
_Self = TypeVar("_Self", bound="_Handle")


class _Handle(Generic[_Native]):
    """What Reader and Writer share: the native handle, close() (also at
    the end of a with block, and when collected), and refusing calls once
    closed."""

    _what = ""  # "Reader" or "Writer", in messages
    _native: _Native

    def __init__(self, name: str) -> None:
        self.name = name
        self._closed = True  # until the native handle is there

    def _check(self) -> _Native:
        if self._closed:
            raise ZeroBufferException(f"{self._what} is closed")
        return self._native

    def _stats(self) -> Tuple[int, int]:
        """(frames, bytes) the handle moved; (0, 0) once closed."""
        if self._closed:
            return (0, 0)
        stats = self._native.stats
        return (stats.frames, stats.bytes)

    def close(self) -> None:
        if self._closed:
            return
        self._native.close()
        self._closed = True

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


# ------------------------------------------------------------------ reader


class Reader(_Handle[_zb.Reader]):
    """Creates and owns a buffer, and reads its frames in place."""

    _what = "Reader"
    _peer_gone = WriterDeadException  # what a destroyed buffer is to upstream
    def __init__(self, name: str, config: Optional[BufferConfig] = None) -> None:
        super().__init__(name)
        self._config = config or BufferConfig()
        self._frames: "_weakref.WeakSet[Frame]" = _weakref.WeakSet()
        try:
            self._native = _zb.Reader.create(name, payload_size=self._config.payload_size,
                                             metadata_size=self._config.metadata_size)
        except _zb.Error as e:
            raise _translate(e, busy=ReaderAlreadyConnectedException) from e
        self._closed = False

    @_upstream_errors
    def get_metadata(self) -> Optional[memoryview]:
        """The writer's metadata (a read-only memoryview), or None."""
        data = self._check().metadata
        return None if data is None else memoryview(data)

    @_upstream_errors
    def read_frame(self, timeout: Optional[float] = 5.0) -> Optional[Frame]:
        """The next frame, or None if none came within `timeout` seconds
        (None: wait forever). Raises WriterDeadException once the writer
        left (or never came within the timeout) and every frame was read."""
        r = self._check()
        try:
            f = r.read(_seconds(timeout))
        except _zb.Timeout:
            if not r.writer_connected:
                raise WriterDeadException() from None
            return None
        frame = Frame(f)
        self._frames.add(frame)
        return frame

    def release_frame(self, frame: Frame) -> None:
        """Give the frame's space back to the writer (frame.dispose())."""
        frame.dispose()

    def is_writer_connected(self, timeout_ms: Optional[int] = None) -> bool:
        """Whether a live writer is attached; with `timeout_ms`, wait up to
        that long for one."""
        if self._closed:
            return False
        if timeout_ms is None:
            return self._native.writer_connected
        end = _time.monotonic() + timeout_ms / 1000
        while True:
            if self._native.writer_connected:
                return True
            left = end - _time.monotonic()
            if left <= 0:
                return False
            _time.sleep(min(0.01, left))

    @property
    def frames_read(self) -> int:
        return self._stats()[0]

    @property
    def bytes_read(self) -> int:
        return self._stats()[1]

    def close(self) -> None:
        """Dispose the frames still held, detach, and remove the buffer."""
        if not self._closed:
            for frame in list(self._frames):
                frame.dispose()
        super().close()


# ------------------------------------------------------------------ writer


class Writer(_Handle[_zb.Writer]):
    """Attaches to an existing buffer and writes frames into it."""

    _what = "Writer"
    _peer_gone = ReaderDeadException  # what a destroyed buffer is to upstream

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._write_timeout = _dt.timedelta(seconds=5)
        try:
            self._native = _zb.Writer.open(name)
        except _zb.NotFound as e:
            raise ZeroBufferException(
                f"No shared memory found for buffer '{name}' - reader must be created first"
            ) from e
        except _zb.Error as e:
            raise _translate(e, busy=WriterAlreadyConnectedException) from e
        self._closed = False

    @_upstream_errors
    def set_metadata(self, data: BytesLike) -> None:
        """Write the buffer's metadata, once."""
        w = self._check()
        try:
            w.set_metadata(data)
        except _zb.TooLarge as e:
            raise ZeroBufferException("Metadata too large for buffer") from e

    @_upstream_errors
    def _wait_for_space(self, call: Callable[..., Any], *args: Any) -> Any:
        """call(writer, *args, timeout): write() or acquire(), waiting up to
        write_timeout for space, with upstream's exceptions for a reader
        that is gone and a ring that stayed full."""
        w = self._check()
        if not w.reader_connected:
            raise ReaderDeadException()
        try:
            return call(w, *args, self._write_timeout.total_seconds())
        except _zb.BufferFull as e:
            if not w.reader_connected:
                raise ReaderDeadException() from e
            raise BufferFullException() from e

    def write_frame(self, data: BytesLike) -> None:
        """Copy one frame into the ring, waiting up to write_timeout for
        space."""
        if len(data) == 0:
            raise InvalidFrameSizeException()
        self._wait_for_space(_zb.Writer.write, data)

    def write_frame_zero_copy(self, data: BytesLike) -> None:
        """write_frame() (the frame is copied into the ring once either way)."""
        self.write_frame(data)

    def get_frame_buffer(self, size: int) -> memoryview:
        """Reserve a frame of `size` bytes in the ring and return a writable
        memoryview of it; fill it, then commit_frame()."""
        if size == 0:
            raise InvalidFrameSizeException()
        return self._wait_for_space(_zb.Writer.acquire, size)

    @_upstream_errors
    def commit_frame(self) -> None:
        """Publish the frame get_frame_buffer() reserved."""
        w = self._check()
        if not w.acquired:
            raise ZeroBufferException("No pending frame to commit")
        w.commit()

    def is_reader_connected(self) -> bool:
        return False if self._closed else self._native.reader_connected

    @property
    def frames_written(self) -> int:
        return self._stats()[0]

    @property
    def bytes_written(self) -> int:
        return self._stats()[1]

    @property
    def write_timeout(self) -> _dt.timedelta:
        """How long write_frame() waits for space (default 5 s)."""
        return self._write_timeout

    @write_timeout.setter
    def write_timeout(self, value: _dt.timedelta) -> None:
        if value <= _dt.timedelta():
            raise ValueError("Write timeout must be positive")
        self._write_timeout = value
