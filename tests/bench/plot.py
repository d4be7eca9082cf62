#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Draw zbbench's results (its --json output) with gnuplot (Debian's
gnuplot-nox): throughput by frame size, one line per implementation, and the
round-trip latency percentiles of one frame size, one group per
implementation.

    zbbench --json > run.json
    tests/bench/plot.py run.json OUTDIR     # OUTDIR/throughput.svg, OUTDIR/latency.svg

--png writes PNG instead of SVG; --latency-case picks the latency case
(default "64 B")."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

# Sizes of the throughput cases, from their labels ("64 B", "1 KiB", "1080p 3110400 B").
UNITS = {"B": 1, "KiB": 1024, "MiB": 1 << 20}


def case_bytes(label):
    words = label.split()
    if len(words) >= 2 and words[-1] in UNITS and words[-2].isdigit():
        return int(words[-2]) * UNITS[words[-1]]
    raise ValueError(f"no frame size in case {label!r}")


def quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Rows whose producer writes only the stamps: frames handed over, not bytes
# moved, so their GB/s would dwarf the rest. Left out of the GB/s plot.
HANDOVER = ("zb acquire/commit", "iceoryx loan/publish", "upstream get/commit")
# One colour per library, so its rows read as a family.
COLOURS = (("zb ", "#d62728"), ("iceoryx", "#1f77b4"), ("upstream", "#2ca02c"),
           ("memcpy", "#000000"), ("", "#7f7f7f"))


def colour(impl):
    return next(c for prefix, c in COLOURS if impl.startswith(prefix))


def throughput_plot(rows, data_dir, out, terminal):
    series = {}
    for r in rows:
        if (r.get("scenario") == "throughput" and r.get("gb_per_s") is not None
                and r["impl"] not in HANDOVER):
            series.setdefault(r["impl"], []).append((case_bytes(r["case"]), r["gb_per_s"]))
    if not series:
        return None
    plots = []
    for i, (impl, points) in enumerate(sorted(series.items())):
        path = os.path.join(data_dir, f"tp{i}.dat")
        with open(path, "w") as f:
            for size, gbs in sorted(points):
                f.write(f"{size} {gbs}\n")
        dash = 1 if "copy" in impl or "write_frame" in impl else 2 if "fill" in impl else 3
        plots.append(f"{quoted(path)} using 1:2 with linespoints lw 2 dt {dash} "
                     f"lc rgb {quoted(colour(impl))} title {quoted(impl)}")
    return "\n".join([
        f"set terminal {terminal} size 1000,650",
        f"set output {quoted(out)}",
        'set title "Throughput by frame size, bytes moved (zero-copy hand-overs left out)"',
        "set logscale xy",
        'set xlabel "frame size (bytes)"',
        'set ylabel "GB/s"',
        "set key outside right noenhanced",
        "set grid",
        "plot " + ", \\\n     ".join(plots),
    ])


def latency_plot(rows, case, data_dir, out, terminal):
    picked = [r for r in rows
              if r.get("scenario") == "latency" and r.get("case") == case
              and r.get("p50_us") is not None]
    if not picked:
        return None
    path = os.path.join(data_dir, "lat.dat")
    with open(path, "w") as f:
        for r in picked:
            f.write(f"{quoted(r['impl'])} {r['p50_us']} {r['p99_us']} {r['p999_us']}\n")
    return "\n".join([
        f"set terminal {terminal} size 1000,650",
        f"set output {quoted(out)}",
        f'set title "Round-trip latency, {case} (zbbench scenario 2)"',
        "set style data histogram",
        "set style histogram clustered gap 1",
        "set style fill solid 0.8 border -1",
        "set logscale y",
        'set ylabel "microseconds (log)"',
        "set xtics rotate by -30",
        "set key top left noenhanced",
        "set xtics noenhanced",
        "set grid ytics",
        f"plot {quoted(path)} using 2:xtic(1) title 'p50', '' using 3 title 'p99', "
        "'' using 4 title 'p99.9'",
    ])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", help="zbbench --json output ('-' for stdin)")
    ap.add_argument("outdir")
    ap.add_argument("--png", action="store_true")
    ap.add_argument("--latency-case", default="64 B")
    args = ap.parse_args()
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        sys.exit("plot.py: gnuplot is not installed (Debian package gnuplot-nox)")
    run = json.load(sys.stdin if args.json == "-" else open(args.json))
    rows = run.get("results", [])
    ext, terminal = ("png", "pngcairo") if args.png else ("svg", "svg dynamic")
    os.makedirs(args.outdir, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, script in (
                ("throughput", throughput_plot(rows, tmp, os.path.join(
                    args.outdir, f"throughput.{ext}"), terminal)),
                ("latency", latency_plot(rows, args.latency_case, tmp, os.path.join(
                    args.outdir, f"latency.{ext}"), terminal))):
            if script is None:
                print(f"plot.py: no {name} results in {args.json}", file=sys.stderr)
                continue
            subprocess.run([gnuplot], input=script, text=True, check=True)
            made.append(os.path.join(args.outdir, f"{name}.{ext}"))
    for m in made:
        print(m)
    return 0 if made else 1


if __name__ == "__main__":
    sys.exit(main())
