"""Yaw angles: read from quaternions and folded by a period.

A part that looks the same after a quarter or half turn (a cube, a box, a nut's flats, a gear's teeth) has a yaw
error only modulo that turn; the tasks that score it, the experts that turn their jaws to it and the scripts
that read recorded episodes all fold it the same way, here.
"""

from __future__ import annotations

import numpy as np


def quat_yaw(quat: np.ndarray) -> np.ndarray:
    """Yaw (rotation about world z) of wxyz quaternions (..., 4), in (-pi, pi]."""
    w, x, y, z = np.moveaxis(quat, -1, 0)
    return np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def wrap(angle: np.ndarray, period: float) -> np.ndarray:
    """``angle`` folded into [-period/2, period/2): the nearest equivalent of a part that repeats every ``period``."""
    return (angle + period / 2) % period - period / 2
