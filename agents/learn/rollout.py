"""Success rate of a batched policy over a fixed set of seeded episodes, quickly and without recording.

Episode ``k`` is seeded ``seed + k`` and starts in whichever simulation frees up, so the result does not depend
on the number of simulations (``agents.episodes.EpisodeScheduler``). ``embodia eval --record`` uses
``agents.evaluate.run_episodes`` instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.episodes import EpisodeScheduler
from embodia.agents.policy import Policy
from embodia.envs.core.batched_env import make_batched


def evaluate_success(
    env_id: str, policy: Policy, episodes: int, seed: int, num_envs: int = 16, env_kwargs: dict | None = None
) -> dict[str, Any]:
    """Run ``episodes`` episodes; return success rate, mean return, mean length and per-episode success.

    The policy is reset without a seed: a learned policy acts deterministically.
    """
    env = make_batched(env_id, max(1, min(num_envs, episodes)), **(env_kwargs or {}))
    try:
        results = EpisodeScheduler(env, policy, episodes, seed, policy_seed=lambda episode_seed: None).run()
    finally:
        env.close()
    success = np.array([r.success for r in results])
    return {
        "episodes": episodes,
        "seed": seed,
        "success_rate": float(success.mean()),
        "mean_return": float(np.mean([r.total_reward for r in results])),
        "mean_length": float(np.mean([r.length for r in results])),
        "success": success.tolist(),
    }
