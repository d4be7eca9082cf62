#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages as built: each renders without a single groff warning
# (man --warnings=w), and each still covers what it documents: every verb and
# option zbctl's help shows, every option of zbd --help, every key of
# conf/zbd.conf, every call zbclient.h declares. A page that falls behind the
# code fails here.
# usage: check-man.sh ZBCTL ZBD ZBCLIENT_H ZBD_CONF PAGE...
set -u
zbctl=$1 zbd=$2 header=$3 conf=$4
shift 4
[ $# -gt 0 ] || { echo "SKIP: the man pages were not built (no scdoc, or -Dman=disabled)"; exit 77; }
command -v man >/dev/null || { echo "SKIP: man is not installed (Debian: man-db)"; exit 77; }

dir=$(mktemp -d /tmp/zbt-man-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
status=0
fail() {
	echo "FAIL: $*"
	status=1
}

# Rendered as a reader sees it, and as plain ASCII on long lines for the
# content checks (no hyphenation at line ends breaks an option apart).
for page in "$@"; do
	name=$(basename "$page")
	MANWIDTH=80 man --warnings=w -E UTF-8 -l "$page" >"$dir/$name.txt" 2>"$dir/$name.err"
	if [ -s "$dir/$name.err" ]; then
		fail "$name: groff warns:"
		sed 's/^/  /' "$dir/$name.err"
	elif ! grep -q '^NAME' "$dir/$name.txt"; then
		fail "$name: no NAME section in the rendered page"
	else
		echo "ok: $name renders without warnings"
	fi
	MANWIDTH=1000 man -E ascii -l "$page" >"$dir/$name.plain" 2>/dev/null
done

covers() { # PAGE WHAT WORD...
	page=$1 what=$2
	shift 2
	[ -f "$dir/$page.plain" ] || { fail "$page was not given"; return; }
	for w in "$@"; do
		grep -q -F -e "$w" "$dir/$page.plain" || fail "$page does not mention $what $w"
	done
}

# zbctl: the verbs of its usage, and every long option of every verb's help.
verbs=$("$zbctl" --help | sed -n '/^Verbs:/,/^$/p' | awk '/^  [a-z]/ { print $1 }')
[ -n "$verbs" ] || fail "no verbs found in zbctl --help"
# Each verb has its own entry: a line that starts with it.
for v in $verbs; do
	grep -q -E "^ +$v( |\$)" "$dir/zbctl.1.plain" 2>/dev/null || fail "zbctl.1 has no entry for verb $v"
done
for v in $verbs; do
	covers zbctl.1 "option (of $v)" $("$zbctl" "$v" --help | grep -o -e '--[a-z][a-z-]*' | sort -u)
done
echo "ok: zbctl.1 covers $(echo $verbs | wc -w) verbs and their options"

# zbd: every long option of its help.
covers zbd.8 option $("$zbd" --help | grep -o -e '--[a-z][a-z-]*' | sort -u)
echo "ok: zbd.8 covers zbd's options"

# zbd.conf: every key the shipped file shows (commented out as "#key = value").
keys=$(sed -n 's/^#\([a-z_]*\) = .*/\1/p' "$conf" | sort -u)
[ -n "$keys" ] || fail "no keys found in $conf"
covers zbd.conf.5 key $keys
echo "ok: zbd.conf.5 covers $(echo $keys | wc -w) keys"

# libzbclient: every function the public header declares.
calls=$(grep -o -E '^[a-z].*[ *](zb_[a-z_]+)\(' "$header" | grep -o -E 'zb_[a-z_]+\($' | tr -d '(' | sort -u)
[ -n "$calls" ] || fail "no calls found in $header"
covers libzbclient.3 call $calls
echo "ok: libzbclient.3 covers $(echo $calls | wc -w) calls"
exit $status
