# SPDX-License-Identifier: MIT
# Type stubs of the zbclient extension (re-exported by the zbclient package).
import builtins
import os
import sys
from types import TracebackType
from typing import Final, Iterator, Optional, SupportsFloat, Union

if sys.version_info >= (3, 11):
    from typing import Self
else:
    from typing_extensions import Self  # type checkers only
if sys.version_info >= (3, 12):
    from collections.abc import Buffer as _Buffer
else:
    from typing_extensions import Buffer as _Buffer  # type checkers only

_Timeout = Optional[SupportsFloat]  # seconds; None waits forever, 0 polls

__version__: str
NAME_MAX: int
SIZE_MAX: int
DEFAULT_SPIN_US: int
WAIT_SLICE_MS: int
SPIN_FOREVER: int

def strerror(code: int, /) -> str: ...
def is_valid_name(name: str, /) -> bool: ...
def default_socket() -> str: ...

class Error(OSError):
    """Base class of every error libzbclient reports."""

    code: int
    name: Optional[str]
    errno: Optional[int]  # type: ignore[assignment]

class InvalidArgument(Error, ValueError): ...
class NotFound(Error, FileNotFoundError): ...
class AlreadyExists(Error, FileExistsError): ...
class Busy(Error): ...
class Timeout(Error, TimeoutError): ...
class BufferFull(Error): ...
class MetadataAlreadySet(Error): ...
class TooLarge(Error): ...
class NoMetadata(Error): ...
class PermissionDenied(Error, PermissionError): ...
class WriterGone(Error): ...
class ReaderGone(Error): ...
class VersionMismatch(Error): ...
class Corrupt(Error): ...
class Destroyed(Error): ...
class DaemonUnavailable(Error, ConnectionRefusedError): ...
class ConnectionLost(Error, ConnectionResetError): ...
class ProtocolError(Error): ...
class Interrupted(Error, InterruptedError): ...

# The records are struct sequences: tuples with read-only named fields.
class Stats(tuple[int, int]):
    """Counters of one reader or writer handle."""

    frames: Final[int]
    bytes: Final[int]

class _ContextManager:
    """Not a run-time class: the with statement as Frame, Reader, Writer and
    Daemon support it (__exit__ releases or closes)."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
        /,
    ) -> None: ...

class Frame(_ContextManager):
    """A frame read from a ring, in place; exposes its bytes read-only
    through the buffer protocol (memoryview(frame), numpy.frombuffer)."""

    @property
    def sequence(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def released(self) -> bool: ...
    @property
    def reader(self) -> Reader: ...
    def release(self) -> None: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

class _Handle(_ContextManager):
    """What a Reader and a Writer share."""

    def set_spin(self, microseconds: int, /) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def stats(self) -> Stats: ...

class Reader(_Handle):
    """The reader of one buffer."""

    @classmethod
    def open(cls, name: str) -> Reader: ...
    @classmethod
    def create(
        cls,
        name: str,
        *,
        payload_size: int = 0,
        metadata_size: int = 0,
        mode: int = 0o600,
    ) -> Reader: ...
    def read(self, timeout: _Timeout = None) -> Frame: ...
    def release(self, frame: Frame, /) -> None: ...
    def close(self) -> None: ...
    @property
    def owner(self) -> bool: ...
    @property
    def metadata(self) -> Optional[bytes]: ...
    @property
    def writer_connected(self) -> bool: ...
    def __iter__(self) -> Iterator[Frame]: ...
    def __next__(self) -> Frame: ...

class Writer(_Handle):
    """The writer of one buffer."""

    @classmethod
    def open(cls, name: str) -> Writer: ...
    def write(self, data: _Buffer, timeout: _Timeout = None) -> None: ...
    def acquire(self, size: int, timeout: _Timeout = None) -> memoryview: ...
    def commit(self, size: Optional[int] = None) -> None: ...
    def set_metadata(self, data: _Buffer, /) -> None: ...
    def close(self) -> None: ...
    @property
    def acquired(self) -> bool: ...
    @property
    def reader_connected(self) -> bool: ...

class BufferHealth(tuple):
    """One buffer's health: the fields of `zbctl health --json`."""

    buffer: Final[str]
    state: Final[str]
    payload_size: Final[int]
    metadata_size: Final[int]
    used_bytes: Final[int]
    utilisation: Final[float]
    reader_pid: Final[int]
    reader_alive: Final[int]
    writer_pid: Final[int]
    writer_alive: Final[int]
    frames_written: Final[int]
    frames_read: Final[int]
    bytes_written: Final[int]
    bytes_read: Final[int]
    write_rate_fps: Final[float]
    read_rate_fps: Final[float]
    write_rate_bps: Final[float]
    read_rate_bps: Final[float]
    readers_reaped: Final[int]
    writers_reaped: Final[int]
    frames_lost: Final[int]
    mode: Final[int]
    adopted: Final[int]
    owner: Final[str]
    reader_liveness: Final[str]
    writer_liveness: Final[str]

class DaemonHealth(tuple):
    """zbd's own record in a health reply."""

    daemon: Final[str]
    version: Final[str]
    pid: Final[int]
    uptime_s: Final[int]
    buffers: Final[int]
    clients: Final[int]

class HealthReport(tuple):
    """A health reply: status, daemon, buffers."""

    status: Final[int]
    daemon: Final[DaemonHealth]
    buffers: Final[list[BufferHealth]]

class Daemon(_ContextManager):
    """A connection to zbd's control socket."""

    def __init__(
        self,
        socket: Union[str, os.PathLike[str], None] = None,
        timeout: Optional[float] = None,
    ) -> None: ...
    def create(
        self,
        name: str,
        *,
        payload_size: int = 0,
        metadata_size: int = 0,
        mode: int = 0,
        group: Optional[str] = None,
    ) -> None: ...
    def destroy(self, name: str, *, force: bool = False) -> None: ...
    def list(self) -> builtins.list[str]: ...
    def health(self, name: Optional[str] = None) -> HealthReport: ...
    def close(self) -> None: ...
    @property
    def socket(self) -> str: ...
    @property
    def closed(self) -> bool: ...
