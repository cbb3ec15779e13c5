"""Scripted expert for Palletizing: one pick-and-place cycle per carton, in the task's order.

The shared phase machine handles one carton; this expert starts the next cycle once the arm has retreated and the
task reports a new next carton. A carton that ends outside its slot stays the next one, so it is picked again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import APPROACH, RETREAT, PickAndPlace, PickPlaceGoal
from embodia.envs.scene.angles import quat_yaw

#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (jaw yaw 0 is q7 = -0.785)
NEUTRAL_JAW_YAW = -0.785
TRAVEL_ABOVE_SLOT_M = 0.12
RELEASE_GAP_M = 0.004
PREGRASP_EXTRA_M = 0.018
READY_TOLERANCE_M = 0.02


@register_expert("embodia/Palletizing-v0")
class PalletizingExpert(PickAndPlace):
    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs)
        self.box = np.zeros(num_envs, dtype=np.int64)

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        rows = np.arange(len(self.box))
        tcp, k = s["tcp_pos"], self.box
        box_pos, box_yaw = s["box_pos"][rows, k], quat_yaw(s["box_quat"][rows, k])
        slot, slot_yaw = s["slot_pos"][rows, k], s["slot_yaw"][rows, k]
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        jaw = motion.jaw_yaw(s["tcp_xmat"])
        return PickPlaceGoal(
            object_pos=box_pos,
            grasp_point=box_pos,
            release_point=slot + np.array([0.0, 0.0, RELEASE_GAP_M]),
            travel_z=self._travel_z(s),
            pregrasp_width=s["grasp_width_m"] + PREGRASP_EXTRA_M,
            grasp_jaw=neutral + motion.wrap(box_yaw + np.pi / 2 - neutral, np.pi),
            place_jaw=neutral + motion.wrap(jaw - box_yaw + slot_yaw - neutral, np.pi),
        )

    def _travel_z(self, s: dict[str, np.ndarray]) -> np.ndarray:
        rows = np.arange(len(self.box))
        return s["slot_pos"][rows, self.box, 2] + TRAVEL_ABOVE_SLOT_M

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        super().reset(env_ids, seed)
        self.box[env_ids] = 0

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        num_boxes = s["box_pos"].shape[1]
        next_box = s["next_box"]
        # Before a grasp, follow the task's next carton; after a retreat, start the next cycle.
        retreated = (self.phase == RETREAT) & (s["tcp_pos"][:, 2] > self._travel_z(s) - READY_TOLERANCE_M)
        restart = retreated & (next_box < num_boxes)
        self.phase[restart] = APPROACH
        self.timer[restart] = 0
        self.yaw_active[restart] = False
        follow = self.phase == APPROACH
        self.box = np.where(follow, np.minimum(next_box, num_boxes - 1), self.box)
        return super().act(obs, info)
