"""Scripted expert for BedBathing: a force-regulated wipe along the arm, from the wrist to the shoulder.

Phases: approach above the first point with the tool pointing down; press and wipe: the TCP goes over the next
uncleaned point (in the task's wiping order) at a wiping speed while its height follows the point's surface
minus a press depth, which an integral loop on the measured arm force (``info["state"]["arm_force_n"]``, the
safety monitor's upper- and lower-arm forces) moves towards ``TARGET_FORCE_N``; withdraw upwards when every point
is cleaned. Since the sponge is a spring, the press depth sets the force directly and the loop only has to absorb
the arm sinking under it and its drift and tremor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.envs.scene import wiping_tool

APPROACH, WIPE, WITHDRAW = range(3)
PHASE_NAMES = ("approach", "wipe", "withdraw")
UP = np.array([0.0, 0.0, 1.0])
TARGET_FORCE_N = 3.0  # Assistax's target force for tool-on-skin tasks; the task's band is 1-10 N
APPROACH_HEIGHT_M = 0.05
WIPE_SPEED_M_PER_STEP = 0.005  # 0.1 m/s at 20 Hz: Assistax's target tool speed
DESCENT_M_PER_STEP = 0.003  # before the first touch
FORCE_GAIN_M_PER_N = 0.4 / wiping_tool.SPONGE_STIFFNESS_N_PER_M  # 40 % of the force error per step
PRESS_RANGE_M = (-0.02, 0.025)
WITHDRAW_HEIGHT_M = 0.1
TOLERANCE_M = 0.008
OUTWARD_OFFSET_M = 0.005  # the sponge a little off the arm's top line, away from the trunk (the chest bulges)


@register_expert("embodia/BedBathing-v0")
class BedBathingExpert:
    """The batched policy protocol (``reset``, ``act``) over a phase machine."""

    def __init__(self, num_envs: int) -> None:
        self.phase = np.zeros(num_envs, dtype=np.int64)
        self.press_m = np.zeros(num_envs)
        self.touched = np.zeros(num_envs, dtype=bool)
        self.withdraw_xy = np.zeros((num_envs, 2))

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.phase[env_ids] = APPROACH
        self.press_m[env_ids] = PRESS_RANGE_M[0]
        self.touched[env_ids] = False

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        tcp, xmat = s["tcp_pos"], s["tcp_xmat"]
        points, cleaned, force = s["points_pos"], s["cleaned"], s["arm_force_n"]
        n = len(tcp)
        rows = np.arange(n)
        done = cleaned.all(axis=1)
        index = np.where(done, points.shape[1] - 1, np.argmax(~cleaned, axis=1))
        along = points[:, -1, :2] - points[:, 0, :2]
        along /= np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-9)
        outward = np.column_stack([along[:, 1], -along[:, 0]])
        outward *= np.where(outward[:, :1] > 0, -1.0, 1.0)  # the robot's side of the arm (world -x)
        point = points[rows, index] + np.column_stack([outward * OUTWARD_OFFSET_M, np.zeros(n)])
        # the surface height under the sponge: from the previous point's towards the next one's as the sponge
        # travels, so that a higher next point (the thicker upper arm) does not lift the sponge off at once
        previous = points[rows, np.maximum(index - 1, 0)]
        span = np.linalg.norm(point[:, :2] - previous[:, :2], axis=1)
        travelled = 1.0 - np.linalg.norm(point[:, :2] - tcp[:, :2], axis=1) / np.maximum(span, 1e-6)
        surface_z = previous[:, 2] + np.clip(travelled, 0.0, 1.0) * (point[:, 2] - previous[:, 2])
        rest_height = wiping_tool.FACE_BELOW_TCP_M  # TCP above the face with the sponge at rest

        # press depth: descend until the first touch, then integrate the force error
        self.touched |= force > 0.5
        wiping = self.phase == WIPE
        step = np.where(self.touched, FORCE_GAIN_M_PER_N * (TARGET_FORCE_N - force), DESCENT_M_PER_STEP)
        self.press_m = np.where(wiping, np.clip(self.press_m + step, *PRESS_RANGE_M), self.press_m)

        approach_target = point + UP * (rest_height + APPROACH_HEIGHT_M)
        displacement = np.zeros((n, 3))
        to_point = point[:, :2] - tcp[:, :2]
        norm = np.linalg.norm(to_point, axis=1, keepdims=True)
        xy = to_point * np.minimum(1.0, WIPE_SPEED_M_PER_STEP / np.maximum(norm, 1e-9))
        wipe_z = surface_z + rest_height - self.press_m - tcp[:, 2]
        displacement[:, :2] = np.where(wiping[:, None], xy, 0.0)
        displacement[:, 2] = np.where(wiping, wipe_z, 0.0)
        translate = np.where(wiping[:, None], displacement / motion.POSITION_SCALE_M, 0.0)
        translate = np.clip(translate, -1.0, 1.0)
        withdraw_target = np.column_stack([self.withdraw_xy, points[:, :, 2].max(axis=1) + WITHDRAW_HEIGHT_M])
        target = np.where((self.phase == APPROACH)[:, None], approach_target, withdraw_target)
        translate = np.where(wiping[:, None], translate, motion.translate(tcp, target))

        action = np.zeros((n, 7))
        action[:, :3] = translate
        # the hand is 19 cm long along the jaw axis: keep it along the arm, not out over the thigh and pelvis
        arm_yaw = np.arctan2(along[:, 1], along[:, 0])
        action[:, 3:6] = motion.point_down(xmat, motion.wrap(arm_yaw - motion.jaw_yaw(xmat), np.pi))
        action[:, 6] = motion.GRIPPER_CLOSE  # the jaws hold the tool's blade

        reached = np.linalg.norm(approach_target - tcp, axis=1) < TOLERANCE_M
        start_wipe = (self.phase == APPROACH) & reached
        self.press_m[start_wipe] = PRESS_RANGE_M[0]
        self.phase = np.where(start_wipe, WIPE, self.phase)
        start_withdraw = (self.phase == WIPE) & done
        self.withdraw_xy[start_withdraw] = tcp[start_withdraw, :2]
        self.phase = np.where(start_withdraw, WITHDRAW, self.phase)
        return action
