"""Reusable scene pieces built from primitives: the room, tables and open containers (furniture: ``furniture``).

Each function adds to a ``SceneBuilder`` and returns the bodies a task needs to address.
Fixtures a task moves per episode are mocap bodies, so their pose is per-simulation state.
"""

from __future__ import annotations

import mujoco

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
    add_shared_materials(builder)


def add_shared_materials(builder: SceneBuilder) -> None:
    """The plain materials every scene's pieces name (no textures: a model that needs only geometry stays small)."""
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
