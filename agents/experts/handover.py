"""Scripted expert for Handover: a top grasp near the bottle's cap, carried over the palm, lowered onto it
along the palm normal, released, and withdrawn upwards."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import register_expert
from embodia.agents.experts.pick_place import PickAndPlace, PickPlaceGoal

GRASP_ABOVE_CENTRE_M = 0.02
RELEASE_GAP_M = 0.008
TRAVEL_ABOVE_PALM_M = 0.16
BOTTLE_WIDTH_M = 0.04


@register_expert("embodia/Handover-v0")
class HandoverExpert(PickAndPlace):
    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        bottle, palm, normal = s["bottle_pos"], s["palm_pos"], s["palm_normal"]
        half_height = s["bottle_half_height_m"][:, None]
        return PickPlaceGoal(
            object_pos=bottle,
            grasp_point=bottle + s["bottle_axis"] * GRASP_ABOVE_CENTRE_M,
            release_point=palm + normal * (half_height + RELEASE_GAP_M),
            travel_z=palm[:, 2] + TRAVEL_ABOVE_PALM_M,
            pregrasp_width=np.full(len(bottle), BOTTLE_WIDTH_M + 0.025),
        )
