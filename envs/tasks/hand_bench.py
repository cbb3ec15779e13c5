"""A bench for measuring the hand: one block on a table, right under the arm's tool centre point.

Not a task to learn (it is not registered and has no success): the tests and ``experiments/hand_physics.py``
measure the gripper on it in millimetres and newtons: how far the pads sink into a squeezed steel block, the
squeeze force, how far a held part slips when the arm shakes it, and whether thin parts can be picked from the
table. The block's size and density are set in the config, so the same bench holds a 40 mm steel block, a 3 mm
plate or a 10 mm key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import parts
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.workbench import BENCH_TOP_Z, add_workbench_cell
from embodia.envs.tasks.base import Task, TaskConfig

#: the block's centre in the plane of the bench: where the TCP sits in the arm's home pose
BLOCK_XY = (0.554, 0.0)
STEEL_DENSITY_KG_M3 = 7850.0
#: machined steel on the bench's laminate (steel on steel, dry: 0.5-0.8; textbook range)
STEEL_CONTACT = parts.Contact(friction=(0.5, 0.005, 0.0001))


@dataclass(frozen=True)
class HandBenchConfig(TaskConfig):
    episode_steps: int = 400
    block_half_size_m: tuple[float, float, float] = (0.02, 0.03, 0.03)  # x: across the jaws (their travel), y, z
    block_density_kg_m3: float = STEEL_DENSITY_KG_M3


class HandBench(Task):
    Config = HandBenchConfig
    description = "calibration: a block under the tool centre point, to measure the hand on"

    def build_scene(self) -> SceneBuilder:
        cfg = self.config
        builder = SceneBuilder("hand_bench", cfg.physics)
        add_workbench_cell(builder)
        half = cfg.block_half_size_m
        block = builder.add_free_body("block", pos=[*BLOCK_XY, BENCH_TOP_Z + half[2]])
        block.add_geom(
            name="block",
            type=GEOM.mjGEOM_BOX,
            size=list(half),
            material="steel",
            density=cfg.block_density_kg_m3,
            **STEEL_CONTACT.kwargs(),
        )
        builder.add_camera("front", pos=(1.0, -0.35, 1.05), target=(0.55, 0.0, 0.8), fovy_deg=35)
        return builder

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        return (
            "grasp the block under the gripper",
            "close the jaws on the steel block",
            "pick up the block from the table",
            "squeeze the block between the fingers",
            "hold the block and keep it still",
        )

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.robot = context.robot
        self.block_body = model.body("block").id
        self.block_qpos = model.jnt_qposadr[model.joint("block").id]
        self.block_geom = model.geom("block").id
        self.pad_geoms = np.array([model.geom(f"robot/{side}_finger_pad").id for side in ("left", "right")])

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        half = self.config.block_half_size_m
        sim.qpos[ids[:, None], self.block_qpos + np.arange(7)] = [*BLOCK_XY, BENCH_TOP_Z + half[2], 1, 0, 0, 0]

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        n = sim.num_sims
        return {
            "success": np.zeros(n, dtype=bool),
            "fail": np.zeros(n, dtype=bool),
            "block_pos": np.array(sim.xpos[:, self.block_body]),
            "tcp_pos": self.robot.tcp_pos(sim),
            "gripper_width_m": self.robot.gripper_width(sim),
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {}

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"task_block_pos": (3,)}

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"task_block_pos": ev["block_pos"]}

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        return {"block_pos": np.array(sim.xpos[:, self.block_body])}
