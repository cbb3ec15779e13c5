"""Scripted expert for Reach: a proportional TCP move to the target, tool kept pointing down, jaws open."""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.agents.experts import motion, register_expert


@register_expert("embodia/Reach-v0")
class ReachExpert:
    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        """Stateless: nothing to reset."""

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        state = info["state"]
        action = np.zeros((len(state["tcp_pos"]), 7))
        action[:, :3] = motion.translate(state["tcp_pos"], state["target_pos"], gain=1.0)
        action[:, 3:6] = motion.point_down(state["tcp_xmat"], np.zeros(len(action)))
        action[:, 6] = motion.GRIPPER_OPEN
        return action
