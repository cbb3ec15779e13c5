"""Pick-and-place whose lowering is an insertion: a guided descent shared by the assembly experts.

The shared phase machine caps a whole move at one speed, so a fast descent leaves no room to correct the arm's
sideways drift, and its proportional step leaves a steady offset: the ee_delta controller's null-space pull leaks
a sideways bias of about 0.5 mm per step, which a proportional term alone turns into a ~1 mm offset, more than a
tight clearance. While lowering, this machine therefore drives the held object's reference point with its own
law: lateral proportional-integral correction at full authority, descent capped at ``approach_speed``, and at
``insert_speed`` inside the band ``slow_band`` around the mating's entry (the arm's sideways lag grows with its
speed; once engaged, the mating guides the part).
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from embodia.agents.experts import motion
from embodia.agents.experts.pick_place import LOWER, PickAndPlace, PickPlaceTiming

#: descent speeds, fractions of the ee_delta step (0.025 m): 0.2 -> 5 mm per step, 0.1 -> 2.5 mm per step
#: (the arm delivers less: about 0.55 mm per step at 0.06)
APPROACH_SPEED = 0.2
INSERT_SPEED = 0.1
LATERAL_GAIN = 0.7
LATERAL_INTEGRAL_GAIN = 0.25


class GuidedInsertion(PickAndPlace):
    """A ``PickAndPlace`` whose ``LOWER`` phase is a guided insertion; an expert also defines ``slow_band``."""

    approach_speed = APPROACH_SPEED
    insert_speed = INSERT_SPEED

    def __init__(self, num_envs: int, timing: PickPlaceTiming | None = None) -> None:
        super().__init__(num_envs, timing)
        self.lateral_sum = np.zeros((num_envs, 2))

    @abc.abstractmethod
    def slow_band(self, state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) heights, (n,) each, of the object's reference point between which the descent is slow."""

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        super().reset(env_ids, seed)
        self.lateral_sum[env_ids] = 0.0

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        lowering = self.phase == LOWER
        action = super().act(obs, info)
        if not lowering.any():
            self.lateral_sum[:] = 0.0
            return action
        state = info["state"]
        goal = self.goal(state)
        error = goal.release_point - goal.object_pos
        self.lateral_sum = np.where(lowering[:, None], self.lateral_sum + error[:, :2], 0.0)
        command = LATERAL_GAIN * error / motion.POSITION_SCALE_M
        command[:, :2] += LATERAL_INTEGRAL_GAIN * self.lateral_sum / motion.POSITION_SCALE_M
        low, high = self.slow_band(state)
        z = goal.object_pos[:, 2]
        speed = np.where((z > low) & (z < high), self.insert_speed, self.approach_speed)
        action[lowering, :2] = np.clip(command[lowering, :2], -1.0, 1.0)
        action[lowering, 2] = np.clip(command[:, 2], -speed, speed)[lowering]
        return action
