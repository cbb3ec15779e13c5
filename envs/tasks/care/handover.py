"""Handover: take a medicine bottle from the bedside table and place it in a seated person's open hand.

Scene: a Panda-class arm on a pedestal beside a bedside table; an older adult (``envs/human``: a woman or a man aged
75+, stature drawn per episode) seated in a chair holds the right hand out, palm up. Per episode the hand pose
(shoulder yaw and flexion, elbow flexion; the wrist keeps the palm level), the person's position, sex, stature and
impairments (range of motion, strength, tremor, slow hand drift, head turns; ``human`` ranges, ``tremor`` and
``voluntary_motion`` switches) and the bottle's place and mass are randomized. The person holds the posture with
compliant joint servos, so a push moves the body a little and it returns.

Success: the bottle rests upright in the palm (its base within ``palm_tolerance_m`` of the palm centre and on
the palm surface, moving under 5 cm/s relative to the palm), the jaws are open and the TCP at least
``clearance_m`` away. Fail: the bottle falls to the floor (or, with ``terminate_on_safety_violation``, a contact
force on the person exceeds an ISO/TS 15066 limit).
Safety: ``info["safety"]`` every step (``envs/safety/monitor.py``); ``safety_penalty`` > 0 adds the reward term
``safety`` (the largest region force as a fraction of its quasi-static limit, capped at 1) with that negative
weight. ``info["human"]`` says who the person is.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the bottle, grasp it, lift it, carry it onto the
line above the palm (along the palm's normal), place it on the palm, release and withdraw, success. Each stage's
term stays full through the stages after it (lowered onto the palm, the bottle is still "lifted" and "carried";
released there, still "grasped"), so that the expert's own path earns more at every stage. Sparse reward: 1 on
success.
Observations (``task_*``): bottle position and quaternion, palm position and normal, bottle relative to the TCP
and to the palm.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import panda, props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, approach, drop_line_distance, lowering, per_sim_uniform
from embodia.envs.tasks.care.common import PERSON_EPISODE_STATE, CareTaskConfig, open_hand_targets
from embodia.envs.tasks.registry import register_task

ROBOT_BASE = (0.0, 0.0, 0.6)
TABLE_CENTER_XY = (0.42, -0.4)
TABLE_TOP_Z = 0.62
PERSON_POS = np.array([1.0, 0.16, 0.0])  # the chair; the person faces the robot (yaw pi)
BOTTLE_RADIUS_M = 0.02
BOTTLE_HALF_HEIGHT_M = 0.045
FLOOR_FAIL_Z = 0.3


#: the TCP within this of the bottle's centre, jaws around it: grasped
GRASP_REACH_M = 0.04
#: in her hand: the bottle's base within 12 mm of the palm's surface (the palm is soft), upright within 30 degrees
PALM_HEIGHT_TOLERANCE_M = 0.012
UPRIGHT_TILT_DEG = 30


@dataclass(frozen=True)
class HandoverConfig(CareTaskConfig):
    episode_steps: int = 200
    bottle_x_range: tuple[float, float] = (0.33, 0.5)  # bottle x on the bedside table (m), drawn per episode
    bottle_y_range: tuple[float, float] = (-0.46, -0.32)  # bottle y on the bedside table (m), drawn per episode
    bottle_mass_kg: tuple[float, float] = (0.04, 0.09)
    person_jitter_m: float = 0.03
    shoulder_yaw_rad: tuple[float, float] = (-0.25, 0.2)  # the person's held-out arm: shoulder yaw, drawn per episode
    shoulder_flexion_rad: tuple[float, float] = (0.75, 1.05)  # shoulder flexion, drawn per episode
    elbow_flexion_rad: tuple[float, float] = (0.3, 0.7)  # elbow flexion, drawn per episode
    palm_tolerance_m: float = 0.035
    clearance_m: float = 0.08  # success: the TCP at least this far from the bottle
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_carry: float = 2.0
    w_place: float = 2.0
    w_release: float = 1.0
    w_success: float = 5.0


@register_task("embodia/Handover-v0")
class Handover(Task):
    Config = HandoverConfig
    description = (
        "elder care: take a medicine bottle from the bedside table and place it in a seated person's open hand"
    )
    #: the person's sampled posture, joint ranges and motion paths: drawn at reset, outside the MuJoCo state
    episode_state_fields = PERSON_EPISODE_STATE

    def __init__(self, config: HandoverConfig) -> None:
        super().__init__(config)
        self.person = config.make_person()

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("handover", self.config.physics)
        props.add_room(builder, floor="wood")
        panda.mount_on_pedestal(builder, ROBOT_BASE)
        props.add_table(builder, "bedside_table", TABLE_CENTER_XY, TABLE_TOP_Z, (0.2, 0.16), "wood")
        body = self.person.build(builder, "person", PERSON_POS, np.pi, tools={"tool": "bottle"})
        self.palm_site_name = body.sites["right_palm"]
        builder.add_material("bottle", (0.85, 0.45, 0.12, 1.0), specular=0.7, shininess=0.8)
        builder.add_material("cap", (0.95, 0.95, 0.95, 1.0))
        bottle = builder.add_free_body("bottle", pos=[TABLE_CENTER_XY[0], TABLE_CENTER_XY[1], 0.7])
        bottle.add_geom(
            name="bottle",
            type=GEOM.mjGEOM_CYLINDER,
            size=[BOTTLE_RADIUS_M, BOTTLE_HALF_HEIGHT_M, 0],
            material="bottle",
            mass=0.05,
            friction=[1.0, 0.01, 0.0001],
            condim=4,
        )
        bottle.add_geom(
            name="bottle_cap",
            type=GEOM.mjGEOM_CYLINDER,
            size=[BOTTLE_RADIUS_M + 0.001, 0.008, 0],
            pos=[0, 0, BOTTLE_HALF_HEIGHT_M - 0.008],
            material="cap",
            mass=0.005,
            condim=4,
            friction=[1.0, 0.01, 0.0001],
        )
        builder.spec.add_sensor(
            name="palm_velocity",
            type=mujoco.mjtSensor.mjSENS_FRAMELINVEL,
            objtype=mujoco.mjtObj.mjOBJ_SITE,
            objname=self.palm_site_name,
        )
        builder.add_camera("front", pos=(0.55, -1.55, 1.45), target=(0.55, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("side", pos=(1.9, -1.0, 1.45), target=(0.5, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("top", pos=(0.5, 0.0, 2.3), target=(0.5, 0.0, 0.7), fovy_deg=55)
        builder.add_camera("work", pos=(0.53, -1.27, 1.35), target=(0.45, 0.02, 0.87), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.bottle_body = model.body("bottle").id
        self.bottle_qpos, self.bottle_dof = joint_addresses(model, "bottle")
        self.palm_site = model.site(self.palm_site_name).id
        self.palm_velocity = model.sensor_adr[model.sensor("palm_velocity").id] + np.arange(3)
        self.person.bind(context)
        self.robot = context.robot

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        jitter = per_sim_uniform(rngs, -cfg.person_jitter_m, cfg.person_jitter_m, (2,))
        targets = open_hand_targets(
            self.person, rngs, cfg.shoulder_yaw_rad, cfg.shoulder_flexion_rad, cfg.elbow_flexion_rad
        )
        base = PERSON_POS + np.column_stack([jitter, np.zeros(n)])
        self.person.initialize(sim, ids, rngs, targets, base)
        xy = np.column_stack([per_sim_uniform(rngs, *cfg.bottle_x_range), per_sim_uniform(rngs, *cfg.bottle_y_range)])
        mass = per_sim_uniform(rngs, *cfg.bottle_mass_kg)
        body_mass = sim.per_sim_model_field("body_mass")
        body_mass[ids, self.bottle_body] = mass
        adr = self.bottle_qpos
        sim.qpos[ids, adr : adr + 3] = np.column_stack([xy, np.full(n, TABLE_TOP_Z + BOTTLE_HALF_HEIGHT_M + 0.001)])
        sim.qpos[ids, adr + 3 : adr + 7] = [1.0, 0.0, 0.0, 0.0]
        sim.qvel[ids, self.bottle_dof : self.bottle_dof + 6] = 0.0
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        self.person.before_physics(sim)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _geometry(self, sim: Simulation):
        bottle = sim.xpos[:, self.bottle_body]
        axis = sim.xmat[:, self.bottle_body].reshape(-1, 3, 3)[:, :, 2]
        palm = sim.site_xpos[:, self.palm_site]
        normal = sim.site_xmat[:, self.palm_site].reshape(-1, 3, 3)[:, :, 0]
        return bottle, axis, palm, normal

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        bottle, axis, palm, normal = self._geometry(sim)
        base = bottle - axis * BOTTLE_HALF_HEIGHT_M
        offset = base - palm
        height = (offset * normal).sum(axis=1)
        lateral = np.linalg.norm(offset - height[:, None] * normal, axis=1)
        upright = (axis * normal).sum(axis=1) > np.cos(np.deg2rad(UPRIGHT_TILT_DEG))
        bottle_velocity = sim.qvel[:, self.bottle_dof : self.bottle_dof + 3]
        speed = np.linalg.norm(bottle_velocity - sim.sensordata[:, self.palm_velocity], axis=1)  # relative to palm
        tcp = self.robot.tcp_pos(sim)
        width = self.robot.gripper_width(sim)
        tcp_to_bottle = np.linalg.norm(bottle - tcp, axis=1)
        in_hand = (lateral < cfg.palm_tolerance_m) & (np.abs(height) < PALM_HEIGHT_TOLERANCE_M) & upright
        clear = (width > criteria.OPEN_HAND_WIDTH_M) & (tcp_to_bottle > cfg.clearance_m)
        grasped = self.robot.holds(sim, tcp_to_bottle, 2 * BOTTLE_RADIUS_M, GRASP_REACH_M)
        safety = self.person.measure(sim, sim.per_sim_model_field("body_mass")[:, self.bottle_body])
        fail = (bottle[:, 2] < FLOOR_FAIL_Z) | cfg.safety_fail(safety)
        return {
            "success": in_hand & clear & (speed < criteria.SETTLED_ON_PERSON_SPEED_M_S),
            "fail": fail,
            "grasped": grasped,
            "in_hand": in_hand,
            "clear": clear,
            "bottle_to_palm_m": np.linalg.norm(offset, axis=1),
            "lift_m": bottle[:, 2] - (TABLE_TOP_Z + BOTTLE_HALF_HEIGHT_M),
            "tcp_to_bottle_m": tcp_to_bottle,
            "safety": safety,
            "human": self.person.info(),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        bottle, _, palm, normal = self._geometry(sim)
        held = np.maximum(ev["grasped"], ev["in_hand"]).astype(float)  # holding the bottle, or it is in her hand
        on_palm = palm + normal * BOTTLE_HALF_HEIGHT_M
        carry = held * approach(drop_line_distance(bottle, on_palm, criteria.CARRY_ABOVE_GOAL_M, normal),
                                criteria.CARRY_SCALE_M)  # fmt: skip
        return self.config.safety_terms(ev["safety"]) | {
            "reach": np.maximum(approach(ev["tcp_to_bottle_m"], criteria.REACH_SCALE_M), ev["in_hand"]),
            "grasp": held,
            "lift": held * np.maximum(np.clip(ev["lift_m"] / criteria.CARE_LIFT_HEIGHT_M, 0.0, 1.0), carry),
            "carry": carry,
            "place": held * lowering(ev["bottle_to_palm_m"]),
            "release": ev["in_hand"] * ev["clear"],
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_bottle_pos": (3,),
            "task_bottle_quat": (4,),
            "task_palm_pos": (3,),
            "task_palm_normal": (3,),
            "task_bottle_to_tcp": (3,),
            "task_bottle_to_palm": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        bottle, _, palm, normal = self._geometry(sim)
        return {
            "task_bottle_pos": bottle,
            "task_bottle_quat": sim.xquat[:, self.bottle_body],
            "task_palm_pos": palm,
            "task_palm_normal": normal,
            "task_bottle_to_tcp": bottle - self.robot.tcp_pos(sim),
            "task_bottle_to_palm": palm - bottle,
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.full(sim.num_sims, self.bottle_body, dtype=np.int64)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        subject, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"hand the orange pill bottle to {obj}",
            f"give {obj} the pill bottle from the bedside table",
            f"pick up the medicine bottle and put it in {possessive} hand",
            f"pass {obj} the orange bottle of pills",
            f"bring the pill bottle to {possessive} open hand and let go once {subject} holds it",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        bottle, axis, palm, normal = self._geometry(sim)
        return {
            "bottle_pos": bottle,
            "bottle_axis": axis,
            "bottle_half_height_m": np.full(sim.num_sims, BOTTLE_HALF_HEIGHT_M),
            "palm_pos": palm,
            "palm_normal": normal,
        }
