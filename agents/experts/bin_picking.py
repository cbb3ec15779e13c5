"""Scripted expert for BinPicking: a phase machine per simulation (approach, descend, grasp, lift, carry,
lower, release, retreat), reading ``info["state"]`` by name and acting through the ee_delta action space."""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion
from embodia.envs.tasks.factory.bin_picking import PARTS

APPROACH, DESCEND, GRASP, LIFT, CARRY, LOWER, RELEASE, RETREAT = range(8)
#: yaw period of an equivalent grasp and pocket fit for each part kind (cube, cylinder, block); 0: any yaw
SYMMETRY_RAD = np.array([np.pi / 2, 0.0, np.pi])
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (jaw yaw 0 is q7 = -0.785)
NEUTRAL_JAW_YAW = -0.785
CARRY_HEIGHT_M = 0.12
APPROACH_HEIGHT_M = 0.09
REST_HEIGHT_M = np.array([part[4] for part in PARTS])
GRASP_STEPS = 10
RELEASE_STEPS = 8


def quat_yaw(quat: np.ndarray) -> np.ndarray:
    w, x, y, z = quat.T
    return np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


class BinPickingExpert:
    def __init__(self, num_envs: int) -> None:
        self.phase = np.zeros(num_envs, dtype=np.int64)
        self.timer = np.zeros(num_envs, dtype=np.int64)
        self.jaw_goal = np.zeros(num_envs)

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.phase[env_ids] = APPROACH
        self.timer[env_ids] = 0

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        tcp, xmat, width = s["tcp_pos"], s["tcp_xmat"], s["gripper_width"]
        part, kind, grasp_width, slot = s["part_pos"], s["part_kind"], s["grasp_width_m"], s["slot_pos"]
        part_yaw = quat_yaw(s["part_quat"])
        jaw = motion.jaw_yaw(xmat)
        n = len(tcp)
        up = np.array([0.0, 0.0, 1.0])
        pregrasp_width = grasp_width + 0.018

        # where the TCP should go in each phase
        part_above = part + up * APPROACH_HEIGHT_M
        lift_target = np.column_stack([part[:, :2], np.full(n, slot[:, 2] + CARRY_HEIGHT_M + 0.04)])
        # while holding, steer the part itself: move the TCP by where the part should be minus where it is
        held_offset = tcp - part
        slot_above = slot + up * CARRY_HEIGHT_M + held_offset
        slot_place = slot + up[None] * (REST_HEIGHT_M[kind] + 0.006)[:, None] + held_offset
        retreat = np.column_stack([tcp[:, :2], np.full(n, slot[:, 2] + CARRY_HEIGHT_M)])
        targets = np.select(
            [self.phase[:, None] == p for p in (APPROACH, DESCEND, GRASP, LIFT, CARRY, LOWER, RELEASE)],
            [part_above, part, tcp, lift_target, slot_above, slot_place, tcp],
            default=retreat,
        )
        # jaw yaw: close across the part, then turn the part square to its pocket; among the equivalent
        # yaws, take the one nearest the neutral jaw yaw so that joint 7 stays inside its range
        # (goals are latched when a phase starts, so that they never flip between equivalent yaws)
        period = SYMMETRY_RAD[kind]
        symmetric = period > 0
        safe_period = np.where(symmetric, period, 1.0)
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        starting = self.timer == 0
        latch_grasp = starting & (self.phase == APPROACH)
        latch_place = starting & (self.phase == CARRY)
        grasp_jaw = neutral + motion.wrap(part_yaw + np.pi / 2 - neutral, safe_period)
        place_jaw = neutral + motion.wrap(jaw - part_yaw - neutral, safe_period)
        self.jaw_goal = np.where(latch_grasp, grasp_jaw, np.where(latch_place, place_jaw, self.jaw_goal))
        yaw_error = np.where(symmetric, self.jaw_goal - jaw, 0.0)
        grasp_yaw_error = place_yaw_error = yaw_error
        yaw_error = np.where(self.phase >= RELEASE, 0.0, yaw_error)

        action = np.zeros((n, 7))
        slow = np.isin(self.phase, (DESCEND, LOWER))
        action[:, :3] = motion.translate(tcp, targets, max_speed=np.where(slow, 0.5, 1.0)[:, None])
        action[:, 3:6] = motion.point_down(xmat, yaw_error)
        closed = np.isin(self.phase, (GRASP, LIFT, CARRY, LOWER))
        action[:, 6] = np.where(closed, motion.GRIPPER_CLOSE, motion.gripper_for_width(pregrasp_width))
        action[self.phase >= RELEASE, 6] = motion.GRIPPER_OPEN

        # phase transitions
        error = np.linalg.norm(targets - tcp, axis=1)
        self.timer += 1
        advance = np.zeros(n, dtype=bool)
        advance |= (self.phase == APPROACH) & (error < 0.012) & (np.abs(grasp_yaw_error) < 0.05)
        advance |= (self.phase == DESCEND) & (error < 0.006)
        advance |= (self.phase == GRASP) & (self.timer >= GRASP_STEPS)
        advance |= (self.phase == LIFT) & (error < 0.03)
        advance |= (self.phase == CARRY) & (error < 0.01) & (np.abs(place_yaw_error) < 0.04)
        advance |= (self.phase == LOWER) & (error < 0.006)
        advance |= (self.phase == RELEASE) & (self.timer >= RELEASE_STEPS)
        # a part lost on the way: start again from the approach
        lost = np.isin(self.phase, (LIFT, CARRY)) & (np.linalg.norm(part - tcp, axis=1) > 0.04)
        self.phase = np.where(lost, APPROACH, np.where(advance, np.minimum(self.phase + 1, RETREAT), self.phase))
        self.timer[advance | lost] = 0
        return action
