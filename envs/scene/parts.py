"""Assembly parts from primitives: bored blocks (holes), rings (nuts, gear hubs), chamfers.

MuJoCo collides a mesh as its convex hull, so a hole built from a mesh would be filled in. Every hollow part here
is instead a ring of boxes on one body (geoms of one body never collide with each other): ``segments`` boxes
whose inner faces form a regular polygon with inscribed radius ``bore_radius_m``. The clearance to a round part
is then exact at the middle of each face and slightly larger at the polygon's corners (by a factor
``1 / cos(pi / segments)``). Box-box and box-cylinder contacts are convex-convex, which MuJoCo resolves robustly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.scene.builder import GEOM, HIDDEN_GROUP
from embodia.envs.scene.contact_groups import THREAD_CONAFFINITY, THREAD_CONTYPE


@dataclass(frozen=True)
class Contact:
    """Contact parameters given to every geom of a part (MuJoCo ``solref``, ``solimp``, ``friction``, ``condim``)."""

    solref: tuple[float, float] = (0.004, 1.0)
    solimp: tuple[float, float, float] = (0.95, 0.99, 0.0005)
    friction: tuple[float, float, float] = (0.5, 0.005, 0.0001)
    condim: int = 4

    def kwargs(self) -> dict:
        return {
            "solref": list(self.solref),
            "solimp": [*self.solimp, 0.5, 2.0],
            "friction": list(self.friction),
            "condim": self.condim,
        }


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of two wxyz quaternions."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ]
    )


def z_quat(angle_rad: float) -> np.ndarray:
    return np.array([np.cos(angle_rad / 2), 0.0, 0.0, np.sin(angle_rad / 2)])


def y_quat(angle_rad: float) -> np.ndarray:
    return np.array([np.cos(angle_rad / 2), 0.0, np.sin(angle_rad / 2), 0.0])


def yaw_quat(yaw: np.ndarray) -> np.ndarray:
    """(n, 4) wxyz quaternions for rotations ``yaw`` (n,) about z."""
    return np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.zeros_like(yaw), np.sin(yaw / 2)], axis=1)


def add_ring(
    body: mujoco.MjsBody,
    name: str,
    bore_radius_m: float,
    wall_m: float,
    height_m: float,
    base_z_m: float,
    segments: int,
    material: str,
    contact: Contact,
    phase_rad: float = 0.0,
    chamfer_m: float = 0.0,
    density_kg_m3: float = 1000.0,
) -> None:
    """A ring of ``segments`` boxes around the body's z axis, from ``base_z_m`` up ``height_m``.

    With ``chamfer_m`` > 0 the top ``chamfer_m`` of the bore is a 45 degree lead-in cone (a second ring of tilted
    boxes), widening the opening by ``chamfer_m`` per side: it catches a part that arrives slightly off the axis.
    ``density_kg_m3`` gives a free part (a nut) its mass and, as important, a matching rotational inertia.
    """
    straight_m = height_m - chamfer_m
    if straight_m <= 0:
        raise ValueError(f"chamfer_m={chamfer_m} must be smaller than height_m={height_m}")
    half_width = bore_radius_m * np.tan(np.pi / segments) + 0.0002  # inner faces meet at the polygon's corners
    outer_half_width = (bore_radius_m + wall_m) * np.tan(np.pi / segments)
    for k in range(segments):
        angle = phase_rad + 2 * np.pi * k / segments
        radial = np.array([np.cos(angle), np.sin(angle)])
        centre_r = bore_radius_m + wall_m / 2
        body.add_geom(
            name=f"{name}_{k}",
            type=GEOM.mjGEOM_BOX,
            pos=[*(centre_r * radial), base_z_m + straight_m / 2],
            quat=z_quat(angle).tolist(),
            size=[wall_m / 2, max(half_width, outer_half_width), straight_m / 2],
            material=material,
            density=density_kg_m3,
            **contact.kwargs(),
        )
        if chamfer_m > 0:
            # the box's -x face is the lead-in: from (bore, top - chamfer) to (bore + chamfer, top) in (r, z)
            thickness = wall_m / 2
            face_mid = np.array([bore_radius_m + chamfer_m / 2, base_z_m + height_m - chamfer_m / 2])
            outward = np.array([1.0, -1.0]) / np.sqrt(2)  # the box's +x axis in (r, z) after the 45 degree tilt
            centre = face_mid + outward * thickness
            body.add_geom(
                name=f"{name}_chamfer_{k}",
                type=GEOM.mjGEOM_BOX,
                pos=[*(centre[0] * radial), centre[1]],
                quat=quat_mul(z_quat(angle), y_quat(np.pi / 4)).tolist(),
                size=[
                    thickness,
                    (bore_radius_m + chamfer_m) * np.tan(np.pi / segments) + 0.0002,
                    chamfer_m / np.sqrt(2),
                ],
                material=material,
                density=density_kg_m3,
                **contact.kwargs(),
            )


def add_prism_ring(
    spec: mujoco.MjSpec,
    body: mujoco.MjsBody,
    name: str,
    bore_radius_m: float,
    outer_radius_m: float,
    height_m: float,
    segments: int,
    material: str,
    contact: Contact,
    density_kg_m3: float = 1000.0,
) -> None:
    """A ring of ``segments`` convex trapezoidal prisms (mesh geoms) between two regular polygons, from z = 0 up.

    ``bore_radius_m`` and ``outer_radius_m`` are the polygons' inscribed radii (six segments: a hex nut, flats
    at ``outer_radius_m``). Unlike ``add_ring``'s boxes, the segments meet edge to edge without overlapping, so a
    part grasped across its flats presents one flat face per side; each segment is convex, so MuJoCo collides
    it exactly (a single mesh of the whole ring would collide as its filled hull).
    """
    corner = 1.0 / np.cos(np.pi / segments)
    for k in range(segments):
        angles = 2 * np.pi * (k + np.array([-0.5, 0.5])) / segments
        ring = [
            (r * corner * np.cos(a), r * corner * np.sin(a)) for r in (bore_radius_m, outer_radius_m) for a in angles
        ]
        vertices = [[x, y, z] for z in (0.0, height_m) for x, y in ring]
        spec.add_mesh(name=f"{name}_{k}", uservert=np.ravel(vertices).tolist())
        body.add_geom(
            name=f"{name}_{k}",
            type=GEOM.mjGEOM_MESH,
            meshname=f"{name}_{k}",
            material=material,
            density=density_kg_m3,
            **contact.kwargs(),
        )


@dataclass(frozen=True)
class Helix:
    """A right-hand screw thread's ridge: a wire of radius ``wire_radius_m`` wound at ``radius_m`` (its centre
    line), rising ``pitch_m`` per turn from ``start_z_m`` at angle 0 of its body's frame for ``turns`` turns."""

    radius_m: float
    pitch_m: float
    start_z_m: float
    turns: float
    wire_radius_m: float
    segments_per_turn: int = 12

    def points(self) -> np.ndarray:
        """(k + 1, 3) points on the centre line, one every 1 / ``segments_per_turn`` turn."""
        count = round(self.turns * self.segments_per_turn)
        angle = 2 * np.pi * np.arange(count + 1) / self.segments_per_turn
        z = self.start_z_m + self.pitch_m * angle / (2 * np.pi)
        return np.column_stack([self.radius_m * np.cos(angle), self.radius_m * np.sin(angle), z])

    @property
    def top_z_m(self) -> float:
        return self.start_z_m + self.pitch_m * self.turns


#: sides of the drawn thread's cross-section (four gave the same frame time and a coarser crest)
THREAD_VISUAL_SIDES = 6


def helix_tube(helix: Helix, radius_m: float, sides: int = THREAD_VISUAL_SIDES) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (k, 3), faces (f, 3)) of a closed tube of ``sides`` flat faces around ``helix``'s centre line,
    one ring of vertices per point of ``Helix.points`` and a cap at each end, faces wound outwards."""
    points = helix.points()
    tangent = np.gradient(points, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    radial = points * [1.0, 1.0, 0.0]
    radial -= np.sum(radial * tangent, axis=1, keepdims=True) * tangent  # square to the tangent
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    binormal = np.cross(tangent, radial)
    angle = 2 * np.pi * np.arange(sides) / sides
    rings = points[:, None] + radius_m * (
        np.cos(angle)[None, :, None] * radial[:, None] + np.sin(angle)[None, :, None] * binormal[:, None]
    )
    count = len(points)
    index = np.arange(count * sides).reshape(count, sides)
    here, ahead = index[:-1], index[1:]
    side = np.roll(np.arange(sides), -1)
    quads_a = np.stack([here, here[:, side], ahead[:, side]], axis=-1).reshape(-1, 3)
    quads_b = np.stack([here, ahead[:, side], ahead], axis=-1).reshape(-1, 3)
    fan = np.arange(1, sides - 1)
    start = np.stack([np.zeros_like(fan), fan + 1, fan], axis=-1)  # wound against the tangent: faces backwards
    end = (count - 1) * sides + np.stack([np.zeros_like(fan), fan, fan + 1], axis=-1)
    return rings.reshape(-1, 3), np.concatenate([quads_a, quads_b, start, end])


def add_thread(
    spec: mujoco.MjSpec, body: mujoco.MjsBody, name: str, helix: Helix, material: str, contact: Contact, **kwargs
) -> None:
    """A screw thread's ridge as a chain of capsules along ``helix``: each chord rises exactly with the helix, so a
    nut's ridge laid between a bolt's turns can only move along the helix (turning one way screws it down, the
    other way up), and capsule-capsule contacts are analytic. Threads touch only threads (``contact_groups``).

    The capsules collide but are not drawn (``HIDDEN_GROUP``): each is a hundred-odd triangles, and a bolt's 120
    were four fifths of NutBolt's 84x84 frame in software GL. What is drawn is one massless, non-colliding mesh,
    a six-sided tube along the same helix (``helix_tube``), a tenth of the triangles; the rollouts are
    bit-identical with or without it."""
    points = helix.points()
    for k, (start, end) in enumerate(itertools.pairwise(points)):
        body.add_geom(
            name=f"{name}_{k}",
            type=GEOM.mjGEOM_CAPSULE,
            fromto=[*start, *end],
            size=[helix.wire_radius_m, 0, 0],
            material=material,
            contype=THREAD_CONTYPE,
            conaffinity=THREAD_CONAFFINITY,
            group=HIDDEN_GROUP,
            **contact.kwargs(),
            **kwargs,
        )
    vertices, faces = helix_tube(helix, helix.wire_radius_m)
    mesh = spec.add_mesh(name=f"{name}_visual", uservert=vertices.ravel().tolist(), userface=faces.ravel().tolist())
    mesh.inertia = (
        mujoco.mjtMeshInertia.mjMESH_INERTIA_SHELL
    )  # a thin tube: its volume is no concern of a mass-less geom
    body.add_geom(
        name=f"{name}_visual",
        type=GEOM.mjGEOM_MESH,
        meshname=f"{name}_visual",
        material=material,
        contype=0,
        conaffinity=0,
        mass=0.0,
    )


def add_spur_teeth(
    body: mujoco.MjsBody,
    name: str,
    teeth: int,
    module_m: float,
    width_m: float,
    base_z_m: float,
    height_m: float,
    material: str,
    contact: Contact,
    point: str = "",
    density_kg_m3: float = 1000.0,
) -> None:
    """``teeth`` box teeth of a spur gear around the body's z axis, tooth k centred at angle ``2 pi k / teeth``.

    Standard proportions (module m): pitch radius ``m * teeth / 2``, tip at pitch + m; each tooth reaches from
    3 mm inside the root circle (pitch - 1.25 m, so it overlaps the gear's disk) to the tip, ``width_m`` wide.
    ``point`` = ``"up"`` or ``"down"`` roofs that end of every tooth in a 90 degree ridge (a box turned 45
    degrees about the tooth's radial axis), so a tooth landing on a mating tooth slides into the gap instead of
    standing on it.
    """
    if point not in ("", "up", "down"):
        raise ValueError(f"point={point!r} is not valid; valid: '', 'up', 'down'")
    pitch_radius = module_m * teeth / 2
    inner = pitch_radius - 1.25 * module_m - 0.003
    outer = pitch_radius + module_m
    roof_half = width_m / 2  # the ridge's height equals the tooth's half width
    low, high = base_z_m, base_z_m + height_m
    if point == "down":
        low += roof_half
    elif point == "up":
        high -= roof_half
    for k in range(teeth):
        angle = 2 * np.pi * k / teeth
        radial = np.array([np.cos(angle), np.sin(angle)])
        centre_xy = (inner + outer) / 2 * radial
        body.add_geom(
            name=f"{name}_{k}",
            type=GEOM.mjGEOM_BOX,
            pos=[*centre_xy, (low + high) / 2],
            quat=z_quat(angle).tolist(),
            size=[(outer - inner) / 2, width_m / 2, (high - low) / 2],
            material=material,
            density=density_kg_m3,
            **contact.kwargs(),
        )
        if point:
            ridge_z = low if point == "down" else high
            body.add_geom(
                name=f"{name}_ridge_{k}",
                type=GEOM.mjGEOM_BOX,
                pos=[*centre_xy, ridge_z],
                quat=quat_mul(z_quat(angle), np.array([np.cos(np.pi / 8), np.sin(np.pi / 8), 0.0, 0.0])).tolist(),
                size=[(outer - inner) / 2, width_m / 2 / np.sqrt(2), width_m / 2 / np.sqrt(2)],
                material=material,
                density=density_kg_m3,
                **contact.kwargs(),
            )
