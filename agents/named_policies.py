"""The policies a run can name instead of a trained one: the task's scripted expert and random actions.

Shared by ``evaluate.run_episodes`` and the Ray workers of ``distributed``, which build their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import expert_class
from embodia.agents.policy import Policy, RandomPolicy, class_name

POLICIES = ("expert", "random")
#: separates the policy's random stream from the env's, which uses the episode seed itself
POLICY_STREAM = 1


class PerSlotPolicy:
    """One single-simulation policy per slot, each reseeded per episode, so actions ignore the batch size."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = policies

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        for slot in np.atleast_1d(env_ids):
            self.policies[int(slot)].reset(np.zeros(1, dtype=np.int64), seed)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        return np.concatenate([policy.act(obs, info) for policy in self.policies])


def make_policy(kind: str, env_id: str, num_envs: int, action_dim: int) -> tuple[Policy, str]:
    """The policy and its ``module:Class`` name (recorded in the run's metadata; nothing is imported from it)."""
    if kind == "expert":
        expert = expert_class(env_id)
        return expert(num_envs), class_name(expert)
    if kind == "random":
        policies: list[Policy] = [RandomPolicy(1, action_dim) for _ in range(num_envs)]
        return PerSlotPolicy(policies), class_name(RandomPolicy)
    raise ValueError(f"unknown policy {kind!r}; valid: {', '.join(POLICIES)}")


def policy_seed(episode_seed: int) -> int:
    return int(np.random.SeedSequence([episode_seed, POLICY_STREAM]).generate_state(1)[0])
