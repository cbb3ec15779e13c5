"""Episodes per second over Ray workers against one plain process, on this machine (issue 18's scaling figure).

    python experiments/ray_scaling.py                                    # BinPicking, 96 episodes, no video
    python experiments/ray_scaling.py --task embodia/Handover-v0 --episodes 64 --video

For each setting the same run (same seeds, recorded without video unless ``--video``): the plain process, then Ray
with 1 and 2 workers (embedded, started afresh each time: the start-up is part of the cost a user pays, and is
timed on its own). Prints wall time, Ray's start-up, episodes/s, the ratio to one Ray worker (scaling) and to the
plain process, each with the start-up and after it; Ray's cost per episode against the plain process on the same
cores; and checks that every run wrote the same episode files.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import shutil
import tempfile
import time
from pathlib import Path

from embodia.agents.distributed import ray_session
from embodia.agents.evaluate import run_episodes
from embodia.commands.common import positive_int, task_id_arg


def timed_run(task: str, episodes: int, num_envs: int, folder: Path, video: bool, workers: int) -> tuple[float, float]:
    """(wall seconds, of which Ray's start-up) of one recorded run; Ray is started here, then used by the run."""
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if workers:
            stack.enter_context(ray_session(workers, None))
        startup = time.perf_counter() - started
        run_episodes(task, episodes=episodes, seed=0, num_envs=num_envs, record_dir=folder, progress=False,
                     video=video, render_size=(240, 320), workers=workers)  # fmt: skip
        wall = time.perf_counter() - started
    return wall, startup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="embodia/BinPicking-v0", type=task_id_arg)
    parser.add_argument("--episodes", type=positive_int, default=96)
    parser.add_argument("--num-envs", type=positive_int, default=8, help="simulations per process or worker")
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
        print(f"{'run':>15} | wall s | Ray start-up s | episodes/s | vs 1 worker | vs plain | after start-up: "
              "episodes/s | vs 1 worker | vs plain")  # fmt: skip
        steady = {label: wall - startup for label, (wall, startup) in times.items()}
        for label, (wall, startup) in times.items():
            one, plain = times["Ray, 1 worker"][0], times["plain process"][0]
            print(
                f"{label:>15} | {wall:6.1f} | {startup:14.1f} | {args.episodes / wall:10.2f} | {one / wall:11.2f} | "
                f"{plain / wall:8.2f} | {args.episodes / steady[label]:21.2f} | "
                f"{steady['Ray, 1 worker'] / steady[label]:11.2f} | {steady['plain process'] / steady[label]:8.2f}"
            )
        plain = times["plain process"][0]
        per_episode = (times["Ray, 2 workers"][0] - plain) / args.episodes * 1e3
        steady_per_episode = (steady["Ray, 2 workers"] - plain) / args.episodes * 1e3
        print(f"Ray's cost per episode against the plain process on the same cores (2 workers): {per_episode:+.1f} ms "
              f"with the start-up, {steady_per_episode:+.1f} ms after it")  # fmt: skip
        print(f"the same {len(names)} episode files in every run: {same}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
