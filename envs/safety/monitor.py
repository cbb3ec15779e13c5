"""Per-step ISO/TS 15066 accounting over a batch: contact force and pressure per body region, robot speed.

Forces come from MuJoCo contact sensors added at build time, one per (person geom, partner subtree): the robot
and any held tool. Each reports its ``CONTACT_SLOTS`` strongest contacts (normal force in the contact frame and
penetration), so a region's force is the sum of the normal forces of the robot's contacts on its geoms.

Pressure is an estimate: each contact's area is the cap a surface of the person's curvature radius ``r`` loses
at the solver's penetration ``d`` (``pi (2 r d - d^2)``, at least ``MIN_CONTACT_AREA_CM2``); flat geoms (the
palm) use ``FLAT_GEOM_RADIUS_M``, the scale of the robot's fingertip pads. The region pressure is the largest
contact pressure on it.

Speed: the TCP and the robot's link origins closer than ``speed_check_distance_m`` to the person (each person
geom approximated by a segment with a radius) are checked against the permissible transient-contact speed of
the nearest region from the two-body model (``iso15066.permissible_speed_m_s``), with the robot's moving mass
and payload. Speeds are the displacement over the control period (robot speed; the person's own motion, a few
cm/s at most, is neglected). Regions where transient contact is not permitted (skull, face) have speed 0: any
robot motion that close to the head counts as exceeding.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.physics.sim import Simulation
from embodia.envs.safety import iso15066
from embodia.envs.scene.builder import SceneBuilder

CONTACT_SLOTS = 3
SLOT_VALUES = 5  # found, force (normal, tangent, tangent), dist
MIN_CONTACT_AREA_CM2 = 0.5
FLAT_GEOM_RADIUS_M = 0.01


@dataclass(frozen=True)
class SafetyOptions:
    """How strictly contacts and speeds are judged."""

    speed_check_distance_m: float = 0.1
    limit_scale: float = 1.0  # < 1: a margin under the standard's adult limits for frail people

    def __post_init__(self) -> None:
        if not self.speed_check_distance_m >= 0:
            raise ValueError(f"speed_check_distance_m={self.speed_check_distance_m!r} must be >= 0")
        if not 0 < self.limit_scale <= 1:
            raise ValueError(f"limit_scale={self.limit_scale!r} is out of range; valid: (0, 1]")


def add_contact_sensors(builder: SceneBuilder, region_of_geom: dict[str, str], partners: dict[str, str]) -> None:
    """One contact sensor per (person geom, partner body subtree); ``partners`` maps a label to a body name."""
    fields = mujoco.mjtConDataField
    data = sum(1 << int(f) for f in (fields.mjCONDATA_FOUND, fields.mjCONDATA_FORCE, fields.mjCONDATA_DIST))
    for geom in region_of_geom:
        for label, body in partners.items():
            sensor = builder.spec.add_sensor(name=f"safety/{geom}/{label}", type=mujoco.mjtSensor.mjSENS_CONTACT)
            sensor.objtype = mujoco.mjtObj.mjOBJ_GEOM
            sensor.objname = geom
            sensor.reftype = mujoco.mjtObj.mjOBJ_XBODY  # the body's subtree
            sensor.refname = body
            sensor.intprm[0] = data
            sensor.intprm[1] = 2  # reduce: the strongest contacts first
            sensor.intprm[2] = CONTACT_SLOTS


def _segment_approximations(size: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, ...]:
    """(local axis, half length, radius, curvature radius), each (n, geoms), of geoms of ``size`` (n, geoms, 3)
    and type ``kind`` (geoms,) seen as segments with a radius: a capsule's or sphere's own; an ellipsoid's and a
    box's along its longest side (a box's radius covers its cross-section's corners; flat, so its curvature is
    ``FLAT_GEOM_RADIUS_M``)."""
    ordered = np.sort(size, axis=-1)  # once per reset: one sort, not an argsort and three gathers
    shortest, middle, longest = ordered[..., 0], ordered[..., 1], ordered[..., 2]
    capsule = kind == mujoco.mjtGeom.mjGEOM_CAPSULE
    sphere = kind == mujoco.mjtGeom.mjGEOM_SPHERE
    ellipsoid = kind == mujoco.mjtGeom.mjGEOM_ELLIPSOID
    round_ = capsule | sphere
    axis = np.where(round_, 2, 2 - np.argmax(size[..., ::-1], axis=-1))  # the longest side; of equal ones, the last
    half = np.where(capsule, size[..., 1], np.where(sphere, 0.0, np.where(ellipsoid, longest - middle, longest)))
    radius = np.where(round_, size[..., 0], np.where(ellipsoid, middle, np.hypot(shortest, middle)))
    curvature = np.where(round_, size[..., 0], np.where(ellipsoid, shortest, FLAT_GEOM_RADIUS_M))
    return axis, half, radius, curvature


class SafetyMonitor:
    """Resolves the sensors once; ``measure`` turns a step's physics into ``info["safety"]``."""

    def __init__(
        self,
        model: mujoco.MjModel,
        num_sims: int,
        region_of_geom: dict[str, str],
        partners: dict[str, str],
        robot_bodies: list[str],
        tcp_site: str,
        control_dt_s: float,
        options: SafetyOptions | None = None,
    ) -> None:
        self.options = options or SafetyOptions()
        self.dt = control_dt_s
        geoms = sorted(region_of_geom, key=lambda g: iso15066.REGION_NAMES.index(region_of_geom[g]))  # by region
        self.geom_ids = np.array([model.geom(g).id for g in geoms])
        self.geom_region = np.array([iso15066.REGION_NAMES.index(region_of_geom[g]) for g in geoms])
        adr = [[model.sensor(f"safety/{g}/{p}").adr[0] for p in partners] for g in geoms]
        # (geoms, partners, slots, values) indices into sensordata
        self.sensor_index = np.asarray(adr)[:, :, None, None] + (
            np.arange(CONTACT_SLOTS)[:, None] * SLOT_VALUES + np.arange(SLOT_VALUES)[None, :]
        )
        self.present_regions, self.region_starts = np.unique(self.geom_region, return_index=True)
        self.geom_types = model.geom_type[self.geom_ids].astype(int)
        # (n, geoms) each: a person's size may differ per simulation (``reset`` reads it)
        self.geom_axis = np.zeros((num_sims, len(geoms)), dtype=int)
        self.geom_half_length = np.zeros((num_sims, len(geoms)))
        self.geom_radius = np.zeros((num_sims, len(geoms)))
        self.geom_curvature = np.zeros((num_sims, len(geoms)))
        self._approximate(np.arange(num_sims), np.broadcast_to(model.geom_size, (num_sims, *model.geom_size.shape)))
        self.robot_bodies = np.array([model.body(b).id for b in robot_bodies])
        self.tcp_site = model.site(tcp_site).id
        moving = self.robot_bodies[model.body_weldid[self.robot_bodies] != 0]  # not the base welded to the world
        self.robot_moving_mass_kg = float(model.body_mass[moving].sum())
        scale = self.options.limit_scale
        self.quasi_static_n = iso15066.limit_array("quasi_static_force_n") * scale
        self.transient_n = np.nan_to_num(iso15066.limit_array("transient_force_n") * scale, nan=0.0)
        self.quasi_static_p = iso15066.limit_array("quasi_static_pressure_n_per_cm2") * scale
        self.transient_p = np.nan_to_num(iso15066.limit_array("transient_pressure_n_per_cm2") * scale, nan=0.0)
        self.region_mass_kg = iso15066.limit_array("effective_mass_kg")
        self.region_stiffness_n_per_m = iso15066.limit_array("spring_constant_n_per_mm") * 1000.0
        self.previous_points = np.zeros((num_sims, len(self.robot_bodies) + 1, 3))
        self.fresh = np.ones(num_sims, dtype=bool)
        self._geom_xpos: np.ndarray | None = None
        self._geom_xmat: np.ndarray | None = None
        self._last: tuple[tuple[int, bytes], dict[str, object]] | None = None

    def _robot_points(self, sim: Simulation) -> np.ndarray:
        return np.concatenate([sim.xpos[:, self.robot_bodies], sim.site_xpos[:, self.tcp_site][:, None]], axis=1)

    def _approximate(self, ids: np.ndarray, geom_size: np.ndarray) -> None:
        """Each geom of the person as a segment with a radius, in the simulations ``ids``; and the indices that
        pick each geom's long axis (a column of its rotation matrix) out of ``geom_xmat`` in one step."""
        sizes = np.asarray(geom_size)[np.asarray(ids)][:, self.geom_ids, :3]  # (len(ids), geoms, 3)
        axis, half, radius, curvature = _segment_approximations(sizes, self.geom_types)
        self.geom_axis[ids], self.geom_half_length[ids] = axis, half
        self.geom_radius[ids], self.geom_curvature[ids] = radius, curvature
        num_sims = self.geom_axis.shape[0]
        self._axis_rows = np.arange(num_sims)[:, None, None]
        self._axis_geoms = self.geom_ids[None, :, None]
        self._axis_columns = self.geom_axis[:, :, None] + 3 * np.arange(3)  # row-major 3x3: element (r, c) at 3r + c

    def reset(self, sim: Simulation, ids: np.ndarray) -> None:
        """Before the reset's forward pass (which fills the geometry this binds), after the person's size is set."""
        sizes = sim.batch.expanded("geom_size")
        if sizes is not None:
            self._approximate(ids, sizes)
        if self._geom_xpos is None:
            self._geom_xpos = sim.bound("geom_xpos")
            self._geom_xmat = sim.bound("geom_xmat")
        self.fresh[ids] = True
        self._last = None

    def before_physics(self, sim: Simulation) -> None:
        """Remember where the robot is, for this control period's speeds."""
        self.previous_points[:] = self._robot_points(sim)
        self.fresh[:] = False
        self._last = None

    def measure(self, sim: Simulation, payload_kg: np.ndarray) -> dict[str, object]:
        """This step's safety figures, (n,) arrays (``force_n`` and ``pressure_n_per_cm2`` per region).

        Measured once per state: asked again with the same payload before the simulations change (a task's
        evaluation, then its privileged state), it returns the same result, which callers must not modify."""
        payload_kg = np.asarray(payload_kg, dtype=float)
        key = (sim.generation, payload_kg.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        result = self._measure(sim, payload_kg)
        self._last = (key, result)
        return result

    def _measure(self, sim: Simulation, payload_kg: np.ndarray) -> dict[str, object]:
        n = sim.num_sims
        regions = iso15066.REGION_NAMES
        force = np.zeros((n, len(regions)))
        pressure = np.zeros((n, len(regions)))
        slots = sim.sensordata[:, self.sensor_index]  # (n, geoms, partners, slots, values)
        found = slots[..., 0] > 0
        if found.any():  # most steps touch no one: then every force and pressure is 0 and no limit is exceeded
            normal = np.where(found, np.abs(slots[..., 1]), 0.0)
            depth = np.where(found, np.maximum(-slots[..., 4], 0.0), 0.0)
            curvature = self.geom_curvature[:, :, None, None]
            area_cm2 = np.pi * np.maximum(2 * curvature * depth - depth**2, 0.0) * 1e4
            area_cm2 = np.maximum(area_cm2, MIN_CONTACT_AREA_CM2)
            geom_force = normal.sum(axis=(2, 3))  # (n, geoms)
            geom_pressure = (normal / area_cm2).max(axis=(2, 3))
            force[:, self.present_regions] = np.add.reduceat(geom_force, self.region_starts, axis=1)
            pressure[:, self.present_regions] = np.maximum.reduceat(geom_pressure, self.region_starts, axis=1)
            quasi_static = ((force > self.quasi_static_n) | (pressure > self.quasi_static_p)).any(axis=1)
            transient = ((force > self.transient_n) | (pressure > self.transient_p)).any(axis=1)
        else:
            quasi_static = transient = np.zeros(n, dtype=bool)
        points = self._robot_points(sim)
        distance, nearest_region = self._distance_to_person(sim, points)  # (n, points)
        speed = np.linalg.norm(points - self.previous_points, axis=2) / self.dt
        speed[self.fresh] = 0.0
        permitted = self._permissible_speeds(payload_kg)  # (n, regions)
        rows = np.arange(n)
        allowed = permitted[rows[:, None], nearest_region]
        near = distance < self.options.speed_check_distance_m
        closest = np.argmin(distance, axis=1)
        nearest_speed = np.where(near[rows, closest], speed[rows, closest], 0.0)
        return {
            "max_contact_force_n": force.max(axis=1),
            "force_n": {name: force[:, r] for r, name in enumerate(regions)},  # fresh arrays every step
            "pressure_n_per_cm2": {name: pressure[:, r] for r, name in enumerate(regions)},
            "quasi_static_exceeded": quasi_static,
            "transient_exceeded": transient.copy(),
            "speed_limit_exceeded": (near & (speed > allowed)).any(axis=1),
            "nearest_distance_m": distance[rows, closest],
            "nearest_region": nearest_region[rows, closest].astype(np.int64),
            "nearest_region_speed_m_s": nearest_speed,
            "nearest_region_permissible_speed_m_s": allowed[rows, closest],
        }

    def _permissible_speeds(self, payload_kg: np.ndarray) -> np.ndarray:
        """``iso15066.permissible_speed_m_s`` for every region at once: (n, regions), 0 where not permitted."""
        robot_mass = self.robot_moving_mass_kg / 2.0 + np.asarray(payload_kg, dtype=float)[:, None]
        reduced = 1.0 / (1.0 / self.region_mass_kg + 1.0 / robot_mass)
        return self.transient_n / np.sqrt(reduced * self.region_stiffness_n_per_m)

    def _distance_to_person(self, sim: Simulation, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, P) distance from each robot point (``points``, (n, P, 3)) to the person's surface, and the nearest
        region index. Runs every step, so it is written as products of (n, P, 3) by (n, 3, G) arrays: the squared
        distance to a segment from ``start`` along ``seg`` at the clamped fraction ``t`` is
        ``|p - start|^2 - t (2 (p - start).seg - t |seg|^2)``. Forming ``p - start`` for every point and geom, as
        the textbook does, took four times as long at 64 simulations (1.3 against 0.3 ms per step on Handover);
        the two agree to 1e-14 m."""
        centre = self._geom_xpos[:, self.geom_ids]  # (n, G, 3)
        axis = self._geom_xmat[self._axis_rows, self._axis_geoms, self._axis_columns]  # (n, G, 3): the long axis
        half = self.geom_half_length[:, :, None]
        start = centre - axis * half
        seg = (centre + axis * half) - start
        length2 = np.maximum(np.einsum("ngk,ngk->ng", seg, seg), 1e-12)[:, None, :]  # (n, 1, G)
        start_along = np.einsum("ngk,ngk->ng", start, seg)[:, None, :]
        along = points @ seg.transpose(0, 2, 1) - start_along  # (n, P, G): (p - start).seg
        t = np.clip(along / length2, 0.0, 1.0)
        from_start2 = (
            np.einsum("npk,npk->np", points, points)[:, :, None]
            - 2.0 * (points @ start.transpose(0, 2, 1))
            + np.einsum("ngk,ngk->ng", start, start)[:, None, :]
        )  # (n, P, G): |p - start|^2
        apart2 = from_start2 - t * (2.0 * along - t * length2)
        gap = np.sqrt(np.maximum(apart2, 0.0)) - self.geom_radius[:, None, :]  # (n, P, G)
        nearest_geom = np.argmin(gap, axis=2)
        return np.maximum(gap.min(axis=2), 0.0), self.geom_region[nearest_geom]
