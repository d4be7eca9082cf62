#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the compiler command given as arguments. A test that compiles runs it
# through this script so that `meson test --setup=valgrind` (which wraps every
# test, even in suite 'scripts' once --suite names the test's suite) measures
# this shell alone: valgrind does not follow the exec into the compiler, whose
# own leaks are not ours.
exec "$@"
