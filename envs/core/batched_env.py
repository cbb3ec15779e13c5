"""The one code path of every env: a task over ``n`` simulations, with controller, observations and rewards.

The Gymnasium single env is this with ``n = 1``; the vector env is this with autoreset on top.

Over 600 lines because reset, step, observation, info and their checks are one sequence that every env runs:
split across modules, the order of the step (and with it every recording's bit-exactness) would be harder to see.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from embodia.envs.control import CONTROL_MODES, make_controller
from embodia.envs.core import point_cloud
from embodia.envs.core.render_pool import RenderPool
from embodia.envs.core.rendering import RENDER_PRESETS, SimRenderer
from embodia.envs.core.segmentation import SEGMENTATION_CLASSES, SegmentationClasses, geom_classes, person_regions_of
from embodia.envs.core.visual_randomization import VisualRandomizer
from embodia.envs.physics.context import BindContext
from embodia.envs.physics.robot import RobotView
from embodia.envs.physics.sim import Simulation
from embodia.envs.tasks import instructions
from embodia.envs.tasks.base import MAX_EPISODE_STEPS, Task, TaskConfig
from embodia.envs.tasks.registry import task_spec
from embodia.envs.validation import check_fields, option

OBS_MODES = ("dict", "flat", "pixels", "point_cloud", "goal")
ACTION_LIMIT = 1.0
#: the largest image side (pixels) of ``image_size`` and ``render_size``: every supported GL backend (EGL, OSMesa)
#: allocates an offscreen buffer this large; the renderer grows the model's buffer up to it
MAX_IMAGE_SIDE = 4096
#: threads that render pixel and point-cloud observations (the machine this is tuned on has two cores)
RENDER_THREADS = 2
#: the most points of a point-cloud observation
MAX_POINTS = 65_536
#: the characters an instruction may use (Gymnasium's ``Text`` space checks them)
INSTRUCTION_CHARS = "".join(chr(c) for c in range(32, 127))
#: the most simulations one env steps (a larger number is a typo that would only fail allocating)
MAX_SIMS = 65_536
MAX_THREADS = 256


@dataclass(frozen=True)
class EnvOptions:
    """How the env presents a task. Task settings (rewards, ranges, episode length) live in the task's config.

    Checked on construction like the task configs (``validation.check_fields``); camera names are checked against
    the scene once it is built, before it compiles.
    """

    control_mode: str = option("ee_delta", choices=tuple(CONTROL_MODES), doc="action layout (see envs/control)")
    obs_mode: str = option(
        "dict", choices=OBS_MODES, doc="dict: named arrays; flat: one vector; pixels: dict plus camera images; "
        "point_cloud: dict plus a point cloud from the cameras' depth (robot base frame); "
        "goal: observation/achieved_goal/desired_goal for hindsight relabelling"
    )  # fmt: skip
    cameras: tuple[str, ...] = option(("front",), doc="cameras of pixel observations, e.g. ('front', 'robot/wrist')")
    image_size: tuple[int, int] = option(
        (84, 84), valid=(1, MAX_IMAGE_SIDE), unit="px", doc="(height, width) of pixel observations"
    )
    depth: bool = option(False, doc="pixels: add a depth image (metres) per camera")
    segmentation: bool = option(
        False, doc="pixels: add a class image per camera (background, robot, target object, other objects, "
        "furniture, the person by body region; envs/core/segmentation.py)"
    )  # fmt: skip
    visual_randomization: bool = option(
        False,
        doc="per episode: lights, colours of furniture and objects, camera poses (envs/core/visual_randomization.py)",
    )
    instruction_features: int = option(
        0, valid=(0, instructions.MAX_WORD_BUCKETS), doc="> 0: add 'instruction_words', the instruction as a hashed "
        "bag of words of this many buckets (numbers any policy takes; envs/tasks/instructions.py)"
    )  # fmt: skip
    instruction_obs: bool = option(
        False, doc="dict, pixels, point_cloud: add the episode's instruction as a Gymnasium Text entry 'instruction'"
    )
    point_cloud_size: int = option(
        1024, valid=(1, MAX_POINTS), doc="point_cloud: points per observation (xyz in the robot base frame, rgb, class)"
    )
    force_torque: bool = option(False, doc="add the wrist force (N) and torque (N m)")
    touch: bool = option(False, doc="add the two finger pads' normal forces (N)")
    render_preset: str = option("quality", choices=tuple(RENDER_PRESETS), doc="render() quality")
    render_size: tuple[int, int] = option(
        (480, 640), valid=(1, MAX_IMAGE_SIDE), unit="px", doc="(height, width) of render()"
    )
    render_camera: str = option("front", doc="camera of render()")
    num_threads: int = option(0, valid=(0, MAX_THREADS), doc="physics threads; 0: min(2, number of simulations)")

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))
        object.__setattr__(self, "render_size", tuple(int(v) for v in self.render_size))
        if self.obs_mode in ("pixels", "point_cloud") and not self.cameras:
            raise ValueError(
                f"cameras=() is empty; obs_mode={self.obs_mode!r} needs at least one camera, e.g. ('front',)"
            )
        for name in PIXEL_ONLY_OPTIONS:
            if getattr(self, name) and self.obs_mode != "pixels":
                raise ValueError(
                    f"{name}=True adds images to pixel observations; obs_mode={self.obs_mode!r} has none; "
                    "valid: obs_mode='pixels'"
                )
        if self.instruction_obs and self.obs_mode in ("flat", "goal"):
            raise ValueError(
                f"instruction_obs=True needs a Dict observation with named entries; obs_mode={self.obs_mode!r} has "
                "none; valid: dict, pixels, point_cloud"
            )
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras={self.cameras!r} names a camera twice; valid: distinct camera names")


#: options that add images to ``obs_mode="pixels"`` and are an error in any other mode
PIXEL_ONLY_OPTIONS = ("depth", "segmentation")


def image_key(kind: str, camera: str) -> str:
    """The observation key of a camera's images, e.g. ``camera_robot_wrist``.

    Keys hold no ``.`` (PyTorch module names, so stock SB3 ``MultiInputPolicy``) and no ``/`` (HDF5 group names,
    so Minari), hence the camera's ``/`` becomes ``_``.
    """
    return f"{kind}_{camera.replace('/', '_')}"


def resolve_task(task: type[Task] | str) -> type[Task]:
    """A task class, or a registered env id (``"embodia/Reach-v0"``; an unknown one raises KeyError listing the
    valid ones). A string is only ever looked up, never imported."""
    if isinstance(task, str):
        return task_spec(task).task
    if not (isinstance(task, type) and issubclass(task, Task)):
        raise TypeError(f"{task!r} is not a Task class")
    return task


def split_options(task_cls: type[Task], kwargs: dict[str, Any]) -> tuple[EnvOptions, TaskConfig]:
    """Split env kwargs into env options and the task's config; unknown names raise, listing the valid ones.

    ``config`` may be the task's config (fields given as kwargs as well replace its values) or a dict of its
    fields; anything else, the config of another task included, is a TypeError. Every value is checked here,
    before any MuJoCo model is built.
    """
    kwargs = dict(kwargs)
    if "max_episode_steps" in kwargs:  # Gymnasium's name for the episode length; an explicit episode_steps wins
        steps = kwargs.pop("max_episode_steps")
        if steps is not None and "episode_steps" not in kwargs:
            if isinstance(steps, bool | np.bool_) or not isinstance(steps, int | np.integer):
                raise TypeError(f"max_episode_steps={steps!r} has type {type(steps).__name__}; expected an integer")
            if not 1 <= steps <= MAX_EPISODE_STEPS:
                raise ValueError(
                    f"max_episode_steps={steps!r} is out of range; valid: 1 to {MAX_EPISODE_STEPS} (the episode "
                    "length, episode_steps)"
                )
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
    config_cls = task_cls.Config
    if config is None:
        config = config_cls.from_kwargs(**task_kwargs)
    elif isinstance(config, Mapping):  # a recorded config
        config = config_cls.from_kwargs(**{**config, **task_kwargs})
    elif not isinstance(config, config_cls):
        raise TypeError(
            f"config has type {type(config).__name__}; {task_cls.__name__} takes a {config_cls.__name__} "
            f"(e.g. config={config_cls.__name__}(episode_steps=300)) or its fields as keyword arguments"
        )
    elif task_kwargs:
        config = dataclasses.replace(config, **task_kwargs)
    return options, config


def check_seed(seed: Any) -> None:
    """A seed is None or a non-negative integer (not a bool); anything else raises naming it."""
    if seed is None:
        return
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed={seed!r} has type {type(seed).__name__}; expected a non-negative integer or None")
    if seed < 0:
        raise ValueError(f"seed={seed!r} is out of range; valid: a non-negative integer or None")


def check_action(action: Any, shape: tuple[int, ...], layout: str) -> np.ndarray:
    """``action`` as float64 of ``shape``, clipped to [-1, 1]. Not real numbers (bool, complex, strings, objects),
    a wrong shape or a non-finite value raise ValueError; the index given is the action's own."""
    array = np.asarray(action)
    if array.dtype.kind not in "fiu":
        raise ValueError(
            f"action has dtype {array.dtype} ({_DTYPE_KINDS.get(array.dtype.kind, 'not numbers')}); expected real "
            f"numbers in [-1, 1] of shape {shape} ({layout} layout)"
        )
    if array.shape != shape:
        raise ValueError(f"action has shape {array.shape}, expected {shape} ({layout} layout)")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"action contains a non-finite value ({array[tuple(bad)]}) at index {tuple(bad.tolist())}")
    return np.clip(array, -ACTION_LIMIT, ACTION_LIMIT)


_DTYPE_KINDS = {
    "b": "booleans",
    "c": "complex numbers",
    "U": "strings",
    "S": "bytes",
    "O": "Python objects",
    "M": "datetimes",
    "m": "time deltas",
    "V": "structured records",
}


class BatchedEnv:
    """A task, a robot and a controller over ``num_sims`` simulations; returns (n, ...) arrays."""

    def __init__(self, task: type[Task] | str, num_sims: int, **kwargs: Any) -> None:
        if isinstance(num_sims, bool | np.bool_) or not isinstance(num_sims, int | np.integer):
            raise TypeError(f"number of simulations has type {type(num_sims).__name__}; expected an integer")
        if not 1 <= num_sims <= MAX_SIMS:
            raise ValueError(f"number of simulations {num_sims!r} is out of range; valid: 1 to {MAX_SIMS}")
        task_cls = resolve_task(task)
        #: how errors name this env (the Gymnasium envs put their id here)
        self.label = f"{type(self).__name__}({task_cls.__name__}, {int(num_sims)} simulations)"
        self.closed = False
        self._lock = threading.RLock()
        self.options, self.config = split_options(task_cls, kwargs)
        self.task = task_cls(self.config)
        if self.options.obs_mode == "goal" and self.task.goal_size() < 1:
            raise ValueError(f"obs_mode='goal' needs a task with a goal interface; {task_cls.__name__} has none")
        builder = self.task.build_scene()
        camera_names = [camera.name for camera in builder.spec.cameras]
        for camera in (*self.options.cameras, self.options.render_camera):
            if camera not in camera_names:
                raise ValueError(f"unknown camera {camera!r}; valid: {', '.join(camera_names)}")
        self.model = builder.build()
        self._scene_spec = builder.spec  # what scene_xml() writes: the structure this env was built from
        self.sim = Simulation(self.model, int(num_sims), self.config.control_dt_s, self.options.num_threads)
        self.robot = RobotView(self.model)
        self.task.bind(BindContext(self.model, self.sim, self.robot))
        self.controller = make_controller(self.options.control_mode, self.robot, num_sims, self.config.control_dt_s)
        self.num_sims = int(num_sims)
        self.reward_weights = self.config.reward_weights()
        self.rngs: list[np.random.Generator | None] = [None] * self.num_sims
        self.elapsed = np.zeros(self.num_sims, dtype=np.int64)
        #: each simulation's episode's instruction in words (``Task.instructions``), set at reset
        self.instructions = np.full(self.num_sims, "", dtype=object)
        self._instruction_words = np.zeros((self.num_sims, self.options.instruction_features), dtype=np.float32)
        self._vector_shapes = {
            **RobotView.observation_shapes(self.options.force_torque, self.options.touch),
            **self.task.observation_shapes(),
        }
        if self.options.instruction_features:
            self._vector_shapes["instruction_words"] = (self.options.instruction_features,)
        self._vector_keys = sorted(self._vector_shapes)
        self._last_obs: dict[str, np.ndarray] | None = None
        self._renderer: SimRenderer | None = None
        self._render_pool: RenderPool | None = None
        self._segmentation: SegmentationClasses | None = None
        self._visuals = (
            VisualRandomizer(self.model, geom_classes(self.model, person_regions_of(self.task)))
            if self.options.visual_randomization
            else None
        )
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
                if self.options.segmentation:  # class ids, in an image's bounds so that SB3 gives it a CNN
                    vector[image_key("segmentation", camera)] = spaces.Box(
                        0, 255, shape=(height, width, 1), dtype=np.uint8
                    )
        if self.options.instruction_obs:
            vector["instruction"] = spaces.Text(
                max_length=instructions.MAX_INSTRUCTION_CHARS, charset=INSTRUCTION_CHARS
            )
        if self.options.obs_mode == "point_cloud":
            count = self.options.point_cloud_size
            vector["point_xyz"] = spaces.Box(-np.inf, np.inf, shape=(count, 3), dtype=np.float32)
            vector["point_rgb"] = spaces.Box(0, 255, shape=(count, 3), dtype=np.uint8)
            vector["point_class"] = spaces.Box(0, len(SEGMENTATION_CLASSES) - 1, shape=(count, 1), dtype=np.uint8)
        return spaces.Dict(vector)

    def flat_layout(self) -> dict[str, slice]:
        """Where each named entry sits in the flat observation."""
        layout, start = {}, 0
        for key in self._vector_keys:
            size = int(np.prod(self._vector_shapes[key]))
            layout[key] = slice(start, start + size)
            start += size
        return layout

    # ------------------------------------------------------------------------------ one thread at a time
    def _enter(self, what: str) -> None:
        """Refuse a call after ``close()``, or while another thread is inside this env (release ``_lock`` after)."""
        if self.closed:
            raise RuntimeError(f"{self.label}.{what}() after close(): this env was closed; make a new one")
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                f"{self.label}.{what}() called from thread {threading.current_thread().name!r} while another "
                "thread is inside this env; an env serves one thread at a time (make one env per thread, or step "
                "many simulations in one vector env)"
            )

    @contextlib.contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the env for one call of the Gymnasium env above it (a step with its autoreset, say): refused
        after ``close()`` or while another thread holds it; the same thread may call in again."""
        self._enter(what)
        try:
            yield
        finally:
            self._lock.release()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            f"{self.label} cannot be pickled or copied (it holds live MuJoCo simulations and GL contexts); make a "
            "new one from the same arguments instead, e.g. BatchedEnv(task, num_sims, config=env.config, "
            "**dataclasses.asdict(env.options))"
        )

    # ------------------------------------------------------------------------------ episode
    def reset(self, ids: np.ndarray | None = None, seeds: list[int] | None = None):
        """Start new episodes in simulations ``ids`` (all by default); returns (obs, info) for all simulations."""
        self._enter("reset")
        try:
            return self._reset(ids, seeds)
        finally:
            self._lock.release()

    def _check_reset(self, ids: Any, seeds: Any) -> np.ndarray:
        """``ids`` as int64 after checking them and the seeds: distinct simulation indices, one seed (a
        non-negative integer or None) per index."""
        if ids is None:
            ids = self.sim.all_ids
        else:
            given = np.asarray(ids)
            if given.ndim != 1 or (given.size and given.dtype.kind not in "iu"):
                raise ValueError(f"simulation ids {ids!r} are not valid; valid: a 1-d array of integer indices")
            ids = given.astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_sims or len(set(ids.tolist())) != ids.size):
                raise ValueError(
                    f"simulation ids {ids.tolist()} are not valid; valid: distinct indices 0 to {self.num_sims - 1}"
                )
        if seeds is not None:
            if len(seeds) != len(ids):
                raise ValueError(f"got {len(seeds)} seeds for {len(ids)} simulations")
            for seed in seeds:
                check_seed(seed)
        return ids

    def _reset(self, ids: np.ndarray | None, seeds: list[int] | None):
        ids = self._check_reset(ids, seeds)
        for k, sim_id in enumerate(ids):
            if seeds is not None and seeds[k] is not None:
                self.rngs[sim_id] = np.random.default_rng(int(seeds[k]))
            elif self.rngs[sim_id] is None:
                self.rngs[sim_id] = np.random.default_rng()
        self.sim.reset_to_home(ids)
        self.task.initialize_episode(self.sim, ids, [self.rngs[i] for i in ids])
        for sim_id in ids:  # from a child of the episode's stream: the words never change the episode's draws
            self.instructions[sim_id] = instructions.choose(self.task.instructions(self.sim, int(sim_id)),
                                                            self.rngs[sim_id])  # fmt: skip
        if self.options.instruction_features:  # once per episode, not per step
            for sim_id in ids:
                self._instruction_words[sim_id] = instructions.bag_of_words(
                    self.instructions[sim_id], self.options.instruction_features
                )
        if self._visuals is not None:
            self._visuals.apply(self.sim, ids, [self.rngs[i] for i in ids])
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
        """(n, A) float64 clipped to [-1, 1]; not real numbers, a wrong shape or a non-finite value raise ValueError."""
        return check_action(action, (self.num_sims, self.controller.action_dim), self.controller.name)

    def step(self, action: Any):
        """One control step of every simulation: (obs, reward, terminated, truncated, info), each (n, ...)."""
        self._enter("step")
        try:
            return self._step(self.validate_action(action))
        finally:
            self._lock.release()

    def step_checked(self, action: np.ndarray):
        """``step`` for a caller inside ``exclusive`` whose action ``check_action`` has already returned (the single
        env checks its own (A,) shape, so that errors name it): the check is not repeated."""
        return self._step(action)

    def _step(self, action: np.ndarray):
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
            reward = self.config.dense_reward(terms, ev["success"], self.elapsed)
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
    def observation(self) -> dict[str, np.ndarray] | np.ndarray:
        """The observation of the simulations' current state, as ``step`` computes it (the task evaluated
        first): for a replay that loads recorded states, or a viewer."""
        return self._observe(self.task.evaluate(self.sim))

    def scene_xml(self) -> str:
        """The MJCF of the scene this env compiled (every simulation shares it; per-episode values are state)."""
        return self._scene_spec.to_xml()

    def _observe(self, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray] | np.ndarray:
        parts = self.robot.observe(self.sim, self.options.force_torque, self.options.touch)
        parts.update(self.task.observe(self.sim, ev))
        if self.options.instruction_features:
            parts["instruction_words"] = self._instruction_words
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
        if self.options.obs_mode == "point_cloud":
            obs.update(self._point_cloud())
        if self.options.instruction_obs:
            obs["instruction"] = self.instructions.copy()
        return obs

    def _image_pool(self) -> RenderPool:
        """The renderers of pixel and point-cloud observations: one per thread, two for two or more simulations."""
        if self._render_pool is None:
            height, width = self.options.image_size
            self._segmentation = SegmentationClasses(self.model, person_regions_of(self.task))
            self._render_pool = RenderPool(lambda: SimRenderer(self.model, height, width, preset="fast"),
                                           workers=min(RENDER_THREADS, self.num_sims))  # fmt: skip
        return self._render_pool

    def _pixels(self) -> dict[str, np.ndarray]:
        pool = self._image_pool()
        targets = self.task.grasp_target_bodies(self.sim) if self.options.segmentation else None
        options, segmentation = self.options, self._segmentation

        def draw(renderer: SimRenderer, sim_id: int) -> dict[str, np.ndarray]:
            renderer.load(self.sim, sim_id)
            images = {}
            for camera in options.cameras:
                images[image_key("camera", camera)] = renderer.render(camera)
                if options.depth:
                    images[image_key("depth", camera)] = renderer.render(camera, depth=True)[:, :, None]
                if targets is not None:
                    classes = segmentation.image(renderer.object_ids(camera), int(targets[sim_id]))
                    images[image_key("segmentation", camera)] = classes[:, :, None]
            return images

        per_sim = pool.map(draw, range(self.num_sims))
        return {key: np.stack([images[key] for images in per_sim]) for key in per_sim[0]}

    def _point_cloud(self) -> dict[str, np.ndarray]:
        """Every camera's depth lifted into the robot's base frame, with colour and class per point."""
        pool = self._image_pool()
        targets = self.task.grasp_target_bodies(self.sim)
        base, segmentation = self.robot.base_body, self._segmentation

        def draw(renderer: SimRenderer, sim_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            renderer.load(self.sim, sim_id)
            return point_cloud.observe(renderer, self.options.cameras, base, segmentation, int(targets[sim_id]),
                                       self.options.point_cloud_size)  # fmt: skip

        clouds = pool.map(draw, range(self.num_sims))
        return {key: np.stack([cloud[k] for cloud in clouds]) for k, key in
                enumerate(("point_xyz", "point_rgb", "point_class"))}  # fmt: skip

    def _info(self, ev: dict[str, np.ndarray], terms: dict[str, np.ndarray], unstable: np.ndarray) -> dict[str, Any]:
        info: dict[str, Any] = dict(ev)
        info["reward_terms"] = terms
        state = {
            "tcp_pos": self.robot.tcp_pos(self.sim).copy(),
            "tcp_xmat": self.robot.tcp_xmat(self.sim).copy(),
            "gripper_width": self.robot.gripper_width(self.sim),
            "pads_touching": self.robot.pads_touching(self.sim),
        }
        state.update({k: np.array(v) for k, v in self.task.privileged_state(self.sim).items()})
        info["state"] = state
        info["physics_unstable"] = unstable
        info["elapsed_steps"] = self.elapsed.copy()
        info["instruction"] = self.instructions.copy()
        return info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any = None) -> np.ndarray:
        """The goal-mode reward from goals alone (any leading shape), as hindsight relabelling expects."""
        return self.task.goal_reward(achieved_goal, desired_goal)

    def render(self, sim_id: int = 0, camera: str | None = None) -> np.ndarray:
        """RGB (H, W, 3) uint8 of simulation ``sim_id`` from ``camera`` (the ``render_camera`` by default)."""
        self._enter("render")
        try:
            if self._renderer is None:
                height, width = self.options.render_size
                self._renderer = SimRenderer(self.model, height, width, preset=self.options.render_preset)
            self._renderer.load(self.sim, sim_id)
            return self._renderer.render(camera or self.options.render_camera)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Release the renderers; later calls raise RuntimeError. Closing again does nothing; closing while
        another thread is inside the env raises RuntimeError like any other call."""
        if self.closed:
            return
        self._enter("close")
        try:
            if self._renderer is not None:
                self._renderer.close()
            if self._render_pool is not None:
                self._render_pool.close()
            self._renderer = self._render_pool = None
            self.closed = True
        finally:
            self._lock.release()


def take(tree: Any, index: int | np.ndarray) -> Any:
    """Index the leading axis of every array in a nested dict (an info or an observation), as copies."""
    if isinstance(tree, dict):
        return {k: take(v, index) for k, v in tree.items()}
    return np.array(tree[index])


def unbatch(tree: Any) -> Any:
    """Row 0 of every array in a nested dict, as copies; 0-d values become Python scalars (single-env infos).

    Runs on every single-env step over some seventy info entries, so it tests exact types, cheapest first."""
    if type(tree) is not dict:
        return _first_row(tree)
    out = {}
    for key, value in tree.items():
        if type(value) is np.ndarray and value.ndim == 1 and value.dtype.kind in "biuf":
            out[key] = value.item(0)  # the common leaf: one number per simulation
        elif type(value) is np.ndarray and value.ndim > 1:
            out[key] = value[0].copy()
        elif type(value) is dict:
            out[key] = unbatch(value)
        else:
            out[key] = _first_row(value)
    return out


def _first_row(leaf: Any) -> Any:
    if isinstance(leaf, dict):
        return unbatch(dict(leaf))
    row = leaf[0]
    if isinstance(row, str):  # an instruction
        return row
    return row.item() if isinstance(row, np.generic) else row.copy()


def make_batched(env_id: str, num_sims: int, **kwargs: Any) -> BatchedEnv:
    """A ``BatchedEnv`` of the registered task ``env_id`` over ``num_sims`` simulations (kwargs: its options)."""
    return BatchedEnv(task_spec(env_id).task, num_sims, **kwargs)
