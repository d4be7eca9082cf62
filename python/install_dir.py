# SPDX-License-Identifier: MIT
"""Print the directory on this interpreter's sys.path where a package
installed under PREFIX belongs (PREFIX/lib.../site-packages or
dist-packages), or nothing when no sys.path entry lies there.

Usage: python3 -I install_dir.py PREFIX   (run by python/zbclient/meson.build;
-I keeps PYTHONPATH, the user site and the script's directory out)
"""
import os
import sys

prefix = os.path.normpath(sys.argv[1])
for entry in sys.path:
    entry = os.path.normpath(entry)
    rel = os.path.relpath(entry, prefix)
    if rel.startswith("lib") and os.path.basename(entry) in ("site-packages", "dist-packages"):
        print(entry)
        break
