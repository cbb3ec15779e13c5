"""Point clouds from depth images: the observation point-cloud policies (PointNet-style encoders, DP3) train on.

Every pixel with depth is lifted to 3D with its camera's pinhole model, moved into the robot's base frame, kept
if it lies within ``WORKSPACE_RADIUS_M`` of the base (the arm's reach and a margin), and ``count`` of the kept
points, evenly spaced in pixel order over all cameras, make a fixed-size cloud. No random draw, so the same state
gives the same cloud (determinism, replay).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mujoco
import numpy as np

#: the Panda reaches 855 mm (Franka Emika datasheet); a margin for held objects and the base-to-shoulder offset
WORKSPACE_RADIUS_M = 1.1
#: depth at or beyond this is the far plane or sky, not a surface
MAX_DEPTH_M = 10.0


def camera_points(model: mujoco.MjModel, data: mujoco.MjData, camera: int, depth: np.ndarray) -> np.ndarray:
    """(H * W, 3) world positions of every pixel of ``depth`` (H, W), metres along the camera's axis."""
    height, width = depth.shape
    focal = 0.5 * height / np.tan(np.deg2rad(model.cam_fovy[camera]) / 2)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    # MuJoCo cameras look along -z with +y up; image rows run downwards
    local = np.stack([(cols - width / 2) / focal * depth, -(rows - height / 2) / focal * depth, -depth], axis=-1)
    rotation = data.cam_xmat[camera].reshape(3, 3)
    return local.reshape(-1, 3) @ rotation.T + data.cam_xpos[camera]


def to_frame(points: np.ndarray, origin: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """World points into the frame at ``origin`` with axes ``rotation`` (3, 3), columns the frame's axes."""
    return (points - origin) @ rotation


def evenly_spaced(total: int, count: int) -> np.ndarray:
    """``count`` indices spread evenly over ``total`` items (repeats when there are fewer)."""
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.floor(np.arange(count) * (total / count)).astype(np.int64)


def assemble(
    xyz: np.ndarray, rgb: np.ndarray, classes: np.ndarray, depth: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed-size cloud (xyz (count, 3) float32, rgb (count, 3) uint8, classes (count, 1) uint8) from every
    camera's pixels stacked (base-frame ``xyz``, ``rgb``, ``classes``, ``depth`` per pixel): the surfaces within
    the workspace, evenly spaced; all zeros (background) where nothing is in view."""
    keep = (depth < MAX_DEPTH_M) & (np.linalg.norm(xyz, axis=1) < WORKSPACE_RADIUS_M)
    index = np.nonzero(keep)[0][evenly_spaced(int(keep.sum()), count)]
    out_xyz = np.zeros((count, 3), dtype=np.float32)
    out_rgb = np.zeros((count, 3), dtype=np.uint8)
    out_class = np.zeros((count, 1), dtype=np.uint8)
    if len(index):
        out_xyz[:] = xyz[index]
        out_rgb[:] = rgb[index]
        out_class[:, 0] = classes[index]
    return out_xyz, out_rgb, out_class


def observe(
    renderer: Any, cameras: Sequence[str], base_body: int, segmentation: Any, target_body: int, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cloud of the state ``renderer`` last loaded (a ``SimRenderer``): every camera's depth, colour and
    classes (``segmentation``: ``SegmentationClasses``) in the frame of ``base_body``."""
    data, model = renderer.data, renderer.model
    xyz, rgb, classes, depths = [], [], [], []
    for camera in cameras:
        depth = renderer.render(camera, depth=True)
        world = camera_points(model, data, model.camera(camera).id, depth)
        xyz.append(to_frame(world, data.xpos[base_body], data.xmat[base_body].reshape(3, 3)))
        rgb.append(renderer.render(camera).reshape(-1, 3))
        classes.append(segmentation.image(renderer.object_ids(camera), target_body).ravel())
        depths.append(depth.ravel())
    return assemble(np.concatenate(xyz), np.concatenate(rgb), np.concatenate(classes), np.concatenate(depths), count)
