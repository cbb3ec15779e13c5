"""The task contract: everything a task defines is written once over arrays with a leading simulation axis."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene.builder import PhysicsOptions, SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.validation import OptionInfo, check_fields, describe, option

REWARD_MODES = ("dense", "sparse")
#: the longest episode a config accepts (a larger one is a typo, and would only fail later, allocating)
MAX_EPISODE_STEPS = 100_000
#: the most physics steps one control step may take
MAX_SUBSTEPS = 10_000
#: the control period must be a whole number of physics steps, up to float rounding of the two timesteps
SUBSTEP_ROUNDING_SLACK = 1e-6


@dataclass(frozen=True)
class TaskConfig:
    """Settings every task shares; a task subclasses this with its ranges and reward weights.

    Every field is checked on construction (``validation.check_fields``): its type from the annotation, its range
    from naming conventions (``w_*`` weights >= 0, ``*_kg`` masses > 0, ``(low, high)`` pairs ordered, ...) or from
    its ``metadata``; ``describe_config`` lists them. A subclass adds its own cross-field checks after
    ``super().__post_init__()``.
    """

    control_hz: float = option(20.0, valid=(0.1, 1000.0), doc="control steps (actions) per second")
    episode_steps: int = option(200, valid=(1, MAX_EPISODE_STEPS), doc="control steps before the episode truncates")
    reward_mode: str = option(
        "dense",
        choices=REWARD_MODES,
        doc="dense: weighted sum of the w_* terms, and with terminate_on_success the success step pays the rest of "
        "the episode at the full rate (every term 1); sparse: 1 on success, else 0",
    )
    terminate_on_success: bool = option(True, doc="end the episode (terminated) when the task succeeds")
    physics: PhysicsOptions = dataclasses.field(
        default_factory=PhysicsOptions, metadata={"doc": "MuJoCo solver settings"}
    )

    def __post_init__(self) -> None:
        check_fields(self)
        period_s = 1.0 / self.control_hz
        substeps = period_s / self.physics.timestep_s
        if abs(substeps - round(substeps)) > SUBSTEP_ROUNDING_SLACK or not 1 <= round(substeps) <= MAX_SUBSTEPS:
            raise ValueError(
                f"control_hz={self.control_hz!r} with physics.timestep_s={self.physics.timestep_s!r}: the control "
                f"period {period_s:g} s is not a whole number of physics steps; valid: 1 to {MAX_SUBSTEPS} whole "
                "physics steps per control step (e.g. control_hz=20 with timestep_s=0.002, 0.001 or 0.0025)"
            )

    @property
    def control_dt_s(self) -> float:
        return 1.0 / self.control_hz

    def reward_weights(self) -> dict[str, float]:
        """Weights of the dense reward terms: every field named ``w_<term>``."""
        cached = self.__dict__.get("_reward_weights")  # the config is frozen; read on every step
        if cached is None:
            cached = {f.name[2:]: getattr(self, f.name) for f in dataclasses.fields(self) if f.name.startswith("w_")}
            object.__setattr__(self, "_reward_weights", cached)
        return dict(cached)

    def full_dense_rate(self) -> float:
        """The most one step of the dense reward can earn: every term at 1, every penalty at 0."""
        return sum(max(weight, 0.0) for weight in self.reward_weights().values())

    def dense_reward(self, terms: dict[str, np.ndarray], success: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
        """The dense reward (n,): the weighted sum of ``terms`` (each in [0, 1]), except on a success that ends
        the episode, which pays what staying successful to the truncation would have earned: the full rate (the
        sum of the positive weights) for this step and every step left, ``episode_steps - elapsed + 1`` of them,
        less this step's penalties.

        Why: with termination on success and a reward positive every step, stalling just short of success out-earns
        finishing. Now a path held short of success earns at most the full rate per step, and less unless every term
        is at 1; the staged terms climb along the way, so the finish is worth more than any stall before it
        (``agents/reward_audit.py`` checks each task's expert against its own path held still).
        """
        weights = self.reward_weights()
        reward = sum(weights[name] * value for name, value in terms.items())
        if not self.terminate_on_success:
            return reward
        full_rate = self.full_dense_rate()
        # penalties (negative weights, e.g. a care task's safety_penalty) still cost on the success step
        penalties = sum(weights[name] * value for name, value in terms.items() if weights[name] < 0)
        return np.where(success, full_rate * (self.episode_steps - elapsed + 1) + penalties, reward)

    def reward_definition(self) -> dict[str, Any]:
        """Everything besides the state that decides what a step earns: the revision of the terms, the mode, and
        for dense rewards the weights and termination on success (with the episode length the success step pays
        for). Rewards recorded under one definition mix with another's only when the two are equal: a learner from
        demonstrations checks this before it adds their rewards to the env's."""
        definition: dict[str, Any] = {"revision": REWARD_REVISION, "reward_mode": self.reward_mode}
        if self.reward_mode == "dense":
            definition["weights"] = self.reward_weights()
            definition["terminate_on_success"] = self.terminate_on_success
            if self.terminate_on_success:
                definition["episode_steps"] = self.episode_steps
        return definition

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> TaskConfig:
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - valid)
        if unknown:
            raise TypeError(
                f"unknown option(s) {', '.join(unknown)} for {cls.__name__}; valid: {', '.join(sorted(valid))}"
            )
        return cls(**kwargs)

    @classmethod
    def own_options(cls, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of an env's kwargs that set this config (the rest say how the task is observed or rendered)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return {name: value for name, value in env_kwargs.items() if name in names}


def describe_config(config: type | Any, nested: bool = True) -> list[OptionInfo]:
    """Every setting of a task's config (or of any checked settings dataclass), in field order, for listing.

    ``config``: a config class (``BinPickingConfig``), an instance of one, a ``Task`` class (its ``Config``), or a
    registered env id (``"embodia/BinPicking-v0"``, an unknown one raises KeyError listing the valid ones);
    also ``PhysicsOptions``, ``HumanRanges``, ``HumanConfig`` and ``EnvOptions``. Each ``OptionInfo`` has
    ``name`` (dotted for the fields of a nested dataclass, e.g. ``physics.timestep_s``, following its parent row
    unless ``nested=False``), ``type`` (annotation text), ``default``, ``unit`` ("" for plain numbers), ``valid``
    (the accepted values in words, exactly what construction checks), ``description`` (from the field's
    ``metadata["doc"]``, its source comment, or its naming convention), ``bounds`` and ``choices``.

        for row in describe_config("embodia/BinPicking-v0"):  # or the Task or Config class
            print(f"{row.name} = {row.default!r}  [{row.valid}]  {row.description}")
    """
    if isinstance(config, str):  # a registered env id ("embodia/BinPicking-v0")
        from embodia.envs.tasks.registry import task_spec

        config = task_spec(config).task
    if isinstance(config, type) and issubclass(config, Task):
        config = config.Config
    if not isinstance(config, type):
        config = type(config)
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"{config!r} is neither a config dataclass nor a Task class")
    return describe(config, nested=nested)


class Task(abc.ABC):
    """A manipulation task. ``evaluate`` is the single source of truth for success, fail and predicates."""

    Config: ClassVar[type[TaskConfig]] = TaskConfig
    description: ClassVar[str] = ""
    #: names of per-simulation array attributes (n, ...) that ``initialize_episode`` draws and that are not in
    #: the MuJoCo state (e.g. which part is requested); recorded per episode so that a replay restores them.
    #: Dotted names reach into parts (``"motion.drift"``).
    episode_state_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: TaskConfig) -> None:
        self.config = config

    @abc.abstractmethod
    def build_scene(self) -> SceneBuilder:
        """Structure only: the same for every episode."""

    @abc.abstractmethod
    def bind(self, context: BindContext) -> None:
        """Once after compile: resolve names to ids and size the per-simulation arrays (``context.num_sims``);
        the robot's ids come bound in ``context.robot``."""

    @abc.abstractmethod
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """Write the randomized initial state of simulations ``ids`` (one generator each)."""

    @abc.abstractmethod
    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        """(n,) arrays: ``success``, ``fail`` and the task's predicates and figures."""

    @abc.abstractmethod
    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Dense reward terms in [0, 1], named as the config's ``w_<term>`` weights."""

    @abc.abstractmethod
    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the task's observation entries (keys start with ``task.``)."""

    @abc.abstractmethod
    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Task observation entries, (n, ...) each."""

    @abc.abstractmethod
    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        """Named ground truth for experts and review, in ``info["state"]``."""

    @abc.abstractmethod
    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        """At least five phrasings of what simulation ``sim_id``'s episode asks for, in words, with the attributes
        its draws decided (which part, its colour, the person's pronouns); read after ``initialize_episode``.
        The env gives one per episode (``envs/tasks/instructions.py``)."""

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        """(n,) body id of the object the robot is to grasp next (or holds) in each simulation, -1 where there is
        none (a task without a grasp, or nothing left to pick): what a camera must show at the grasp and what
        segmentation calls the target. Read after ``evaluate`` on the same state."""
        return np.full(sim.num_sims, -1, dtype=np.int64)

    def before_physics(self, sim: Simulation) -> None:  # noqa: B027 (optional hook, empty by default)
        """Once per control step, after the controller and before physics: a task's own actors (the person)."""

    def episode_state(self, sim_id: int) -> dict[str, np.ndarray]:
        """One simulation's values of ``episode_state_fields``, as copies."""
        return {name: np.array(self._episode_array(name)[sim_id]) for name in self.episode_state_fields}

    def restore_episode_state(self, sim_id: int, values: dict[str, np.ndarray]) -> None:
        """Put recorded ``episode_state`` values back (replay); unknown or missing names raise ValueError."""
        if set(values) != set(self.episode_state_fields):
            raise ValueError(
                f"episode state has {sorted(values)}, {type(self).__name__} expects {sorted(self.episode_state_fields)}"
            )
        for name, value in values.items():
            self._episode_array(name)[sim_id] = value

    def _episode_array(self, name: str) -> np.ndarray:
        owner = self
        for part in name.split("."):
            owner = getattr(owner, part)
        return owner

    # Optional goal interface (``obs_mode="goal"``, hindsight relabelling): tasks whose goal is a position opt in
    # by returning a positive ``goal_size`` and defining the three methods below.
    def goal_size(self) -> int:
        """Length of the achieved and desired goal vectors; 0: the task has no goal interface."""
        return 0

    def achieved_goal(self, sim: Simulation, ev: dict[str, np.ndarray]) -> np.ndarray:
        """(n, goal_size) what the simulations have achieved so far."""
        raise NotImplementedError(f"{type(self).__name__} has no goal interface")

    def desired_goal(self, sim: Simulation) -> np.ndarray:
        """(n, goal_size) the episode's goal."""
        raise NotImplementedError(f"{type(self).__name__} has no goal interface")

    def goal_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray) -> np.ndarray:
        """(...,) reward from goals alone (any leading shape): the env's reward in goal mode, and HER's."""
        raise NotImplementedError(f"{type(self).__name__} has no goal interface")


#: The revision of the dense rewards, recorded with every training run and every recording, so that a results table
#: can say which rewards an RL row was trained with and a learner never mixes a recording's rewards with another
#: revision's. 1: the staged terms of the first round, with the success step paying the rest of the episode. 2: carry
#: terms measured to the drop line, stages held full through the stages after them, reach and carry shaped across the
#: work cell (``approach``), ConveyorSort's progress outweighing a part's shaping. 3: the factory tasks whose success
#: needs the jaws open (BinPicking, PegInsertion, GearAssembly, NutBolt, Palletizing; ConveyorSort's parts drop into
#: their bins) pay a dense ``release`` term once the part is placed (the jaws' opening towards released,
#: ``Robot.release_progress``), as the care tasks and ManiSkill's StackCube do: before it, letting go was paid only by
#: success, and a PPO policy that carried BinPicking's part to its slot never opened its jaws there. 4: placing a
#: carried object onto its goal (BinPicking, Palletizing, Handover, DrawerFetch, FetchDropped) is shaped over the
#: whole drop from the carry waypoint (``lowering``), not only its last centimetres.
REWARD_REVISION = 4


def per_sim_uniform(rngs: list[np.random.Generator], low, high, shape: tuple[int, ...] = ()) -> np.ndarray:
    """One uniform draw of ``shape`` per simulation, from that simulation's own generator."""
    return np.stack([rng.uniform(low, high, size=shape) for rng in rngs])


def per_sim_integers(rngs: list[np.random.Generator], high: int) -> np.ndarray:
    return np.array([rng.integers(high) for rng in rngs], dtype=np.int64)


def tolerance(distance: np.ndarray, scale: float) -> np.ndarray:
    """A bounded shaping term: 1 at zero distance, falling smoothly towards 0 (``1 - tanh(d / scale)``)."""
    return 1.0 - np.tanh(distance / scale)


def approach(distance: np.ndarray, fine_scale: float) -> np.ndarray:
    """Shaping for a move of tens of centimetres that ends in precision: half the term falls over the work cell's
    scale (``criteria.APPROACH_SCALE_M``), half over ``fine_scale``. A ``tolerance`` at a 10 cm scale alone is flat
    beyond about 25 cm: the expert's reach and carry crossed 15-30 steps of it earning nothing new, and PPO from
    scratch grasped and lifted BinPicking's part but never learnt to carry it (0% at 5M steps)."""
    return 0.5 * (tolerance(distance, criteria.APPROACH_SCALE_M) + tolerance(distance, fine_scale))


def lowering(distance: np.ndarray, fine_scale: float = criteria.PLACE_SCALE_M) -> np.ndarray:
    """Shaping for lowering a held object from its carry waypoint (``criteria.CARRY_ABOVE_GOAL_M`` above the goal)
    onto the goal: half the term falls over the waypoint's height, half over ``fine_scale``. A ``tolerance`` at 3 cm
    alone is flat at the waypoint 8 cm up (1% of the term, and 0.9% more for the first centimetre down): BinPicking's
    PPO carried its part to the waypoint and held it there, 6-12 cm from its slot, in 9 of 16 episodes."""
    return 0.5 * (tolerance(distance, criteria.CARRY_ABOVE_GOAL_M) + tolerance(distance, fine_scale))


def drop_line_distance(pos: np.ndarray, goal: np.ndarray, height: float, up: np.ndarray | None = None) -> np.ndarray:
    """(n,) distance from ``pos`` to the segment from ``goal`` to ``height`` above it along ``up`` ((n, 3) unit
    vectors; world z by default): the line a held object is lowered along into place. Carry terms measured to it stay
    full while the object goes down onto its goal, where a carry to the point above the goal fell, so that lowering
    it earned less than hovering."""
    offset = pos - goal
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), offset.shape) if up is None else up
    along = np.einsum("ij,ij->i", offset, up)
    rest = offset - np.clip(along, 0.0, height)[:, None] * up
    return np.linalg.norm(rest, axis=1)
