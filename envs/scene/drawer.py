"""A bedside cabinet with an articulated top drawer: carcass, drawer on a slide joint, and a mushroom knob.

Everything is in the cabinet's frame: the drawer pulls out along the cabinet's +x. The handle is a long-stemmed
knob (stem along x, a wider head at its end): a parallel jaw closes on the stem from above with its jaw axis
along the drawer front, so the Franka Hand's 190 mm wide palm stays in front of the cabinet, and the fingers
hook behind the head when they pull (the stem is long because the arm's wrist, a 45 mm radius link over the
jaws, must stay clear of the cabinet top). The cabinet is a mocap body, so its pose is per-simulation state; the
drawer is its child, so the two never collide (MuJoCo filters parent-child contacts) and the drawer runs on its
joint alone, with friction loss and damping that a task randomizes per simulation (``dof_frictionloss``,
``dof_damping``).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from embodia.envs.scene.builder import GEOM, SceneBuilder

CABINET_HALF_DEPTH_M = 0.2  # along x (the pull direction)
CABINET_HALF_WIDTH_M = 0.22
CABINET_HEIGHT_M = 0.62  # the top's surface; bedside cabinets are about as tall as a bed's mattress top
PANEL_M = 0.01  # half thickness of the carcass panels
DRAWER_FLOOR_Z_M = 0.462  # the drawer's inner floor surface, closed; 2 mm over the shelf so only the joint holds it
DRAWER_INNER_HALF_DEPTH_M = 0.16
DRAWER_INNER_HALF_WIDTH_M = 0.18
DRAWER_WALL_HEIGHT_M = 0.08
DRAWER_WALL_M = 0.005  # half thickness
DRAWER_CLOSED_X_M = 0.02  # the drawer body's x in the cabinet when closed: its front panel flush with the carcass
DRAWER_TRAVEL_M = 0.3  # the runner's stop
KNOB_Z_M = 0.06  # the knob's axis above the drawer floor
KNOB_STEM_RADIUS_M = 0.008
KNOB_STEM_LENGTH_M = 0.07  # the arm's wrist (a 45 mm radius link over the jaws) must clear the cabinet top
KNOB_HEAD_RADIUS_M = 0.022
KNOB_HEAD_HALF_THICKNESS_M = 0.006
KNOB_GRASP_M = 0.055  # where on the stem the jaws close (from the drawer front's face)


@dataclass(frozen=True)
class CabinetNames:
    """Names a task binds after compile."""

    cabinet: str  # the mocap body
    drawer: str  # the drawer body (its joint has the same name)
    handle_site: str  # the knob's grasp point on its stem
    drawer_floor_site: str  # the drawer's inner floor centre


def add_bedside_cabinet(builder: SceneBuilder, name: str, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> CabinetNames:
    """Add the cabinet at ``pos`` (its footprint centre on the floor) and return the names to bind."""
    builder.add_material(f"{name}_body", (0.78, 0.72, 0.62, 1.0))
    builder.add_material(f"{name}_front", (0.66, 0.52, 0.36, 1.0))
    builder.add_material(f"{name}_handle", (0.7, 0.72, 0.75, 1.0), specular=0.8, shininess=0.8)
    cabinet = builder.world.add_body(name=name, pos=list(pos), quat=list(quat), mocap=True)
    hx, hy, top, p = CABINET_HALF_DEPTH_M, CABINET_HALF_WIDTH_M, CABINET_HEIGHT_M, PANEL_M
    shelf_z = DRAWER_FLOOR_Z_M - 0.012 - p
    panels = {
        "top": ([0, 0, top - p], [hx, hy, p]),
        "bottom": ([0, 0, 0.04], [hx - p, hy - 2 * p, 0.04]),
        "side_left": ([0, hy - p, (top - p) / 2], [hx, p, (top - p) / 2]),
        "side_right": ([0, -hy + p, (top - p) / 2], [hx, p, (top - p) / 2]),
        "back": ([-hx + p, 0, (top - p) / 2], [p, hy - 2 * p, (top - p) / 2]),
        "shelf": ([0, 0, shelf_z], [hx - 2 * p, hy - 2 * p, p]),
        "front_lower": ([hx - p, 0, (shelf_z + p + 0.08) / 2], [p, hy - 2 * p, (shelf_z + p - 0.08) / 2]),
    }
    for part, (centre, half) in panels.items():
        cabinet.add_geom(name=f"{name}_{part}", type=GEOM.mjGEOM_BOX, pos=centre, size=half, material=f"{name}_body")

    drawer = cabinet.add_body(name=f"{name}_drawer", pos=[DRAWER_CLOSED_X_M, 0, DRAWER_FLOOR_Z_M])
    drawer.add_joint(
        name=f"{name}_drawer",
        type=mujoco.mjtJoint.mjJNT_SLIDE,
        axis=[1, 0, 0],
        range=[0.0, DRAWER_TRAVEL_M],
        limited=mujoco.mjtLimited.mjLIMITED_TRUE,
        frictionloss=4.0,
        damping=10.0,
        armature=0.05,
    )
    dx, dy, wall, height = DRAWER_INNER_HALF_DEPTH_M, DRAWER_INNER_HALF_WIDTH_M, DRAWER_WALL_M, DRAWER_WALL_HEIGHT_M
    front_half_height = 0.07
    drawer_parts = {
        "floor": ([0, 0, -wall], [dx + 2 * wall, dy + 2 * wall, wall]),
        "wall_back": ([-dx - wall, 0, height / 2], [wall, dy + 2 * wall, height / 2]),
        "wall_left": ([0, dy + wall, height / 2], [dx, wall, height / 2]),
        "wall_right": ([0, -dy - wall, height / 2], [dx, wall, height / 2]),
        "front": ([dx + p, 0, front_half_height - 0.01], [p, hy - p, front_half_height]),
    }
    for part, (centre, half) in drawer_parts.items():
        material = f"{name}_front" if part == "front" else f"{name}_body"
        drawer.add_geom(
            name=f"{name}_drawer_{part}", type=GEOM.mjGEOM_BOX, pos=centre, size=half, material=material, mass=0.3
        )
    face_x = dx + 2 * p
    drawer.add_geom(
        name=f"{name}_knob_stem",
        type=GEOM.mjGEOM_CYLINDER,
        fromto=[face_x - 0.002, 0, KNOB_Z_M, face_x + KNOB_STEM_LENGTH_M, 0, KNOB_Z_M],
        size=[KNOB_STEM_RADIUS_M, 0, 0],
        material=f"{name}_handle",
        friction=[1.0, 0.01, 0.0001],
        condim=4,
        mass=0.02,
    )
    drawer.add_geom(
        name=f"{name}_knob_head",
        type=GEOM.mjGEOM_CYLINDER,
        fromto=[
            face_x + KNOB_STEM_LENGTH_M,
            0,
            KNOB_Z_M,
            face_x + KNOB_STEM_LENGTH_M + 2 * KNOB_HEAD_HALF_THICKNESS_M,
            0,
            KNOB_Z_M,
        ],
        size=[KNOB_HEAD_RADIUS_M, 0, 0],
        material=f"{name}_handle",
        mass=0.02,
    )
    drawer.add_site(name=f"{name}_handle", pos=[face_x + KNOB_GRASP_M, 0, KNOB_Z_M], size=[0.006, 0, 0], group=4)
    drawer.add_site(name=f"{name}_drawer_floor", pos=[0, 0, 0], size=[0.008, 0, 0], group=4)
    return CabinetNames(name, f"{name}_drawer", f"{name}_handle", f"{name}_drawer_floor")
