#!/usr/bin/env bash
# Fuzz every harness for a bounded time under ASan + UBSan with libFuzzer.
#   tests/fuzz/run.sh [SECONDS_PER_HARNESS [HARNESS...]]     (default: 60, all)
# Needs clang and libclang-rt-14-dev (Debian 12: libFuzzer and the sanitizer
# runtimes). Builds in build-fuzz/ (its own clang build, -Dfuzz=true), fuzzes
# with the seed corpus and the kept crash inputs of tests/fuzz/, and keeps what
# it learns in build-fuzz/fuzz-corpus/HARNESS/ (never in the repository).
# Prints the executions of each harness; exits non-zero on any crash, leak,
# timeout or sanitizer report, leaving the input in build-fuzz/fuzz-artifacts/.
# Keep a crash input as a regression test: fix the bug, then
#   cp build-fuzz/fuzz-artifacts/HARNESS/crash-* tests/fuzz/regressions/HARNESS/
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(reader ctl_request zbd_scan)
case $secs in
'' | *[!0-9]*)
	echo "usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS [HARNESS...]]" >&2
	exit 2
	;;
esac

# Say what is missing rather than fail somewhere in meson or the linker.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' >"$probe/p.c"
if ! command -v clang >/dev/null ||
	! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>/dev/null; then
	echo "fuzz: clang with libFuzzer is needed: apt-get install clang libclang-rt-14-dev" >&2
	exit 2
fi

dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
	# fuzzer-no-link gives libFuzzer coverage of the library too, not only of
	# the harness; the harness itself links with -fsanitize=fuzzer.
	CC=clang meson setup "$dir" -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dfuzz=true -Dc_args=-fsanitize=fuzzer-no-link
fi
targets=()
for h in "${harnesses[@]}"; do
	targets+=("tests/fuzz/fuzz_$h")
done
# Only the harnesses: the rest of the tree is not ours to fail on here.
ninja -C "$dir" "${targets[@]}"

# UBSan only warns by default; a report must count as a crash.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

failed=()
for h in "${harnesses[@]}"; do
	work="$dir/fuzz-corpus/$h"
	artifacts="$dir/fuzz-artifacts/$h"
	log="$dir/fuzz-$h.log"
	mkdir -p "$work" "$artifacts"
	extra=()
	[ -f "tests/fuzz/$h.dict" ] && extra+=(-dict="tests/fuzz/$h.dict")
	# Request streams longer than ZB_CTL_LINE_MAX, where the server gives up.
	[ "$h" = ctl_request ] && extra+=(-max_len=8192)
	# zbd's code logs on stderr at every turn: close it (libFuzzer keeps its
	# own copy, the harnesses report through theirs).
	[ "$h" = reader ] || extra+=(-close_fd_mask=2)
	# New inputs go to the first directory only: the repository's stay as they are.
	"$dir/tests/fuzz/fuzz_$h" "$work" "tests/fuzz/corpus/$h" "tests/fuzz/regressions/$h" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "${extra[@]}" >"$log" 2>&1 &
	pid=$!
	rc=0
	wait "$pid" || rc=$?
	# A crash or timeout leaves its objects behind; their names carry the pid.
	rm -f /dev/shm/zbfuzz-"$pid"-* /dev/shm/sem.sem-[wr]-zbfuzz-"$pid"-* \
		/dev/shm/zbfuzz-scan-"$pid"-* /dev/shm/sem.sem-[wr]-zbfuzz-scan-"$pid"-* \
		/tmp/zerobuffer/zbfuzz-scan-"$pid"-*.lock
	# Buffers a crashed zbd harness still owned are listed in its state file.
	for state in /tmp/zbfuzz-*-"$pid"-*/state; do
		[ -f "$state" ] || continue
		tail -n +2 "$state" | while read -r name _; do
			rm -f -- "/dev/shm/$name" "/dev/shm/sem.sem-w-$name" \
				"/dev/shm/sem.sem-r-$name" "/tmp/zerobuffer/$name.lock"
		done
	done
	rm -rf /tmp/zbfuzz-*-"$pid"-*
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	echo "fuzz_$h: ${execs:-?} executions in ${secs} s, exit status $rc (log: $log)"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|invariant failed|runtime error|Test unit written' "$log" |
			head -n 20 >&2 || true
		failed+=("$h")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: all harnesses ran clean"
