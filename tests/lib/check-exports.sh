#!/bin/sh
# SPDX-License-Identifier: MIT
# Every symbol libzbclient.so defines for others starts with zb_; the only
# other entries allowed are the version nodes of libzbclient.sym (ZBCLIENT_n).
set -eu
nm="$1"
lib="$2"
# Names carry their version node (zb_x@@ZBCLIENT_0): judge the name alone.
syms=$("$nm" -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $2 " " $3 }')
[ -n "$syms" ] || { echo "no dynamic symbols in $lib" >&2; exit 1; }
bad=$(printf '%s\n' "$syms" | awk '
	$1 == "A" && $2 ~ /^ZBCLIENT_[0-9.]+$/ { next }
	$2 !~ /^zb_/ { print }')
if [ -n "$bad" ]; then
	echo "symbols outside the zb_ prefix exported by $lib:" >&2
	printf '%s\n' "$bad" >&2
	exit 1
fi
printf '%s\n' "$syms" | grep -q ' zb_reader_open$' || { echo "zb_reader_open missing" >&2; exit 1; }
echo "$(printf '%s\n' "$syms" | wc -l) exported symbols, all zb_"
