"""Scripted expert for DrawerFetch: close the jaws on the drawer knob's stem from above (jaw axis along the
drawer front, the fingers behind the knob's head), pull the drawer open along its axis, let go and rise; then
the shared pick-and-place machine takes the case out with a top grasp across its width and lays it across the
person's palm (the case's long side across the hand, so that it clears the wrist).

The drawer phases are this file's own; the pick-and-place machine is held at its first phase until they end,
then runs unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import PickAndPlace, PickPlaceGoal, PickPlaceTiming

HANDLE_APPROACH, HANDLE_DESCEND, HANDLE_GRIP, PULL, HANDLE_RELEASE, HANDLE_RISE, FETCH = range(7)
UP = np.array([0.0, 0.0, 1.0])
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (as in BinPicking's expert)
NEUTRAL_JAW_YAW = -0.785
HANDLE_GRASP_BELOW_M = 0.005  # TCP under the stem's axis: the pads (-9 to +19 mm about the TCP) centre on it
HANDLE_APPROACH_ABOVE_M = 0.14  # the jaws then clear the drawer front on the way to the case
HANDLE_OPEN_WIDTH_M = 0.045  # around the 16 mm stem; the least an open jaw can be set to is 40 mm
PULL_OVERSHOOT_M = 0.012
GRIP_STEPS = 8
RELEASE_STEPS = 8
CASE_GRASP_BELOW_TOP_M = 0.011
CASE_OPEN_WIDTH_M = 0.08
RELEASE_GAP_M = 0.018  # over the palm surface: the thumb and fingers stand 14-17 mm proud of it
TRAVEL_ABOVE_PALM_M = 0.16
MIN_TRAVEL_Z_M = 0.78  # over the cabinet top and the open drawer's handle


def neutral_yaw(desired: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Among ``desired`` + k pi (a parallel jaw is symmetric), the yaw that keeps joint 7 mid-range at ``xy``."""
    neutral = NEUTRAL_JAW_YAW + np.arctan2(xy[:, 1], xy[:, 0])
    return neutral + motion.wrap(desired - neutral, np.pi)


def planar_yaw(vector: np.ndarray) -> np.ndarray:
    return np.arctan2(vector[:, 1], vector[:, 0])


class CasePlacement(PickAndPlace):
    """The case out of the drawer and onto the palm."""

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        case, palm, normal = s["case_pos"], s["palm_pos"], s["palm_normal"]
        half_height = s["case_half_height_m"][:, None]
        n = len(case)
        release = palm + normal * (half_height + RELEASE_GAP_M)
        return PickPlaceGoal(
            object_pos=case,
            grasp_point=case + UP * (half_height - CASE_GRASP_BELOW_TOP_M),
            release_point=release,
            travel_z=np.maximum(palm[:, 2] + TRAVEL_ABOVE_PALM_M, MIN_TRAVEL_Z_M),
            pregrasp_width=np.full(n, CASE_OPEN_WIDTH_M),
            grasp_jaw=neutral_yaw(planar_yaw(s["case_long_axis"]) + np.pi / 2, case),
            place_jaw=neutral_yaw(planar_yaw(s["palm_along"]), release),
        )


@register_expert("embodia/DrawerFetch-v0")
class DrawerFetchExpert:
    """The batched policy protocol: drawer phases, then ``CasePlacement``."""

    def __init__(self, num_envs: int) -> None:
        self.phase = np.zeros(num_envs, dtype=np.int64)
        self.timer = np.zeros(num_envs, dtype=np.int64)
        self.jaw_goal = np.zeros(num_envs)
        self.fetch = CasePlacement(num_envs, PickPlaceTiming(approach_height_m=0.13))

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.phase[env_ids] = HANDLE_APPROACH
        self.timer[env_ids] = 0
        self.fetch.reset(env_ids, seed)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        tcp, xmat = s["tcp_pos"], s["tcp_xmat"]
        axis, opening = s["drawer_axis"], s["drawer_opening_m"]
        phase = self.phase
        grasp_point = s["handle_pos"] - UP * HANDLE_GRASP_BELOW_M
        remaining = (s["opening_goal_m"] + PULL_OVERSHOOT_M - opening)[:, None]
        rise_point = grasp_point + UP * HANDLE_APPROACH_ABOVE_M
        targets = np.select(
            [phase[:, None] == p for p in (HANDLE_APPROACH, HANDLE_DESCEND, PULL, HANDLE_RISE)],
            [rise_point, grasp_point, grasp_point + axis * remaining, rise_point],
            default=tcp,
        )
        jaw = motion.jaw_yaw(xmat)
        starting = (self.timer == 0) & (phase == HANDLE_APPROACH)
        # the jaw axis along the drawer front, across the knob's stem
        self.jaw_goal = np.where(starting, neutral_yaw(planar_yaw(axis) + np.pi / 2, s["handle_pos"]), self.jaw_goal)
        yaw_error = np.where(phase <= PULL, self.jaw_goal - jaw, 0.0)

        n = len(tcp)
        action = np.zeros((n, 7))
        speed = np.select([phase == HANDLE_DESCEND, phase == PULL], [0.4, 0.6], 1.0)
        action[:, :3] = motion.translate(tcp, targets, max_speed=speed[:, None])
        action[:, 3:6] = motion.point_down(xmat, yaw_error)
        action[:, 6] = motion.gripper_for_width(HANDLE_OPEN_WIDTH_M)
        action[np.isin(phase, (HANDLE_GRIP, PULL)), 6] = motion.GRIPPER_CLOSE

        fetching = phase == FETCH
        fetch_action = self.fetch.act(obs, info)
        action[fetching] = fetch_action[fetching]
        self.fetch.reset(np.flatnonzero(~fetching))  # held at its first phase until the drawer is open

        error = np.linalg.norm(targets - tcp, axis=1)
        self.timer += 1
        advance = (
            ((phase == HANDLE_APPROACH) & (error < 0.012) & (np.abs(yaw_error) < 0.05))
            | ((phase == HANDLE_DESCEND) & (error < 0.005))
            | ((phase == HANDLE_GRIP) & (self.timer >= GRIP_STEPS))
            | ((phase == PULL) & (opening >= s["opening_goal_m"]))
            | ((phase == HANDLE_RELEASE) & (self.timer >= RELEASE_STEPS))
            | ((phase == HANDLE_RISE) & (error < 0.02))
        )
        self.phase = np.where(advance, np.minimum(phase + 1, FETCH), phase)
        self.timer[advance] = 0
        return action
