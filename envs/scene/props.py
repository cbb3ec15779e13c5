"""Reusable scene pieces built from primitives: arenas, furniture, containers and a seated person.

Each function adds to a ``SceneBuilder`` and returns the bodies a task needs to address.
Fixtures a task moves per episode are mocap bodies, so their pose is per-simulation state.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

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


def add_chair(builder: SceneBuilder, body: mujoco.MjsBody, seat_height: float) -> None:
    """A chair in ``body``'s frame, facing +x, seat centred at the origin."""
    body.add_geom(
        name="chair_seat",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, seat_height - 0.04],
        size=[0.23, 0.24, 0.04],
        material="fabric",
    )
    body.add_geom(
        name="chair_back",
        type=GEOM.mjGEOM_BOX,
        pos=[-0.25, 0, seat_height + 0.3],
        size=[0.03, 0.24, 0.32],
        material="fabric",
        euler=[0, -0.12, 0],
    )
    for i, (sx, sy) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
        body.add_geom(
            name=f"chair_leg{i}",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[0.2 * sx, 0.21 * sy, (seat_height - 0.08) / 2],
            size=[0.018, (seat_height - 0.08) / 2],
            material="wood",
        )


@dataclass(frozen=True)
class SeatedBody:
    """Segment sizes of a seated adult (Assistive Gym's 50th-percentile female capsules, domain-facts 1.5)."""

    seat_height: float = 0.45
    upper_arm_m: float = 0.264
    upper_arm_radius: float = 0.0355
    forearm_m: float = 0.234
    forearm_radius: float = 0.027
    thigh_m: float = 0.391
    thigh_radius: float = 0.07
    shin_m: float = 0.367
    shin_radius: float = 0.045
    shoulder_half_width: float = 0.159
    torso_height: float = 0.5
    hand_length: float = 0.1
    palm_half_width: float = 0.045


PERSON_ARM_JOINTS = ("shoulder_yaw", "shoulder_pitch", "elbow", "wrist")


def add_seated_person(builder: SceneBuilder, name: str, pos, yaw: float, body_sizes: SeatedBody | None = None):
    """A person seated on a chair, facing local +x, right hand held out palm up.

    The root is a mocap body (its pose set per episode). The right arm has four hinges
    (shoulder yaw and flexion, elbow flexion, wrist flexion) held by stiff position actuators with
    gravity compensation: a static posture that still yields a little when pushed.
    Returns the names of the palm site and the arm actuators.
    """
    b = body_sizes or SeatedBody()
    root = builder.world.add_body(name=name, pos=list(pos), quat=[np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)], mocap=True)
    add_chair(builder, root, b.seat_height)
    hip_z = b.seat_height + b.thigh_radius
    # legs: thighs forward along +x, shins down
    for side, y in (("right", -0.1), ("left", 0.1)):
        root.add_geom(
            name=f"{name}_{side}_thigh",
            type=GEOM.mjGEOM_CAPSULE,
            size=[b.thigh_radius, 0],
            fromto=[-0.05, y, hip_z, -0.05 + b.thigh_m, y, hip_z],
            material="cloth_trousers",
        )
        knee_x = -0.05 + b.thigh_m
        root.add_geom(
            name=f"{name}_{side}_shin",
            type=GEOM.mjGEOM_CAPSULE,
            size=[b.shin_radius, 0],
            fromto=[knee_x, y, hip_z, knee_x + 0.03, y, hip_z - b.shin_m],
            material="cloth_trousers",
        )
        root.add_geom(
            name=f"{name}_{side}_foot",
            type=GEOM.mjGEOM_BOX,
            size=[0.11, 0.045, 0.03],
            pos=[knee_x + 0.1, y, 0.03],
            material="dark_steel",
        )
    torso_bottom = hip_z - 0.02
    root.add_geom(
        name=f"{name}_pelvis",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.13, 0.07],
        fromto=[-0.08, -0.08, torso_bottom + 0.05, -0.08, 0.08, torso_bottom + 0.05],
        material="cloth_trousers",
    )
    shoulder_z = torso_bottom + b.torso_height
    root.add_geom(
        name=f"{name}_torso",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.13, 0],
        fromto=[-0.1, 0, torso_bottom + 0.1, -0.1, 0, shoulder_z - 0.1],
        material="cloth_top",
    )
    root.add_geom(
        name=f"{name}_shoulders",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.06, 0],
        fromto=[
            -0.1,
            -b.shoulder_half_width + 0.04,
            shoulder_z - 0.03,
            -0.1,
            b.shoulder_half_width - 0.04,
            shoulder_z - 0.03,
        ],
        material="cloth_top",
    )
    root.add_geom(
        name=f"{name}_neck",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.05, 0],
        fromto=[-0.1, 0, shoulder_z, -0.1, 0, shoulder_z + 0.1],
        material="skin",
    )
    root.add_geom(
        name=f"{name}_head",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.095, 0.08, 0.11],
        pos=[-0.09, 0, shoulder_z + 0.2],
        material="skin",
    )
    root.add_geom(
        name=f"{name}_hair",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.09, 0.082, 0.07],
        pos=[-0.11, 0, shoulder_z + 0.25],
        material="hair",
    )
    # left arm resting on the lap (static)
    root.add_geom(
        name=f"{name}_left_upper_arm",
        type=GEOM.mjGEOM_CAPSULE,
        size=[b.upper_arm_radius, 0],
        fromto=[
            -0.1,
            b.shoulder_half_width,
            shoulder_z - 0.03,
            -0.05,
            b.shoulder_half_width + 0.02,
            shoulder_z - 0.03 - b.upper_arm_m,
        ],
        material="cloth_top",
    )
    root.add_geom(
        name=f"{name}_left_forearm",
        type=GEOM.mjGEOM_CAPSULE,
        size=[b.forearm_radius, 0],
        fromto=[
            -0.05,
            b.shoulder_half_width + 0.02,
            shoulder_z - 0.03 - b.upper_arm_m,
            -0.05 + b.forearm_m,
            0.08,
            hip_z + b.thigh_radius + 0.03,
        ],
        material="skin",
    )
    # right arm: articulated, held out
    shoulder = root.add_body(
        name=f"{name}_right_shoulder", pos=[-0.1, -b.shoulder_half_width, shoulder_z - 0.03], gravcomp=1
    )
    shoulder.add_joint(name=f"{name}_shoulder_yaw", axis=[0, 0, 1], range=[-0.6, 0.6], damping=5, armature=0.05)
    shoulder.add_geom(
        name=f"{name}_right_shoulder",
        type=GEOM.mjGEOM_SPHERE,
        size=[b.upper_arm_radius + 0.01, 0, 0],
        material="cloth_top",
        density=1000,
    )
    upper = shoulder.add_body(name=f"{name}_right_upper_arm", gravcomp=1)
    upper.add_joint(name=f"{name}_shoulder_pitch", axis=[0, -1, 0], range=[-0.3, 1.6], damping=5, armature=0.05)
    upper.add_geom(
        name=f"{name}_right_upper_arm",
        type=GEOM.mjGEOM_CAPSULE,
        size=[b.upper_arm_radius, 0],
        fromto=[0, 0, 0, 0, 0, -b.upper_arm_m],
        material="cloth_top",
        density=1000,
    )
    fore = upper.add_body(name=f"{name}_right_forearm", pos=[0, 0, -b.upper_arm_m], gravcomp=1)
    fore.add_joint(name=f"{name}_elbow", axis=[0, -1, 0], range=[0, 2.3], damping=3, armature=0.02)
    fore.add_geom(
        name=f"{name}_right_forearm",
        type=GEOM.mjGEOM_CAPSULE,
        size=[b.forearm_radius, 0],
        fromto=[0, 0, 0, 0, 0, -b.forearm_m],
        material="skin",
        density=1000,
    )
    hand = fore.add_body(name=f"{name}_right_hand", pos=[0, 0, -b.forearm_m], gravcomp=1)
    hand.add_joint(name=f"{name}_wrist", axis=[0, -1, 0], range=[-1.2, 1.2], damping=2, armature=0.01)
    # palm: normal along local +x (up when the hand points forward); a shallow rim of fingers and thumb
    half_len = b.hand_length / 2
    hand.add_geom(
        name=f"{name}_palm",
        type=GEOM.mjGEOM_BOX,
        size=[0.012, b.palm_half_width, half_len],
        pos=[0, 0, -half_len - 0.01],
        material="skin",
        density=1000,
        friction=[1.0, 0.01, 0.0001],
    )
    hand.add_geom(
        name=f"{name}_fingers",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.011, 0],
        fromto=[
            0.018,
            -b.palm_half_width + 0.01,
            -2 * half_len - 0.01,
            0.018,
            b.palm_half_width - 0.01,
            -2 * half_len - 0.01,
        ],
        material="skin",
        density=1000,
    )
    hand.add_geom(
        name=f"{name}_thumb",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.01, 0],
        fromto=[0.016, b.palm_half_width + 0.004, -0.03, 0.016, b.palm_half_width + 0.004, -0.08],
        material="skin",
        density=1000,
    )
    hand.add_site(
        name=f"{name}_palm", pos=[0.012, 0, -half_len - 0.01], size=[0.01, 0.01, 0.01], type=GEOM.mjGEOM_SPHERE, group=4
    )
    gains = {"shoulder_yaw": 150.0, "shoulder_pitch": 250.0, "elbow": 150.0, "wrist": 60.0}
    for joint, kp in gains.items():
        actuator = builder.spec.add_actuator(
            name=f"{name}_{joint}", target=f"{name}_{joint}", trntype=mujoco.mjtTrn.mjTRN_JOINT
        )
        actuator.set_to_position(kp=kp, kv=0.1 * kp)
    return f"{name}_palm", [f"{name}_{j}" for j in PERSON_ARM_JOINTS]
