"""What a person at the browser asks the robot to do, checked, and the action of the task it becomes.

The page sends its whole input state on every change (not key events), so a lost or reordered message costs at
most one control step and a key held stays held. Inputs are rates in the ``ee_delta`` layout every task offers:
translation and rotation axes in [-1, 1] (the robot's base frame: x away from the base, y to its left, z up),
scaled by a speed in (0, 1], and the gripper open or closed. A message is untrusted data: anything but this
shape is refused with one line naming the field and what is valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: where an input came from; recorded per step
SOURCES = ("keyboard", "gamepad", "buttons")
GRIPPER_STATES = ("open", "closed")
#: the slowest speed scale the page offers: 1/8 of the controller's full rate (3 mm per step at 20 Hz)
MIN_SPEED = 0.125
#: the most a control message may hold, in bytes (a real one has about 150)
MAX_MESSAGE_BYTES = 1024
#: sequence numbers are JavaScript's safe integers
MAX_SEQUENCE = 2**53 - 1


class OperatorInputError(ValueError):
    """A control message that is not a valid operator input."""


@dataclass(frozen=True)
class OperatorInput:
    """One state of the operator's controls; ``seq`` orders them (the page counts up)."""

    seq: int = 0
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gripper: str = "open"
    speed: float = 0.5
    source: str = "keyboard"

    def action(self, arm: slice, gripper: slice, action_dim: int) -> np.ndarray:
        """The ``ee_delta`` action of this input: the arm's rates times the speed, the gripper's target."""
        action = np.zeros(action_dim, dtype=np.float64)
        action[arm] = np.array([*self.translation, *self.rotation]) * self.speed
        action[gripper] = -1.0 if self.gripper == "closed" else 1.0
        return action

    def record(self) -> dict[str, np.ndarray]:
        """The per-step fields an episode keeps of it (``info/operator/<name>``), for one simulation."""
        return {
            "seq": np.array([self.seq], dtype=np.int64),
            "translation": np.array([self.translation]),
            "rotation": np.array([self.rotation]),
            "gripper_closed": np.array([self.gripper == "closed"]),
            "speed": np.array([self.speed]),
            "source": np.array([SOURCES.index(self.source)], dtype=np.int64),
        }


def _axes(message: dict[str, Any], name: str) -> tuple[float, float, float]:
    value = message.get(name, [0.0, 0.0, 0.0])
    valid = f"valid: three numbers in [-1, 1] ({name}: [x, y, z])"
    if not isinstance(value, list) or len(value) != 3:
        raise OperatorInputError(f"{name}={value!r:.60}; {valid}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item) or abs(item) > 1:
            raise OperatorInputError(f"{name} holds {item!r:.30}; {valid}")
    return tuple(float(v) for v in value)  # type: ignore[return-value]


def parse_input(message: Any) -> OperatorInput:
    """An ``OperatorInput`` from a decoded control message, or ``OperatorInputError`` naming what is wrong."""
    if not isinstance(message, dict):
        raise OperatorInputError(f"a control message is a JSON object, got {type(message).__name__}")
    known = {"seq", "translation", "rotation", "gripper", "speed", "source"}
    unknown = sorted(set(message) - known)
    if unknown:
        raise OperatorInputError(f"unknown field {unknown[0]!r:.40}; valid: {', '.join(sorted(known))}")
    seq = message.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQUENCE:
        raise OperatorInputError(f"seq={seq!r:.40}; valid: an integer from 0 to 2**53 - 1")
    gripper = message.get("gripper", "open")
    if gripper not in GRIPPER_STATES:
        raise OperatorInputError(f"gripper={gripper!r:.40}; valid: {', '.join(GRIPPER_STATES)}")
    speed = message.get("speed", 0.5)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= 1:
        raise OperatorInputError(f"speed={speed!r:.40}; valid: a number from {MIN_SPEED} to 1")
    source = message.get("source", "keyboard")
    if source not in SOURCES:
        raise OperatorInputError(f"source={source!r:.40}; valid: {', '.join(SOURCES)}")
    return OperatorInput(
        seq=seq,
        translation=_axes(message, "translation"),
        rotation=_axes(message, "rotation"),
        gripper=gripper,
        speed=float(speed),
        source=source,
    )
