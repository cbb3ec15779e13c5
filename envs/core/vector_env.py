"""The Gymnasium vector env: ``num_envs`` simulations stepped in one ``mujoco.batch`` call, same-step autoreset.

When a simulation's episode ends, ``step`` resets it at once and returns the first observation of the new
episode; the last observation and info of the ended one are in ``info["final_obs"]`` and ``info["final_info"]``
(masks ``info["_final_obs"]``, ``info["_final_info"]``). Slot ``i`` of ``reset(seed=s)`` is seeded ``s + i``,
so it replays the single env reset with seed ``s + i`` bit for bit.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from embodia.envs.core.batched_env import BatchedEnv, take
from embodia.envs.core.task import Task


class EmbodiaVectorEnv(gym.vector.VectorEnv):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, task: type[Task] | str, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r} is not supported; valid: None, 'rgb_array'")
        self.core = BatchedEnv(task, num_envs, **kwargs)
        self.num_envs = self.core.num_sims
        self.render_mode = render_mode
        self.single_observation_space = self.core.single_observation_space
        self.single_action_space = self.core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**self.metadata, "render_fps": round(self.core.config.control_hz)}

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        ids = np.arange(self.num_envs)
        if options and "reset_mask" in options:
            ids = np.flatnonzero(np.asarray(options["reset_mask"], dtype=bool))
        if seed is None:
            seeds = None
        elif isinstance(seed, int | np.integer):
            seeds = [int(seed) + int(i) for i in ids]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"got {len(seed)} seeds for {self.num_envs} environments")
            seeds = [seed[i] for i in ids]
        return self.core.reset(ids, seeds)

    def step(self, actions: Any):
        obs, reward, terminated, truncated, info = self.core.step(actions)
        done = terminated | truncated
        if done.any():
            done_ids = np.flatnonzero(done)
            final_obs = np.empty(self.num_envs, dtype=object)
            for i in done_ids:
                final_obs[i] = take(obs, i)
            final_info = info
            obs, info = self.core.reset(done_ids)
            info["final_obs"], info["_final_obs"] = final_obs, done.copy()
            info["final_info"], info["_final_info"] = final_info, done.copy()
        return obs, reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            return None
        return tuple(self.core.render(i) for i in range(self.num_envs))

    def close_extras(self, **kwargs: Any) -> None:
        self.core.close()
