"""``bc_aux_turn``: the jaw's yaw against the part's, folded by the part's symmetry, as a visual clone's training
target, weighted to the frames where the part is near and not yet held."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import torch

from embodia.agents.learn import train as training
from embodia.agents.learn.bc import train_bc
from embodia.agents.learn.collect import collect_demonstrations
from embodia.agents.learn.config import ConfigError, TrainConfig
from embodia.agents.learn.dataset import load_demonstrations
from embodia.agents.learn.features import HARMONICS, turn_targets
from embodia.envs.record.episode import load_episode

BIN = "embodia/BinPicking-v0"
SIN_4 = 2 * HARMONICS.index(4.0)  # the column of sin(4 x angle): 0 wherever a cube's faces are square to the jaws
SIN_2 = 2 * HARMONICS.index(2.0)
CUBE, BLOCK = 0, 2  # BinPicking's part kinds (envs/tasks/factory/bin_picking.py PARTS)


@pytest.fixture(scope="module")
def whole_demos(tmp_path_factory):
    """Three whole expert episodes of BinPicking (seed 5: a cube, a cylinder and a block), each through its grasp."""
    folder = tmp_path_factory.mktemp("turn") / "bin"
    collect_demonstrations(BIN, 3, folder, seed=5, num_envs=3)
    return folder


def test_the_target_is_square_at_the_grasp_and_weighted_to_the_approach(whole_demos):
    kinds = set()
    for path in sorted(whole_demos.glob("episode_*.npz")):
        obs = load_episode(path).observations
        targets, weights = turn_targets(obs, scale_m=0.05)
        assert targets.shape == weights.shape == (len(obs["robot_tcp_quat"]), 2 * len(HARMONICS))
        held = obs["robot_pads_touching"].max(axis=1) > 0
        grasp = int(np.argmax(held))
        kind = int(obs["task_part_kind"][0].argmax())
        kinds.add(kind)
        if kind in (CUBE, BLOCK):  # the expert closed square to the faces, modulo the part's symmetry
            assert abs(float(targets[grasp - 1, SIN_4])) < 0.1, targets[grasp - 1]
        if kind == BLOCK:
            assert abs(float(targets[grasp - 1, SIN_2])) < 0.1, targets[grasp - 1]
        assert float(weights[0].max()) < 0.01  # at home, half a metre away
        assert float(weights[grasp - 1].min()) > 0.5  # over the part, jaws open
        assert float(weights[held].abs().max()) == 0.0  # held: the turn is over
    assert {CUBE, BLOCK} <= kinds


def test_a_quarter_turn_of_the_jaws_leaves_the_folded_harmonic_and_flips_the_first(whole_demos):
    obs = dict(load_episode(sorted(whole_demos.glob("episode_*.npz"))[0]).observations)
    before, _ = turn_targets(obs, scale_m=0.05)
    quarter = np.array([np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])  # about the world's z, wxyz
    w1, v1 = quarter[0], quarter[1:]
    w2, v2 = obs["robot_tcp_quat"][:, 0], obs["robot_tcp_quat"][:, 1:]
    turned = np.concatenate(
        [(w1 * w2 - v2 @ v1)[:, None], w1 * v2 + w2[:, None] * v1 + np.cross(v1, v2)], axis=1
    )  # quarter * tcp: the hand turned about the vertical
    after, _ = turn_targets(obs | {"robot_tcp_quat": turned}, scale_m=0.05)
    assert torch.allclose(after[:, SIN_4 : SIN_4 + 2], before[:, SIN_4 : SIN_4 + 2], atol=1e-4)
    assert torch.allclose(after[:, 0], before[:, 1], atol=1e-4)  # sin(a + pi/2) = cos(a)


def test_the_turn_head_trains_beside_the_actions_and_is_recorded_per_epoch(whole_demos):
    options = {"obs_mode": "pixels", "cameras": ("robot/wrist",), "image_size": (32, 32)}
    config = TrainConfig(obs_mode="pixels", policy_state="robot", env_kwargs=options, net_arch=[32], bc_epochs=30,
                         bc_batch_size=16, bc_aux_turn=1.0, bc_holdout_fraction=0.0)  # fmt: skip
    spaces_ = training.task_spaces(BIN, config)
    loaded = load_demonstrations(whole_demos, BIN, spaces_.state, spaces_.action, image_options=options)
    observation_space = training.policy_observation_space(spaces_.observation, config.policy_state)
    _, history = train_bc(loaded, observation_space, spaces_.action, config, seed=0)
    assert history.hidden_state_loss == [] and len(history.turn_loss) == 30
    assert history.turn_loss[-1] < 0.3 * history.turn_loss[0], history.turn_loss


def test_bad_turn_settings_are_refused_by_name():
    with pytest.raises(ConfigError, match=r"bc_aux_turn=1.0 predicts.*needs obs_mode pixels and policy_state robot"):
        TrainConfig(bc_aux_turn=1.0)
    with pytest.raises(ConfigError, match=r"bc_aux_turn=-0.5 must be >= 0"):
        TrainConfig(obs_mode="pixels", policy_state="robot", bc_aux_turn=-0.5)
    with pytest.raises(ConfigError, match=r"bc_aux_turn_scale_m=0.0 must be > 0"):
        TrainConfig(obs_mode="pixels", policy_state="robot", bc_aux_turn=1.0, bc_aux_turn_scale_m=0.0)
    with pytest.raises(ValueError, match=r"task_<object>_quat and task_<object>_to_tcp.*robot_tcp_pos"):
        turn_targets({"robot_tcp_pos": np.zeros((2, 3)), "robot_tcp_quat": np.ones((2, 4))}, scale_m=0.05)
