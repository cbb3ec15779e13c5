"""Yaw features for grasping parts with a rotational symmetry (BinPicking).

The jaw must be turned square to the part before the grasp, to the equivalent yaw (period pi/2 for a cube,
pi for a block) nearest joint 7's mid-range. From the raw quaternions that target is a folded, discontinuous
function an MLP fitted to 100 demonstrations does not learn: the cloned policy descends without turning and
closes beside the part. These features give the policy the part's yaw relative to the jaw's neutral heading
as sin/cos of its multiples (continuous across the fold) and the jaw's own offset from neutral, all computed
from the observation; the network still has to learn which multiple applies to which part.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces

from embodia.agents.learn.networks import NormalizedExtractor

#: jaw yaw with joint 7 mid-range, relative to the base's heading to the TCP (as the BinPicking expert uses it)
NEUTRAL_JAW_YAW_RAD = -0.785
HARMONICS = (1.0, 2.0, 4.0)
REQUIRED = ("task.part_quat", "robot.tcp_quat", "robot.tcp_pos")


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi


class YawFeaturesExtractor(NormalizedExtractor):
    """The normalised observation followed by 2 * len(HARMONICS) + 3 yaw features (needs a Dict observation)."""

    def __init__(self, observation_space: spaces.Space, **stats: Any):
        if not isinstance(observation_space, spaces.Dict) or any(k not in observation_space.spaces for k in REQUIRED):
            raise ValueError(f"YawFeaturesExtractor needs a Dict observation with {', '.join(REQUIRED)}")
        super().__init__(observation_space, **stats)
        self._features_dim += 2 * len(HARMONICS) + 3

    def forward(self, observations: Any) -> torch.Tensor:
        base = super().forward(observations)
        w, x, y, z = observations["task.part_quat"].unbind(1)
        part_yaw = torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        w, x, y, z = observations["robot.tcp_quat"].unbind(1)
        jaw_yaw = torch.atan2(1 - 2 * (x * x + z * z), 2 * (x * y - w * z))  # the hand's y axis in the xy plane
        tcp = observations["robot.tcp_pos"]
        neutral = NEUTRAL_JAW_YAW_RAD + torch.atan2(tcp[:, 1], tcp[:, 0])
        part_rel = part_yaw + torch.pi / 2 - neutral
        jaw_rel = _wrap(jaw_yaw - neutral)
        harmonics = [f(k * part_rel) for k in HARMONICS for f in (torch.sin, torch.cos)]
        extra = torch.stack([*harmonics, jaw_rel, torch.sin(jaw_rel), torch.cos(jaw_rel)], dim=1)
        return torch.cat([base, extra], dim=1)
