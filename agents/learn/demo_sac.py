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
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from embodia.agents.learn.bc import ACTION_TARGET_LIMIT


class DemoReplayBuffer(ReplayBuffer):
    """A replay buffer that draws ``demo_fraction`` of every batch from fixed demonstration transitions."""

    demo: dict[str, np.ndarray] | None = None
    demo_fraction: float = 0.0

    def set_demonstrations(
        self,
        observations: np.ndarray,
        next_observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        fraction: float,
    ) -> None:
        if observations.shape[1:] != self.obs_shape or actions.shape[1:] != (self.action_dim,):
            raise ValueError(
                f"demonstrations have observation shape {observations.shape[1:]} and action shape "
                f"{actions.shape[1:]}; the buffer holds {self.obs_shape} and ({self.action_dim},)"
            )
        self.demo = {
            "observations": observations.astype(np.float32),
            "next_observations": next_observations.astype(np.float32),
            "actions": actions.astype(np.float32),
            "rewards": rewards.astype(np.float32).reshape(-1, 1),
            "dones": terminated.astype(np.float32).reshape(-1, 1),
        }
        self.demo_fraction = float(fraction)

    def sample_demonstrations(self, count: int) -> ReplayBufferSamples:
        index = np.random.randint(0, len(self.demo["actions"]), size=count)
        demo = self.demo
        return ReplayBufferSamples(
            observations=self.to_torch(demo["observations"][index]),
            actions=self.to_torch(demo["actions"][index]),
            next_observations=self.to_torch(demo["next_observations"][index]),
            dones=self.to_torch(demo["dones"][index]),
            rewards=self.to_torch(demo["rewards"][index]),
        )

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        if self.demo is None or self.demo_fraction <= 0.0:
            return super().sample(batch_size, env)
        count = round(self.demo_fraction * batch_size)
        own = super().sample(batch_size - count, env)
        demo = self.sample_demonstrations(count)
        return ReplayBufferSamples(
            observations=torch.cat([own.observations, demo.observations]),
            actions=torch.cat([own.actions, demo.actions]),
            next_observations=torch.cat([own.next_observations, demo.next_observations]),
            dones=torch.cat([own.dones, demo.dones]),
            rewards=torch.cat([own.rewards, demo.rewards]),
        )


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

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        if self._n_updates < self.actor_warmup_steps:
            self._train_critic_only(gradient_steps, batch_size)
            return
        super().train(gradient_steps, batch_size)
        self._clone_steps(gradient_steps, batch_size)

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
        if not isinstance(buffer, DemoReplayBuffer) or buffer.demo is None or steps < 1:
            return
        self.policy.set_training_mode(True)
        losses = []
        for _ in range(steps):
            batch = buffer.sample_demonstrations(batch_size)
            target = torch.clamp(batch.actions, -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)
            loss = torch.mean((self.actor(batch.observations, deterministic=True) - target) ** 2)
            self.actor.optimizer.zero_grad()
            loss.backward()
            self.actor.optimizer.step()
            losses.append(loss.item())
        self.policy.set_training_mode(False)
        self.logger.record("train/demo_bc_loss", float(np.mean(losses)))
