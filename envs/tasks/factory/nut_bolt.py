"""NutBolt: screw a hex nut onto a standing M20 bolt, two turns down its thread (at least 1.5 of them turned).

Scene: a Panda-class arm on a workbench; an ISO 4032 M20 hex nut (30 mm across flats, 18 mm high) lies flat on
the bench at a random position and yaw; a fixture (a mocap body) holds an M20 x 2.5 bolt upright: a 36 mm head
flange 12 mm high and a shank with ten turns of right-hand thread (ISO 261 coarse pitch, 2.5 mm) and a rounded
lead-in above them. The nut has three turns of internal thread. It must be placed on the bolt's end, turned
clockwise (seen from above) until its thread catches and then screwed down; the wrist turns less than a turn, so
the nut is turned in strokes, letting go and taking it again.

Success: the nut's thread is on the bolt's helix (``engaged``: the nut's height and turn agree with the 2.5 mm
pitch, within ``helix_tolerance_m``), at least ``turns_required`` = 2 turns down the bolt's thread (a nut set on
the bolt sinks 0.2-0.45 turn by its weight, so this takes at least 1.5 turns of screwing), level, released and at
rest. Fail: the nut leaves the bench.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the nut, grasp it, lift it, align it over the bolt's
end, screw (turns down the thread while engaged, as a fraction of ``turns_required``), release it (the jaws' opening
from the nut's width to released, once screwed), success. Sparse: 1 on
success. Figures in info: ``turns_down`` (turns of the nut's thread below the bolt thread's top end; 0 where the
nut's thread first meets it), ``helix_error_m`` (the nut's offset along the axis from where the helix puts it for
its turn), ``lateral_error_m`` (nut axis to bolt axis).
Randomized per episode: nut position and yaw, bolt fixture position (±3 cm), nut mass (40-90 g; steel at this
size is about 60 g; the inertia scales with it) and the friction of the nut's faces (0.3-0.6).

Contact choices:
- MuJoCo's SDF nut and bolt plugins are fixed at a 1 m scale (their pitch does not follow the ``radius``
  option, and an SDF mesh takes no ``scale``), so the threads are built from primitives: each ridge is a chain
  of capsules along its helix (``parts.add_thread``), twelve per turn. A chord rises exactly with the helix, so a
  nut ridge laid between the bolt's turns can only move along the helix; the ridges' round crests make it a
  knuckle-profile thread of the ISO pitch and diameters (bolt major 20 mm, nut minor 17.3 mm, ISO 965).
- Threads touch only threads (``contact_groups.THREAD_*``): the nut's six prisms (``parts.add_prism_ring``)
  collide with the bench, the jaws and the bolt's core, not with the bolt's ridges, which keeps the contacts to
  the pairs that carry the helix. The thread's step cost is in ``experiments/benchmark.py``'s table.
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
from embodia.envs.scene.contact_groups import THREAD_CONAFFINITY, THREAD_CONTYPE
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.scene.workbench import BENCH_TOP_Z, add_workbench_cell
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, approach, per_sim_uniform
from embodia.envs.tasks.registry import register_task
from embodia.envs.validation import option

FIXTURE_CENTER = np.array([0.52, 0.15, BENCH_TOP_Z])
NUT_REGION = ((0.42, 0.58), (-0.25, -0.1))  # (x range, y range) of the nut on the bench
PITCH_M = 0.0025  # ISO 261: M20 coarse
NUT_ACROSS_FLATS_M = 0.030  # ISO 4032 M20: s = 30 mm, m = 18 mm
NUT_HEIGHT_M = 0.018
NUT_BORE_RADIUS_M = 0.0103  # the hex bore's flats just clear the bolt thread's 10 mm crest
THREAD_WIRE_RADIUS_M = 0.00055  # the ridges' round crests
#: the bolt's ridge reaches the 20 mm major diameter; the nut's reaches in to its 17.3 mm minor diameter (ISO 965)
BOLT_THREAD_RADIUS_M = 0.010 - THREAD_WIRE_RADIUS_M
NUT_THREAD_RADIUS_M = 0.00865 + THREAD_WIRE_RADIUS_M
CORE_RADIUS_M = 0.0083  # inside the nut's ridge, 0.35 mm clear of it
HEAD_RADIUS_M = 0.018  # 36 mm flange
HEAD_HEIGHT_M = 0.012
PLATE_HALF_M = 0.04
PLATE_THICKNESS_M = 0.006
HEAD_TOP_M = PLATE_THICKNESS_M + HEAD_HEIGHT_M  # above the fixture's origin
BOLT_THREAD = parts.Helix(BOLT_THREAD_RADIUS_M, PITCH_M, HEAD_TOP_M + 0.001, 10, THREAD_WIRE_RADIUS_M)
#: the nut's thread, in the nut's frame (z = 0 its lower face), three turns from 2 mm up
NUT_THREAD = parts.Helix(NUT_THREAD_RADIUS_M, PITCH_M, 0.002, 3, THREAD_WIRE_RADIUS_M)
LEAD_IN_M = 0.003  # the core's rounded end above the thread
STEEL_DENSITY_KG_M3 = 7850.0  # Factory's nut and bolt density
NUT_CONTACT = parts.Contact(friction=(0.4, 0.005, 0.0001))
BOLT_CONTACT = parts.Contact(friction=(0.3, 0.005, 0.0001))
#: dry steel on steel at the flanks (Factory uses 0.3 for nuts and bolts)
THREAD_CONTACT = parts.Contact(friction=(0.3, 0.005, 0.0001))

#: the TCP within this of the nut's centre, jaws across its flats: grasped
GRASP_REACH_M = 0.02
#: the nut is level when its axis is within 10 degrees of vertical
MAX_TILT_DEG = 10


@dataclass(frozen=True)
class NutBoltConfig(TaskConfig):
    episode_steps: int = 500  # the expert needs 330-420 steps
    turns_required: float = option(
        2.0,
        valid=(0.1, BOLT_THREAD.turns - NUT_THREAD.turns),
        doc="turns of thread engaged for success (a nut set on the bolt engages 0.2-0.45 turn by its weight, "
        "so two take at least 1.5 turns of screwing; the bolt's thread ends at the head)",
    )
    helix_tolerance_m: float = 0.0005  # engaged: the nut within this of where the helix puts it for its turn
    bolt_tolerance_m: float = 0.002  # engaged: the nut's axis within this of the bolt's
    nut_mass_kg: tuple[float, float] = (0.04, 0.09)
    nut_friction: tuple[float, float] = (0.3, 0.6)
    fixture_jitter_m: float = 0.03
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_align: float = 2.0
    w_screw: float = 3.0
    w_release: float = 1.0
    w_success: float = 5.0


@register_task("embodia/NutBolt-v0")
class NutBolt(Task):
    Config = NutBoltConfig
    description = (
        "factory: screw a hex nut onto a standing M20 bolt, two turns down its thread (1.5 turned by the robot)"
    )

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("nut_bolt", self.config.physics)
        add_workbench_cell(builder)
        self._add_bolt(builder)
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
        parts.add_thread(
            builder.spec, nut, "nut_thread", NUT_THREAD, "nut", THREAD_CONTACT, density=STEEL_DENSITY_KG_M3
        )
        builder.add_camera("front", pos=(1.0, -0.4, 1.1), target=(0.5, -0.02, 0.8), fovy_deg=40)
        builder.add_camera("side", pos=(0.55, -0.9, 1.1), target=(0.52, 0.1, 0.78), fovy_deg=45)
        builder.add_camera("top", pos=(0.5, 0.0, 1.9), target=(0.5, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("work", pos=(0.96, -0.37, 1.08), target=(0.49, -0.04, 0.79), fovy_deg=45)
        return builder

    @staticmethod
    def _add_bolt(builder: SceneBuilder) -> None:
        """The fixture: plate, head flange, the shank's core with its rounded lead-in, and the thread's ridge."""
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
        bolt.add_geom(
            name="bolt_core",
            type=GEOM.mjGEOM_CAPSULE,
            fromto=[0, 0, HEAD_TOP_M - 0.005, 0, 0, BOLT_THREAD.top_z_m + LEAD_IN_M - CORE_RADIUS_M],
            size=[CORE_RADIUS_M, 0, 0],
            material="steel",
            # the core also centres the nut's thread (0.35 mm play), which a nut placed off-axis rides down
            contype=1 | THREAD_CONTYPE,
            conaffinity=1 | THREAD_CONAFFINITY,
            **BOLT_CONTACT.kwargs(),
        )
        parts.add_thread(builder.spec, bolt, "bolt_thread", BOLT_THREAD, "steel", THREAD_CONTACT)
        bolt.add_site(name="bolt_seat", pos=[0, 0, HEAD_TOP_M], size=[0.004, 0, 0], group=4)
        bolt.add_site(name="bolt_thread_top", pos=[0, 0, BOLT_THREAD.top_z_m], size=[0.004, 0, 0], group=4)

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.nut_body = model.body("nut").id
        self.nut_geoms = np.array([model.geom(f"nut_{k}").id for k in range(6)])
        self.nut_qpos, self.nut_qvel = joint_addresses(model, "nut")
        self.bolt_mocap = int(model.body_mocapid[model.body("bolt").id])
        self.seat_site = model.site("bolt_seat").id
        self.thread_top_site = model.site("bolt_thread_top").id
        self.robot = context.robot

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        jitter = per_sim_uniform(rngs, -cfg.fixture_jitter_m, cfg.fixture_jitter_m, (2,))
        sim.bound("mocap_pos")[ids, self.bolt_mocap] = FIXTURE_CENTER + np.pad(jitter, ((0, 0), (0, 1)))
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
        sim.set_const(ids)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _nut(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
        """Centre of the nut's lower face and its axis, (n, 3) each."""
        axis = sim.xmat[:, self.nut_body].reshape(-1, 3, 3)[:, :, 2]
        return sim.xpos[:, self.nut_body], axis

    def _helix(self, sim: Simulation, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(turns down the bolt's thread, offset along the axis from the helix) of each nut, (n,) each.

        The nut's ridge at angle a of its frame stands at height ``base + NUT_THREAD.start + pitch a / 2 pi``; the
        bolt's at world angle b at ``bolt start + pitch b / 2 pi``. Engaged, the nut's ridge sits half a pitch
        between two turns of the bolt's, which fixes the nut's height for its turn up to whole pitches.
        """
        xmat = sim.xmat[:, self.nut_body].reshape(-1, 3, 3)
        yaw = np.arctan2(xmat[:, 1, 0], xmat[:, 0, 0])
        thread_top = sim.site_xpos[:, self.thread_top_site, 2]
        bolt_start = thread_top - BOLT_THREAD.pitch_m * BOLT_THREAD.turns
        nut_start = base[:, 2] + NUT_THREAD.start_z_m
        turns_down = (thread_top - nut_start) / PITCH_M
        offset = nut_start - bolt_start - PITCH_M * yaw / (2 * np.pi) - PITCH_M / 2
        helix_error = (offset + PITCH_M / 2) % PITCH_M - PITCH_M / 2
        return turns_down, helix_error

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        base, axis = self._nut(sim)
        centre = base + axis * (NUT_HEIGHT_M / 2)
        top = sim.site_xpos[:, self.thread_top_site]
        tcp = self.robot.tcp_pos(sim)
        speed = np.linalg.norm(sim.qvel[:, self.nut_qvel : self.nut_qvel + 3], axis=1)
        lateral = np.linalg.norm(base[:, :2] - top[:, :2], axis=1)
        tcp_to_nut = np.linalg.norm(centre - tcp, axis=1)
        grasped = self.robot.holds(sim, tcp_to_nut, NUT_ACROSS_FLATS_M, GRASP_REACH_M, RIGID_HOLD_BAND_M)
        level = axis[:, 2] > np.cos(np.radians(MAX_TILT_DEG))
        turns_down, helix_error = self._helix(sim, base)
        self.helix = turns_down, helix_error  # privileged_state runs after evaluate on the same state
        # round the bolt (the shank inside the nut's bore) and between the thread's ends
        on_thread = (turns_down > 0) & (turns_down < BOLT_THREAD.turns) & (lateral < NUT_BORE_RADIUS_M)
        engaged = on_thread & (lateral < cfg.bolt_tolerance_m) & level & (np.abs(helix_error) < cfg.helix_tolerance_m)
        screwed = engaged & (turns_down >= cfg.turns_required)
        released = self.robot.released(sim, NUT_ACROSS_FLATS_M)
        return {
            "success": screwed & released & (speed < criteria.AT_REST_SPEED_M_S),
            "fail": base[:, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M,
            "grasped": grasped,
            "engaged": engaged,
            "screwed": screwed,
            "released": released,
            "turns_down": np.where(on_thread, turns_down, 0.0),
            "helix_error_m": helix_error,
            "lateral_error_m": lateral,
            "lift_m": base[:, 2] - BENCH_TOP_Z,
            "tcp_to_nut_m": tcp_to_nut,
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        grasped = ev["grasped"].astype(float)
        base, _ = self._nut(sim)
        above_bolt = sim.site_xpos[:, self.thread_top_site] + np.array([0.0, 0.0, criteria.ALIGN_CLEARANCE_M])
        on_bolt = ev["lateral_error_m"] < self.config.bolt_tolerance_m
        screwing = np.maximum(ev["engaged"], ev["screwed"])
        return {
            "reach": np.maximum(approach(ev["tcp_to_nut_m"], criteria.REACH_SCALE_M), on_bolt),
            "grasp": np.maximum(grasped, on_bolt),
            "lift": np.maximum(grasped * np.clip(ev["lift_m"] / criteria.LIFT_HEIGHT_M, 0.0, 1.0), on_bolt),
            "align": np.maximum(
                grasped * approach(np.linalg.norm(base - above_bolt, axis=1), criteria.PLACE_SCALE_M), on_bolt
            ),
            "screw": screwing * np.clip(ev["turns_down"] / self.config.turns_required, 0.0, 1.0),
            "release": ev["screwed"] * self.robot.release_progress(sim, NUT_ACROSS_FLATS_M),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_nut_pos": (3,),
            "task_nut_quat": (4,),
            "task_bolt_top_pos": (3,),
            "task_nut_to_bolt_top": (3,),
            "task_nut_to_tcp": (3,),
            "task_turns_down": (1,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        base, _ = self._nut(sim)
        top = sim.site_xpos[:, self.thread_top_site]
        return {
            "task_nut_pos": base,
            "task_nut_quat": sim.xquat[:, self.nut_body],
            "task_bolt_top_pos": top,
            "task_nut_to_bolt_top": top - base,
            "task_nut_to_tcp": base - self.robot.tcp_pos(sim),
            "task_turns_down": ev["turns_down"][:, None],
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.full(sim.num_sims, self.nut_body, dtype=np.int64)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        return (
            "screw the nut onto the bolt",
            "pick up the nut and thread it onto the bolt",
            "put the hex nut on the bolt and turn it down",
            "take the nut from the bench and screw it down the bolt",
            "fasten the nut on the bolt",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        base, axis = self._nut(sim)
        turns_down, helix_error = self.helix
        return {
            "nut_pos": base,
            "nut_centre": base + axis * (NUT_HEIGHT_M / 2),
            "nut_quat": sim.xquat[:, self.nut_body],
            "nut_width_m": np.full(sim.num_sims, NUT_ACROSS_FLATS_M),
            "bolt_seat": sim.site_xpos[:, self.seat_site].copy(),
            "bolt_thread_top": sim.site_xpos[:, self.thread_top_site].copy(),
            "turns_down": turns_down,
            "helix_error_m": helix_error,
        }
