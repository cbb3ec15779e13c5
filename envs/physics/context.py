"""What a task runs on, handed to it once the scene is compiled."""

from __future__ import annotations

from dataclasses import dataclass

import mujoco

from embodia.envs.physics.robot import RobotView
from embodia.envs.physics.sim import Simulation


@dataclass(frozen=True)
class BindContext:
    """What a task runs on, given to ``Task.bind`` once: the compiled model, the batch of simulations and the
    robot bound in it (its TCP, fingers, hand and the grasp predicate), so no task looks the robot up by name."""

    model: mujoco.MjModel
    sim: Simulation
    robot: RobotView

    @property
    def num_sims(self) -> int:
        return self.sim.num_sims
