"""Demonstrations with held pushes (``disturbance_rate``): the arm is taken off the expert's path for several steps,
the label stays the expert's, and older DART streams are unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embodia.agents.learn.collect import DISTURBANCE_STEPS, NOISE_STREAM, DartNoise, collect_demonstrations
from embodia.envs.record.episode import load_episode

REACH = "embodia/Reach-v0"
ARM = slice(0, 6)


def test_a_push_holds_one_random_arm_action_and_leaves_the_gripper_alone():
    noise = DartNoise(0.0, ARM, disturbance_rate=1.0)
    noise.episode_started(0, 0, 7, None, {})
    label = np.full((1, 7), 0.25)
    executed = np.array([noise.executed(label, None, {}, np.array([0]))[0] for _ in range(2 * DISTURBANCE_STEPS)])
    first, second = executed[:DISTURBANCE_STEPS], executed[DISTURBANCE_STEPS:]
    assert (first[:, ARM] == first[0, ARM]).all() and (second[:, ARM] == second[0, ARM]).all()
    assert not np.allclose(first[0, ARM], second[0, ARM])  # a new push after the last one ends
    assert not np.allclose(first[0, ARM], label[0, ARM]) and (np.abs(executed) <= 1.0).all()
    np.testing.assert_array_equal(executed[:, 6], 0.25)  # the gripper stays the expert's
    np.testing.assert_array_equal(label, 0.25)  # the label itself is not touched


def test_without_pushes_the_noise_stream_is_the_one_older_demonstrations_were_recorded_with():
    noise = DartNoise(0.1, ARM)
    noise.episode_started(3, 0, 11, None, {})
    label = np.zeros((4, 7))
    rng = np.random.default_rng([11, NOISE_STREAM])
    for _ in range(5):
        executed = noise.executed(label, None, {}, np.array([3]))
        np.testing.assert_array_equal(executed[3, ARM], np.clip(rng.normal(0.0, 0.1, size=6), -1.0, 1.0))
        np.testing.assert_array_equal(executed[:3], 0.0)


def test_pushed_demonstrations_show_the_arm_moving_against_the_expert_and_the_expert_bringing_it_back(tmp_path):
    def against_label_steps(folder):
        """Steps where the TCP moved more than 5 mm away from where the expert's label sent it."""
        count = 0
        for path in sorted(folder.glob("episode_*.npz")):
            episode = load_episode(path)
            moved = np.diff(episode.observations["robot_tcp_pos"], axis=0)
            wanted = episode.actions[:, :3]  # action t moved the TCP from observation t to t + 1
            count += int(
                (np.einsum("ij,ij->i", moved, wanted) / (np.linalg.norm(wanted, axis=1) + 1e-9) < -0.005).sum()
            )
        return count

    clean = collect_demonstrations(REACH, 4, tmp_path / "clean", num_envs=4)
    pushed = collect_demonstrations(REACH, 4, tmp_path / "pushed", num_envs=4, disturbance_rate=0.1)
    assert against_label_steps(tmp_path / "clean") == 0
    assert against_label_steps(tmp_path / "pushed") >= 4  # pushes, several steps each, in 4 episodes
    assert clean["success_rate"] == 1.0 and pushed["success_rate"] >= 0.5  # and the expert still gets there
    assert "pushes(0.1)" in pushed["policy"]


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_a_disturbance_rate_that_is_not_a_probability_is_refused_before_anything_is_written(tmp_path, rate):
    with pytest.raises(ValueError, match=r"disturbance_rate=.* is not valid; valid: a probability per step, 0 to 1"):
        collect_demonstrations(REACH, 2, tmp_path / "demos", disturbance_rate=rate)
    assert not (tmp_path / "demos").exists()


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("Reach-v0-dart0.1", "collect --task Reach --noise 0.1 --out"),
        ("BinPicking-v0-dart0.1-successes", "--noise 0.1 --successes-only --episodes 7 --out"),
        ("BinPicking-v0-dart0.1-push0.08-successes-200", "--noise 0.1 --pushes 0.08 --successes-only --episodes 200"),
        ("BinPicking-v0-dart0.3-turn0.04-successes-200", "--noise 0.3 --turn-within 0.04 --successes-only --episodes"),
        ("BinPicking-v0-dart0.3-turn0.04-open0.08-successes-200", "--turn-within 0.04 --pregrasp-open 0.08 --succ"),
    ],
)
def test_a_missing_demo_folder_names_the_command_that_records_it_with_its_noise_pushes_and_count(folder, expected):
    from embodia.agents.learn.config import TrainConfig
    from embodia.agents.learn.train import collect_command

    command = collect_command("embodia/BinPicking-v0", TrainConfig(demos=f"runs/demos/{folder}", demo_episodes=7))
    assert command.startswith("python experiments/bc_levers.py collect") and expected in command
    assert command.endswith(f"--out runs/demos/{folder}")


def test_bc_levers_collect_records_pushed_demonstrations_with_the_settings_asked_for(tmp_path):
    script = Path(__file__).resolve().parents[1] / "experiments" / "bc_levers.py"
    out = tmp_path / "demos"
    options = ["--pushes", "0.1", "--episodes", "2", "--successes-only", "--out", str(out)]
    subprocess.run(
        [sys.executable, str(script), "collect", "--task", "Reach", *options], check=True, capture_output=True
    )
    meta = json.loads((out / "meta.json").read_text())
    assert meta["disturbance_rate"] == 0.1 and meta["successes_only"] and meta["episodes"] == 2
    assert len(list(out.glob("episode_*.npz"))) == 2
