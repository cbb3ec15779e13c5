"""PegInsertion: pick a round steel peg off the bench and insert it into the blind hole of a fixture.

Scene: a Panda-class arm on a workbench; a Ø16 mm x 60 mm peg stands upright on the bench (the NIST Task
Board's 16 mm round peg, Factory's 50-60 mm peg length, Narang et al. 2022); a fixture (a mocap body) holds a
25 mm deep blind hole (IndustReal's holes are 23 mm deep) with a 45 degree, 3 mm lead-in chamfer. The radial
clearance between peg and hole is the ``clearance_m`` kwarg: 1 mm by default, valid from 0.3 mm to 5 mm.

Success: the peg is seated (its end within ``seat_tolerance_m`` = 3 mm of the hole floor, IndustReal's threshold,
axis within 8 degrees of vertical, its end inside the bore), at rest (under 3 cm/s) and released (jaws 8 mm
wider than the peg). Fail: the peg leaves the bench.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the peg, grasp it, lift it, align its end on the hole's
axis (the line from the hole's floor to 1 cm above its mouth), insert it (depth fraction while on the axis),
release it (the jaws' opening from the peg's width to released, once it is seated), success. Each stage's term
stays full through the stages after it (inserted, the peg is still "lifted" and "aligned"), so that the expert's
own path earns more at every stage. Sparse reward: 1 on success.
Figures in info: ``insertion_depth_m`` (peg end below the hole's rim), ``lateral_error_m`` (peg end to the hole
axis), ``clearance_m``.
Randomized per episode: peg position on the bench, fixture position (±3 cm), peg mass (60-150 g; steel at this
size is 95 g) and peg friction (0.4-0.8; Factory/IndustReal use 0.5-1.0).

Contact at small clearances, chosen deliberately:
- The hole is a ring of 16 boxes (``envs/scene/parts.py``), never a mesh: MuJoCo collides meshes as their convex
  hulls, which would fill the hole. The peg is a cylinder (flat end, so it stands on the bench); cylinder-box
  pairs go through MuJoCo's convex collider with ``multiccd`` for the flat end on the floor.
- Margin 0 on peg and hole: margins add up per pair, and any margin near the clearance makes the walls push on a
  centred peg.
- Stiff, nearly hard contacts on both: ``solref`` (0.004 s, 1), twice the 2 ms timestep (MuJoCo's stability
  floor), ``solimp`` (0.95, 0.99, 0.5 mm): the soft layer is thinner than the smallest clearance, so a peg pressed
  sideways does not sink into the wall.
- The timestep stays 2 ms: the peg moves at most 0.25 m/s while lowered, 0.5 mm per step, against 10 mm walls.
- The hole's friction is low (0.3) so the pair friction is the peg's (MuJoCo takes the larger of the two).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.robot import RIGID_HOLD_BAND_M
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import parts
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.workbench import BENCH_TOP_Z, add_workbench_cell
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, approach, drop_line_distance, per_sim_uniform
from embodia.envs.tasks.registry import register_task
from embodia.envs.validation import option

FIXTURE_CENTER = np.array([0.52, 0.15, BENCH_TOP_Z])
PEG_REGION = ((0.42, 0.58), (-0.25, -0.1))  # (x range, y range) of the peg on the bench
PEG_RADIUS_M = 0.008
PEG_HALF_LENGTH_M = 0.03
GRASP_BELOW_TOP_M = 0.012  # TCP this far below the peg's top end: 39 mm of peg below the fingertips
PLATE_HALF_M = 0.04
PLATE_THICKNESS_M = 0.008
HOLE_DEPTH_M = 0.025
CHAMFER_M = 0.003
WALL_M = 0.01
SEGMENTS = 16
PEG_CONTACT = parts.Contact(friction=(0.6, 0.005, 0.0001))
HOLE_CONTACT = parts.Contact(friction=(0.3, 0.005, 0.0001))


#: the TCP within this of the peg's grasp point, jaws around it: grasped
GRASP_REACH_M = 0.02
#: seated pegs are centred in the hole to within its clearance plus 1 mm (the peg may lean on the chamfer)
SEATED_LATERAL_SLACK_M = 0.001
#: a seated peg stands within 8 degrees of vertical
MAX_TILT_DEG = 8


@dataclass(frozen=True)
class PegInsertionConfig(TaskConfig):
    episode_steps: int = 200
    clearance_m: float = option(0.001, valid=(0.0003, 0.005), unit="m", doc="radial: hole radius minus peg radius")
    seat_tolerance_m: float = 0.003
    peg_mass_kg: tuple[float, float] = (0.06, 0.15)
    peg_friction: tuple[float, float] = (0.4, 0.8)
    fixture_jitter_m: float = 0.03
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_align: float = 2.0
    w_insert: float = 3.0
    w_release: float = 1.0
    w_success: float = 5.0


@register_task("embodia/PegInsertion-v0")
class PegInsertion(Task):
    Config = PegInsertionConfig
    description = "factory: pick a peg off the bench and insert it into a fixture's hole (radial clearance a kwarg)"

    def build_scene(self) -> SceneBuilder:
        cfg = self.config
        builder = SceneBuilder("peg_insertion", cfg.physics)
        add_workbench_cell(builder)
        fixture = builder.world.add_body(name="fixture", pos=FIXTURE_CENTER.tolist(), mocap=True)
        fixture.add_geom(
            name="fixture_plate",
            type=GEOM.mjGEOM_BOX,
            pos=[0, 0, PLATE_THICKNESS_M / 2],
            size=[PLATE_HALF_M, PLATE_HALF_M, PLATE_THICKNESS_M / 2],
            material="dark_steel",
            **HOLE_CONTACT.kwargs(),
        )
        parts.add_ring(
            fixture,
            "hole_wall",
            bore_radius_m=PEG_RADIUS_M + cfg.clearance_m,
            wall_m=WALL_M,
            height_m=HOLE_DEPTH_M,
            base_z_m=PLATE_THICKNESS_M,
            segments=SEGMENTS,
            material="steel",
            contact=HOLE_CONTACT,
            chamfer_m=CHAMFER_M,
        )
        fixture.add_site(name="hole_floor", pos=[0, 0, PLATE_THICKNESS_M], size=[0.004, 0, 0], group=4)
        peg = builder.add_free_body("peg", pos=[0.5, -0.15, BENCH_TOP_Z + PEG_HALF_LENGTH_M])
        builder.add_material("peg", (0.85, 0.6, 0.2, 1), specular=0.7, shininess=0.7)
        peg.add_geom(
            name="peg",
            type=GEOM.mjGEOM_CYLINDER,
            size=[PEG_RADIUS_M, PEG_HALF_LENGTH_M, 0],
            material="peg",
            mass=0.095,
            **PEG_CONTACT.kwargs(),
        )
        builder.add_camera("front", pos=(1.0, -0.4, 1.1), target=(0.5, -0.02, 0.8), fovy_deg=40)
        builder.add_camera("side", pos=(0.55, -0.9, 1.1), target=(0.52, 0.1, 0.78), fovy_deg=45)
        builder.add_camera("top", pos=(0.5, 0.0, 1.9), target=(0.5, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("work", pos=(0.97, -0.38, 1.08), target=(0.49, -0.04, 0.82), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.peg_body = model.body("peg").id
        self.peg_geom = model.geom("peg").id
        self.peg_qpos, self.peg_qvel = joint_addresses(model, "peg")
        self.fixture_mocap = int(model.body_mocapid[model.body("fixture").id])
        self.hole_floor_site = model.site("hole_floor").id
        self.robot = context.robot

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        jitter = per_sim_uniform(rngs, -cfg.fixture_jitter_m, cfg.fixture_jitter_m, (2,))
        sim.bound("mocap_pos")[ids, self.fixture_mocap] = FIXTURE_CENTER + np.pad(jitter, ((0, 0), (0, 1)))
        (x_low, x_high), (y_low, y_high) = PEG_REGION
        xy = per_sim_uniform(rngs, (x_low, y_low), (x_high, y_high), (2,))
        mass = per_sim_uniform(rngs, *cfg.peg_mass_kg)
        friction = per_sim_uniform(rngs, *cfg.peg_friction)
        sim.set_body_mass(ids, self.peg_body, mass)
        sim.per_sim_model_field("geom_friction")[ids, self.peg_geom, 0] = friction
        adr = self.peg_qpos
        sim.qpos[ids, adr : adr + 2] = xy
        sim.qpos[ids, adr + 2] = BENCH_TOP_Z + PEG_HALF_LENGTH_M + 0.0005
        sim.qpos[ids, adr + 3 : adr + 7] = (1.0, 0.0, 0.0, 0.0)
        sim.qvel[ids, self.peg_qvel : self.peg_qvel + 6] = 0.0
        sim.set_const(ids)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _peg(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Peg centre, axis (its local z in the world) and lower end, (n, 3) each."""
        pos = sim.xpos[:, self.peg_body]
        axis = sim.xmat[:, self.peg_body].reshape(-1, 3, 3)[:, :, 2]
        axis = axis * np.where(axis[:, 2:3] < 0, -1.0, 1.0)  # the end nearer the floor is the lower end
        return pos, axis, pos - axis * PEG_HALF_LENGTH_M

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        pos, axis, end = self._peg(sim)
        floor = sim.site_xpos[:, self.hole_floor_site]
        tcp = self.robot.tcp_pos(sim)
        grasp_point = pos + axis * (PEG_HALF_LENGTH_M - GRASP_BELOW_TOP_M)
        speed = np.linalg.norm(sim.qvel[:, self.peg_qvel : self.peg_qvel + 3], axis=1)
        depth = floor[:, 2] + HOLE_DEPTH_M - end[:, 2]
        lateral = np.linalg.norm(end[:, :2] - floor[:, :2], axis=1)
        tcp_to_grasp = np.linalg.norm(grasp_point - tcp, axis=1)
        peg_width = 2 * PEG_RADIUS_M
        grasped = self.robot.holds(sim, tcp_to_grasp, peg_width, GRASP_REACH_M, RIGID_HOLD_BAND_M)
        on_axis = lateral < cfg.clearance_m + SEATED_LATERAL_SLACK_M
        seated = (
            (depth > HOLE_DEPTH_M - cfg.seat_tolerance_m) & on_axis & (axis[:, 2] > np.cos(np.radians(MAX_TILT_DEG)))
        )
        released = self.robot.released(sim, peg_width)
        return {
            "success": seated & released & (speed < criteria.AT_REST_SPEED_M_S),
            "fail": pos[:, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M,
            "grasped": grasped,
            "seated": seated,
            "released": released,
            "insertion_depth_m": depth,
            "lateral_error_m": lateral,
            "clearance_m": np.full(sim.num_sims, cfg.clearance_m),
            "lift_m": end[:, 2] - BENCH_TOP_Z,
            "tcp_to_peg_m": tcp_to_grasp,
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _, _, end = self._peg(sim)
        hole_floor = sim.site_xpos[:, self.hole_floor_site]
        held = np.maximum(ev["grasped"], ev["seated"]).astype(float)  # holding the peg, or it is seated
        on_axis = ev["lateral_error_m"] < self.config.clearance_m + criteria.ON_AXIS_SLACK_M
        drop = drop_line_distance(end, hole_floor, HOLE_DEPTH_M + criteria.ALIGN_CLEARANCE_M)
        align = held * approach(drop, criteria.PLACE_SCALE_M)
        return {
            "reach": np.maximum(approach(ev["tcp_to_peg_m"], criteria.REACH_SCALE_M), ev["seated"]),
            "grasp": held,
            "lift": held * np.maximum(np.clip(ev["lift_m"] / criteria.LIFT_HEIGHT_M, 0.0, 1.0), align),
            "align": align,
            "insert": held * on_axis * np.clip(ev["insertion_depth_m"] / HOLE_DEPTH_M, 0.0, 1.0),
            "release": ev["seated"] * self.robot.release_progress(sim, 2 * PEG_RADIUS_M),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_peg_pos": (3,),
            "task_peg_quat": (4,),
            "task_peg_end": (3,),
            "task_hole_pos": (3,),
            "task_peg_end_to_hole": (3,),
            "task_peg_to_tcp": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        pos, _, end = self._peg(sim)
        hole = sim.site_xpos[:, self.hole_floor_site] + np.array([0.0, 0.0, HOLE_DEPTH_M])
        return {
            "task_peg_pos": pos,
            "task_peg_quat": sim.xquat[:, self.peg_body],
            "task_peg_end": end,
            "task_hole_pos": hole,
            "task_peg_end_to_hole": hole - end,
            "task_peg_to_tcp": pos - self.robot.tcp_pos(sim),
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.full(sim.num_sims, self.peg_body, dtype=np.int64)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        return (
            "insert the peg into the hole",
            "pick up the steel peg and push it all the way into the fixture's hole",
            "put the round peg into the hole in the fixture",
            "take the peg from the bench and seat it in the hole",
            "grasp the peg, line it up over the hole and insert it",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        pos, axis, end = self._peg(sim)
        return {
            "peg_pos": pos,
            "peg_axis": axis,
            "peg_end": end,
            "peg_grasp_point": pos + axis * (PEG_HALF_LENGTH_M - GRASP_BELOW_TOP_M),
            "peg_width_m": np.full(sim.num_sims, 2 * PEG_RADIUS_M),
            "hole_floor": sim.site_xpos[:, self.hole_floor_site].copy(),
        }
