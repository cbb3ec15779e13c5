"""Does finishing pay more than stalling? The expert's return against its own path held still before success.

    python experiments/stall_check.py --task embodia/NutBolt-v0 [--episodes 8]

For each expert episode that succeeds at step s: the return of finishing (rewards up to s, where success ends the
episode) against the best return of stopping at a step t < s and holding there to the episode's end, estimated
as the rewards up to t plus the reward of step t for every remaining step. A ratio above 1 means that stalling
just short of success earns more than succeeding (the first round's lesson; issue 15 redesigns the rewards).
"""

from __future__ import annotations

import argparse

import numpy as np

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched


def stall_ratios(task_id: str, episodes: int) -> list[tuple[float, float]]:
    """(return of finishing, best return of holding still before success) per successful expert episode."""
    env = make_batched(task_id, episodes)
    expert = make_expert(task_id, episodes)
    obs, info = env.reset(seeds=list(range(episodes)))
    expert.reset(np.arange(episodes))
    length = env.config.episode_steps
    rewards, done = [], np.zeros(episodes, dtype=bool)
    end = np.full(episodes, -1)
    for step in range(length):
        obs, reward, terminated, truncated, info = env.step(expert.act(obs, info))
        rewards.append(np.where(done, 0.0, reward))
        end[~done & info["success"]] = step
        done |= terminated | truncated
        if done.all():
            break
    env.close()
    rewards = np.array(rewards)
    rows = []
    for k in np.flatnonzero(end >= 0):
        earned = np.cumsum(rewards[: end[k] + 1, k])
        held = earned[:-1] - rewards[: end[k], k] + rewards[: end[k], k] * (length - np.arange(end[k]))
        rows.append((float(earned[-1]), float(held.max())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="embodia/NutBolt-v0")
    parser.add_argument("--episodes", type=int, default=8)
    args = parser.parse_args()
    rows = stall_ratios(args.task, args.episodes)
    print("| episode | finishing return | best return held still before success | ratio |")
    print("|---:|---:|---:|---:|")
    for k, (finish, stall) in enumerate(rows):
        print(f"| {k} | {finish:,.0f} | {stall:,.0f} | {stall / finish:.2f} |")


if __name__ == "__main__":
    main()
