"""ConveyorSort: parts of three kinds arrive on a moving conveyor belt; drop each into the bin for its kind.

Scene: a Panda-class arm on a bench; a belt conveyor running along +y in front of it; three open bins, one per
kind, between the arm and the belt; a catch tray past the belt's end. Kinds: a 40 mm cube (red), a 70 x 30 x 30
mm bar (green) and a 50 x 50 x 20 mm plate (blue); two of each per episode, in random order, each placed on the
belt's entry at a random time (intervals ``arrival_interval_s``), lateral offset and yaw. A part that reaches the
belt's end falls into the catch tray, missed.
Conveyor: a belt slab on a slide joint under a velocity servo, shifted back by one texture period whenever it has
run that far (``before_physics``), so that parts ride on it by friction for any time; see
``logistics.add_belt_conveyor``. Waiting parts are parked off stage, at rest, and placed on the belt when due.

Success: every part in its kind's bin (inside the walls, below the rim) and the jaws open. Fail: a part falls to
the floor. Figures in info: ``sorted_count`` (right bin), ``missorted_count``, ``missed_count``,
``sort_accuracy`` (right bin / parts dealt with), ``throughput_per_min`` (right bin per minute so far).
Randomized: arrival order and times, entry offset (+-2.5 cm across the belt) and yaw, belt speed (4-6 cm/s),
part masses (30-150 g) and friction (0.5-0.9; the belt's is 0.3 and MuJoCo takes the larger of a pair).
Reward (dense, terms in [0, 1], weights ``w_*``): reach the part to pick next (the one held, else the most
downstream part on the belt), grasp it, carry it over its bin, ``progress`` (parts in the right bin / parts; one
part's share weighs more than the shaping it gives up when dropped, so sorting a part always pays),
``no_mistakes`` (1 - wrong-bin and missed parts / parts), success. Sparse reward: 1 on success.
Observations (``task_*``): part positions, kinds (one-hot), which parts are on the belt, bin positions, belt
speed; the part to pick next (the one held, else the most downstream one before ``LAST_PICK_Y``): relative to the
TCP, its bin relative to it, its orientation and kind (zeros and the identity once none is left), which is what a
policy turns the jaw and chooses the bin by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import logistics, panda, props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.scene.workbench import BENCH_CENTER_XY, BENCH_HALF_XY, BENCH_TOP_Z, ROBOT_BASE
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, approach, per_sim_uniform
from embodia.envs.tasks.instructions import colour_name
from embodia.envs.tasks.registry import register_task

BELT_X = 0.58
BELT_Y_RANGE = (-0.56, 0.40)
BELT_TOP_Z = BENCH_TOP_Z + 0.06
BELT_HALF_WIDTH_M = 0.07
BELT_WRAP_M = 0.04
ENTRY_Y = BELT_Y_RANGE[0] + 0.05
BIN_X = 0.33
BIN_YS = (-0.2, 0.0, 0.2)
BIN_INNER_HALF = (0.065, 0.07)
BIN_WALL_HEIGHT_M = 0.06
BIN_FLOOR_M = 0.006
PARK_X = -3.5


#: the TCP within this of a part's centre, jaws around it: that part is held
GRASP_REACH_M = 0.03
#: a part lies on the belt when its centre is within 1 cm of its resting height on the belt
ON_BELT_HEIGHT_TOLERANCE_M = 0.01
#: the carry waypoint above a bin: over its 6 cm walls with the part hanging below the jaws
ABOVE_BIN_M = 0.15
#: a part on the belt past this y leaves it before a grasp could close around it: not the one to pick next
LAST_PICK_Y = 0.26


@dataclass(frozen=True)
class PartKind:
    name: str
    half_size: tuple[float, float, float]
    grasp_width_m: float  # across the jaws, closed across the part's local y
    rgba: tuple[float, float, float, float]


KINDS = (
    PartKind("cube", (0.02, 0.02, 0.02), 0.04, (0.8, 0.25, 0.2, 1)),
    PartKind("bar", (0.035, 0.015, 0.015), 0.03, (0.25, 0.65, 0.3, 1)),
    PartKind("plate", (0.025, 0.025, 0.01), 0.05, (0.2, 0.45, 0.8, 1)),
)
PARTS_PER_KIND = 2
NUM_PARTS = PARTS_PER_KIND * len(KINDS)
PART_KIND = np.arange(NUM_PARTS) % len(KINDS)
PART_HALF = np.array([KINDS[k].half_size for k in PART_KIND])
PART_GRASP_WIDTH_M = np.array([KINDS[k].grasp_width_m for k in PART_KIND])


@dataclass(frozen=True)
class ConveyorSortConfig(TaskConfig):
    episode_steps: int = 700
    belt_speed_m_s: tuple[float, float] = (0.04, 0.06)  # belt speed, drawn per episode
    first_arrival_s: tuple[float, float] = (0.5, 1.5)  # when the first part enters the belt, drawn per episode
    arrival_interval_s: tuple[float, float] = (2.5, 4.5)  # time between part arrivals, drawn per part
    entry_offset_m: float = 0.025  # parts enter the belt within +/- this across it
    part_mass_kg: tuple[float, float] = (0.03, 0.15)
    part_friction: tuple[float, float] = (0.5, 0.9)
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_carry: float = 2.0
    w_progress: float = 30.0  # weight of progress: a sorted part's share (5) outweighs its shaping (4)
    w_no_mistakes: float = 2.0
    w_success: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("belt_speed_m_s", "arrival_interval_s", "first_arrival_s", "part_mass_kg", "part_friction"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name}={(low, high)!r} is not valid; valid: a range 0 < low <= high")


@register_task("embodia/ConveyorSort-v0")
class ConveyorSort(Task):
    Config = ConveyorSortConfig
    description = "factory: parts of three kinds arrive on a moving conveyor belt; drop each into the bin for its kind"
    episode_state_fields = ("arrival_s", "entry_x", "entry_yaw")

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("conveyor_sort", self.config.physics)
        props.add_room(builder)
        logistics.add_logistics_materials(builder)
        props.add_table(builder, "bench", BENCH_CENTER_XY, BENCH_TOP_Z, BENCH_HALF_XY, "bench")
        panda.mount(builder, ROBOT_BASE)
        logistics.add_belt_conveyor(
            builder, "conveyor", BELT_X, BELT_Y_RANGE, BELT_TOP_Z, BELT_HALF_WIDTH_M, BELT_WRAP_M
        )
        for kind, y in zip(KINDS, BIN_YS, strict=True):
            builder.add_material(f"kind_{kind.name}", kind.rgba, specular=0.5, shininess=0.5)
            logistics.add_sorting_bin(
                builder, f"bin_{kind.name}", (BIN_X, y, BENCH_TOP_Z), BIN_INNER_HALF, BIN_WALL_HEIGHT_M,
                f"kind_{kind.name}",
            )  # fmt: skip
        logistics.add_sorting_bin(
            builder, "catch_tray", (BELT_X, BELT_Y_RANGE[1] + 0.13, BENCH_TOP_Z), (0.08, 0.09), 0.03, "plastic_grey"
        )
        for k in range(NUM_PARTS):
            kind = KINDS[PART_KIND[k]]
            body = builder.add_free_body(f"part{k}", pos=[PARK_X, 0.15 * k, kind.half_size[2]])
            body.add_geom(
                name=f"part{k}",
                type=GEOM.mjGEOM_BOX,
                size=list(kind.half_size),
                material=f"kind_{kind.name}",
                mass=0.08,
                friction=[0.7, 0.01, 0.0001],
                condim=4,
            )
        builder.add_camera("front", pos=(1.75, -0.45, 1.7), target=(0.42, 0.0, 0.9), fovy_deg=45)
        builder.add_camera("side", pos=(0.5, -1.3, 1.35), target=(0.5, 0.0, 0.8), fovy_deg=50)
        builder.add_camera("top", pos=(0.45, 0.0, 1.95), target=(0.45, 0.0, 0.75), fovy_deg=55)
        builder.add_camera("work", pos=(1.35, -0.35, 1.45), target=(0.46, -0.13, 0.91), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.part_bodies = np.array([model.body(f"part{k}").id for k in range(NUM_PARTS)])
        self.part_geoms = np.array([model.geom(f"part{k}").id for k in range(NUM_PARTS)])
        self.part_qpos = np.array([model.jnt_qposadr[model.joint(f"part{k}").id] for k in range(NUM_PARTS)])
        self.part_qvel = np.array([model.jnt_dofadr[model.joint(f"part{k}").id] for k in range(NUM_PARTS)])
        belt = model.joint("conveyor_belt").id
        self.belt_qpos, self.belt_qvel = model.jnt_qposadr[belt], model.jnt_dofadr[belt]
        self.belt_actuator = model.actuator("conveyor_drive").id
        self.bin_pos = np.array([model.body(f"bin_{kind.name}").pos for kind in KINDS])
        self.robot = context.robot
        for name in self.episode_state_fields:  # arrival_s, entry_x, entry_yaw: drawn per episode
            setattr(self, name, np.zeros((context.num_sims, NUM_PARTS)))

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        order = np.stack([rng.permutation(NUM_PARTS) for rng in rngs])  # order[i, j]: the j-th part to arrive
        gaps = per_sim_uniform(rngs, *cfg.arrival_interval_s, (NUM_PARTS - 1,))
        first = per_sim_uniform(rngs, *cfg.first_arrival_s)
        times = np.cumsum(np.column_stack([first, gaps]), axis=1)
        rows = np.arange(len(ids))[:, None]
        arrival = np.empty_like(times)
        arrival[rows, order] = times
        self.arrival_s[ids] = arrival
        self.entry_x[ids] = BELT_X + per_sim_uniform(rngs, -cfg.entry_offset_m, cfg.entry_offset_m, (NUM_PARTS,))
        self.entry_yaw[ids] = per_sim_uniform(rngs, -np.pi, np.pi, (NUM_PARTS,))
        speed = per_sim_uniform(rngs, *cfg.belt_speed_m_s)
        sim.ctrl[ids, self.belt_actuator] = speed
        sim.qvel[ids, self.belt_qvel] = speed
        sim.per_sim_model_field("body_mass")[np.ix_(ids, self.part_bodies)] = per_sim_uniform(
            rngs, *cfg.part_mass_kg, (NUM_PARTS,)
        )
        friction = per_sim_uniform(rngs, *cfg.part_friction, (NUM_PARTS,))
        sim.per_sim_model_field("geom_friction")[ids[:, None], self.part_geoms[None, :], 0] = friction
        sim.set_const(ids)

    def before_physics(self, sim: Simulation) -> None:
        """Run the belt on (shift it back a period when due) and put parts on it when they are due."""
        qpos = sim.qpos
        wrap = qpos[:, self.belt_qpos] >= BELT_WRAP_M
        qpos[wrap, self.belt_qpos] -= BELT_WRAP_M
        parked = qpos[:, self.part_qpos] < PARK_X / 2  # (n, parts), by the x coordinate
        due = parked & (sim.time[:, None] >= self.arrival_s)
        for i, k in zip(*np.nonzero(due), strict=True):
            adr, dof = self.part_qpos[k], self.part_qvel[k]
            qpos[i, adr : adr + 3] = (self.entry_x[i, k], ENTRY_Y, BELT_TOP_Z + PART_HALF[k, 2] + 0.0005)
            qpos[i, adr + 3 : adr + 7] = yaw_quat(self.entry_yaw[i, k : k + 1])[0]
            sim.qvel[i, dof : dof + 6] = 0.0
            sim.qvel[i, dof + 1] = sim.ctrl[i, self.belt_actuator]
        changed = np.nonzero(wrap | due.any(axis=1))[0]
        if len(changed):
            sim.forward(changed)  # the batch reuses the last step's kinematics otherwise

    # ---------------------------------------------------------------------------------- figures
    def _part_status(self, sim: Simulation):
        pos = sim.xpos[:, self.part_bodies]
        rel = pos[:, :, None, :2] - self.bin_pos[None, None, :, :2]  # (n, parts, bins, 2)
        inside = (np.abs(rel) < np.array(BIN_INNER_HALF)).all(axis=-1) & (
            pos[:, :, None, 2] < BENCH_TOP_Z + BIN_FLOOR_M + BIN_WALL_HEIGHT_M
        )
        in_own_bin = inside[:, np.arange(NUM_PARTS), PART_KIND]
        in_other_bin = inside.any(axis=-1) & ~in_own_bin
        parked = pos[:, :, 0] < PARK_X / 2
        missed = ~parked & (
            (pos[:, :, 1] > BELT_Y_RANGE[1]) | (pos[:, :, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M)
        )
        on_belt = (
            ~parked & (np.abs(pos[:, :, 2] - BELT_TOP_Z - PART_HALF[None, :, 2]) < ON_BELT_HEIGHT_TOLERANCE_M) & ~missed
        )
        on_belt &= np.abs(pos[:, :, 0] - BELT_X) < BELT_HALF_WIDTH_M
        return pos, in_own_bin, in_other_bin, missed, on_belt, parked

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        rows = np.arange(sim.num_sims)
        pos, in_own_bin, in_other_bin, missed, on_belt, parked = self._part_status(sim)
        tcp = self.robot.tcp_pos(sim)
        tcp_to_part = np.linalg.norm(pos - tcp[:, None], axis=-1)
        held = self.robot.holds(sim, tcp_to_part, PART_GRASP_WIDTH_M, GRASP_REACH_M)
        # the part to pick next: the one held, else the most downstream one on the belt that can still be caught
        pickable = on_belt & (pos[:, :, 1] < LAST_PICK_Y)
        downstream = np.where(pickable, pos[:, :, 1], -np.inf)
        current = np.where(held.any(axis=1), np.argmax(held, axis=1), np.argmax(downstream, axis=1))
        has_current = held.any(axis=1) | pickable.any(axis=1)
        sorted_count = in_own_bin.sum(axis=1)
        mistakes = (in_other_bin | missed).sum(axis=1)
        dealt_with = sorted_count + mistakes
        minutes = np.maximum(sim.time, 1e-9) / 60.0
        released = self.robot.released(sim, PART_GRASP_WIDTH_M.max())
        carried = pos[rows, current]
        bin_above = self.bin_pos[PART_KIND[current]] + np.array([0.0, 0.0, ABOVE_BIN_M])
        self.on_belt = on_belt  # observe and privileged_state run after evaluate on the same state
        self.next_part = np.where(has_current, current, -1)
        return {
            "success": in_own_bin.all(axis=1) & released,
            "fail": (~parked & (pos[:, :, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M)).any(axis=1),
            "sorted_count": sorted_count,
            "missorted_count": in_other_bin.sum(axis=1),
            "missed_count": missed.sum(axis=1),
            "sort_accuracy": np.where(dealt_with > 0, sorted_count / np.maximum(dealt_with, 1), 1.0),
            "throughput_per_min": sorted_count / minutes,
            "on_belt_count": on_belt.sum(axis=1),
            "grasped": held[rows, current],
            "next_part": self.next_part,
            "tcp_to_part_m": np.where(has_current, tcp_to_part[rows, current], -1.0),  # -1: no part to pick
            "part_to_bin_m": np.linalg.norm(carried - bin_above, axis=1),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        grasped = ev["grasped"].astype(float)
        waiting = ev["next_part"] < 0
        return {
            "reach": np.where(waiting, 0.0, approach(np.abs(ev["tcp_to_part_m"]), criteria.REACH_SCALE_M)),
            "grasp": grasped,
            "carry": grasped * approach(ev["part_to_bin_m"], criteria.CARRY_SCALE_M),
            "progress": ev["sorted_count"] / NUM_PARTS,
            "no_mistakes": 1.0 - (ev["missorted_count"] + ev["missed_count"]) / NUM_PARTS,
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "task_part_pos": (3 * NUM_PARTS,),
            "task_part_kind": (len(KINDS) * NUM_PARTS,),
            "task_part_on_belt": (NUM_PARTS,),
            "task_bin_pos": (3 * len(KINDS),),
            "task_belt_speed": (1,),
            "task_part_to_tcp": (3,),
            "task_part_to_bin": (3,),
            "task_next_part_quat": (4,),
            "task_next_part_kind": (len(KINDS),),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        num = sim.num_sims
        pos = sim.xpos[:, self.part_bodies]
        current = np.maximum(ev["next_part"], 0)
        part_to_tcp = pos[np.arange(num), current] - self.robot.tcp_pos(sim)
        part_to_bin = self.bin_pos[PART_KIND[current]] - pos[np.arange(num), current]
        heading = ev["next_part"][:, None] >= 0  # a part is still to be sorted
        quat = sim.xquat[np.arange(num), self.part_bodies[current]]
        return {
            "task_part_pos": pos.reshape(num, -1),
            "task_part_kind": np.tile(np.eye(len(KINDS))[PART_KIND].ravel(), (num, 1)),
            "task_part_on_belt": self.on_belt.astype(float),
            "task_bin_pos": np.tile(self.bin_pos.ravel(), (num, 1)),
            "task_belt_speed": sim.ctrl[:, self.belt_actuator : self.belt_actuator + 1],
            "task_part_to_tcp": np.where(heading, part_to_tcp, 0.0),
            "task_part_to_bin": np.where(heading, part_to_bin, 0.0),
            "task_next_part_quat": np.where(heading, quat, np.array([1.0, 0.0, 0.0, 0.0])),
            "task_next_part_kind": np.where(heading, np.eye(len(KINDS))[PART_KIND[current]], 0.0),
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.where(self.next_part >= 0, self.part_bodies[np.maximum(self.next_part, 0)], -1)

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        kinds = ", ".join(f"{colour_name(kind.rgba)} {kind.name}s" for kind in KINDS)
        return (
            "sort the parts coming down the conveyor into their bins",
            f"drop each part from the belt into the bin for its kind: {kinds}",
            "pick the parts off the moving belt and put each one in its own bin",
            f"take the {kinds} off the conveyor and sort them by kind",
            "catch every part on the belt before it falls off and bin it by kind",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        num = sim.num_sims
        return {
            "part_pos": sim.xpos[:, self.part_bodies],
            "part_quat": sim.xquat[:, self.part_bodies],
            "part_kind": np.tile(PART_KIND, (num, 1)),
            "part_on_belt": self.on_belt.copy(),
            "bin_pos": np.tile(self.bin_pos, (num, 1, 1)),
            "belt_velocity": np.outer(sim.ctrl[:, self.belt_actuator], [0.0, 1.0, 0.0]),
        }
