"""What a task with a person composes: the body in its furniture, its motion, and the contact-safety monitor.

A task calls ``build`` in ``build_scene``, ``bind`` in ``bind``, ``initialize`` in ``initialize_episode``,
``before_physics`` in its ``before_physics`` and ``measure`` in ``evaluate`` (``info["safety"]``), and puts
``info()`` into ``info["human"]``.
"""

from __future__ import annotations

import numpy as np

from embodia.envs.human import anthropometry
from embodia.envs.human import body as human_body
from embodia.envs.human.body import HumanBody
from embodia.envs.human.config import PRONOUNS, HumanConfig, HumanRanges
from embodia.envs.human.motion import HumanMotion
from embodia.envs.human.shape import ShapeBinding
from embodia.envs.physics.context import BindContext
from embodia.envs.physics.sim import Simulation
from embodia.envs.safety.monitor import SafetyMonitor, SafetyOptions, add_contact_sensors
from embodia.envs.scene import furniture, parts
from embodia.envs.scene.builder import SceneBuilder


class Person:
    """One person per simulation, randomized per episode within ``ranges``."""

    def __init__(
        self,
        ranges: HumanRanges,
        episode_steps: int,
        control_dt_s: float,
        safety: SafetyOptions | None = None,
        robot_prefix: str = "robot/",
        tcp_site: str = "robot/tcp",
    ) -> None:
        self.ranges = ranges
        self.episode_steps = episode_steps
        self.control_dt_s = control_dt_s
        self.safety = safety or SafetyOptions()
        self.robot_prefix = robot_prefix
        self.tcp_site = tcp_site
        self.body: HumanBody | None = None
        self.partners: dict[str, str] = {}
        self.motion: HumanMotion | None = None
        self.monitor: SafetyMonitor | None = None

    def build(self, builder: SceneBuilder, name: str, pos, yaw: float, tools: dict[str, str]) -> HumanBody:
        """Add the person and the contact sensors against the robot and each of ``tools`` (label -> body)."""
        self.body = add_person(builder, self.ranges.structure, name, pos, yaw)
        self.partners = {"robot": f"{self.robot_prefix}link0", **tools}
        add_contact_sensors(builder, self.body.region_of_geom, self.partners)
        return self.body

    def bind(self, context: BindContext) -> None:
        """Resolve names and size the per-simulation state (``context``: the task's ``BindContext``)."""
        model = self.model = context.model
        self.robot_bodies = [
            model.body(i).name for i in range(model.nbody) if model.body(i).name.startswith(self.robot_prefix)
        ]
        base = model.body(f"{self.body.name}_base").id
        self.base_mocap = model.body_mocapid[base]
        self.built_yaw = 2 * float(np.arctan2(model.body_quat[base, 3], model.body_quat[base, 0]))
        root_joint = model.joint(self.body.root_joint).id
        self.root_qpos, self.root_dof = int(model.jnt_qposadr[root_joint]), int(model.jnt_dofadr[root_joint])
        self.shape_binding = ShapeBinding(model, self.body)
        self.motion = HumanMotion(self.body, self.episode_steps, self.control_dt_s)
        self.motion.bind(model, context.num_sims)
        self.sexes = np.full(context.num_sims, "female", dtype=object)  # each simulation's person, as drawn
        self.monitor = SafetyMonitor(
            model,
            context.num_sims,
            self.body.region_of_geom,
            self.partners,
            self.robot_bodies,
            self.tcp_site,
            self.control_dt_s,
            self.safety,
        )

    def initialize(
        self,
        sim: Simulation,
        ids: np.ndarray,
        rngs: list[np.random.Generator],
        targets: np.ndarray,
        base_pos,
        base_yaw: np.ndarray | None = None,
    ) -> None:
        """Draw a person per simulation, give them their body and furniture (``shape.py``), place the furniture
        at ``base_pos`` (len(ids), 3) turned by ``base_yaw`` (len(ids),; the built yaw by default), the person on
        it at rest, holding ``targets``. The caller runs ``set_const`` afterwards."""
        base_pos = np.broadcast_to(np.asarray(base_pos, dtype=float), (len(ids), 3))
        yaw = np.full(len(ids), self.built_yaw) if base_yaw is None else np.asarray(base_yaw, dtype=float)
        people = [self.ranges.sample(rng) for rng in rngs]
        self.sexes[ids] = [person.sex for person in people]
        shapes = self.shape_binding.apply(sim, ids, people)
        sim.bound("mocap_pos")[ids, self.base_mocap] = base_pos
        sim.bound("mocap_quat")[ids, self.base_mocap] = parts.yaw_quat(yaw)
        for k, shape in enumerate(shapes):
            shape.rest.place(sim, ids[k : k + 1], self.root_qpos, self.root_dof, base_pos[k : k + 1], yaw[k : k + 1])
        self.motion.initialize(sim, ids, rngs, people, targets)
        self.monitor.reset(sim, ids)

    def pronouns(self, sim_id: int) -> tuple[str, str, str]:
        """(subject, object, possessive) pronouns of the simulation's person, for the episode's instruction."""
        return PRONOUNS[self.sexes[sim_id]]

    def stature_m(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids),) each simulation's person's stature (a replay restores it with the task's draws)."""
        return self.motion.stature_m[ids].copy()

    def segment_lengths_m(self, ids: np.ndarray, segment: str) -> np.ndarray:
        """(len(ids),) the length of ``segment`` (``anthropometry.LENGTH_FRACTION``) of each simulation's person."""
        return anthropometry.LENGTH_FRACTION[segment] * self.stature_m(ids)

    def rest_targets(self, count: int) -> np.ndarray:
        """(count, joints) the posture's own joint targets, for a task to adjust."""
        return np.tile(self.body.posture_target_array(), (count, 1))

    def before_physics(self, sim: Simulation) -> None:
        self.motion.advance(sim)
        self.monitor.before_physics(sim)

    def measure(self, sim: Simulation, payload_kg: np.ndarray) -> dict[str, object]:
        return self.monitor.measure(sim, payload_kg)

    def info(self) -> dict[str, np.ndarray]:
        return self.motion.info()


def add_person(builder: SceneBuilder, config: HumanConfig, name: str, pos, yaw: float) -> HumanBody:
    """The person in their furniture: a chair, a wheelchair or a bed (``config.posture``).

    ``pos`` is the furniture's place on the floor; the furniture is a mocap body named ``<name>_base`` (its pose
    per simulation state). The person is a free body seated or lying on it, facing ``yaw`` (the person's +x).
    """
    base = builder.world.add_body(
        name=f"{name}_base", pos=list(pos), quat=[np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)], mocap=True
    )
    h = human_body.stature(config)
    radii = anthropometry.segment_radii_m(config.sex, h)
    root_offset, _ = human_body.root_pose(config)
    sole_drop = human_body.seated_sole_drop_m(config)  # a chair that fits: the feet rest on the floor
    if config.posture == "seated_chair":
        seat = sole_drop - radii["thigh"]
        furniture.add_chair(base, seat, prefix=f"{name}_chair")
        hip = [0.02, 0, seat + root_offset[2]]
    elif config.posture == "seated_wheelchair":
        seat = 0.47
        furniture.add_wheelchair(base, seat, seat + radii["thigh"] - sole_drop, prefix=f"{name}_wheelchair")
        hip = [0.02, 0, seat + root_offset[2]]
    else:
        mattress = 0.55
        furniture.add_bed(base, mattress, config.head_raise_rad, 0.0, prefix=f"{name}_bed")
        hip = [0.0, 0, mattress + root_offset[2]]
    cos, sin = np.cos(yaw), np.sin(yaw)
    world_hip = np.asarray(pos, dtype=float) + np.array(
        [cos * hip[0] - sin * hip[1], sin * hip[0] + cos * hip[1], hip[2]]
    )
    return human_body.add_human(builder, config, name, world_hip, yaw)
