#!/bin/bash
# SPDX-License-Identifier: MIT
# Inside the container that tests/system/nspawn.sh boots, as check.service:
# zbd installed under /usr/local, its units found there by systemd. One line
# per check into /out/results ("ok NAME" or "not ok NAME: why"), "done" at
# the end; the unit powers the container off when this script ends.
set -u
exec >>/out/log 2>&1
results=/out/results
: >"$results"
export PATH=/usr/local/bin:$PATH
# /etc is empty here, so ld.so.cache does not know /usr/local/lib.
LD_LIBRARY_PATH=$(dirname "$(find /usr/local/lib -name 'libzbclient.so*' | head -n 1)")
export LD_LIBRARY_PATH
conf=/usr/local/etc/zbd/zbd.conf

ok() { echo "ok $1" >>"$results"; }
bad() { echo "not ok $1: $2" >>"$results"; echo "FAILED $1: $2"; }
check() { # check NAME COMMAND...: ok if the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name" "'$*' failed"; fi
}
# until SECONDS COMMAND...: run the command every 0.1 s until it succeeds
until_true() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
main_pid() { systemctl show -p MainPID --value zbd.service; }
listed() { zbctl list | grep -qx "$1"; }
lock_held() { ! flock -n "/tmp/zerobuffer/$1.lock" true; }
objects_there() { [ -e "/dev/shm/$1" ] && [ -e "/dev/shm/sem.sem-w-$1" ] && [ -e "/tmp/zerobuffer/$1.lock" ]; }

echo "== $(date) zbd system test; zbd is $(command -v zbd)"

# The test's own settings, as an operator would make them: a shorter
# watchdog (and no core dumps from its SIGABRT) in a drop-in.
mkdir -p /etc/systemd/system/zbd.service.d
printf '[Service]\nWatchdogSec=2s\nRestartSec=2s\nLimitCORE=0\n' >/etc/systemd/system/zbd.service.d/50-test.conf
printf '[zbd]\nadmin_group = zbd\n\n[buffer sys-a]\npayload = 256K\n' >"$conf"
systemctl daemon-reload

# --- sysusers and tmpfiles snippets (applied at boot from /usr/local/lib)
check sysusers-group getent group zbd
check tmpfiles-lockdir test "$(stat -c %a:%U /tmp/zerobuffer 2>&1)" = 1777:root

# --- socket activation: enabled as the README says; the first client starts zbd.
# This first boot applied the distribution's presets (Debian's enable every
# unit, so boot may have started zbd.service already): start from neither.
systemctl disable --now zbd.service zbd.socket
systemctl enable --now zbd.socket
check socket-listening systemctl is-active --quiet zbd.socket
check not-started-yet test "$(systemctl is-active zbd.service)" = inactive
check first-client-starts-zbd listed sys-a
check service-active systemctl is-active --quiet zbd.service
# Type=notify: active only after READY=1, and STATUS= is shown.
check notify-status sh -c 'systemctl show -p StatusText --value zbd.service | grep -q "buffer.*listening"'
check notify-type test "$(systemctl show -p Type --value zbd.service)" = notify

# --- reload: SIGHUP creates a newly configured buffer
printf '\n[buffer sys-b]\npayload = 64K\n' >>"$conf"
systemctl reload zbd.service
check reload-creates-buffer until_true 5 listed sys-b
check fd-store-holds-locks test "$(systemctl show -p NFileDescriptorStore --value zbd.service)" = 2

# --- restart with a stream running: no frame lost, buffers adopted
seq 1 1000000 >/tmp/sent
zbctl read sys-a --lines >/tmp/received &
reader=$!
until_true 5 sh -c 'zbctl --json health sys-a | grep -q "\"reader_alive\": *1"'
zbctl write sys-a --lines </tmp/sent &
writer=$!
until_true 5 sh -c 'zbctl --json health sys-a | grep -q "\"frames_written\": *[1-9]"'
before=$(main_pid)
systemctl restart zbd.service
after=$(main_pid)
check restart-new-pid test "$before" != "$after"
wait $writer
check stream-writer-ok test $? -eq 0
wait $reader
check stream-reader-ok test $? -eq 0
check restart-no-frame-lost cmp -s /tmp/sent /tmp/received
both_listed() { listed sys-a && listed sys-b; }
check restart-adopted both_listed
journalctl -b -u zbd.service --no-pager | grep -q "sys-a: adopted" &&
	ok restart-adopted-logged || bad restart-adopted-logged "no 'sys-a: adopted' in the journal"

# --- the fd store: zbd crashes; while it is down another ZeroBuffer reader
# starts and sweeps /tmp/zerobuffer; idle sys-b must survive it.
before=$(main_pid)
systemctl kill -s KILL zbd.service
until_true 5 sh -c '[ "$(systemctl show -p MainPID --value zbd.service)" != "'"$before"'" ]' || true
check down-lock-held lock_held sys-b
timeout 5 zbctl read sys-sweep --create --timeout 100 >/dev/null 2>&1 # sweeps at create
check down-during-sweep test "$(main_pid)" = 0
check sweep-left-sys-b objects_there sys-b
check crash-restarted until_true 10 systemctl is-active --quiet zbd.service
check crash-adopted until_true 5 listed sys-b
check crash-fd-store test "$(systemctl show -p NFileDescriptorStore --value zbd.service)" = 2
journalctl -b -u zbd.service --no-pager | grep -q "buffer locks were kept by systemd" &&
	ok fd-store-returned || bad fd-store-returned "no 'kept by systemd' line in the journal"

# --- the watchdog: a zbd that stops answering is killed and restarted
before=$(main_pid)
restarts=$(systemctl show -p NRestarts --value zbd.service)
kill -STOP "$before"
check watchdog-restarts until_true 20 sh -c '[ "$(systemctl show -p NRestarts --value zbd.service)" -gt '"$restarts"' ] && systemctl is-active --quiet zbd.service'
check watchdog-new-pid test "$(main_pid)" != "$before"
check watchdog-logged sh -c 'journalctl -b -u zbd.service --no-pager | grep -qi "watchdog timeout"'
check watchdog-adopted until_true 5 listed sys-a

# --- health events as structured journal entries
zbctl create sys-c --payload 64K
head -c 60000 /dev/zero | zbctl write sys-c --frame-size 1000 # 93 % of the ring
sleep 30 | zbctl write sys-c --frame-size 1000 &
dead=$!
until_true 5 sh -c 'zbctl --json health sys-c | grep -q "\"writer_alive\": *1"'
writer_pid=$(zbctl --json health sys-c | sed -n 's/.*"writer_pid": *\([0-9]*\).*/\1/p')
kill -KILL "$writer_pid"
wait $dead 2>/dev/null
pkill -x -P $$ sleep
check journal-state until_true 5 sh -c 'journalctl -b ZB_BUFFER=sys-c ZB_STATE=degraded --no-pager -o cat | grep -q "state healthy -> degraded"'
check journal-reaped until_true 5 sh -c 'journalctl -b ZB_BUFFER=sys-c ZB_EVENT=writer-reaped ZB_PID='"$writer_pid"' --no-pager -o cat | grep -q died'

# --- metrics for the textfile collector
check metrics sh -c 'zbctl metrics | grep -q "^zbd_buffer_frames_written_total{buffer=\"sys-a\"} [1-9]"'

# --- a plain stop: RemoveIPC=no keeps the buffers; the fd store is emptied
# (documented: idle buffers are then exposed to another reader's sweep)
systemctl stop zbd.service
check stop-keeps-objects sh -c 'objects_there() { [ -e /dev/shm/$1 ] && [ -e /dev/shm/sem.sem-r-$1 ]; }; objects_there sys-a && objects_there sys-b'
lock_held sys-b && bad stop-releases-locks "sys-b's lock is still held after a stop" || ok stop-releases-locks
check restarted-by-socket listed sys-a

echo done >>"$results"
echo "== $(date) done"
