#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs its arguments as a command. Tests that run a compiler or a longer shell
# script go through it so that `meson test --setup=valgrind` (which wraps
# every test, even in suite 'scripts' once --suite names the test's suite)
# measures this shell alone: valgrind does not follow the exec, and the leaks
# of gcc or of dash are not ours.
exec "$@"
