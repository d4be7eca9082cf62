#!/bin/sh
# SPDX-License-Identifier: MIT
# Print where ../shared is (upstream's peers and vectors), or nothing when there
# is none; the one rule for meson, ./dev and the Python tests:
#   $ZB_SHARED if set; else the repository's parent's shared/; else, in a git
#   worktree, the main checkout's parent's shared/.
# A directory counts only if it holds upstream-zerobuffer/.
# Usage: find-shared.sh [SOURCE_ROOT]   (default: this script's repository)
root=${1:-$(dirname "$0")/..}
common=$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
for d in "${ZB_SHARED:-}" "$root/../shared" "${common:+$common/../../shared}"; do
	if [ -n "$d" ] && [ -d "$d/upstream-zerobuffer" ]; then
		(cd "$d" && pwd -P)
		exit 0
	fi
done
exit 0
