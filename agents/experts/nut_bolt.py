"""Scripted expert for NutBolt: place the nut on the bolt's end, then screw it down in strokes, as a person with a
spanner would: take the nut across two flats, turn it a third of a turn clockwise, let go, turn the open hand back
and take it again (the wrist turns less than a turn, and a hex nut offers the same flats every 60 degrees).

Placing is a guided insertion (``insertion.py``) onto the bolt's end, the nut's thread 1.5 mm above the bolt's.
While turning, the TCP stays on the bolt's axis and follows the nut down the thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.insertion import GuidedInsertion
from embodia.agents.experts.pick_place import RELEASE, PickPlaceGoal, PickPlaceTiming
from embodia.envs.scene.angles import quat_yaw
from embodia.envs.tasks.factory.nut_bolt import NUT_HEIGHT_M, NUT_THREAD, PITCH_M, NutBoltConfig

FLAT_PERIOD_RAD = np.pi / 3
GRASP_BELOW_TOP_M = 0.007  # the pads reach 9 mm past the TCP: 2 mm above the nut's lower face
TRAVEL_ABOVE_BOLT_M = 0.04
LAND_GAP_M = 0.0  # the nut is lowered until its thread sits on the bolt's
#: while turning, the hand drives the nut down the helix and presses 0.5 mm further, so the thread catches
PRESS_M = 0.0005
SLOW_ABOVE_LANDING_M = 0.01
PREGRASP_EXTRA_M = 0.018
#: the nut's yaw when it lands: its thread's start 100 degrees past the bolt thread's end (both at angle 0 of their
#: frames), where its first turn rests on the bolt's all round (measured: 30 to 180 degrees land level)
LANDING_YAW_RAD = np.radians(100)
TIMING = PickPlaceTiming(position_tolerance_m=0.002, travel_tolerance_m=0.004)
#: each stroke turns the nut 120 degrees clockwise, from 30-90 degrees left of joint 7 mid-range to as far right
STROKE_RAD = 2 * np.pi / 3
STROKE_START_RAD = np.pi / 3
YAW_TOLERANCE_RAD = 0.04
CLOSE_STEPS = 5
OPEN_STEPS = 4
#: screw a fifth of a turn past what the task asks, so that settling back does not undo it
EXTRA_TURNS = 0.2
#: the nut counts as on the thread for the expert within this of the helix (the task judges with its own tolerance)
ENGAGED_M = 0.0005
ALIGN, CLOSE, TURN, OPEN, BACK, DONE = range(6)


class _PlaceOnBolt(GuidedInsertion):
    """Pick the nut across two flats and lower it onto the bolt's end."""

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        nut, top, tcp = s["nut_pos"], s["bolt_thread_top"], s["tcp_pos"]
        neutral = motion.MID_RANGE_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        nut_yaw = quat_yaw(s["nut_quat"])
        # the hand turns the nut on the way to land it with its thread's start where the whole first turn rests on
        # the bolt's (else it tilts); the grasp is the flats (every 60 degrees) that keep that turn mid-range
        turn = motion.wrap(LANDING_YAW_RAD - nut_yaw, 2 * np.pi)
        centre = neutral - turn / 2
        grasp_jaw = centre + motion.wrap(nut_yaw - centre, FLAT_PERIOD_RAD)
        landing = top + np.array([0.0, 0.0, LAND_GAP_M - NUT_THREAD.start_z_m])
        return PickPlaceGoal(
            object_pos=nut,
            grasp_point=nut + np.array([0.0, 0.0, NUT_HEIGHT_M - GRASP_BELOW_TOP_M]),
            release_point=landing,
            travel_z=top[:, 2] + TRAVEL_ABOVE_BOLT_M,
            pregrasp_width=s["nut_width_m"] + PREGRASP_EXTRA_M,
            grasp_jaw=grasp_jaw,
            place_jaw=motion.jaw_yaw(s["tcp_xmat"]) + turn,
        )

    def slow_band(self, s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        landing = s["bolt_thread_top"][:, 2] - NUT_THREAD.start_z_m
        return landing - SLOW_ABOVE_LANDING_M, landing + SLOW_ABOVE_LANDING_M


@register_expert("embodia/NutBolt-v0")
class NutBoltExpert:
    def __init__(self, num_envs: int, turns_required: float = NutBoltConfig.turns_required) -> None:
        self.place = _PlaceOnBolt(num_envs, TIMING)
        self.turns_goal = turns_required + EXTRA_TURNS
        self.screwing = np.zeros(num_envs, dtype=bool)
        self.phase = np.zeros(num_envs, dtype=np.int64)
        self.timer = np.zeros(num_envs, dtype=np.int64)
        self.yaw_goal = np.zeros(num_envs)
        self.turn_start = np.zeros(num_envs)  # jaw yaw where the turn began
        self.hold_z = np.zeros(num_envs)  # TCP height where the turn began

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.place.reset(env_ids, seed)
        self.screwing[env_ids] = False
        self.phase[env_ids] = ALIGN
        self.timer[env_ids] = 0

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        action = self.place.act(obs, info)
        # the nut sits on the bolt's end, still held: the first stroke turns it from there
        starting = ~self.screwing & (self.place.phase == RELEASE)
        self.screwing |= starting
        self.phase[starting] = TURN
        self.timer[starting] = 0
        jaw = motion.jaw_yaw(info["state"]["tcp_xmat"])
        self.yaw_goal[starting] = jaw[starting] - STROKE_RAD / 2
        self.turn_start[starting] = jaw[starting]
        self.hold_z[starting] = info["state"]["tcp_pos"][starting, 2]
        if self.screwing.any():
            screw = self._screw(info["state"])
            action[self.screwing] = screw[self.screwing]
        return action

    def _stroke_start(self, s: dict[str, np.ndarray]) -> np.ndarray:
        """The jaw yaw across the nut's flats nearest to 60 degrees left of joint 7's mid-range."""
        tcp = s["tcp_pos"]
        start = motion.MID_RANGE_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0]) + STROKE_START_RAD
        return start + motion.wrap(quat_yaw(s["nut_quat"]) - start, FLAT_PERIOD_RAD)

    def _screw(self, s: dict[str, np.ndarray]) -> np.ndarray:
        tcp, xmat = s["tcp_pos"], s["tcp_xmat"]
        phase = self.phase
        top = s["bolt_thread_top"]
        nut = s["nut_pos"]
        holding = np.isin(phase, (CLOSE, TURN))
        # open, centre the jaws on the nut; holding it, steer the nut onto the bolt's axis
        xy = np.where(holding[:, None], tcp[:, :2] + top[:, :2] - nut[:, :2], nut[:, :2])
        grasp = np.column_stack([xy, nut[:, 2] + NUT_HEIGHT_M - GRASP_BELOW_TOP_M])
        done = (s["turns_down"] >= self.turns_goal) & (np.abs(s["helix_error_m"]) < ENGAGED_M)
        # a new stroke (or the first) starts at the flats nearest the stroke's start; a turn ends a stroke further
        self.yaw_goal = np.where((phase == ALIGN) & (self.timer == 0), self._stroke_start(s), self.yaw_goal)
        self.yaw_goal = np.where((phase == CLOSE) & (self.timer == 0), self.yaw_goal - STROKE_RAD, self.yaw_goal)
        self.yaw_goal = np.where((phase == OPEN) & (self.timer == 0), self._stroke_start(s), self.yaw_goal)
        jaw = motion.jaw_yaw(xmat)
        closing = (phase == CLOSE) & (self.timer == 0)
        self.turn_start = np.where(closing, jaw, self.turn_start)
        self.hold_z = np.where(closing, tcp[:, 2], self.hold_z)
        yaw_error = np.where(np.isin(phase, (CLOSE, OPEN, DONE)), 0.0, motion.joint7_yaw_error(self.yaw_goal, jaw, tcp))
        turned = motion.joint7_yaw_error(self.turn_start, jaw, tcp)  # clockwise, rad
        screw_z = self.hold_z - PITCH_M * turned / (2 * np.pi) - PRESS_M
        grasp[:, 2] = np.where(holding, screw_z, grasp[:, 2])
        target = np.where((phase == DONE)[:, None], grasp + np.array([0.0, 0.0, TRAVEL_ABOVE_BOLT_M]), grasp)
        action = np.zeros((len(tcp), 7))
        action[:, :3] = motion.translate(tcp, target)
        action[:, 3:6] = motion.point_down(xmat, yaw_error)
        action[:, 6] = np.where(
            holding, motion.GRIPPER_CLOSE, motion.gripper_for_width(s["nut_width_m"] + PREGRASP_EXTRA_M)
        )

        self.timer += 1
        aligned = (np.abs(yaw_error) < YAW_TOLERANCE_RAD) & (np.linalg.norm(target - tcp, axis=1) < 0.003)
        advance = (
            ((phase == ALIGN) & aligned)
            | ((phase == CLOSE) & (self.timer >= CLOSE_STEPS))
            | ((phase == TURN) & ((np.abs(yaw_error) < YAW_TOLERANCE_RAD) | done))
            | ((phase == OPEN) & (self.timer >= OPEN_STEPS))
            | ((phase == BACK) & aligned)
        )
        following = np.select([phase == BACK, (phase == OPEN) & done], [CLOSE, DONE], phase + 1)
        self.phase = np.where(advance & (phase != DONE), following, phase)
        self.timer[advance] = 0
        return action
