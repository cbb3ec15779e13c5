"""NutBolt: pick a hex nut off the bench and place it over a standing M20 bolt, seated on the bolt's head.

Scene: a Panda-class arm on a workbench; a hex nut for an M20 bolt, 18 mm high (ISO 4032's M20 height) and 34 mm
across flats (a heavy-series width rather than ISO 4032's 30 mm, see below), lies flat on the bench at a random
position and yaw; a fixture (a mocap body) holds the bolt upright: a 36 mm head flange 12 mm high and a 20 mm
shank reaching 40 mm above it with a rounded end (the lead-in). Threads are not modelled (the issue's harder
variant): the nut slides down the shank.

Success: the nut is seated (its lower face within ``seat_tolerance_m`` = 3 mm of the head, its axis within
``bolt_tolerance_m`` of the bolt's and tilted under 10 degrees), at rest (under 3 cm/s) and released (jaws 8 mm
wider than the nut). Fail: the nut leaves the bench.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the nut, grasp it, lift it, align it over the bolt,
lower it down the shank (fraction of the way while on the axis), success. Sparse reward: 1 on success.
Figures in info: ``nut_height_m`` (nut's lower face above the head), ``lateral_error_m`` (nut axis to bolt axis).
Randomized per episode: nut position and yaw, bolt fixture position (±3 cm), nut mass (40-90 g; steel at this
size is about 70 g; the inertia scales with it) and nut friction (0.3-0.6; Factory uses 0.3 for nuts and bolts).

Contact choices:
- The nut is six convex trapezoidal prisms (``parts.add_prism_ring``) around a hexagonal bore with an inscribed
  radius of 11 mm (1 mm radial clearance to the shank at the flats), never one mesh, which MuJoCo would collide
  as its filled convex hull. The prisms meet edge to edge, so each jaw presses one flat face.
- The jaws squeeze with 70 N through the arm's soft finger contacts (they take priority), and a flat face pressed
  that hard sinks 2-4 mm into the part; with ISO 4032's 4 mm walls a jaw could push through into the bore, so
  the walls are 6 mm (34 mm across flats).
- The shank is a capsule: box-capsule contacts are analytic and its round end centres a nut that arrives up to
  ~8 mm off the axis. Stiff contacts (``solref`` 4 ms, ``solimp`` width 0.5 mm) and zero margins, as in
  PegInsertion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.robot import RIGID_HOLD_BAND_M
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import panda, parts, props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, per_sim_uniform, tolerance, yaw_quat
from embodia.envs.tasks.registry import register_task

BENCH_TOP_Z = 0.75
ROBOT_BASE = (0.0, 0.0, BENCH_TOP_Z)
FIXTURE_CENTER = np.array([0.52, 0.15, BENCH_TOP_Z])
NUT_REGION = ((0.42, 0.58), (-0.25, -0.1))  # (x range, y range) of the nut on the bench
NUT_ACROSS_FLATS_M = 0.034
NUT_HEIGHT_M = 0.018
NUT_BORE_RADIUS_M = 0.011
SHANK_RADIUS_M = 0.010
SHANK_LENGTH_M = 0.040  # above the head, including the rounded end
HEAD_RADIUS_M = 0.018  # 36 mm flange
HEAD_HEIGHT_M = 0.012
PLATE_HALF_M = 0.04
PLATE_THICKNESS_M = 0.006
HEAD_TOP_M = PLATE_THICKNESS_M + HEAD_HEIGHT_M  # above the fixture's origin
STEEL_DENSITY_KG_M3 = 7850.0  # Factory's nut and bolt density
NUT_CONTACT = parts.Contact(friction=(0.4, 0.005, 0.0001))
BOLT_CONTACT = parts.Contact(friction=(0.3, 0.005, 0.0001))


#: the TCP within this of the nut's centre, jaws across its flats: grasped
GRASP_REACH_M = 0.02
#: the nut lies level on the bolt's head when its axis is within 10 degrees of vertical
MAX_TILT_DEG = 10


@dataclass(frozen=True)
class NutBoltConfig(TaskConfig):
    episode_steps: int = 200
    seat_tolerance_m: float = 0.003
    bolt_tolerance_m: float = 0.003
    nut_mass_kg: tuple[float, float] = (0.04, 0.09)
    nut_friction: tuple[float, float] = (0.3, 0.6)
    fixture_jitter_m: float = 0.03
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_align: float = 2.0
    w_lower: float = 3.0
    w_success: float = 5.0


@register_task("embodia/NutBolt-v0")
class NutBolt(Task):
    Config = NutBoltConfig
    description = "factory: pick a hex nut off the bench and place it over a bolt, seated on the bolt's head"

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("nut_bolt", self.config.physics)
        props.add_room(builder)
        props.add_table(builder, "bench", (0.35, 0.0), BENCH_TOP_Z, (0.55, 0.65), "bench")
        panda.mount(builder, ROBOT_BASE)
        bolt = builder.world.add_body(name="bolt", pos=FIXTURE_CENTER.tolist(), mocap=True)
        bolt.add_geom(
            name="bolt_plate",
            type=GEOM.mjGEOM_BOX,
            pos=[0, 0, PLATE_THICKNESS_M / 2],
            size=[PLATE_HALF_M, PLATE_HALF_M, PLATE_THICKNESS_M / 2],
            material="dark_steel",
            **BOLT_CONTACT.kwargs(),
        )
        bolt.add_geom(
            name="bolt_head",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[0, 0, PLATE_THICKNESS_M + HEAD_HEIGHT_M / 2],
            size=[HEAD_RADIUS_M, HEAD_HEIGHT_M / 2, 0],
            material="steel",
            **BOLT_CONTACT.kwargs(),
        )
        # a capsule from inside the head to the shank's rounded end
        bolt.add_geom(
            name="bolt_shank",
            type=GEOM.mjGEOM_CAPSULE,
            fromto=[0, 0, HEAD_TOP_M - 0.005, 0, 0, HEAD_TOP_M + SHANK_LENGTH_M - SHANK_RADIUS_M],
            size=[SHANK_RADIUS_M, 0, 0],
            material="steel",
            **BOLT_CONTACT.kwargs(),
        )
        bolt.add_site(name="bolt_seat", pos=[0, 0, HEAD_TOP_M], size=[0.004, 0, 0], group=4)
        nut = builder.add_free_body("nut", pos=[0.5, -0.15, BENCH_TOP_Z])
        builder.add_material("nut", (0.75, 0.72, 0.5, 1), specular=0.8, shininess=0.7)
        parts.add_prism_ring(
            builder.spec,
            nut,
            "nut",
            bore_radius_m=NUT_BORE_RADIUS_M,
            outer_radius_m=NUT_ACROSS_FLATS_M / 2,
            height_m=NUT_HEIGHT_M,
            segments=6,
            material="nut",
            contact=NUT_CONTACT,
            density_kg_m3=STEEL_DENSITY_KG_M3,
        )
        builder.add_camera("front", pos=(1.0, -0.4, 1.1), target=(0.5, -0.02, 0.8), fovy_deg=40)
        builder.add_camera("side", pos=(0.55, -0.9, 1.1), target=(0.52, 0.1, 0.78), fovy_deg=45)
        builder.add_camera("top", pos=(0.5, 0.0, 1.9), target=(0.5, 0.0, 0.75), fovy_deg=50)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.nut_body = model.body("nut").id
        self.nut_geoms = np.array([model.geom(f"nut_{k}").id for k in range(6)])
        self.nut_qpos, self.nut_qvel = joint_addresses(model, "nut")
        self.bolt_mocap = int(model.body_mocapid[model.body("bolt").id])
        self.seat_site = model.site("bolt_seat").id
        self.robot = context.robot

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        jitter = per_sim_uniform(rngs, -cfg.fixture_jitter_m, cfg.fixture_jitter_m, (2,))
        sim.batch.bind("mocap_pos")[ids, self.bolt_mocap] = FIXTURE_CENTER + np.pad(jitter, ((0, 0), (0, 1)))
        (x_low, x_high), (y_low, y_high) = NUT_REGION
        xy = per_sim_uniform(rngs, (x_low, y_low), (x_high, y_high), (2,))
        yaw = per_sim_uniform(rngs, -np.pi, np.pi)
        mass = per_sim_uniform(rngs, *cfg.nut_mass_kg)
        friction = per_sim_uniform(rngs, *cfg.nut_friction)
        sim.set_body_mass(ids, self.nut_body, mass)
        sim.per_sim_model_field("geom_friction")[np.ix_(ids, self.nut_geoms, [0])] = friction[:, None, None]
        adr = self.nut_qpos
        sim.qpos[ids, adr : adr + 2] = xy
        sim.qpos[ids, adr + 2] = BENCH_TOP_Z + 0.0005
        sim.qpos[ids, adr + 3 : adr + 7] = yaw_quat(yaw)
        sim.qvel[ids, self.nut_qvel : self.nut_qvel + 6] = 0.0
        sim.batch.set_const(ids)

    # ---------------------------------------------------------------------------------- figures
    def _nut(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
        """Centre of the nut's lower face and its axis, (n, 3) each."""
        axis = sim.xmat[:, self.nut_body].reshape(-1, 3, 3)[:, :, 2]
        return sim.xpos[:, self.nut_body], axis

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        base, axis = self._nut(sim)
        centre = base + axis * (NUT_HEIGHT_M / 2)
        seat = sim.site_xpos[:, self.seat_site]
        tcp = self.robot.tcp_pos(sim)
        speed = np.linalg.norm(sim.qvel[:, self.nut_qvel : self.nut_qvel + 3], axis=1)
        height = base[:, 2] - seat[:, 2]
        lateral = np.linalg.norm(base[:, :2] - seat[:, :2], axis=1)
        tcp_to_nut = np.linalg.norm(centre - tcp, axis=1)
        grasped = self.robot.holds(sim, tcp_to_nut, NUT_ACROSS_FLATS_M, GRASP_REACH_M, RIGID_HOLD_BAND_M)
        on_bolt = lateral < cfg.bolt_tolerance_m
        level = axis[:, 2] > np.cos(np.radians(MAX_TILT_DEG))
        seated = (np.abs(height) < cfg.seat_tolerance_m) & on_bolt & level
        released = self.robot.released(sim, NUT_ACROSS_FLATS_M)
        return {
            "success": seated & released & (speed < criteria.AT_REST_SPEED_M_S),
            "fail": base[:, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M,
            "grasped": grasped,
            "seated": seated,
            "released": released,
            "nut_height_m": height,
            "lateral_error_m": lateral,
            "lift_m": base[:, 2] - BENCH_TOP_Z,
            "tcp_to_nut_m": tcp_to_nut,
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        grasped = ev["grasped"].astype(float)
        base, _ = self._nut(sim)
        above_bolt = sim.site_xpos[:, self.seat_site] + np.array(
            [0.0, 0.0, SHANK_LENGTH_M + criteria.ALIGN_CLEARANCE_M]
        )
        on_axis = ev["lateral_error_m"] < NUT_BORE_RADIUS_M - SHANK_RADIUS_M + criteria.ON_AXIS_SLACK_M
        lowering = np.maximum(grasped, ev["seated"]) * on_axis
        return {
            "reach": tolerance(ev["tcp_to_nut_m"], criteria.REACH_SCALE_M),
            "grasp": grasped,
            "lift": grasped * np.clip(ev["lift_m"] / criteria.LIFT_HEIGHT_M, 0.0, 1.0),
            "align": np.maximum(grasped, on_axis)
            * tolerance(np.linalg.norm(base - above_bolt, axis=1), criteria.PLACE_SCALE_M),
            "lower": lowering * np.clip(1.0 - ev["nut_height_m"] / SHANK_LENGTH_M, 0.0, 1.0),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_nut_pos": (3,),
            "task_nut_quat": (4,),
            "task_bolt_seat_pos": (3,),
            "task_nut_to_seat": (3,),
            "task_nut_to_tcp": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        base, _ = self._nut(sim)
        seat = sim.site_xpos[:, self.seat_site]
        return {
            "task_nut_pos": base,
            "task_nut_quat": sim.xquat[:, self.nut_body],
            "task_bolt_seat_pos": seat,
            "task_nut_to_seat": seat - base,
            "task_nut_to_tcp": base - self.robot.tcp_pos(sim),
        }

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        base, axis = self._nut(sim)
        return {
            "nut_pos": base,
            "nut_centre": base + axis * (NUT_HEIGHT_M / 2),
            "nut_quat": sim.xquat[:, self.nut_body],
            "nut_width_m": np.full(sim.num_sims, NUT_ACROSS_FLATS_M),
            "bolt_seat": sim.site_xpos[:, self.seat_site].copy(),
        }
