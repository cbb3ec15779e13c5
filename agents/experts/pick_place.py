"""A batched pick-and-place phase machine that the scripted experts share.

Each expert supplies only its task geometry per step (where to grasp, where the object should be released,
which jaw yaws are acceptable); the machine turns it into ee_delta actions. Yaw goals are latched when a phase
starts so that they never flip between equivalent yaws mid-motion.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from embodia.agents.experts import motion
from embodia.envs.scene import panda

APPROACH, DESCEND, GRASP, LIFT, CARRY, LOWER, RELEASE, RETREAT = range(8)
PHASE_NAMES = ("approach", "descend", "grasp", "lift", "carry", "lower", "release", "retreat")
UP = np.array([0.0, 0.0, 1.0])


@dataclass
class PickPlaceGoal:
    """One step's task geometry, (n, ...) arrays."""

    object_pos: np.ndarray
    grasp_point: np.ndarray  # TCP position for the grasp
    release_point: np.ndarray  # object position at which to let go
    travel_z: np.ndarray  # height to lift to, carry at and retreat to
    pregrasp_width: np.ndarray
    grasp_jaw: np.ndarray | None = None  # jaw yaw for the grasp (None: any)
    place_jaw: np.ndarray | None = None  # jaw yaw for the release (None: keep)
    #: come in at least this high until over the grasp point, then go down (None: straight to the pre-grasp point),
    #: for scenes where something soft lies between the start and the grasp (a blanket over a person's feet)
    approach_z: np.ndarray | None = None


@dataclass(frozen=True)
class PickPlaceTiming:
    approach_height_m: float = 0.09
    grasp_steps: int = 10  # the longest the jaws close before the lift (without both pads touching)
    grasp_settle_steps: int = 2  # the shortest, once both pads touch
    release_steps: int = 16
    position_tolerance_m: float = 0.006
    travel_tolerance_m: float = 0.012
    yaw_tolerance_rad: float = 0.05
    lost_distance_m: float = 0.05
    #: turn the jaws to the grasp yaw only once the TCP is this close to the pre-grasp point (inf: from the start,
    #: while travelling). A policy that sees through cameras learns the turn where its wrist camera shows the part
    #: large: turned from the start, the expert's turn answers a yaw that the images of the start barely show
    turn_within_m: float = float("inf")
    #: open the jaws at least this wide before a grasp (0: the expert's own width, the object's and a margin). A
    #: clone misplaces the hand by a centimetre or more where the expert is within millimetres: with the jaws wide
    #: a finger comes down beside the object rather than on its top, and a square part turned off the jaws fits
    pregrasp_open_m: float = 0.0

    def __post_init__(self) -> None:
        if not self.turn_within_m >= 0:
            raise ValueError(f"turn_within_m={self.turn_within_m!r} is not valid; valid: a distance >= 0 in metres")
        if not 0.0 <= self.pregrasp_open_m <= panda.GRIPPER_MAX_WIDTH_M:
            raise ValueError(
                f"pregrasp_open_m={self.pregrasp_open_m!r} is not valid; valid: 0 (the expert's own) to "
                f"{panda.GRIPPER_MAX_WIDTH_M} m, the hand's stroke"
            )


class PickAndPlace(abc.ABC):
    """The policy protocol (``reset``, ``act``) around the phase machine; an expert defines ``goal``."""

    def __init__(
        self,
        num_envs: int,
        timing: PickPlaceTiming | None = None,
        turn_within_m: float | None = None,
        pregrasp_open_m: float | None = None,
    ) -> None:
        self.timing = timing or PickPlaceTiming()
        if turn_within_m is not None:
            self.timing = dataclasses.replace(self.timing, turn_within_m=float(turn_within_m))
        if pregrasp_open_m is not None:
            self.timing = dataclasses.replace(self.timing, pregrasp_open_m=float(pregrasp_open_m))
        self.phase = np.zeros(num_envs, dtype=np.int64)
        self.timer = np.zeros(num_envs, dtype=np.int64)
        self.jaw_goal = np.zeros(num_envs)
        self.yaw_active = np.zeros(num_envs, dtype=bool)
        self.start_jaw = np.zeros(num_envs)  # the jaw yaw at the approach's start (``turn_within_m``)

    @abc.abstractmethod
    def goal(self, state: dict[str, np.ndarray]) -> PickPlaceGoal:
        """This step's task geometry from ``info["state"]``."""

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.phase[env_ids] = APPROACH
        self.timer[env_ids] = 0
        self.yaw_active[env_ids] = False

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        state = info["state"]
        goal = self.goal(state)
        t = self.timing
        tcp, xmat = state["tcp_pos"], state["tcp_xmat"]
        n = len(tcp)
        phase = self.phase
        obj = goal.object_pos
        held_offset = tcp - obj  # steer the held object itself
        travel = goal.travel_z[:, None]
        over_release = np.concatenate([goal.release_point[:, :2], travel], axis=1) + held_offset
        pregrasp = goal.grasp_point + UP * t.approach_height_m
        if goal.approach_z is not None:
            far = np.linalg.norm((pregrasp - tcp)[:, :2], axis=1) > 3 * t.travel_tolerance_m
            pregrasp[far, 2] = np.maximum(pregrasp[far, 2], goal.approach_z[far])
        targets = np.select(
            [phase[:, None] == p for p in (APPROACH, DESCEND, GRASP, LIFT, CARRY, LOWER, RELEASE)],
            [
                pregrasp,
                goal.grasp_point,
                tcp,
                np.concatenate([tcp[:, :2], travel], axis=1),
                over_release,
                goal.release_point + held_offset,
                tcp,
            ],
            default=np.concatenate([tcp[:, :2], travel], axis=1),
        )

        jaw = motion.jaw_yaw(xmat)
        starting = self.timer == 0
        if goal.grasp_jaw is not None:
            latch = starting & (phase == APPROACH)
            self.jaw_goal = np.where(latch, goal.grasp_jaw, self.jaw_goal)
            self.yaw_active |= latch
        if goal.place_jaw is not None:
            latch = starting & (phase == CARRY)
            self.jaw_goal = np.where(latch, goal.place_jaw, self.jaw_goal)
            self.yaw_active |= latch
        yaw_error = self.jaw_goal - jaw
        # a goal across the +-pi seam of the measured yaw, or one that joint 7 reaches the long way round
        joint_way = motion.joint7_yaw_error(self.jaw_goal, jaw, tcp)
        yaw_error = np.where(np.abs(joint_way - yaw_error) > 1.0, joint_way, yaw_error)
        yaw_error = np.where(self.yaw_active & (phase < RELEASE), yaw_error, 0.0)
        if np.isfinite(t.turn_within_m):  # on the way, hold the yaw the approach started with
            self.start_jaw = np.where(starting & (phase == APPROACH), jaw, self.start_jaw)
            far = (phase == APPROACH) & (np.linalg.norm(pregrasp - tcp, axis=1) > t.turn_within_m)
            yaw_error = np.where(far, motion.wrap(self.start_jaw - jaw, 2 * np.pi), yaw_error)

        action = np.zeros((n, 7))
        slow = np.isin(phase, (DESCEND, LOWER))
        action[:, :3] = motion.translate(tcp, targets, max_speed=np.where(slow, 0.5, 1.0)[:, None])
        action[:, 3:6] = motion.point_down(xmat, yaw_error)
        holding = np.isin(phase, (GRASP, LIFT, CARRY, LOWER))
        pregrasp_width = np.maximum(goal.pregrasp_width, t.pregrasp_open_m)
        action[:, 6] = np.where(holding, motion.GRIPPER_CLOSE, motion.gripper_for_width(pregrasp_width))
        action[phase >= RELEASE, 6] = motion.GRIPPER_OPEN

        error = np.linalg.norm(targets - tcp, axis=1)
        # both pads press on the part: the squeeze builds within a step of contact. A phase change the state shows
        # (a timer alone is invisible to a policy cloned from these actions: it stalled at the closed jaws)
        closed_on_part = state["pads_touching"].all(axis=1) & (self.timer >= t.grasp_settle_steps)
        yaw_done = np.abs(yaw_error) < t.yaw_tolerance_rad
        self.timer += 1
        advance = (
            ((phase == APPROACH) & (error < t.travel_tolerance_m) & yaw_done)
            | ((phase == DESCEND) & (error < t.position_tolerance_m))
            | ((phase == GRASP) & (closed_on_part | (self.timer >= t.grasp_steps)))
            | ((phase == LIFT) & (error < 3 * t.travel_tolerance_m))
            | ((phase == CARRY) & (error < t.travel_tolerance_m) & yaw_done)
            | ((phase == LOWER) & (error < t.position_tolerance_m))
            | ((phase == RELEASE) & ((state["gripper_width"] >= pregrasp_width) | (self.timer >= t.release_steps)))
        )
        lost = np.isin(phase, (LIFT, CARRY, LOWER)) & (np.linalg.norm(held_offset, axis=1) > t.lost_distance_m)
        self.phase = np.where(lost, APPROACH, np.where(advance, np.minimum(phase + 1, RETREAT), phase))
        self.timer[advance | lost] = 0
        self.yaw_active[lost] = False
        return action
