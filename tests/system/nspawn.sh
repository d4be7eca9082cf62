#!/bin/sh
# SPDX-License-Identifier: MIT
# zbd under a real systemd: install this build into a private prefix, boot a
# systemd container over the host's own /usr (systemd-nspawn --volatile=yes)
# with that prefix at /usr/local, and let check.service (check.sh) exercise
# the installed units from inside: socket activation, Type=notify readiness,
# reload, the watchdog, restart under a running stream, the fd store against
# another reader's sweep, sysusers/tmpfiles, RemoveIPC=no, journal fields,
# metrics. check.sh writes one "ok"/"not ok" line per check to a bound folder
# and powers the container off. Exit 77 (skipped) with the reason when no
# container can boot here.
#   nspawn.sh BUILD_DIR CHECK_SCRIPT
set -u
build=$1 check=$2

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "booting a container needs root"
command -v systemd-nspawn >/dev/null 2>&1 || skip "systemd-nspawn is not installed (package systemd-container)"
[ -x /usr/lib/systemd/systemd ] || [ -x /lib/systemd/systemd ] || skip "systemd is not installed"
[ -d /sys/fs/cgroup ] && [ -n "$(ls -A /sys/fs/cgroup 2>/dev/null)" ] || skip "no cgroup file system mounted"
command -v meson >/dev/null 2>&1 || skip "meson is not on PATH (needed for meson install)"

work=$(mktemp -d /tmp/zbt-system-XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/dest" "$work/out"

# The build as a package would install it, under the build's own prefix.
if ! meson install -C "$build" --no-rebuild --quiet --destdir "$work/dest" >"$work/install.log" 2>&1; then
	cat "$work/install.log"
	echo "meson install failed"
	exit 1
fi
prefix=$(meson introspect --buildoptions "$build" 2>/dev/null |
	sed -n 's/.*"name": "prefix", "value": "\([^"]*\)".*/\1/p')
[ -n "$prefix" ] || prefix=/usr/local
case "$prefix" in
/usr/local) ;;
*) skip "the build's prefix is $prefix; the container binds only /usr/local" ;;
esac

cat >"$work/check.service" <<EOF
[Unit]
Description=zbd system test
After=sysinit.target sockets.target
[Service]
Type=oneshot
StandardOutput=append:/out/log
StandardError=append:/out/log
ExecStart=/bin/bash /out/check.sh
ExecStopPost=/bin/systemctl --no-block poweroff
EOF
cp "$check" "$work/out/check.sh"

# --volatile=yes: / is a tmpfs with the host's /usr (read-only) under it, so
# nothing the container does reaches the host; /tmp and /dev/shm are its
# own. The prefix is bound read-write, so the test may edit zbd.conf.
machine="zbt-system-$$"
timeout -k 10 240 systemd-nspawn --directory=/ --volatile=yes --register=no --keep-unit \
	--machine="$machine" --console=pipe \
	--bind="$work/dest/usr/local:/usr/local" \
	--bind="$work/out:/out" \
	--bind-ro="$work/check.service:/etc/systemd/system/check.service" \
	-b -- systemd.firstboot=off systemd.wants=check.service \
	>"$work/boot.log" 2>&1
rc=$?

echo "--- results (check.sh inside the container)"
cat "$work/out/results" 2>/dev/null
if [ ! -s "$work/out/results" ]; then
	echo "--- boot log"
	tail -n 40 "$work/boot.log"
	if grep -q -e "Failed to" -e "cgroup" "$work/boot.log" && [ $rc -ne 124 ]; then
		skip "the container did not boot (nspawn exit $rc)"
	fi
fi
if [ -s "$work/out/log" ] && grep -q '^not ok' "$work/out/results" 2>/dev/null; then
	echo "--- check.sh's log"
	tail -n 80 "$work/out/log"
fi
[ $rc -eq 124 ] && echo "the container did not power off within 240 s" && exit 1
grep -q '^done$' "$work/out/results" 2>/dev/null || {
	echo "check.sh did not finish"
	exit 1
}
! grep -q '^not ok' "$work/out/results"
