"""A wiping tool for bed bathing: a compliant sponge pad on a holder clamped between the Panda's jaws.

The holder is rigid on the hand (a tool clamped by a parallel gripper moves with the hand; modelling the clamp as a
weld keeps the tool from slipping when a policy opens the jaws, as a real tool changer would). The sponge is a
body on a slide joint along the tool axis with a spring: pressed against the skin it gives way by
``force / SPONGE_STIFFNESS_N_PER_M``, so a small position error of the arm becomes a small force change instead of
a stiff impact, which is what a real bathing sponge does. The slide's range stops the sponge on the holder when
pressed harder than ``SPONGE_TRAVEL_M * SPONGE_STIFFNESS_N_PER_M`` (15 N).

The tool is part of the robot's body tree, so the person's contact sensors against the robot (``robot/link0``
subtree) already measure the sponge's force; it must not be passed again as a separate tool.
"""

from __future__ import annotations

import mujoco

from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.contact_groups import FURNITURE_CONTYPE, PERSON_CONTYPE

SPONGE_STIFFNESS_N_PER_M = 500.0  # 4 N at 8 mm compression
SPONGE_DAMPING_N_S_PER_M = 5.0  # about critical for the sponge's mass and armature
SPONGE_TRAVEL_M = 0.03
SPONGE_HALF_SIZE_M = (0.025, 0.025, 0.01)  # a rounded pad 5 cm across, 2 cm thick
SPONGE_MASS_KG = 0.02
SPONGE_FRICTION = 0.3  # a wet sponge slides on skin
HOLDER_Z_M = 0.118  # below the fingertips (hand frame; the TCP is at 0.1034)
SPONGE_Z_M = HOLDER_Z_M + 0.004 + SPONGE_HALF_SIZE_M[2]  # sponge centre at rest, hand frame
#: the sponge's face (its contact side) below the TCP along the tool axis, at rest
FACE_BELOW_TCP_M = SPONGE_Z_M + SPONGE_HALF_SIZE_M[2] - 0.1034

#: the tool touches the person (contype 2) and the furniture (contype 4) but not the jaws it sits between
TOOL_CONAFFINITY = PERSON_CONTYPE | FURNITURE_CONTYPE

BODY = "wiping_tool"
SPONGE_BODY = "wiping_sponge"
SPONGE_JOINT = "wiping_sponge"
FACE_SITE = "wiping_face"


def add_wiping_tool(builder: SceneBuilder, hand_body: str = "robot/hand") -> None:
    """Clamp the tool in the gripper of the arm whose hand body is ``hand_body`` (call after mounting the arm)."""
    builder.add_material("sponge", (0.95, 0.78, 0.2, 1.0), specular=0.05, shininess=0.05)
    builder.add_material("tool_holder", (0.25, 0.45, 0.75, 1.0), specular=0.4, shininess=0.5)
    hand = builder.spec.body(hand_body)
    if hand is None:
        raise ValueError(f"no body {hand_body!r} to clamp the wiping tool to; mount the arm first")
    tool = hand.add_body(name=BODY, pos=[0, 0, 0])
    # the blade the jaws close on: visual only (the clamp is the weld above)
    tool.add_geom(
        name="wiping_blade",
        type=GEOM.mjGEOM_BOX,
        size=[0.012, 0.002, 0.012],
        pos=[0, 0, 0.102],
        contype=0,
        conaffinity=0,
        mass=0.01,
        material="tool_holder",
    )
    tool.add_geom(
        name="wiping_holder",
        type=GEOM.mjGEOM_BOX,
        size=[SPONGE_HALF_SIZE_M[0] + 0.003, SPONGE_HALF_SIZE_M[1] + 0.003, 0.004],
        pos=[0, 0, HOLDER_Z_M],
        contype=0,
        conaffinity=TOOL_CONAFFINITY,
        mass=0.03,
        material="tool_holder",
    )
    sponge = tool.add_body(name=SPONGE_BODY, pos=[0, 0, SPONGE_Z_M])
    sponge.add_joint(
        name=SPONGE_JOINT,
        type=mujoco.mjtJoint.mjJNT_SLIDE,
        axis=[0, 0, 1],  # the hand's z: out of the tool; pressing pushes it negative, gravity holds it on the stop
        range=[-SPONGE_TRAVEL_M, 0.0],
        stiffness=SPONGE_STIFFNESS_N_PER_M,
        damping=SPONGE_DAMPING_N_S_PER_M,
        armature=0.01,
    )
    sponge.add_geom(  # rounded, so that it rides over the step from forearm to upper arm instead of butting it
        name="wiping_sponge",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=list(SPONGE_HALF_SIZE_M),
        mass=SPONGE_MASS_KG,
        friction=[SPONGE_FRICTION, 0.005, 0.0001],
        condim=3,
        contype=0,
        conaffinity=TOOL_CONAFFINITY,
        material="sponge",
    )
    sponge.add_site(name=FACE_SITE, pos=[0, 0, SPONGE_HALF_SIZE_M[2]], size=[0.005, 0.005, 0.005], group=4)
