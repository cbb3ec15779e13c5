"""Demonstrations recorded through the teleoperation page, by a scripted operator at the keyboard.

The loop a person would run, with ``embodia.teleop.driver.KeyboardOperator`` standing in for the person (it
presses the keys nearest to the task expert's actions): a session and its server, headless Chromium on the page,
attempts until ``--episodes`` of them succeeded. Every attempt lands in ``--out`` as the page records it; the
successes are then what behaviour cloning learns from:

    python experiments/teleop_demos.py --task embodia/BinPicking-v0 --episodes 100 --out runs/demos/BinPicking-v0-teleop
    embodia dataset filter runs/demos/BinPicking-v0-teleop --success --out runs/demos/BinPicking-v0-teleop-successes
    embodia train embodia/BinPicking-v0 --algo bc --config experiments/configs/suite/bc.yaml \\
        --demos runs/demos/BinPicking-v0-teleop-successes --out runs/suite/BinPicking-bc_teleop-s0

Prints the attempts, successes and the time taken. Needs chromium and playwright (the dev extra).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

from embodia.agents.experts import make_expert
from embodia.commands.common import positive_int, seed_int, task_id_arg
from embodia.teleop.driver import KeyboardOperator
from embodia.teleop.server import TeleopServer
from embodia.teleop.session import TeleopOptions, TeleopSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="embodia/BinPicking-v0", type=task_id_arg)
    parser.add_argument("--episodes", type=positive_int, default=100, help="successful attempts to record")
    parser.add_argument("--max-attempts", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--size", default="120x160", help="live view HEIGHTxWIDTH (the operator reads no pixels)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        sys.exit("chromium is not installed (tools/install-system-packages.sh)")
    height, width = (int(v) for v in args.size.split("x"))
    session = TeleopSession(args.task, args.out, TeleopOptions(size=(height, width), seed=args.seed, end_hold_s=0.2))
    server = TeleopServer(session, 0, log=lambda line: print(line, file=sys.stderr))
    session.start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    start, successes, attempts = time.monotonic(), 0, 0
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(server.url)
            operator = KeyboardOperator(page, session, make_expert(args.task, 1))
            while successes < args.episodes and attempts < args.max_attempts:
                last = operator.run_episode(timeout_s=300)["last"]
                attempts += 1
                successes += bool(last.get("success"))
                print(f"attempt {attempts}: {last['outcome']} ({successes} successes)", flush=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
        summary = session.stop()
    minutes = (time.monotonic() - start) / 60
    print(f"{args.task}: {successes} successes in {attempts} attempts ({successes / max(attempts, 1):.0%}), "
          f"{minutes:.1f} min; {summary['episodes']} episodes in {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
