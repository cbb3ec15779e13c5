"""A person of any sex and stature in a model compiled once: their geometry as per-simulation model values.

A task's model is compiled for one person (``HumanRanges.structure``). Another sex or stature is the same tree of
bodies, geoms and sites with other sizes and placements, so MuJoCo's compiler builds that person once, alone in
the same furniture (``body_shape``), and its compiled numbers are copied into the simulation's per-simulation
model fields (``ShapeBinding.apply``): sizes and placements, the inertias the compiler integrates from the
geoms, and the bounding volumes collision detection culls with. Copying the compiler's numbers rather than
recomputing them keeps one description of the body (``body.py``) and of its furniture (``person.add_person``).

Stature is taken in whole percentiles (a step of 1.5-4 mm of stature), so a task draws from at most 99 shapes
per sex, each compiled and settled once per process (~70 ms). The copied values are model fields a recording
holds (``per_sim_model``), so a replay restores the very same body.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import mujoco
import numpy as np

from embodia.envs.human import shape_cache
from embodia.envs.human.body import HumanBody
from embodia.envs.human.config import HumanConfig
from embodia.envs.human.rest import RestingPose, resting_pose
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene.builder import SceneBuilder

BODY_FIELDS = ("body_pos", "body_quat", "body_ipos", "body_iquat", "body_mass", "body_inertia")
GEOM_FIELDS = ("geom_size", "geom_pos", "geom_quat", "geom_aabb", "geom_rbound")
SITE_FIELDS = ("site_pos", "site_quat")
#: the compiler's flags that let MuJoCo skip a transform; a shape whose flags differ cannot share the model
STRUCTURE_FIELDS = ("body_sameframe", "body_simple", "geom_sameframe", "site_sameframe", "geom_type")
TEMPLATE_NAME = "person"


@dataclass(frozen=True)
class BodyShape:
    """One sex and stature, compiled: values per body, geom and site of the person and their furniture."""

    config: HumanConfig
    model: mujoco.MjModel  # the person alone in the furniture, names prefixed ``TEMPLATE_NAME``
    rest: RestingPose


def shape_config(structure: HumanConfig, sex: str, percentile: int) -> HumanConfig:
    """The structure (posture, backrest, built mass) with another sex and stature."""
    return dataclasses.replace(structure, sex=sex, stature_percentile=float(percentile))


@lru_cache(maxsize=512)
def body_shape(config: HumanConfig) -> BodyShape:
    """Compile ``config``'s person in their furniture and let them settle there (cached per process, and on disk
    between processes: ``shape_cache``)."""
    from embodia.envs.human.person import add_person  # person composes this module
    from embodia.envs.scene.props import add_room

    kept = shape_cache.load(config)
    if kept is not None:
        return BodyShape(config=config, model=kept[0], rest=kept[1])
    builder = SceneBuilder("body_shape")
    add_room(builder)
    add_person(builder, config, TEMPLATE_NAME, (0.0, 0.0, 0.0), 0.0)
    shape = BodyShape(config=config, model=builder.build(), rest=resting_pose(config))
    shape_cache.save(config, shape.model, shape.rest)
    return shape


def _subtree(model: mujoco.MjModel, roots: list[int]) -> list[int]:
    """``roots`` and every body below them, in body order."""
    inside = set(roots)
    for body in range(model.nbody):
        if model.body_parentid[body] in inside and body != 0:
            inside.add(body)
    return sorted(inside)


def _person_bodies(model: mujoco.MjModel, name: str) -> list[str]:
    """Names (without the person's prefix) of the person's bodies and their furniture's."""
    roots = [model.body(name).id, model.body(f"{name}_base").id]
    return [model.body(b).name[len(name) :] for b in _subtree(model, roots)]


class ShapeBinding:
    """Where a task model keeps the person ``body`` and their furniture: the rows a shape is copied into.

    A task may add geoms and sites of its own to the person's bodies (Feeding's mouth cavity on the head); each
    keeps its place relative to one of the person's sites (``attach``), so that it moves with a larger head.
    Attached geoms carry no mass: the body's mass and inertia are the person's.
    """

    def __init__(self, model: mujoco.MjModel, body: HumanBody) -> None:
        self.model = model
        self.name = name = body.name
        self.structure = body.config
        self.scaled_bodies = np.array([model.body(b).id for b in body.moving_bodies])
        self.built_mass_kg = float(model.body_mass[self.scaled_bodies].sum())  # scaled, it weighs what was drawn
        self.suffixes = _person_bodies(model, name)
        self.bodies = np.array([model.body(name + s).id for s in self.suffixes])
        self.geoms = np.concatenate([_geoms_of(model, b) for b in self.bodies])
        self.sites = np.flatnonzero(np.isin(model.site_bodyid, self.bodies))
        bvh_rows = [np.arange(model.body_bvhadr[b], model.body_bvhadr[b] + model.body_bvhnum[b]) for b in self.bodies]
        #: field -> the rows of this model a shape's values go to
        self.targets = {
            **{f: self.bodies for f in BODY_FIELDS},
            **{f: self.geoms for f in GEOM_FIELDS},
            **{f: self.sites for f in SITE_FIELDS},
            "bvh_aabb": np.concatenate(bvh_rows),
        }
        self.scaled_rows = np.searchsorted(self.bodies, self.scaled_bodies)  # where the scaled bodies are in rows
        #: ("geom" or "site", id) of a task's own geom or site on the person -> the person's site it follows
        self.attached: dict[tuple[str, int], int] = {}
        self._rows: dict[HumanConfig, dict[str, np.ndarray]] = {}

    def attach(self, site: str, geoms: tuple[str, ...] = (), sites: tuple[str, ...] = ()) -> None:
        """Keep the task's ``geoms`` and ``sites`` (on the person's bodies) where they are relative to ``site``."""
        anchor = self.model.site(site).id
        self.attached |= {("geom", self.model.geom(g).id): anchor for g in geoms}
        self.attached |= {("site", self.model.site(x).id): anchor for x in sites}
        self._rows.clear()

    def rows(self, shape: BodyShape) -> dict[str, np.ndarray]:
        """The values of ``shape`` laid out as this model's rows (checked to fit once per shape)."""
        if shape.config not in self._rows:
            self._rows[shape.config] = self._lay_out(shape)
        return self._rows[shape.config]

    def _lay_out(self, shape: BodyShape) -> dict[str, np.ndarray]:
        model, tpl = self.model, shape.model
        who = f"a {shape.config.sex} person at stature percentile {shape.config.stature_percentile:g}"
        if _person_bodies(tpl, TEMPLATE_NAME) != self.suffixes:
            raise ValueError(f"{who} is built from other bodies than the scene's person; the body cannot vary")
        bodies = np.array([tpl.body(TEMPLATE_NAME + s).id for s in self.suffixes])
        rows = {f: getattr(tpl, f)[bodies].copy() for f in BODY_FIELDS}
        placed = model.body_parentid[self.bodies] == 0  # the free root and the mocap furniture: placed per episode
        for f in ("body_pos", "body_quat"):
            rows[f][placed] = getattr(model, f)[self.bodies[placed]]
        rows |= {f: getattr(model, f)[self.geoms].copy() for f in GEOM_FIELDS}
        rows |= {f: getattr(model, f)[self.sites].copy() for f in SITE_FIELDS}
        row_of_geom = {int(g): k for k, g in enumerate(self.geoms)}
        for ours, theirs in zip(self.bodies, bodies, strict=True):
            self._check_same(tpl, who, "body", ours, theirs)
            person_geoms = _geoms_of(tpl, theirs)
            for k, geom in enumerate(_geoms_of(model, ours)):
                if k < len(person_geoms):
                    self._check_same(tpl, who, "geom", geom, person_geoms[k])
                    for f in GEOM_FIELDS:
                        rows[f][row_of_geom[int(geom)]] = getattr(tpl, f)[person_geoms[k]]
                else:
                    row = row_of_geom[int(geom)]
                    rows["geom_pos"][row] += self._displacement(tpl, who, ("geom", int(geom)))
        for row, site in enumerate(self.sites):
            name = model.site(site).name
            if (
                name.startswith(self.name)
                and mujoco.mj_name2id(tpl, mujoco.mjtObj.mjOBJ_SITE, TEMPLATE_NAME + name[len(self.name) :]) >= 0
            ):
                theirs = tpl.site(TEMPLATE_NAME + name[len(self.name) :]).id
                for f in SITE_FIELDS:
                    rows[f][row] = getattr(tpl, f)[theirs]
            else:
                rows["site_pos"][row] += self._displacement(tpl, who, ("site", int(site)))
        rows["bvh_aabb"] = self._bounding_volumes(rows)
        return rows

    def _check_same(self, tpl: mujoco.MjModel, who: str, kind: str, ours: int, theirs: int) -> None:
        for field in STRUCTURE_FIELDS:
            if field.startswith(kind) and getattr(self.model, field)[ours] != getattr(tpl, field)[theirs]:
                name = (self.model.geom if kind == "geom" else self.model.body)(ours).name
                raise ValueError(f"{field} of {name} differs in {who}; the body cannot vary")

    def _displacement(self, tpl: mujoco.MjModel, who: str, key: tuple[str, int]) -> np.ndarray:
        """How far the person's site that ``key`` (a task's geom or site) follows moved in its body's frame."""
        if key not in self.attached:
            kind, index = key
            name = (self.model.geom if kind == "geom" else self.model.site)(index).name
            raise ValueError(
                f"{kind} {name!r} on the person's body is not the person's; attach it to one of their sites "
                "(Person.shape_binding.attach) so it follows the body's size"
            )
        anchor = self.model.site(self.attached[key]).name
        theirs = tpl.site(TEMPLATE_NAME + anchor[len(self.name) :]).id
        return tpl.site_pos[theirs] - self.model.site_pos[self.attached[key]]

    def _bounding_volumes(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        """This model's bounding-volume trees of the person's bodies, boxed around the shape's geoms.

        MuJoCo keeps a box per body node in the body's inertial frame: a leaf boxes its geom's own box, a node
        its two children (as the compiler does: checked to 1e-15 against compiled models in the tests).
        """
        model = self.model
        row_of_geom = {int(g): k for k, g in enumerate(self.geoms)}
        boxes = []
        for row, body in enumerate(self.bodies):
            adr, count = model.body_bvhadr[body], model.body_bvhnum[body]
            if count == 0:
                continue
            ipos, iquat = rows["body_ipos"][row], rows["body_iquat"][row]
            body_boxes = np.zeros((count, 6))
            for node in reversed(range(count)):  # children come after their parent
                child = model.bvh_child[adr + node]
                if child[0] < 0:
                    g = row_of_geom[int(model.bvh_nodeid[adr + node])]
                    body_boxes[node] = leaf_box(
                        rows["geom_pos"][g], rows["geom_quat"][g], rows["geom_aabb"][g], ipos, iquat
                    )
                else:
                    a, b = body_boxes[child[0]], body_boxes[child[1]]
                    low = np.minimum(a[:3] - a[3:], b[:3] - b[3:])
                    high = np.maximum(a[:3] + a[3:], b[:3] + b[3:])
                    body_boxes[node] = np.concatenate([(low + high) / 2, (high - low) / 2])
            boxes.append(body_boxes)
        return np.concatenate(boxes) if boxes else np.zeros((0, 6))

    def shape_of(self, person: HumanConfig) -> BodyShape:
        """The compiled body of ``person`` (their sex and stature) in this scene's posture and furniture."""
        return body_shape(shape_config(self.structure, person.sex, int(person.stature_percentile)))

    def apply(self, sim: Simulation, ids: np.ndarray, people: list[HumanConfig]) -> list[BodyShape]:
        """Give simulations ``ids`` the bodies of ``people`` (their sex, stature and body mass: the segments'
        masses and inertias scale so that the body weighs what was drawn); return their shapes. Run
        ``set_const`` afterwards: the weights and inertias the solver derives at the reference pose change."""
        shapes = [self.shape_of(p) for p in people]
        mass_scale = np.array([p.body_mass_kg for p in people]) / self.built_mass_kg
        fields = {f: sim.per_sim_model_field(f) for f in self.targets}
        for sim_id, shape, scale in zip(ids, shapes, mass_scale, strict=True):
            rows = self.rows(shape)
            for f, values in rows.items():
                fields[f][sim_id, self.targets[f]] = values
            for f in ("body_mass", "body_inertia"):
                fields[f][sim_id, self.scaled_bodies] = rows[f][self.scaled_rows] * scale
        return shapes


def _geoms_of(model: mujoco.MjModel, body: int) -> np.ndarray:
    return np.arange(model.body_geomadr[body], model.body_geomadr[body] + model.body_geomnum[body])


def _quat_mat(quat: np.ndarray) -> np.ndarray:
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, quat)
    return matrix.reshape(3, 3)


def leaf_box(pos: np.ndarray, quat: np.ndarray, aabb: np.ndarray, ipos: np.ndarray, iquat: np.ndarray) -> np.ndarray:
    """(centre, half size) in the body's inertial frame of the box around a geom's own box ``aabb`` (centre, half
    size, in the geom's frame) for a geom at ``pos``/``quat`` in a body whose inertial frame is ``ipos``/``iquat``."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * aabb[3:] + aabb[:3]
    in_inertial = (corners @ _quat_mat(quat).T + pos - ipos) @ _quat_mat(iquat)
    low, high = in_inertial.min(axis=0), in_inertial.max(axis=0)
    return np.concatenate([(low + high) / 2, (high - low) / 2])
