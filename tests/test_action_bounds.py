"""PPO's action-bound penalty: its gradient is the rl_games term's, it brings a saturated mean back towards the
action box in real PPO updates (stock SB3 on Reach), and a config asks for it only where it applies."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
import torch
from stable_baselines3 import PPO

from embodia.agents.learn import train as training
from embodia.agents.learn.action_bounds import SOFT_BOUND, bound_penalty, penalise_action_bounds
from embodia.agents.learn.algorithms import ALGORITHMS
from embodia.agents.learn.config import ConfigError, TrainConfig

REACH = "embodia/Reach-v0"
GRIPPER = -1  # Reach's last action dimension
SATURATED = -4.0  # where BinPicking's PPO gripper mean sat with the part in its slot


def test_the_gradient_is_the_penalty_terms() -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3)
    handle = penalise_action_bounds(type("Policy", (), {"action_net": layer})(), coef=0.3)
    inputs = torch.randn(8, 5) * 4
    weights = torch.randn(8, 3)
    (layer(inputs) * weights).sum().backward()
    hooked = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    with torch.no_grad():  # acting: the hook leaves the mean alone
        assert torch.equal(layer(inputs), torch.nn.functional.linear(inputs, layer.weight, layer.bias))
    handle.remove()
    mean = layer(inputs)
    assert (mean.abs() > SOFT_BOUND).any() and (mean.abs() < SOFT_BOUND).any()  # both sides of the bound
    ((mean * weights).sum() + 0.3 * bound_penalty(mean).mean()).backward()
    for by_hook, by_loss in zip(hooked, [p.grad for p in layer.parameters()], strict=True):
        torch.testing.assert_close(by_hook, by_loss)


def gripper_mean_after(coef: float) -> float:
    """Stock SB3 PPO on Reach, its gripper mean started at -4 (the action clipped at -1 either way), 1,024 steps
    of updates at a high rate (Adam moves a weight about one rate a step, whatever the gradient's size); the
    gripper's mean action on the observations of its own last rollout."""
    env = gym.wrappers.TimeLimit(gym.make(REACH, obs_mode="flat"), max_episode_steps=20)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=8, learning_rate=0.01,
                policy_kwargs={"net_arch": [16]}, device="cpu", seed=0)  # fmt: skip
    with torch.no_grad():
        model.policy.action_net.bias[GRIPPER] = SATURATED
    penalise_action_bounds(model.policy, coef)
    model.learn(1024)
    observations = torch.as_tensor(model.rollout_buffer.observations.reshape(-1, env.observation_space.shape[0]))
    with torch.no_grad():
        mean = model.policy.get_distribution(observations).distribution.mean[:, GRIPPER]
    env.close()
    return float(mean.mean())


def test_real_ppo_updates_bring_a_saturated_mean_back_towards_the_box() -> None:
    torch.set_num_threads(1)
    without, with_penalty = gripper_mean_after(0.0), gripper_mean_after(1.0)
    assert without < -3.5  # nothing in the clipped reward moves it
    assert with_penalty > -2.0 and with_penalty > without + 2.0


def test_the_config_hooks_ppo_and_refuses_the_others(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"action_bound_penalty=-0\.1 must be 0 \(none\) or a positive"):
        TrainConfig(action_bound_penalty=-0.1)
    with pytest.raises(ConfigError, match="action_bound_penalty=nan"):
        TrainConfig(action_bound_penalty=float("nan"))
    config = TrainConfig(action_bound_penalty=0.01, total_steps=64, num_envs=2, n_steps=16, batch_size=32,
                         net_arch=[16], eval_every=64, eval_episodes=1, final_eval_episodes=1,
                         env_kwargs={"episode_steps": 10})  # fmt: skip
    with pytest.raises(training.RunError, match="action_bound_penalty is PPO's"):
        training.train(REACH, "sac", config, 0, tmp_path / "sac", progress=False)
    assert not (tmp_path / "sac").exists()
    env = gym.make(REACH, obs_mode="flat")
    model = PPO("MlpPolicy", env, policy_kwargs={"net_arch": [16]}, device="cpu", seed=0)
    ALGORITHMS["ppo"].settings(model, config)
    assert len(model.policy.action_net._forward_hooks) == 1
    ALGORITHMS["ppo"].settings(model, TrainConfig())  # 0: no hook
    assert len(model.policy.action_net._forward_hooks) == 1
    result = training.train(REACH, "ppo", config, 0, tmp_path / "ppo", progress=False)
    assert result["env_steps"] >= 64 and np.isfinite(result["success_rate"])
    env.close()
