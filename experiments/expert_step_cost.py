"""What a control step costs under each task's scripted expert: ms per ``env.step``, the expert's own time excluded.

    python experiments/expert_step_cost.py                                  # every care task, 3 episodes each
    python experiments/expert_step_cost.py --tasks Handover BedBathing --episodes 5

Random actions (``experiments/benchmark.py``) rarely reach the contacts a task is about (a grasped part, a person
touched, a cloth pulled); the expert does, so this is the cost a demonstration or a good policy pays. Run it on two
commits to see what a change cost; absolute times move by 30-50% on a shared machine, so compare runs made back to
back on a quiet one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.experts import make_expert
from embodia.commands.common import positive_int, task_id_arg
from embodia.envs.core.batched_env import make_batched
from embodia.envs.tasks.registry import TASKS


def expert_step_ms(env_id: str, seed: int, **config) -> float:
    """Mean wall time of ``env.step`` in ms over one expert episode."""
    env = make_batched(env_id, 1, **config)
    expert = make_expert(env_id, 1)
    obs, info = env.reset(seeds=[seed])
    expert.reset(np.arange(1))
    times = []
    for _ in range(env.config.episode_steps):
        action = expert.act(obs, info)
        start = time.perf_counter()
        obs, _, terminated, truncated, info = env.step(action)
        times.append(time.perf_counter() - start)
        if terminated.any() or truncated.any():
            break
    env.close()
    return 1e3 * float(np.mean(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", type=task_id_arg, help="task names or ids (default: every care task)")
    parser.add_argument("--episodes", type=positive_int, default=3, help="expert episodes per task, seeds 10000...")
    args = parser.parse_args(argv)
    care = [env_id for env_id, entry in TASKS.items() if entry.summary.startswith("elder care")]
    tasks = args.tasks or care
    print("| task | ms per control step (median of episode means) |\n|---|---:|")
    for env_id in tasks:
        ms = np.median([expert_step_ms(env_id, 10_000 + k) for k in range(args.episodes)])
        print(f"| {env_id} | {ms:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
