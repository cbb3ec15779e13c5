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
#: the jaws open this much wider than the tab to come down on it: 7.5 mm a side, so that the pads stay clear of the
#: legs (30 mm wider, a pad struck a thigh with over 100 N)
PREGRASP_CLEARANCE_M = 0.015
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (as the other experts)
NEUTRAL_JAW_YAW = -0.785


@register_expert("embodia/BlanketCover-v0")
class BlanketCoverExpert(PickAndPlace):
    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        axis, tab, hips = s["hem_axis"], s["tab_pos"], s["hips_pos"]
        release = s["hem_goal"] + SHAPE.tab_centre * [1.0, 1.0, 0.0]  # the tab of a hem lying level along y there
        release[:, 2] = hips[:, 2] + RELEASE_ABOVE_HIPS_M
        # the jaws keep the hem's heading from grasp to release while the base turns by about a radian: their yaw is
        # chosen about joint 7's middle over the whole pull, so it stays in range at both ends
        at_grasp, at_release = np.arctan2(tab[:, 1], tab[:, 0]), np.arctan2(release[:, 1], release[:, 0])
        neutral = NEUTRAL_JAW_YAW + at_grasp + motion.wrap(at_release - at_grasp, 2 * np.pi) / 2
        along_hem = np.arctan2(axis[:, 1], axis[:, 0])  # the jaws close across the tab, along the hem
        return PickPlaceGoal(
            object_pos=tab,
            grasp_point=tab,  # the tab rises over the legs: fingertips 9 mm under its centre stay above the hem
            release_point=release,
            travel_z=hips[:, 2] + PULL_ABOVE_HIPS_M,
            pregrasp_width=np.full(len(tab), SHAPE.tab_width_m + PREGRASP_CLEARANCE_M),
            grasp_jaw=neutral + motion.wrap(along_hem - neutral, np.pi),
            approach_z=hips[:, 2] + APPROACH_ABOVE_HIPS_M,
        )
