"""Episodes per second over Ray workers against one plain process, on this machine (issue 18's scaling figure).

    python experiments/ray_scaling.py                                    # BinPicking, 96 episodes, no video
    python experiments/ray_scaling.py --task embodia/Handover-v0 --episodes 64 --video

For each setting the same run (same seeds, recorded without video unless ``--video``): the plain process, then Ray
with 1 and 2 workers (embedded, started afresh each time: the start-up is part of the cost a user pays). Prints
wall time, episodes/s, the ratio to one Ray worker (scaling) and to the plain process (overhead), and checks that
every run wrote the same episode files.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import tempfile
import time
from pathlib import Path

from embodia.agents.evaluate import run_episodes


def timed_run(task: str, episodes: int, num_envs: int, folder: Path, video: bool, workers: int) -> float:
    started = time.perf_counter()
    run_episodes(task, episodes=episodes, seed=0, num_envs=num_envs, record_dir=folder, progress=False, video=video,
                 render_size=(240, 320), workers=workers)  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="embodia/BinPicking-v0")
    parser.add_argument("--episodes", type=int, default=96)
    parser.add_argument("--num-envs", type=int, default=8, help="simulations per process or worker")
    parser.add_argument("--video", action="store_true", help="record MP4s (320x240) too")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ray-scaling-"))
    print(f"{args.task}, {args.episodes} episodes, {args.num_envs} simulations per process, video: {args.video}; "
          f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    try:
        times = {}
        for label, workers in (("plain process", 0), ("Ray, 1 worker", 1), ("Ray, 2 workers", 2)):
            times[label] = timed_run(args.task, args.episodes, args.num_envs, root / str(workers), args.video, workers)
        names = sorted(p.name for p in (root / "0").glob("episode_*"))
        same = all(filecmp.cmp(root / "0" / n, root / w / n, shallow=False) for w in ("1", "2") for n in names)
        print(f"{'run':>15} | wall s | episodes/s | vs 1 worker | vs plain")
        for label, seconds in times.items():
            rate = args.episodes / seconds
            print(f"{label:>15} | {seconds:6.1f} | {rate:10.2f} | {times['Ray, 1 worker'] / seconds:11.2f} | "
                  f"{times['plain process'] / seconds:8.2f}")  # fmt: skip
        print(f"the same {len(names)} episode files in every run: {same}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
