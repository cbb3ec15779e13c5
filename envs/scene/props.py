"""Reusable scene pieces built from primitives: arenas, furniture, containers and the person in a chair or bed.

Each function adds to a ``SceneBuilder`` and returns the bodies a task needs to address.
Fixtures a task moves per episode are mocap bodies, so their pose is per-simulation state.
"""

from __future__ import annotations

import mujoco
import numpy as np

from embodia.envs.human import anthropometry
from embodia.envs.human import body as human_body
from embodia.envs.human.body import FURNITURE_CONAFFINITY, FURNITURE_CONTYPE, HumanBody
from embodia.envs.human.config import HumanConfig
from embodia.envs.scene.builder import GEOM, SceneBuilder

WALL_SOLREF = [0.005, 1.0]


def add_room(builder: SceneBuilder, floor: str = "tile") -> None:
    """Floor, lights and the shared materials."""
    if floor == "tile":
        builder.add_checker_material("floor", [0.55, 0.57, 0.6], [0.47, 0.49, 0.52], repeat=(10, 10), reflectance=0.08)
    else:
        builder.add_checker_material("floor", [0.62, 0.5, 0.38], [0.56, 0.45, 0.34], repeat=(6, 24), reflectance=0.05)
    builder.world.add_geom(name="floor", type=GEOM.mjGEOM_PLANE, size=[4, 4, 0.05], material="floor")
    builder.add_light(pos=(0.6, -1.2, 2.6), target=(0.5, 0.0, 0.7))
    builder.add_light(pos=(-0.6, 1.0, 2.4), target=(0.5, 0.0, 0.7), cast_shadow=False)
    for name, rgba in {
        "steel": (0.6, 0.62, 0.66, 1),
        "dark_steel": (0.25, 0.27, 0.3, 1),
        "bench": (0.72, 0.66, 0.55, 1),
        "plastic_grey": (0.42, 0.45, 0.5, 1),
        "tray_blue": (0.2, 0.35, 0.6, 1),
        "wood": (0.6, 0.45, 0.3, 1),
        "fabric": (0.35, 0.45, 0.55, 1),
        "skin": (0.87, 0.72, 0.62, 1),
        "cloth_top": (0.55, 0.62, 0.5, 1),
        "cloth_trousers": (0.3, 0.3, 0.38, 1),
        "hair": (0.85, 0.85, 0.85, 1),
    }.items():
        builder.add_material(name, rgba)


def add_table(builder: SceneBuilder, name: str, center_xy, top_z: float, half_xy, material: str, leg="dark_steel"):
    """A table whose top surface is at ``top_z``: a slab on four legs."""
    cx, cy = center_xy
    hx, hy = half_xy
    thickness = 0.02
    body = builder.world.add_body(name=name, pos=[cx, cy, 0.0])
    body.add_geom(
        name=f"{name}_top",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, top_z - thickness],
        size=[hx, hy, thickness],
        material=material,
    )
    for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        body.add_geom(
            name=f"{name}_leg{i}",
            type=GEOM.mjGEOM_BOX,
            pos=[sx * (hx - 0.04), sy * (hy - 0.04), (top_z - 2 * thickness) / 2],
            size=[0.02, 0.02, (top_z - 2 * thickness) / 2],
            material=leg,
        )
    return body


def add_open_box(
    builder: SceneBuilder,
    name: str,
    pos,
    inner_half_xy,
    wall_height: float,
    wall: float,
    material: str,
    mocap: bool = True,
) -> mujoco.MjsBody:
    """A floor plate with four walls (a bin or a tray pocket), as one (mocap) body.

    Hollow containers are composed from boxes: MuJoCo collides meshes as their convex hulls.
    """
    hx, hy = inner_half_xy
    body = builder.world.add_body(name=name, pos=list(pos), mocap=mocap)
    body.add_geom(
        name=f"{name}_floor",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, wall / 2],
        size=[hx + wall, hy + wall, wall / 2],
        material=material,
        solref=WALL_SOLREF,
    )
    z = wall + wall_height / 2
    for i, (px, py, sx, sy) in enumerate(
        (
            (hx + wall / 2, 0, wall / 2, hy + wall),
            (-hx - wall / 2, 0, wall / 2, hy + wall),
            (0, hy + wall / 2, hx, wall / 2),
            (0, -hy - wall / 2, hx, wall / 2),
        )
    ):
        body.add_geom(
            name=f"{name}_wall{i}",
            type=GEOM.mjGEOM_BOX,
            pos=[px, py, z],
            size=[sx, sy, wall_height / 2],
            material=material,
            solref=WALL_SOLREF,
        )
    return body


def _furniture_geom(body: mujoco.MjsBody, **kwargs) -> None:
    """Furniture touches the robot and objects but not the person (whose posture it only frames)."""
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


def add_person(builder: SceneBuilder, config: HumanConfig, name: str, pos, yaw: float) -> HumanBody:
    """The person in their furniture: a chair, a wheelchair or a bed (``config.posture``).

    ``pos`` is the furniture's place on the floor; the furniture is a mocap body named ``<name>_base`` (its pose
    per simulation state), the person's root is welded to it. Facing ``yaw`` (the person's +x).
    """
    base = builder.world.add_body(
        name=f"{name}_base", pos=list(pos), quat=[np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)], mocap=True
    )
    h = human_body.stature(config)
    lengths = anthropometry.segment_lengths_m(h)
    radii = anthropometry.segment_radii_m(config.sex, h)
    root_offset, _ = human_body.root_pose(config)
    popliteal = lengths["shank"] + 0.01
    if config.posture == "seated_chair":
        seat = popliteal - radii["thigh"] + 0.02
        add_chair(base, seat, prefix=f"{name}_chair")
        hip = [0.02, 0, seat + root_offset[2]]
    elif config.posture == "seated_wheelchair":
        seat = 0.47
        add_wheelchair(base, seat, seat + radii["thigh"] - popliteal + 0.02, prefix=f"{name}_wheelchair")
        hip = [0.02, 0, seat + root_offset[2]]
    else:
        mattress = 0.55
        add_bed(base, mattress, config.head_raise_rad, 0.0, prefix=f"{name}_bed")
        hip = [0.0, 0, mattress + root_offset[2]]
    return human_body.add_human(builder, config, name, base, hip)
