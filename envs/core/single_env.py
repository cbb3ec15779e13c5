"""The Gymnasium single env: a batch of one simulation, leading axis stripped.

The env truncates its own episodes after ``episode_steps`` (the task config's, or ``max_episode_steps``), so the
ids are registered without a ``TimeLimit``; ``env.spec.max_episode_steps`` reports the length in force.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from embodia.envs.core.batched_env import BatchedEnv, check_action, unbatch
from embodia.envs.core.rendering import HumanWindow
from embodia.envs.tasks.base import Task

_FIRST = 0
RENDER_MODES = (None, "human", "rgb_array")


def check_render_mode(render_mode: Any) -> None:
    if render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode={render_mode!r} is not supported; valid: None, 'human', 'rgb_array'")


def make_time_limit() -> int | None:
    """The ``TimeLimit`` that ``gymnasium.make`` is about to put around the env being built: its
    ``max_episode_steps`` argument, else the spec's; None when the env is not being built by ``gymnasium.make``.

    Gymnasium hands ``max_episode_steps`` to its TimeLimit wrapper, never to the env, so without this the env would
    end its episodes at its own default first. Read from ``make``'s frame (two up: make, then our ``__init__``),
    only when that frame is Gymnasium's ``make`` itself.
    """
    from gymnasium.envs import registration

    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name == "__init__":  # subclasses of EmbodiaEnv
        frame = frame.f_back
    if frame is None or frame.f_code is not registration.make.__code__:
        return None
    steps = frame.f_locals.get("max_episode_steps")
    if steps is None:
        steps = getattr(frame.f_locals.get("env_spec"), "max_episode_steps", None)
    if steps is None or steps == -1:  # -1: make applies no TimeLimit
        return None
    return steps


def release(env: Any) -> None:
    """Close a single or vector env's batched core and window, if it got as far as making them."""
    for part in ("core", "_window"):
        owned = env.__dict__.get(part)
        if owned is not None:
            owned.close()


def refuse_copy(env: Any, remake: str) -> None:
    """Pickling or copying an env: refused, saying how to make a new one."""
    raise TypeError(
        f"{env.core.label} cannot be pickled or copied (it holds live MuJoCo simulations and GL contexts); "
        f"make a new env instead: {remake}"
    )


class SpecInForce:
    """The ``spec`` attribute of the single and vector envs: the spec ``gymnasium.make``/``make_vec`` gave, with
    ``max_episode_steps`` the episode length the env truncates at (it may come from a kwarg the spec never saw).
    Setting it also names the env in its error messages."""

    def __get__(self, env: Any, owner: type) -> gym.envs.registration.EnvSpec | None:
        if env is None:
            return None
        spec = env.__dict__.get("_spec")
        if spec is None or spec.max_episode_steps == env.core.config.episode_steps:
            return spec
        return dataclasses.replace(spec, max_episode_steps=env.core.config.episode_steps)

    def __set__(self, env: Any, spec: gym.envs.registration.EnvSpec | None) -> None:
        env.__dict__["_spec"] = spec
        if spec is not None:
            count = f", {env.num_envs} envs" if hasattr(env, "num_envs") else ""
            env.core.label = f"{type(env).__name__}({spec.id}{count})"


class EmbodiaEnv(gym.Env):
    """One simulation of an embodia task. See the task's module docstring for spaces, success and rewards.

    ``render_mode="human"`` shows each frame in a pygame window as the env resets and steps (pygame must be
    installed); ``"rgb_array"``: ``render()`` returns the frame. One thread at a time may use the env; after
    ``close()`` it refuses every call but ``close()``. It cannot be pickled or copied: make a new one.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 20}

    def __init__(self, task: type[Task] | str, render_mode: str | None = None, **kwargs: Any) -> None:
        check_render_mode(render_mode)
        # before the model is built: a missing pygame fails fast
        self._window = HumanWindow(lambda: self.core.label) if render_mode == "human" else None
        steps = make_time_limit()
        if steps is not None and "episode_steps" not in kwargs:
            kwargs["max_episode_steps"] = steps
        self.core = BatchedEnv(task, 1, **kwargs)
        self.render_mode = render_mode
        self.observation_space = self.core.single_observation_space
        self.action_space = self.core.single_action_space
        self.metadata = {**self.metadata, "render_fps": round(self.core.config.control_hz)}
        if self._window is not None:
            self._window.fps = self.core.config.control_hz

    @property
    def task(self) -> Task:
        return self.core.task

    spec = SpecInForce()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        with self.core.exclusive("reset"):
            super().reset(seed=seed)
            obs, info = self.core.reset(np.array([_FIRST]), None if seed is None else [seed])
            if self._window is not None:
                self._window.show(self.core.render(_FIRST))
        return unbatch(obs), unbatch(info)

    def step(self, action: Any):
        with self.core.exclusive("step"):
            action = check_action(action, self.action_space.shape, self.core.controller.name)
            obs, reward, terminated, truncated, info = self.core.step_checked(action[None])
            if self._window is not None:
                self._window.show(self.core.render(_FIRST))
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
        frame = self.core.render(_FIRST)
        if self._window is not None:
            self._window.show(frame)
            return None
        return frame

    @property
    def compute_reward(self) -> Callable[..., np.ndarray]:
        """``compute_reward(achieved_goal, desired_goal, info)``: the goal-mode reward from goals alone (any leading
        shape), as hindsight relabelling (SB3's ``HerReplayBuffer``) expects. Only in ``obs_mode="goal"``: other
        modes have no such attribute (checkers take an env that has one for a goal-conditioned env)."""
        if self.core.options.obs_mode != "goal":
            raise AttributeError(f"compute_reward exists in obs_mode='goal' only, not {self.core.options.obs_mode!r}")
        return self.core.compute_reward

    def close(self) -> None:
        """Release renderers and the window; later calls raise RuntimeError. Closing again does nothing."""
        release(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        spec = self.spec
        refuse_copy(self, f"gymnasium.make({spec.id!r}, **env.spec.kwargs)" if spec else "EmbodiaEnv(task, ...)")
