"""Scripted expert for PegInsertion: grasp the peg near its top, carry its lower end over the hole's axis to
within 1.5 mm, lower it along the axis to the floor, release and withdraw.

The shared phase machine steers the held peg's lower end itself (not the TCP), so a peg held slightly off
centre or tilted still arrives on the axis. While lowering, this expert replaces the machine's translation: the
shared one caps the whole move at one speed, so a fast descent leaves no room to correct the arm's sideways
drift. Here the descent is capped at ``INSERT_SPEED`` and the lateral correction keeps its full gain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion
from embodia.agents.experts.pick_place import LOWER, PickAndPlace, PickPlaceGoal, PickPlaceTiming
from embodia.envs.tasks.factory.peg_insertion import HOLE_DEPTH_M

TRAVEL_ABOVE_HOLE_M = 0.05
RELEASE_ABOVE_FLOOR_M = 0.001
#: gripper actions below 0 squeeze, so an open jaw is at least 40 mm wide
PREGRASP_WIDTH_M = 0.045
#: descent speeds while lowering, fractions of the ee_delta step (0.025 m): 0.2 -> 5 mm per step (0.1 m/s) down
#: to ``SLOW_ABOVE_RIM_M`` above the rim, then 0.06 -> 1.5 mm per step into the hole; the arm's sideways lag grows
#: with its speed, so the last centimetre is slow.
APPROACH_SPEED = 0.2
INSERT_SPEED = 0.06
SLOW_ABOVE_RIM_M = 0.01
LATERAL_GAIN = 0.7
#: integral gain of the lateral correction: the ee_delta controller's null-space pull leaks a steady sideways
#: bias (about 0.5 mm per step) that a proportional term alone leaves as a ~1 mm offset, more than the clearance
LATERAL_INTEGRAL_GAIN = 0.25
#: tight tolerances before the descent: the peg's end must meet the hole within the chamfer (3 mm)
TIMING = PickPlaceTiming(position_tolerance_m=0.003, travel_tolerance_m=0.0015, lost_distance_m=0.08)


class PegInsertionExpert(PickAndPlace):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs, TIMING)
        self.lateral_sum = np.zeros((num_envs, 2))

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        super().reset(env_ids, seed)
        self.lateral_sum[env_ids] = 0.0

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        floor = s["hole_floor"]
        return PickPlaceGoal(
            object_pos=s["peg_end"],
            grasp_point=s["peg_grasp_point"],
            release_point=floor + np.array([0.0, 0.0, RELEASE_ABOVE_FLOOR_M]),
            travel_z=floor[:, 2] + HOLE_DEPTH_M + TRAVEL_ABOVE_HOLE_M,
            pregrasp_width=np.full(len(floor), PREGRASP_WIDTH_M),
        )

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        lowering = self.phase == LOWER
        action = super().act(obs, info)
        if not lowering.any():
            self.lateral_sum[:] = 0.0
        else:
            s = info["state"]
            floor = s["hole_floor"]
            error = floor + np.array([0.0, 0.0, RELEASE_ABOVE_FLOOR_M]) - s["peg_end"]
            command = LATERAL_GAIN * error / motion.POSITION_SCALE_M
            self.lateral_sum = np.where(lowering[:, None], self.lateral_sum + error[:, :2], 0.0)
            command[:, :2] += LATERAL_INTEGRAL_GAIN * self.lateral_sum / motion.POSITION_SCALE_M
            above_rim = s["peg_end"][:, 2] - (floor[:, 2] + HOLE_DEPTH_M)
            speed = np.where(above_rim > SLOW_ABOVE_RIM_M, APPROACH_SPEED, INSERT_SPEED)
            vertical = np.clip(command[:, 2], -speed, speed)
            action[lowering, :2] = np.clip(command[lowering, :2], -1.0, 1.0)
            action[lowering, 2] = vertical[lowering]
        return action
