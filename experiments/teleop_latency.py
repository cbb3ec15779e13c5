"""Teleoperation latency and frame rate as a person sees them: key press to the first frame showing its effect.

Starts ``embodia teleop`` as its own process (as a user would), opens its URL in headless Chromium, and presses
movement keys in a fixed rhythm (held 300 ms, released 200 ms) for ``--seconds``. The page measures, per press,
the time from the key event to the first frame drawn whose status says the server applied it; it also counts the
frames drawn per second and reads the simulation's real-time factor.

    python experiments/teleop_latency.py                     # 320x240 and 640x480, Reach
    python experiments/teleop_latency.py --task embodia/Handover-v0 --sizes 480x640

Targets (issue 17): at most 100 ms at 320x240 and 150 ms at 640x480; at least 15 frames/s at 640x480.
Needs chromium and playwright (the dev extra).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from embodia.commands.common import task_id_arg

KEYS = ("KeyW", "KeyA", "KeyS", "KeyD", "KeyR", "KeyF")


def measure(task: str, size: str, seconds: float, browser) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="teleop-latency-")) / "run"
    command = [sys.executable, "-m", "embodia.cli", "teleop", task, "--port", "0", "--size", size, "--out", str(out),
               "--episode-steps", "100000"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")})  # fmt: skip
    try:
        url = next(m.group(1) for line in server.stdout if (m := re.search(r"open: (\S+)", line)))
        page = browser.new_page()
        page.goto(url)
        while not page.evaluate("Boolean(window.embodiaTeleop.status && window.embodiaTeleop.status.running)"):
            time.sleep(0.05)
        time.sleep(1.0)
        fps, realtime = [], []
        start = time.monotonic()
        k = 0
        while time.monotonic() - start < seconds:
            key = KEYS[k % len(KEYS)]
            page.keyboard.down(key)
            time.sleep(0.3)
            page.keyboard.up(key)
            time.sleep(0.2)
            k += 1
            figures = page.evaluate("[window.embodiaTeleop.frameTimes.length, window.embodiaTeleop.status.realtime]")
            fps.append(figures[0])
            realtime.append(figures[1])
        latencies = np.array(page.evaluate("window.embodiaTeleop.latencies"))
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(out.parent, ignore_errors=True)
    return {
        "presses": len(latencies),
        "median_ms": float(np.median(latencies)),
        "p95_ms": float(np.percentile(latencies, 95)),
        "fps": float(np.median(fps)),
        "realtime": float(np.median(realtime)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="embodia/Reach-v0", type=task_id_arg)
    parser.add_argument("--sizes", nargs="+", default=["240x320", "480x640"], help="HEIGHTxWIDTH of the live view")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        sys.exit("chromium is not installed (tools/install-system-packages.sh)")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    print(f"{'view':>9} | presses | latency median | latency p95 | frames/s | real-time factor")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for size in args.sizes:
            r = measure(args.task, size, args.seconds, browser)
            print(f"{size:>9} | {r['presses']:7d} | {r['median_ms']:11.0f} ms | {r['p95_ms']:8.0f} ms | "
                  f"{r['fps']:8.1f} | {r['realtime']:.2f}")  # fmt: skip
        browser.close()


if __name__ == "__main__":
    main()
