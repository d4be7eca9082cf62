# SPDX-License-Identifier: MIT
"""The busy-poll wait policy from Python: set_spin(SPIN_FOREVER) on both
handles; a busy read still times out, and frames still arrive."""

import pytest

import zbclient


def test_spin_forever(name):
    assert zbclient.SPIN_FOREVER == 2**32 - 1
    with zbclient.Reader.create(name, payload_size=65536) as r, \
            zbclient.Writer.open(name) as w:
        r.set_spin(zbclient.SPIN_FOREVER)
        w.set_spin(zbclient.SPIN_FOREVER)
        with pytest.raises(ValueError):
            r.set_spin(zbclient.SPIN_FOREVER - 1)
        with pytest.raises(ValueError):
            w.set_spin(10 * 1000 * 1000 + 1)
        with pytest.raises(zbclient.Timeout):
            r.read(0.2)
        w.write(b"busy")
        with r.read(5) as f:
            assert bytes(f) == b"busy"
