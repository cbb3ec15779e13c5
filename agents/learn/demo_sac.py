"""Demonstration-augmented SAC: demonstrations keep a fixed share of every batch, and the actor keeps a
behaviour-cloning pull towards the demonstrated actions.

The two ingredients follow Vecerik et al. 2017 (DDPGfD: demonstrations kept in the replay buffer and sampled
alongside the agent's own transitions) and Nair et al. 2018 (an auxiliary behaviour-cloning loss on the
demonstrations, so that the policy cloned before RL is not forgotten while the critic is still untrained).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
from stable_baselines3.common.type_aliases import DictReplayBufferSamples, ReplayBufferSamples
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional

from embodia.agents.learn.bc import ACTION_TARGET_LIMIT, policy_inputs, train_bc
from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.dataset import Demonstrations


class _DemoMixing:
    """Draws ``demo_fraction`` of every batch from fixed demonstration transitions (mixed into SB3's buffers)."""

    demo: dict[str, Any] | None = None
    demo_fraction: float = 0.0

    def set_demonstrations(
        self,
        observations: Any,
        next_observations: Any,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        fraction: float,
    ) -> None:
        if isinstance(self.obs_shape, dict):
            shapes = {k: v.shape[1:] for k, v in observations.items()} if isinstance(observations, dict) else None
            expected = {k: tuple(v) for k, v in self.obs_shape.items()}
        else:
            shapes = None if isinstance(observations, dict) else observations.shape[1:]
            expected = self.obs_shape
        if shapes != expected or actions.shape[1:] != (self.action_dim,):
            raise ValueError(
                f"demonstrations have observation shape {shapes} and action shape {actions.shape[1:]}; the buffer "
                f"holds {expected} and ({self.action_dim},)"
            )
        self.demo = {
            "observations": _as_float32(observations),
            "next_observations": _as_float32(next_observations),
            "actions": actions.astype(np.float32),
            "rewards": rewards.astype(np.float32).reshape(-1, 1),
            "dones": terminated.astype(np.float32).reshape(-1, 1),
        }
        self.demo_fraction = float(fraction)

    def sample_demonstrations(self, count: int) -> Any:
        index = np.random.randint(0, len(self.demo["actions"]), size=count)
        demo = self.demo
        return self._samples_class(
            observations=_rows(self, demo["observations"], index),
            actions=self.to_torch(demo["actions"][index]),
            next_observations=_rows(self, demo["next_observations"], index),
            dones=self.to_torch(demo["dones"][index]),
            rewards=self.to_torch(demo["rewards"][index]),
        )

    def sample(self, batch_size: int, env: Any = None) -> Any:
        if self.demo is None or self.demo_fraction <= 0.0:
            return super().sample(batch_size, env)
        count = round(self.demo_fraction * batch_size)
        own = super().sample(batch_size - count, env)
        demo = self.sample_demonstrations(count)
        return self._samples_class(
            observations=_cat(own.observations, demo.observations),
            actions=torch.cat([own.actions, demo.actions]),
            next_observations=_cat(own.next_observations, demo.next_observations),
            dones=torch.cat([own.dones, demo.dones]),
            rewards=torch.cat([own.rewards, demo.rewards]),
        )


class DemoReplayBuffer(_DemoMixing, ReplayBuffer):
    """SB3's replay buffer (flat observations) with demonstrations in every batch."""

    _samples_class = ReplayBufferSamples


class DictDemoReplayBuffer(_DemoMixing, DictReplayBuffer):
    """SB3's Dict replay buffer with demonstrations in every batch."""

    _samples_class = DictReplayBufferSamples


def demo_buffer_class(observation_space: spaces.Space) -> type:
    """The demonstration buffer for an observation space (Dict or flat)."""
    return DictDemoReplayBuffer if isinstance(observation_space, spaces.Dict) else DemoReplayBuffer


def _as_float32(observations: Any) -> Any:
    if isinstance(observations, dict):
        return {k: np.asarray(v, dtype=np.float32) for k, v in observations.items()}
    return np.asarray(observations, dtype=np.float32)


def _rows(buffer: Any, observations: Any, index: np.ndarray) -> Any:
    if isinstance(observations, dict):
        return {k: buffer.to_torch(v[index]) for k, v in observations.items()}
    return buffer.to_torch(observations[index])


def _cat(first: Any, second: Any) -> Any:
    if isinstance(first, dict):
        return {k: torch.cat([first[k], second[k]]) for k in first}
    return torch.cat([first, second])


class SACWithDemos(SAC):
    """SAC plus ``demo_bc_steps`` behaviour-cloning actor steps on demonstrations per SAC gradient step.

    For the first ``actor_warmup_steps`` gradient steps only the critic (and the entropy coefficient) learn: an
    untrained critic's gradient otherwise pulls the cloned actor off the demonstrations within a few hundred
    steps (measured on BinPicking: 30% -> 0% success by 3k env steps), the failure that critic pre-training
    before actor updates addresses in Uchendu et al. 2023 (Jump-Start RL) and Nair et al. 2020 (AWAC). Measured
    here, warm-up alone only delays the collapse to the first actor updates (experiments/results/learning_rl.md).
    """

    demo_bc_steps: float = 1.0
    actor_warmup_steps: int = 0
    #: "aux": separate BC steps after SAC's update; "qfilter": BC inside the actor loss (see ``_train_qfilter``)
    demo_loss: str = "aux"
    demo_bc_alpha: float = 2.5
    demo_q_filter: bool = True

    def use_demo_settings(self, config: TrainConfig) -> None:
        """The demonstration losses' settings from ``config``, on a new model and on one resumed from a checkpoint."""
        self.demo_bc_steps = config.demo_bc_steps
        self.actor_warmup_steps = config.actor_warmup_steps
        self.demo_loss = config.demo_loss
        self.demo_bc_alpha = config.demo_bc_alpha
        self.demo_q_filter = config.demo_q_filter

    def start_from_demonstrations(self, demos: Demonstrations, env: Any, config: TrainConfig, seed: int) -> None:
        """A new model's start: the actor cloned from the demonstrations (its std ``demo_policy_std`` when that is
        positive), the demonstrations in the replay buffer."""
        cloned, _ = train_bc(demos, env.observation_space, env.action_space, config, seed)
        self.policy.actor.load_state_dict(cloned.actor.state_dict())
        if config.demo_policy_std > 0:  # cloning fits only the mean; its std is still the untrained ~1
            set_initial_std(self.policy.actor, config.demo_policy_std)
        attach_demonstrations(self, demos, config)

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        if self._n_updates < self.actor_warmup_steps:
            self._train_critic_only(gradient_steps, batch_size)
            return
        if self.demo_loss == "qfilter":
            self._train_qfilter(gradient_steps, batch_size)
            return
        super().train(gradient_steps, batch_size)
        self._clone_steps(gradient_steps, batch_size)

    def _train_qfilter(self, gradient_steps: int, batch_size: int) -> None:
        """SAC's update with the actor loss of TD3+BC (Fujimoto and Gu, NeurIPS 2021) and the Q-filter of Nair et
        al. (ICRA 2018): ``alpha / mean|Q| * (entropy term - Q(s, pi(s)))`` plus, on the demonstration rows of the
        batch where the critic rates the demonstrated action above the actor's, the squared distance of the
        actor's mean action to it. The Q scale normalisation keeps the BC pull comparable to the critic's at any
        reward scale; the Q-filter drops the pull where the actor already does better than the demonstration."""
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        buffer = self.replay_buffer
        demo_rows = round(buffer.demo_fraction * batch_size) if isinstance(buffer, _DemoMixing) else 0
        logs: dict[str, list[float]] = {"actor_loss": [], "critic_loss": [], "ent_coef": [], "demo_bc_loss": [],
                                        "q_filter_share": []}  # fmt: skip
        for step in range(gradient_steps):
            batch = buffer.sample(batch_size, env=self._vec_normalize_env)
            actions_pi, log_prob = self.actor.action_log_prob(batch.observations)
            log_prob = log_prob.reshape(-1, 1)
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = torch.exp(self.log_ent_coef.detach())
                ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()
            else:
                ent_coef = self.ent_coef_tensor
            with torch.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
                next_q = torch.min(torch.cat(self.critic_target(batch.next_observations, next_actions), dim=1), 1,
                                   keepdim=True)[0]  # fmt: skip
                next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
                target_q = batch.rewards + (1 - batch.dones) * self.gamma * next_q
            current_q = self.critic(batch.observations, batch.actions)
            critic_loss = 0.5 * sum(functional.mse_loss(q, target_q) for q in current_q)
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            q_pi = torch.min(torch.cat(self.critic(batch.observations, actions_pi), dim=1), 1, keepdim=True)[0]
            scale = self.demo_bc_alpha / q_pi.abs().mean().detach().clamp(min=1e-6)
            actor_loss = scale * (ent_coef * log_prob - q_pi).mean()
            if demo_rows > 0:
                bc, kept = self.filtered_clone_loss(batch, demo_rows)
                actor_loss = actor_loss + bc
                logs["demo_bc_loss"].append(bc.item())
                logs["q_filter_share"].append(kept)
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()
            if step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
            logs["actor_loss"].append(actor_loss.item())
            logs["critic_loss"].append(critic_loss.item())
            logs["ent_coef"].append(ent_coef.item())
        self._n_updates += gradient_steps
        self.policy.set_training_mode(False)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name, values in logs.items():
            if values:
                self.logger.record(f"train/{name}", float(np.mean(values)))

    def mean_action(self, obs: Any) -> torch.Tensor:
        """The action the policy takes at ``obs`` when it acts deterministically (what cloning compares)."""
        return self.actor(obs, deterministic=True)

    def filtered_clone_loss(self, batch: Any, demo_rows: int) -> tuple[torch.Tensor, float]:
        """The Q-filtered behaviour-cloning term on the last ``demo_rows`` rows of ``batch`` (its demonstrations):
        the squared distance of the actor's mean action to the demonstrated one where the critic rates the
        demonstrated action at least as high (every row when ``demo_q_filter`` is off), and the share of rows kept."""
        observations = batch.observations
        demo_obs = {k: v[-demo_rows:] for k, v in observations.items()} if isinstance(observations, dict) else (
            observations[-demo_rows:])  # fmt: skip
        demo_actions = torch.clamp(batch.actions[-demo_rows:], -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)
        mean_actions = self.mean_action(demo_obs)
        with torch.no_grad():
            q_demo = torch.min(torch.cat(self.critic(demo_obs, demo_actions), dim=1), 1)[0]
            q_mean = torch.min(torch.cat(self.critic(demo_obs, mean_actions), dim=1), 1)[0]
            keep = (q_demo >= q_mean).float() if self.demo_q_filter else torch.ones_like(q_demo)
        return (((mean_actions - demo_actions) ** 2).sum(dim=1) * keep).mean(), keep.mean().item()

    def _train_critic_only(self, gradient_steps: int, batch_size: int) -> None:
        """SAC's update with the actor's parameters and optimizer state put back afterwards."""
        actor_params = {k: v.clone() for k, v in self.actor.state_dict().items()}
        optimizer_state = copy.deepcopy(self.actor.optimizer.state_dict())
        super().train(gradient_steps, batch_size)
        self.actor.load_state_dict(actor_params)
        self.actor.optimizer.load_state_dict(optimizer_state)

    def _clone_steps(self, gradient_steps: int, batch_size: int) -> None:
        buffer = self.replay_buffer
        steps = round(self.demo_bc_steps * gradient_steps)
        if not isinstance(buffer, _DemoMixing) or buffer.demo is None or steps < 1:
            return
        self.policy.set_training_mode(True)
        losses = []
        for _ in range(steps):
            batch = buffer.sample_demonstrations(batch_size)
            target = torch.clamp(batch.actions, -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)
            loss = torch.mean((self.mean_action(batch.observations) - target) ** 2)
            self.actor.optimizer.zero_grad()
            loss.backward()
            self.actor.optimizer.step()
            losses.append(loss.item())
        self.policy.set_training_mode(False)
        self.logger.record("train/demo_bc_loss", float(np.mean(losses)))


def set_initial_std(actor: torch.nn.Module, std: float) -> None:
    """A state-independent starting std: the log-std head's weights zeroed, its bias log(std)."""
    with torch.no_grad():
        actor.log_std.weight.zero_()
        actor.log_std.bias.fill_(float(np.log(std)))


def attach_demonstrations(model: SACWithDemos, demos: Demonstrations, config: TrainConfig) -> None:
    """The demonstrations into the model's replay buffer, ``config.demo_fraction`` of every batch."""
    space = model.observation_space
    model.replay_buffer.set_demonstrations(
        policy_inputs(demos, space),
        policy_inputs(demos, space, next_obs=True),
        demos.actions,
        demos.rewards,
        demos.terminated,
        config.demo_fraction,
    )
