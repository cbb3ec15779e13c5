"""Scripted expert for BinPicking: pick-and-place with the jaws closed across the part and the part turned
square to its pocket, choosing among equivalent yaws the one that keeps joint 7 mid-range."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import PickAndPlace, PickPlaceGoal
from embodia.envs.scene.angles import quat_yaw
from embodia.envs.tasks.factory.bin_picking import PARTS

#: yaw period of an equivalent grasp and pocket fit for each part kind (cube, cylinder, block); 0: any yaw
SYMMETRY_RAD = np.array([np.pi / 2, 0.0, np.pi])
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (jaw yaw 0 is q7 = -0.785)
NEUTRAL_JAW_YAW = -0.785
REST_HEIGHT_M = np.array([part.rest_height_m for part in PARTS])
TRAVEL_HEIGHT_M = 0.12
RELEASE_GAP_M = 0.006


@register_expert("embodia/BinPicking-v0")
class BinPickingExpert(PickAndPlace):
    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        tcp, kind, slot = s["tcp_pos"], s["part_kind"], s["slot_pos"]
        part_yaw = quat_yaw(s["part_quat"])
        period = SYMMETRY_RAD[kind]
        symmetric = period > 0
        period = np.where(symmetric, period, 1.0)
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        jaw = motion.jaw_yaw(s["tcp_xmat"])
        grasp_jaw = neutral + motion.wrap(part_yaw + np.pi / 2 - neutral, period)
        place_jaw = neutral + motion.wrap(jaw - part_yaw - neutral, period)
        return PickPlaceGoal(
            object_pos=s["part_pos"],
            grasp_point=s["part_pos"],
            release_point=slot + np.outer(REST_HEIGHT_M[kind] + RELEASE_GAP_M, [0.0, 0.0, 1.0]),
            travel_z=slot[:, 2] + TRAVEL_HEIGHT_M,
            pregrasp_width=s["grasp_width_m"] + 0.018,
            grasp_jaw=np.where(symmetric, grasp_jaw, jaw),
            place_jaw=np.where(symmetric, place_jaw, jaw),
        )
