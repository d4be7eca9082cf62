# SPDX-License-Identifier: MIT
"""libzbclient for Python: frames between processes through ZeroBuffer v1 rings.

A ring lives in shared memory; a Reader sees each frame in place, without a
copy (memoryview(frame), numpy.frombuffer(frame, dtype)), and a Writer copies
a frame in (write) or fills the ring directly (acquire, commit). zbd, the
broker, creates and owns rings and notices dead peers within milliseconds;
Daemon talks to it. Without zbd, Reader.create() makes a ring as the other
ZeroBuffer implementations do.

    import zbclient

    with zbclient.Reader.open("camera0") as reader:      # zbd owns camera0
        for frame in reader:                             # until the writer leaves
            with frame:
                image = numpy.frombuffer(frame, numpy.uint8)
                process(image)
                del image                                # before the frame goes

    with zbclient.Writer.open("camera0") as writer:
        writer.write(image)                              # any bytes-like
        view = writer.acquire(3110400)                   # or fill in place
        render_into(numpy.frombuffer(view, numpy.uint8))
        writer.commit()

Every library error raises a subclass of zbclient.Error named after its code
(WriterGone, ReaderGone, BufferFull, Timeout, Corrupt, ...). Waits release
the GIL and are interrupted by Ctrl-C. A frame refuses to be released while
a view of it is exported (BufferError), so no view ever shows bytes the
writer has overwritten.

zbclient.zerobuffer offers the upstream `zerobuffer` package's API on top of
this module.
"""

# Every public name of the extension: the handle and record types, one
# exception class per library error code (the table in module.c), the
# functions and constants. The extension is the one list of them.
from . import _zbclient
from ._zbclient import *  # noqa: F401,F403
from ._zbclient import __version__

__all__ = [n for n in dir(_zbclient) if not n.startswith("_")] + ["__version__"]
