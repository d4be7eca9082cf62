#!/bin/sh
# SPDX-License-Identifier: MIT
# The headers as installed: install the build into a scratch DESTDIR, compile
# a program that finds <zbclient.h> there and nowhere else, and check that it
# prints the project's version (the generated zbclient-version.h came along).
# Usage: installed-header.sh VERSION BUILDDIR MESON CC [CC-ARGS...]
set -eu
version=$1 builddir=$2 meson=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

"$meson" install -C "$builddir" --no-rebuild --quiet --tags devel --destdir "$tmp/root" >/dev/null
hdr=$(find "$tmp/root" -name zbclient.h)
[ -n "$hdr" ] || { echo "zbclient.h was not installed" >&2; exit 1; }
incdir=$(dirname "$hdr")
[ -f "$incdir/zbclient-version.h" ] || { echo "zbclient-version.h is not beside $hdr" >&2; exit 1; }

cat >"$tmp/prog.c" <<'C'
#include <stdio.h>
#include <zbclient.h>

int main(void)
{
	printf("%s %d.%d.%d\n", ZB_VERSION_STRING, ZB_VERSION_MAJOR, ZB_VERSION_MINOR,
	       ZB_VERSION_PATCH);
	return 0;
}
C
"$@" -std=c99 -pedantic -Werror -Wall -Wextra -I"$incdir" -o "$tmp/prog" "$tmp/prog.c"
got=$("$tmp/prog")
if [ "$got" != "$version $version" ]; then
	echo "installed header says '$got', the project is $version" >&2
	exit 1
fi
echo "installed headers in $incdir: version $version"
