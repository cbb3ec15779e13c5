"""Every observation mode trains with stock stable-baselines3 policies, through Gymnasium's own wrappers.

A few hundred steps each on Reach (the cheapest task), tiny networks, CPU: this checks that spaces, keys, dtypes
and image layouts are what SB3 accepts, not that anything learns.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
import torch
from stable_baselines3 import PPO, SAC, HerReplayBuffer
from stable_baselines3.common.preprocessing import is_image_space

REACH = "embodia/Reach-v0"
REACH_STEPS = 50  # Reach's default episode
TINY = {"net_arch": [16]}
#: the smallest image SB3's NatureCNN takes (three strided convolutions)
IMAGE = (36, 36)
#: the observation entries SB3 takes for images (a CNN each): colour and segmentation classes
IMAGE_KEYS = ("camera_", "segmentation_")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train_ppo(env: gym.Env, policy: str, steps: int = 160, **policy_kwargs) -> PPO:
    env = gym.wrappers.RecordEpisodeStatistics(env)
    model = PPO(
        policy, env, n_steps=32, batch_size=32, n_epochs=1, policy_kwargs={**TINY, **policy_kwargs}, device="cpu",
        seed=0,
    )  # fmt: skip
    model.learn(total_timesteps=steps)
    assert model.num_timesteps >= steps and len(env.return_queue) >= steps // 20 - 1  # whole episodes were seen
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action.astype(np.float32))
    env.step(action)
    return model


def test_dict_observations_train_with_multi_input_policy():
    train_ppo(gym.make(REACH, episode_steps=20), "MultiInputPolicy")


def test_flat_observations_train_with_mlp_policy():
    train_ppo(gym.wrappers.TimeLimit(gym.make(REACH, obs_mode="flat"), max_episode_steps=20), "MlpPolicy")


def test_dict_observations_flattened_by_gymnasium_train_with_mlp_policy():
    env = gym.wrappers.FlattenObservation(gym.make(REACH, episode_steps=20, force_torque=True, touch=True))
    assert env.observation_space.shape == (gym.make(REACH, obs_mode="flat", force_torque=True, touch=True)
                                           .observation_space.shape)  # fmt: skip
    train_ppo(env, "MlpPolicy")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"depth": True},
        {"depth": True, "force_torque": True, "touch": True, "cameras": ("front", "robot/wrist")},
        {"segmentation": True, "cameras": ("work", "robot/wrist")},
    ],
    ids=["rgb", "rgb+depth", "two-cameras+depth+force+touch", "rgb+segmentation"],
)
def test_pixels_with_state_train_with_multi_input_policy_and_nature_cnn(options):
    env = gym.make(REACH, obs_mode="pixels", image_size=IMAGE, episode_steps=20, **options)
    for key, space in env.observation_space.spaces.items():
        assert is_image_space(space) == key.startswith(IMAGE_KEYS), key  # channels last, uint8 0..255
    model = train_ppo(env, "MultiInputPolicy", normalize_images=True)
    assert type(model.policy.features_extractor).__name__ == "CombinedExtractor"
    cnns = [name for name, module in model.policy.features_extractor.extractors.items() if module.__class__.__name__
            == "NatureCNN"]  # fmt: skip
    assert sorted(cnns) == sorted(k for k in env.observation_space.spaces if k.startswith(IMAGE_KEYS))


def test_point_clouds_with_state_train_with_multi_input_policy():
    env = gym.make(REACH, obs_mode="point_cloud", cameras=("front", "work"), point_cloud_size=64, image_size=IMAGE,
                   episode_steps=20)  # fmt: skip
    assert not any(is_image_space(space) for space in env.observation_space.spaces.values())
    train_ppo(env, "MultiInputPolicy")


def test_images_alone_train_with_cnn_policy():
    """An image-only observation: Gymnasium's AddRenderObservation puts the render camera's frame in its place."""
    env = gym.make(REACH, render_mode="rgb_array", render_size=IMAGE, render_preset="fast", episode_steps=20)
    env = gym.wrappers.AddRenderObservation(env, render_only=True)
    assert is_image_space(env.observation_space)
    model = train_ppo(env, "CnnPolicy")
    assert type(model.policy.features_extractor).__name__ == "NatureCNN"


def test_goal_observations_train_with_sac_and_her():
    env = gym.make(REACH, obs_mode="goal")
    model = SAC(
        "MultiInputPolicy",
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs={"n_sampled_goal": 2, "goal_selection_strategy": "future"},
        learning_starts=REACH_STEPS * 2,
        batch_size=32,
        train_freq=8,
        gradient_steps=1,
        policy_kwargs=TINY,
        device="cpu",
        seed=0,
    )
    model.learn(total_timesteps=REACH_STEPS * 3)
    assert model.replay_buffer.size() >= REACH_STEPS * 3
    # relabelled rewards come from the env's own goal reward
    achieved = np.zeros((4, 3))
    desired = np.array([[0, 0, 0], [0.01, 0, 0], [0.1, 0, 0], [1, 1, 1]], dtype=float)
    assert np.array_equal(env.unwrapped.compute_reward(achieved, desired, {}), [0, 0, -1, -1])
