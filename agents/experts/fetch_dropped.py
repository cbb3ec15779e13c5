"""Scripted expert for FetchDropped: off the over-bed table (the arm starts above it) and down to a lift point
low beside the bedside table, in to a top grasp across the remote's width on the floor (under the bedside table's
top where need be: the hand travels low), a low slide back to the lift point, then the shared pick-and-place
machine lifts the remote, carries it over the over-bed table's place spot, lays it down flat, lets go and
withdraws upwards.

The two waypoints and the slide are this file's own phases: the machine is held at its first phase until the
hand is at the lift point, and held in its lift phase while the slide runs; otherwise it runs unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert
from embodia.agents.experts.pick_place import LIFT, PickAndPlace, PickPlaceGoal

UP = np.array([0.0, 0.0, 1.0])
#: jaw yaw, relative to the base's heading to the TCP, with joint 7 mid-range (as in BinPicking's expert)
NEUTRAL_JAW_YAW = -0.785
GRASP_BELOW_TOP_M = 0.011  # the pads (-9 to +19 mm about the TCP) then stay 4 mm above the floor
OPEN_WIDTH_M = 0.08
RELEASE_GAP_M = 0.006
TRAVEL_ABOVE_TABLE_M = 0.09
SLIDE_HEIGHT_M = 0.06  # TCP height during the slide: the remote a few cm above the floor
#: where the remote is lifted: clear of the bedside table's top and the over-bed table's corner for any jaw yaw
#: (the Franka Hand spans 0.2 m along its jaw axis), within the arm's reach at floor height
LIFT_XY = np.array([0.36, -0.38])
SLIDE_TOLERANCE_M = 0.01
YAW_MARGIN_RAD = 0.3
#: first, the TCP moves at its home height to the robot's right, off the over-bed table it starts above, then down
#: to the lift point, so that the hand comes to the remote low, under the bedside table's top where need be
CLEAR_OF_TABLE_XY = np.array([0.3, -0.35])
STAGING_HEIGHT_M = 0.12
WAYPOINT_TOLERANCE_M = 0.03


def jaw_yaw_near_neutral(desired: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Among ``desired`` + k pi (a parallel jaw is symmetric), the yaw nearest joint 7's mid-range at ``xy``, kept
    ``YAW_MARGIN_RAD`` inside (-pi, pi): the shared machine steers by the unwrapped yaw difference, so a goal at the
    +-pi seam would send the wrist round a full turn. The other choice is at most pi/2 + the margin from mid-range,
    well inside joint 7's +-2.9 rad."""
    neutral = NEUTRAL_JAW_YAW + np.arctan2(xy[:, 1], xy[:, 0])
    yaw = motion.wrap(neutral + motion.wrap(desired - neutral, np.pi), 2 * np.pi)
    return np.where(np.abs(yaw) > np.pi - YAW_MARGIN_RAD, yaw - np.sign(yaw) * np.pi, yaw)


class RemotePlacement(PickAndPlace):
    """The remote off the floor and onto the over-bed table's place spot."""

    def goal(self, s: dict[str, np.ndarray]) -> PickPlaceGoal:
        remote, place = s["remote_pos"], s["place_pos"]
        half_height = s["remote_half_height_m"][:, None]
        long_axis = s["remote_long_axis"]
        return PickPlaceGoal(
            object_pos=remote,
            grasp_point=remote + UP * (half_height - GRASP_BELOW_TOP_M),
            release_point=place + UP * RELEASE_GAP_M,
            travel_z=s["top_pos"][:, 2] + TRAVEL_ABOVE_TABLE_M,
            pregrasp_width=np.full(len(remote), OPEN_WIDTH_M),
            grasp_jaw=jaw_yaw_near_neutral(np.arctan2(long_axis[:, 1], long_axis[:, 0]) + np.pi / 2, remote),
            place_jaw=jaw_yaw_near_neutral(np.zeros(len(remote)), place),  # the remote along the top's long side
        )


@register_expert("embodia/FetchDropped-v0")
class FetchDroppedExpert:
    """The batched policy protocol: off the over-bed table, then ``RemotePlacement`` with a slide out from under
    the bedside table."""

    def __init__(self, num_envs: int) -> None:
        self.place = RemotePlacement(num_envs)
        self.waypoint = np.zeros(num_envs, dtype=np.int64)  # 0: off the table, 1: down at the lift point, 2: done
        self.clear_z = np.zeros(num_envs)
        self.slid = np.zeros(num_envs, dtype=bool)

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.place.reset(env_ids, seed)
        self.waypoint[env_ids] = 0
        self.clear_z[env_ids] = np.nan  # latched at the first step: the TCP's starting height
        self.slid[env_ids] = False

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s = info["state"]
        tcp, xmat = s["tcp_pos"], s["tcp_xmat"]
        n = len(tcp)
        self.clear_z = np.where(np.isnan(self.clear_z), tcp[:, 2], self.clear_z)
        waypoint = np.where(
            (self.waypoint == 0)[:, None],
            np.column_stack([np.tile(CLEAR_OF_TABLE_XY, (n, 1)), self.clear_z]),
            np.column_stack([np.tile(LIFT_XY, (n, 1)), np.full(n, STAGING_HEIGHT_M)]),
        )
        arrived = np.linalg.norm(waypoint - tcp, axis=1) < WAYPOINT_TOLERANCE_M
        self.waypoint = np.where(arrived & (self.waypoint < 2), self.waypoint + 1, self.waypoint)
        action = self.place.act(obs, info)
        clearing = self.waypoint < 2
        self.place.reset(np.flatnonzero(clearing))  # held at its first phase until the hand is down and clear
        action[clearing, :3] = motion.translate(tcp, waypoint)[clearing]
        action[clearing, 3:6] = motion.point_down(xmat, np.zeros(n))[clearing]
        action[clearing, 6] = motion.gripper_for_width(OPEN_WIDTH_M)
        self.slid &= self.place.phase >= LIFT  # a lost grasp starts over, slide included
        sliding = (self.place.phase == LIFT) & ~self.slid
        target = np.column_stack([np.tile(LIFT_XY, (n, 1)), np.full(n, SLIDE_HEIGHT_M)])
        slide = motion.translate(tcp, target, max_speed=0.6)
        action[sliding, :3] = slide[sliding]
        hold_yaw = motion.wrap(self.place.jaw_goal - motion.jaw_yaw(xmat), 2 * np.pi)
        action[sliding, 3:6] = motion.point_down(xmat, hold_yaw)[sliding]
        action[sliding, 6] = motion.GRIPPER_CLOSE
        self.slid |= sliding & (np.linalg.norm(target - tcp, axis=1) < SLIDE_TOLERANCE_M)
        return action
