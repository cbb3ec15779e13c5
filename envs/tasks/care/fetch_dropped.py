"""FetchDropped: pick up a TV remote the person dropped on the floor and put it on the over-bed table within reach.

Scene: an older adult (``envs/human``: a woman or a man aged 75+, stature drawn per episode) sits in a chair (or, with
``human.structure.posture="seated_wheelchair"``, a wheelchair 5 cm nearer the table) with an over-bed table
(``envs/scene/overbed_table.py``) rolled over the lap, its column on the person's right; a bedside table stands
to the robot's right. The remote lies on the floor between the robot and the bedside table, at the far end of
its range with one end under the bedside table's top. The arm reaches both the floor and the table top from a
low mobile base: the Panda-class arm on a 0.36 m deck, turned 0.35 rad to the right (towards the floor area).
Care robots that pick things off the floor put the arm on a base with a vertical lift (Toyota's HSR, Hello
Robot's Stretch); a fixed deck height, chosen so that the 7-dof arm spans the floor and a 0.82 m table top,
keeps the shared controller unchanged. The base stays parked during the episode.

Randomized per episode (documented ranges): the remote's place on the floor in polar coordinates about the arm's
base (``remote_radius_m`` 0.43-0.53 m, ``remote_bearing_rad`` -1.15 to -0.75 rad: what the arm reaches at floor
height without its elbow meeting either table) and its yaw (any), its mass (``remote_mass_kg``, 80-150 g: a
remote of 180 x 50 x 24 mm with two AAA batteries; an estimate from common remotes, no standard gives it); the
over-bed table's place (``table_jitter_m``, +-3 cm), yaw (``table_yaw_rad``, +-0.1 rad) and top height
(``table_top_z_range``, 0.76-0.82 m: over a seated lap, within the 0.72-1.1 m span of common over-bed tables, an
estimate from catalogue ranges); the person's position (``person_jitter_m``, +-3 cm) and impairments (``human``,
``tremor``, ``voluntary_motion``). The bedside table is fixed.

Success: the remote rests flat on the table top (its lower face within 8 mm of the surface, tilted under 25 degrees,
its centre at least 1 cm inside the top's edges, moving under 5 cm/s), within the person's reach (its centre within
``reach_fraction`` of the arm's reach of either shoulder; the reach, shoulder to the palm centre, is (0.186 + 0.146
+ 0.054) x stature from Drillis & Contini's segment proportions, each episode's person's own: 0.57 m for a woman of
median stature, so 0.49 m at the default 0.85), the jaws open and the TCP at least ``clearance_m`` away. The 0.85 is
this task's choice, not a published threshold: the remote stays where an older adult reaches it without stretching
the arm fully. Fail: the remote leaves the room area (over 1.3 m from the robot's base), or, with
``terminate_on_safety_violation``, a contact force on the person exceeds an ISO/TS 15066 limit.
Safety: ``info["safety"]`` every step (robot and remote contacts on the person, per ISO/TS 15066 region);
``safety_penalty`` > 0 adds the reward term ``safety``. ``info["human"]`` says who the person is.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the remote, grasp it, lift it to the table's
height, carry it onto the line above the place spot (5 cm towards the person from the top's centre), place it on the
table within reach, release and withdraw, success. Each stage's term stays full through the stages after it
(lowered onto the table, the remote is still "lifted" and "carried"; released there, still "grasped"), so that the
expert's own path earns more at every stage. Sparse reward: 1 on success.
Observations (``task_*``): remote position and quaternion, place spot, the person's right shoulder, the table top's
height, remote relative to the TCP and to the place spot.
Contacts: the remote uses Handover's bottle friction (1.0, condim 4) so that a 70 N grasp holds it; the tables
are furniture (touch robot and remote, not the person, whose lap the over-bed table only frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import overbed_table, panda, props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, approach, drop_line_distance, lowering, per_sim_uniform, tolerance
from embodia.envs.tasks.care.common import PERSON_EPISODE_STATE, CareTaskConfig
from embodia.envs.tasks.registry import register_task

ROBOT_BASE = (0.0, 0.0, 0.36)  # the mobile base's deck
#: the arm's heading, between the floor area (to its right) and the over-bed table (to its left): the controller's
#: null-space pull towards home then keeps the elbow off both tables
ROBOT_YAW_RAD = -0.35
BASE_HALF_WIDTH_M = 0.16
PERSON_POS = np.array([0.92, 0.12, 0.0])  # the chair; the person faces the robot (yaw pi)
#: a wheelchair seats the person higher and further back: it stands this much closer to the table
WHEELCHAIR_FORWARD_M = 0.05
TABLE_POS = np.array([0.5, 0.3])  # the over-bed table top's centre; its column stands at +y
PLACE_OFFSET_M = 0.05  # the place spot: this far from the top's centre towards the person
BEDSIDE_CENTER_XY = (0.3, -0.68)
BEDSIDE_HALF_XY = (0.26, 0.18)
BEDSIDE_TOP_Z = 0.62
REMOTE_HALF_SIZE_M = np.array([0.09, 0.025, 0.012])  # 180 x 50 x 24 mm
ROOM_RADIUS_M = 1.3
#: reach from the shoulder to the palm centre as a fraction of stature (Drillis & Contini: upper arm 0.186,
#: forearm 0.146, half the hand's 0.108)
ARM_REACH_FRACTION = 0.186 + 0.146 + 0.054


#: the TCP within this of the remote's centre, jaws around it: grasped
GRASP_REACH_M = 0.04
#: the table and the chair move at most 5 cm between episodes: the table's top must stay within her reach
MAX_JITTER_M = 0.05
#: on the table: the remote's centre at least 1 cm inside the top's edge, its lower face within 8 mm of the top,
#: lying within 25 degrees of flat
TABLE_EDGE_MARGIN_M = 0.01
ON_TABLE_HEIGHT_TOLERANCE_M = 0.008
FLAT_TILT_DEG = 25
#: the reach term's scale: the TCP starts about 1 m from the remote on the floor
FLOOR_REACH_SCALE_M = 0.4
#: the place term's scale: the remote counts anywhere on the table top within her reach
TABLE_PLACE_SCALE_M = 0.05


@dataclass(frozen=True)
class FetchDroppedConfig(CareTaskConfig):
    episode_steps: int = 300
    remote_radius_m: tuple[float, float] = (0.43, 0.53)  # from the robot's base axis
    remote_bearing_rad: tuple[float, float] = (-1.15, -0.75)  # 0: straight ahead (+x), negative: to the right
    remote_mass_kg: tuple[float, float] = (0.08, 0.15)
    table_jitter_m: float = 0.03
    table_yaw_rad: tuple[float, float] = (-0.1, 0.1)  # over-bed table yaw, drawn per episode
    table_top_z_range: tuple[float, float] = (0.76, 0.82)  # over-bed table top height (m), drawn per episode
    person_jitter_m: float = 0.03
    reach_fraction: float = 0.85  # the remote must lie within this share of the person's arm reach
    clearance_m: float = 0.08  # success: the TCP at least this far from the remote
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_carry: float = 2.0
    w_place: float = 2.0
    w_release: float = 1.0
    w_success: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("remote_radius_m", "remote_bearing_rad", "remote_mass_kg", "table_yaw_rad", "table_top_z_range"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ValueError(f"{name}={(low, high)!r} must be an ordered (low, high)")
        checks = {
            "remote_radius_m": (self.remote_radius_m, (0.4, 0.55)),
            "remote_bearing_rad": (self.remote_bearing_rad, (-1.2, -0.7)),
            "remote_mass_kg": (self.remote_mass_kg, (0.02, 0.5)),
            "table_yaw_rad": (self.table_yaw_rad, (-0.2, 0.2)),
            "table_top_z_range": (self.table_top_z_range, (0.72, 0.84)),
        }
        for name, ((low, high), (valid_low, valid_high)) in checks.items():
            if not valid_low <= low <= high <= valid_high:
                raise ValueError(
                    f"{name}={(low, high)!r} is out of range; valid: within {valid_low} to {valid_high} "
                    "(the floor between the robot and the bedside table; what the arm reaches)"
                )
        if not 0 <= self.table_jitter_m <= MAX_JITTER_M:
            raise ValueError(f"table_jitter_m={self.table_jitter_m!r} is out of range; valid: 0 to {MAX_JITTER_M} m")
        if not 0 <= self.person_jitter_m <= MAX_JITTER_M:
            raise ValueError(f"person_jitter_m={self.person_jitter_m!r} is out of range; valid: 0 to {MAX_JITTER_M} m")
        if not 0.5 <= self.reach_fraction <= 1.0:
            raise ValueError(f"reach_fraction={self.reach_fraction!r} is out of range; valid: 0.5 to 1.0")


@register_task("embodia/FetchDropped-v0")
class FetchDropped(Task):
    Config = FetchDroppedConfig
    description = (
        "elder care: pick up a TV remote the person dropped on the floor; put it on the over-bed table within reach"
    )
    episode_state_fields = (*PERSON_EPISODE_STATE, "arm_reach_m")

    def __init__(self, config: FetchDroppedConfig) -> None:
        super().__init__(config)
        self.person = config.make_person()

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("fetch_dropped", self.config.physics)
        props.add_room(builder, floor="wood")
        builder.world.add_geom(
            name="mobile_base",
            type=GEOM.mjGEOM_BOX,
            pos=[ROBOT_BASE[0], ROBOT_BASE[1], ROBOT_BASE[2] / 2],
            size=[BASE_HALF_WIDTH_M, BASE_HALF_WIDTH_M, ROBOT_BASE[2] / 2],
            quat=yaw_quat(np.array([ROBOT_YAW_RAD]))[0].tolist(),
            material="dark_steel",
        )
        builder.add_robot(
            panda.load(),
            "robot",
            ROBOT_BASE,
            ROBOT_YAW_RAD,
            home_qpos=panda.home_qpos_by_joint(),
            home_ctrl=panda.home_ctrl_by_actuator(),
        )
        props.add_table(builder, "bedside_table", BEDSIDE_CENTER_XY, BEDSIDE_TOP_Z, BEDSIDE_HALF_XY, "wood")
        self.table_names = overbed_table.add_overbed_table(
            builder, "overbed", (TABLE_POS[0], TABLE_POS[1], overbed_table.NOMINAL_TOP_Z_M)
        )
        cfg = self.config
        forward = WHEELCHAIR_FORWARD_M if cfg.human.structure.posture == "seated_wheelchair" else 0.0
        self.person_pos = PERSON_POS - np.array([forward, 0.0, 0.0])
        body = self.person.build(builder, "person", self.person_pos, np.pi, tools={"tool": "remote"})
        self.shoulder_site_names = (body.sites["right_shoulder"], body.sites["left_shoulder"])
        builder.add_material("remote", (0.1, 0.1, 0.12, 1.0), specular=0.5, shininess=0.6)
        builder.add_material("remote_keys", (0.75, 0.2, 0.2, 1.0))
        remote = builder.add_free_body("remote", pos=[0.25, -0.45, REMOTE_HALF_SIZE_M[2]])
        remote.add_geom(
            name="remote",
            type=GEOM.mjGEOM_BOX,
            size=REMOTE_HALF_SIZE_M.tolist(),
            material="remote",
            mass=0.12,
            friction=[1.0, 0.01, 0.0001],
            condim=4,
        )
        remote.add_geom(  # the keypad: a visual cue of which end is which
            name="remote_keys",
            type=GEOM.mjGEOM_BOX,
            size=[0.03, 0.015, 0.001],
            pos=[0.04, 0, REMOTE_HALF_SIZE_M[2]],
            material="remote_keys",
            contype=0,
            conaffinity=0,
            mass=0.0,
        )
        builder.add_camera("front", pos=(1.55, -1.45, 1.55), target=(0.4, -0.05, 0.45), fovy_deg=50)
        builder.add_camera("side", pos=(-0.9, -1.5, 1.6), target=(0.45, 0.0, 0.45), fovy_deg=50)
        builder.add_camera("top", pos=(0.45, -0.1, 2.5), target=(0.45, -0.1, 0.4), fovy_deg=55)
        builder.add_camera("work", pos=(1.33, -1.20, 1.35), target=(0.37, -0.08, 0.46), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.table_base_mocap = model.body_mocapid[model.body(self.table_names.base).id]
        self.table_top_body = model.body(self.table_names.top).id
        self.table_top_mocap = model.body_mocapid[self.table_top_body]
        self.remote_body = model.body("remote").id
        self.remote_qpos, self.remote_dof = joint_addresses(model, "remote")
        self.shoulder_sites = np.array([model.site(name).id for name in self.shoulder_site_names])
        self.person.bind(context)
        self.arm_reach_m = np.zeros(context.num_sims)  # each episode's person's
        self.robot = context.robot

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        jitter = per_sim_uniform(rngs, -cfg.person_jitter_m, cfg.person_jitter_m, (2,))
        targets = self.person.rest_targets(n)
        self.person.initialize(sim, ids, rngs, targets, self.person_pos + np.column_stack([jitter, np.zeros(n)]))

        table_xy = TABLE_POS + per_sim_uniform(rngs, -cfg.table_jitter_m, cfg.table_jitter_m, (2,))
        table_yaw = per_sim_uniform(rngs, *cfg.table_yaw_rad)
        top_z = per_sim_uniform(rngs, *cfg.table_top_z_range)
        mocap_pos = sim.bound("mocap_pos")
        mocap_quat = sim.bound("mocap_quat")
        mocap_pos[ids, self.table_base_mocap] = np.column_stack([table_xy, np.zeros(n)])
        mocap_pos[ids, self.table_top_mocap] = np.column_stack([table_xy, top_z])
        mocap_quat[ids, self.table_base_mocap] = yaw_quat(table_yaw)
        mocap_quat[ids, self.table_top_mocap] = yaw_quat(table_yaw)

        radius = per_sim_uniform(rngs, *cfg.remote_radius_m)
        bearing = per_sim_uniform(rngs, *cfg.remote_bearing_rad)
        xy = np.column_stack([radius * np.cos(bearing), radius * np.sin(bearing)])
        yaw = per_sim_uniform(rngs, -np.pi / 2, np.pi / 2)
        sim.set_body_mass(ids, self.remote_body, per_sim_uniform(rngs, *cfg.remote_mass_kg))
        adr = self.remote_qpos
        sim.qpos[ids, adr : adr + 3] = np.column_stack([xy, np.full(n, REMOTE_HALF_SIZE_M[2] + 0.001)])
        sim.qpos[ids, adr + 3 : adr + 7] = yaw_quat(yaw)
        sim.qvel[ids, self.remote_dof : self.remote_dof + 6] = 0.0
        self.arm_reach_m[ids] = ARM_REACH_FRACTION * self.person.stature_m(ids)
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        self.person.before_physics(sim)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _geometry(self, sim: Simulation) -> dict[str, np.ndarray]:
        remote_xmat = sim.xmat[:, self.remote_body].reshape(-1, 3, 3)
        top_xmat = sim.xmat[:, self.table_top_body].reshape(-1, 3, 3)
        top_pos = sim.xpos[:, self.table_top_body]
        towards_person = top_xmat[:, :, 0]  # the table frame's +x faces the person
        place = top_pos + towards_person * PLACE_OFFSET_M + np.array([0.0, 0.0, REMOTE_HALF_SIZE_M[2]])
        return {
            "remote_pos": sim.xpos[:, self.remote_body],
            "remote_long_axis": remote_xmat[:, :, 0],
            "remote_up": remote_xmat[:, :, 2],
            "top_pos": top_pos,
            "top_x_axis": top_xmat[:, :, 0],
            "top_y_axis": top_xmat[:, :, 1],
            "place_pos": place,
            "shoulders_pos": sim.site_xpos[:, self.shoulder_sites],
        }

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        g = self._geometry(sim)
        remote, up, top = g["remote_pos"], g["remote_up"], g["top_pos"]
        offset = remote - top
        height = offset[:, 2] - REMOTE_HALF_SIZE_M[2]  # the remote's lower face over the table top
        local_x = np.abs((offset * g["top_x_axis"]).sum(axis=1))
        local_y = np.abs((offset * g["top_y_axis"]).sum(axis=1))
        half_x, half_y = overbed_table.TOP_HALF_SIZE_M
        flat = np.abs(up[:, 2]) > np.cos(np.deg2rad(FLAT_TILT_DEG))
        inside_edge = (local_x < half_x - TABLE_EDGE_MARGIN_M) & (local_y < half_y - TABLE_EDGE_MARGIN_M)
        on_table = inside_edge & (np.abs(height) < ON_TABLE_HEIGHT_TOLERANCE_M) & flat
        shoulder_distance = np.linalg.norm(g["shoulders_pos"] - remote[:, None, :], axis=2).min(axis=1)
        within_reach = shoulder_distance <= cfg.reach_fraction * self.arm_reach_m
        speed = np.linalg.norm(sim.qvel[:, self.remote_dof : self.remote_dof + 3], axis=1)
        tcp = self.robot.tcp_pos(sim)
        width = self.robot.gripper_width(sim)
        tcp_to_remote = np.linalg.norm(remote - tcp, axis=1)
        remote_width = 2 * REMOTE_HALF_SIZE_M[1]
        grasped = self.robot.holds(sim, tcp_to_remote, remote_width, GRASP_REACH_M)
        clear = (width > criteria.OPEN_HAND_WIDTH_M) & (tcp_to_remote > cfg.clearance_m)
        placed = on_table & within_reach
        safety = self.person.measure(sim, sim.per_sim_model_field("body_mass")[:, self.remote_body])
        left_room = np.linalg.norm(remote[:, :2] - np.array(ROBOT_BASE[:2]), axis=1) > ROOM_RADIUS_M
        return {
            "success": placed & clear & (speed < criteria.SETTLED_ON_PERSON_SPEED_M_S),
            "fail": left_room | cfg.safety_fail(safety),
            "grasped": grasped,
            "on_table": on_table,
            "within_reach": within_reach,
            "clear": clear,
            "shoulder_to_remote_m": shoulder_distance,
            "remote_to_place_m": np.linalg.norm(g["place_pos"] - remote, axis=1),
            "remote_lift_m": remote[:, 2] - REMOTE_HALF_SIZE_M[2],
            "tcp_to_remote_m": tcp_to_remote,
            "safety": safety,
            "human": self.person.info(),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = self._geometry(sim)
        lift_goal = g["place_pos"][:, 2] + criteria.CARRY_ABOVE_GOAL_M - REMOTE_HALF_SIZE_M[2]
        placed = ev["on_table"] & ev["within_reach"]
        held = np.maximum(ev["grasped"], placed).astype(float)  # holding the remote, or it lies within her reach
        drop = drop_line_distance(g["remote_pos"], g["place_pos"], criteria.CARRY_ABOVE_GOAL_M)
        carry = held * approach(drop, criteria.CARRY_SCALE_M)
        return self.config.safety_terms(ev["safety"]) | {
            "reach": np.maximum(tolerance(ev["tcp_to_remote_m"], FLOOR_REACH_SCALE_M), placed),
            "grasp": held,
            "lift": held * np.maximum(np.clip(ev["remote_lift_m"] / lift_goal, 0.0, 1.0), carry),
            "carry": carry,
            "place": held * lowering(ev["remote_to_place_m"], TABLE_PLACE_SCALE_M),
            "release": (placed & ev["clear"]).astype(float),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_remote_pos": (3,),
            "task_remote_quat": (4,),
            "task_place_pos": (3,),
            "task_shoulder_pos": (3,),
            "task_table_top_z": (1,),
            "task_remote_to_tcp": (3,),
            "task_remote_to_place": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = self._geometry(sim)
        return {
            "task_remote_pos": g["remote_pos"],
            "task_remote_quat": sim.xquat[:, self.remote_body],
            "task_place_pos": g["place_pos"],
            "task_shoulder_pos": g["shoulders_pos"][:, 0],
            "task_table_top_z": g["top_pos"][:, 2:3],
            "task_remote_to_tcp": g["remote_pos"] - self.robot.tcp_pos(sim),
            "task_remote_to_place": g["place_pos"] - g["remote_pos"],
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.full(sim.num_sims, self.remote_body, dtype=np.int64)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        subject, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"pick up the remote {subject} dropped and give it back to {obj}",
            f"fetch the TV remote from the floor and put it in {possessive} hand",
            f"{subject} dropped the remote: hand it back to {obj}",
            f"get the remote control off the floor for {obj}",
            f"retrieve the fallen remote and return it to {possessive} hand",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        return self._geometry(sim) | {"remote_half_height_m": np.full(sim.num_sims, REMOTE_HALF_SIZE_M[2])}
