"""Scripted expert for ConveyorSort: pick the most downstream part still in reach off the moving belt and drop it
into its kind's bin; wait above the belt's entry when none is.

The shared phase machine does the pick and place; on the belt the grasp point leads the part by the belt's motion
and the TCP is fed the belt velocity while it approaches, descends and closes, so the jaws close around a part
that keeps moving.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import (
    APPROACH,
    DESCEND,
    GRASP,
    RETREAT,
    PickAndPlace,
    PickPlaceGoal,
    PickPlaceTiming,
)
from embodia.envs.scene.angles import quat_yaw
from embodia.envs.tasks.factory.conveyor_sort import (
    BELT_TOP_Z,
    BELT_X,
    BIN_FLOOR_M,
    BIN_WALL_HEIGHT_M,
    KINDS,
    LAST_PICK_Y,
    PART_HALF,
    PART_KIND,
)

NEUTRAL_JAW_YAW = -0.785  # jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range
#: yaw period of an equivalent grasp per kind (cube and plate are square, the bar is not)
SYMMETRY_RAD = np.array([np.pi / 2, np.pi, np.pi / 2])
CONTROL_DT_S = 0.05
LEAD_S = 0.1  # the grasp point leads the part by this much belt travel (the TCP lags its target)
MIN_GRASP_HEIGHT_M = 0.014  # above the belt: keeps the fingertips off it for flat parts
TRAVEL_Z = BELT_TOP_Z + 0.16
DROP_ABOVE_RIM_M = 0.03
WAIT_POINT = np.array([BELT_X, -0.3, TRAVEL_Z])
READY_TOLERANCE_M = 0.02


@register_expert("embodia/ConveyorSort-v0")
class ConveyorSortExpert(PickAndPlace):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs, PickPlaceTiming(grasp_steps=8))
        self.part = np.full(num_envs, -1, dtype=np.int64)

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        rows = np.arange(len(self.part))
        k = np.maximum(self.part, 0)
        pos = s["part_pos"][rows, k]
        on_belt = s["part_on_belt"][rows, k]
        grasp = pos + np.where(on_belt[:, None], s["belt_velocity"] * LEAD_S, 0.0)
        grasp[:, 2] = np.maximum(grasp[:, 2], BELT_TOP_Z + MIN_GRASP_HEIGHT_M)
        kind = PART_KIND[k]
        drop = s["bin_pos"][rows, kind].copy()
        drop[:, 2] += BIN_FLOOR_M + BIN_WALL_HEIGHT_M + DROP_ABOVE_RIM_M + PART_HALF[k, 2]
        tcp = s["tcp_pos"]
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        part_yaw = quat_yaw(s["part_quat"][rows, k])
        period = SYMMETRY_RAD[kind]
        grasp_width = np.array([KINDS[j].grasp_width_m for j in kind])
        return PickPlaceGoal(
            object_pos=pos,
            grasp_point=grasp,
            release_point=drop,
            travel_z=np.full(len(rows), TRAVEL_Z),
            pregrasp_width=grasp_width + 0.018,
            grasp_jaw=neutral + (part_yaw + np.pi / 2 - neutral + period / 2) % period - period / 2,
        )

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        super().reset(env_ids, seed)
        self.part[env_ids] = -1

    def _choose(self, s: dict[str, np.ndarray]) -> np.ndarray:
        """The most downstream part on the belt that can still be picked, or -1."""
        y = s["part_pos"][:, :, 1]
        candidate = s["part_on_belt"] & (y < LAST_PICK_Y)
        best = np.argmax(np.where(candidate, y, -np.inf), axis=1)
        return np.where(candidate.any(axis=1), best, -1)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        tcp = s["tcp_pos"]
        done_retreating = (self.phase == RETREAT) & (tcp[:, 2] > TRAVEL_Z - READY_TOLERANCE_M)
        self.phase[done_retreating] = APPROACH
        self.timer[done_retreating] = 0
        choice = self._choose(s)
        choosing = self.phase == APPROACH
        switched = choosing & (choice != self.part)
        self.part = np.where(choosing, choice, self.part)
        self.timer[switched] = 0  # latch the new part's grasp yaw
        self.yaw_active[switched] = False

        goal = self.goal(s)
        action = super().act(obs, info)
        rows = np.arange(len(self.part))
        on_belt = s["part_on_belt"][rows, np.maximum(self.part, 0)]
        feed = np.isin(self.phase, (APPROACH, DESCEND, GRASP)) & on_belt
        closing = feed & (self.phase == GRASP)
        follow = motion.translate(tcp, goal.grasp_point)
        action[closing, :3] = follow[closing]
        action[feed, :3] += s["belt_velocity"][feed] * CONTROL_DT_S / motion.POSITION_SCALE_M

        idle = self.part < 0
        self.phase[idle] = APPROACH
        self.timer[idle] = 0
        self.yaw_active[idle] = False
        action[idle, :3] = motion.translate(tcp[idle], np.broadcast_to(WAIT_POINT, (int(idle.sum()), 3)))
        action[idle, 3:6] = motion.point_down(s["tcp_xmat"][idle], np.zeros(int(idle.sum())))
        action[idle, 6] = motion.GRIPPER_OPEN
        return np.clip(action, -1.0, 1.0)
