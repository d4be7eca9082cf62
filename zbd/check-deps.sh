#!/bin/sh
# SPDX-License-Identifier: MIT
# Which zbd module calls which: for every object file in the archives and
# objects given (the zbd core library, main.c's object), the other modules
# whose global functions it uses, from the symbol tables (nm), so macros and
# comments cannot fool it. Prints one "caller -> callee callee..." line per
# module; exits 1 and names the modules when two of them reach each other
# (the dependencies must point one way: a lower module reports upward through
# a callback, never by calling its caller).
#   zbd/check-deps.sh build/zbd/libzbdcore.a [build/zbd/zbd.p/main.c.o]
# (meson test zbd-deps runs it on the core library).
set -eu
[ $# -gt 0 ] || {
	echo "usage: $0 ARCHIVE_OR_OBJECT..." >&2
	exit 2
}
nm -A -g "$@" | awk '
	{
		# "archive:dir/member.c.o:ADDR T sym", "archive:dir/member.c.o:  U sym"
		if (NF < 3) next
		sym = $NF; type = $(NF - 1); file = $1
		sub(/:[0-9a-f]*$/, "", file); sub(/^.*\//, "", file)
		sub(/\.c\.o$/, "", file); sub(/\.o$/, "", file)
		mods[file] = 1
		if (type == "T") def[sym] = file
		else if (type == "U") use[file, sym] = 1
	}
	END {
		for (k in use) {
			split(k, p, SUBSEP)
			if ((p[2] in def) && def[p[2]] != p[1])
				edge[p[1], def[p[2]]] = 1
		}
		n = 0
		for (m in mods) name[n++] = m
		if (n == 0) {
			print "no object files read" > "/dev/stderr"
			exit 2
		}
		# sorted, for a stable report
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (name[j] < name[i]) { t = name[i]; name[i] = name[j]; name[j] = t }
		for (i = 0; i < n; i++) {
			line = name[i] " ->"
			for (j = 0; j < n; j++)
				if ((name[i], name[j]) in edge) line = line " " name[j]
			print line
			for (j = 0; j < n; j++) reach[name[i], name[j]] = ((name[i], name[j]) in edge)
		}
		for (k = 0; k < n; k++)
			for (i = 0; i < n; i++)
				if (reach[name[i], name[k]])
					for (j = 0; j < n; j++)
						if (reach[name[k], name[j]]) reach[name[i], name[j]] = 1
		bad = 0
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (reach[name[i], name[j]] && reach[name[j], name[i]]) {
					print "cycle: " name[i] " and " name[j] " reach each other"
					bad = 1
				}
		exit bad
	}'
