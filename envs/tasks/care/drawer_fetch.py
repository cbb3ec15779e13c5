"""DrawerFetch: open a bedside drawer, take out a glasses case and place it in a seated person's open hand.

Scene: a Panda-class arm on a pedestal beside a bedside cabinet (``envs/scene/drawer.py``) whose top drawer runs on
a slide joint with friction loss and damping and has a long-stemmed knob (70 mm stem, 44 mm head); a hard glasses
case (160 x 65 x 40 mm and 60-100 g: the brief's figures for a common hard-shell spectacle case, not a standard)
lies flat in the drawer, its long side along the pull; an older adult (``envs/human``) seated in a chair holds the
right hand out, palm up, posed by joint targets as in Handover.

Randomized per episode: the cabinet's place (``cabinet_jitter_m``) and yaw (``cabinet_yaw_rad``), the drawer's
friction loss (``drawer_friction_n``, 2-8 N: a wooden runner takes a few newtons to start; an estimate, no
standard gives it) and damping (``drawer_damping_n_s_per_m``), the case's place and yaw in the drawer and its
mass, the hand pose (Handover's ranges), the person's position and impairments (``human``, ``tremor``,
``voluntary_motion``).

Success: the case rests flat in the palm (its lower face within 22 mm over the palm surface, as it lies across the
thumb and fingers; its centre within ``palm_tolerance_m`` of the palm centre along the palm; tilted under 25
degrees; moving under 5 cm/s relative to the palm), the jaws are open and the TCP at least ``clearance_m`` away.
Fail: the case falls to the floor (or, with ``terminate_on_safety_violation``, a contact force on the person exceeds
an ISO/TS 15066 limit). ``info``: ``drawer_opening_m``, ``case_in_drawer``, ``case_in_hand``, ``handle_grasped``,
``case_grasped``.
Safety: ``info["safety"]`` every step (robot and case contacts on the person, per ISO/TS 15066 region);
``safety_penalty`` > 0 adds the reward term ``safety``. ``info["human"]`` says who the person is.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the handle (kept as the drawer opens), open the drawer
to ``opening_goal_m``, reach the case in the open drawer, grasp it, lift it out, carry it onto the line above the
palm (along its normal; it stays full while the case is lowered onto the palm), place it on the palm, release and
withdraw, success; grasp, lift and carry stay at 1 once the case lies in the hand, so letting go does not lower the
reward. Sparse reward: 1 on success.
Observations (``task_*``): drawer opening and pull axis, handle position, case position and quaternion, palm
position and normal, case relative to the TCP and to the palm, handle relative to the TCP.
Contacts: the drawer is a child of the cabinet's mocap body, so drawer and carcass never collide and the joint alone
carries the drawer (its range stops it at 0.3 m); the case and the knob's stem use Handover's bottle friction (1.0,
condim 4) so that a 70 N grasp holds them. The default ``opening_goal_m`` (0.26 m) leaves the whole case outside the
carcass: opened less, the case's back end catches under the cabinet top when lifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import mujoco
import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import drawer, panda, props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, approach, drop_line_distance, lowering, per_sim_uniform
from embodia.envs.tasks.care.common import PERSON_EPISODE_STATE, CareTaskConfig, open_hand_targets
from embodia.envs.tasks.registry import register_task

ROBOT_BASE = (0.0, 0.0, 0.6)
CABINET_POS = np.array([0.5, -0.58, 0.0])
CABINET_YAW_RAD = np.pi / 2  # the drawer pulls out towards +y, past the robot's side
PERSON_POS = np.array([1.0, 0.16, 0.0])
CASE_HALF_SIZE_M = np.array([0.08, 0.0325, 0.02])  # 160 x 65 x 40 mm
FLOOR_FAIL_Z = 0.3
#: the case's lower face may sit this far over the palm surface: laid across the hand it rests on the thumb and
#: finger capsules, which stand 14-17 mm proud of the palm (``envs/human/body.py``)
ON_PALM_M = 0.022
#: the case's lower face may sink 12 mm into the soft palm
INTO_PALM_M = 0.012


#: the TCP within this of the case's centre, jaws around it: the case is grasped
CASE_REACH_M = 0.05
#: the TCP within this of the handle bar, jaws under 30 mm apart: the handle is held
HANDLE_REACH_M = 0.03
HANDLE_HOLD_BAND_M = (np.inf, 0.03)


@dataclass(frozen=True)
class DrawerFetchConfig(CareTaskConfig):
    #: in a wheelchair the person's left hand rests where the arm rises off the pulled-out knob (up to 70 N
    #: measured on the hand), so the scene is built for the chair only
    valid_postures: ClassVar[tuple[str, ...]] = ("seated_chair",)

    episode_steps: int = 300
    cabinet_jitter_m: float = 0.03
    cabinet_yaw_rad: tuple[float, float] = (-0.12, 0.12)  # cabinet yaw offset, drawn per episode
    drawer_friction_n: tuple[float, float] = (2.0, 8.0)
    drawer_damping_n_s_per_m: tuple[float, float] = (5.0, 20.0)  # drawer runner damping range, drawn per episode
    case_depth_m: tuple[float, float] = (0.035, 0.05)  # case centre behind the drawer body's origin, along the pull
    case_lateral_m: tuple[float, float] = (-0.06, 0.06)  # case position across the drawer, drawn per episode
    case_yaw_rad: tuple[float, float] = (-0.2, 0.2)  # case yaw in the drawer, drawn per episode
    case_mass_kg: tuple[float, float] = (0.06, 0.1)
    person_jitter_m: float = 0.03
    shoulder_yaw_rad: tuple[float, float] = (-0.25, 0.2)  # the person's held-out arm: shoulder yaw, drawn per episode
    shoulder_flexion_rad: tuple[float, float] = (0.75, 1.05)  # shoulder flexion, drawn per episode
    elbow_flexion_rad: tuple[float, float] = (0.3, 0.7)  # elbow flexion, drawn per episode
    opening_goal_m: float = 0.26  # the case then lies wholly outside the carcass and lifts clear of its top
    palm_tolerance_m: float = 0.035
    clearance_m: float = 0.08  # success: the TCP at least this far from the case
    w_reach: float = 1.0
    w_open: float = 2.0
    w_reach_case: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_carry: float = 2.0
    w_place: float = 2.0
    w_release: float = 1.0
    w_success: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.opening_goal_m < drawer.DRAWER_TRAVEL_M:
            raise ValueError(
                f"opening_goal_m={self.opening_goal_m!r} must be in (0, {drawer.DRAWER_TRAVEL_M}) m "
                "(the drawer's runner stops at its travel)"
            )
        for name in ("drawer_friction_n", "drawer_damping_n_s_per_m", "case_mass_kg"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name}={(low, high)!r} must be an ordered (low, high) with low >= 0")


@register_task("embodia/DrawerFetch-v0")
class DrawerFetch(Task):
    Config = DrawerFetchConfig
    description = (
        "elder care: open a bedside drawer, take out a glasses case and place it in a seated person's open hand"
    )
    episode_state_fields = PERSON_EPISODE_STATE

    def __init__(self, config: DrawerFetchConfig) -> None:
        super().__init__(config)
        self.person = config.make_person()

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("drawer_fetch", self.config.physics)
        props.add_room(builder, floor="wood")
        panda.mount_on_pedestal(builder, ROBOT_BASE)
        self.cabinet_names = drawer.add_bedside_cabinet(
            builder, "cabinet", CABINET_POS, yaw_quat(np.array([CABINET_YAW_RAD]))[0]
        )
        body = self.person.build(builder, "person", PERSON_POS, np.pi, tools={"tool": "case"})
        self.palm_site_name = body.sites["right_palm"]
        builder.add_material("case", (0.12, 0.2, 0.42, 1.0), specular=0.6, shininess=0.7)
        case = builder.add_free_body("case", pos=[0.5, -0.3, 0.6])
        case.add_geom(
            name="case",
            type=GEOM.mjGEOM_BOX,
            size=CASE_HALF_SIZE_M.tolist(),
            material="case",
            mass=0.08,
            friction=[1.0, 0.01, 0.0001],
            condim=4,
        )
        builder.spec.add_sensor(
            name="palm_velocity",
            type=mujoco.mjtSensor.mjSENS_FRAMELINVEL,
            objtype=mujoco.mjtObj.mjOBJ_SITE,
            objname=self.palm_site_name,
        )
        builder.add_camera("front", pos=(1.5, -0.85, 1.6), target=(0.55, -0.05, 0.6), fovy_deg=55)  # into the drawer
        builder.add_camera("side", pos=(1.9, -1.0, 1.45), target=(0.5, -0.2, 0.7), fovy_deg=50)
        builder.add_camera("top", pos=(0.5, -0.1, 2.3), target=(0.5, -0.1, 0.6), fovy_deg=55)
        builder.add_camera("work", pos=(0.95, 1.1, 1.45), target=(0.5, -0.15, 0.6), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        names = self.cabinet_names
        self.cabinet_mocap = model.body_mocapid[model.body(names.cabinet).id]
        self.drawer_body = model.body(names.drawer).id
        self.drawer_joint = model.joint(names.drawer).id
        self.drawer_qpos, self.drawer_dof = joint_addresses(model, names.drawer)
        self.handle_site = model.site(names.handle_site).id
        self.floor_site = model.site(names.drawer_floor_site).id
        self.case_body = model.body("case").id
        self.case_qpos, self.case_dof = joint_addresses(model, "case")
        self.palm_site = model.site(self.palm_site_name).id
        self.palm_velocity = model.sensor_adr[model.sensor("palm_velocity").id] + np.arange(3)
        self.person.bind(context)
        self.robot = context.robot

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        # the person, posed as in Handover: the right hand held out, the wrist keeping the palm level
        jitter = per_sim_uniform(rngs, -cfg.person_jitter_m, cfg.person_jitter_m, (2,))
        targets = open_hand_targets(
            self.person, rngs, cfg.shoulder_yaw_rad, cfg.shoulder_flexion_rad, cfg.elbow_flexion_rad
        )
        self.person.initialize(sim, ids, rngs, targets, PERSON_POS + np.column_stack([jitter, np.zeros(n)]))

        # the cabinet and its drawer (closed)
        offset = per_sim_uniform(rngs, -cfg.cabinet_jitter_m, cfg.cabinet_jitter_m, (2,))
        cabinet_yaw = CABINET_YAW_RAD + per_sim_uniform(rngs, *cfg.cabinet_yaw_rad)
        cabinet_pos = CABINET_POS + np.column_stack([offset, np.zeros(n)])
        sim.bound("mocap_pos")[ids, self.cabinet_mocap] = cabinet_pos
        sim.bound("mocap_quat")[ids, self.cabinet_mocap] = yaw_quat(cabinet_yaw)
        sim.per_sim_model_field("dof_frictionloss")[ids, self.drawer_dof] = per_sim_uniform(
            rngs, *cfg.drawer_friction_n
        )
        sim.per_sim_model_field("dof_damping")[ids, self.drawer_dof] = per_sim_uniform(
            rngs, *cfg.drawer_damping_n_s_per_m
        )
        sim.qpos[ids, self.drawer_qpos] = 0.0
        sim.qvel[ids, self.drawer_dof] = 0.0

        # the case, flat in the drawer, its long side along the pull (a jaw closing across it keeps the hand's
        # 190 mm palm along the drawer front, clear of the cabinet top)
        depth = per_sim_uniform(rngs, *cfg.case_depth_m)
        lateral = per_sim_uniform(rngs, *cfg.case_lateral_m)
        case_yaw = cabinet_yaw + per_sim_uniform(rngs, *cfg.case_yaw_rad)
        along = drawer.DRAWER_CLOSED_X_M + depth
        cos, sin = np.cos(cabinet_yaw), np.sin(cabinet_yaw)
        case_xy = cabinet_pos[:, :2] + np.column_stack([cos * along - sin * lateral, sin * along + cos * lateral])
        case_z = drawer.DRAWER_FLOOR_Z_M + CASE_HALF_SIZE_M[2] + 0.001
        sim.set_body_mass(ids, self.case_body, per_sim_uniform(rngs, *cfg.case_mass_kg))
        adr = self.case_qpos
        sim.qpos[ids, adr : adr + 3] = np.column_stack([case_xy, np.full(n, case_z)])
        sim.qpos[ids, adr + 3 : adr + 7] = yaw_quat(case_yaw)
        sim.qvel[ids, self.case_dof : self.case_dof + 6] = 0.0
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        self.person.before_physics(sim)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _geometry(self, sim: Simulation) -> dict[str, np.ndarray]:
        case_xmat = sim.xmat[:, self.case_body].reshape(-1, 3, 3)
        palm_xmat = sim.site_xmat[:, self.palm_site].reshape(-1, 3, 3)
        return {
            "case_pos": sim.xpos[:, self.case_body],
            "case_long_axis": case_xmat[:, :, 0],
            "case_up": case_xmat[:, :, 2],
            "palm_pos": sim.site_xpos[:, self.palm_site],
            "palm_normal": palm_xmat[:, :, 0],
            "palm_across": palm_xmat[:, :, 1],
            "palm_along": palm_xmat[:, :, 2],
            "handle_pos": sim.site_xpos[:, self.handle_site],
            "drawer_axis": sim.xaxis[:, self.drawer_joint],
            "drawer_floor_pos": sim.site_xpos[:, self.floor_site],
            "drawer_opening_m": sim.qpos[:, self.drawer_qpos],
        }

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        g = self._geometry(sim)
        case, up, palm, normal = g["case_pos"], g["case_up"], g["palm_pos"], g["palm_normal"]
        offset = case - palm
        height = (offset * normal).sum(axis=1) - CASE_HALF_SIZE_M[2]  # the case's lower face over the palm
        lateral = np.linalg.norm(offset - (offset * normal).sum(axis=1)[:, None] * normal, axis=1)
        flat = np.abs((up * normal).sum(axis=1)) > np.cos(np.deg2rad(25))
        speed = np.linalg.norm(
            sim.qvel[:, self.case_dof : self.case_dof + 3] - sim.sensordata[:, self.palm_velocity], axis=1
        )
        tcp = self.robot.tcp_pos(sim)
        width = self.robot.gripper_width(sim)
        tcp_to_case = np.linalg.norm(case - tcp, axis=1)
        tcp_to_handle = np.linalg.norm(g["handle_pos"] - tcp, axis=1)
        case_width = 2 * CASE_HALF_SIZE_M[1]
        in_hand = (lateral < cfg.palm_tolerance_m) & (height > -INTO_PALM_M) & (height < ON_PALM_M) & flat
        clear = (width > criteria.OPEN_HAND_WIDTH_M) & (tcp_to_case > cfg.clearance_m)
        case_grasped = self.robot.holds(sim, tcp_to_case, case_width, CASE_REACH_M)
        handle_grasped = self.robot.holds(sim, tcp_to_handle, 0.0, HANDLE_REACH_M, HANDLE_HOLD_BAND_M)
        in_floor = case - g["drawer_floor_pos"]
        along = (in_floor * g["drawer_axis"]).sum(axis=1)
        rise = in_floor[:, 2]
        across = np.linalg.norm(in_floor - along[:, None] * g["drawer_axis"] - rise[:, None] * [0, 0, 1], axis=1)
        in_drawer = (
            (np.abs(along) < drawer.DRAWER_INNER_HALF_DEPTH_M)
            & (across < drawer.DRAWER_INNER_HALF_WIDTH_M)
            & (rise < drawer.DRAWER_WALL_HEIGHT_M)
        )
        safety = self.person.measure(sim, sim.per_sim_model_field("body_mass")[:, self.case_body])
        return {
            "success": in_hand & clear & (speed < criteria.SETTLED_ON_PERSON_SPEED_M_S),
            "fail": (case[:, 2] < FLOOR_FAIL_Z) | cfg.safety_fail(safety),
            "drawer_opening_m": g["drawer_opening_m"].copy(),
            "case_in_drawer": in_drawer,
            "case_in_hand": in_hand,
            "handle_grasped": handle_grasped,
            "case_grasped": case_grasped,
            "clear": clear,
            "case_lift_m": rise - CASE_HALF_SIZE_M[2],
            "case_to_palm_m": np.linalg.norm(offset, axis=1),
            "tcp_to_case_m": tcp_to_case,
            "tcp_to_handle_m": tcp_to_handle,
            "safety": safety,
            "human": self.person.info(),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cfg = self.config
        g = self._geometry(sim)
        grasped = ev["case_grasped"].astype(float)
        placed = ev["case_in_hand"].astype(float)
        opened = np.clip(ev["drawer_opening_m"] / cfg.opening_goal_m, 0.0, 1.0)
        held = np.maximum(grasped, placed)
        on_palm = g["palm_pos"] + g["palm_normal"] * CASE_HALF_SIZE_M[2]
        drop = drop_line_distance(g["case_pos"], on_palm, criteria.CARRY_ABOVE_GOAL_M, g["palm_normal"])
        carry = np.maximum(grasped * approach(drop, criteria.CARRY_SCALE_M), placed)
        lifted = np.clip(ev["case_lift_m"] / criteria.CARE_LIFT_HEIGHT_M, 0.0, 1.0)
        # the stages before the placement count as done once the case lies in the hand, so letting go never
        # lowers the reward
        return cfg.safety_terms(ev["safety"]) | {
            "reach": np.maximum(approach(ev["tcp_to_handle_m"], criteria.REACH_SCALE_M), opened),  # kept as it opens
            "open": opened,
            "reach_case": np.maximum(opened * approach(ev["tcp_to_case_m"], criteria.REACH_SCALE_M), held),
            "grasp": held,
            "lift": np.maximum(grasped * np.maximum(lifted, carry), placed),
            "carry": carry,
            "place": held * lowering(ev["case_to_palm_m"]),
            "release": placed * ev["clear"],
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_drawer_opening": (1,),
            "task_drawer_axis": (3,),
            "task_handle_pos": (3,),
            "task_case_pos": (3,),
            "task_case_quat": (4,),
            "task_palm_pos": (3,),
            "task_palm_normal": (3,),
            "task_handle_to_tcp": (3,),
            "task_case_to_tcp": (3,),
            "task_case_to_palm": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = self._geometry(sim)
        tcp = self.robot.tcp_pos(sim)
        return {
            "task_drawer_opening": g["drawer_opening_m"][:, None],
            "task_drawer_axis": g["drawer_axis"],
            "task_handle_pos": g["handle_pos"],
            "task_case_pos": g["case_pos"],
            "task_case_quat": sim.xquat[:, self.case_body],
            "task_palm_pos": g["palm_pos"],
            "task_palm_normal": g["palm_normal"],
            "task_handle_to_tcp": g["handle_pos"] - tcp,
            "task_case_to_tcp": g["case_pos"] - tcp,
            "task_case_to_palm": g["palm_pos"] - g["case_pos"],
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        """The drawer (its handle) until it is open to the goal, then the case."""
        opened = sim.qpos[:, self.drawer_qpos] >= self.config.opening_goal_m
        return np.where(opened, self.case_body, self.drawer_body)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        _, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"open the drawer, take out the glasses case and put it in {possessive} hand",
            f"fetch the navy glasses case from the drawer for {obj}",
            f"get {possessive} glasses case out of the drawer and give it to {obj}",
            f"pull the drawer open and hand {obj} the case inside",
            f"bring {obj} the glasses case from the cabinet drawer",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        return self._geometry(sim) | {
            "case_half_height_m": np.full(sim.num_sims, CASE_HALF_SIZE_M[2]),
            "opening_goal_m": np.full(sim.num_sims, self.config.opening_goal_m),
        }
