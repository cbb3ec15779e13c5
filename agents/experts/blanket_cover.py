"""Scripted expert for BlanketCover: a top grasp across the hem's pull tab, a pull along the bed at a height that
keeps the jaws and the hem clear of the legs, the hem laid on the belly, release and withdraw upwards."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import PickAndPlace, PickPlaceGoal
from embodia.envs.tasks.care.blanket_cover import SHAPE

PULL_ABOVE_HIPS_M = 0.25  # the cloth hangs under the hem, clear of the thighs and the feet
RELEASE_ABOVE_HIPS_M = 0.14  # the hem then drops a few cm onto the belly
#: the hand comes in this high, over the cloth heaped on the feet (up to about 0.25 m above the hips), and goes down
#: over the tab
APPROACH_ABOVE_HIPS_M = 0.35
#: the finger tips (9 mm beyond the TCP) 3 mm above the tab's underside: they pinch 9 of its 12 mm and stay clear
#: of the shins it lies between (level with the underside, a pad pressed a shin with 30 N while the jaws closed)
PADS_ABOVE_TAB_M = 0.006
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (as the other experts)
NEUTRAL_JAW_YAW = -0.785


@register_expert("embodia/BlanketCover-v0")
class BlanketCoverExpert(PickAndPlace):
    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        axis, tab, hips = s["hem_axis"], s["tab_pos"], s["hips_pos"]
        release = s["hem_goal"] - np.array([SHAPE.tab_offset_m, 0.0, 0.0])  # the goal's hem runs along y
        release[:, 2] = hips[:, 2] + RELEASE_ABOVE_HIPS_M
        # the jaws keep the hem's heading from grasp to release while the base turns by about a radian: their yaw is
        # chosen about joint 7's middle over the whole pull, so it stays in range at both ends
        at_grasp, at_release = np.arctan2(tab[:, 1], tab[:, 0]), np.arctan2(release[:, 1], release[:, 0])
        neutral = NEUTRAL_JAW_YAW + at_grasp + motion.wrap(at_release - at_grasp, 2 * np.pi) / 2
        along_hem = np.arctan2(axis[:, 1], axis[:, 0])  # the jaws close across the tab, along the hem
        return PickPlaceGoal(
            object_pos=tab,
            grasp_point=tab + np.array([0.0, 0.0, PADS_ABOVE_TAB_M]),
            release_point=release,
            travel_z=hips[:, 2] + PULL_ABOVE_HIPS_M,
            pregrasp_width=np.full(len(tab), SHAPE.tab_width_m + 0.03),
            grasp_jaw=neutral + motion.wrap(along_hem - neutral, np.pi),
            approach_z=hips[:, 2] + APPROACH_ABOVE_HIPS_M,
        )
