"""The Gymnasium single env: a batch of one simulation, leading axis stripped."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from embodia.envs.core.batched_env import BatchedEnv, unbatch
from embodia.envs.core.task import Task

_FIRST = 0


class EmbodiaEnv(gym.Env):
    """One simulation of an embodia task. See the task's module docstring for spaces, success and rewards."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, task: type[Task] | str, render_mode: str | None = None, **kwargs: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r} is not supported; valid: None, 'rgb_array'")
        self.core = BatchedEnv(task, 1, **kwargs)
        self.render_mode = render_mode
        self.observation_space = self.core.single_observation_space
        self.action_space = self.core.single_action_space
        self.metadata = {**self.metadata, "render_fps": round(self.core.config.control_hz)}

    @property
    def task(self) -> Task:
        return self.core.task

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self.core.reset(np.array([_FIRST]), None if seed is None else [seed])
        return unbatch(obs), unbatch(info)

    def step(self, action: Any):
        action = np.asarray(action, dtype=np.float64)
        if action.shape != self.action_space.shape:
            expected = self.action_space.shape
            layout = self.core.controller.name
            raise ValueError(f"action has shape {action.shape}, expected {expected} ({layout} layout)")
        obs, reward, terminated, truncated, info = self.core.step(action[None])
        return (
            unbatch(obs),
            float(reward[_FIRST]),
            bool(terminated[_FIRST]),
            bool(truncated[_FIRST]),
            unbatch(info),
        )

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array' to gymnasium.make")
            return None
        return self.core.render(_FIRST)

    def close(self) -> None:
        self.core.close()
