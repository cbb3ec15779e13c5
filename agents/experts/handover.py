"""Scripted expert for Handover: a top grasp near the bottle's cap, carried over the palm, lowered onto it
along the palm normal, released, and withdrawn upwards."""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts.pick_place import PickAndPlace, PickPlaceGoal

GRASP_ABOVE_CENTRE_M = 0.02
RELEASE_GAP_M = 0.008
TRAVEL_ABOVE_PALM_M = 0.16
BOTTLE_WIDTH_M = 0.04


class HandoverExpert:
    def __init__(self, num_envs: int) -> None:
        self.machine = PickAndPlace(num_envs)

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.machine.reset(env_ids)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        bottle, palm, normal = s["bottle_pos"], s["palm_pos"], s["palm_normal"]
        half_height = s["bottle_half_height_m"][:, None]
        goal = PickPlaceGoal(
            object_pos=bottle,
            grasp_point=bottle + s["bottle_axis"] * GRASP_ABOVE_CENTRE_M,
            release_point=palm + normal * (half_height + RELEASE_GAP_M),
            travel_z=palm[:, 2] + TRAVEL_ABOVE_PALM_M,
            pregrasp_width=np.full(len(bottle), BOTTLE_WIDTH_M + 0.025),
        )
        return self.machine.act(s, goal)
