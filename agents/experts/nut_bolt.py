"""Scripted expert for NutBolt: grasp the nut across two flats (the jaw turned to the nearest flat pair that
keeps joint 7 mid-range), carry it over the bolt, lower it down the shank (a guided insertion, ``insertion.py``)
onto the head, release and withdraw."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.bin_picking import NEUTRAL_JAW_YAW, quat_yaw
from embodia.agents.experts.insertion import GuidedInsertion
from embodia.agents.experts.pick_place import PickPlaceGoal, PickPlaceTiming
from embodia.envs.tasks.factory.nut_bolt import NUT_HEIGHT_M, SHANK_LENGTH_M

FLAT_PERIOD_RAD = np.pi / 3
GRASP_BELOW_TOP_M = 0.007  # the pads reach 9 mm past the TCP: 2 mm above the bench for an 18 mm nut
TRAVEL_ABOVE_SHANK_M = 0.04
RELEASE_ABOVE_SEAT_M = 0.001
SLOW_AROUND_SHANK_TOP_M = 0.01
PREGRASP_EXTRA_M = 0.018
TIMING = PickPlaceTiming(position_tolerance_m=0.003, travel_tolerance_m=0.002)


@register_expert("embodia/NutBolt-v0")
class NutBoltExpert(GuidedInsertion):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs, TIMING)

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        nut, seat, tcp = s["nut_pos"], s["bolt_seat"], s["tcp_pos"]
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        # box k of the nut faces along nut yaw + k * 60 degrees: close the jaw along one of those normals
        grasp_jaw = neutral + motion.wrap(quat_yaw(s["nut_quat"]) - neutral, FLAT_PERIOD_RAD)
        return PickPlaceGoal(
            object_pos=nut,
            grasp_point=nut + np.array([0.0, 0.0, NUT_HEIGHT_M - GRASP_BELOW_TOP_M]),
            release_point=seat + np.array([0.0, 0.0, RELEASE_ABOVE_SEAT_M]),
            travel_z=seat[:, 2] + SHANK_LENGTH_M + TRAVEL_ABOVE_SHANK_M,
            pregrasp_width=s["nut_width_m"] + PREGRASP_EXTRA_M,
            grasp_jaw=grasp_jaw,
        )

    def slow_band(self, s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        top = s["bolt_seat"][:, 2] + SHANK_LENGTH_M
        return top - SLOW_AROUND_SHANK_TOP_M, top + SLOW_AROUND_SHANK_TOP_M
