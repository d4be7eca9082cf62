#!/bin/sh
# SPDX-License-Identifier: MIT
# One measuring run, as tests/bench/PERFORMANCE.md reports it: every scenario
# unpinned (tables and JSON from the same invocation), then the latency
# scenarios with a CPU per side, then the plots; the load average before,
# between and after goes into the log, since on a shared machine it is what
# the figures depend on most.
#
#   tests/bench/measure.sh BUILDDIR OUTDIR     # a release build: PERFORMANCE.md says how
set -eu

build=${1:?usage: measure.sh BUILDDIR OUTDIR}
out=${2:?usage: measure.sh BUILDDIR OUTDIR}
bench="$build/tests/bench/zbbench"
mkdir -p "$out"

load() {
	printf '%s  %s: load %s\n' "$(date -u +%H:%M:%S)" "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" |
		tee -a "$out/load.txt"
}

: >"$out/load.txt"
load "start, unpinned run"
"$bench" --duration=3 --round-trips=50000 --json="$out/run.json" | tee "$out/run.txt"
load "end of the unpinned run, start of the pinned one"
"$bench" --pin --only=2,3 --round-trips=50000 --json="$out/pinned.json" | tee "$out/pinned.txt"
load "end"
if command -v gnuplot >/dev/null; then
	"$(dirname "$0")/plot.py" "$out/run.json" "$out"
else
	echo "measure.sh: no gnuplot (gnuplot-nox): no plots" >&2
fi
