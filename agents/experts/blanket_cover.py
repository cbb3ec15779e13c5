"""Scripted expert for BlanketCover: a top grasp across the hem, off-centre on the robot's side, a pull along
the bed at a height that keeps the jaws and the hem clear of the legs, the hem laid on the belly, release and
withdraw upwards."""

from __future__ import annotations

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import PickAndPlace, PickPlaceGoal

#: where along the hem the jaws take it, from its middle towards the robot's side of the bed: beside the right leg, over
#: the mattress, so the fingers never reach down onto the leg
GRASP_FROM_MIDDLE_M = 0.22
PULL_ABOVE_HIPS_M = 0.25  # the cloth hangs under the hem, clear of the thighs and the feet
RELEASE_ABOVE_HIPS_M = 0.14  # the hem then drops a few cm onto the belly
HEM_WIDTH_M = 0.04
HEM_HALF_LENGTH_M = 0.3
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (as the other experts)
NEUTRAL_JAW_YAW = -0.785


@register_expert("embodia/BlanketCover-v0")
class BlanketCoverExpert(PickAndPlace):
    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        hem, axis, tcp = s["hem_pos"], s["hem_axis"], s["tcp_pos"]
        towards_robot = -np.sign(axis[:, 1:2] + 1e-12)  # the robot stands on the bed's -y side
        grasp = hem + towards_robot * axis * GRASP_FROM_MIDDLE_M
        # the held point: the hem's axis point nearest the TCP, so that the hem turning a little in the jaws under
        # the cloth's drag is not taken for a lost grasp
        along = np.clip(((tcp - hem) * axis).sum(axis=1, keepdims=True), -HEM_HALF_LENGTH_M, HEM_HALF_LENGTH_M)
        held = hem + along * axis
        hips = s["hips_pos"]
        release = s["hem_goal"] + towards_robot * np.array([0.0, GRASP_FROM_MIDDLE_M, 0.0])  # the goal's axis is y
        release[:, 2] = hips[:, 2] + RELEASE_ABOVE_HIPS_M
        neutral = NEUTRAL_JAW_YAW + np.arctan2(tcp[:, 1], tcp[:, 0])
        across_hem = np.arctan2(axis[:, 1], axis[:, 0]) + np.pi / 2
        return PickPlaceGoal(
            object_pos=held,
            grasp_point=grasp,
            release_point=release,
            travel_z=hips[:, 2] + PULL_ABOVE_HIPS_M,
            pregrasp_width=np.full(len(hem), HEM_WIDTH_M + 0.03),
            grasp_jaw=neutral + motion.wrap(across_hem - neutral, np.pi),
        )
