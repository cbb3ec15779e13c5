"""Yaw features for grasping parts with a rotational symmetry (BinPicking).

The jaw must be turned square to the part before the grasp, to the equivalent yaw (period pi/2 for a cube,
pi for a block) nearest joint 7's mid-range, and the part turned square to its pocket before release. From the
raw quaternions those targets are folded, discontinuous functions an MLP fitted to 100 demonstrations does not
learn: the cloned policy descends without turning and closes beside the part. These features give the policy
the yaws that matter as sin/cos of their multiples (continuous across the fold): the part's yaw relative to
the jaw's neutral heading at the home pose and at the TCP's current heading, and the jaw's yaw relative to the
part; plus the jaw's offset from both neutral headings. All are computed from the observation; the network
still has to learn which multiple applies to which part and phase.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces

from embodia.agents.learn.networks import NormalizedExtractor

#: jaw yaw with joint 7 mid-range, relative to the base's heading to the TCP (as the BinPicking expert uses it);
#: the home pose's TCP heading is 0, so this is also the neutral jaw yaw at the start of every episode
NEUTRAL_JAW_YAW_RAD = -0.785
HARMONICS = (1.0, 2.0, 4.0)
REQUIRED = ("task_part_quat", "robot_tcp_quat", "robot_tcp_pos")
FEATURES = 3 * 2 * len(HARMONICS) + 2


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi


class YawFeaturesExtractor(NormalizedExtractor):
    """The normalised observation followed by ``FEATURES`` yaw features (needs a Dict observation)."""

    def __init__(self, observation_space: spaces.Space, **stats: Any):
        if not isinstance(observation_space, spaces.Dict) or any(k not in observation_space.spaces for k in REQUIRED):
            raise ValueError(f"YawFeaturesExtractor needs a Dict observation with {', '.join(REQUIRED)}")
        super().__init__(observation_space, **stats)
        self._features_dim += FEATURES

    def forward(self, observations: Any) -> torch.Tensor:
        base = super().forward(observations)
        w, x, y, z = observations["task_part_quat"].unbind(1)
        part_yaw = torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        w, x, y, z = observations["robot_tcp_quat"].unbind(1)
        jaw_yaw = torch.atan2(1 - 2 * (x * x + z * z), 2 * (x * y - w * z))  # the hand's y axis in the xy plane
        tcp = observations["robot_tcp_pos"]
        here = NEUTRAL_JAW_YAW_RAD + torch.atan2(tcp[:, 1], tcp[:, 0])
        angles = (part_yaw + torch.pi / 2 - NEUTRAL_JAW_YAW_RAD, part_yaw + torch.pi / 2 - here, jaw_yaw - part_yaw)
        harmonics = [f(k * angle) for angle in angles for k in HARMONICS for f in (torch.sin, torch.cos)]
        offsets = (_wrap(jaw_yaw - NEUTRAL_JAW_YAW_RAD), _wrap(jaw_yaw - here))
        extra = torch.stack([*harmonics, *offsets], dim=1)
        return torch.cat([base, extra], dim=1)


#: relative vectors whose last centimetres decide a phase change (close on the part, let go over the goal):
#: (name, observation key of the vector) or (name, (key of the goal, key of the object)) for goal - object
FINE_VECTORS: dict[str, tuple[str | tuple[str, str], ...]] = {
    "BinPicking": ("task_part_to_tcp", ("task_slot_pos", "task_part_pos")),
    "Handover": ("task_bottle_to_tcp", "task_bottle_to_palm"),
}
#: length scales of the squashed copies: the grasp and release tolerances are 6-12 mm (agents/experts/pick_place.py)
FINE_SCALES_M = (0.01, 0.03)


def fine_vector_specs(observation_space: spaces.Space) -> tuple[str | tuple[str, str], ...]:
    """The ``FINE_VECTORS`` entry whose keys this observation space has (they name the task)."""
    keys = set(observation_space.spaces) if isinstance(observation_space, spaces.Dict) else set()
    for specs in FINE_VECTORS.values():
        needed = {k for spec in specs for k in ((spec,) if isinstance(spec, str) else spec)}
        if needed <= keys:
            return specs
    raise ValueError(f"precision features need a Dict observation holding one of {list(FINE_VECTORS.values())}")


def fine_features(observations: Any, specs: tuple[str | tuple[str, str], ...]) -> torch.Tensor:
    """tanh(vector / scale) per scale: the normalised observation divides these vectors by their spread over
    the workspace (~0.2 m), so a 6 mm threshold is 0.03 standard deviations; the squashed copies resolve it."""
    vectors = [observations[s] if isinstance(s, str) else observations[s[0]] - observations[s[1]] for s in specs]
    return torch.cat([torch.tanh(v / scale) for v in vectors for scale in FINE_SCALES_M], dim=1)


class _WithFineFeatures:
    """Appends the precision features of ``fine_features`` to whatever the extractor it is mixed into returns."""

    def __init__(self, observation_space: spaces.Space, **stats: Any):
        self.specs = fine_vector_specs(observation_space)
        super().__init__(observation_space, **stats)
        self._features_dim += 3 * len(self.specs) * len(FINE_SCALES_M)

    def forward(self, observations: Any) -> torch.Tensor:
        return torch.cat([super().forward(observations), fine_features(observations, self.specs)], dim=1)


class FineFeaturesExtractor(_WithFineFeatures, NormalizedExtractor):
    """The normalised observation followed by the precision features of ``fine_features``."""


class YawFineFeaturesExtractor(_WithFineFeatures, YawFeaturesExtractor):
    """Yaw features and precision features (BinPicking)."""


EXTRACTORS = {"": NormalizedExtractor, "yaw": YawFeaturesExtractor, "fine": FineFeaturesExtractor,
              "yaw+fine": YawFineFeaturesExtractor}  # fmt: skip
