"""Tableware held by the arm (a spoon, a cup) and the particles they carry (food pieces, water).

The vessel is a tool fixed to the hand, its handle between the jaws: real feeding robots carry the utensil on
the flange or in a tool changer (Obi; Assistive Gym's feeding and drinking tasks weld the spoon and the cup to
the end effector), so nothing can slip and the gripper action does not move the tool. The vessel's floor,
walls and pouring lip are boxes (MuJoCo collides a mesh by its convex hull, which would fill the bowl).

Frames: in the hand frame the tool axis is +z (down when the arm points down); the handle runs along +x, the
vessel sits at its end with its open side towards -z (up) and pours over its +x wall.

Particles (``FOOD_CONTYPE``) touch the robot, the furniture, the floor, each other and the mouth cavity but not
the person's skin geoms: the face is one convex shell without an opening, so food and water pass the lips and
are caught by the cavity inside the head (``envs/tasks/care/mouth.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.contact_groups import FURNITURE_CONTYPE, PERSON_CONTYPE

FOOD_CONTYPE = 8
MOUTH_CONTYPE = 16
#: particles touch the default geoms (robot, floor), furniture, each other and the mouth cavity, not the person
FOOD_CONAFFINITY = 1 | FURNITURE_CONTYPE | FOOD_CONTYPE
assert FOOD_CONAFFINITY & PERSON_CONTYPE == 0
WALL_M = 0.003


@dataclass(frozen=True)
class Vessel:
    """A vessel on the hand, in the hand frame: the handle runs along +x from the hand's centre line, the open
    side is -z (up when the arm points down), and it pours over its +x wall (a spoon's tip, a cup's spout)."""

    name: str
    handle_length_m: float  # from the hand's centre line to the vessel's back wall
    inner_half_x_m: float  # along the handle
    inner_half_y_m: float
    wall_height_m: float
    lip_height_m: float  # the wall it pours over, lower than the others
    floor_z_m: float  # hand-frame depth of the floor's top face (the TCP is at 0.1034)
    spout_m: float = 0.0  # the side walls' last stretch before the lip at the lip's height (a spout channel)

    @property
    def center_x_m(self) -> float:
        return self.handle_length_m + WALL_M + self.inner_half_x_m

    def pour_point(self) -> np.ndarray:
        """The top of the wall it pours over, in the hand frame: what the expert holds at the lips."""
        return np.array([self.center_x_m + self.inner_half_x_m + WALL_M, 0.0, self.floor_z_m - self.lip_height_m])

    def interior(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) corners of the interior volume in the hand frame (a particle's centre counted inside),
        the pouring lip's top included."""
        low = np.array(
            [self.center_x_m - self.inner_half_x_m, -self.inner_half_y_m, self.floor_z_m - self.wall_height_m]
        )
        high = np.array([self.center_x_m + self.inner_half_x_m + WALL_M, self.inner_half_y_m, self.floor_z_m])
        return low, high


SPOON = Vessel("spoon", 0.13, 0.024, 0.018, 0.012, 0.0025, floor_z_m=0.095)
#: a spouted feeding cup (as given to people with a weak grip or swallowing difficulties): 25 mm walls, and on
#: the side towards the person a 12 mm lip with a 15 mm spout channel, so that it pours at a moderate tilt and
#: its tall corners stay clear of the face while it tips
CUP = Vessel("cup", 0.12, 0.027, 0.025, 0.025, 0.012, floor_z_m=0.095, spout_m=0.015)


def add_vessel(builder: SceneBuilder, hand_body: str, vessel: Vessel, material: str) -> None:
    """Fix ``vessel`` with its handle to ``hand_body`` (a robot body, so its contacts count as the robot's)."""
    hand = builder.spec.body(hand_body)

    def box(part: str, center, half) -> None:
        hand.add_geom(
            name=f"{vessel.name}_{part}", type=GEOM.mjGEOM_BOX, pos=center, size=half, material=material, mass=0.005
        )

    handle_half = (vessel.handle_length_m + 0.02) / 2
    cx, hx, hy, floor = vessel.center_x_m, vessel.inner_half_x_m, vessel.inner_half_y_m, vessel.floor_z_m
    high, lip = vessel.wall_height_m, vessel.lip_height_m
    box("handle", [vessel.handle_length_m - handle_half, 0, floor - 0.004], [handle_half, 0.006, 0.004])
    box("floor", [cx, 0, floor + WALL_M / 2], [hx + WALL_M, hy + WALL_M, WALL_M / 2])
    walls = (
        ("back", [cx - hx - WALL_M / 2, 0], [WALL_M / 2, hy + WALL_M], high),
        ("front", [cx + hx + WALL_M / 2, 0], [WALL_M / 2, hy + WALL_M], lip),
    )
    back_half = hx - vessel.spout_m / 2  # the tall stretch of a side wall, behind the spout
    for side, sign in (("left", 1), ("right", -1)):
        y = sign * (hy + WALL_M / 2)
        walls += ((side, [cx - vessel.spout_m / 2, y], [back_half, WALL_M / 2], high),)
        if vessel.spout_m > 0:
            spout = (f"{side}_spout", [cx + hx - vessel.spout_m / 2, y], [vessel.spout_m / 2, WALL_M / 2], lip)
            walls += (spout,)
    for side, (x, y), (sx, sy), height in walls:
        box(side, [x, y, floor - height / 2], [sx, sy, height / 2])


def add_particles(
    builder: SceneBuilder, prefix: str, count: int, radius_m: float, material: str, condim: int
) -> list[str]:
    """``count`` free spheres named ``<prefix><i>`` (placed per episode by the task); returns the body names."""
    names = []
    for i in range(count):
        body = builder.add_free_body(f"{prefix}{i}", pos=[0.0, 2.0 + 0.05 * i, radius_m])
        body.add_geom(
            name=f"{prefix}{i}",
            type=GEOM.mjGEOM_SPHERE,
            size=[radius_m, 0, 0],
            material=material,
            mass=0.001,
            contype=FOOD_CONTYPE,
            conaffinity=FOOD_CONAFFINITY,
            condim=condim,
            friction=[0.5, 0.005, 0.0001],
            priority=1,
        )
        names.append(f"{prefix}{i}")
    return names


def local_points(origin: np.ndarray, rotation: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, k, 3) world points expressed in the frames (origin (n, 3), rotation (n, 3, 3) with axes as columns)."""
    offset = points - origin[:, None, :]
    return (offset[:, :, :, None] * rotation[:, None, :, :]).sum(axis=2)


def world_points(origin: np.ndarray, rotation: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, k, 3) local points (k, 3) or (n, k, 3) of the frames, in world coordinates."""
    points = np.broadcast_to(points, (len(origin), *np.shape(points)[-2:]))
    return origin[:, None, :] + (rotation[:, None, :, :] * points[:, :, None, :]).sum(axis=3)


def inside_box(local: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(n, k) whether each local point lies within the axis-aligned box ``low``..``high``."""
    return ((local >= low) & (local <= high)).all(axis=2)
