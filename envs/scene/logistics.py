"""Scene pieces for material-flow tasks: cartons, a pallet, an infeed roller table and a powered roller conveyor.

Each function adds to a ``SceneBuilder`` and returns what the task addresses. Everything is built from
primitives (boxes and cylinders), so every contact is a primitive pair that MuJoCo resolves exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from embodia.envs.scene.builder import GEOM, SceneBuilder

#: Contact for fixtures parts rest on: stiffer than MuJoCo's default (0.02 s) so stacks do not sink.
FIXTURE_SOLREF = [0.005, 1.0]
ROLLER_Y_AXIS = [np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0]  # quaternion turning a cylinder's z onto y


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


def add_powered_roller_conveyor(
    builder: SceneBuilder,
    name: str,
    center_x: float,
    y_range: tuple[float, float],
    top_z: float,
    half_width_m: float,
    roller_radius_m: float,
    pitch_m: float,
    roller_friction: float,
) -> list[str]:
    """A powered roller conveyor running along +y: rollers on hinge joints about x, one velocity servo each.

    Parts ride on the rollers and are carried by real friction; the rollers spin in place, so the conveyor runs
    for any time without moving bodies running out of their frame (a sliding belt slab would) and without
    teleporting anything. Returns the actuator names (the task writes the roller speed, rad/s, to their ctrl).
    """
    y0, y1 = y_range
    frame = builder.world.add_body(name=name, pos=[center_x, 0.0, 0.0])
    axle_z = top_z - roller_radius_m
    for side in (-1, 1):
        frame.add_geom(
            name=f"{name}_rail{side + 1}",
            type=GEOM.mjGEOM_BOX,
            pos=[side * (half_width_m + 0.01), (y0 + y1) / 2, axle_z + 0.004],
            size=[0.008, (y1 - y0) / 2, roller_radius_m + 0.012],
            material="conveyor_frame",
            solref=FIXTURE_SOLREF,
        )
        for end, y in ((0, y0), (1, y1)):
            frame.add_geom(
                name=f"{name}_leg{side + 1}{end}",
                type=GEOM.mjGEOM_BOX,
                pos=[side * (half_width_m + 0.01), y, axle_z / 2],
                size=[0.015, 0.015, axle_z / 2],
                material="dark_steel",
                contype=0,
                conaffinity=0,
            )
    actuators = []
    for i, y in enumerate(np.arange(y0 + pitch_m / 2, y1, pitch_m)):
        roller = frame.add_body(name=f"{name}_roller{i}", pos=[0.0, float(y), axle_z])
        roller.add_joint(name=f"{name}_roller{i}", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[1, 0, 0], armature=0.01)
        roller.add_geom(
            name=f"{name}_roller{i}",
            type=GEOM.mjGEOM_CYLINDER,
            quat=[np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0],
            size=[roller_radius_m, half_width_m],
            material="roller",
            mass=0.3,
            friction=[roller_friction, 0.01, 0.0001],
            solref=FIXTURE_SOLREF,
        )
        actuator = builder.spec.add_actuator(name=f"{name}_drive{i}", target=f"{name}_roller{i}")
        actuator.trntype = mujoco.mjtTrn.mjTRN_JOINT
        actuator.set_to_velocity(kv=5.0)
        actuators.append(f"{name}_drive{i}")
    return actuators
