"""DAgger with real physics: expert labels on learner-visited states, determinism, aggregation, refitting."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from embodia.agents.experts import make_expert
from embodia.agents.experts.pick_place import APPROACH, RETREAT
from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.dagger import _stale_release, merge, relabelled_rollouts, train_dagger
from embodia.envs.core.batched_env import make_batched

BIN = "embodia/BinPicking-v0"
SHORT = {"episode_steps": 15}


class StandStill:
    """A learner that never moves: every state it visits is one the expert would have left."""

    def reset(self, env_ids, seed=None) -> None:
        pass

    def act(self, obs, info) -> np.ndarray:
        return np.zeros((len(obs["robot_tcp_pos"]), 7))


def test_labels_are_the_experts_actions_on_the_learners_states():
    demos, rate = relabelled_rollouts(BIN, StandStill(), 0.0, 3, seed=5, num_envs=2, env_kwargs=SHORT)
    assert demos.num_episodes == 3 and len(demos) == 3 * 15 and rate == 0.0
    tcp = demos.observations["robot_tcp_pos"]
    first = demos.episode == 0
    # the learner stood still, so the TCP barely moved while the expert kept asking to move towards the part
    assert np.ptp(tcp[first], axis=0).max() < 0.01
    to_part = demos.observations["task_part_to_tcp"][first]
    heading = np.sum(demos.actions[first, :2] * to_part[:, :2], axis=1)
    assert np.all(np.linalg.norm(demos.actions[first, :3], axis=1) > 0.1)
    assert np.all(heading > 0)
    # the stored next observation is the following row's observation within an episode
    np.testing.assert_array_equal(demos.next_observations["robot_tcp_pos"][first][:-1], tcp[first][1:])


def test_rollouts_are_deterministic_and_independent_of_the_number_of_simulations():
    a, _ = relabelled_rollouts(BIN, StandStill(), 0.5, 3, seed=7, num_envs=1, env_kwargs=SHORT)
    b, _ = relabelled_rollouts(BIN, StandStill(), 0.5, 3, seed=7, num_envs=3, env_kwargs=SHORT)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.observations["robot_tcp_pos"], b.observations["robot_tcp_pos"])


def test_an_expert_that_believes_it_released_a_part_lying_elsewhere_starts_over():
    env = make_batched(BIN, 2, obs_mode="dict")
    _, info = env.reset(np.arange(2), [0, 1])
    expert = make_expert(BIN, 2)
    expert.reset(np.arange(2))
    assert not _stale_release(expert, info["state"]).any()
    expert.phase[:] = [RETREAT, APPROACH]
    assert _stale_release(expert, info["state"]).tolist() == [True, False]
    env.close()


def test_dagger_aggregates_relabelled_rollouts_and_refits():
    initial, _ = relabelled_rollouts(BIN, StandStill(), 1.0, 2, seed=0, num_envs=2, env_kwargs=SHORT)
    env = make_batched(BIN, 1, obs_mode="flat", **SHORT)
    config = TrainConfig(net_arch=[32, 32], bc_epochs=150, bc_patience=150, bc_holdout_fraction=0.0, env_kwargs=SHORT)
    seen = []
    _, history = train_dagger(BIN, initial, env.single_observation_space, env.single_action_space, config,
                                   seed=0, iterations=2, episodes_per_iteration=2, num_envs=2,
                                   on_iteration=lambda i, p, h: seen.append(i))  # fmt: skip
    assert seen == [0, 1, 2]
    assert history.transitions == [30, 60, 90]
    assert history.beta == [1.0, 0.5, 0.25]
    for fit in history.bc:  # every refit learns: its loss falls well below the untrained network's
        assert fit.train_loss[-1] < 0.5 * fit.train_loss[0]
    merged = merge(initial, initial)
    assert merged.num_episodes == 4 and merged.episode.max() == 3 and len(merged) == 2 * len(initial)


def test_bad_beta_is_refused():
    with pytest.raises(ValueError, match=r"beta=1\.5"):
        relabelled_rollouts(BIN, StandStill(), 1.5, 2, seed=0)


def test_yaw_features_match_the_experts_angles():
    import torch

    from embodia.agents.experts import motion
    from embodia.agents.learn.features import (
        JAW_OFFSETS,
        NEUTRAL_JAW_YAW_RAD,
        YAW_FEATURES_PER_OBJECT,
        YawFeaturesExtractor,
    )
    from embodia.envs.scene.angles import quat_yaw

    env = make_batched(BIN, 3, obs_mode="dict")
    env.reset(np.arange(3), [0, 1, 2])
    obs, *_, info = env.step(np.random.default_rng(0).uniform(-1, 1, (3, 7)))
    extractor = YawFeaturesExtractor(env.single_observation_space)
    features = extractor({k: torch.as_tensor(v, dtype=torch.float32) for k, v in obs.items()}).numpy()
    assert features.shape == (3, extractor.features_dim)
    jaw = motion.jaw_yaw(info["state"]["tcp_xmat"])
    np.testing.assert_allclose(features[:, -2], motion.wrap(jaw - NEUTRAL_JAW_YAW_RAD, 2 * np.pi), atol=1e-5)
    part = quat_yaw(info["state"]["part_quat"])
    first_angle = part + np.pi / 2 - NEUTRAL_JAW_YAW_RAD  # harmonic 1 of the first angle: sin, cos
    size = features.shape[1] - YAW_FEATURES_PER_OBJECT - JAW_OFFSETS  # BinPicking shows one part's orientation
    expected = np.column_stack([np.sin(first_angle), np.cos(first_angle)])
    np.testing.assert_allclose(features[:, size : size + 2], expected, atol=1e-5)
    with pytest.raises(ValueError, match="need a Dict observation"):
        YawFeaturesExtractor(make_batched(BIN, 1, obs_mode="flat").single_observation_space)
    env.close()
