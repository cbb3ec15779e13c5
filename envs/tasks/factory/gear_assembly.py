"""GearAssembly: pick a spur gear off the bench and lower it onto a shaft so that it meshes with a fixed gear.

Scene: a Panda-class arm on a workbench; a fixture (a mocap body) carries a 20-tooth spur gear that turns freely
on a hinge and, at the meshing centre distance beside it, a bare 12 mm shaft with a 24 mm shoulder. A 15-tooth gear
of the same module (3 mm) lies flat on the bench, hub up, at a random position and yaw. Gear sizes follow the
task boards Factory and IndustReal use (NIST Task Board 1's meshing gears on shafts; IndustReal's gears are 25 mm
high): the loose gear is 10 mm of toothed face plus an 18 mm hub, 28 mm in all; its bore
has 1 mm radial clearance to the shaft.

Success: the gear is seated (its lower face within ``seat_tolerance_m`` = 3 mm of the shoulder, its axis within
``shaft_tolerance_m`` = 2 mm of the shaft's and tilted under 10 degrees) and meshing (its teeth in the fixed
gear's gaps: ``mesh_error_m``, the tooth phase error measured along the pitch circle, within half the backlash plus
0.5 mm), at rest (under 3 cm/s) and released (jaws 6 mm wider than the hub's grip plates). The teeth overlap
7.8 mm in height, so a gear on its shoulder cannot have a tooth standing on a tooth; the tests also drive the
fixed gear's hinge and check that the placed gear turns the other way at the gear ratio (20/15).
Fail: the gear leaves the bench.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the hub, grasp it, lift, align the gear on the shaft's
axis (the line from the seat to 1 cm above the shaft's tip), turn it into mesh phase (while held or seated), lower it
down the shaft (fraction of the way while on the axis), release it (the jaws' opening from the grip plates' width
to released, once seated), success. Each stage's term stays full through the stages
after it (seated, the gear is still "lifted" and "aligned"), so that the expert's own path earns more at every
stage. Sparse reward: 1 on success.
Figures in info: ``seat_height_m`` (gear's lower face above the shoulder), ``lateral_error_m`` (gear axis to shaft
axis), ``mesh_error_m``, ``meshing``.
Randomized per episode: gear position and yaw on the bench, fixture position (±3 cm), the fixed gear's angle
(any), gear mass (150-300 g, steel; the inertia scales with it) and gear friction (0.3-0.7).

Contact choices:
- Primitives only (MuJoCo collides a mesh as its convex hull): the gear's disk is a ring of boxes
  (``parts.add_ring``), the teeth are boxes (``parts.add_spur_teeth``), the hub is square, 28 mm across flats
  around a square 14 mm bore, with two grip plates 36 mm apart on its upper 16 mm, so each jaw pad presses one
  flat box face. The plates date from a hand whose every closing command slammed shut at full force: jaws
  striking a 28 mm hub from 46 mm, or meeting several geoms per face (an octagon of prisms, a ring of boxes with
  coplanar ends), chattered and dropped the gear on one episode in ten. The hand now closes at 0.1 m/s and
  squeezes from its position error; one flat face per pad is still the cleanest contact.
- The gear is steel (7850 kg/m^3, 150-300 g): at IndustReal's 1000 kg/m^3 (about 30 g here) the jaws' soft
  contacts sink several millimetres into the hub and squeeze the part out.
- Box teeth are not involutes: they are 0.35 of the circular pitch wide (standard teeth are 0.5) and the centre
  distance is 0.5 mm over nominal, which leaves ~2.8 mm of backlash along the pitch circle, so straight flanks
  roll through mesh without jamming.
- The loose gear's teeth end below in a 90 degree ridge, the fixed gear's above: a tooth that lands up to a tooth
  width off its gap slides in, and the fixed gear, free on its hinge (light damping, 5e-5 N m s/rad), turns out of
  the way. The expert still turns the wrist to bring the gear into mesh phase before it lowers.
- The shaft is a capsule whose round end centres the bore, which reaches it 16 mm before the teeth meet.
- Stiff contacts (``solref`` 4 ms, ``solimp`` width 0.5 mm) and zero margins, as in PegInsertion and NutBolt.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.robot import RIGID_HOLD_BAND_M
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import parts
from embodia.envs.scene.angles import quat_yaw, wrap
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.scene.workbench import BENCH_TOP_Z, add_workbench_cell
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, approach, drop_line_distance, per_sim_uniform, tolerance
from embodia.envs.tasks.registry import register_task

FIXTURE_CENTER = np.array([0.52, 0.15, BENCH_TOP_Z])
GEAR_REGION = ((0.42, 0.58), (-0.25, -0.1))  # (x range, y range) of the loose gear on the bench
MODULE_M = 0.003
FIXED_TEETH = 20
GEAR_TEETH = 15
GEAR_RATIO = FIXED_TEETH / GEAR_TEETH  # loose gear turns this much per turn of the fixed gear, the other way
CIRCULAR_PITCH_M = np.pi * MODULE_M
TOOTH_WIDTH_M = 0.35 * CIRCULAR_PITCH_M
BACKLASH_M = CIRCULAR_PITCH_M - 2 * TOOTH_WIDTH_M
FIXED_PITCH_RADIUS_M = MODULE_M * FIXED_TEETH / 2
GEAR_PITCH_RADIUS_M = MODULE_M * GEAR_TEETH / 2
CENTRE_DISTANCE_M = FIXED_PITCH_RADIUS_M + GEAR_PITCH_RADIUS_M + 0.0005
FIXED_OFFSET = np.array([0.0, 0.03, 0.0])  # fixed gear's axis from the fixture's origin
SHAFT_OFFSET = FIXED_OFFSET - np.array([0.0, CENTRE_DISTANCE_M, 0.0])
PLATE_THICKNESS_M = 0.006
SEAT_Z_M = 0.018  # shoulder top above the fixture's origin
SHOULDER_RADIUS_M = 0.012
SHAFT_RADIUS_M = 0.006
SHAFT_ABOVE_SEAT_M = 0.024  # the shaft's rounded top above the shoulder
GEAR_FACE_M = 0.010
HUB_HEIGHT_M = 0.028  # from the gear's lower face
HUB_ACROSS_FLATS_M = 0.028
#: the jaws grip two plates 36 mm apart on the hub's upper part; below 12 mm the hub stays 28 mm wide, clear of
#: the fixed gear's teeth
GRIP_ACROSS_M = 0.036
GRIP_FROM_Z_M = 0.012
#: seated gears mesh when the tooth phase is within half the backlash plus 0.5 mm of play at the pitch circle
MESH_SLACK_M = 0.0005
#: the jaws let go of the hub's 36 mm across 6 mm wider (the hub's flats leave less room than a box)
GEAR_RELEASED_MARGIN_M = 0.006
#: the gear lies level on its shoulder when its axis is within 10 degrees of vertical
MAX_TILT_DEG = 10
#: the phase term's scale: a fraction of the 9.4 mm circular pitch
PHASE_SCALE_M = 0.002
BORE_RADIUS_M = 0.007
FIXED_FACE_M = GEAR_FACE_M
#: the fixed gear stands higher than a seated gear by a ridge and 0.5 mm: each gear's ridges then face only the
#: other's straight flanks' ends, never a flank, so driving the mesh does not ramp the loose gear up its shaft
FIXED_BASE_Z_M = SEAT_Z_M + TOOTH_WIDTH_M / 2 + 0.0005
GEAR_DENSITY_KG_M3 = 7850.0  # steel; IndustReal's printed gears (1000) are too light for 70 N jaws (see below)
GEAR_CONTACT = parts.Contact(friction=(0.5, 0.005, 0.0001))
FIXTURE_CONTACT = parts.Contact(friction=(0.3, 0.005, 0.0001))


def mesh_yaw(fixed_angle_rad: np.ndarray, line_angle_rad: np.ndarray) -> np.ndarray:
    """Loose-gear yaw (mod its tooth period) that puts a gap of it where the fixed gear's teeth are at the mesh.

    ``line_angle_rad``: direction from the fixed gear's axis to the shaft. Tooth k of a gear points at its yaw
    + 2 pi k / teeth; along the common tangent at the mesh the fixed gear's teeth sit at arc positions
    r_f (theta_f - line) and the loose gear's gaps at -r_g (theta_g + half a tooth period - line - pi); meshing is
    those being equal modulo the circular pitch.
    """
    gear_period = 2 * np.pi / GEAR_TEETH
    return line_angle_rad + np.pi - gear_period / 2 - GEAR_RATIO * (fixed_angle_rad - line_angle_rad)


#: the TCP within this of the gear's hub, jaws across it: grasped
GRASP_REACH_M = 0.02


@dataclass(frozen=True)
class GearAssemblyConfig(TaskConfig):
    episode_steps: int = 200
    seat_tolerance_m: float = 0.003
    shaft_tolerance_m: float = 0.002
    gear_mass_kg: tuple[float, float] = (0.15, 0.3)
    gear_friction: tuple[float, float] = (0.3, 0.7)
    fixture_jitter_m: float = 0.03
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_align: float = 2.0
    w_phase: float = 1.0
    w_lower: float = 3.0
    w_release: float = 1.0
    w_success: float = 5.0


@register_task("embodia/GearAssembly-v0")
class GearAssembly(Task):
    Config = GearAssemblyConfig
    description = "factory: pick a spur gear and lower it onto a shaft so that it meshes with a fixed gear"

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("gear_assembly", self.config.physics)
        add_workbench_cell(builder)
        builder.add_material("gear", (0.2, 0.45, 0.8, 1), specular=0.5, shininess=0.5)
        builder.add_material("fixed_gear", (0.85, 0.55, 0.15, 1), specular=0.5, shininess=0.5)
        fixture = self._add_fixture(builder)
        self._add_fixed_gear(fixture)
        self._add_loose_gear(builder)
        builder.add_camera("front", pos=(0.8, -0.3, 1.02), target=(0.5, -0.02, 0.79), fovy_deg=40)
        builder.add_camera("side", pos=(0.55, -0.9, 1.1), target=(0.52, 0.1, 0.78), fovy_deg=45)
        builder.add_camera("top", pos=(0.5, 0.0, 1.9), target=(0.5, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("work", pos=(0.90, -0.38, 1.09), target=(0.49, -0.05, 0.79), fovy_deg=45)
        return builder

    @staticmethod
    def _add_fixture(builder: SceneBuilder) -> mujoco.MjsBody:
        """The mocap plate with the shaft the loose gear goes on and the shoulder the fixed gear turns on."""
        fixture = builder.world.add_body(name="fixture", pos=FIXTURE_CENTER.tolist(), mocap=True)
        plate_centre_y = (FIXED_OFFSET[1] + SHAFT_OFFSET[1]) / 2
        fixture.add_geom(
            name="fixture_plate",
            type=GEOM.mjGEOM_BOX,
            pos=[0, plate_centre_y, PLATE_THICKNESS_M / 2],
            size=[0.045, CENTRE_DISTANCE_M / 2 + 0.04, PLATE_THICKNESS_M / 2],
            material="dark_steel",
            **FIXTURE_CONTACT.kwargs(),
        )
        for name, offset, top in (
            ("shoulder", SHAFT_OFFSET, SEAT_Z_M),
            ("fixed_shoulder", FIXED_OFFSET, FIXED_BASE_Z_M),
        ):
            fixture.add_geom(
                name=name,
                type=GEOM.mjGEOM_CYLINDER,
                pos=[offset[0], offset[1], (PLATE_THICKNESS_M + top) / 2],
                size=[SHOULDER_RADIUS_M, (top - PLATE_THICKNESS_M) / 2, 0],
                material="steel",
                **FIXTURE_CONTACT.kwargs(),
            )
        fixture.add_geom(
            name="shaft",
            type=GEOM.mjGEOM_CAPSULE,
            fromto=[
                *SHAFT_OFFSET[:2],
                SEAT_Z_M - 0.005,
                *SHAFT_OFFSET[:2],
                SEAT_Z_M + SHAFT_ABOVE_SEAT_M - SHAFT_RADIUS_M,
            ],
            size=[SHAFT_RADIUS_M, 0, 0],
            material="steel",
            **FIXTURE_CONTACT.kwargs(),
        )
        fixture.add_site(name="shaft_seat", pos=[*SHAFT_OFFSET[:2], SEAT_Z_M], size=[0.004, 0, 0], group=4)
        return fixture

    @staticmethod
    def _add_fixed_gear(fixture: mujoco.MjsBody) -> None:
        """The gear the loose one must mesh with: free to turn on its shoulder, so a tooth clash moves it."""
        fixed = fixture.add_body(name="fixed_gear", pos=[*FIXED_OFFSET[:2], FIXED_BASE_Z_M])
        fixed.add_joint(
            name="fixed_gear", type=mujoco.mjtJoint.mjJNT_HINGE, axis=[0, 0, 1], damping=5e-5, armature=1e-5
        )
        fixed_root = FIXED_PITCH_RADIUS_M - 1.25 * MODULE_M
        fixed.add_geom(
            name="fixed_gear_disk",
            type=GEOM.mjGEOM_CYLINDER,
            pos=[0, 0, FIXED_FACE_M / 2],
            size=[fixed_root - 0.002, FIXED_FACE_M / 2, 0],
            material="fixed_gear",
            density=GEAR_DENSITY_KG_M3,
            **GEAR_CONTACT.kwargs(),
        )
        fixed.add_geom(  # a cap over the shaft's end, to see the gear turn; never touches anything
            name="fixed_gear_cap",
            type=GEOM.mjGEOM_BOX,
            pos=[0.006, 0, FIXED_FACE_M + 0.001],
            size=[0.012, 0.003, 0.001],
            material="steel",
            contype=0,
            conaffinity=0,
            mass=0.0,
        )
        parts.add_spur_teeth(
            fixed,
            "fixed_tooth",
            FIXED_TEETH,
            MODULE_M,
            TOOTH_WIDTH_M,
            base_z_m=0.0,
            height_m=FIXED_FACE_M,
            material="fixed_gear",
            contact=GEAR_CONTACT,
            point="up",
            density_kg_m3=GEAR_DENSITY_KG_M3,
        )

    def _add_loose_gear(self, builder: SceneBuilder) -> None:
        """The gear the robot places: a hub to grip above a bored disk and teeth that point down."""
        gear = builder.add_free_body("gear", pos=[0.5, -0.15, BENCH_TOP_Z])
        self._add_hub(gear)
        disk_bore_m = 0.012
        parts.add_ring(
            gear,
            "gear_disk",
            bore_radius_m=disk_bore_m,
            wall_m=GEAR_PITCH_RADIUS_M - 1.25 * MODULE_M - 0.002 - disk_bore_m,
            height_m=GEAR_FACE_M,
            base_z_m=0.0,
            segments=12,
            material="gear",
            contact=GEAR_CONTACT,
            density_kg_m3=GEAR_DENSITY_KG_M3,
        )
        parts.add_spur_teeth(
            gear,
            "gear_tooth",
            GEAR_TEETH,
            MODULE_M,
            TOOTH_WIDTH_M,
            base_z_m=0.0,
            height_m=GEAR_FACE_M,
            material="gear",
            contact=GEAR_CONTACT,
            point="down",
            density_kg_m3=GEAR_DENSITY_KG_M3,
        )

    @staticmethod
    def _add_hub(gear: mujoco.MjsBody) -> None:
        """A square hub around a square bore: two full-width plates square to the gear's x axis (the jaws' faces)
        and two short boxes between them, so a jaw pad presses exactly one flat box face."""
        half = HUB_ACROSS_FLATS_M / 2
        wall = half - BORE_RADIUS_M
        common = {"type": GEOM.mjGEOM_BOX, "material": "gear", "density": GEAR_DENSITY_KG_M3, **GEAR_CONTACT.kwargs()}
        for k, sign in enumerate((1.0, -1.0)):
            gear.add_geom(
                name=f"gear_hub_plate_{k}",
                pos=[sign * (half - wall / 2), 0, HUB_HEIGHT_M / 2],
                size=[wall / 2, half, HUB_HEIGHT_M / 2],
                **common,
            )
            gear.add_geom(
                name=f"gear_hub_grip_{k}",
                pos=[sign * (GRIP_ACROSS_M + HUB_ACROSS_FLATS_M) / 4, 0, (GRIP_FROM_Z_M + HUB_HEIGHT_M) / 2],
                size=[(GRIP_ACROSS_M - HUB_ACROSS_FLATS_M) / 4, GRIP_ACROSS_M / 2, (HUB_HEIGHT_M - GRIP_FROM_Z_M) / 2],
                **common,
            )
            gear.add_geom(
                name=f"gear_hub_side_{k}",
                pos=[0, sign * (half - wall / 2), HUB_HEIGHT_M / 2],
                size=[BORE_RADIUS_M, wall / 2, HUB_HEIGHT_M / 2],
                **common,
            )

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.gear_body = model.body("gear").id
        self.gear_geoms = np.flatnonzero(model.geom_bodyid == self.gear_body)
        self.gear_qpos, self.gear_qvel = joint_addresses(model, "gear")
        hinge = model.joint("fixed_gear")
        self.fixed_qpos = int(model.jnt_qposadr[hinge.id])
        self.fixed_qvel = int(model.jnt_dofadr[hinge.id])
        self.fixed_body = model.body("fixed_gear").id
        self.fixture_mocap = int(model.body_mocapid[model.body("fixture").id])
        self.seat_site = model.site("shaft_seat").id
        self.robot = context.robot

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        jitter = per_sim_uniform(rngs, -cfg.fixture_jitter_m, cfg.fixture_jitter_m, (2,))
        sim.bound("mocap_pos")[ids, self.fixture_mocap] = FIXTURE_CENTER + np.pad(jitter, ((0, 0), (0, 1)))
        (x_low, x_high), (y_low, y_high) = GEAR_REGION
        xy = per_sim_uniform(rngs, (x_low, y_low), (x_high, y_high), (2,))
        yaw = per_sim_uniform(rngs, -np.pi, np.pi)
        fixed_angle = per_sim_uniform(rngs, -np.pi, np.pi)
        mass = per_sim_uniform(rngs, *cfg.gear_mass_kg)
        friction = per_sim_uniform(rngs, *cfg.gear_friction)
        sim.set_body_mass(ids, self.gear_body, mass)
        sim.per_sim_model_field("geom_friction")[np.ix_(ids, self.gear_geoms, [0])] = friction[:, None, None]
        adr = self.gear_qpos
        sim.qpos[ids, adr : adr + 2] = xy
        sim.qpos[ids, adr + 2] = BENCH_TOP_Z + 0.0005
        sim.qpos[ids, adr + 3 : adr + 7] = yaw_quat(yaw)
        sim.qvel[ids, self.gear_qvel : self.gear_qvel + 6] = 0.0
        sim.qpos[ids, self.fixed_qpos] = fixed_angle
        sim.qvel[ids, self.fixed_qvel] = 0.0
        sim.set_const(ids)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _mesh(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
        """(mesh phase error along the pitch circle in metres, yaw the gear needs for mesh phase), (n,) each."""
        seat = sim.site_xpos[:, self.seat_site]
        fixed_axis = sim.xpos[:, self.fixed_body]
        line = np.arctan2(seat[:, 1] - fixed_axis[:, 1], seat[:, 0] - fixed_axis[:, 0])
        needed = mesh_yaw(sim.qpos[:, self.fixed_qpos], line)
        error_rad = wrap(quat_yaw(sim.xquat[:, self.gear_body]) - needed, 2 * np.pi / GEAR_TEETH)
        return error_rad * GEAR_PITCH_RADIUS_M, needed

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        base = sim.xpos[:, self.gear_body]
        axis = sim.xmat[:, self.gear_body].reshape(-1, 3, 3)[:, :, 2]
        hub_centre = base + axis * (HUB_HEIGHT_M - 0.007)
        seat = sim.site_xpos[:, self.seat_site]
        tcp = self.robot.tcp_pos(sim)
        speed = np.linalg.norm(sim.qvel[:, self.gear_qvel : self.gear_qvel + 3], axis=1)
        height = base[:, 2] - seat[:, 2]
        lateral = np.linalg.norm(base[:, :2] - seat[:, :2], axis=1)
        mesh_error, _ = self._mesh(sim)
        tcp_to_hub = np.linalg.norm(hub_centre - tcp, axis=1)
        grasped = self.robot.holds(sim, tcp_to_hub, GRIP_ACROSS_M, GRASP_REACH_M, RIGID_HOLD_BAND_M)
        on_shaft = lateral < cfg.shaft_tolerance_m
        level = axis[:, 2] > np.cos(np.radians(MAX_TILT_DEG))
        seated = (np.abs(height) < cfg.seat_tolerance_m) & on_shaft & level
        meshing = seated & (np.abs(mesh_error) < BACKLASH_M / 2 + MESH_SLACK_M)
        released = self.robot.released(sim, GRIP_ACROSS_M, GEAR_RELEASED_MARGIN_M)
        return {
            "success": seated & meshing & released & (speed < criteria.AT_REST_SPEED_M_S),
            "fail": base[:, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M,
            "grasped": grasped,
            "seated": seated,
            "meshing": meshing,
            "released": released,
            "seat_height_m": height,
            "lateral_error_m": lateral,
            "mesh_error_m": mesh_error,
            "lift_m": base[:, 2] - BENCH_TOP_Z,
            "tcp_to_hub_m": tcp_to_hub,
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        base = sim.xpos[:, self.gear_body]
        seat = sim.site_xpos[:, self.seat_site]
        on_axis = ev["lateral_error_m"] < BORE_RADIUS_M - SHAFT_RADIUS_M + criteria.ON_AXIS_SLACK_M
        held = np.maximum(ev["grasped"], ev["seated"]).astype(float)  # holding the gear, or it is seated
        drop = drop_line_distance(base, seat, SHAFT_ABOVE_SEAT_M + criteria.ALIGN_CLEARANCE_M)
        align = held * approach(drop, criteria.PLACE_SCALE_M)
        return {
            "reach": np.maximum(approach(ev["tcp_to_hub_m"], criteria.REACH_SCALE_M), ev["seated"]),
            "grasp": held,
            "lift": held * np.maximum(np.clip(ev["lift_m"] / criteria.LIFT_HEIGHT_M, 0.0, 1.0), align),
            "align": align,
            "phase": held * tolerance(np.abs(ev["mesh_error_m"]), PHASE_SCALE_M),
            "lower": held * on_axis * np.clip(1.0 - ev["seat_height_m"] / SHAFT_ABOVE_SEAT_M, 0.0, 1.0),
            "release": ev["seated"] * self.robot.release_progress(sim, GRIP_ACROSS_M, GEAR_RELEASED_MARGIN_M),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_gear_pos": (3,),
            "task_gear_quat": (4,),
            "task_shaft_seat_pos": (3,),
            "task_gear_to_seat": (3,),
            "task_gear_to_tcp": (3,),
            "task_mesh_phase": (2,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        base = sim.xpos[:, self.gear_body]
        seat = sim.site_xpos[:, self.seat_site]
        phase = ev["mesh_error_m"] / GEAR_PITCH_RADIUS_M * GEAR_TEETH  # one tooth period is a full turn
        return {
            "task_gear_pos": base,
            "task_gear_quat": sim.xquat[:, self.gear_body],
            "task_shaft_seat_pos": seat,
            "task_gear_to_seat": seat - base,
            "task_gear_to_tcp": base - self.robot.tcp_pos(sim),
            "task_mesh_phase": np.stack([np.cos(phase), np.sin(phase)], axis=1),
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.full(sim.num_sims, self.gear_body, dtype=np.int64)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        return (
            "put the small gear on the shaft so that it meshes with the large gear",
            "pick up the gear and slide it onto the empty shaft",
            "mount the loose gear on the shaft beside the large gear",
            "take the 15-tooth gear from the bench and fit it onto the shaft",
            "assemble the gear onto its shaft, its teeth in mesh",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        base = sim.xpos[:, self.gear_body]
        _, needed = self._mesh(sim)
        return {
            "gear_pos": base,
            "gear_quat": sim.xquat[:, self.gear_body],
            "gear_mesh_yaw": needed,
            "hub_width_m": np.full(sim.num_sims, GRIP_ACROSS_M),
            "shaft_seat": sim.site_xpos[:, self.seat_site].copy(),
            "fixed_gear_angle": sim.qpos[:, self.fixed_qpos].copy(),
        }
