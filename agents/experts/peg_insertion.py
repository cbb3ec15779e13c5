"""Scripted expert for PegInsertion: grasp the peg near its top, carry its lower end over the hole's axis to
within 1.5 mm, lower it along the axis (a guided insertion, ``insertion.py``) to the floor, release and withdraw.

The phase machine steers the held peg's lower end itself (not the TCP), so a peg held slightly off centre or
tilted still arrives on the axis.
"""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import register_expert
from embodia.agents.experts.insertion import GuidedInsertion
from embodia.agents.experts.pick_place import PickPlaceGoal, PickPlaceTiming
from embodia.envs.tasks.factory.peg_insertion import HOLE_DEPTH_M

TRAVEL_ABOVE_HOLE_M = 0.05
RELEASE_ABOVE_FLOOR_M = 0.001
SLOW_ABOVE_RIM_M = 0.01
SLOW_BELOW_RIM_M = 0.008
#: the pre-grasp opening: 29 mm clear of the 16 mm peg, room for the TCP's sideways error on the way down
PREGRASP_WIDTH_M = 0.045
#: tight tolerances before the descent: the peg's end must meet the hole within the chamfer (3 mm)
TIMING = PickPlaceTiming(position_tolerance_m=0.003, travel_tolerance_m=0.0015, lost_distance_m=0.08)


@register_expert("embodia/PegInsertion-v0")
class PegInsertionExpert(GuidedInsertion):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs, TIMING)

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        floor = s["hole_floor"]
        return PickPlaceGoal(
            object_pos=s["peg_end"],
            grasp_point=s["peg_grasp_point"],
            release_point=floor + np.array([0.0, 0.0, RELEASE_ABOVE_FLOOR_M]),
            travel_z=floor[:, 2] + HOLE_DEPTH_M + TRAVEL_ABOVE_HOLE_M,
            pregrasp_width=np.full(len(floor), PREGRASP_WIDTH_M),
        )

    def slow_band(self, s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        rim = s["hole_floor"][:, 2] + HOLE_DEPTH_M
        return rim - SLOW_BELOW_RIM_M, rim + SLOW_ABOVE_RIM_M
