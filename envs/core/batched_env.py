"""The one code path of every env: a task over ``n`` simulations, with controller, observations and rewards.

The Gymnasium single env is this with ``n = 1``; the vector env is this with autoreset on top.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from embodia.envs.control import make_controller
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.core.robot import RobotView
from embodia.envs.core.sim import Simulation
from embodia.envs.core.task import Task, TaskConfig

OBS_MODES = ("dict", "flat", "pixels", "goal")
ACTION_LIMIT = 1.0


@dataclass(frozen=True)
class EnvOptions:
    """How the env presents a task. Task settings (rewards, ranges, episode length) live in the task's config."""

    control_mode: str = "ee_delta"
    obs_mode: str = "dict"
    cameras: tuple[str, ...] = ("front",)
    image_size: tuple[int, int] = (84, 84)  # (height, width) of pixel observations
    depth: bool = False
    force_torque: bool = False
    touch: bool = False
    render_preset: str = "quality"
    render_size: tuple[int, int] = (480, 640)  # (height, width) of render()
    render_camera: str = "front"
    num_threads: int = 0  # 0: min(2, number of simulations)

    def __post_init__(self) -> None:
        if self.obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode={self.obs_mode!r} is not valid; valid: {', '.join(OBS_MODES)}")
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))
        object.__setattr__(self, "render_size", tuple(int(v) for v in self.render_size))


def image_key(kind: str, camera: str) -> str:
    """The observation key of a camera's images, e.g. ``camera_robot_wrist``.

    Keys hold no ``.`` (PyTorch module names, so stock SB3 ``MultiInputPolicy``) and no ``/`` (HDF5 group names,
    so Minari), hence the camera's ``/`` becomes ``_``.
    """
    return f"{kind}_{camera.replace('/', '_')}"


def resolve_task(task: type[Task] | str) -> type[Task]:
    """A task class, or its ``module:Class`` path."""
    if isinstance(task, str):
        module, _, name = task.partition(":")
        task = getattr(importlib.import_module(module), name)
    if not (isinstance(task, type) and issubclass(task, Task)):
        raise TypeError(f"{task!r} is not a Task class")
    return task


def split_options(task_cls: type[Task], kwargs: dict[str, Any]) -> tuple[EnvOptions, TaskConfig]:
    """Split env kwargs into env options and the task's config; unknown names raise, listing the valid ones."""
    kwargs = dict(kwargs)
    if "max_episode_steps" in kwargs:  # Gymnasium's name for the episode length; an explicit episode_steps wins
        steps = kwargs.pop("max_episode_steps")
        if steps is not None and "episode_steps" not in kwargs:
            kwargs["episode_steps"] = steps
    config = kwargs.pop("config", None)
    env_names = {f.name for f in dataclasses.fields(EnvOptions)}
    task_names = {f.name for f in dataclasses.fields(task_cls.Config)}
    unknown = sorted(set(kwargs) - env_names - task_names)
    if unknown:
        valid = sorted(env_names | task_names | {"config", "max_episode_steps", "render_mode"})
        raise TypeError(f"unknown option(s) {', '.join(unknown)} for {task_cls.__name__}; valid: {', '.join(valid)}")
    options = EnvOptions(**{k: v for k, v in kwargs.items() if k in env_names})
    task_kwargs = {k: v for k, v in kwargs.items() if k in task_names}
    if config is None:
        config = task_cls.Config.from_kwargs(**task_kwargs)
    elif task_kwargs:
        config = dataclasses.replace(config, **task_kwargs)
    return options, config


class BatchedEnv:
    """A task, a robot and a controller over ``num_sims`` simulations; returns (n, ...) arrays."""

    def __init__(self, task: type[Task] | str, num_sims: int, **kwargs: Any) -> None:
        if not (isinstance(num_sims, int | np.integer) and num_sims >= 1):
            raise ValueError(f"number of simulations must be a positive integer, got {num_sims!r}")
        task_cls = resolve_task(task)
        self.options, self.config = split_options(task_cls, kwargs)
        self.task = task_cls(self.config)
        self.model = self.task.build_scene().build()
        self.task.bind(self.model)
        self.sim = Simulation(self.model, int(num_sims), self.config.control_dt_s, self.options.num_threads)
        self.robot = RobotView(self.model)
        self.controller = make_controller(self.options.control_mode, self.robot, num_sims, self.config.control_dt_s)
        self.num_sims = int(num_sims)
        self.reward_weights = self.config.reward_weights()
        camera_names = [self.model.camera(i).name for i in range(self.model.ncam)]
        for camera in (*self.options.cameras, self.options.render_camera):
            if camera not in camera_names:
                raise ValueError(f"unknown camera {camera!r}; valid: {', '.join(camera_names)}")
        self.rngs: list[np.random.Generator | None] = [None] * self.num_sims
        self.elapsed = np.zeros(self.num_sims, dtype=np.int64)
        self._vector_shapes = {
            **RobotView.observation_shapes(self.options.force_torque, self.options.touch),
            **self.task.observation_shapes(),
        }
        self._vector_keys = sorted(self._vector_shapes)
        self._last_obs: dict[str, np.ndarray] | None = None
        self._renderer: SimRenderer | None = None
        self._pixel_renderer: SimRenderer | None = None
        #: objects told of every reset and step (``on_reset``, ``on_step``), e.g. an episode recorder
        self.listeners: list[Any] = []
        self.single_observation_space = self._make_observation_space()
        self.single_action_space = spaces.Box(
            -ACTION_LIMIT, ACTION_LIMIT, shape=(self.controller.action_dim,), dtype=np.float32
        )

    # ------------------------------------------------------------------------------ spaces
    def _make_observation_space(self) -> spaces.Space:
        vector = {
            k: spaces.Box(-np.inf, np.inf, shape=self._vector_shapes[k], dtype=np.float32) for k in self._vector_keys
        }
        if self.options.obs_mode == "flat":
            size = sum(int(np.prod(s)) for s in self._vector_shapes.values())
            return spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        if self.options.obs_mode == "goal":
            goal_size = self.task.goal_size()
            if goal_size < 1:
                raise ValueError(
                    f"obs_mode='goal' needs a task with a goal interface; {type(self.task).__name__} has none"
                )
            size = sum(int(np.prod(s)) for s in self._vector_shapes.values())
            goal = spaces.Box(-np.inf, np.inf, shape=(goal_size,), dtype=np.float32)
            observation = spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
            return spaces.Dict({"observation": observation, "achieved_goal": goal, "desired_goal": goal})
        if self.options.obs_mode == "pixels":
            height, width = self.options.image_size
            for camera in self.options.cameras:
                vector[image_key("camera", camera)] = spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)
                if self.options.depth:
                    vector[image_key("depth", camera)] = spaces.Box(
                        0, np.inf, shape=(height, width, 1), dtype=np.float32
                    )
        return spaces.Dict(vector)

    def flat_layout(self) -> dict[str, slice]:
        """Where each named entry sits in the flat observation."""
        layout, start = {}, 0
        for key in self._vector_keys:
            size = int(np.prod(self._vector_shapes[key]))
            layout[key] = slice(start, start + size)
            start += size
        return layout

    # ------------------------------------------------------------------------------ episode
    def reset(self, ids: np.ndarray | None = None, seeds: list[int] | None = None):
        """Start new episodes in simulations ``ids`` (all by default); returns (obs, info) for all simulations."""
        ids = self.sim.all_ids if ids is None else np.asarray(ids, dtype=np.int64)
        if seeds is not None and len(seeds) != len(ids):
            raise ValueError(f"got {len(seeds)} seeds for {len(ids)} simulations")
        for k, sim_id in enumerate(ids):
            if seeds is not None and seeds[k] is not None:
                self.rngs[sim_id] = np.random.default_rng(int(seeds[k]))
            elif self.rngs[sim_id] is None:
                self.rngs[sim_id] = np.random.default_rng()
        self.sim.reset_to_home(ids)
        self.task.initialize_episode(self.sim, ids, [self.rngs[i] for i in ids])
        self.sim.forward(ids)
        self.controller.reset(self.sim, ids)
        self.elapsed[ids] = 0
        ev = self.task.evaluate(self.sim)
        terms = self.task.reward_terms(self.sim, ev)
        obs = self._observe(ev)
        self._last_obs = obs
        info = self._info(ev, terms, np.zeros(self.num_sims, dtype=bool))
        for listener in self.listeners:
            listener.on_reset(ids, seeds, obs, info)
        return obs, info

    def validate_action(self, action: Any) -> np.ndarray:
        """(n, A) float64 clipped to [-1, 1]; a wrong shape or a non-finite value raises ValueError."""
        action = np.asarray(action, dtype=np.float64)
        expected = (self.num_sims, self.controller.action_dim)
        if action.shape != expected:
            raise ValueError(f"action has shape {action.shape}, expected {expected} ({self.controller.name} layout)")
        if not np.isfinite(action).all():
            bad = np.argwhere(~np.isfinite(action))[0]
            raise ValueError(
                f"action contains a non-finite value ({action[tuple(bad)]}) at index {tuple(bad.tolist())}"
            )
        return np.clip(action, -ACTION_LIMIT, ACTION_LIMIT)

    def step(self, action: Any):
        """One control step of every simulation: (obs, reward, terminated, truncated, info), each (n, ...)."""
        action = self.validate_action(action)
        self.controller.apply(self.sim, action)
        self.task.before_physics(self.sim)
        unstable = self.sim.step()
        self.elapsed += 1
        ev = self.task.evaluate(self.sim)
        terms = self.task.reward_terms(self.sim, ev)
        if self.options.obs_mode == "goal":  # the reward hindsight relabelling recomputes from the goals
            reward = self.task.goal_reward(self.task.achieved_goal(self.sim, ev), self.task.desired_goal(self.sim))
        elif self.config.reward_mode == "sparse":
            reward = ev["success"].astype(np.float64)
        else:
            reward = sum(self.reward_weights[name] * value for name, value in terms.items())
        terminated = ev["fail"].copy()
        if self.config.terminate_on_success:
            terminated |= ev["success"]
        truncated = (self.elapsed >= self.config.episode_steps) | unstable
        obs = self._observe(ev)
        if unstable.any():
            reward = np.where(unstable, 0.0, reward)
            terminated &= ~unstable
            for key, value in obs.items():
                bad = unstable & ~np.isfinite(value.reshape(self.num_sims, -1)).all(axis=1)
                value[bad] = self._last_obs[key][bad]
        self._last_obs = obs
        info = self._info(ev, terms, unstable)
        for listener in self.listeners:
            listener.on_step(action, obs, reward, terminated, truncated, info)
        return obs, reward, terminated, truncated, info

    # ------------------------------------------------------------------------------ pieces
    def _observe(self, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray] | np.ndarray:
        parts = self.robot.observe(self.sim, self.options.force_torque, self.options.touch)
        parts.update(self.task.observe(self.sim, ev))
        if self.options.obs_mode in ("flat", "goal"):
            flat = np.concatenate([parts[k].reshape(self.num_sims, -1) for k in self._vector_keys], axis=1)
            if self.options.obs_mode == "flat":
                return flat.astype(np.float32)
            return {
                "observation": flat.astype(np.float32),
                "achieved_goal": self.task.achieved_goal(self.sim, ev).astype(np.float32),
                "desired_goal": self.task.desired_goal(self.sim).astype(np.float32),
            }
        obs = {k: parts[k].astype(np.float32) for k in self._vector_keys}
        if self.options.obs_mode == "pixels":
            obs.update(self._pixels())
        return obs

    def _pixels(self) -> dict[str, np.ndarray]:
        if self._pixel_renderer is None:
            height, width = self.options.image_size
            self._pixel_renderer = SimRenderer(self.model, height, width, preset="fast")
        images: dict[str, list[np.ndarray]] = {}
        for sim_id in range(self.num_sims):
            self._pixel_renderer.load(self.sim, sim_id)
            for camera in self.options.cameras:
                images.setdefault(image_key("camera", camera), []).append(self._pixel_renderer.render(camera))
                if self.options.depth:
                    depth = self._pixel_renderer.render(camera, depth=True)[:, :, None]
                    images.setdefault(image_key("depth", camera), []).append(depth)
        return {k: np.stack(v) for k, v in images.items()}

    def _info(self, ev: dict[str, np.ndarray], terms: dict[str, np.ndarray], unstable: np.ndarray) -> dict[str, Any]:
        info: dict[str, Any] = dict(ev)
        info["reward_terms"] = terms
        state = {
            "tcp_pos": self.robot.tcp_pos(self.sim).copy(),
            "tcp_xmat": self.robot.tcp_xmat(self.sim).copy(),
            "gripper_width": self.robot.gripper_width(self.sim),
        }
        state.update({k: np.array(v) for k, v in self.task.privileged_state(self.sim).items()})
        info["state"] = state
        info["physics_unstable"] = unstable
        info["elapsed_steps"] = self.elapsed.copy()
        return info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any = None) -> np.ndarray:
        """The goal-mode reward from goals alone (any leading shape), as hindsight relabelling expects."""
        return self.task.goal_reward(achieved_goal, desired_goal)

    def render(self, sim_id: int = 0, camera: str | None = None) -> np.ndarray:
        if self._renderer is None:
            height, width = self.options.render_size
            self._renderer = SimRenderer(self.model, height, width, preset=self.options.render_preset)
        self._renderer.load(self.sim, sim_id)
        return self._renderer.render(camera or self.options.render_camera)

    def close(self) -> None:
        for renderer in (self._renderer, self._pixel_renderer):
            if renderer is not None:
                renderer.close()
        self._renderer = self._pixel_renderer = None


def take(tree: Any, index: int | np.ndarray) -> Any:
    """Index the leading axis of every array in a nested dict (an info or an observation), as copies."""
    if isinstance(tree, dict):
        return {k: take(v, index) for k, v in tree.items()}
    return np.array(tree[index])


def unbatch(tree: Any) -> Any:
    """Row 0 of every array in a nested dict, as copies; 0-d values become Python scalars (single-env infos)."""
    if isinstance(tree, dict):
        return {k: unbatch(v) for k, v in tree.items()}
    row = tree[0]
    return row.item() if isinstance(row, np.generic) else row.copy()
