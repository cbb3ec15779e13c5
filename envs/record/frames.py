"""Video frames for review: several cameras tiled into one frame, and a text overlay of the step's figures.

Reviewers compare views and read numbers at the moment they see something happen, so both go into the frame
itself (a video shared on its own still says what step it is and whether the person was touched too hard).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: overlay text height as a share of the frame height (clamped to a readable pixel range)
OVERLAY_TEXT_SHARE = 0.045
OVERLAY_MIN_PX, OVERLAY_MAX_PX = 10, 22
#: info entry holding the largest contact force on the person this step (from the safety monitor), newtons
CONTACT_FORCE_KEY = ("safety", "max_contact_force_n")


def tile(frames: Sequence[np.ndarray], columns: int | None = None) -> np.ndarray:
    """Frames of one size (H, W, 3) side by side in a grid (one row up to three frames, then two rows ...)."""
    if not frames:
        raise ValueError("tile needs at least one frame")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames to tile must share one size, got {sorted(shapes)}")
    if len(frames) == 1:
        return frames[0]
    columns = columns or (len(frames) if len(frames) <= 3 else math.ceil(math.sqrt(len(frames))))
    rows = math.ceil(len(frames) / columns)
    height, width, channels = frames[0].shape
    grid = np.zeros((rows * height, columns * width, channels), dtype=frames[0].dtype)
    for k, frame in enumerate(frames):
        row, column = divmod(k, columns)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = frame
    return grid


@lru_cache(maxsize=8)
def _font(size_px: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size_px)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def overlay_lines(
    step: int, reward: float | None, success: bool, info: Mapping[str, Any] | None = None, episode_return: float = 0.0
) -> list[str]:
    """The overlay's text for one frame: step, reward (and return), success, and the contact force when known."""
    lines = [f"step {step}"]
    if reward is not None:
        lines.append(f"reward {reward:+.3f}  return {episode_return:.2f}")
    lines.append("SUCCESS" if success else "success: no")
    force = contact_force(info)
    if force is not None:
        lines.append(f"max force on person {force:.1f} N")
    return lines


def contact_force(info: Mapping[str, Any] | None) -> float | None:
    """The largest contact force on the person this step, from a nested or a flattened info, or None."""
    if not info:
        return None
    group, name = CONTACT_FORCE_KEY
    if f"{group}/{name}" in info:
        return float(np.asarray(info[f"{group}/{name}"]))
    nested = info.get(group)
    if isinstance(nested, Mapping) and name in nested:
        return float(np.asarray(nested[name]))
    return None


def draw_overlay(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``frame`` with ``lines`` written top left on a translucent dark box (a new array)."""
    image = Image.fromarray(np.ascontiguousarray(frame)).convert("RGBA")
    size_px = int(np.clip(round(frame.shape[0] * OVERLAY_TEXT_SHARE), OVERLAY_MIN_PX, OVERLAY_MAX_PX))
    font = _font(size_px)
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    pad = max(2, size_px // 3)
    line_height = size_px + pad // 2
    width = max(draw.textlength(line, font=font) for line in lines)
    draw.rectangle((0, 0, width + 2 * pad, len(lines) * line_height + 2 * pad), fill=(0, 0, 0, 150))
    for k, line in enumerate(lines):
        colour = (120, 255, 120, 255) if line == "SUCCESS" else (255, 255, 255, 255)
        draw.text((pad, pad + k * line_height), line, font=font, fill=colour)
    return np.asarray(Image.alpha_composite(image, layer).convert("RGB"))
