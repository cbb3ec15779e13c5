"""Reset time of each task in a fresh process: resets that meet new person shapes, then the same resets again.

    python experiments/reset_cost.py                                  # care tasks, shape cache as configured
    EMBODIA_CACHE_DIR=off python experiments/reset_cost.py Handover   # without the on-disk shape cache

"first pass": ``reset(seed=k)`` for 50 seeds in a new env in this process, so each new person shape is compiled
and settled, or loaded from the on-disk cache (``envs/human/shape_cache.py``); "again": the same 50 seeds, every
shape now in memory. Run it twice with the cache on to see a filled cache: the first run fills it.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym

import embodia  # noqa: F401  (registers the tasks)
from embodia.commands.common import task_name_arg
from embodia.envs.human.shape_cache import ENTRY_SUFFIX, cache_dir

CARE_TASKS = ("Handover", "BlanketCover", "DrawerFetch", "FetchDropped", "BedBathing", "Feeding", "Drinking")
SEEDS = 50


def reset_ms(env: gym.Env) -> float:
    start = time.perf_counter()
    for seed in range(1, SEEDS + 1):
        env.reset(seed=seed)
    return (time.perf_counter() - start) / SEEDS * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", type=task_name_arg, help="task names or ids (default: the care tasks)")
    tasks = parser.parse_args().tasks or CARE_TASKS
    os.environ.setdefault("MUJOCO_GL", "egl")
    folder = cache_dir()
    entries = len(list(folder.glob(f"*{ENTRY_SUFFIX}"))) if folder is not None and folder.exists() else 0
    print(f"shape cache: {folder or 'off'} ({entries} entries at the start); load average {os.getloadavg()[0]:.2f}")
    print("| task | first pass ms per reset | again ms per reset |")
    print("|---|---:|---:|")
    for task in tasks:
        env = gym.make(f"embodia/{task}-v0")
        env.reset(seed=0)
        first, again = reset_ms(env), reset_ms(env)
        env.close()
        print(f"| {task} | {first:.2f} | {again:.2f} |", flush=True)


if __name__ == "__main__":
    main()
