"""Scripted expert for GearAssembly: grasp the gear's hub across its two plates (the jaw turned the way
round that keeps joint 7 nearer mid-range), carry it over the shaft while turning the wrist into mesh phase (the nearest
yaw, modulo one tooth, at which its teeth face the fixed gear's gaps), lower it down the shaft (a guided
insertion, ``insertion.py``) onto the shoulder, release and withdraw."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.bin_picking import NEUTRAL_JAW_YAW
from embodia.agents.experts.insertion import GuidedInsertion
from embodia.agents.experts.pick_place import PickPlaceGoal, PickPlaceTiming
from embodia.envs.scene.angles import quat_yaw
from embodia.envs.tasks.factory.gear_assembly import FIXED_FACE_M, GEAR_TEETH, HUB_HEIGHT_M, SHAFT_ABOVE_SEAT_M

FLAT_PERIOD_RAD = np.pi  # the hub's two plates face along the gear's x axis
TOOTH_PERIOD_RAD = 2 * np.pi / GEAR_TEETH
GRASP_BELOW_TOP_M = 0.004  # the pads reach 9 mm past the TCP: 3 mm above the grip plates' lower edge
TRAVEL_ABOVE_SHAFT_M = 0.04
RELEASE_ABOVE_SEAT_M = 0.001
PREGRASP_EXTRA_M = 0.012
TIMING = PickPlaceTiming(position_tolerance_m=0.003, travel_tolerance_m=0.002, yaw_tolerance_rad=0.03)


@register_expert("embodia/GearAssembly-v0")
class GearAssemblyExpert(GuidedInsertion):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs, TIMING)

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        gear, seat, tcp = s["gear_pos"], s["shaft_seat"], s["tcp_pos"]
        yaw = quat_yaw(s["gear_quat"])
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        jaw = motion.jaw_yaw(s["tcp_xmat"])
        # the hub's plates face along the gear's x axis: close the jaw along it (either way round)
        grasp_jaw = neutral + motion.wrap(yaw - neutral, FLAT_PERIOD_RAD)
        place_jaw = jaw + motion.wrap(s["gear_mesh_yaw"] - yaw, TOOTH_PERIOD_RAD)
        return PickPlaceGoal(
            object_pos=gear,
            grasp_point=gear + np.array([0.0, 0.0, HUB_HEIGHT_M - GRASP_BELOW_TOP_M]),
            release_point=seat + np.array([0.0, 0.0, RELEASE_ABOVE_SEAT_M]),
            travel_z=seat[:, 2] + SHAFT_ABOVE_SEAT_M + TRAVEL_ABOVE_SHAFT_M,
            pregrasp_width=s["hub_width_m"] + PREGRASP_EXTRA_M,
            grasp_jaw=grasp_jaw,
            place_jaw=place_jaw,
        )

    def slow_band(self, s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """From above the shaft's end down to where the teeth have engaged."""
        seat = s["shaft_seat"][:, 2]
        return seat + FIXED_FACE_M - 0.006, seat + SHAFT_ABOVE_SEAT_M + 0.01
