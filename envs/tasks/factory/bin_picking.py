"""BinPicking: pick the requested part out of a bin and place it into its slot in a kitting tray.

Scene: a Panda-class arm on a workbench; a bin holding three parts (a 36 mm cube, a 36 mm cylinder and a
50 x 30 x 30 mm block) at random positions and yaws; a kitting tray with one pocket per part. Bin and tray
positions are jittered per episode; the requested part is drawn at random.

Success: the requested part rests in its pocket (centre within ``slot_tolerance_m`` in x and y, resting on the
pocket floor, speed under 3 cm/s) and the gripper has released it (jaws opened 8 mm wider than the part).
Fail: the requested part leaves the bench.
Reward (dense, every term in [0, 1], weights ``w_*``): reach the part, grasp it, lift it, carry it onto the line
above its slot, place it in the slot, release it (the jaws' opening from the part's width to released, once it
is in its slot), success. Each stage's term stays full through the stages after it (lowered
into the slot, the part is still "lifted" and "carried"; released there, still "grasped"), so that the expert's own
path earns more at every stage. Sparse reward: 1 on success.
Observations (``task_*``): requested part position, quaternion and one-hot kind, the slot position, all parts'
positions, the part relative to the TCP and the slot relative to the part. Language-conditioned variant
(``goal_in_words=True``): every part's pose, relative to the TCP and to its slot, in a fixed order, with nothing
that marks the requested one: the instruction is the only place the goal is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.scene.workbench import BENCH_TOP_Z, add_workbench_cell
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import (
    BindContext,
    Task,
    TaskConfig,
    approach,
    drop_line_distance,
    lowering,
    per_sim_integers,
    per_sim_uniform,
)
from embodia.envs.tasks.instructions import colour_name
from embodia.envs.tasks.registry import register_task

BIN_CENTER = np.array([0.52, -0.23, BENCH_TOP_Z])
TRAY_CENTER = np.array([0.52, 0.22, BENCH_TOP_Z])
BIN_INNER_HALF = (0.15, 0.15)
TRAY_FLOOR_M = 0.01
POCKET_SPACING_M = 0.085


#: the TCP within this of the part's centre, jaws around it: grasped
GRASP_REACH_M = 0.025
#: a part is seated in its pocket when its centre is within 8 mm of its resting height
SEATED_HEIGHT_TOLERANCE_M = 0.008


@dataclass(frozen=True)
class PartSpec:
    """A part kind: its primitive, MuJoCo half sizes, width across the jaws, resting centre height, colour.

    ``pocket_half_xy`` is the pocket opening in the tray frame (8 mm clearance around the footprint, the block
    lying along x).
    """

    name: str
    geom: mujoco.mjtGeom
    half_size: tuple[float, float, float]
    grasp_width_m: float
    rest_height_m: float
    pocket_half_xy: tuple[float, float]
    rgba: tuple[float, float, float, float]


PARTS = (
    PartSpec("cube", GEOM.mjGEOM_BOX, (0.018, 0.018, 0.018), 0.036, 0.018, (0.026, 0.026), (0.8, 0.25, 0.2, 1)),
    PartSpec("cylinder", GEOM.mjGEOM_CYLINDER, (0.018, 0.02, 0.0), 0.036, 0.02, (0.026, 0.026), (0.2, 0.45, 0.8, 1)),
    PartSpec("block", GEOM.mjGEOM_BOX, (0.025, 0.015, 0.015), 0.030, 0.015, (0.033, 0.023), (0.25, 0.65, 0.3, 1)),
)
NUM_PARTS = len(PARTS)


@dataclass(frozen=True)
class BinPickingConfig(TaskConfig):
    episode_steps: int = 200
    part_mass_kg: tuple[float, float] = (0.04, 0.12)
    fixture_jitter_m: float = 0.03
    min_part_spacing_m: float = 0.085  # least distance between part centres in the bin
    part_margin_from_wall_m: float = 0.06  # least distance of a part centre from the bin's walls
    slot_tolerance_m: float = 0.012
    #: the language-conditioned variant: the observation describes every part and every slot alike and names no
    #: target, so only the episode's instruction (``info["instruction"]``, ``instruction_features``) says which
    #: part to move
    goal_in_words: bool = False
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_lift: float = 1.0
    w_carry: float = 2.0
    w_place: float = 2.0
    w_release: float = 1.0
    w_success: float = 5.0


@register_task("embodia/BinPicking-v0")
class BinPicking(Task):
    Config = BinPickingConfig
    description = "factory: pick the requested part from a bin and place it into its slot in a kitting tray"
    episode_state_fields = ("target",)

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("bin_picking", self.config.physics)
        add_workbench_cell(builder)
        props.add_open_box(
            builder, "bin", BIN_CENTER, BIN_INNER_HALF, wall_height=0.05, wall=0.01, material="plastic_grey"
        )
        tray = builder.world.add_body(name="tray", pos=TRAY_CENTER.tolist(), mocap=True)
        tray.add_geom(
            name="tray_plate",
            type=GEOM.mjGEOM_BOX,
            pos=[0, 0, TRAY_FLOOR_M / 2],
            size=[0.05, 1.5 * POCKET_SPACING_M, TRAY_FLOOR_M / 2],
            material="tray_blue",
        )
        wall = 0.004
        for k, part in enumerate(PARTS):
            y = (k - 1) * POCKET_SPACING_M
            hx, hy = part.pocket_half_xy
            for i, (px, py, sx, sy) in enumerate(
                (
                    (hx + wall, 0, wall, hy + 2 * wall),
                    (-hx - wall, 0, wall, hy + 2 * wall),
                    (0, hy + wall, hx, wall),
                    (0, -hy - wall, hx, wall),
                )
            ):
                tray.add_geom(
                    name=f"slot_{part.name}_wall{i}",
                    type=GEOM.mjGEOM_BOX,
                    pos=[px, y + py, TRAY_FLOOR_M + 0.007],
                    size=[sx, sy, 0.007],
                    material="tray_blue",
                )
            tray.add_site(name=f"slot_{part.name}", pos=[0, y, TRAY_FLOOR_M], size=[0.004, 0, 0], group=4)
        for k, part in enumerate(PARTS):
            body = builder.add_free_body(f"part_{part.name}", pos=[BIN_CENTER[0], BIN_CENTER[1] + (k - 1) * 0.08, 0.9])
            builder.add_material(f"part_{part.name}", part.rgba, specular=0.5, shininess=0.5)
            body.add_geom(
                name=f"part_{part.name}",
                type=part.geom,
                size=list(part.half_size),
                material=f"part_{part.name}",
                mass=0.08,
                friction=[1.0, 0.01, 0.0001],
                condim=4,
            )
        builder.add_camera("front", pos=(1.75, -0.35, 1.75), target=(0.35, 0.0, 0.95), fovy_deg=45)
        builder.add_camera("side", pos=(0.5, -1.25, 1.3), target=(0.5, 0.0, 0.8), fovy_deg=50)
        builder.add_camera("top", pos=(0.5, 0.0, 1.9), target=(0.5, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("work", pos=(1.15, -0.20, 1.29), target=(0.55, -0.06, 0.83), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.part_bodies = np.array([model.body(f"part_{p.name}").id for p in PARTS])
        self.part_geoms = np.array([model.geom(f"part_{p.name}").id for p in PARTS])
        joints = [model.joint(f"part_{p.name}") for p in PARTS]
        self.part_qpos = np.array([model.jnt_qposadr[j.id] for j in joints])
        self.part_qvel = np.array([model.jnt_dofadr[j.id] for j in joints])
        self.slot_sites = np.array([model.site(f"slot_{p.name}").id for p in PARTS])
        self.bin_mocap = model.body_mocapid[model.body("bin").id]
        self.tray_mocap = model.body_mocapid[model.body("tray").id]
        self.grasp_widths = np.array([p.grasp_width_m for p in PARTS])
        self.rest_heights = np.array([p.rest_height_m for p in PARTS])
        self.robot = context.robot
        self.target = np.zeros(context.num_sims, dtype=np.int64)
        self._model = model

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        n = len(ids)
        jitter = per_sim_uniform(rngs, -cfg.fixture_jitter_m, cfg.fixture_jitter_m, (2, 2))
        mocap_pos = sim.bound("mocap_pos")
        mocap_pos[ids, self.bin_mocap] = BIN_CENTER + np.pad(jitter[:, 0], ((0, 0), (0, 1)))
        mocap_pos[ids, self.tray_mocap] = TRAY_CENTER + np.pad(jitter[:, 1], ((0, 0), (0, 1)))
        self.target[ids] = per_sim_integers(rngs, NUM_PARTS)
        xy = self._sample_part_xy(rngs)  # (n, parts, 2) relative to the bin centre
        yaw = per_sim_uniform(rngs, -np.pi, np.pi, (NUM_PARTS,))
        masses = per_sim_uniform(rngs, *cfg.part_mass_kg, (NUM_PARTS,))
        body_mass = sim.per_sim_model_field("body_mass")
        body_mass[np.ix_(ids, self.part_bodies)] = masses
        for k in range(NUM_PARTS):
            base = mocap_pos[ids, self.bin_mocap]
            pos = np.column_stack(
                [
                    base[:, 0] + xy[:, k, 0],
                    base[:, 1] + xy[:, k, 1],
                    np.full(n, BENCH_TOP_Z + 0.01 + self.rest_heights[k] + 0.002),
                ]
            )
            adr = self.part_qpos[k]
            sim.qpos[ids, adr : adr + 3] = pos
            sim.qpos[ids, adr + 3 : adr + 7] = yaw_quat(yaw[:, k])
            sim.qvel[ids, self.part_qvel[k] : self.part_qvel[k] + 6] = 0.0
        sim.set_const(ids)

    def _sample_part_xy(self, rngs: list[np.random.Generator]) -> np.ndarray:
        """Non-overlapping part positions inside the bin, by rejection, per simulation."""
        cfg = self.config
        half = np.array(BIN_INNER_HALF) - cfg.part_margin_from_wall_m
        out = np.empty((len(rngs), NUM_PARTS, 2))
        for i, rng in enumerate(rngs):
            for _ in range(200):
                xy = rng.uniform(-half, half, size=(NUM_PARTS, 2))
                gaps = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(NUM_PARTS)
                if gaps.min() >= cfg.min_part_spacing_m:
                    break
            out[i] = xy
        return out

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _target_pose(self, sim: Simulation):
        rows = np.arange(sim.num_sims)
        body = self.part_bodies[self.target]
        return sim.xpos[rows, body], sim.xquat[rows, body]

    def parts_in_slots(self, sim: Simulation) -> np.ndarray:
        """(n, parts) whether each part sits in its own slot (centred within the tolerance, at its resting height):
        the target's is success's; the others' tell which part a policy placed instead."""
        parts = sim.xpos[:, self.part_bodies]
        slots = sim.site_xpos[:, self.slot_sites]
        lateral = np.abs(parts[..., :2] - slots[..., :2]).max(axis=-1)
        height = np.abs(parts[..., 2] - (slots[..., 2] + self.rest_heights[None, :]))
        return (lateral < self.config.slot_tolerance_m) & (height < SEATED_HEIGHT_TOLERANCE_M)

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        rows = np.arange(sim.num_sims)
        part_pos, _ = self._target_pose(sim)
        slot = sim.site_xpos[rows, self.slot_sites[self.target]]
        tcp = self.robot.tcp_pos(sim)
        grasp_width = self.grasp_widths[self.target]
        dof = self.part_qvel[self.target]
        speed = np.linalg.norm(sim.qvel[rows[:, None], dof[:, None] + np.arange(3)], axis=1)
        tcp_to_part = np.linalg.norm(part_pos - tcp, axis=1)
        grasped = self.robot.holds(sim, tcp_to_part, grasp_width, GRASP_REACH_M)
        in_slot = self.parts_in_slots(sim)[rows, self.target]
        released = self.robot.released(sim, grasp_width)
        success = in_slot & (speed < criteria.AT_REST_SPEED_M_S) & released
        fail = part_pos[:, 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M
        return {
            "success": success,
            "fail": fail,
            "grasped": grasped,
            "in_slot": in_slot,
            "released": released,
            "part_to_slot_m": np.linalg.norm(part_pos - slot, axis=1),
            "lift_m": part_pos[:, 2] - (BENCH_TOP_Z + 0.01 + self.rest_heights[self.target]),
            "tcp_to_part_m": tcp_to_part,
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = np.arange(sim.num_sims)
        part_pos, _ = self._target_pose(sim)
        slot = sim.site_xpos[rows, self.slot_sites[self.target]]
        held = np.maximum(ev["grasped"], ev["in_slot"]).astype(float)  # holding it, or it is in its slot
        carry = held * approach(drop_line_distance(part_pos, slot, criteria.CARRY_ABOVE_GOAL_M), criteria.CARRY_SCALE_M)
        return {
            "reach": np.maximum(approach(ev["tcp_to_part_m"], criteria.REACH_SCALE_M), ev["in_slot"]),
            "grasp": held,
            "lift": held * np.maximum(np.clip(ev["lift_m"] / criteria.LIFT_HEIGHT_M, 0.0, 1.0), carry),
            "carry": carry,
            "place": held * lowering(ev["part_to_slot_m"]),
            "release": ev["in_slot"] * self.robot.release_progress(sim, self.grasp_widths[self.target]),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        if self.config.goal_in_words:
            return {
                "task_parts_pos": (3 * NUM_PARTS,),
                "task_parts_quat": (4 * NUM_PARTS,),
                "task_slots_pos": (3 * NUM_PARTS,),
                "task_parts_to_tcp": (3 * NUM_PARTS,),
                "task_parts_to_slots": (3 * NUM_PARTS,),
            }
        return {
            "task_part_pos": (3,),
            "task_part_quat": (4,),
            "task_part_kind": (NUM_PARTS,),
            "task_slot_pos": (3,),
            "task_all_parts_pos": (3 * NUM_PARTS,),
            "task_part_to_tcp": (3,),
            "task_part_to_slot": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = np.arange(sim.num_sims)
        if self.config.goal_in_words:  # parts and slots in the fixed order of PARTS: nothing marks the target
            parts = sim.xpos[:, self.part_bodies]
            slots = sim.site_xpos[:, self.slot_sites]
            return {
                "task_parts_pos": parts.reshape(sim.num_sims, -1),
                "task_parts_quat": sim.xquat[:, self.part_bodies].reshape(sim.num_sims, -1),
                "task_slots_pos": slots.reshape(sim.num_sims, -1),
                "task_parts_to_tcp": (parts - self.robot.tcp_pos(sim)[:, None]).reshape(sim.num_sims, -1),
                "task_parts_to_slots": (slots - parts).reshape(sim.num_sims, -1),
            }
        part_pos, part_quat = self._target_pose(sim)
        slot_pos = sim.site_xpos[rows, self.slot_sites[self.target]]
        return {
            "task_part_pos": part_pos,
            "task_part_quat": part_quat,
            "task_part_kind": np.eye(NUM_PARTS)[self.target],
            "task_slot_pos": slot_pos,
            "task_all_parts_pos": sim.xpos[:, self.part_bodies].reshape(sim.num_sims, -1),
            "task_part_to_tcp": part_pos - self.robot.tcp_pos(sim),
            "task_part_to_slot": slot_pos - part_pos,
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return self.part_bodies[self.target]

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        part = PARTS[int(self.target[sim_id])]
        what = f"{colour_name(part.rgba)} {part.name}"
        return (
            f"put the {what} in its slot in the tray",
            f"pick the {what} out of the bin and place it in its slot",
            f"move the {what} from the bin into the matching pocket of the tray",
            f"take the {what} from the bin and set it into its place in the tray",
            f"find the {what} in the bin and put it in the tray",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        rows = np.arange(sim.num_sims)
        part_pos, part_quat = self._target_pose(sim)
        return {
            "part_pos": part_pos,
            "part_quat": part_quat,
            "part_kind": self.target.copy(),
            "grasp_width_m": self.grasp_widths[self.target],
            "slot_pos": sim.site_xpos[rows, self.slot_sites[self.target]],
            "slot_quat": sim.bound("mocap_quat")[:, self.tray_mocap],
        }
