"""What every elder-care task shares: the person's randomization switches and the contact-safety options.

A care task's config subclasses ``CareTaskConfig`` (it adds its own ranges and ``w_*`` weights) and names the
postures its scene is built for; the task composes a ``Person`` from ``person_ranges()`` and
``safety_options()`` and uses ``safety_fail`` / ``safety_force_ratio`` on ``info["safety"]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from embodia.envs.human.body import JOINT_NAMES, SEATED_RECLINE_RAD
from embodia.envs.human.config import HumanRanges
from embodia.envs.human.person import Person
from embodia.envs.safety import iso15066
from embodia.envs.safety.monitor import SafetyOptions
from embodia.envs.tasks.base import TaskConfig, per_sim_uniform
from embodia.envs.validation import Bounds, option

#: the person's per-episode draws that live outside the MuJoCo state (motion paths, postures, stature and what the
#: safety monitor derives from the body's size): a care task that keeps its ``Person`` as ``self.person`` lists
#: these in ``episode_state_fields`` so that a replay restores them
PERSON_EPISODE_STATE = tuple(
    f"person.motion.{name}" for name in ("base_target", "range", "drift", "head", "step_index", "stature_m")
) + tuple(f"person.monitor.geom_{name}" for name in ("axis", "half_length", "radius", "curvature"))
OPEN_HAND_JOINTS = ("right_shoulder_yaw", "right_shoulder_flexion", "right_elbow_flexion", "right_wrist_flexion")


@dataclass(frozen=True)
class CareTaskConfig(TaskConfig):
    """The person (``human`` ranges, tremor and voluntary-motion switches) and the safety reward/termination."""

    #: postures the task's scene is built for; the first is the default
    valid_postures: ClassVar[tuple[str, ...]] = ("seated_chair", "seated_wheelchair")

    human: HumanRanges = dataclasses.field(default_factory=HumanRanges)  # who the person is, drawn per episode
    tremor: bool = True  # False: nobody trembles, whatever human.tremor says
    voluntary_motion: bool = True  # hand drift and head turns
    safety_penalty: float = 0.0  # > 0: the reward term 'safety' with this negative weight
    terminate_on_safety_violation: bool = False  # end the episode when an ISO/TS 15066 limit is exceeded
    speed_check_distance_m: float = 0.1  # robot parts nearer the person than this are speed-checked
    #: scales the ISO/TS 15066 force and pressure limits; < 1: a margin for frail people
    safety_limit_scale: float = option(1.0, valid=Bounds(0, 1, low_open=True))

    def __post_init__(self) -> None:
        super().__post_init__()  # checks every field; a dict ``human`` (a recorded config) becomes HumanRanges
        posture = self.human.structure.posture
        if posture not in self.valid_postures:
            raise ValueError(
                f"human.structure.posture={posture!r} is not valid for {type(self).__name__}; "
                f"valid: {', '.join(self.valid_postures)}"
            )

    def reward_weights(self) -> dict[str, float]:
        weights = super().reward_weights()
        if self.safety_penalty > 0:
            weights["safety"] = -self.safety_penalty
        return weights

    def person_ranges(self) -> HumanRanges:
        ranges = self.human
        if not self.tremor:
            ranges = dataclasses.replace(ranges, tremor=False)
        if not self.voluntary_motion:
            ranges = dataclasses.replace(ranges, hand_drift_m=(0.0, 0.0), head_turn_rate_hz=(0.0, 0.0))
        return ranges

    def safety_options(self) -> SafetyOptions:
        return SafetyOptions(self.speed_check_distance_m, self.safety_limit_scale)

    def make_person(self) -> Person:
        """The task's person (ranges, motion, safety monitor) before the scene is built; ``build_scene`` places
        the body, ``bind`` sizes its per-simulation state."""
        return Person(self.person_ranges(), self.episode_steps, self.control_dt_s, self.safety_options())

    def safety_fail(self, safety: dict[str, Any]) -> np.ndarray:
        """(n,) a limit exceeded, when the config ends episodes on a violation; else all False."""
        exceeded = safety["quasi_static_exceeded"] | safety["transient_exceeded"]
        return exceeded if self.terminate_on_safety_violation else np.zeros_like(exceeded)

    def safety_terms(self, safety: dict[str, Any]) -> dict[str, np.ndarray]:
        """The ``safety`` reward term when a penalty is set: the largest region force over its quasi-static
        limit, capped at 1."""
        if self.safety_penalty <= 0:
            return {}
        return {"safety": np.clip(safety_force_ratio(safety, self.safety_limit_scale), 0.0, 1.0)}


def safety_force_ratio(safety: dict[str, Any], limit_scale: float = 1.0) -> np.ndarray:
    """(n,) the largest region force as a fraction of that region's quasi-static limit."""
    limits = iso15066.limit_array("quasi_static_force_n") * limit_scale
    forces = np.stack([safety["force_n"][name] for name in iso15066.REGION_NAMES], axis=1)
    return (forces / limits).max(axis=1)


def open_hand_targets(
    person: Person,
    rngs: list[np.random.Generator],
    shoulder_yaw_rad: tuple[float, float],
    shoulder_flexion_rad: tuple[float, float],
    elbow_flexion_rad: tuple[float, float],
) -> np.ndarray:
    """(n, joints) servo targets of a seated person holding the right hand out, palm up, drawn per simulation.

    The wrist keeps the palm level: a reclined trunk turns the arm the way shoulder flexion does, so the wrist
    takes up what trunk recline, shoulder flexion and elbow flexion leave of a quarter turn.
    """
    yaw = per_sim_uniform(rngs, *shoulder_yaw_rad)
    flexion = per_sim_uniform(rngs, *shoulder_flexion_rad)
    elbow = per_sim_uniform(rngs, *elbow_flexion_rad)
    targets = person.rest_targets(len(rngs))
    trunk_back_rad = SEATED_RECLINE_RAD - targets[:, JOINT_NAMES.index("lumbar_flexion")]
    wrist = np.pi / 2 - trunk_back_rad - flexion - elbow
    columns = [JOINT_NAMES.index(joint) for joint in OPEN_HAND_JOINTS]
    targets[:, columns] = np.column_stack([-yaw, flexion, elbow, wrist])
    targets[:, JOINT_NAMES.index("right_shoulder_abduction")] = 0.0
    return targets
