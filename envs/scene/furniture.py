"""Care furniture built from primitives: a chair, a wheelchair and a bed, each in a given body's frame.

Furniture geoms are in their own contact group (``contact_groups``): they touch the robot, objects and the
person, whose weight they carry.
"""

from __future__ import annotations

import mujoco
import numpy as np

from embodia.envs.scene.builder import GEOM
from embodia.envs.scene.contact_groups import FURNITURE_CONAFFINITY, FURNITURE_CONTYPE


def _furniture_geom(body: mujoco.MjsBody, **kwargs) -> None:
    """Furniture touches the robot, objects and the person (it carries the person's weight)."""
    body.add_geom(contype=FURNITURE_CONTYPE, conaffinity=FURNITURE_CONAFFINITY, **kwargs)


def add_chair(body: mujoco.MjsBody, seat_height: float, prefix: str = "chair") -> None:
    """A chair in ``body``'s frame, facing +x, seat centred at the origin."""
    _furniture_geom(
        body,
        name=f"{prefix}_seat",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, seat_height - 0.04],
        size=[0.23, 0.24, 0.04],
        material="fabric",
    )
    _furniture_geom(
        body,
        name=f"{prefix}_back",
        type=GEOM.mjGEOM_BOX,
        pos=[-0.27, 0, seat_height + 0.3],
        size=[0.03, 0.24, 0.32],
        material="fabric",
        euler=[0, -0.12, 0],
    )
    for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        _furniture_geom(
            body,
            name=f"{prefix}_leg{i}",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[0.2 * sx, 0.21 * sy, (seat_height - 0.08) / 2],
            size=[0.018, (seat_height - 0.08) / 2],
            material="wood",
        )


def add_wheelchair(body: mujoco.MjsBody, seat_height: float, footrest_height: float, prefix: str = "wheelchair"):
    """A wheelchair in ``body``'s frame, facing +x, seat centred at the origin, with footrests."""
    _furniture_geom(
        body,
        name=f"{prefix}_seat",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, seat_height - 0.03],
        size=[0.22, 0.23, 0.03],
        material="dark_steel",
    )
    _furniture_geom(
        body,
        name=f"{prefix}_back",
        type=GEOM.mjGEOM_BOX,
        pos=[-0.26, 0, seat_height + 0.25],
        size=[0.02, 0.23, 0.27],
        material="dark_steel",
        euler=[0, -0.12, 0],
    )
    for side in (1, -1):
        _furniture_geom(
            body,
            name=f"{prefix}_wheel{side:+d}",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[-0.1, side * 0.3, 0.3],
            size=[0.3, 0.015],
            euler=[np.pi / 2, 0, 0],
            material="steel",
        )
        _furniture_geom(
            body,
            name=f"{prefix}_armrest{side:+d}",
            type=GEOM.mjGEOM_BOX,
            pos=[-0.05, side * 0.27, seat_height + 0.2],
            size=[0.18, 0.025, 0.015],
            material="dark_steel",
        )
    _furniture_geom(
        body,
        name=f"{prefix}_footrest",
        type=GEOM.mjGEOM_BOX,
        pos=[0.42, 0, footrest_height - 0.01],
        size=[0.1, 0.18, 0.01],
        material="dark_steel",
    )


def add_bed(body: mujoco.MjsBody, mattress_top: float, head_raise_rad: float, hip_x: float, prefix: str = "bed"):
    """A bed in ``body``'s frame, its length along x; the backrest section (x < ``hip_x``) raised by an angle."""
    length_foot = 1.0
    _furniture_geom(
        body,
        name=f"{prefix}_frame",
        type=GEOM.mjGEOM_BOX,
        pos=[hip_x - 0.1, 0, mattress_top / 2 - 0.08],
        size=[1.0, 0.46, mattress_top / 2 - 0.08],
        material="steel",
    )
    _furniture_geom(
        body,
        name=f"{prefix}_mattress",
        type=GEOM.mjGEOM_BOX,
        pos=[hip_x + length_foot / 2 - 0.1, 0, mattress_top - 0.08],
        size=[length_foot / 2, 0.45, 0.08],
        material="fabric",
    )
    back_half = 0.45
    cos, sin = np.cos(head_raise_rad), np.sin(head_raise_rad)
    back_x = hip_x - 0.1 - back_half * cos + 0.08 * sin
    back_z = mattress_top - 0.08 + back_half * sin - 0.08 * (1 - cos)
    _furniture_geom(
        body,
        name=f"{prefix}_backrest",
        type=GEOM.mjGEOM_BOX,
        pos=[back_x, 0, back_z],
        size=[back_half, 0.45, 0.08],
        euler=[0, head_raise_rad, 0],
        material="fabric",
    )
