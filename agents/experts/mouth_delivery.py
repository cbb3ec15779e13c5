"""The scripted expert Feeding and Drinking share: carry the vessel level to the lips, tip it, right it, withdraw.

It steers the vessel's pour point (the spoon's tip, the cup's rim) and reads the mouth's pose from
``info["state"]`` every step, so it follows the moving, trembling head. Near the face it moves slowly and stops
``lip_gap_m`` in front of the mouth: the vessel never has to touch the face, the food or water falls over the
lip into the mouth. Orientation: the vessel faces the person (its handle along the horizontal direction from
the arm to the face) and is tipped about its lateral axis by the phase's pour angle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embodia.agents.experts import motion

ORIENT, APPROACH, NEAR, POUR, RIGHT, WITHDRAW = range(6)
PHASE_NAMES = ("orient", "approach", "near", "pour", "right", "withdraw")
UP = np.array([0.0, 0.0, 1.0])
HANDLE_WIDTH_M = 0.012


@dataclass(frozen=True)
class DeliveryTiming:
    pour_angle_rad: float
    tilt_rate_rad: float = 0.03  # per control step
    lip_gap_m: float = 0.02  # pour point in front of the mouth site
    lip_height_m: float = 0.0  # pour point above the mouth site
    right_gap_m: float = 0.06
    standoff_m: float = 0.12  # where the slow final approach starts
    withdraw_m: float = 0.22
    min_pour_steps: int = 10
    max_pour_steps: int = 60
    near_speed: float = 0.25  # of the controller's 0.025 m per step
    travel_speed: float = 0.6
    turn_limit: float = 0.25  # of the controller's 0.12 rad per step, after the first turn


def rotation_vector(rotation: np.ndarray) -> np.ndarray:
    """(n, 3) axis * angle of rotation matrices (n, 3, 3) with angles below pi."""
    trace = rotation[:, 0, 0] + rotation[:, 1, 1] + rotation[:, 2, 2]
    angle = np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0))
    skew = np.stack(
        [
            rotation[:, 2, 1] - rotation[:, 1, 2],
            rotation[:, 0, 2] - rotation[:, 2, 0],
            rotation[:, 1, 0] - rotation[:, 0, 1],
        ],
        axis=1,
    )
    scale = np.where(angle > 1e-6, angle / np.maximum(2.0 * np.sin(angle), 1e-9), 0.5)
    return skew * scale[:, None]


def vessel_frame(towards: np.ndarray, tilt_rad: np.ndarray) -> np.ndarray:
    """(n, 3, 3) hand orientations: the hand's x axis (over the vessel's pouring lip, ``tableware.Vessel``)
    facing ``towards`` (horizontal unit), the open side up, tipped over the lip by ``tilt_rad``."""
    cos, sin = np.cos(tilt_rad)[:, None], np.sin(tilt_rad)[:, None]
    x_axis = cos * towards - sin * UP
    z_axis = -cos * UP - sin * towards
    return np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=2)


class MouthDeliveryExpert:
    """The batched policy protocol (``reset``, ``act``); subclasses set ``timing``."""

    timing: DeliveryTiming

    def __init__(self, num_envs: int) -> None:
        self.phase = np.zeros(num_envs, dtype=np.int64)
        self.timer = np.zeros(num_envs, dtype=np.int64)
        self.tilt_command = np.zeros(num_envs)

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.phase[env_ids] = ORIENT
        self.timer[env_ids] = 0
        self.tilt_command[env_ids] = 0.0

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        s, t = info["state"], self.timing
        tcp, xmat = s["tcp_pos"], s["tcp_xmat"]
        mouth, forward, pour_point = s["mouth_pos"], s["mouth_forward"], s["pour_point"]
        phase = self.phase
        n = len(tcp)
        out = forward * np.array([1.0, 1.0, 0.0])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)  # horizontal, out of the face
        at_lips = mouth + out * t.lip_gap_m + UP * t.lip_height_m
        targets = np.select(
            [phase[:, None] == p for p in (ORIENT, APPROACH, RIGHT, WITHDRAW)],
            [
                mouth + out * t.standoff_m,
                mouth + out * t.standoff_m,
                mouth + out * t.right_gap_m + UP * t.lip_height_m,  # back off from the lips while righting
                mouth + out * t.withdraw_m + UP * 0.05,
            ],
            default=at_lips,
        )
        pouring = phase == POUR
        self.tilt_command = np.where(
            pouring,
            np.minimum(self.tilt_command + t.tilt_rate_rad, t.pour_angle_rad),
            np.where(phase == RIGHT, np.maximum(self.tilt_command - t.tilt_rate_rad, 0.0), self.tilt_command),
        )
        goal = vessel_frame(-out, self.tilt_command)
        error_rotation = (goal[:, :, None, :] * xmat[:, None, :, :]).sum(axis=3)  # goal @ current^T
        rotation = rotation_vector(error_rotation)
        # feed-forward: where the TCP goes so that the pour point lands on its target once the hand has turned
        offset_local = ((pour_point - tcp)[:, :, None] * xmat).sum(axis=1)
        tcp_target = targets - (goal * offset_local[:, None, :]).sum(axis=2)
        speed = np.select(
            [phase <= APPROACH, phase == NEAR, phase == WITHDRAW], [t.travel_speed, t.near_speed, 0.5], default=1.0
        )
        action = np.zeros((n, 7))
        action[:, :3] = motion.translate(tcp, tcp_target, max_speed=speed[:, None])
        # turning gently once near the face: a fast yaw after a head turn would fling the food off the spoon
        turn_limit = np.where((phase == ORIENT) | (phase == WITHDRAW), 0.5, t.turn_limit)[:, None]
        action[:, 3:6] = np.clip(rotation / motion.ROTATION_SCALE_RAD, -turn_limit, turn_limit)
        action[:, 6] = motion.gripper_for_width(HANDLE_WIDTH_M)

        position_error = np.linalg.norm(targets - pour_point, axis=1)
        rotation_error = np.linalg.norm(rotation, axis=1)
        delivered = s["in_mouth_share"] >= s["required_share"]
        self.timer += 1
        advance = (
            ((phase == ORIENT) & (rotation_error < 0.3))
            | ((phase == APPROACH) & (position_error < 0.015))
            | ((phase == NEAR) & (position_error < 0.005) & (rotation_error < 0.05))
            | (pouring & (((self.timer >= t.min_pour_steps) & delivered) | (self.timer >= t.max_pour_steps)))
            | ((phase == RIGHT) & (self.tilt_command <= 0.0) & (rotation_error < 0.1))
        )
        self.phase = np.where(advance, np.minimum(phase + 1, WITHDRAW), phase)
        self.timer[advance] = 0
        return action
