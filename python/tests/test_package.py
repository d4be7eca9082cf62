# SPDX-License-Identifier: MIT
"""The package as installed and as documented: where meson installs it, the
type stubs against the module, help() text."""

import ast
import inspect
import os
import pathlib
import pydoc
import sys

import pytest

import zbclient
import zbclient._zbclient as ext
from zbclient import zerobuffer


def test_install_dir_is_on_this_pythons_path():
    """meson install puts the package where this interpreter (Debian's
    python3, for ./dev) imports it from."""
    d = os.environ.get("ZBPY_INSTALL_DIR")
    prefix = os.environ.get("ZBPY_PREFIX")
    if not d or not prefix:
        pytest.skip("run by meson test, which says where the package installs")
    if prefix not in ("/usr", "/usr/local"):
        pytest.skip(f"prefix {prefix}: the package goes on PYTHONPATH")
    assert os.path.normpath(d) in [os.path.normpath(p) for p in sys.path], (d, sys.path)


def stub_tree():
    return ast.parse((pathlib.Path(ext.__file__).parent / "_zbclient.pyi").read_text())


def stub_names():
    names = {}
    for node in stub_tree().body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = None
    return names


def test_stubs_cover_the_module():
    stubs = stub_names()
    public = [n for n in dir(ext) if not n.startswith("_") or n == "__version__"]
    for n in public:
        assert n in stubs, f"{n} is missing from _zbclient.pyi"
    for n in stubs:
        if not n.startswith("_"):
            assert hasattr(ext, n), f"_zbclient.pyi has {n}, the module not"
    for cls in (zbclient.Reader, zbclient.Writer, zbclient.Frame, zbclient.Daemon):
        members = {m for m in vars(cls) if not m.startswith("_")}
        assert members <= stubs[cls.__name__], members - stubs[cls.__name__]
        for m in stubs[cls.__name__]:
            # __buffer__ (PEP 688) tells type checkers a Frame is a buffer;
            # Python 3.12 has it at run time, 3.11 only the C slot.
            assert hasattr(cls, m) or m == "__buffer__", f"{cls.__name__}.{m}"
    for cls in (zbclient.BufferHealth, zbclient.DaemonHealth, zbclient.HealthReport,
                zbclient.Stats):
        assert set(cls.__match_args__) == stubs[cls.__name__]


def test_package_exports_everything():
    for n in zbclient.__all__:
        assert getattr(zbclient, n) is getattr(ext, n)
    assert set(zbclient.__all__) >= {n for n in dir(ext) if not n.startswith("_")}


def test_help_shows_the_api():
    text = pydoc.render_doc(zbclient, renderer=pydoc.plaintext)
    for words in ("class Reader", "read(timeout=None)", "class Writer", "acquire(size",
                  "class Daemon", "class Frame", "BufferError", "WriterGone"):
        assert words in text, words
    assert "Ctrl-C" in zbclient.Reader.read.__doc__
    assert inspect.signature(zbclient.Reader.read).parameters["timeout"].default is None
    assert str(inspect.signature(zbclient.Writer.commit)) == "(size=None)"
    for cls in (zbclient.Reader, zbclient.Writer, zbclient.Frame, zbclient.Daemon):
        assert cls.__doc__
        for n, m in vars(cls).items():
            if not n.startswith("_") and callable(m):
                assert m.__doc__, f"{cls.__name__}.{n}"
    assert pydoc.render_doc(zerobuffer, renderer=pydoc.plaintext).count("class ") >= 10


def test_typed_marker():
    assert (pathlib.Path(zbclient.__file__).parent / "py.typed").exists()
