"""What one recorded expert episode costs, per task: seconds on this machine and bytes on disk, with and without
video; the figures ``docs/scaling.md`` sizes a many-node job from.

    python experiments/episode_costs.py                         # every task: 32 episodes without video, 8 with
    python experiments/episode_costs.py --tasks BinPicking Feeding --episodes 64 --video-episodes 16

Each task runs its scripted expert in one plain process with 8 simulations (the batch steps on both cores),
recorded into a temporary folder: first without video, then with the default MP4 (front camera, 640x480, the
task's default render preset). Prints, per task: mean episode length, episodes per second, episodes per
node-hour (a node being this 2-core machine), and GB per 10,000 episodes, each with and without video; plus
the load average, since this machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from embodia.agents.evaluate import run_episodes
from embodia.commands.common import positive_int

SIMULATIONS = 8


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def measure(env_id: str, episodes: int, folder: Path, video: bool) -> dict[str, float]:
    """Wall seconds, episodes/s, mean length and bytes per episode of one recorded run."""
    started = time.perf_counter()
    summary = run_episodes(env_id, episodes=episodes, seed=0, num_envs=min(SIMULATIONS, episodes), record_dir=folder,
                           progress=False, video=video)  # fmt: skip
    seconds = time.perf_counter() - started
    run_files = sum((folder / name).stat().st_size for name in ("meta.json", "scene.xml", "summary.json"))
    return {
        "seconds": seconds,
        "rate": episodes / seconds,
        "length": sum(row["length"] for row in summary["per_episode"]) / episodes,
        "bytes": (folder_bytes(folder) - run_files) / episodes,
        "success": summary["success_rate"],
    }


def main() -> None:
    from embodia.envs.tasks.registry import TASKS, short_name

    every_task = [short_name(env_id) for env_id in TASKS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=every_task, choices=every_task, metavar="TASK")
    parser.add_argument("--episodes", type=positive_int, default=32, help="episodes per task without video")
    parser.add_argument("--video-episodes", type=int, default=8, help="episodes per task with video (0: skip)")
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    root = Path(tempfile.mkdtemp(prefix="episode-costs-"))
    print(f"expert episodes, {SIMULATIONS} simulations in one process; load average before: "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    print("| task | steps/episode | episodes/s | episodes per node-hour | GB per 10k episodes | episodes/s, video | "
          "episodes per node-hour, video | GB per 10k, video |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for task in args.tasks:
            env_id = f"embodia/{task}-v0"
            plain = measure(env_id, args.episodes, root / f"{task}-plain", video=False)
            cells = [f"{plain['length']:.0f}", f"{plain['rate']:.1f}", f"{plain['rate'] * 3600:,.0f}",
                     f"{plain['bytes'] * 1e4 / 1e9:.2f}"]  # fmt: skip
            if args.video_episodes:
                video = measure(env_id, args.video_episodes, root / f"{task}-video", video=True)
                cells += [f"{video['rate']:.2f}", f"{video['rate'] * 3600:,.0f}", f"{video['bytes'] * 1e4 / 1e9:.2f}"]
            else:
                cells += ["-", "-", "-"]
            print(f"| {task} | " + " | ".join(cells) + " |", flush=True)
            shutil.rmtree(root / f"{task}-plain", ignore_errors=True)
            shutil.rmtree(root / f"{task}-video", ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
