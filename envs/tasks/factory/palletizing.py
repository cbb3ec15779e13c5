"""Palletizing: stack cartons from an infeed roller table onto a pallet in an interlocked layer pattern.

Scene: a Panda-class arm on a bench; an infeed roller table with ``2 * layers`` cartons (120 x 50 x 40 mm) queued
in rows; a small pallet (160 x 160 mm deck). Each layer holds two cartons side by side; odd layers turn 90 degrees
so that each carton bridges the two below it (a column stack would not tie the layers together). Neighbouring
slots leave a 40 mm gap: a parallel-jaw gripper closes across the 50 mm side, so a finger (16 mm pad, 9 mm of
release opening) must fit between neighbours; industrial palletizers pack tight with vacuum grippers instead.
The cartons are placed in order, lower layers first. Contacts: box on box (MuJoCo's box-box collider gives the
full contact patch, so a stack rests flat), cartons with condim 4 (torsional friction: a carton does not spin in
the jaws), pallet deck with a 5 ms solref (stiffer than the 20 ms default, so the stack does not sink).

Success: every carton in its slot (centre within ``slot_tolerance_m`` in x and y, within 10 mm of its layer's
height, yaw within ``yaw_tolerance_rad`` modulo 180 degrees, upright), every carton settled (slower than
``settled_speed_m_s`` and ``settled_spin_rad_s``: a stack that is still tipping is not stable), the jaws open and
the TCP at least 3 cm above the stack. Fail: a carton leaves the bench.
Randomized: carton masses (150-450 g, empty to lightly filled cartons) and friction (0.4-0.8, cardboard; domain
facts section 6), infeed positions (+-1 cm) and yaws (+-0.1 rad), pallet position (+-3 cm) and yaw (+-0.25 rad).
Reward (dense, terms in [0, 1], weights ``w_*``): for the next carton to place: reach it, grasp it, carry it onto
the line above its slot (which stays full while it is lowered into the slot), place it; ``progress`` (cartons in
their slots / cartons) weighs more than one carton's shaping terms,
so placing a carton always pays; once every carton is placed, release the last (the jaws' opening from the carton's
width to released); success. Sparse reward: 1 on success.
Observations (``task_*``): carton positions and quaternions, slot positions, slot yaws (cos and sin of twice the
yaw, as a carton is symmetric under a half turn), which cartons are placed, the next carton (one-hot, last entry:
none left), the next carton relative to the TCP and its slot relative to the carton.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.per_state import once_per_state
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import logistics, panda, props
from embodia.envs.scene.angles import quat_yaw, wrap
from embodia.envs.scene.builder import SceneBuilder
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.scene.workbench import BENCH_CENTER_XY, BENCH_HALF_XY, BENCH_TOP_Z, ROBOT_BASE
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, approach, drop_line_distance, lowering, per_sim_uniform
from embodia.envs.tasks.registry import register_task

BOX_HALF_M = np.array([0.06, 0.025, 0.02])
BOX_GRASP_WIDTH_M = 2 * BOX_HALF_M[1]
SLOT_GAP_M = 0.04
PALLET_CENTER = np.array([0.5, 0.22, BENCH_TOP_Z])
PALLET_HALF_XY = (0.08, 0.08)
PALLET_HEIGHT_M = 0.03
INFEED_CENTER_XY = (0.49, -0.295)
INFEED_HALF_XY = (0.19, 0.13)
INFEED_TOP_Z = BENCH_TOP_Z + 0.03
#: queue positions on the infeed, (x, y), filled in order: rows of three, the cartons' long side along y
QUEUE_XY = np.array([(0.37 + 0.12 * (k % 3), -0.22 - 0.15 * (k // 3)) for k in range(6)])
MAX_LAYERS = 3
SLOT_HEIGHT_TOLERANCE_M = 0.01
UPRIGHT_COS = 0.98


def layer_pattern(layers: int) -> tuple[np.ndarray, np.ndarray]:
    """Slot centres (N, 3) in the pallet frame and slot yaws (N,): two cartons a layer, odd layers turned."""
    offset = BOX_HALF_M[1] + SLOT_GAP_M / 2
    centres, yaws = [], []
    for layer in range(layers):
        z = PALLET_HEIGHT_M + (2 * layer + 1) * BOX_HALF_M[2]
        for side in (-1, 1):
            if layer % 2 == 0:
                centres.append((side * offset, 0.0, z))
                yaws.append(np.pi / 2)
            else:
                centres.append((0.0, side * offset, z))
                yaws.append(0.0)
    return np.array(centres), np.array(yaws)


#: the TCP within this of the box's centre, jaws around it: grasped
GRASP_REACH_M = 0.03
#: the stack is finished once the TCP has risen 3 cm above its top, clear of the last box
TCP_CLEAR_OF_STACK_M = 0.03


@dataclass(frozen=True)
class PalletizingConfig(TaskConfig):
    episode_steps: int = 600
    layers: int = 2  # carton layers on the pallet (2 cartons each)
    box_mass_kg: tuple[float, float] = (0.15, 0.45)
    box_friction: tuple[float, float] = (0.4, 0.8)
    pallet_jitter_m: float = 0.03
    pallet_yaw_rad: float = 0.25
    infeed_jitter_m: float = 0.01
    infeed_yaw_rad: float = 0.1
    slot_tolerance_m: float = 0.015
    yaw_tolerance_rad: float = 0.1
    settled_speed_m_s: float = 0.01  # a carton slower than this counts as settled
    settled_spin_rad_s: float = 0.1  # a carton spinning slower than this counts as settled
    w_reach: float = 1.0
    w_grasp: float = 1.0
    w_carry: float = 2.0
    w_place: float = 2.0
    w_progress: float = 40.0
    w_release: float = 1.0
    w_success: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.layers, int) and 1 <= self.layers <= MAX_LAYERS):
            raise ValueError(f"layers={self.layers!r} is not valid; valid: integers 1 to {MAX_LAYERS}")


@register_task("embodia/Palletizing-v0")
class Palletizing(Task):
    Config = PalletizingConfig
    description = "factory: stack cartons from an infeed roller table onto a pallet in an interlocked two-layer pattern"

    @property
    def num_boxes(self) -> int:
        return 2 * self.config.layers

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("palletizing", self.config.physics)
        props.add_room(builder)
        logistics.add_logistics_materials(builder)
        props.add_table(builder, "bench", BENCH_CENTER_XY, BENCH_TOP_Z, BENCH_HALF_XY, "bench")
        panda.mount(builder, ROBOT_BASE)
        logistics.add_roller_table(builder, "infeed", INFEED_CENTER_XY, INFEED_TOP_Z, INFEED_HALF_XY)
        pallet = logistics.add_pallet(builder, "pallet", PALLET_CENTER, PALLET_HALF_XY, PALLET_HEIGHT_M)
        centres, _ = layer_pattern(self.config.layers)
        for k, centre in enumerate(centres):
            pallet.add_site(name=f"slot{k}", pos=centre.tolist(), size=[0.004, 0, 0], group=4)
        for k in range(self.num_boxes):
            x, y = QUEUE_XY[k]
            logistics.add_carton(builder, f"box{k}", BOX_HALF_M, (x, y, INFEED_TOP_Z + BOX_HALF_M[2]))
        builder.add_camera("front", pos=(1.7, -0.45, 1.65), target=(0.4, 0.0, 0.9), fovy_deg=45)
        builder.add_camera("side", pos=(0.5, -1.25, 1.3), target=(0.5, 0.0, 0.8), fovy_deg=50)
        builder.add_camera("top", pos=(0.5, 0.0, 1.9), target=(0.5, 0.0, 0.75), fovy_deg=50)
        builder.add_camera("work", pos=(1.34, -0.34, 1.44), target=(0.49, -0.06, 0.93), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        n = self.num_boxes
        self.box_bodies = np.array([model.body(f"box{k}").id for k in range(n)])
        self.box_geoms = np.array([model.geom(f"box{k}").id for k in range(n)])
        self.box_qpos = np.array([model.jnt_qposadr[model.joint(f"box{k}").id] for k in range(n)])
        self.box_qvel = np.array([model.jnt_dofadr[model.joint(f"box{k}").id] for k in range(n)])
        self.slot_sites = np.array([model.site(f"slot{k}").id for k in range(n)])
        self.slot_local_yaw = layer_pattern(self.config.layers)[1]
        self.pallet_mocap = model.body_mocapid[model.body("pallet").id]
        self.robot = context.robot

    # ---------------------------------------------------------------------------------- episode
    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg, n_box, n = self.config, self.num_boxes, len(ids)
        pallet_xy = per_sim_uniform(rngs, -cfg.pallet_jitter_m, cfg.pallet_jitter_m, (2,))
        pallet_yaw = per_sim_uniform(rngs, -cfg.pallet_yaw_rad, cfg.pallet_yaw_rad)
        queue_xy = per_sim_uniform(rngs, -cfg.infeed_jitter_m, cfg.infeed_jitter_m, (n_box, 2))
        queue_yaw = per_sim_uniform(rngs, -cfg.infeed_yaw_rad, cfg.infeed_yaw_rad, (n_box,))
        masses = per_sim_uniform(rngs, *cfg.box_mass_kg, (n_box,))
        friction = per_sim_uniform(rngs, *cfg.box_friction, (n_box,))
        sim.bound("mocap_pos")[ids, self.pallet_mocap] = PALLET_CENTER + np.pad(pallet_xy, ((0, 0), (0, 1)))
        sim.bound("mocap_quat")[ids, self.pallet_mocap] = yaw_quat(pallet_yaw)
        sim.per_sim_model_field("body_mass")[np.ix_(ids, self.box_bodies)] = masses
        sim.per_sim_model_field("geom_friction")[ids[:, None], self.box_geoms[None, :], 0] = friction
        for k in range(n_box):
            adr = self.box_qpos[k]
            pos = np.column_stack([QUEUE_XY[k] + queue_xy[:, k], np.full(n, INFEED_TOP_Z + BOX_HALF_M[2] + 0.001)])
            sim.qpos[ids, adr : adr + 3] = pos
            sim.qpos[ids, adr + 3 : adr + 7] = yaw_quat(np.pi / 2 + queue_yaw[:, k])
            sim.qvel[ids, self.box_qvel[k] : self.box_qvel[k] + 6] = 0.0
        sim.set_const(ids)

    # ---------------------------------------------------------------------------------- figures
    @once_per_state
    def _boxes(self, sim: Simulation):
        pos = sim.xpos[:, self.box_bodies]
        quat = sim.xquat[:, self.box_bodies]
        slots = sim.site_xpos[:, self.slot_sites]
        pallet_yaw = quat_yaw(sim.bound("mocap_quat")[:, self.pallet_mocap])
        slot_yaw = pallet_yaw[:, None] + self.slot_local_yaw[None]
        return pos, quat, slots, slot_yaw

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        cfg, n_box = self.config, self.num_boxes
        rows = np.arange(sim.num_sims)
        pos, quat, slots, slot_yaw = self._boxes(sim)
        lateral = np.linalg.norm(pos[..., :2] - slots[..., :2], axis=-1)
        upright = sim.xmat[:, self.box_bodies, 8] > UPRIGHT_COS
        yaw_error = np.abs(wrap(quat_yaw(quat) - slot_yaw, np.pi))  # a box is the same after half a turn
        in_slot = (
            (lateral < cfg.slot_tolerance_m)
            & (np.abs(pos[..., 2] - slots[..., 2]) < SLOT_HEIGHT_TOLERANCE_M)
            & (yaw_error < cfg.yaw_tolerance_rad)
            & upright
        )
        velocity = sim.qvel[:, self.box_qvel[:, None] + np.arange(6)]  # (n, boxes, 6)
        settled = (np.linalg.norm(velocity[..., :3], axis=-1) < cfg.settled_speed_m_s) & (
            np.linalg.norm(velocity[..., 3:], axis=-1) < cfg.settled_spin_rad_s
        )
        self.in_slot = in_slot  # observe and privileged_state run after evaluate on the same state
        all_placed = in_slot.all(axis=1)
        next_box = np.where(all_placed, n_box, np.argmin(in_slot, axis=1))
        current = np.minimum(next_box, n_box - 1)
        tcp = self.robot.tcp_pos(sim)
        tcp_to_box = np.linalg.norm(pos[rows, current] - tcp, axis=1)
        grasped = self.robot.holds(sim, tcp_to_box, BOX_GRASP_WIDTH_M, GRASP_REACH_M)
        released = self.robot.released(sim, BOX_GRASP_WIDTH_M)
        stack_top = pos[..., 2].max(axis=1) + BOX_HALF_M[2]
        tcp_clear = tcp[:, 2] > stack_top + TCP_CLEAR_OF_STACK_M
        return {
            "success": all_placed & settled.all(axis=1) & released & tcp_clear,
            "fail": (pos[..., 2] < BENCH_TOP_Z - criteria.FELL_BELOW_SURFACE_M).any(axis=1),
            "placed_count": in_slot.sum(axis=1),
            "next_box": next_box,
            "stack_settled": settled.all(axis=1),
            "grasped": grasped,
            "released": released,
            "max_lateral_error_m": lateral.max(axis=1),
            "max_yaw_error_rad": yaw_error.max(axis=1),
            "tcp_to_box_m": tcp_to_box,
            "box_to_slot_m": np.linalg.norm(pos[rows, current] - slots[rows, current], axis=1),
            "box_in_slot": in_slot[rows, current],
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = np.arange(sim.num_sims)
        pos, _, slots, _ = self._boxes(sim)
        current = np.minimum(ev["next_box"], self.num_boxes - 1)
        done = ev["next_box"] == self.num_boxes
        grasped = ev["grasped"].astype(float)
        held = np.maximum(grasped, ev["box_in_slot"])  # holding the carton, or it is in its slot
        drop = drop_line_distance(pos[rows, current], slots[rows, current], criteria.CARRY_ABOVE_GOAL_M)
        carry = held * approach(drop, criteria.CARRY_SCALE_M)
        place = held * lowering(ev["box_to_slot_m"])
        return {
            "reach": np.where(done, 1.0, approach(ev["tcp_to_box_m"], criteria.REACH_SCALE_M)),
            "grasp": np.where(done, 1.0, held),
            "carry": np.where(done, 1.0, carry),
            "place": np.where(done, 1.0, place),
            "progress": ev["placed_count"] / self.num_boxes,
            "release": done * self.robot.release_progress(sim, BOX_GRASP_WIDTH_M),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        n = self.num_boxes
        return {
            "task_box_pos": (3 * n,),
            "task_box_quat": (4 * n,),
            "task_slot_pos": (3 * n,),
            "task_slot_yaw": (2 * n,),
            "task_placed": (n,),
            "task_next_box": (n + 1,),
            "task_box_to_tcp": (3,),
            "task_box_to_slot": (3,),
        }

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        num = sim.num_sims
        rows = np.arange(num)
        pos, quat, slots, slot_yaw = self._boxes(sim)
        current = np.minimum(ev["next_box"], self.num_boxes - 1)
        return {
            "task_box_pos": pos.reshape(num, -1),
            "task_box_quat": quat.reshape(num, -1),
            "task_slot_pos": slots.reshape(num, -1),
            "task_slot_yaw": np.concatenate([np.cos(2 * slot_yaw), np.sin(2 * slot_yaw)], axis=1),
            "task_placed": self.in_slot.astype(float),
            "task_next_box": np.eye(self.num_boxes + 1)[ev["next_box"]],
            "task_box_to_tcp": pos[rows, current] - self.robot.tcp_pos(sim),
            "task_box_to_slot": slots[rows, current] - pos[rows, current],
        }

    def grasp_target_bodies(self, sim: Simulation) -> np.ndarray:
        return np.where(self.in_slot.all(axis=1), -1, self.box_bodies[np.argmin(self.in_slot, axis=1)])

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        count = self.num_boxes
        return (
            f"stack the {count} boxes on the pallet",
            f"move all {count} boxes from the conveyor onto the pallet",
            f"palletize the {count} boxes, one by one",
            f"load the pallet with the {count} boxes",
            f"put the {count} boxes on the pallet in their places",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        pos, quat, slots, slot_yaw = self._boxes(sim)
        return {
            "box_pos": pos,
            "box_quat": quat,
            "slot_pos": slots,
            "slot_yaw": slot_yaw,
            "next_box": np.where(self.in_slot.all(axis=1), self.num_boxes, np.argmin(self.in_slot, axis=1)),
            "grasp_width_m": np.full(sim.num_sims, BOX_GRASP_WIDTH_M),
        }
