"""An over-bed table: a top cantilevered from a telescoping column on a low caster base.

Two mocap bodies, so a task sets the pose per simulation: the base (floor frame, its xy and yaw) with the lower
column, and the top with the upper column, which a task also raises or lowers (the telescoping column's height
adjustment). Both use the furniture collision class: they touch the robot and objects, never the person, whose
lap the top only frames. Sizes: a top of 0.76 x 0.38 m and a working height of about 0.72-1.1 m, the common
range of hospital over-bed tables (an estimate from catalogue ranges; no standard fixes them).

In the table's frame the top's long side runs along y and its column stands at +y.
"""

from __future__ import annotations

from dataclasses import dataclass

from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.contact_groups import FURNITURE_CONAFFINITY, FURNITURE_CONTYPE

TOP_HALF_SIZE_M = (0.19, 0.38)  # (along x, along y)
TOP_THICKNESS_M = 0.022
NOMINAL_TOP_Z_M = 0.8  # the top surface's height with the top body at its nominal pose
COLUMN_Y_M = 0.42  # the column's y in the table frame, just past the top's end
BASE_HALF_LENGTH_M = 0.3  # the floor bar under the column, along x
LOWER_COLUMN_TOP_Z_M = 0.55


@dataclass(frozen=True)
class OverbedTableNames:
    base: str  # mocap body on the floor
    top: str  # mocap body: the top (and upper column); its origin is at the top surface's centre
    top_geom: str


def _geom(body, **kwargs) -> None:
    body.add_geom(contype=FURNITURE_CONTYPE, conaffinity=FURNITURE_CONAFFINITY, **kwargs)


def add_overbed_table(builder: SceneBuilder, name: str, pos) -> OverbedTableNames:
    """Add the table with its top surface centred at ``pos`` (x, y, top height); returns the names to bind."""
    builder.add_material(f"{name}_top", (0.86, 0.82, 0.74, 1.0), specular=0.4, shininess=0.5)
    builder.add_material(f"{name}_frame", (0.78, 0.8, 0.82, 1.0), specular=0.6, shininess=0.6)
    x, y, top_z = (float(v) for v in pos)
    base = builder.world.add_body(name=f"{name}_base", pos=[x, y, 0.0], mocap=True)
    _geom(
        base,
        name=f"{name}_base_bar",
        type=GEOM.mjGEOM_BOX,
        pos=[0, COLUMN_Y_M, 0.035],
        size=[BASE_HALF_LENGTH_M, 0.025, 0.015],
        material=f"{name}_frame",
    )
    for i, sx in enumerate((1, -1)):
        _geom(
            base,
            name=f"{name}_caster{i}",
            type=GEOM.mjGEOM_SPHERE,
            pos=[sx * (BASE_HALF_LENGTH_M - 0.03), COLUMN_Y_M, 0.02],
            size=[0.02, 0, 0],
            material="dark_steel",
        )
    _geom(
        base,
        name=f"{name}_lower_column",
        type=GEOM.mjGEOM_BOX,
        pos=[0, COLUMN_Y_M, LOWER_COLUMN_TOP_Z_M / 2],
        size=[0.03, 0.025, LOWER_COLUMN_TOP_Z_M / 2],
        material=f"{name}_frame",
    )
    top = builder.world.add_body(name=f"{name}_top", pos=[x, y, top_z], mocap=True)
    hx, hy = TOP_HALF_SIZE_M
    _geom(
        top,
        name=f"{name}_top",
        type=GEOM.mjGEOM_BOX,
        pos=[0, 0, -TOP_THICKNESS_M / 2],
        size=[hx, hy, TOP_THICKNESS_M / 2],
        material=f"{name}_top",
        friction=[0.8, 0.01, 0.0001],
    )
    upper_length = 0.4  # slides inside the lower column; long enough for the whole height range
    _geom(
        top,
        name=f"{name}_upper_column",
        type=GEOM.mjGEOM_BOX,
        pos=[0, COLUMN_Y_M, -upper_length / 2],
        size=[0.022, 0.018, upper_length / 2],
        material=f"{name}_frame",
    )
    _geom(
        top,
        name=f"{name}_arm",
        type=GEOM.mjGEOM_BOX,
        pos=[0, (hy + COLUMN_Y_M) / 2 - 0.02, -TOP_THICKNESS_M - 0.01],
        size=[0.03, (COLUMN_Y_M - hy) / 2 + 0.04, 0.01],
        material=f"{name}_frame",
    )
    return OverbedTableNames(f"{name}_base", f"{name}_top", f"{name}_top")
