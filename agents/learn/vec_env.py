"""A stable-baselines3 ``VecEnv`` over ``BatchedEnv``: all simulations step in one call, no subprocesses.

Ended episodes restart at once (SB3's convention): the returned observation is the new episode's first, the
last one is in ``infos[i]["terminal_observation"]``, and a time limit sets ``infos[i]["TimeLimit.truncated"]``.
Every episode is seeded from one ``np.random.Generator`` seeded with the run's seed, so a run is reproducible.
``infos[i]["is_success"]`` and ``infos[i]["episode"]`` feed SB3's success-rate and return logging.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from embodia.envs.core.batched_env import make_batched, take

SEED_HIGH = 2**31 - 1


class EmbodiaVecEnv(VecEnv):
    """``reward_scale`` multiplies the rewards the learner sees (``normalize_reward``); the episode returns SB3
    logs stay the task's own."""

    def __init__(self, env_id: str, num_envs: int, seed: int = 0, reward_scale: float = 1.0, **env_kwargs: Any) -> None:
        self.env_id = env_id
        self.reward_scale = reward_scale
        self.core = make_batched(env_id, num_envs, **env_kwargs)
        super().__init__(num_envs, self.core.single_observation_space, self.core.single_action_space)
        self._seed_rng = np.random.default_rng(seed)
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(num_envs)
        self._lengths = np.zeros(num_envs, dtype=np.int64)

    def _episode_seeds(self, count: int) -> list[int]:
        return [int(s) for s in self._seed_rng.integers(0, SEED_HIGH, size=count)]

    def seed(self, seed: int | None = None) -> list[int | None]:
        if seed is not None:
            self._seed_rng = np.random.default_rng(seed)
        return [seed] * self.num_envs

    def reset(self) -> Any:
        obs, _ = self.core.reset(seeds=self._episode_seeds(self.num_envs))
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)

    def step_wait(self):
        obs, reward, terminated, truncated, info = self.core.step(self._actions)
        self._returns += reward
        self._lengths += 1
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        ended = np.flatnonzero(done)
        if len(ended):
            for i in ended:
                infos[i] = {
                    "terminal_observation": take(obs, i),
                    "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                    "is_success": bool(info["success"][i]),
                    "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i])},
                }
            self._returns[ended] = 0.0
            self._lengths[ended] = 0
            new_obs, _ = self.core.reset(ended, self._episode_seeds(len(ended)))
            if isinstance(obs, dict):
                for key in obs:
                    obs[key][ended] = new_obs[key][ended]
            else:
                obs[ended] = new_obs[ended]
        return obs, (reward * self.reward_scale).astype(np.float32), done, infos

    def close(self) -> None:
        self.core.close()

    # ------------------------------------------------------------------ SB3's per-env attribute access
    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int | np.integer):
            return [int(indices)]
        return [int(i) for i in indices]

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        value = None if attr_name == "render_mode" else getattr(self.core, attr_name)  # renders on request only
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.core, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list:
        """Every simulation shares the core's methods (``compute_reward`` for HER): one call per index."""
        method = getattr(self.core, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def get_images(self) -> list[np.ndarray]:
        return [self.core.render(i) for i in range(self.num_envs)]
