"""BedBathing: wipe marked points on the forearm and upper arm of a person lying in bed, pressing gently.

Scene: an older adult (``envs/human``: a woman or a man aged 75+, stature drawn per episode) lies supine in a bed (the
backrest raised by ``human.structure.head_raise_rad``, default 0: flat, as in Assistive Gym's bed bathing), the
right arm beside the body. A Panda-class arm stands beside the bed on a 0.5 m pedestal (the arm's surface is at
0.62-0.66 m, so the wiping height is 0.12-0.16 m above the robot's base, where the Panda is dexterous with the
tool pointing down) and holds a wiping tool: a compliant sponge on a holder in its gripper
(``envs/scene/wiping_tool.py``, 500 N/m, 3 cm travel). ``num_points`` marked points (default 10) lie on the top of
the arm's surface: half on the forearm, half on the upper arm.

Randomized per episode (ranges in ``BedBathingConfig``): the points' places, stratified along each segment (forearm
20-85 % of its length from the elbow; upper arm 40-85 % from the shoulder, clear of the chest and head) and around
the top of the arm (+-0.4 rad from straight up); the arm's pose (shoulder abduction 0.1-0.2 rad away from the trunk,
shoulder extension 0.06-0.14 rad so the arm lies on the mattress, humeral rotation +-0.1 rad, elbow flexion
0.05-0.25 rad); the bed's place (+-3 cm) and yaw (+-0.05 rad); the person (``human`` ranges: sex, stature, body
mass, range of motion, strength, tremor, drift; ``tremor`` and ``voluntary_motion`` switches). The arm lies on the
mattress, its joints held in shape by compliant servos, so pressing on it moves it a little, more for a weak person,
and the tool has to follow.

A point is cleaned at the first step when the sponge's face centre is within ``clean_radius_m`` of it (0.025 m,
Assistive Gym's wiping radius, Erickson et al. 2020) while the normal force of the robot on the arm (ISO/TS 15066
regions upper and lower arm, from ``info["safety"]``) is within ``force_band_n`` (default 1-10 N: at least 1 N
so that the sponge really touches; below Assistive Gym's 10 N "too hard" tool-force threshold, C_hf, and far
below the arm's quasi-static limits of 150-160 N; Assistax regulates wiping/scratching at 3 N). Cleaned marks and
whether a contact limit was ever exceeded are kept in MuJoCo's ``userdata`` (so they are part of the recorded
state and replay exactly); they only ever turn on.
Success: at least ``success_fraction`` (0.9) of the points cleaned, no ISO/TS 15066 limit exceeded in the episode,
and the sponge withdrawn (no contact, at least ``clearance_m`` from every point). Fail: with
``terminate_on_safety_violation``, a limit exceeded. ``info``: ``cleaned_count``, ``cleaned_fraction``,
``arm_force_n``, ``force_in_band``, ``violated``; ``info["safety"]``, ``info["human"]`` as in Handover.
Reward (dense, terms in [0, 1], weights ``w_*``): ``reach`` (sponge face to the next uncleaned point),
``press`` (arm force in the band), ``cleaned`` (fraction), ``withdraw`` (enough cleaned and withdrawn),
``success``; ``safety`` with ``safety_penalty`` > 0. Sparse reward: 1 on success.
Observations (``task_*``): point positions (``num_points`` x 3), cleaned marks, the sponge face's position and
compression, the next uncleaned point relative to the face, the arm force.
Contacts: the sponge and its holder touch only the person and the furniture (not the jaws they sit between);
the sponge slides on skin with friction 0.3.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from embodia.envs.human.body import JOINT_NAMES
from embodia.envs.human.config import HumanConfig, HumanRanges
from embodia.envs.physics.context import BindContext
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import panda, props, wiping_tool
from embodia.envs.scene.builder import SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, approach, per_sim_uniform
from embodia.envs.tasks.care.common import PERSON_EPISODE_STATE, CareTaskConfig
from embodia.envs.tasks.registry import register_task

ROBOT_BASE = (0.0, -0.05, 0.5)
BED_POS = np.array([0.65, -0.22, 0.0])  # the hip under the bed's origin; the person's right side faces the robot
BED_YAW_RAD = -np.pi / 2  # the bed's +x (towards the feet) along world -y
ARM_JOINTS = ("right_shoulder_yaw", "right_shoulder_flexion", "right_shoulder_abduction", "right_elbow_flexion")
SEGMENTS = ("forearm", "upper_arm")  # forearm points first: the wipe runs from the wrist to the shoulder
TOOL_MASS_KG = 0.06  # blade, holder and sponge: the payload in the speed check
#: a cleaned circle wider than 10 cm would count most of a forearm as washed by one touch
MAX_CLEAN_RADIUS_M = 0.1
#: float slack so that a fraction of points equal to the requirement counts as enough
FRACTION_SLACK = 1e-9


def _supine_ranges() -> HumanRanges:
    return HumanRanges(structure=HumanConfig(posture="supine_bed"))


@dataclass(frozen=True)
class BedBathingConfig(CareTaskConfig):
    valid_postures = ("supine_bed",)

    human: HumanRanges = dataclasses.field(default_factory=_supine_ranges)
    episode_steps: int = 300
    num_points: int = 10  # marked points to wipe along the arm
    forearm_span: tuple[float, float] = (0.2, 0.85)  # fraction of the forearm from the elbow
    upper_arm_span: tuple[float, float] = (0.4, 0.85)  # fraction of the upper arm from the shoulder
    around_top_rad: float = 0.4  # points lie within +/- this angle around the top of the limb
    shoulder_abduction_rad: tuple[float, float] = (0.1, 0.2)  # the arm a little away from the trunk
    shoulder_flexion_rad: tuple[float, float] = (-0.14, -0.06)  # shoulder flexion, drawn per episode
    shoulder_yaw_rad: tuple[float, float] = (-0.1, 0.1)  # shoulder yaw, drawn per episode
    elbow_flexion_rad: tuple[float, float] = (0.05, 0.25)  # elbow flexion, drawn per episode
    bed_jitter_m: float = 0.03
    bed_yaw_jitter_rad: float = 0.05
    clean_radius_m: float = 0.025  # a point is cleaned when the sponge face centre is this near
    force_band_n: tuple[float, float] = (1.0, 10.0)  # contact force on the arm that counts as wiping (low, high)
    success_fraction: float = 0.9  # share of the points cleaned for success
    clearance_m: float = 0.05  # success: the sponge withdrawn at least this far from every point
    w_reach: float = 1.0
    w_press: float = 1.0
    w_cleaned: float = 4.0
    w_withdraw: float = 1.0
    w_success: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.num_points, int) and 2 <= self.num_points <= 32):
            raise ValueError(f"num_points={self.num_points!r} is out of range; valid: integers 2 to 32")
        for name in ("forearm_span", "upper_arm_span"):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"{name}=({low}, {high}) is not valid; valid: 0 <= low <= high <= 1")
        low, high = self.force_band_n
        if not 0.0 < low < high:
            raise ValueError(f"force_band_n=({low}, {high}) is not valid; valid: 0 < low < high (N)")
        if not 0.0 < self.success_fraction <= 1.0:
            raise ValueError(f"success_fraction={self.success_fraction!r} is out of range; valid: (0, 1]")
        if not 0.0 < self.clean_radius_m <= MAX_CLEAN_RADIUS_M:
            raise ValueError(
                f"clean_radius_m={self.clean_radius_m!r} is out of range; valid: (0, {MAX_CLEAN_RADIUS_M}] m"
            )
        if not 0.0 <= self.around_top_rad <= np.pi / 2:
            raise ValueError(f"around_top_rad={self.around_top_rad!r} is out of range; valid: 0 to pi/2 rad")


@register_task("embodia/BedBathing-v0")
class BedBathing(Task):
    Config = BedBathingConfig
    description = "elder care: wipe marked points along the arm of a person lying in bed, pressing within a force band"
    episode_state_fields = (
        "point_local",
        *PERSON_EPISODE_STATE,
    )

    def __init__(self, config: BedBathingConfig) -> None:
        super().__init__(config)
        self.person = config.make_person()

    def build_scene(self) -> SceneBuilder:
        cfg = self.config
        builder = SceneBuilder("bed_bathing", cfg.physics)
        props.add_room(builder, floor="wood")
        panda.mount_on_pedestal(builder, ROBOT_BASE)
        wiping_tool.add_wiping_tool(builder)
        body = self.person.build(builder, "person", BED_POS, BED_YAW_RAD, tools={})  # the tool is on the robot
        self.body = body
        self.num_points = cfg.num_points
        self.points_per_segment = (cfg.num_points - cfg.num_points // 2, cfg.num_points // 2)
        builder.spec.nuserdata = cfg.num_points + 1  # cleaned marks, then "a limit was exceeded"
        builder.add_camera("front", pos=(0.7, -0.95, 1.35), target=(0.45, -0.02, 0.62), fovy_deg=50)
        builder.add_camera("side", pos=(-0.35, -1.05, 1.45), target=(0.45, -0.05, 0.62), fovy_deg=55)
        builder.add_camera("top", pos=(0.35, -0.05, 2.0), target=(0.45, -0.05, 0.62), fovy_deg=55)
        builder.add_camera("work", pos=(0.63, -0.72, 1.21), target=(0.45, -0.08, 0.82), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.person.bind(context)
        name = self.body.name
        self.segment_bodies = np.array([model.body(f"{name}_right_{seg}").id for seg in SEGMENTS])
        self.segment_geoms = np.array([model.geom(f"{name}_right_{seg}").id for seg in SEGMENTS])
        counts = self.points_per_segment
        self.point_segment = np.repeat(np.arange(2), counts)
        self.point_body = self.segment_bodies[self.point_segment]
        self.arm_cols = np.array([JOINT_NAMES.index(j) for j in ARM_JOINTS])
        self.face_site = model.site(wiping_tool.FACE_SITE).id
        self.sponge_qpos, _ = joint_addresses(model, wiping_tool.SPONGE_JOINT)
        self.robot = context.robot
        self.point_local = np.zeros((context.num_sims, self.num_points, 3))
        self.userdata = context.sim.bound("userdata")

    def _draw_points(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """(len(ids), P, 3) points in their segment's frame: stratified along it, on the top of its surface (the
        segment's size is each simulation's person's).

        Forearm points run from the wrist towards the elbow, upper-arm points from the elbow towards the
        shoulder, so the index order is one wipe along the arm. A segment's frame has the joint at its origin,
        the segment along -z and +x out of the front of the arm (up, lying supine).
        """
        cfg = self.config
        radii = sim.per_sim_model_field("geom_size")[np.ix_(ids, self.segment_geoms, [0])][:, :, 0]
        lengths = np.column_stack([self.person.segment_lengths_m(ids, seg) for seg in SEGMENTS])
        out = []
        for k, rng in enumerate(rngs):
            rows = []
            for seg, count in enumerate(self.points_per_segment):
                low, high = cfg.forearm_span if SEGMENTS[seg] == "forearm" else cfg.upper_arm_span
                edges = np.linspace(high, low, count + 1)  # distal first
                fraction = edges[:-1] + (edges[1:] - edges[:-1]) * rng.uniform(size=count)
                angle = rng.uniform(-cfg.around_top_rad, cfg.around_top_rad, size=count)
                radius, length = radii[k, seg], lengths[k, seg]
                rows.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle), -fraction * length]))
            out.append(np.concatenate(rows))
        return np.stack(out)

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        jitter = per_sim_uniform(rngs, -cfg.bed_jitter_m, cfg.bed_jitter_m, (2,))
        yaw = BED_YAW_RAD + per_sim_uniform(rngs, -cfg.bed_yaw_jitter_rad, cfg.bed_yaw_jitter_rad)
        arm = np.column_stack(
            [
                per_sim_uniform(rngs, *cfg.shoulder_yaw_rad),
                per_sim_uniform(rngs, *cfg.shoulder_flexion_rad),
                per_sim_uniform(rngs, *cfg.shoulder_abduction_rad),
                per_sim_uniform(rngs, *cfg.elbow_flexion_rad),
            ]
        )
        targets = self.person.rest_targets(n)
        targets[:, self.arm_cols] = arm
        base = BED_POS + np.column_stack([jitter, np.zeros(n)])
        self.person.initialize(sim, ids, rngs, targets, base, base_yaw=yaw)
        self.point_local[ids] = self._draw_points(sim, ids, rngs)
        self.userdata[ids] = 0.0
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        self.person.before_physics(sim)

    # ---------------------------------------------------------------------------------- figures
    def points(self, sim: Simulation) -> np.ndarray:
        """(n, P, 3) the marked points in the world, moving with the arm."""
        rot = sim.xmat[:, self.point_body].reshape(sim.num_sims, self.num_points, 3, 3)
        local = self.point_local[:, :, None, :]
        return sim.xpos[:, self.point_body] + (rot * local).sum(axis=3)

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        p = self.num_points
        points = self.points(sim)
        face = sim.site_xpos[:, self.face_site]
        distance = np.linalg.norm(points - face[:, None], axis=2)
        safety = self.person.measure(sim, np.full(sim.num_sims, TOOL_MASS_KG))
        arm_force = safety["force_n"]["upper_arm"] + safety["force_n"]["lower_arm"]
        low, high = cfg.force_band_n
        in_band = (arm_force >= low) & (arm_force <= high)
        cleaned = (self.userdata[:, :p] > 0.5) | ((distance < cfg.clean_radius_m) & in_band[:, None])
        violated = (self.userdata[:, p] > 0.5) | safety["quasi_static_exceeded"] | safety["transient_exceeded"]
        self.userdata[:, :p] = cleaned
        self.userdata[:, p] = violated
        fraction = cleaned.mean(axis=1)
        withdrawn = (safety["max_contact_force_n"] == 0.0) & (distance.min(axis=1) > cfg.clearance_m)
        remaining = np.where(cleaned, np.inf, distance)
        next_point = np.where(cleaned.all(axis=1), -1, np.argmin(np.where(cleaned, np.inf, np.arange(p)), axis=1))
        enough = fraction >= cfg.success_fraction - FRACTION_SLACK
        return {
            "success": enough & ~violated & withdrawn,
            "fail": cfg.safety_fail(safety),
            "cleaned_count": cleaned.sum(axis=1),
            "cleaned_fraction": fraction,
            "arm_force_n": arm_force,
            "force_in_band": in_band,
            "violated": violated,
            "withdrawn": withdrawn,
            "enough_cleaned": enough,
            "next_point": next_point,
            "face_to_uncleaned_m": np.where(np.isfinite(remaining.min(axis=1)), remaining.min(axis=1), 0.0),
            "sponge_compression_m": -sim.qpos[:, self.sponge_qpos],
            "safety": safety,
            "human": self.person.info(),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        enough = ev["enough_cleaned"]
        return self.config.safety_terms(ev["safety"]) | {
            "reach": np.where(enough, 1.0, approach(ev["face_to_uncleaned_m"], criteria.REACH_SCALE_M)),
            "press": np.where(enough, 1.0, ev["force_in_band"].astype(float)),
            "cleaned": ev["cleaned_fraction"],
            "withdraw": (enough & ev["withdrawn"]).astype(float),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        p = self.config.num_points
        return {
            "task_arm_points_pos": (3 * p,),
            "task_points_cleaned": (p,),
            "task_face_pos": (3,),
            "task_next_point_to_face": (3,),
            "task_force_on_arm_n": (1,),
            "task_sponge_compression_m": (1,),
        }

    def _next_point(self, points: np.ndarray, ev: dict[str, np.ndarray]) -> np.ndarray:
        """(n, 3) the next uncleaned point in wiping order; the last point once all are cleaned."""
        index = np.where(ev["next_point"] < 0, self.num_points - 1, ev["next_point"])
        return points[np.arange(len(points)), index]

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        points = self.points(sim)
        face = sim.site_xpos[:, self.face_site]
        return {
            "task_arm_points_pos": points.reshape(sim.num_sims, -1),
            "task_points_cleaned": self.userdata[:, : self.num_points].copy(),
            "task_face_pos": face,
            "task_next_point_to_face": self._next_point(points, ev) - face,
            "task_force_on_arm_n": ev["arm_force_n"][:, None],
            "task_sponge_compression_m": ev["sponge_compression_m"][:, None],
        }

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        _, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"wash {possessive} right arm",
            f"wipe {possessive} right forearm and upper arm with the sponge",
            f"give {obj} a bed bath on the right arm, from the wrist to the shoulder",
            f"clean {possessive} right arm gently with the sponge",
            f"sponge down {possessive} right arm while {obj} lies in bed",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        p = self.num_points
        safety_force = self.person.monitor.measure(sim, np.full(sim.num_sims, TOOL_MASS_KG))["force_n"]
        return {
            "points_pos": self.points(sim),
            "cleaned": self.userdata[:, :p] > 0.5,
            "face_pos": sim.site_xpos[:, self.face_site].copy(),
            "arm_force_n": safety_force["upper_arm"] + safety_force["lower_arm"],
            "sponge_compression_m": -sim.qpos[:, self.sponge_qpos],
        }
