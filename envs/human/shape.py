"""A person of any sex and stature in a model compiled once: their geometry as per-simulation model values.

A task's model is compiled for one person (``HumanRanges.structure``). Another sex or stature is the same tree of
bodies, geoms and sites with other sizes and placements, so MuJoCo's compiler builds that person once, alone in
the same furniture (``body_shape``), and its compiled numbers are copied into the simulation's per-simulation
model fields (``ShapeBinding.apply``): sizes and placements, the inertias the compiler integrates from the
geoms, and the bounding volumes collision detection culls with. Copying the compiler's numbers rather than
recomputing them keeps one description of the body (``body.py``) and of its furniture (``person.add_person``).

Stature is taken in whole percentiles (a step of 1.5-4 mm of stature), so a task draws from at most 99 shapes
per sex, each compiled and settled once per process (~70 ms), or read from the on-disk cache (``shape_cache``):
the shape itself, and once a task has laid it out, its rows in that task's model (``ShapeBinding.laid_out``). The
copied values are model fields a recording holds (``per_sim_model``), so a replay restores the very same body.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

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


#: what a layout reads of a compiled shape: its values, the compiler's flags, and the tree's signature
TEMPLATE_FIELDS = (*BODY_FIELDS, *GEOM_FIELDS, *SITE_FIELDS, *STRUCTURE_FIELDS, "body_parentid", "body_geomnum")


@dataclass(frozen=True, eq=False)
class BodyShape:
    """One sex and stature, compiled: values per body, geom and site of the person and their furniture."""

    config: HumanConfig
    rest: RestingPose
    #: ``TEMPLATE_FIELDS`` of the compiled model (the person alone in the furniture, names prefixed
    #: ``TEMPLATE_NAME``), and its names (``names``, as bytes): all a layout reads once its plan is made
    fields: dict[str, np.ndarray]
    load_model: Callable[[], mujoco.MjModel] = dataclasses.field(repr=False, compare=False)

    @property
    def model(self) -> mujoco.MjModel:
        """The compiled model itself: a layout needs it only to make its plan, once per body tree."""
        return self.load_model()


def template_fields(model: mujoco.MjModel) -> dict[str, np.ndarray]:
    """Copies of what a layout reads of a compiled shape (``BodyShape.fields``), so that a cached shape can be
    laid out without loading its model."""
    fields = {name: getattr(model, name).copy() for name in TEMPLATE_FIELDS}
    fields["names"] = np.frombuffer(model.names, dtype=np.uint8).copy()
    return fields


@lru_cache(maxsize=1024)  # a reset asks for it every episode; building a config checks every field
def shape_config(structure: HumanConfig, sex: str, percentile: int) -> HumanConfig:
    """The structure (posture, backrest, built mass) with another sex and stature."""
    return dataclasses.replace(structure, sex=sex, stature_percentile=float(percentile))


@lru_cache(maxsize=512)
def body_shape(config: HumanConfig) -> BodyShape:
    """Compile ``config``'s person in their furniture and let them settle there (cached per process, and on disk
    between processes: ``shape_cache``)."""
    from embodia.envs.human.person import add_person  # person composes this module
    from embodia.envs.scene.props import add_shared_materials

    kept = shape_cache.load(config)
    if kept is not None:
        return BodyShape(config=config, rest=kept.rest, fields=kept.fields, load_model=cache(kept.model))
    # geometry only: without the room's floor and textures the model is 1/50 the size, so a cached shape loads
    # in a fraction of the time (a reset that meets a new shape paid ~6 ms to load the sky's texture)
    builder = SceneBuilder("body_shape", sky=False)
    add_shared_materials(builder)
    add_person(builder, config, TEMPLATE_NAME, (0.0, 0.0, 0.0), 0.0)
    model, rest = builder.build(), resting_pose(config)
    fields = template_fields(model)
    shape_cache.save(config, model, rest, fields)
    return BodyShape(config=config, rest=rest, fields=fields, load_model=lambda: model)


@dataclass(frozen=True, eq=False)
class LaidOut:
    """A shape as one task model's rows, and where the person rests in their furniture: all a reset needs of it."""

    rest: RestingPose
    rows: dict[str, np.ndarray]  # field -> values for ``ShapeBinding.targets[field]``


@dataclass(frozen=True)
class LayoutPlan:
    """Where a shape's compiled values go in a task's model (``ShapeBinding._make_plan``): index arrays, so that
    laying out a new shape is a handful of gathers rather than a walk over named bodies, geoms and sites."""

    bodies: np.ndarray  # the template's bodies, in the binding's body order
    placed: np.ndarray  # (bodies,) bool: placed per episode, so the task model's own pose is kept
    geom_rows: np.ndarray  # our geom rows the template fills ...
    geom_sources: np.ndarray  # ... from these template geoms
    attached_geom_rows: np.ndarray  # a task's own geoms on the person: moved with ...
    attached_geom_anchors: np.ndarray  # ... these template sites, ...
    geom_anchor_pos: np.ndarray  # ... from where those sites are in the task's model
    site_rows: np.ndarray
    site_sources: np.ndarray
    attached_site_rows: np.ndarray
    attached_site_anchors: np.ndarray
    site_anchor_pos: np.ndarray
    same: tuple[tuple[str, np.ndarray, np.ndarray], ...]  # (kind, ours, theirs) whose compiler flags must match


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
        self._trees, self._tree_order = _bounding_trees(model, self.bodies, self.geoms)
        #: ("geom" or "site", id) of a task's own geom or site on the person -> the person's site it follows
        self.attached: dict[tuple[str, int], int] = {}
        self._plans: dict[tuple, LayoutPlan] = {}
        self._laid_out: dict[HumanConfig, LaidOut] = {}
        self._model_digest: str | None = None
        #: (field, start, end, shape) of each field's rows in a laid-out shape kept as one array (``targets`` order)
        shapes = [(f, (len(rows), *getattr(model, f).shape[1:])) for f, rows in self.targets.items()]
        self._row_sizes = np.cumsum([0] + [math.prod(shape) for _, shape in shapes])
        self._row_slices = [
            (f, int(a), int(b), shape)
            for (f, shape), a, b in zip(shapes, self._row_sizes[:-1], self._row_sizes[1:], strict=True)
        ]

    def attach(self, site: str, geoms: tuple[str, ...] = (), sites: tuple[str, ...] = ()) -> None:
        """Keep the task's ``geoms`` and ``sites`` (on the person's bodies) where they are relative to ``site``."""
        anchor = self.model.site(site).id
        self.attached |= {("geom", self.model.geom(g).id): anchor for g in geoms}
        self.attached |= {("site", self.model.site(x).id): anchor for x in sites}
        self._plans.clear()
        self._laid_out.clear()

    def layout_key(self, config: HumanConfig) -> str:
        """The on-disk key of ``config``'s shape laid out in this model (``shape_cache.load_layout``): the shape's
        own key, this model (every byte of it, digested once per binding) and the task's attached geoms and sites."""
        if self._model_digest is None:
            binary = np.zeros(mujoco.mj_sizeModel(self.model), dtype=np.uint8)
            mujoco.mj_saveModel(self.model, None, binary)
            self._model_digest = hashlib.sha256(binary).hexdigest()
        parts = [shape_cache.entry_key(config), self._model_digest, self.name, repr(sorted(self.attached.items()))]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def laid_out(self, person: HumanConfig) -> LaidOut:
        """``person``'s shape (their sex and stature) as this model's rows: kept per binding, and on disk between
        processes, so that a reset meeting a shape this task has laid out before reads one small file."""
        config = shape_config(self.structure, person.sex, int(person.stature_percentile))
        if config not in self._laid_out:
            key = self.layout_key(config)
            kept = shape_cache.load_layout(key)
            if kept is not None and kept[1].size == self._row_sizes[-1]:
                rest, flat = kept
                rows = {f: flat[a:b].reshape(shape) for f, a, b, shape in self._row_slices}
            else:  # absent, or of another size (a file that is not this binding's)
                shape = body_shape(config)
                rest, rows = shape.rest, self.rows(shape)
                shape_cache.save_layout(key, rest, np.concatenate([rows[f].ravel() for f in self.targets]))
            self._laid_out[config] = LaidOut(rest, rows)
        return self._laid_out[config]

    def rows(self, shape: BodyShape) -> dict[str, np.ndarray]:
        """The values of ``shape`` laid out as this model's rows, checked to fit (``laid_out`` keeps them)."""
        model, tpl = self.model, shape.fields
        who = f"a {shape.config.sex} person at stature percentile {shape.config.stature_percentile:g}"
        plan = self._plan(shape, who)
        for kind, ours, theirs in plan.same:  # the compiler's flags must match for the model to be shared
            for field in STRUCTURE_FIELDS:
                if field.startswith(kind):
                    differs = np.flatnonzero(getattr(model, field)[ours] != tpl[field][theirs])
                    if len(differs):
                        name = (model.geom if kind == "geom" else model.body)(int(ours[differs[0]])).name
                        raise ValueError(f"{field} of {name} differs in {who}; the body cannot vary")
        rows = {f: tpl[f][plan.bodies] for f in BODY_FIELDS}  # fancy indexing: copies
        for f in ("body_pos", "body_quat"):  # the free root and the mocap furniture: placed per episode
            rows[f][plan.placed] = getattr(model, f)[self.bodies[plan.placed]]
        rows |= {f: getattr(model, f)[self.geoms] for f in GEOM_FIELDS}
        for f in GEOM_FIELDS:
            rows[f][plan.geom_rows] = tpl[f][plan.geom_sources]
        rows["geom_pos"][plan.attached_geom_rows] += tpl["site_pos"][plan.attached_geom_anchors] - plan.geom_anchor_pos
        rows |= {f: getattr(model, f)[self.sites] for f in SITE_FIELDS}
        for f in SITE_FIELDS:
            rows[f][plan.site_rows] = tpl[f][plan.site_sources]
        rows["site_pos"][plan.attached_site_rows] += tpl["site_pos"][plan.attached_site_anchors] - plan.site_anchor_pos
        rows["bvh_aabb"] = self._bounding_volumes(rows)
        return rows

    def _plan(self, shape: BodyShape, who: str) -> LayoutPlan:
        """Which of the shape's rows fill which of ours; the same for every shape compiled from the same tree, so
        it is worked out (with its names looked up in the compiled model) once per tree rather than once per
        shape."""
        tpl = shape.fields
        signature = (tpl["names"].tobytes(), tpl["body_parentid"].tobytes(), tpl["body_geomnum"].tobytes())
        signature += (len(tpl["site_pos"]),)
        if signature not in self._plans:
            self._plans[signature] = self._make_plan(shape.model, who)
        return self._plans[signature]

    def _make_plan(self, tpl: mujoco.MjModel, who: str) -> LayoutPlan:
        model = self.model
        if _person_bodies(tpl, TEMPLATE_NAME) != self.suffixes:
            raise ValueError(f"{who} is built from other bodies than the scene's person; the body cannot vary")
        bodies = np.array([tpl.body(TEMPLATE_NAME + s).id for s in self.suffixes])
        row_of_geom = {int(g): k for k, g in enumerate(self.geoms)}
        geom_rows, geom_sources, attached_geoms, geom_pairs = [], [], [], []
        for ours, theirs in zip(self.bodies, bodies, strict=True):
            person_geoms = _geoms_of(tpl, theirs)
            for k, geom in enumerate(_geoms_of(model, ours)):
                if k < len(person_geoms):
                    geom_rows.append(row_of_geom[int(geom)])
                    geom_sources.append(person_geoms[k])
                    geom_pairs.append((int(geom), int(person_geoms[k])))
                else:
                    attached_geoms.append((row_of_geom[int(geom)], self._anchor(tpl, ("geom", int(geom)))))
        site_rows, site_sources, attached_sites = [], [], []
        for row, site in enumerate(self.sites):
            name = model.site(site).name
            theirs = TEMPLATE_NAME + name[len(self.name) :]
            if name.startswith(self.name) and mujoco.mj_name2id(tpl, mujoco.mjtObj.mjOBJ_SITE, theirs) >= 0:
                site_rows.append(row)
                site_sources.append(tpl.site(theirs).id)
            else:
                attached_sites.append((row, self._anchor(tpl, ("site", int(site)))))

        def columns(pairs: list[tuple[int, tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            rows = np.array([row for row, _ in pairs], dtype=int)
            theirs = np.array([anchor[0] for _, anchor in pairs], dtype=int)
            ours = np.array([anchor[1] for _, anchor in pairs], dtype=int)
            return rows, theirs, model.site_pos[ours].reshape(-1, 3)

        geom_pairs_array = np.array(geom_pairs, dtype=int).reshape(-1, 2)
        attached_geom_rows, attached_geom_anchors, geom_anchor_pos = columns(attached_geoms)
        attached_site_rows, attached_site_anchors, site_anchor_pos = columns(attached_sites)
        return LayoutPlan(
            bodies=bodies,
            placed=model.body_parentid[self.bodies] == 0,
            geom_rows=np.array(geom_rows, dtype=int),
            geom_sources=np.array(geom_sources, dtype=int),
            attached_geom_rows=attached_geom_rows,
            attached_geom_anchors=attached_geom_anchors,
            geom_anchor_pos=geom_anchor_pos,
            site_rows=np.array(site_rows, dtype=int),
            site_sources=np.array(site_sources, dtype=int),
            attached_site_rows=attached_site_rows,
            attached_site_anchors=attached_site_anchors,
            site_anchor_pos=site_anchor_pos,
            same=(("body", self.bodies, bodies), ("geom", geom_pairs_array[:, 0], geom_pairs_array[:, 1])),
        )

    def _anchor(self, tpl: mujoco.MjModel, key: tuple[str, int]) -> tuple[int, int]:
        """(the template's site, ours) that ``key`` (a task's geom or site on the person) follows: it moves by as
        much as that site moved in its body's frame."""
        if key not in self.attached:
            kind, index = key
            name = (self.model.geom if kind == "geom" else self.model.site)(index).name
            raise ValueError(
                f"{kind} {name!r} on the person's body is not the person's; attach it to one of their sites "
                "(Person.shape_binding.attach) so it follows the body's size"
            )
        anchor = self.model.site(self.attached[key]).name
        return tpl.site(TEMPLATE_NAME + anchor[len(self.name) :]).id, self.attached[key]

    def _bounding_volumes(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        """This model's bounding-volume trees of the person's bodies, boxed around the shape's geoms.

        MuJoCo keeps a box per body node in the body's inertial frame: a leaf boxes its geom's own box, a node
        its two children (as the compiler does: checked to 1e-15 against compiled models in the tests). The trees'
        layout is this model's (``_bounding_trees``); the leaves are boxed all at once.
        """
        nodes, leaf_geoms, leaf_bodies, internal, children = self._trees  # internal, children: per level
        boxes = np.zeros((nodes, 6))
        boxes[: len(leaf_geoms)] = leaf_boxes(
            rows["geom_pos"][leaf_geoms], rows["geom_quat"][leaf_geoms], rows["geom_aabb"][leaf_geoms],
            rows["body_ipos"][leaf_bodies], rows["body_iquat"][leaf_bodies],
        )  # fmt: skip
        for level_rows, level_children in zip(internal, children, strict=True):  # lowest inner nodes first
            a, b = boxes[level_children[:, 0]], boxes[level_children[:, 1]]
            low = np.minimum(a[:, :3] - a[:, 3:], b[:, :3] - b[:, 3:])
            high = np.maximum(a[:, :3] + a[:, 3:], b[:, :3] + b[:, 3:])
            boxes[level_rows] = np.concatenate([(low + high) / 2, (high - low) / 2], axis=1)
        return boxes[self._tree_order]

    def shape_of(self, person: HumanConfig) -> BodyShape:
        """The compiled body of ``person`` (their sex and stature) in this scene's posture and furniture."""
        return body_shape(shape_config(self.structure, person.sex, int(person.stature_percentile)))

    def apply(self, sim: Simulation, ids: np.ndarray, people: list[HumanConfig]) -> list[LaidOut]:
        """Give simulations ``ids`` the bodies of ``people`` (their sex, stature and body mass: the segments'
        masses and inertias scale so that the body weighs what was drawn); return their shapes laid out (each
        with its resting pose). Run ``set_const`` afterwards: the weights and inertias the solver derives at the
        reference pose change."""
        shapes = [self.laid_out(p) for p in people]
        mass_scale = np.array([p.body_mass_kg for p in people]) / self.built_mass_kg
        fields = {f: sim.per_sim_model_field(f) for f in self.targets}
        for sim_id, shape, scale in zip(ids, shapes, mass_scale, strict=True):
            rows = shape.rows
            for f, values in rows.items():
                fields[f][sim_id, self.targets[f]] = values
            for f in ("body_mass", "body_inertia"):
                fields[f][sim_id, self.scaled_bodies] = rows[f][self.scaled_rows] * scale
        return shapes


def _bounding_trees(model: mujoco.MjModel, bodies: np.ndarray, geoms: np.ndarray) -> tuple[tuple, np.ndarray]:
    """The bounding-volume trees of ``bodies`` laid out for ``ShapeBinding._bounding_volumes``: the leaves first
    (the row of each one's geom among ``geoms``, and of its body among ``bodies``), then the inner nodes level by
    level from the lowest (each level's rows, and the rows of their two children), so that a level is boxed in
    one product; and the order that puts the rows back in the model's node order (body by body, as ``bvh_aabb``
    holds them)."""
    row_of_geom = {int(g): k for k, g in enumerate(geoms)}
    starts, counts = model.body_bvhadr[bodies], model.body_bvhnum[bodies]
    nodes = np.concatenate([np.arange(a, a + n) for a, n in zip(starts, counts, strict=True)] + [[]]).astype(int)
    body_rows = np.repeat(np.arange(len(bodies)), counts)
    leaf = model.bvh_child[nodes, 0] < 0
    # the new order: leaves, then inner nodes last-to-first within each body (a node's children come after it)
    inner = np.flatnonzero(~leaf)[::-1]
    order = np.concatenate([np.flatnonzero(leaf), inner])  # new row -> the node's row in the model's order
    new_row = np.empty(len(nodes), dtype=int)
    new_row[order] = np.arange(len(nodes))
    first = np.repeat(np.cumsum(counts) - counts, counts)  # each node's body's first node, in the model's order
    children = first[inner, None] + model.bvh_child[nodes[inner]]  # in the model's order
    height = np.zeros(len(nodes), dtype=int)  # a leaf 0, an inner node one more than its higher child
    for k, pair in zip(inner, children, strict=True):  # children first
        height[k] = 1 + height[pair].max()
    levels = [inner[height[inner] == h] for h in range(1, height.max(initial=0) + 1)]
    child_rows = [new_row[first[level, None] + model.bvh_child[nodes[level]]] for level in levels]
    leaf_geoms = np.array([row_of_geom[int(g)] for g in model.bvh_nodeid[nodes[leaf]]], dtype=int)
    trees = (len(nodes), leaf_geoms, body_rows[leaf], [new_row[level] for level in levels], child_rows)
    return trees, new_row


def _geoms_of(model: mujoco.MjModel, body: int) -> np.ndarray:
    return np.arange(model.body_geomadr[body], model.body_geomadr[body] + model.body_geomnum[body])


def _quat_mats(quats: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) of unit quaternions (n, 4), w first."""
    w, x, y, z = quats.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=1)  # fmt: skip


CORNERS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)


def leaf_boxes(pos: np.ndarray, quat: np.ndarray, aabb: np.ndarray, ipos: np.ndarray, iquat: np.ndarray) -> np.ndarray:
    """(centre, half size) in the body's inertial frame of the box around each geom's own box ``aabb`` (centre,
    half size, in the geom's frame), for geoms at ``pos``/``quat`` in bodies whose inertial frames are
    ``ipos``/``iquat``; every argument has a row per geom."""
    corners = CORNERS[None] * aabb[:, None, 3:] + aabb[:, None, :3]  # (n, 8, 3) in the geom's frame
    in_body = np.einsum("nij,nkj->nki", _quat_mats(quat), corners) + (pos - ipos)[:, None]
    in_inertial = np.einsum("nji,nkj->nki", _quat_mats(iquat), in_body)
    low, high = in_inertial.min(axis=1), in_inertial.max(axis=1)
    return np.concatenate([(low + high) / 2, (high - low) / 2], axis=1)
