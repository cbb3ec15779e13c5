"""The Gymnasium vector env: ``num_envs`` simulations stepped in one ``mujoco.batch`` call, same-step autoreset.

When a simulation's episode ends, ``step`` resets it at once and returns the first observation of the new
episode; the last observation and info of the ended one are in ``info["final_obs"]`` and ``info["final_info"]``
(masks ``info["_final_obs"]``, ``info["_final_info"]``). Slot ``i`` of ``reset(seed=s)`` is seeded ``s + i``,
so it replays the single env reset with seed ``s + i`` bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from embodia.envs.core.batched_env import BatchedEnv, check_seed, take
from embodia.envs.core.rendering import HumanWindow
from embodia.envs.core.single_env import SpecInForce, check_render_mode, refuse_copy, release
from embodia.envs.tasks.base import Task

#: ``render_mode="human"`` shows the first few simulations side by side
HUMAN_TILES = 4


class EmbodiaVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` simulations of an embodia task. One thread at a time; after ``close()`` every call but
    ``close()`` raises; it cannot be pickled or copied (make a new one)."""

    metadata = {
        "render_modes": ["human", "rgb_array"],
        "render_fps": 20,
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(self, task: type[Task] | str, num_envs: int = 1, render_mode: str | None = None, **kwargs: Any):
        check_render_mode(render_mode)
        self._window = HumanWindow(lambda: self.core.label) if render_mode == "human" else None
        self.core = BatchedEnv(task, num_envs, **kwargs)
        self.num_envs = self.core.num_sims
        self.render_mode = render_mode
        self.single_observation_space = self.core.single_observation_space
        self.single_action_space = self.core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**self.metadata, "render_fps": round(self.core.config.control_hz)}
        if self._window is not None:
            self._window.fps = self.core.config.control_hz

    spec = SpecInForce()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset every simulation, or those of ``options["reset_mask"]`` ((num_envs,) booleans). ``seed``: an
        integer s (simulation i gets s + i), one seed (or None) per environment, or None."""
        ids = np.arange(self.num_envs)
        if options and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.shape != (self.num_envs,) or mask.dtype.kind != "b":
                raise ValueError(
                    f"reset_mask has shape {mask.shape} and dtype {mask.dtype}; valid: ({self.num_envs},) booleans"
                )
            ids = np.flatnonzero(mask)
        if seed is None:
            seeds = None
        elif isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_):
            check_seed(seed)
            seeds = [int(seed) + int(i) for i in ids]
        elif isinstance(seed, list | tuple | np.ndarray):
            if len(seed) != self.num_envs:
                raise ValueError(f"got {len(seed)} seeds for {self.num_envs} environments")
            seeds = [seed[i] for i in ids]
        else:
            raise TypeError(
                f"seed={seed!r} has type {type(seed).__name__}; expected an integer, a list of {self.num_envs} "
                "seeds (integers or None), or None"
            )
        with self.core.exclusive("reset"):
            result = self.core.reset(ids, seeds)
            self._show()
        return result

    def step(self, actions: Any):
        with self.core.exclusive("step"):  # the step and its autoreset, as one
            return self._step(actions)

    def _step(self, actions: Any):
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
        self._show()
        return obs, reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            return None
        if self._window is not None:
            self._show()
            return None
        return tuple(self.core.render(i) for i in range(self.num_envs))

    def _show(self) -> None:
        if self._window is not None:
            self._window.show(np.concatenate([self.core.render(i) for i in range(min(self.num_envs, HUMAN_TILES))], 1))

    @property
    def compute_reward(self) -> Callable[..., np.ndarray]:
        """``compute_reward(achieved_goal, desired_goal, info)``: the goal-mode reward from goals alone (any leading
        shape), as hindsight relabelling (SB3's ``HerReplayBuffer``) expects. Only in ``obs_mode="goal"``: other
        modes have no such attribute (checkers take an env that has one for a goal-conditioned env)."""
        if self.core.options.obs_mode != "goal":
            raise AttributeError(f"compute_reward exists in obs_mode='goal' only, not {self.core.options.obs_mode!r}")
        return self.core.compute_reward

    def close_extras(self, **kwargs: Any) -> None:
        release(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        spec = self.spec
        remake = f"gymnasium.make_vec({spec.id!r}, num_envs={self.num_envs}, **kwargs)" if spec else ""
        refuse_copy(self, remake or "EmbodiaVectorEnv(task, num_envs, ...)")
