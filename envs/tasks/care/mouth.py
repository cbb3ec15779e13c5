"""What Feeding and Drinking share: the mouth cavity, particle accounting, and the carry-pour-withdraw task.

The person's face is one convex shell without an opening, so "inside the mouth" is made physical by a cavity
of boxes on the head (the neck body): a floor 15 mm below the mouth site, sloping 10 degrees towards the throat,
with side and back walls inside the head. The floor reaches 35 mm out in front of the lips (the lower lip that
catches what a spoon or a cup tips, with a 6 mm rim), so what lands on it rolls in. The cavity's geoms touch
only the particles (``MOUTH_CONTYPE``), and the particles pass through the skin geoms, so what leaves the vessel
at the lips falls onto the cavity floor; the robot and the vessel still collide with the face, and those
contacts are what the safety monitor measures.

A particle is *in the mouth* when its centre lies in the box from 50 mm behind to 5 mm in front of the mouth
site (head frame), within 30 mm to either side and from 25 mm below to 20 mm above it. It is *in the vessel*
when its centre is inside the vessel's interior, and *spilt* when it is in neither and has fallen 12 cm below
the mouth (onto the lap, the chair or the floor). Spilling costs reward (the ``spill`` term) but does not end the
episode, as in Assistive Gym: a shaking random policy would otherwise end most episodes within a second, and
``info["success_out_of_reach"]`` says when too much is spilt for success.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import mujoco
import numpy as np

from embodia.envs.human.body import JOINT_NAMES
from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import panda, props, tableware
from embodia.envs.scene.builder import GEOM, HIDDEN_GROUP, SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, approach, per_sim_uniform
from embodia.envs.tasks.care.common import PERSON_EPISODE_STATE, CareTaskConfig
from embodia.envs.validation import NON_POSITIVE, option

#: the arm's base 0.7 m up: seated mouths lie 0.87-1.09 m above the floor (a short woman to a tall man), and at
#: 0.6 m the arm tipping a cup at a tall man's mouth ran its wrist to its limit and spilt
ROBOT_BASE = (0.0, 0.0, 0.7)
#: the chair; the person faces the robot (yaw pi): close enough that the arm tips the vessel with its wrist off
#: its limit, far enough that the arm's home pose clears the head
PERSON_POS = np.array([0.72, 0.0, 0.0])
#: a 0.2 m column (the arm's base is 0.2 m across): the seated person's feet, on the floor below the knees, clear it
#: (the 0.26 m default pushed the chair to 0.75 m, where the arm tipping the cup at the far mouths was stretched out)
PEDESTAL_HALF_WIDTH_M = 0.1
#: the column stands this far back under the arm's plate: a tall man's toes reach 0.62 m in front of his hips,
#: past the column's front face at the chair's distance (``panda.mount_on_pedestal``)
TOE_SPACE_M = 0.13
HAND_BODY = "robot/hand"
MOUTH_BEHIND_M, MOUTH_FRONT_M, MOUTH_HALF_WIDTH_M = 0.05, 0.005, 0.03
MOUTH_BELOW_M, MOUTH_ABOVE_M = 0.025, 0.02
CAVITY_FLOOR_BELOW_M = 0.015
CAVITY_SHELF_M = 0.035  # how far the cavity floor reaches in front of the mouth site
CAVITY_SLOPE_RAD = np.deg2rad(10.0)
SPILL_BELOW_MOUTH_M = 0.12
UP = np.array([0.0, 0.0, 1.0])
#: the chair moves at most 10 cm between episodes, within what the arm reaches at the mouth
MAX_PERSON_JITTER_M = 0.1
#: the approach term's goal: the pour point 2 cm in front of the lips
IN_FRONT_OF_LIPS_M = 0.02


def mouth_box() -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the in-the-mouth volume relative to the mouth site, in the head frame."""
    low = np.array([-MOUTH_BEHIND_M, -MOUTH_HALF_WIDTH_M, -MOUTH_BELOW_M])
    high = np.array([MOUTH_FRONT_M, MOUTH_HALF_WIDTH_M, MOUTH_ABOVE_M])
    return low, high


CAVITY_GEOMS = ("mouth_floor", "mouth_left", "mouth_right", "mouth_back", "mouth_lip")


def add_mouth_cavity(builder: SceneBuilder, neck_body: str, mouth_site: str) -> None:
    """The cavity geoms on the head (touching only particles); not drawn (``HIDDEN_GROUP``)."""
    neck = builder.spec.body(neck_body)
    mouth = np.array(builder.spec.site(mouth_site).pos)
    length = MOUTH_BEHIND_M + CAVITY_SHELF_M
    center_x = mouth[0] + (CAVITY_SHELF_M - MOUTH_BEHIND_M) / 2
    floor_z = mouth[2] - CAVITY_FLOOR_BELOW_M
    half_pitch = -CAVITY_SLOPE_RAD / 2  # the inner (-x) end lower
    common = {
        "type": GEOM.mjGEOM_BOX,
        "contype": tableware.MOUTH_CONTYPE,
        "conaffinity": tableware.FOOD_CONTYPE,
        "group": HIDDEN_GROUP,
        "mass": 0.0,  # part of the head, whose mass is the person's (``shape.ShapeBinding.attach``)
        "rgba": [0.55, 0.15, 0.15, 0.4],
    }
    wall = 0.004
    neck.add_geom(
        name="mouth_floor",
        pos=[center_x, 0, floor_z - wall],
        quat=[np.cos(half_pitch), 0, np.sin(half_pitch), 0],
        size=[length / 2, MOUTH_HALF_WIDTH_M, wall],
        **common,
    )
    wall_half_height = (MOUTH_ABOVE_M + CAVITY_FLOOR_BELOW_M) / 2 + 0.01
    wall_z = floor_z + wall_half_height - 0.015
    inner_half = (MOUTH_BEHIND_M + MOUTH_FRONT_M) / 2  # the cheeks end at the lips: outside them a side wall
    for side, y in (("left", 1), ("right", -1)):  # would knock food off a spoon passing sideways
        neck.add_geom(
            name=f"mouth_{side}",
            pos=[mouth[0] + MOUTH_FRONT_M - inner_half, y * (MOUTH_HALF_WIDTH_M + wall), wall_z],
            size=[inner_half, wall, wall_half_height],
            **common,
        )
    neck.add_geom(
        name="mouth_back",
        pos=[mouth[0] - MOUTH_BEHIND_M - wall, 0, wall_z],
        size=[wall, MOUTH_HALF_WIDTH_M + 2 * wall, wall_half_height],
        **common,
    )
    neck.add_geom(
        name="mouth_lip",
        pos=[mouth[0] + CAVITY_SHELF_M + wall, 0, floor_z + 0.002],
        size=[wall, MOUTH_HALF_WIDTH_M + 2 * wall, 0.006],
        **common,
    )


def tilt_of(hand_xmat: np.ndarray) -> np.ndarray:
    """(n,) angle in rad between the vessel's up direction (the hand's -z) and world up."""
    return np.arccos(np.clip(-hand_xmat[:, 2, 2], -1.0, 1.0))


@dataclass(frozen=True)
class MouthDeliveryConfig(CareTaskConfig):
    """Ranges shared by Feeding and Drinking; each task sets its particles, share and weights."""

    #: a chair only, for now: in a wheelchair the head sits higher, so the arm's home pose touches it at this
    #: distance and, placed further away, the arm runs out of wrist range while tipping the cup
    valid_postures: ClassVar[tuple[str, ...]] = ("seated_chair",)

    episode_steps: int = 200
    person_jitter_m: float = 0.03
    neck_flexion_rad: tuple[float, float] = (-0.1, 0.15)  # the head's resting tilt (forward positive)
    neck_rotation_rad: tuple[float, float] = (-0.2, 0.2)  # the head's resting turn
    particle_mass_kg: tuple[float, float] = (0.001, 0.003)
    particle_friction: tuple[float, float] = (0.3, 0.7)
    particle_jitter_m: float = 0.002
    required_share: float = 0.6  # share of the food or water delivered into the mouth for success
    clearance_m: float = 0.1  # success: the spoon tip or cup rim withdrawn this far from the mouth
    w_approach: float = 1.0
    w_kept: float = 1.0
    w_deliver: float = 3.0
    w_withdraw: float = 1.0
    w_success: float = 5.0
    w_spill: float = option(-2.0, valid=NON_POSITIVE, doc="weight of the spilt share: a penalty, so <= 0")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.required_share <= 1.0:
            raise ValueError(f"required_share={self.required_share!r} must be in (0, 1]")
        if not self.clearance_m > 0:
            raise ValueError(f"clearance_m={self.clearance_m!r} must be > 0")
        for name in ("neck_flexion_rad", "neck_rotation_rad", "particle_mass_kg", "particle_friction"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ValueError(f"{name}={(low, high)!r} must be an ordered (low, high) pair")
        if not (self.particle_mass_kg[0] > 0 and self.particle_friction[0] > 0):
            raise ValueError("particle_mass_kg and particle_friction must be > 0")
        if not 0 <= self.person_jitter_m <= MAX_PERSON_JITTER_M:
            raise ValueError(f"person_jitter_m={self.person_jitter_m!r} must be in [0, {MAX_PERSON_JITTER_M}] m")


class MouthDelivery(Task):
    """Carry particles in a vessel on the hand to the mouth of a seated person, tip them in, withdraw."""

    Config = MouthDeliveryConfig
    vessel: ClassVar[tableware.Vessel] = tableware.SPOON
    particle_prefix: ClassVar[str] = "food"
    particle_count: ClassVar[int] = 3
    particle_radius_m: ClassVar[float] = 0.007
    particle_condim: ClassVar[int] = 3
    particle_rgba: ClassVar[tuple[float, ...]] = (0.9, 0.75, 0.3, 1.0)
    vessel_rgba: ClassVar[tuple[float, ...]] = (0.8, 0.82, 0.85, 1.0)
    #: the largest tilt (rad) at which the vessel counts as upright again after pouring
    upright_tilt_rad: ClassVar[float] = np.pi
    episode_state_fields = PERSON_EPISODE_STATE

    @abc.abstractmethod
    def particle_layout(self) -> np.ndarray:
        """(k, 2) particle centres in the vessel's floor plane (hand-frame x, y), before jitter; each task
        (Feeding, Drinking) lays out its own food or water."""

    def __init__(self, config: MouthDeliveryConfig) -> None:
        super().__init__(config)
        self.person = config.make_person()

    def build_scene(self) -> SceneBuilder:
        cfg = self.config
        builder = SceneBuilder(type(self).__name__.lower(), cfg.physics)
        props.add_room(builder, floor="wood")
        panda.mount_on_pedestal(builder, ROBOT_BASE, half_width_m=PEDESTAL_HALF_WIDTH_M, toe_space_m=TOE_SPACE_M)
        body = self.person.build(builder, "person", PERSON_POS, np.pi, tools={})
        self.mouth_site_name = body.sites["mouth"]
        self.neck_body_name = f"{body.name}_neck"
        add_mouth_cavity(builder, self.neck_body_name, self.mouth_site_name)
        builder.add_material("vessel", self.vessel_rgba, specular=0.8, shininess=0.9)
        builder.add_material("particle", self.particle_rgba, specular=0.2)
        tableware.add_vessel(builder, HAND_BODY, self.vessel, "vessel")
        self.particle_names = tableware.add_particles(
            builder, self.particle_prefix, self.particle_count, self.particle_radius_m, "particle", self.particle_condim
        )
        builder.add_camera("front", pos=(0.3, -0.95, 1.3), target=(0.6, 0.0, 0.95), fovy_deg=45)
        builder.add_camera("side", pos=(0.45, -0.75, 1.15), target=(0.72, 0.0, 0.98), fovy_deg=40)
        builder.add_camera("top", pos=(0.5, 0.0, 2.3), target=(0.5, 0.0, 0.7), fovy_deg=55)
        builder.add_camera("work", pos=(0.25, -0.42, 1.22), target=(0.6, 0.0, 0.98), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.person.bind(context)
        self.person.shape_binding.attach(self.mouth_site_name, geoms=CAVITY_GEOMS)  # a larger head, a lower mouth
        self.hand_body = context.robot.hand_body
        self.neck_body = model.body(self.neck_body_name).id
        self.mouth_site = model.site(self.mouth_site_name).id
        self.particle_bodies = np.array([model.body(name).id for name in self.particle_names])
        self.particle_geoms = np.array([model.geom(name).id for name in self.particle_names])
        addresses = [joint_addresses(model, name) for name in self.particle_names]
        self.particle_qpos = np.array([qpos for qpos, _ in addresses])
        self.particle_dof = np.array([dof for _, dof in addresses])
        self.neck_cols = [JOINT_NAMES.index("neck_flexion"), JOINT_NAMES.index("neck_rotation")]
        self.robot = context.robot
        # the vessel's pose at the home keyframe (every episode starts there): where the particles are placed
        data = mujoco.MjData(model)
        mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
        mujoco.mj_forward(model, data)
        self.home_hand_pos = data.xpos[self.hand_body].copy()
        self.home_hand_mat = data.xmat[self.hand_body].reshape(3, 3).copy()
        self.vessel_low, self.vessel_high = self.vessel.interior()
        self.mouth_low, self.mouth_high = mouth_box()

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        jitter = per_sim_uniform(rngs, -cfg.person_jitter_m, cfg.person_jitter_m, (2,))
        targets = self.person.rest_targets(n)
        targets[:, self.neck_cols[0]] = per_sim_uniform(rngs, *cfg.neck_flexion_rad)
        targets[:, self.neck_cols[1]] = per_sim_uniform(rngs, *cfg.neck_rotation_rad)
        base = PERSON_POS + np.column_stack([jitter, np.zeros(n)])
        self.person.initialize(sim, ids, rngs, targets, base)

        k = self.particle_count
        plane = self.particle_layout() + per_sim_uniform(rngs, -cfg.particle_jitter_m, cfg.particle_jitter_m, (k, 2))
        depth = np.full((n, k, 1), self.vessel.floor_z_m - self.particle_radius_m - 0.0005)
        local = np.concatenate([plane, depth], axis=2)
        world = tableware.world_points(
            np.tile(self.home_hand_pos, (n, 1)), np.tile(self.home_hand_mat, (n, 1, 1)), local
        )
        mass = per_sim_uniform(rngs, *cfg.particle_mass_kg, (k,))
        friction = per_sim_uniform(rngs, *cfg.particle_friction, (k,))
        geom_friction = sim.per_sim_model_field("geom_friction")
        sim.set_body_mass(ids, self.particle_bodies, mass)
        geom_friction[ids[:, None], self.particle_geoms[None], 0] = friction
        rows = ids[:, None, None]
        sim.qpos[rows, self.particle_qpos[None, :, None] + np.arange(3)] = world  # each free joint: position
        sim.qpos[rows, self.particle_qpos[None, :, None] + np.arange(3, 7)] = [1.0, 0.0, 0.0, 0.0]  # and quaternion
        sim.qvel[rows, self.particle_dof[None, :, None] + np.arange(6)] = 0.0
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        self.person.before_physics(sim)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _frames(self, sim: Simulation):
        hand_pos = sim.xpos[:, self.hand_body]
        hand_mat = sim.xmat[:, self.hand_body].reshape(-1, 3, 3)
        neck_mat = sim.xmat[:, self.neck_body].reshape(-1, 3, 3)
        mouth = sim.site_xpos[:, self.mouth_site]
        pour_point = tableware.world_points(hand_pos, hand_mat, self.vessel.pour_point()[None])[:, 0]
        return hand_pos, hand_mat, neck_mat, mouth, pour_point

    def _mouth_forward(self, neck_mat: np.ndarray) -> np.ndarray:
        return neck_mat[:, :, 0]

    @once_per_state
    def _particles(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions (n, k, 3), in the vessel (n, k), in the mouth (n, k)) of the food or water."""
        hand_pos, hand_mat, neck_mat, mouth, _ = self._frames(sim)
        particles = sim.xpos[:, self.particle_bodies]
        in_vessel = tableware.inside_box(
            tableware.local_points(hand_pos, hand_mat, particles), self.vessel_low, self.vessel_high
        )
        in_mouth = tableware.inside_box(
            tableware.local_points(mouth, neck_mat, particles), self.mouth_low, self.mouth_high
        )
        return particles, in_vessel, in_mouth

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        _, hand_mat, _, mouth, pour_point = self._frames(sim)
        particles, in_vessel, in_mouth = self._particles(sim)
        fallen = particles[:, :, 2] < mouth[:, None, 2] - SPILL_BELOW_MOUTH_M
        spilt = fallen & ~in_vessel & ~in_mouth
        k = self.particle_count
        required = int(np.ceil(cfg.required_share * k - 1e-9))
        delivered = in_mouth.sum(axis=1)
        pour_to_mouth = np.linalg.norm(pour_point - mouth, axis=1)
        tilt = tilt_of(hand_mat)
        withdrawn = pour_to_mouth > cfg.clearance_m
        payload = (sim.per_sim_model_field("body_mass")[:, self.particle_bodies] * in_vessel).sum(axis=1)
        safety = self.person.measure(sim, payload)
        return {
            "success": (delivered >= required) & withdrawn & (tilt < self.upright_tilt_rad),
            "fail": cfg.safety_fail(safety),  # spilling is penalized, not terminal (as in Assistive Gym)
            "success_out_of_reach": spilt.sum(axis=1) > k - required,
            "in_mouth_share": delivered / k,
            "in_vessel_share": in_vessel.sum(axis=1) / k,
            "spilt_share": spilt.sum(axis=1) / k,
            "delivered": delivered >= required,
            "withdrawn": withdrawn,
            "pour_to_mouth_m": pour_to_mouth,
            "vessel_tilt_rad": tilt,
            "safety": safety,
            "human": self.person.info(),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        cfg = self.config
        _, _, neck_mat, mouth, pour_point = self._frames(sim)
        at_lips = mouth + self._mouth_forward(neck_mat) * IN_FRONT_OF_LIPS_M
        delivered = ev["delivered"].astype(float)
        near = approach(np.linalg.norm(pour_point - at_lips, axis=1), criteria.REACH_SCALE_M)
        return cfg.safety_terms(ev["safety"]) | {
            "approach": np.maximum(near, delivered),
            "kept": ev["in_vessel_share"] + ev["in_mouth_share"],
            "deliver": np.minimum(ev["in_mouth_share"] / cfg.required_share, 1.0),
            "withdraw": delivered * np.clip(ev["pour_to_mouth_m"] / cfg.clearance_m, 0.0, 1.0),
            "success": ev["success"].astype(float),
            "spill": ev["spilt_share"],
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_mouth_pos": (3,),
            "task_mouth_forward": (3,),
            "task_pour_point": (3,),
            "task_pour_to_mouth": (3,),
            "task_vessel_up": (3,),
            "task_particle_shares": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _, hand_mat, neck_mat, mouth, pour_point = self._frames(sim)
        return {
            "task_mouth_pos": mouth,
            "task_mouth_forward": self._mouth_forward(neck_mat),
            "task_pour_point": pour_point,
            "task_pour_to_mouth": mouth - pour_point,
            "task_vessel_up": -hand_mat[:, :, 2],
            "task_particle_shares": np.column_stack([ev["in_vessel_share"], ev["in_mouth_share"], ev["spilt_share"]]),
        }

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        _, hand_mat, neck_mat, mouth, pour_point = self._frames(sim)
        _, _, in_mouth = self._particles(sim)
        return {
            "mouth_pos": mouth,
            "mouth_forward": self._mouth_forward(neck_mat),
            "pour_point": pour_point,
            "vessel_tilt_rad": tilt_of(hand_mat),
            "in_mouth_share": in_mouth.mean(axis=1),
            "required_share": np.full(sim.num_sims, self.config.required_share),
        }
