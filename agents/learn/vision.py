"""The image encoder of visuomotor policies: a small CNN per camera, trained from scratch with the policy.

Small because it trains on two CPU cores: four convolutions (the first two with stride 2) per camera. Its output
is where things are, not a flattened feature map: a spatial soft-argmax turns every channel of the last layer into
the expected image coordinates of what that channel responds to (Levine et al., JMLR 2016; robomimic's image
policies use it, Mandlekar et al., CoRL 2021), plus the channel's mean activation (whether it is in view at all).
Keypoints are what a reaching policy needs, with far fewer weights after the convolutions than a flattened map.
They say where things are and little of how they are turned: BinPicking's clone found the requested part but
not its yaw, and its jaws landed on a cube's or a block's top. ``grid`` > 0 adds, per camera, the last maps
reduced to ``GRID_CHANNELS`` channels and average-pooled to ``grid`` x ``grid`` cells: a coarse picture of what is
where, in which an edge's direction survives.

While training, every image is shifted by up to ``SHIFT_PX`` pixels at random (DrQ's augmentation, Yarats et al.,
ICLR 2021): two hundred demonstrations are few images, and a policy that keys on single pixels does not survive
the evaluation's other seeds.

A camera's depth image (``depth=True``, metres) joins its colour image as a fourth channel of the same encoder,
clipped at ``DEPTH_RANGE_M`` and scaled to [0, 1] as the colours are: the height of the hand over a part, which
one colour camera only infers from size and shading (BinPicking's visual clone stopped about 2.5 cm above the
part), is then read per pixel, at no extra convolutions.

The vector entries (proprioception, and the instruction's words when given) are standardised as
``NormalizedExtractor`` does, with statistics from the demonstrations saved inside the policy. Where a scene holds
several valid goals (BinPicking: which of three parts), only the instruction says which: its words also modulate
each camera's feature maps (FiLM).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from embodia.agents.learn.config import MAX_IMAGE_GRID
from embodia.agents.learn.networks import NormalizedExtractor

KEYPOINTS = 32  # channels of the last layer, each one soft-argmax (x, y) and one mean activation
SHIFT_PX = 4  # the largest random shift while training (DrQ uses 4 px at 84 x 84)
CHANNELS = (16, 32, 32)
GRID_CHANNELS = 8  # channels of the pooled picture that ``grid`` adds per camera
DEPTH_RANGE_M = 2.0  # depth beyond this (the far wall, the sky) is all one "far"; the work is 0.05-1.2 m away
WORDS_KEY = "instruction_words"  # the env's instruction_features entry (features.py reads it too)


def image_keys(space: spaces.Dict) -> list[str]:
    """The entries that are images, (H, W, C) boxes, in sorted order."""
    return sorted(k for k, box in space.spaces.items() if isinstance(box, spaces.Box) and len(box.shape) == 3)


def camera_groups(keys: list[str]) -> dict[str, list[str]]:
    """Image keys by the encoder that reads them: a camera's colour and depth images together, under the colour
    key (so a colour-only policy's encoders keep their names), depth first where a camera has no colour; any other
    image (segmentation) alone."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys):  # a camera's colour key sorts before its depth key
        kind, _, camera = key.partition("_")  # any image key, not only the env's ``kind_camera`` ones
        if kind == "depth" and f"camera_{camera}" in keys:
            groups[f"camera_{camera}"].append(key)
        else:
            groups[key] = [key]
    return groups


def random_shift(images: torch.Tensor, pixels: int) -> torch.Tensor:
    """Every image of (n, C, H, W) moved by its own random offset of up to ``pixels``, edges replicated.

    Each image is a slice of the padded batch at its offset: a fifth of the time of one gather over every pixel's
    index (7 against 35 ms for 64 images of 96 x 96 on one thread), the same values and the same random draws."""
    n, _, height, width = images.shape
    padded = nn.functional.pad(images, (pixels,) * 4, mode="replicate")
    rows = torch.randint(0, 2 * pixels + 1, (n, 1), device=images.device)[:, 0].tolist()
    cols = torch.randint(0, 2 * pixels + 1, (n, 1), device=images.device)[:, 0].tolist()
    return torch.stack(
        [
            padded[k, :, row : row + height, col : col + width]
            for k, (row, col) in enumerate(zip(rows, cols, strict=True))
        ]
    )


class SpatialSoftArgmax(nn.Module):
    """(n, K, H, W) feature maps -> (n, 3K): each channel's expected x and y in [-1, 1] and its mean activation."""

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        n, k, height, width = maps.shape
        attention = torch.softmax(maps.flatten(2), dim=-1).view(n, k, height, width)
        ys = torch.linspace(-1.0, 1.0, height, device=maps.device)
        xs = torch.linspace(-1.0, 1.0, width, device=maps.device)
        expected_x = (attention.sum(dim=2) * xs).sum(dim=-1)
        expected_y = (attention.sum(dim=3) * ys).sum(dim=-1)
        return torch.cat([expected_x, expected_y, maps.mean(dim=(2, 3))], dim=1)


class CameraEncoder(nn.Module):
    """One camera's images -> keypoints. With ``words`` > 0, an instruction (a bag of that many hashed words)
    scales and shifts the channels of the last 3x3 convolution (FiLM, Perez et al., AAAI 2018), so that "the red
    cube" can make the keypoints follow that part; the modulation starts at the identity. It comes after the ReLU:
    before it, a shift the words learnt early switched a whole camera off for good (every channel below zero, no
    gradient; seen on BinPicking's front camera)."""

    def __init__(self, in_channels: int, words: int = 0, grid: int = 0) -> None:
        super().__init__()
        first, second, third = CHANNELS
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, first, 5, stride=2),
            nn.ReLU(),
            nn.Conv2d(first, second, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(second, third, 3),
            nn.ReLU(),
        )
        self.film = nn.Linear(words, 2 * third) if words else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
        self.keypoints = nn.Sequential(nn.Conv2d(third, KEYPOINTS, 1), SpatialSoftArgmax())
        self.grid = None
        if grid:
            self.grid = nn.Sequential(
                nn.Conv2d(third, GRID_CHANNELS, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(grid), nn.Flatten()
            )

    def forward(self, images: torch.Tensor, words: torch.Tensor | None = None) -> torch.Tensor:
        maps = self.trunk(images)
        if self.film is not None and words is not None:
            scale, shift = self.film(words).chunk(2, dim=1)
            maps = maps * (1.0 + scale[:, :, None, None]) + shift[:, :, None, None]
        if self.grid is None:
            return self.keypoints(maps)
        return torch.cat([self.keypoints(maps), self.grid(maps)], dim=1)


class VisualExtractor(BaseFeaturesExtractor):
    """Images through a CNN each (keypoints), the other entries standardised; all concatenated.

    ``mean``, ``std`` and ``mask`` are the statistics of the vector entries only (sorted keys, images left out),
    as ``normalisation_stats`` computes them; ``grid`` (0: keypoints only) adds each camera's pooled picture.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        mask: list[float] | None = None,
        grid: int = 0,
    ):
        if not 0 <= grid <= MAX_IMAGE_GRID:
            raise ValueError(f"grid={grid!r} is not valid; valid: 0 (keypoints only) to {MAX_IMAGE_GRID} cells a side")
        if not isinstance(observation_space, spaces.Dict) or not image_keys(observation_space):
            raise ValueError("VisualExtractor needs a Dict observation with at least one (H, W, C) image entry")
        images = image_keys(observation_space)
        cameras = camera_groups(images)
        vector_space = spaces.Dict({k: v for k, v in observation_space.spaces.items() if k not in images})
        vector = NormalizedExtractor(vector_space, mean, std, mask) if vector_space.spaces else None
        vector_size = vector.features_dim if vector is not None else 0
        per_camera = 3 * KEYPOINTS + GRID_CHANNELS * grid * grid
        super().__init__(observation_space, features_dim=vector_size + per_camera * len(cameras))
        self.cameras = cameras
        self.vector = vector
        words = observation_space.spaces.get(WORDS_KEY)
        self.words = int(words.shape[-1]) if words is not None else 0
        # module names may not hold '.'; image keys never do (batched_env.image_key)
        channels = {name: sum(observation_space[k].shape[-1] for k in keys) for name, keys in cameras.items()}
        self.encoders = nn.ModuleDict({name: CameraEncoder(channels[name], self.words, grid) for name in cameras})

    def forward(self, observations: dict[str, Any]) -> torch.Tensor:
        parts = []
        if self.vector is not None:
            parts.append(self.vector({k: observations[k] for k in self.vector.keys}))
        words = observations[WORDS_KEY].flatten(1) if self.words else None
        for name, images in self.camera_images(observations).items():
            if self.training:  # colour and depth of a camera shift together
                images = random_shift(images, SHIFT_PX)
            parts.append(self.encoders[name](images, words))
        return torch.cat(parts, dim=1)

    def camera_images(self, observations: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Each encoder's input, (n, C, H, W) in [0, 1], from observations as SB3 preprocesses them (uint8
        images already scaled to [0, 1])."""
        return {
            name: torch.cat([_scaled(key, observations[key]) for key in keys], dim=-1).permute(0, 3, 1, 2)
            for name, keys in self.cameras.items()
        }


def _scaled(key: str, images: torch.Tensor) -> torch.Tensor:
    """(n, H, W, C) in [0, 1]: SB3 already scaled uint8 images; depth in metres is clipped and scaled here."""
    if key.startswith("depth_"):
        return images.float().clamp(0.0, DEPTH_RANGE_M) / DEPTH_RANGE_M
    return images.float()
