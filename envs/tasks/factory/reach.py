"""Reach: move the tool centre point to a random target point in front of the arm.

The easy variant of the manipulation tasks, for checking that a learning method works before it meets the hard
ones (and for the reaching part of Handover and BinPicking). Scene: the Panda-class arm on a pedestal and a
small translucent target marker (a mocap body without collision) placed per episode in a box in front of it.

Success: the TCP is within ``success_distance_m`` of the target.
Fail: none (the arm cannot leave the work cell).
Reward (dense, weight ``w_*``): ``approach`` = 1 - tanh(distance / 0.4), a slope across the whole work cell (the
targets are 10-60 cm from the start, where ``reach`` alone is flat: SAC from scratch learnt the near targets and
never the far ones without it); ``reach`` = 1 - tanh(distance / 0.1), the last centimetres; ``success``. Sparse
reward: 1 on success.
Goal interface (``obs_mode="goal"``): achieved goal = TCP position, desired goal = target position; the goal
reward is 0 within ``success_distance_m``, else -1 (hindsight relabelling recomputes it from the two goals).
Observations (``task_*``): target position, target relative to the TCP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.context import BindContext
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import panda, props
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.tasks import criteria
from embodia.envs.tasks.base import Task, TaskConfig, per_sim_uniform, tolerance
from embodia.envs.tasks.registry import register_task

ROBOT_BASE = (0.0, 0.0, 0.6)
TARGET_RADIUS_M = 0.015


#: the instruction's words for where the target is: beyond 5 cm of the base's axis it is on a side; the thirds of
#: the default target height range (0.7-1.05 m) are low, middle and high
SIDE_WORDS_Y_M = 0.05
LOW_WORD_Z_M = 0.8
HIGH_WORD_Z_M = 0.95


@dataclass(frozen=True)
class ReachConfig(TaskConfig):
    episode_steps: int = 50
    target_x_range: tuple[float, float] = (0.35, 0.65)  # target position x (m), drawn per episode
    target_y_range: tuple[float, float] = (-0.25, 0.25)  # target position y (m), drawn per episode
    target_z_range: tuple[float, float] = (0.7, 1.05)  # target position z (m), drawn per episode
    success_distance_m: float = 0.025  # success: the TCP within this distance of the target
    w_approach: float = 1.0
    w_reach: float = 1.0
    w_success: float = 5.0


@register_task("embodia/Reach-v0")
class Reach(Task):
    Config = ReachConfig
    description = "easy variant: move the tool centre point to a random target point (for checking learning methods)"

    def build_scene(self) -> SceneBuilder:
        builder = SceneBuilder("reach", self.config.physics)
        props.add_room(builder, floor="tile")
        panda.mount_on_pedestal(builder, ROBOT_BASE)
        builder.add_material("target", (0.1, 0.8, 0.2, 0.6))
        target = builder.world.add_body(name="target", pos=[0.5, 0.0, 0.9], mocap=True)
        target.add_geom(
            name="target",
            type=GEOM.mjGEOM_SPHERE,
            size=[TARGET_RADIUS_M, 0, 0],
            material="target",
            contype=0,
            conaffinity=0,
        )
        builder.add_camera("front", pos=(0.5, -1.5, 1.4), target=(0.45, 0.0, 0.85), fovy_deg=50)
        builder.add_camera("side", pos=(1.8, -0.9, 1.4), target=(0.45, 0.0, 0.85), fovy_deg=50)
        builder.add_camera("top", pos=(0.45, 0.0, 2.3), target=(0.45, 0.0, 0.8), fovy_deg=55)
        builder.add_camera("work", pos=(1.0, -0.55, 1.2), target=(0.5, 0.0, 0.88), fovy_deg=45)
        return builder

    def bind(self, context: BindContext) -> None:
        model = context.model
        self.target_mocap = model.body_mocapid[model.body("target").id]
        self.robot = context.robot

    def initialize_episode(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        cfg = self.config
        target = np.column_stack(
            [
                per_sim_uniform(rngs, *cfg.target_x_range),
                per_sim_uniform(rngs, *cfg.target_y_range),
                per_sim_uniform(rngs, *cfg.target_z_range),
            ]
        )
        sim.bound("mocap_pos")[ids, self.target_mocap] = target

    def _target(self, sim: Simulation) -> np.ndarray:
        return np.array(sim.bound("mocap_pos")[:, self.target_mocap])

    def evaluate(self, sim: Simulation) -> dict[str, np.ndarray]:
        distance = np.linalg.norm(self._target(sim) - self.robot.tcp_pos(sim), axis=1)
        return {
            "success": distance < self.config.success_distance_m,
            "fail": np.zeros(sim.num_sims, dtype=bool),
            "tcp_to_target_m": distance,
        }

    def reward_terms(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            "approach": tolerance(ev["tcp_to_target_m"], criteria.APPROACH_SCALE_M),
            "reach": tolerance(ev["tcp_to_target_m"], criteria.REACH_SCALE_M),
            "success": ev["success"].astype(float),
        }

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"task_target_pos": (3,), "task_target_to_tcp": (3,)}

    def observe(self, sim: Simulation, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        target = self._target(sim)
        return {"task_target_pos": target, "task_target_to_tcp": target - self.robot.tcp_pos(sim)}

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        _, y, z = self._target(sim)[sim_id]
        side = "left" if y > SIDE_WORDS_Y_M else "right" if y < -SIDE_WORDS_Y_M else "front"
        height = "high" if z > HIGH_WORD_Z_M else "low" if z < LOW_WORD_Z_M else "middle"
        return (
            "move the gripper to the green marker",
            f"reach the green marker, {height} on the {side}",
            "touch the green ball with the tip of the gripper",
            f"bring the gripper to the target on the {side}",
            "put the gripper's fingertips on the marker",
        )

    def privileged_state(self, sim: Simulation) -> dict[str, np.ndarray]:
        return {"target_pos": self._target(sim)}

    # ------------------------------------------------------------------------------ goal interface
    def goal_size(self) -> int:
        return 3

    def achieved_goal(self, sim: Simulation, ev: dict[str, np.ndarray]) -> np.ndarray:
        return np.array(self.robot.tcp_pos(sim))

    def desired_goal(self, sim: Simulation) -> np.ndarray:
        return self._target(sim)

    def goal_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray) -> np.ndarray:
        distance = np.linalg.norm(np.asarray(achieved_goal) - np.asarray(desired_goal), axis=-1)
        return -(distance >= self.config.success_distance_m).astype(np.float64)
