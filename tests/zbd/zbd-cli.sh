#!/bin/sh
# SPDX-License-Identifier: MIT
# zbd's command line as an operator meets it: --version, long options as well
# as short ones, and log lines with journald's "<N>" priority prefixes only
# when stderr is the journal (JOURNAL_STREAM names it), plain lines otherwise.
# usage: zbd-cli.sh ZBD VERSION
set -u
zbd=$1 version=$2
[ -x "$zbd" ] || { echo "SKIP: $zbd has not been built"; exit 77; }

dir=$(mktemp -d /tmp/zbt-zbdcli-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "FAIL: $*"
	for f in "$dir"/out "$dir"/log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f"; done
	exit 1
}

"$zbd" --version >"$dir/out" 2>&1 || fail "--version exited $?"
[ "$(cat "$dir/out")" = "zbd $version" ] || fail "--version printed something else"
"$zbd" --help >"$dir/out" 2>&1 || fail "--help exited $?"
for o in --config --socket --state-dir --help --version; do
	grep -q -- "$o" "$dir/out" || fail "--help does not mention $o"
done
"$zbd" --bogus >"$dir/out" 2>&1
[ $? -eq 2 ] || fail "an unknown option did not exit 2"
echo "ok: --version, --help, an unknown option"

# A configuration that stops zbd at once, with one error line: which of the
# long options are taken is seen in the message (the file's path).
conf=$dir/zbd.conf log=$dir/log
printf '[zbd]\nbogus = 1\n' >"$conf"
run() { # expected-prefix [env...]: run zbd, stderr to $log
	want=$1
	shift
	: >"$log"
	env "$@" timeout 10 "$zbd" --config "$conf" --socket "$dir/sock" --state-dir "$dir" \
		2>>"$log" >/dev/null
	[ $? -eq 1 ] || fail "zbd with a bad file did not exit 1 ($*)"
	grep -q "^$want$conf:2: unknown key 'bogus'" "$log" ||
		fail "no '$want$conf:2:' line ($*)"
	[ ! -e "$dir/sock" ] || fail "a socket was left behind"
}
run '' -u JOURNAL_STREAM
echo "ok: long options; plain lines on a file"
# JOURNAL_STREAM names stderr's device and inode: the journal.
run '<3>' JOURNAL_STREAM="$(stat -c %d:%i "$log")"
echo "ok: priority prefixes when stderr is the journal"
# Inherited by a process whose stderr is something else: no prefixes.
run '' JOURNAL_STREAM="$(stat -c %d:%i "$conf")"
run '' JOURNAL_STREAM=garbage
echo "ok: plain lines when JOURNAL_STREAM names another stream"
