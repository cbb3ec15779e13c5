"""One batched policy protocol for experts, behaviour cloning and RL policies; a seeded random policy.

Loading a policy that ``embodia train`` wrote is ``embodia.agents.learn.trained``: this module stays below the
learning code that every policy-driven loop uses."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class Policy(Protocol):
    """Acts for ``n`` simulations at once; ``reset`` starts new episodes in some of them."""

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None: ...

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray: ...


class RandomPolicy:
    """Uniform actions in [-1, 1] from a seeded generator."""

    def __init__(self, num_envs: int, action_dim: int, seed: int | None = None) -> None:
        self.shape = (num_envs, action_dim)
        self.rng = np.random.default_rng(seed)

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=self.shape)


def class_name(cls: type) -> str:
    """Where a class is defined, ``module:Class``: how run metadata names a policy or task (a label; nothing is
    ever imported from it)."""
    return f"{cls.__module__}:{cls.__qualname__}"
