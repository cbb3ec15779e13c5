"""Motion primitives the scripted experts share: TCP moves, top-down orientation and jaw width, as ee_delta actions.

They read only named state (``info["state"]``) and return actions in the env's ``ee_delta`` layout, so an expert
acts exactly as any learnt policy would, never by moving objects.
"""

from __future__ import annotations

import numpy as np

from embodia.envs.control.controllers import EndEffectorDelta
from embodia.envs.scene import panda
from embodia.envs.scene.angles import wrap

POSITION_SCALE_M = EndEffectorDelta.position_scale_m
ROTATION_SCALE_RAD = EndEffectorDelta.rotation_scale_rad
DOWN = np.array([0.0, 0.0, -1.0])


#: the jaw's yaw relative to the TCP's bearing from the arm's base with joint 7 mid-range (q7 = 0; joint 7 turns
#: the jaw the other way, +-166 degrees, and the home pose has q7 = -45 degrees)
MID_RANGE_JAW_YAW = -np.pi / 2


def joint7_yaw_error(goal: np.ndarray, jaw: np.ndarray, tcp_pos: np.ndarray) -> np.ndarray:
    """The jaw's turn to ``goal`` (n,) the way joint 7 can go: measured from its mid-range, so a turn never
    crosses its limits by taking the short way round through them."""
    mid = MID_RANGE_JAW_YAW + np.arctan2(tcp_pos[:, 1], tcp_pos[:, 0])
    return wrap(goal - mid, 2 * np.pi) - wrap(jaw - mid, 2 * np.pi)


def jaw_yaw(tcp_xmat: np.ndarray) -> np.ndarray:
    """Angle in the world xy plane of the jaw axis (the hand's y axis), (n,)."""
    jaw_axis = tcp_xmat[:, :, 1]
    return np.arctan2(jaw_axis[:, 1], jaw_axis[:, 0])


def translate(tcp_pos: np.ndarray, target: np.ndarray, gain: float = 1.5, max_speed: float = 1.0) -> np.ndarray:
    """Proportional TCP translation towards ``target``, (n, 3) in [-1, 1]."""
    command = gain * (target - tcp_pos) / POSITION_SCALE_M
    norm = np.linalg.norm(command, axis=1, keepdims=True)
    return command * np.minimum(1.0, max_speed / np.maximum(norm, 1e-9))


def point_down(tcp_xmat: np.ndarray, yaw_error: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Rotation keeping the tool pointing down while turning the jaw by ``yaw_error`` about world z, (n, 3)."""
    tool_axis = tcp_xmat[:, :, 2]
    tilt = np.cross(tool_axis, DOWN)
    rotation = tilt + np.column_stack([np.zeros((len(yaw_error), 2)), yaw_error])
    return np.clip(gain * rotation / ROTATION_SCALE_RAD, -1.0, 1.0)


def gripper_for_width(width_m: np.ndarray | float) -> np.ndarray:
    """Gripper action that opens the jaws to ``width_m``."""
    return np.clip(2.0 * np.asarray(width_m) / panda.GRIPPER_MAX_WIDTH_M - 1.0, -1.0, 1.0)


GRIPPER_CLOSE = -1.0
GRIPPER_OPEN = 1.0
