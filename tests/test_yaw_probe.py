"""The turn-direction probe of experiments/yaw_probe.py: it finds a direction features carry and not one they lack,
scored on episodes it did not fit, and it reads the yaw error of recorded frames modulo the part's symmetry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from embodia.envs.scene.parts import yaw_quat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
try:
    from yaw_probe import frames_off_yaw, supervised_turn, turn_probe
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


def tilted_bars(signs: np.ndarray, rng: np.random.Generator, size: int = 40) -> np.ndarray:
    """(n, size, size, 3) uint8: a light bar across each dark image, turned 10-40 degrees the way ``signs`` say."""
    ys, xs = np.mgrid[0:size, 0:size] - size / 2
    images = np.zeros((len(signs), size, size, 3), dtype=np.uint8)
    for k, sign in enumerate(signs):
        angle = sign * np.radians(rng.uniform(10.0, 40.0))
        centre = rng.uniform(-4.0, 4.0, 2)
        across = np.abs(-(xs - centre[0]) * np.sin(angle) + (ys - centre[1]) * np.cos(angle))
        images[k][across < 2.5] = 220
    return images


def test_the_encoder_trained_on_the_turn_alone_learns_a_direction_the_images_show_and_not_one_they_do_not():
    rng = np.random.default_rng(1)
    episode = np.repeat(np.arange(30), 10)
    sign = rng.choice([-1.0, 1.0], size=len(episode))
    images = tilted_bars(sign, rng)
    right, fitted = supervised_turn(images, sign, episode, epochs=40)
    assert right > 0.85 and fitted > 0.85
    shuffled = rng.permutation(sign)  # labels the images do not show
    right, _ = supervised_turn(images, shuffled, episode, epochs=40)
    assert right < 0.7
