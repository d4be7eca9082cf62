#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Python binding's speed, next to its baselines, in one run.

1. 64 B frames, read + release: zbclient (the binding) against the upstream
   `zerobuffer` Python package (from ../shared), the same frames from the
   same C writer. Target: at least 10 x upstream.
2. 1 MiB frames read into numpy without a copy (numpy.frombuffer on the
   frame), against a C reader on libzbclient (zbpy-peer) reading the same
   frames from the same C writer. Target: at least 0.8 x the C GB/s.

Each reader is timed from its first frame to its last release; each case
runs --rounds times, interleaved, and the median is reported with the
machine's load. Timing never goes into the tests: this is run by hand.

    meson compile -C build
    PYTHONPATH=build/python /usr/bin/python3 python/bench/bench.py \\
        --peer build/python/tests/zbpy-peer
"""

import argparse
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import zbclient

MARKER = f"zbpybench{os.getpid()}"


def cleanup(name):
    for p in (f"/dev/shm/{name}", f"/dev/shm/sem.sem-w-{name}", f"/dev/shm/sem.sem-r-{name}",
              f"/tmp/zerobuffer/{name}.lock"):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


class Run:
    """One C writer (zbpy-peer write ... --fast) feeding one reader."""

    def __init__(self, peer):
        self.peer = peer
        self.n = 0

    def name(self):
        self.n += 1
        return f"{MARKER}-{self.n}"

    def writer(self, name, count, size):
        p = subprocess.Popen([self.peer, "write", name, str(count), str(size), "--fast"],
                             stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("bench: the C writer did not attach")
        return p

    def c_reader(self, count, size, ring):
        """The C library's rate: zbpy-peer read, which times itself."""
        name = self.name()
        try:
            r = subprocess.Popen([self.peer, "read", name, str(count), "--create", str(ring)],
                                 stdout=subprocess.PIPE, text=True)
            if r.stdout.readline().strip() != "ready":
                raise SystemExit("bench: the C reader did not start")
            w = self.writer(name, count, size)
            out, _ = r.communicate(timeout=600)
            w.wait(60)
            fields = dict(kv.split("=") for kv in out.split())
            return int(fields["bytes"]), int(fields["frames"]), float(fields["seconds"])
        finally:
            cleanup(name)

    def zbclient_reader(self, count, size, ring, numpy_view):
        name = self.name()
        try:
            with zbclient.Reader.create(name, payload_size=ring) as r:
                w = self.writer(name, count, size)
                read = r.read
                f = read(30)
                t0 = time.perf_counter()
                total = f.size
                if numpy_view:
                    a = np.frombuffer(f, dtype=np.uint8)
                    a[0]
                    del a
                    f.release()
                    for _ in range(count - 1):
                        f = read(30)
                        a = np.frombuffer(f, dtype=np.uint8)
                        total += a.size
                        a[0]  # touched, not copied
                        del a
                        f.release()
                else:
                    f.release()
                    for _ in range(count - 1):
                        read(30).release()
                    total = count * size
                t = time.perf_counter() - t0
                w.wait(60)
                return total, count, t
        finally:
            cleanup(name)

    def upstream_reader(self, count, size, ring):
        from zerobuffer import BufferConfig, Reader

        name = self.name()
        try:
            with Reader(name, BufferConfig(metadata_size=1024, payload_size=ring)) as r:
                w = self.writer(name, count, size)
                f = r.read_frame(30)
                t0 = time.perf_counter()
                r.release_frame(f)
                for _ in range(count - 1):
                    r.release_frame(r.read_frame(30))
                t = time.perf_counter() - t0
                w.wait(60)
                return count * size, count, t
        finally:
            cleanup(name)


def find_upstream(arg):
    here = pathlib.Path(__file__).resolve()
    candidates = [pathlib.Path(arg)] if arg else []
    candidates.append(here.parents[2].parent / "shared" / "upstream-zerobuffer")
    try:
        common = subprocess.run(["git", "-C", str(here.parent), "rev-parse",
                                 "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True).stdout.strip()
        if common:
            candidates.append(pathlib.Path(common).parents[1] / "shared" / "upstream-zerobuffer")
    except OSError:
        pass
    for c in candidates:
        if (c / "python" / "zerobuffer").is_dir():
            return c
    return None


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def median_rate(results, unit):
    """Median of per-round rates: frames/s or bytes/s."""
    if unit == "frames":
        rates = [frames / t for _, frames, t in results]
    else:
        rates = [b / t for b, _, t in results]
    return statistics.median(rates), rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", default=os.environ.get("ZBPY_PEER", "build/python/tests/zbpy-peer"),
                    help="the zbpy-peer C program (default: %(default)s)")
    ap.add_argument("--upstream", help="upstream-zerobuffer directory (default: ../shared/...)")
    ap.add_argument("--small-frames", type=int, default=200_000,
                    help="64 B frames per round (default: %(default)s)")
    ap.add_argument("--large-frames", type=int, default=4000,
                    help="1 MiB frames per round (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default: %(default)s)")
    args = ap.parse_args()

    up = find_upstream(args.upstream)
    if up is None:
        raise SystemExit("bench: the upstream package was not found (--upstream DIR)")
    sys.path[:0] = [str(up / "pyshim"), str(up / "python")]

    run = Run(args.peer)
    load0 = os.getloadavg()
    print(f"# {platform.node()}: {cpu_model()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()} ({sys.executable})")
    print(f"# command: {' '.join([sys.executable] + sys.argv)}")
    print(f"# load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")

    small, mib = 64, 1 << 20
    res = {"zb64": [], "up64": [], "zb1m": [], "c1m": []}
    for i in range(args.rounds):
        res["zb64"].append(run.zbclient_reader(args.small_frames, small, 1 << 20, False))
        res["up64"].append(run.upstream_reader(args.small_frames, small, 1 << 20))
        res["c1m"].append(run.c_reader(args.large_frames, mib, 32 * mib))
        res["zb1m"].append(run.zbclient_reader(args.large_frames, mib, 32 * mib, True))
        print(f"# round {i + 1}/{args.rounds} done", flush=True)
    load1 = os.getloadavg()
    print(f"# load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")

    zb64, zb64_all = median_rate(res["zb64"], "frames")
    up64, up64_all = median_rate(res["up64"], "frames")
    zb1m, zb1m_all = median_rate(res["zb1m"], "bytes")
    c1m, c1m_all = median_rate(res["c1m"], "bytes")

    def fmt(rates, scale, unit):
        return ", ".join(f"{r / scale:.3g}" for r in rates) + f" {unit}"

    print()
    print("| scenario | zbclient (binding) | baseline, same run | ratio | target |")
    print("|---|---|---|---|---|")
    print(f"| 64 B frames, read + release ({args.small_frames:,} frames) "
          f"| {zb64 / 1e6:.2f} M frames/s | upstream Python package {up64 / 1e3:.1f} k frames/s "
          f"| {zb64 / up64:.0f} x | >= 10 x |")
    print(f"| 1 MiB frames into numpy, no copy ({args.large_frames:,} frames) "
          f"| {zb1m / 1e9:.2f} GB/s | C reader on libzbclient {c1m / 1e9:.2f} GB/s "
          f"| {zb1m / c1m:.2f} x | >= 0.8 x |")
    print()
    print(f"# every round: zbclient 64 B {fmt(zb64_all, 1e6, 'M frames/s')}; "
          f"upstream {fmt(up64_all, 1e3, 'k frames/s')}")
    print(f"#              zbclient 1 MiB {fmt(zb1m_all, 1e9, 'GB/s')}; "
          f"C {fmt(c1m_all, 1e9, 'GB/s')}")
    ok = zb64 / up64 >= 10 and zb1m / c1m >= 0.8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
