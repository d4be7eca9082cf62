#!/bin/sh
# SPDX-License-Identifier: MIT
# The promise, end to end with the real zbd: a broken configuration
# stops zbd at start with "FILE:LINE: what is wrong" and a non-zero exit; on
# SIGHUP it is logged, the running configuration stays, and a later good file
# is still taken.
# usage: zbd-config-errors.sh ZBD ZBCTL
set -u
zbd=$1 zbctl=$2
for b in "$zbd" "$zbctl"; do
	if [ ! -x "$b" ]; then
		echo "SKIP: $b has not been built"
		exit 77
	fi
done

dir=$(mktemp -d /tmp/zbd-config-XXXXXX) || exit 1
conf=$dir/zbd.conf sock=$dir/zbd.sock log=$dir/zbd.log
a=tcfg-$$-a b=tcfg-$$-b
pid=
cleanup() {
	if [ -n "$pid" ]; then
		"$zbctl" -s "$sock" destroy "$a" --force >/dev/null 2>&1
		"$zbctl" -s "$sock" destroy "$b" --force >/dev/null 2>&1
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	for n in "$a" "$b"; do
		rm -f "/dev/shm/$n" "/dev/shm/sem.sem-w-$n" "/dev/shm/sem.sem-r-$n" \
			"/tmp/zerobuffer/$n.lock"
	done
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$log" ] && sed 's/^/  zbd: /' "$log"
	exit 1
}

# At start: every class of error, each with its file and line.
check_start() { # LINE TEXT...
	line=$1
	shift
	printf '%b' "$*" >"$conf"
	timeout 10 "$zbd" -c "$conf" -s "$sock" -r "$dir" >"$log" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "zbd exited $rc on: $*"
	grep -q "^$conf:$line: " "$log" || fail "no '$conf:$line:' error for: $*"
	[ ! -e "$sock" ] || fail "zbd left a socket behind after a bad configuration"
}
check_start 2 '[zbd]\nbogus = 1\n'
check_start 3 '# x\n[zbd]\nstall_ms = soon\n'
check_start 2 '[zbd]\nadmin_group = no-such-group-zbdtest\n'
check_start 3 '[buffer x]\n\n[buffer x]\n'
check_start 1 '[nope]\n'
check_start 2 '[buffer x]\npayload = 0\n'
check_start 2 '[zbd]\nthis is not ini\n'
echo "ok: broken files stop zbd at start with FILE:LINE"

# On SIGHUP: logged, and the running configuration (buffer a only) stays.
printf '[zbd]\nstall_ms = 1000\n[buffer %s]\npayload = 64K\nmetadata = 1K\n' "$a" >"$conf"
"$zbd" -c "$conf" -s "$sock" -r "$dir" >"$log" 2>&1 &
pid=$!
i=0
until "$zbctl" -s "$sock" list >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "zbd did not start"
	kill -0 "$pid" 2>/dev/null || fail "zbd exited at start"
	sleep 0.05
done
"$zbctl" -s "$sock" list | grep -q "$a" || fail "buffer $a from the file was not created"

printf '[zbd]\nstall_ms = 1000\n[buffer %s]\npayload = 64K\n[buffer %s]\nmode = 0999\n' \
	"$a" "$b" >"$conf"
kill -HUP "$pid"
i=0
until grep -q "$conf:6: " "$log"; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the broken file was not reported as $conf:6"
	sleep 0.05
done
kill -0 "$pid" 2>/dev/null || fail "zbd died on a broken reload"
"$zbctl" -s "$sock" list >"$dir/list" 2>&1 || fail "zbd stopped answering after a broken reload"
grep -q "$a" "$dir/list" || fail "buffer $a vanished after a broken reload"
! grep -q "$b" "$dir/list" || fail "buffer $b was created from a broken file"
echo "ok: a broken file on SIGHUP is logged with FILE:LINE and zbd carries on"

# The same reload with the mistake fixed does take effect: the check above
# was not passing because reloads do nothing.
printf '[zbd]\n[buffer %s]\npayload = 64K\nmetadata = 1K\n[buffer %s]\npayload = 64K\nmetadata = 1K\n' \
	"$a" "$b" >"$conf"
kill -HUP "$pid"
i=0
until "$zbctl" -s "$sock" list 2>/dev/null | grep -q "$b"; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "a good file on SIGHUP did not create $b"
	sleep 0.05
done
echo "ok: a good file on SIGHUP is taken"
