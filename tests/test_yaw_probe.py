"""The turn-direction probe of experiments/yaw_probe.py: it finds a direction features carry and not one they lack,
scored on episodes it did not fit, and it reads the yaw error of recorded frames modulo the part's symmetry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from embodia.envs.scene.parts import yaw_quat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
try:
    from yaw_probe import frames_off_yaw, turn_probe
finally:
    sys.path.pop(0)


def test_the_probe_reads_a_direction_the_features_carry_and_not_one_they_lack():
    rng = np.random.default_rng(0)
    episode = np.repeat(np.arange(30), 20)
    sign = rng.choice([-1.0, 1.0], size=len(episode))
    noise = rng.normal(size=(len(episode), 16))
    carrying = noise + np.outer(sign, np.r_[1.5, np.zeros(15)])
    right, commoner, frames = turn_probe(carrying, sign, episode)
    assert right > 0.85 and frames == 200  # episodes 0, 3, ..., 27 held out
    right, commoner, _ = turn_probe(noise, sign, episode)
    assert right < commoner + 0.1


def test_frames_are_those_over_a_faced_part_with_open_jaws_and_the_jaws_turned_off_modulo_its_symmetry():
    n = 4
    part_yaw = np.zeros(n)
    jaw_yaw = np.radians([100.0, 100.0, 2.0, 100.0])  # a cube reads 10 degrees, a block -80; 2 degrees: aligned
    obs = {
        "task_part_kind": np.eye(3)[[0, 2, 0, 1]],  # cube, block, cube, cylinder (every yaw fits)
        "task_part_to_tcp": np.tile([0.0, 0.0, -0.05], (n, 1)),
        "robot_gripper_width": np.full((n, 1), 0.05),
        "robot_tcp_quat": yaw_quat(jaw_yaw),
        "task_part_quat": yaw_quat(part_yaw),
    }
    rows, error = frames_off_yaw(obs)
    assert list(rows) == [0, 1]
    np.testing.assert_allclose(np.degrees(error), [10.0, -80.0], atol=1e-6)
