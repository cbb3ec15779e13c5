"""Success rate of a batched policy over a fixed set of seeded episodes, quickly and without recording.

Episode ``k`` is seeded ``seed + k`` and starts in whichever simulation frees up, so the result does not depend
on the number of simulations. (``embodia eval --record`` uses ``agents.evaluate.run_episodes`` instead.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.policy import Policy
from embodia.envs.core.batched_env import make_batched


def evaluate_success(
    env_id: str, policy: Policy, episodes: int, seed: int, num_envs: int = 16, env_kwargs: dict | None = None
) -> dict[str, Any]:
    """Run ``episodes`` episodes; return success rate, mean return, mean length and per-episode success."""
    num_envs = max(1, min(num_envs, episodes))
    env = make_batched(env_id, num_envs, **(env_kwargs or {}))
    slot_episode = np.full(num_envs, -1)
    returns, lengths = np.zeros(num_envs), np.zeros(num_envs, dtype=np.int64)
    success, episode_return, episode_length = np.zeros(episodes, bool), np.zeros(episodes), np.zeros(episodes, int)
    next_episode = 0

    def start(slots: np.ndarray):
        nonlocal next_episode
        slots = slots[: episodes - next_episode]
        if len(slots) == 0:
            return None
        indices = np.arange(next_episode, next_episode + len(slots))
        next_episode += len(slots)
        slot_episode[slots] = indices
        returns[slots], lengths[slots] = 0.0, 0
        policy.reset(slots, None)
        return env.reset(slots, [seed + int(k) for k in indices])

    try:
        obs, info = start(np.arange(num_envs))
        while (slot_episode >= 0).any():
            obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
            active = slot_episode >= 0
            returns[active] += reward[active]
            lengths[active] += 1
            ended = np.flatnonzero(active & (terminated | truncated))
            for slot in ended:
                k = slot_episode[slot]
                success[k], episode_return[k], episode_length[k] = info["success"][slot], returns[slot], lengths[slot]
                slot_episode[slot] = -1
            if len(ended):
                restarted = start(ended)
                if restarted is not None:
                    obs, info = restarted
    finally:
        env.close()
    return {
        "episodes": episodes,
        "seed": seed,
        "success_rate": float(success.mean()),
        "mean_return": float(episode_return.mean()),
        "mean_length": float(episode_length.mean()),
        "success": success.tolist(),
    }
