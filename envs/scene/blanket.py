"""A bed blanket: a coarse MuJoCo flex cloth with a stiff hem, its accordion fold and the leg coverage it gives.

The cloth is a 2D grid flex (``make_flex``, MuJoCo's flexcomp) whose edges are held at their rest length by
flex equality constraints: inextensible, free to bend. The vertices are bodies with three slide joints each, so
their positions are ordinary ``xpos`` rows. The head-side edge is a stiff flat hem: a light rigid bar (free to
slide, turn and tilt, not to roll) to which every edge vertex is connected, with a pull tab at its middle: the
part a caregiver, or the gripper, takes hold of.

Collision bits (the person's and the furniture's are in ``contact_groups``): the cloth touches the person, the
furniture and, unless asked not to, the robot (its geoms carry ``ROBOT_BIT``), so that jaws cannot reach the hem
through the fabric; not itself (self-collision costs more than the rest of the scene), not the hem it hangs from,
not the floor (the part hanging over the foot end stays above it). The hem and its tab touch the robot, the person
(measured as a tool by the safety monitor) and the furniture.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.contact_groups import ROBOT_BIT

CLOTH_CONTYPE, CLOTH_CONAFFINITY = 8, 2 | 4  # the person, the furniture (the robot: ``touches_robot``)
HEM_CONTYPE, HEM_CONAFFINITY = 16, 1 | 2 | 4  # default geoms (the robot, the floor), the person, the furniture


@dataclass(frozen=True)
class BlanketShape:
    """Grid and sizes; the defaults cover both legs of an adult lying in a 0.9 m bed with margin."""

    rows: int = 9  # along the bed (foot edge to hem)
    columns: int = 6  # across the bed
    spacing_m: float = 0.12  # across the bed, between columns
    #: along the bed, between rows: 1.04 m, enough to cover an adult's legs from the waist with the cloth raised over
    #: the feet (at 0.96 m the cloth pulled up to the waist slid back off the ankles)
    row_spacing_m: float = 0.13
    cloth_radius_m: float = 0.006
    #: a flat hem (the edge folded over and stitched, stiffened)
    hem_width_m: float = 0.03
    hem_thickness_m: float = 0.012
    hem_mass_kg: float = 0.08
    #: a pull tab sewn to the hem's middle, standing up from its head-side edge (away from the cloth): where jaws
    #: take the blanket. The cloth touches the robot, so a pinch across the hem itself would have one finger on the
    #: fabric, a pinch at its end is twisted out by the drag of the whole width, and a flat tab lay between the knees
    #: or thighs, where the pads came down on them (all tried)
    tab_reach_m: float = 0.045  # from the hem's edge, along the tab
    tab_rise_rad: float = 1.5  # from lying flat towards the head to standing up
    tab_width_m: float = 0.025  # across: what the jaws close on
    tab_mass_kg: float = 0.01

    def __post_init__(self) -> None:
        for name in ("rows", "columns"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 2):
                raise ValueError(f"{name}={getattr(self, name)!r} must be an integer >= 2")
        for name in self.__dataclass_fields__:
            if name in ("rows", "columns"):
                continue
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be positive")

    @property
    def length_m(self) -> float:
        return (self.rows - 1) * self.row_spacing_m

    @property
    def width_m(self) -> float:
        return (self.columns - 1) * self.spacing_m

    @property
    def hem_total_mass_kg(self) -> float:
        """The hem's rigid body: bar and tab."""
        return self.hem_mass_kg + self.tab_mass_kg

    @property
    def tab_centre(self) -> np.ndarray:
        """The tab's centre in the hem's frame: up, and towards the head (-x) by the hem's half width and its lean."""
        half = self.tab_reach_m / 2
        return np.array(
            [-self.hem_width_m / 2 - half * np.cos(self.tab_rise_rad), 0.0, half * np.sin(self.tab_rise_rad)]
        )


@dataclass(frozen=True)
class BlanketNames:
    flex: str
    hem: str  # the hem's body and its bar geom
    hem_joint: str  # the first of its joints: slides x, y, z (from the body's place), yaw, tilt
    vertex_bodies: tuple[str, ...]  # row-major: index = row * columns + column, row 0 is the hem's edge


def add_blanket(
    builder: SceneBuilder,
    name: str,
    shape: BlanketShape,
    hem_xy,
    z_m: float,
    mass_kg: float,
    touches_robot: bool = True,
) -> BlanketNames:
    """The blanket spread flat at height ``z_m``, its hem edge along y at ``hem_xy`` (the grid's centre line),
    the cloth extending towards +x. The spread pose is the flex's rest shape; a task folds it per episode.
    ``touches_robot``: the fabric collides with the arm and the hand (off: it lets them through)."""
    builder.add_material(f"{name}_cloth", (0.72, 0.36, 0.34, 1.0), specular=0.05, shininess=0.05)
    builder.add_material(f"{name}_hem", (0.55, 0.24, 0.24, 1.0), specular=0.05, shininess=0.05)
    hem_x, hem_y = float(hem_xy[0]), float(hem_xy[1])
    centre = [hem_x + shape.length_m / 2, hem_y, z_m]  # make_flex centres the grid on pos
    flex = builder.world.make_flex(
        name,
        type="grid",
        dim=2,
        count=[shape.rows, shape.columns, 1],
        spacing=[shape.row_spacing_m, shape.spacing_m, shape.spacing_m],
        radius=shape.cloth_radius_m,
        mass=mass_kg,
        pos=centre,
        equality=1,
    )
    flex.selfcollide = mujoco.mjtFlexSelf.mjFLEXSELF_NONE
    flex.contype = CLOTH_CONTYPE
    flex.conaffinity = CLOTH_CONAFFINITY | (ROBOT_BIT if touches_robot else 0)
    flex.friction = [0.4, 0.005, 0.0001]  # cotton or fleece on bed linen and clothing [ESTIMATE]
    flex.priority = 1  # its friction, not the larger one of the skin or the mattress it lies on
    flex.material = f"{name}_cloth"
    # The hem slides freely, turns about the vertical and tilts end over end, but does not roll about its own long
    # axis: the cloth hangs from that axis, so nothing in a flex would hold it flat, and a rolling hem turned its tab
    # down between the shins or over onto the cloth. A hem sewn flat onto fabric that lies flat does not roll.
    hem = builder.world.add_body(name=f"{name}_hem", pos=[hem_x, hem_y, z_m])
    for axis_name, axis in (("x", [1, 0, 0]), ("y", [0, 1, 0]), ("z", [0, 0, 1])):
        hem.add_joint(name=f"{name}_hem_{axis_name}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=axis)
    hem.add_joint(name=f"{name}_hem_yaw", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, 1])
    hem.add_joint(name=f"{name}_hem_tilt", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[1, 0, 0])
    # bar and tab: one rigid part that touches the robot, the person (a tool to the safety monitor), the furniture
    rigid_part = dict(material=f"{name}_hem", contype=HEM_CONTYPE, conaffinity=HEM_CONAFFINITY, condim=4)
    hem.add_geom(
        name=f"{name}_hem",
        type=GEOM.mjGEOM_BOX,
        size=[shape.hem_width_m / 2, shape.width_m / 2 + 0.01, shape.hem_thickness_m / 2],
        mass=shape.hem_mass_kg,
        friction=[1.0, 0.02, 0.0001],  # torsional: the hem fills the finger pads' width
        **rigid_part,
    )
    hem.add_geom(
        name=f"{name}_tab",
        type=GEOM.mjGEOM_BOX,
        pos=shape.tab_centre.tolist(),
        euler=[0, shape.tab_rise_rad, 0],  # about y: its head-side end rises
        size=[shape.tab_reach_m / 2, shape.tab_width_m / 2, shape.hem_thickness_m / 2],
        mass=shape.tab_mass_kg,
        friction=[1.0, 0.01, 0.0001],
        **rigid_part,
    )
    # make_flex orders vertices x-major (row along the bed = x), and numbers the vertex bodies name_0, name_1, ...
    # from the low-x (hem) corner, which is the layout this module documents.
    vertex_bodies = tuple(f"{name}_{i}" for i in range(shape.rows * shape.columns))
    for column in range(shape.columns):
        builder.spec.add_equality(
            name=f"{name}_hem_{column}",
            type=mujoco.mjtEq.mjEQ_CONNECT,
            objtype=mujoco.mjtObj.mjOBJ_BODY,
            name1=vertex_bodies[column],
            name2=f"{name}_hem",
            data=[0.0] * 12,
        )
    return BlanketNames(flex=name, hem=f"{name}_hem", hem_joint=f"{name}_hem_x", vertex_bodies=vertex_bodies)


def pulled_down(spread: np.ndarray, hem_x: np.ndarray, bed_end_x: np.ndarray, lying_z_m) -> np.ndarray:
    """Vertex positions (n, rows, columns, 3) of a blanket that has slid down towards the foot of the bed.

    ``spread`` (n, rows, columns, 3) is a flat spread pose (row 0 the hem, rows along +x). The hem lies at
    ``hem_x``; the cloth runs flat at ``lying_z_m`` (a height, or one per simulation) to the bed's foot end
    ``bed_end_x`` and hangs straight down from there (it settles onto the legs and feet in the first steps).
    """
    rows = spread.shape[1]
    spacing = spread[0, 1, 0, 0] - spread[0, 0, 0, 0]
    along = hem_x[:, None] + spacing * np.arange(rows)[None, :]  # (n, rows) unfolded x
    hanging = np.maximum(along - bed_end_x[:, None], 0.0)
    out = spread.copy()
    out[:, :, :, 0] = np.minimum(along, bed_end_x[:, None] + 0.02)[:, :, None]
    lying_z = np.broadcast_to(np.asarray(lying_z_m, dtype=float), (len(spread),))[:, None]
    out[:, :, :, 2] = (lying_z - hanging)[:, :, None]
    return out


def covered(vertices: np.ndarray, points: np.ndarray, below_tolerance_m: float = 0.01) -> np.ndarray:
    """(n, P) whether the cloth lies over each point: a vertical line through the point meets a cloth triangle
    (of the grid's cells, two per cell) no lower than ``below_tolerance_m`` under the point.

    ``vertices`` (n, rows, columns, 3), ``points`` (n, P, 3).
    """
    a = vertices[:, :-1, :-1].reshape(len(vertices), -1, 3)
    b = vertices[:, 1:, :-1].reshape(len(vertices), -1, 3)
    c = vertices[:, 1:, 1:].reshape(len(vertices), -1, 3)
    d = vertices[:, :-1, 1:].reshape(len(vertices), -1, 3)
    # both triangles of every cell in one pass: half the numpy calls of one pass per triangle set
    return _over_triangles(np.concatenate([a, a], axis=1), np.concatenate([b, c], axis=1),
                           np.concatenate([c, d], axis=1), points, below_tolerance_m)  # fmt: skip


def _over_triangles(p, q, r, points, below_tolerance_m):
    """(n, P) whether any triangle (n, T, 3) projects onto the point in xy and lies above it there."""
    e1 = (q - p)[:, :, None, :2]  # (n, T, 1, 2)
    e2 = (r - p)[:, :, None, :2]
    w = points[:, None, :, :2] - p[:, :, None, :2]  # (n, T, P, 2)
    det = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
    safe = np.where(np.abs(det) > 1e-9, det, 1.0)
    u = (w[..., 0] * e2[..., 1] - w[..., 1] * e2[..., 0]) / safe
    v = (e1[..., 0] * w[..., 1] - e1[..., 1] * w[..., 0]) / safe
    inside = (np.abs(det) > 1e-9) & (u >= 0) & (v >= 0) & (u + v <= 1)
    z = p[:, :, None, 2] + u * (q - p)[:, :, None, 2] + v * (r - p)[:, :, None, 2]
    return (inside & (z >= points[:, None, :, 2] - below_tolerance_m)).any(axis=1)
