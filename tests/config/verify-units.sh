#!/bin/sh
# SPDX-License-Identifier: MIT
# systemd-analyze verify on zbd.service (a copy pointing at the built zbd) and
# zbd.socket. Exit 77 (skipped) with the reason when it cannot run here.
# usage: verify-units.sh SERVICE SOCKET ZBD_BINARY
set -u
service=$1 socket=$2 zbd=$3

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed"
	exit 77
fi
if [ ! -x "$zbd" ]; then
	echo "SKIP: $zbd has not been built (ExecStart must exist for verify)"
	exit 77
fi

# verify wants both units under their own names, side by side.
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cp "$service" "$dir/zbd.service" && cp "$socket" "$dir/zbd.socket" || exit 1

# --man=no: there is no zbd(8) page to look up. Unit-file warnings go to
# stderr with a zero status, so any output counts as a failure too.
out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	"$dir/zbd.socket" "$dir/zbd.service" 2>&1)
rc=$?
printf '%s\n' "$out"
case "$out" in
*"Failed to"*"bus"*|*"Failed to initialize manager"*|*"System has not been booted with systemd"*)
	if [ $rc -ne 0 ]; then
		echo "SKIP: systemd-analyze verify cannot run in this environment"
		exit 77
	fi
	;;
esac
if [ $rc -ne 0 ]; then
	echo "FAIL: systemd-analyze verify exited $rc"
	exit 1
fi
if printf '%s' "$out" | grep -q "zbd\.s"; then
	echo "FAIL: systemd-analyze verify complained about the units"
	exit 1
fi
echo "OK: zbd.service and zbd.socket verify"
