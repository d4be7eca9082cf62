# SPDX-License-Identifier: MIT
"""python/examples/frames1080p.py works, with and without zbd."""

import pathlib
import subprocess
import sys

from conftest import objects_left

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "frames1080p.py"


def test_demo_without_zbd(name):
    r = subprocess.run([sys.executable, str(EXAMPLE), "demo", "--count", "40", "--name", name],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "produced 40 frames of 1920x1080" in r.stdout
    assert "consumed 40 frames" in r.stdout
    assert "frame 30: bar at x=464" in r.stdout
    assert objects_left(name) == []


def test_producer_and_consumer_with_zbd(zbd, name, spawn):
    with zbd.daemon() as d:
        d.create(name, payload_size=64 << 20)
    consumer = spawn([sys.executable, "-u", str(EXAMPLE), "consume", name], ready=False)
    producer = subprocess.run([sys.executable, str(EXAMPLE), "produce", name, "--count", "31",
                               "--fps", "0"], capture_output=True, text=True, timeout=120)
    assert producer.returncode == 0, producer.stderr
    assert consumer.wait(60) == 0, consumer.stderr
    assert "consumed 31 frames" in consumer.stdout
    assert "frame 30: bar at x=464" in consumer.stdout
    with zbd.daemon() as d:
        d.destroy(name)
    assert objects_left(name) == []
