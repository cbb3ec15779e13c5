"""BlanketCover: take a blanket that has slid down the bed by its hem and pull it up over a lying person's legs.

Scene: a Panda-class arm on a pedestal beside a bed; an older adult (``envs/human``: a woman or a man aged 75+,
stature drawn per episode) lies on their back (``supine_bed``), arms at their sides. A blanket
(``envs/scene/blanket.py``: a 9 x 6 vertex MuJoCo flex cloth, 1.04 m x 0.6 m, inextensible edges, free to bend, with
a stiff flat hem along its head-side edge and a pull tab at the hem's middle) has slid down towards the foot of the
bed: its hem lies across their shins, the cloth covers the feet and hangs over the foot end. Per episode the bed's
place (``bed_jitter_m``, +-3 cm), the person's sex, stature, body mass and impairments (``human`` ranges; ``tremor`` and
``voluntary_motion`` switches; the legs are rigid, so only arms and head move), where the hem lies along and across
the bed (``blanket_x_range_m``, 0.32-0.4 m from the hips as dropped, 0.4-0.55 m once the cloth has settled in the
first steps; ``blanket_y_range_m``, +-2 cm) and the blanket's mass (``blanket_mass_kg``, 0.5-1.2 kg, a single-bed
cotton or fleece blanket [ESTIMATE]) are randomized.

Success: at least ``coverage_required`` (0.9) of 20 sample points along the top of both thighs and shanks (5 per
segment, hip to ankle) are covered (a vertical line through the point meets the cloth no lower than 1 cm beneath
it), the jaws are open and the TCP at least ``clearance_m`` from the hem. Assistive Gym's dressing task counts
progress as the length of limb covered by cloth (Erickson et al. 2020, success at 0.4 m of sleeve); here the share
of the legs covered, as a caregiver would judge it. Fail: the blanket falls off the bed (its hem below
``FLOOR_FAIL_Z``) or, with ``terminate_on_safety_violation``, a robot or hem contact on the person exceeds an ISO/TS
15066 limit. Safety: ``info["safety"]`` every step; the hem is passed to the monitor as a tool, so its contact
forces on the person count (it rests on the shins and is laid on the belly), while the cloth's own weight on the
legs does not (it is not a hazard). ``safety_penalty`` > 0 adds the reward term ``safety`` with that negative
weight. ``info["human"]`` says who the person is; ``info["coverage"]`` the covered share. Reward (dense, every term
in [0, 1], weights ``w_*``): reach the tab, grasp the hem (by its tab or the hem itself), pull it towards its place
at the waist (0.05 m from the hips towards the head), coverage (the covered share), release and withdraw once
covered, success; reach and grasp stay full once the legs are covered, so letting go does not lower the reward.
Sparse: 1 on success. Observations (``task_*``): hem position and axis, hem relative to the TCP and to its goal,
the tab's position and its offset from the TCP, the covered share, the cloth's vertex positions
relative to the hips (flattened, 54 x 3) and the hips' position.

Contact and solver choices: the cloth touches the person, the furniture, and the arm and the hand
(``cloth_touches_robot``, on by default), so the jaws cannot reach the hem through the fabric: they take the tab,
which lies off the cloth on the head side. It does not collide with itself (self-collision would cost more than
the rest of the scene), with its hem, or with the floor (the part hanging over the foot end stays above it).
``cloth_touches_robot=False`` lets the robot pass through the fabric (the step costs about the same). The cloth's
contacts use its own friction (0.4, priority over skin and mattress): with the mattress's and skin's 1.0 the drag
twisted the hem out of the jaws. The hem is a rigid flat bar (30 x 12 mm, 80 g) with a 45 x 25 mm tab standing up
from its head-side edge: the grasp is a plain pinch of a rigid part, across the tab, and the pull runs through the
hem's middle so the cloth's drag does not twist it out of the jaws (a pinch at the hem's end was twisted out). The
hem slides, turns and tilts but does not roll about its long axis: the cloth hangs from that axis, so nothing held
it flat, and a rolling hem turned its tab down between the shins or over onto the fabric.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.human.config import HumanConfig, HumanRanges
from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation, joint_addresses
from embodia.envs.scene import blanket, panda, props
from embodia.envs.scene.builder import PhysicsOptions, SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, approach, per_sim_uniform, tolerance
from embodia.envs.tasks.care.common import PERSON_EPISODE_STATE, CareTaskConfig
from embodia.envs.tasks.registry import register_task

ROBOT_BASE = (0.0, 0.0, 0.7)
BED_POS = np.array([-0.35, 0.62, 0.0])  # hip midpoint; the bed runs along +x (the feet), the robot on her right
SHAPE = blanket.BlanketShape()
SPREAD_Z_M = 0.9  # the cloth's rest shape is compiled flat here, above the person
BED_END_X_M = 0.9  # the mattress's foot end, from the hips (``props.add_bed``)
CLOTH_TIMESTEP_S = 0.003125
#: the slid-down cloth starts this far above the top of the feet (the toes, pointing up) and settles on them in
#: the first steps; a taller person's toes stand higher
DROP_ABOVE_FEET_M = 0.01
HEM_GOAL_OFFSET_X_M = -0.05  # the hem's place, relative to the hips: at the waist
LEG_SEGMENTS = ("right_thigh", "right_shank", "left_thigh", "left_shank")
POINTS_PER_SEGMENT = 5
FLOOR_FAIL_Z = 0.3
#: the cloth's x extent must leave it over the mattress (0.3 m) and inside the arm's reach (0.55 m)
BLANKET_X_LIMITS_M = (0.3, 0.55)
#: the bed moves at most 10 cm between episodes, within what the arm reaches over it
MAX_BED_JITTER_M = 0.1
#: the pull term's scale: the hem travels about half a metre up the bed
PULL_SCALE_M = 0.2


#: the TCP within this of the hem rod (across it), jaws closed on it: grasped
GRASP_REACH_M = 0.03
#: the hem is a soft rod: any opening up to 6 mm wider than it holds it (no lower bound)
HEM_HOLD_BAND_M = (np.inf, 0.006)


@dataclass(frozen=True)
class BlanketCoverConfig(CareTaskConfig):
    valid_postures = ("supine_bed",)

    human: HumanRanges = dataclasses.field(
        default_factory=lambda: HumanRanges(structure=HumanConfig(posture="supine_bed"))
    )
    episode_steps: int = 200
    #: a 3.125 ms physics step, 16 per control step instead of 25: the cloth's 54 vertices and their 133
    #: inextensible edges make a physics step about 8 times BedBathing's, and this brings a control step to about
    #: 3.5 times its cost (4.0 times at 2.5 ms, 4.6 at 2 ms; ``experiments/cloth_cost.py``). The expert succeeds as
    #: often (199/200 on seeds 0-199; 198/200 at 2.5 ms), with a lower peak force on the legs (63 N; 67 N). The
    #: default contact time constant (20 ms) stays above two steps; the finger pads' 4 ms rises to MuJoCo's floor
    #: of two steps (6.25 ms), which still holds the hem's tab.
    physics: PhysicsOptions = dataclasses.field(
        default_factory=lambda: PhysicsOptions(timestep_s=CLOTH_TIMESTEP_S), metadata={"doc": "MuJoCo solver settings"}
    )
    bed_jitter_m: float = 0.03
    #: the slid-down hem, from the hips, as dropped (it settles ~0.1 m further towards the feet)
    blanket_x_range_m: tuple[float, float] = (0.32, 0.4)
    blanket_y_range_m: tuple[float, float] = (-0.02, 0.02)  # cloth centre line from the bed's
    blanket_mass_kg: tuple[float, float] = (0.5, 1.2)
    #: the fabric collides with the arm and the hand too, so jaws cannot pass through it (off: they pass through)
    cloth_touches_robot: bool = True
    coverage_required: float = 0.9  # share of the legs' sample points covered for success
    clearance_m: float = 0.08  # success: the TCP at least this far from the hem
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_pull: float = 2.0
    w_coverage: float = 2.0
    w_release: float = 1.0
    w_success: float = 5.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.coverage_required <= 1.0:
            raise ValueError(f"coverage_required={self.coverage_required!r} must be in (0, 1]")
        for name in ("blanket_x_range_m", "blanket_y_range_m", "blanket_mass_kg"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ValueError(f"{name}={(low, high)!r} must be (low, high) with low <= high")
        if self.blanket_x_range_m[0] < BLANKET_X_LIMITS_M[0] or self.blanket_x_range_m[1] > BLANKET_X_LIMITS_M[1]:
            raise ValueError(
                f"blanket_x_range_m={self.blanket_x_range_m!r} must lie within {list(BLANKET_X_LIMITS_M)} m"
            )
        if self.blanket_mass_kg[0] <= 0.0:
            raise ValueError(f"blanket_mass_kg={self.blanket_mass_kg!r} must be positive")
        if not 0.0 <= self.bed_jitter_m <= MAX_BED_JITTER_M:
            raise ValueError(f"bed_jitter_m={self.bed_jitter_m!r} must be in [0, {MAX_BED_JITTER_M}] m")


@register_task("embodia/BlanketCover-v0")
class BlanketCover(Task):
    Config = BlanketCoverConfig
    description = (
        "elder care: take a blanket that slid down the bed by its hem and pull it up over a lying person's legs"
    )
    episode_state_fields = (*PERSON_EPISODE_STATE, "leg_axis_points", "leg_radii")  # the legs: the person's size

    def __init__(self, config: BlanketCoverConfig) -> None:
        super().__init__(config)
        self.person = config.make_person()

    def build_scene(self) -> SceneBuilder:
        cfg = self.config
        builder = SceneBuilder("blanket_cover", cfg.physics)
        props.add_room(builder, floor="wood")
        panda.mount_on_pedestal(builder, ROBOT_BASE)
        self.person.build(builder, "person", BED_POS, 0.0, tools={"hem": "blanket_hem"})
        mean_mass = float(np.mean(cfg.blanket_mass_kg))
        hem_xy = (BED_POS[0] + HEM_GOAL_OFFSET_X_M, BED_POS[1])
        self.names = blanket.add_blanket(
            builder, "blanket", SHAPE, hem_xy, SPREAD_Z_M, mean_mass, touches_robot=cfg.cloth_touches_robot
        )
        builder.add_camera("front", pos=(1.3, 1.5, 1.6), target=(0.0, 0.5, 0.7), fovy_deg=55)  # over the feet
        builder.add_camera("side", pos=(0.2, -1.35, 1.55), target=(0.0, 0.5, 0.7), fovy_deg=55)  # behind the robot
        builder.add_camera("top", pos=(0.0, 0.5, 2.4), target=(0.0, 0.5, 0.7), fovy_deg=55)
        builder.add_camera("work", pos=(1.24, 1.44, 1.57), target=(0.04, 0.35, 0.94), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.person.bind(context)
        self.vertex_bodies = np.array([model.body(name).id for name in self.names.vertex_bodies])
        first_joint = model.body_jntadr[self.vertex_bodies]
        self.vertex_qpos = model.jnt_qposadr[first_joint][:, None] + np.arange(3)  # (V, 3) slide x, y, z
        self.vertex_dof = model.jnt_dofadr[first_joint][:, None] + np.arange(3)
        self.vertex_rest = model.body_pos[self.vertex_bodies].copy()  # world frame: the flex hangs on the world
        self.hem_body = model.body(self.names.hem).id
        self.hem_qpos, self.hem_dof = joint_addresses(model, self.names.hem_joint)
        self.hem_rest = model.body_pos[self.hem_body].copy()  # its slides move it from here (a child of the world)
        self.root_body = model.body("person").id
        self.leg_geoms = np.array([model.geom(f"person_{segment}").id for segment in LEG_SEGMENTS])
        self.foot_geoms = np.array([model.geom(f"person_{side}_foot").id for side in ("right", "left")])
        self.geom_xpos = context.sim.bound("geom_xpos")
        self.geom_xmat = context.sim.bound("geom_xmat")
        n, count = context.num_sims, len(LEG_SEGMENTS) * POINTS_PER_SEGMENT
        self.leg_axis_points = np.zeros((n, count, 3))  # in the person's root frame, each simulation's person
        self.leg_radii = np.zeros((n, count))
        self.robot = context.robot

    def _leg_points(self, sim: Simulation, ids: np.ndarray) -> None:
        """Points on the axis of each thigh and shank capsule in the root frame (the legs are rigid on it), and
        the capsules' radii, for each simulation's person: the points to cover are these raised by the radius,
        the top of the leg."""
        pos = sim.per_sim_model_field("geom_pos")[np.ix_(ids, self.leg_geoms)]  # (k, G, 3)
        q = sim.per_sim_model_field("geom_quat")[np.ix_(ids, self.leg_geoms)]  # (k, G, 4) wxyz
        size = sim.per_sim_model_field("geom_size")[np.ix_(ids, self.leg_geoms)]
        # the capsule's axis, the rotation's third column, with mju_quat2Mat's own operations (the same bits)
        q0, q1, q2, q3 = np.moveaxis(q, -1, 0)
        axis = np.stack(
            [2 * (q1 * q3 + q0 * q2), 2 * (q2 * q3 - q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3], axis=-1
        )
        fractions = np.linspace(-0.8, 0.8, POINTS_PER_SEGMENT)[None, None, :, None]
        points = pos[:, :, None] + axis[:, :, None] * fractions * size[:, :, None, None, 1]  # (k, G, F, 3)
        self.leg_axis_points[ids] = points.reshape(len(ids), -1, 3)
        self.leg_radii[ids] = np.repeat(size[..., 0], POINTS_PER_SEGMENT, axis=1)

    def _feet_top(self, sim: Simulation, ids: np.ndarray) -> np.ndarray:
        """(len(ids),) the height of the highest point of the person's feet."""
        centre = self.geom_xpos[np.ix_(ids, self.foot_geoms)]  # (k, 2, 3)
        axis_z = self.geom_xmat[np.ix_(ids, self.foot_geoms)][..., 8]  # the capsule axis' world z
        size = sim.per_sim_model_field("geom_size")[np.ix_(ids, self.foot_geoms)]
        return (centre[..., 2] + np.abs(axis_z) * size[..., 1] + size[..., 0]).max(axis=1)

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        jitter = per_sim_uniform(rngs, -cfg.bed_jitter_m, cfg.bed_jitter_m, (2,))
        base = BED_POS + np.column_stack([jitter, np.zeros(n)])
        self.person.initialize(sim, ids, rngs, self.person.rest_targets(n), base)
        self._leg_points(sim, ids)
        sim.forward(ids, stage=mujoco.mjtStage.mjSTAGE_POS)  # the person's pose: where their feet are
        drop_z = self._feet_top(sim, ids) + SHAPE.cloth_radius_m + DROP_ABOVE_FEET_M
        hem_x = base[:, 0] + per_sim_uniform(rngs, *cfg.blanket_x_range_m)
        centre_y = base[:, 1] + per_sim_uniform(rngs, *cfg.blanket_y_range_m)
        mass = per_sim_uniform(rngs, *cfg.blanket_mass_kg)
        spread = self.vertex_rest.reshape(1, SHAPE.rows, SHAPE.columns, 3).repeat(n, axis=0)
        spread[..., 1] += (centre_y - BED_POS[1])[:, None, None]
        folded = blanket.pulled_down(spread, hem_x, base[:, 0] + BED_END_X_M, drop_z).reshape(n, -1, 3)
        sim.qpos[ids[:, None, None], self.vertex_qpos[None]] = folded - self.vertex_rest[None]
        sim.qvel[ids[:, None, None], self.vertex_dof[None]] = 0.0
        vertex_mass = mass / len(self.vertex_bodies)
        sim.set_body_mass(ids, self.vertex_bodies, vertex_mass)
        hem = folded[:, : SHAPE.columns].mean(axis=1)
        sim.qpos[ids, self.hem_qpos : self.hem_qpos + 3] = hem - self.hem_rest
        sim.qpos[ids, self.hem_qpos + 3 : self.hem_qpos + 5] = 0.0  # along the bed's width, flat
        sim.qvel[ids, self.hem_dof : self.hem_dof + 5] = 0.0
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        self.person.before_physics(sim)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _geometry(self, sim: Simulation):
        vertices = sim.xpos[:, self.vertex_bodies]  # (n, V, 3)
        root = sim.xpos[:, self.root_body]
        rotation = sim.xmat[:, self.root_body].reshape(-1, 3, 3)
        legs = root[:, None] + (rotation[:, None] @ self.leg_axis_points[:, :, :, None])[..., 0]
        legs[:, :, 2] += self.leg_radii
        hem = sim.xpos[:, self.hem_body]
        hem_frame = sim.xmat[:, self.hem_body].reshape(-1, 3, 3)
        hem_axis = hem_frame[:, :, 1]
        tab = hem + hem_frame @ SHAPE.tab_centre
        goal = root + np.array([HEM_GOAL_OFFSET_X_M, 0.0, 0.0])
        return vertices, legs, hem, hem_axis, tab, goal, root

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg = self.config
        vertices, legs, hem, _, tab, goal, _ = self._geometry(sim)
        grid = vertices.reshape(-1, SHAPE.rows, SHAPE.columns, 3)
        coverage = blanket.covered(grid, legs).mean(axis=1)
        tcp = self.robot.tcp_pos(sim)
        width = self.robot.gripper_width(sim)
        offset = tcp - hem
        along = np.abs(offset[:, 1])  # the hem runs along y
        tcp_to_hem = np.linalg.norm(offset[:, [0, 2]], axis=1)
        grasped = self.robot.holds(sim, tcp_to_hem, SHAPE.hem_width_m, GRASP_REACH_M, HEM_HOLD_BAND_M)
        grasped &= along < SHAPE.width_m / 2
        tcp_to_tab = np.linalg.norm(tcp - tab, axis=1)
        grasped |= self.robot.holds(sim, tcp_to_tab, SHAPE.tab_width_m, GRASP_REACH_M)
        clear = (width > criteria.OPEN_HAND_WIDTH_M) & (np.linalg.norm(offset, axis=1) > cfg.clearance_m)
        covered_enough = coverage >= cfg.coverage_required
        safety = self.person.measure(sim, np.full(sim.num_sims, SHAPE.hem_total_mass_kg))
        return {
            "success": covered_enough & clear,
            "fail": (hem[:, 2] < FLOOR_FAIL_Z) | cfg.safety_fail(safety),
            "grasped": grasped,
            "covered": covered_enough,
            "clear": clear,
            "coverage": coverage,
            "hem_to_goal_m": np.linalg.norm((hem - goal)[:, :2], axis=1),
            "tcp_to_hem_m": np.linalg.norm(offset, axis=1),
            "tcp_to_tab_m": tcp_to_tab,
            "safety": safety,
            "human": self.person.info(),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        covered = ev["covered"].astype(float)
        return self.config.safety_terms(ev["safety"]) | {  # reach and grasp stay full once he is covered
            "reach": np.maximum(approach(ev["tcp_to_tab_m"], criteria.REACH_SCALE_M), covered),
            "grasp": np.maximum(ev["grasped"], covered),
            "pull": np.maximum(ev["grasped"], covered) * tolerance(ev["hem_to_goal_m"], PULL_SCALE_M),
            "coverage": ev["coverage"],
            "release": ev["covered"] * ev["clear"],
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_hem_pos": (3,),
            "task_hem_axis": (3,),
            "task_hem_to_tcp": (3,),
            "task_tab_pos": (3,),
            "task_tab_to_tcp": (3,),
            "task_hem_to_goal": (3,),
            "task_coverage": (1,),
            "task_cloth": (3 * SHAPE.rows * SHAPE.columns,),
            "task_hips": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vertices, _, hem, hem_axis, tab, goal, root = self._geometry(sim)
        tcp = self.robot.tcp_pos(sim)
        return {
            "task_hem_pos": hem,
            "task_hem_axis": hem_axis,
            "task_hem_to_tcp": hem - tcp,
            "task_tab_pos": tab,
            "task_tab_to_tcp": tab - tcp,
            "task_hem_to_goal": goal - hem,
            "task_coverage": ev["coverage"][:, None],
            "task_cloth": (vertices - root[:, None]).reshape(sim.num_sims, -1),
            "task_hips": root,
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.full(sim.num_sims, self.hem_body, dtype=np.int64)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        _, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"pull the blanket up over {possessive} legs",
            f"cover {obj} with the blanket",
            f"tuck {obj} in: draw the blanket up to {possessive} waist",
            f"take the blanket's edge and pull it over {possessive} legs",
            f"spread the blanket over {obj} from the feet up",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        _, legs, hem, hem_axis, tab, goal, root = self._geometry(sim)
        return {
            "hem_pos": hem,
            "hem_axis": hem_axis,
            "tab_pos": tab,
            "hem_goal": goal,
            "hips_pos": root,
            "leg_points": legs,
        }
