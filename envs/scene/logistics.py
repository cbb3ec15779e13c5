"""Scene pieces for material-flow tasks: cartons, a pallet, an infeed roller table, a belt conveyor, sorting bins.

Each function adds to a ``SceneBuilder`` and returns what the task addresses. Everything is built from
primitives (boxes and cylinders), so every contact is a primitive pair that MuJoCo resolves exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from embodia.envs.scene import props
from embodia.envs.scene.builder import GEOM, SceneBuilder

#: Contact for fixtures parts rest on: stiffer than MuJoCo's default (0.02 s) so stacks do not sink.
FIXTURE_SOLREF = [0.005, 1.0]


def add_logistics_materials(builder: SceneBuilder) -> None:
    for name, rgba in {
        "cardboard": (0.74, 0.58, 0.4, 1),
        "cardboard_tape": (0.6, 0.45, 0.3, 1),
        "pallet_wood": (0.78, 0.66, 0.47, 1),
        "roller": (0.7, 0.72, 0.75, 1),
        "conveyor_frame": (0.2, 0.4, 0.3, 1),
    }.items():
        builder.add_material(name, rgba, specular=0.2, shininess=0.2)


def add_carton(builder: SceneBuilder, name: str, half_size: Sequence[float], pos: Sequence[float]) -> mujoco.MjsBody:
    """A closed carton on a free joint: one box geom (condim 4 resists spinning in the jaws) and a tape strip."""
    body = builder.add_free_body(name, pos=pos)
    hx, hy, hz = half_size
    body.add_geom(
        name=name,
        type=GEOM.mjGEOM_BOX,
        size=[hx, hy, hz],
        material="cardboard",
        mass=0.3,
        friction=[0.6, 0.01, 0.0001],
        condim=4,
    )
    body.add_geom(
        name=f"{name}_tape",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, hz],
        size=[hx, 0.2 * hy, 0.0005],
        material="cardboard_tape",
        contype=0,
        conaffinity=0,
        mass=0,
    )
    return body


def add_pallet(builder: SceneBuilder, name: str, pos: Sequence[float], half_xy: Sequence[float], height_m: float):
    """A small pallet (deck boards on three stringers) as a mocap body; its deck top is at ``pos.z + height_m``."""
    hx, hy = half_xy
    body = builder.world.add_body(name=name, pos=list(pos), mocap=True)
    deck = 0.006
    body.add_geom(
        name=f"{name}_deck",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, height_m - deck],
        size=[hx, hy, deck],
        material="pallet_wood",
        solref=FIXTURE_SOLREF,
        friction=[0.6, 0.01, 0.0001],
    )
    for i, y in enumerate((-hy + 0.012, 0.0, hy - 0.012)):
        body.add_geom(
            name=f"{name}_stringer{i}",
            type=GEOM.mjGEOM_BOX,
            pos=[0, y, (height_m - 2 * deck) / 2],
            size=[hx, 0.012, (height_m - 2 * deck) / 2],
            material="pallet_wood",
            solref=FIXTURE_SOLREF,
        )
    return body


def add_roller_table(
    builder: SceneBuilder, name: str, center_xy: Sequence[float], top_z: float, half_xy: Sequence[float], pitch_m=0.04
) -> mujoco.MjsBody:
    """A gravity roller table (an infeed) standing on a bench: a flat collision deck with idle rollers drawn on it.

    The rollers are visual only; the parts rest on the deck, so a queued part stays where it was put.
    """
    cx, cy = center_xy
    hx, hy = half_xy
    body = builder.world.add_body(name=name, pos=[cx, cy, 0.0])
    radius = 0.012
    body.add_geom(
        name=f"{name}_deck",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, top_z - 0.004],
        size=[hx, hy, 0.004],
        material="roller",
        rgba=[0, 0, 0, 0],
        solref=FIXTURE_SOLREF,
    )
    for side in (-1, 1):
        body.add_geom(
            name=f"{name}_rail{side + 1}",
            type=GEOM.mjGEOM_BOX,
            pos=[side * (hx + 0.012), 0, top_z - radius],
            size=[0.01, hy, 0.03],
            material="conveyor_frame",
            contype=0,
            conaffinity=0,
        )
    for i, y in enumerate(np.arange(-hy + pitch_m / 2, hy, pitch_m)):
        body.add_geom(
            name=f"{name}_roller{i}",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[0, float(y), top_z - radius],
            quat=[np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0],
            size=[radius, hx],
            material="roller",
            contype=0,
            conaffinity=0,
        )
    return body


def add_belt_conveyor(
    builder: SceneBuilder,
    name: str,
    center_x: float,
    y_range: tuple[float, float],
    top_z: float,
    half_width_m: float,
    wrap_period_m: float,
) -> tuple[str, str]:
    """A belt conveyor running along +y: a belt slab on a slide joint, driven by a velocity servo.

    Parts ride on the belt and are carried by friction (box-on-box contacts, full contact patches). The slab is
    ``wrap_period_m`` longer than the frame; the task shifts it back by that period whenever it has run that far,
    which parts resting on it cannot notice (the slab is uniform and its texture repeats with that period), so
    the belt runs for any time. Drums at both ends hide the overhang. Returns the joint and actuator names.
    """
    y0, y1 = y_range
    thickness = 0.006
    builder.add_checker_material(
        f"{name}_belt", [0.16, 0.17, 0.18], [0.2, 0.21, 0.22], repeat=(1, round((y1 - y0) / wrap_period_m) + 1)
    )
    frame = builder.world.add_body(name=name, pos=[center_x, 0.0, 0.0])
    drum_radius = 0.03
    for side in (-1, 1):
        frame.add_geom(
            name=f"{name}_rail{side + 1}",
            type=GEOM.mjGEOM_BOX,
            pos=[side * (half_width_m + 0.012), (y0 + y1) / 2, top_z - 0.02],
            size=[0.01, (y1 - y0) / 2, 0.03],
            material="conveyor_frame",
            contype=0,
            conaffinity=0,
        )
        for end, y in ((0, y0 + 0.03), (1, y1 - 0.03)):
            frame.add_geom(
                name=f"{name}_leg{side + 1}{end}",
                type=GEOM.mjGEOM_BOX,
                pos=[side * (half_width_m + 0.012), y, (top_z - 0.05) / 2],
                size=[0.015, 0.015, (top_z - 0.05) / 2],
                material="dark_steel",
                contype=0,
                conaffinity=0,
            )
    for end, y in ((0, y0), (1, y1)):
        frame.add_geom(
            name=f"{name}_drum{end}",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[0.0, y, top_z - drum_radius + 0.001],
            quat=[np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0],
            size=[drum_radius, half_width_m + 0.002],
            material="conveyor_frame",
            contype=0,
            conaffinity=0,
        )
    length = y1 - y0 + wrap_period_m
    belt = builder.world.add_body(name=f"{name}_belt", pos=[center_x, y1 - length / 2, top_z - thickness / 2])
    belt.add_joint(name=f"{name}_belt", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 1, 0])
    belt.add_geom(
        name=f"{name}_belt",
        type=GEOM.mjGEOM_BOX,
        size=[half_width_m, length / 2, thickness / 2],
        material=f"{name}_belt",
        mass=2.0,
        friction=[0.3, 0.005, 0.0001],
        solref=FIXTURE_SOLREF,
    )
    actuator = builder.spec.add_actuator(name=f"{name}_drive", target=f"{name}_belt")
    actuator.trntype = mujoco.mjtTrn.mjTRN_JOINT
    actuator.set_to_velocity(kv=200.0)
    return f"{name}_belt", f"{name}_drive"


def add_sorting_bin(
    builder: SceneBuilder,
    name: str,
    pos: Sequence[float],
    inner_half_xy: Sequence[float],
    wall_height_m: float,
    material: str,
) -> mujoco.MjsBody:
    """An open bin fixed in the world (the kitting bin's geometry, 6 mm walls, not a mocap body)."""
    return props.add_open_box(builder, name, pos, inner_half_xy, wall_height_m, 0.006, material, mocap=False)
