#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""1080p RGB frames through a ZeroBuffer ring, numpy on both sides, no copy.

The producer draws each frame straight into the ring (Writer.acquire gives a
writable view of the frame's place in shared memory); the consumer looks at
each frame in place (numpy.frombuffer on the Frame). Neither copies a pixel.

    # with zbd (it owns the buffer):
    zbctl create camera0 --payload 64M
    frames1080p.py consume camera0 &
    frames1080p.py produce camera0 --count 300 --fps 30

    # without zbd: the consumer creates the buffer, as other ZeroBuffer
    # readers do
    frames1080p.py consume camera0 --create &
    frames1080p.py produce camera0

    # both in one go (the consumer creates, the producer runs as a child)
    frames1080p.py demo --count 120
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import zbclient

WIDTH, HEIGHT = 1920, 1080
SHAPE = (HEIGHT, WIDTH, 3)
FRAME_BYTES = WIDTH * HEIGHT * 3  # 6,220,800
RING = 64 << 20  # ten frames in flight


def produce(name, count, fps):
    gradient = np.linspace(0, 255, WIDTH, dtype=np.uint8)  # red ramp, left to right
    period = 1.0 / fps if fps else 0.0
    with zbclient.Writer.open(name) as writer:
        writer.set_metadata(json.dumps({"width": WIDTH, "height": HEIGHT,
                                        "format": "RGB24"}).encode())
        t_next = time.monotonic()
        for i in range(count):
            view = writer.acquire(FRAME_BYTES, timeout=10)
            img = np.frombuffer(view, dtype=np.uint8).reshape(SHAPE)
            img[..., 0] = gradient          # broadcast over every row
            img[..., 1] = i % 256           # the frame number, mod 256
            img[..., 2] = 0
            x = (i * 16) % (WIDTH - 64)
            img[:, x:x + 64, 2] = 255       # a blue bar moving right
            del img                         # no view may outlive the commit
            writer.commit()
            if period:
                t_next += period
                time.sleep(max(0.0, t_next - time.monotonic()))
    print(f"produced {count} frames of {WIDTH}x{HEIGHT}", flush=True)


def consume(name, count, create):
    if create:
        reader = zbclient.Reader.create(name, payload_size=RING)
        print("ready", flush=True)  # the buffer exists: a producer may attach
    else:
        reader = zbclient.Reader.open(name)
    n = 0
    t0 = None
    with reader:
        for frame in reader:  # ends when the producer leaves
            with frame:
                meta = json.loads(reader.metadata)
                img = np.frombuffer(frame, dtype=np.uint8).reshape(
                    meta["height"], meta["width"], 3)
                if img[0, 0, 1] != (frame.sequence - 1) % 256:
                    raise SystemExit(f"frame {frame.sequence}: wrong content")
                bar = int(np.argmax(img[0, :, 2]))
                brightness = float(img[::8, ::8].mean())  # a sample: a few µs
                del img  # before the frame is released
            n += 1
            t0 = t0 or time.monotonic()
            if n % 30 == 0 or n == 1:
                print(f"frame {frame.sequence}: bar at x={bar}, mean {brightness:.1f}",
                      flush=True)
            if count and n == count:
                break
    dt = time.monotonic() - t0 if t0 else 0
    rate = f", {(n - 1) / dt:.0f} frames/s" if n > 1 and dt > 0 else ""
    print(f"consumed {n} frames{rate}", flush=True)


def demo(count, name):
    """The consumer (which creates and owns the buffer) and the producer, as
    two processes."""
    name = name or f"frames1080p-demo-{os.getpid()}"
    consumer = subprocess.Popen([sys.executable, __file__, "consume", name, "--create"],
                                stdout=subprocess.PIPE, text=True)
    try:
        if consumer.stdout.readline().strip() != "ready":
            raise SystemExit("the consumer did not start")
        producer = subprocess.run([sys.executable, __file__, "produce", name,
                                   "--count", str(count), "--fps", "0"])
        for line in consumer.stdout:
            print(line, end="", flush=True)
        consumer.wait(60)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
    return 0 if producer.returncode == 0 and consumer.returncode == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce", help="write frames into buffer NAME")
    p.add_argument("name")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--fps", type=float, default=30, help="0: as fast as the ring allows")
    c = sub.add_parser("consume", help="read frames of buffer NAME until its writer leaves")
    c.add_argument("name")
    c.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    c.add_argument("--create", action="store_true", help="create the buffer (no zbd)")
    d = sub.add_parser("demo", help="a consumer and a producer, here and now")
    d.add_argument("--count", type=int, default=120)
    d.add_argument("--name", help="the buffer's name (default: one of its own)")
    args = ap.parse_args()
    if args.cmd == "produce":
        produce(args.name, args.count, args.fps)
    elif args.cmd == "consume":
        consume(args.name, args.count, args.create)
    else:
        return demo(args.count, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
