"""RLPD: SAC with prior data, after Ball, Smith, Kostrikov and Levine, "Efficient Online Reinforcement Learning
with Offline Data" (ICML 2023).

The paper's three ingredients, each a setting here:
- symmetric sampling: every batch is half demonstrations, half the agent's own transitions (``demo_fraction``);
- LayerNorm in the critics, which bounds how far Q can extrapolate to actions the data does not cover (the
  failure that pulls a policy off the demonstrations while the critic is young);
- a high update-to-data ratio (``utd_ratio`` critic updates per environment step, the actor once per step) made
  stable by an ensemble of critics (``rlpd_critics``) whose target takes the minimum over a random pair.

The ensemble is evaluated as one batched matrix product per layer rather than one network after another: on two
CPU cores the critic updates are what a run's wall-clock is made of. The paper starts from scratch; ``train`` may
also start the actor from the clone of the demonstrations (``SACWithDemos.start_from_demonstrations``), so the
run's first evaluation is the BC start it must improve on, with ``actor_warmup_steps`` of critic-only updates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.sac.policies import MultiInputPolicy, SACPolicy
from torch import nn
from torch.nn import functional

from embodia.agents.learn.bc import ACTION_TARGET_LIMIT, train_bc
from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.demo_sac import SACWithDemos, attach_demonstrations, demo_buffer_class, set_initial_std

AWAC_MAX_WEIGHT = 20.0  # the largest weight an action's advantage earns in the AWAC actor loss


class EnsembleLinear(nn.Module):
    """``members`` independent linear layers applied in one batched product: (K, B, in) -> (K, B, out)."""

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)  # torch.nn.Linear's default initialisation, per member
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleLayerNorm(nn.Module):
    """LayerNorm over the features of each member, with each member's own gain and bias."""

    def __init__(self, members: int, features: int) -> None:
        super().__init__()
        self.features = features
        self.weight = nn.Parameter(torch.ones(members, 1, features))
        self.bias = nn.Parameter(torch.zeros(members, 1, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.layer_norm(x, (self.features,)) * self.weight + self.bias


class LayerNormEnsembleCritic(BaseModel):
    """``n_critics`` Q networks (linear, LayerNorm, activation per hidden layer) evaluated together.

    It answers as stable-baselines3's ``ContinuousCritic`` does (a tuple of (B, 1) estimates, ``q1_forward``), so
    SAC's own code paths, saving and loading work unchanged.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        n_critics: int = 2,
        share_features_extractor: bool = True,
    ) -> None:
        super().__init__(observation_space, action_space, features_extractor=features_extractor,
                         normalize_images=normalize_images)  # fmt: skip
        self.share_features_extractor = share_features_extractor
        self.n_critics = n_critics
        layers: list[nn.Module] = []
        width = features_dim + get_action_dim(action_space)
        for hidden in net_arch:
            layers += [EnsembleLinear(n_critics, width, hidden), EnsembleLayerNorm(n_critics, hidden), activation_fn()]
            width = hidden
        layers.append(EnsembleLinear(n_critics, width, 1))
        self.q_ensemble = nn.Sequential(*layers)

    def features(self, obs: Any) -> torch.Tensor:
        """The observation's features, for ``all_q`` of several actions in the same states (computed once)."""
        with torch.set_grad_enabled(not self.share_features_extractor and torch.is_grad_enabled()):
            return self.extract_features(obs, self.features_extractor)

    def all_q(self, obs: Any, actions: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        """(K, B, 1): every member's estimate (``features``: ``self.features(obs)``, when already computed)."""
        if features is None:
            features = self.features(obs)
        inputs = torch.cat([features, actions], dim=1)
        return self.q_ensemble(inputs.unsqueeze(0).expand(self.n_critics, -1, -1))

    def forward(self, obs: Any, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.all_q(obs, actions).unbind(0))

    def q1_forward(self, obs: Any, actions: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.all_q(obs, actions)[0]


class _RLPDPolicyParts:
    """Mixed into SAC's policies: LayerNorm ensemble critics, and two ways to keep a frozen clone (``base_actor``)
    beside the trained actor.

    - ``residual_scale`` > 0: the actor corrects the clone's action by at most ``residual_scale`` per dimension,
      ``clip(base(s) + scale * actor(s), -1, 1)``: residual RL (Johannink et al., ICRA 2019; Silver et al. 2018) in
      the bounded form of Policy Decorator (Yuan et al., ICLR 2025). While the critic is young its gradient can
      only move the action within the bound.
    - ``clone_proposals``: the clone and the actor each propose an action, for acting and for the critic's target
      (IBRL: Hu, Mirchandani and Sadigh, "Imitation Bootstrapped Reinforcement Learning", RSS 2024). IBRL takes
      the one the critics value higher; here the actor's wins only where every critic values it above what any
      critic says of the clone's. Measured on BinPicking (clone 90%): with IBRL's rule the actor, which maximises
      the critics' estimate, won half the choices while the critics could not yet rank actions (their values of
      the two differed by less than they disagreed), and success fell to 0% within 5k env steps.

    The critic, the replay buffer and the demonstrations hold the env's actions.
    """

    residual_scale: float = 0.0
    clone_proposals: bool = False

    def __init__(self, *args: Any, residual_scale: float = 0.0, clone_proposals: bool = False, **kwargs: Any) -> None:
        # before SACPolicy's constructor, which builds the networks
        self.residual_scale = float(residual_scale)
        self.clone_proposals = bool(clone_proposals)
        super().__init__(*args, **kwargs)

    @property
    def has_base(self) -> bool:
        return self.residual_scale > 0 or self.clone_proposals

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        if self.has_base:
            self.base_actor = self.make_actor()
            self.base_actor.requires_grad_(False)  # in no optimizer; saved and loaded with the policy

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "residual_scale": self.residual_scale,
                "clone_proposals": self.clone_proposals}  # fmt: skip

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> LayerNormEnsembleCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return LayerNormEnsembleCritic(**critic_kwargs).to(self.device)

    def env_action(self, obs: Any, actor_action: torch.Tensor, critic: Any = None,
                   deterministic: bool = True) -> torch.Tensor:  # fmt: skip
        """The env's action for the trained actor's output: itself, the base action corrected by it, or the
        better of it and the base's proposal by ``critic`` (the policy's own critic by default)."""
        if self.residual_scale > 0:
            with torch.no_grad():
                base = self.base_actor(obs, deterministic=True)
            return torch.clamp(base + self.residual_scale * actor_action, -1.0, 1.0)
        if self.clone_proposals:
            return self.choose(obs, actor_action, critic or self.critic, deterministic)[0]
        return actor_action

    def choose(self, obs: Any, actor_action: torch.Tensor, critic: Any,
               deterministic: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """(the chosen actions, (B, 1) True where the actor's proposal won, (K, B, 1) ``critic``'s values of the
        chosen actions) between the actor's and the clone's: the actor's only where the ensemble's lowest value of
        it is above the ensemble's highest of the clone's. The values are those the choice was made on, row for
        row what ``critic.all_q`` of the chosen actions gives, so the critic's target need not evaluate again."""
        with torch.no_grad():
            base = self.base_actor(obs, deterministic=deterministic)
            features = critic.features(obs)
            q_actor = critic.all_q(obs, actor_action, features)
            q_base = critic.all_q(obs, base, features)
            # every critic values the actor's proposal above what any critic says of the clone's
            actor_wins = q_actor.min(dim=0).values > q_base.max(dim=0).values
            chosen = torch.where(actor_wins, actor_action, base)
            return chosen, actor_wins, torch.where(actor_wins.unsqueeze(0), q_actor, q_base)

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        return self.env_action(observation, self.actor(observation, deterministic), deterministic=deterministic)


class RLPDMlpPolicy(_RLPDPolicyParts, SACPolicy):
    """SAC's MLP policy with LayerNorm ensemble critics (flat observations)."""


class RLPDMultiInputPolicy(_RLPDPolicyParts, MultiInputPolicy):
    """SAC's Dict-observation policy with LayerNorm ensemble critics."""


class RLPD(SACWithDemos):
    """SAC's update rewritten for RLPD: per call, ``gradient_steps`` critic updates on symmetric batches, with the
    target's minimum over ``target_subset`` randomly drawn members of the target ensemble; the actor and the
    entropy coefficient update once every ``utd_ratio`` critic updates, against the ensemble's mean. The actor
    waits ``actor_warmup_steps`` critic updates, and ``demo_bc_steps`` adds behaviour-cloning steps (both
    ``SACWithDemos``'s, both off in the paper's recipe). ``demo_loss: qfilter`` gives the actor TD3+BC's loss
    with the Q-filter instead (``SACWithDemos.filtered_clone_loss``): the pull that keeps a cloned start from
    collapsing while its critic is young."""

    policy_aliases = {"MlpPolicy": RLPDMlpPolicy, "MultiInputPolicy": RLPDMultiInputPolicy}
    utd_ratio: int = 1
    target_subset: int = 2
    backup_entropy: bool = True
    actor_learning_rate: float = 0.0  # 0: the critic's
    actor_loss: str = "sac"  # "sac": along the critic's gradient; "awac": advantage-weighted likelihood
    awac_beta: float = 1.0

    def use_demo_settings(self, config: TrainConfig) -> None:
        super().use_demo_settings(config)
        self.utd_ratio = config.utd_ratio
        self.target_subset = min(config.rlpd_target_subset, config.rlpd_critics)
        self.backup_entropy = config.rlpd_backup_entropy
        self.actor_learning_rate = config.actor_learning_rate
        self.actor_loss = config.rlpd_actor_loss
        self.awac_beta = config.awac_beta

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        self.policy.set_training_mode(True)
        optimizers = [self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        for group in self.actor.optimizer.param_groups:
            group["lr"] = self.actor_learning_rate or self.lr_schedule(self._current_progress_remaining)
        logs: dict[str, list[float]] = {"critic_loss": [], "actor_loss": [], "ent_coef": [], "q_mean": [],
                                        "q_filter_share": []}  # fmt: skip
        actor_steps = 0
        self._actor_share: list[float] = []
        for step in range(gradient_steps):
            batch = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            critic_loss, q_mean = self._critic_step(batch)
            logs["critic_loss"].append(critic_loss)
            logs["q_mean"].append(q_mean)
            self._n_updates += 1
            if (step + 1) % self.utd_ratio == 0 and self._n_updates > self.actor_warmup_steps:
                actor_loss, ent_coef, kept = self._actor_step(batch)
                logs["actor_loss"].append(actor_loss)
                logs["ent_coef"].append(ent_coef)
                if kept is not None:
                    logs["q_filter_share"].append(kept)
                actor_steps += 1
        self.policy.set_training_mode(False)
        if actor_steps:
            self._clone_steps(actor_steps, batch_size)
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        logs["target_actor_share"] = self._actor_share  # how often the actor's proposal beats the clone's
        for name, values in logs.items():
            if values:
                self.logger.record(f"train/{name}", float(np.mean(values)))

    def _entropy_coefficient(self) -> torch.Tensor:
        if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
            return torch.exp(self.log_ent_coef.detach())
        return self.ent_coef_tensor

    def _critic_step(self, batch: Any) -> tuple[float, float]:
        ent_coef = self._entropy_coefficient()
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.action_log_prob(batch.next_observations)
            if self.policy.clone_proposals:
                next_actions, actor_wins, next_all = self.policy.choose(
                    batch.next_observations, next_actions, self.critic_target
                )
                next_log_prob = next_log_prob.reshape(-1, 1) * actor_wins  # the clone's proposal: no entropy bonus
                self._actor_share.append(actor_wins.float().mean().item())
            else:
                next_actions = self.policy.env_action(batch.next_observations, next_actions)
                next_all = self.critic_target.all_q(batch.next_observations, next_actions)
            members = torch.randperm(next_all.shape[0])[: self.target_subset]
            next_q = next_all[members].min(dim=0).values
            if self.backup_entropy:
                next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
            target_q = batch.rewards + (1 - batch.dones) * self.gamma * next_q
        current = self.critic.all_q(batch.observations, batch.actions)
        # the members' losses summed, as SAC sums its two (each member learns at the same rate at any ensemble size)
        loss = 0.5 * ((current - target_q.unsqueeze(0)) ** 2).mean(dim=(1, 2)).sum()
        self.critic.optimizer.zero_grad()
        loss.backward()
        self.critic.optimizer.step()
        polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
        return loss.item(), current.mean().item()

    def _actor_step(self, batch: Any) -> tuple[float, float, float | None]:
        actions, log_prob = self.actor.action_log_prob(batch.observations)
        if not self.policy.clone_proposals:  # with proposals the actor learns its own action's value
            actions = self.policy.env_action(batch.observations, actions)
        log_prob = log_prob.reshape(-1, 1)
        ent_coef = self._entropy_coefficient()
        if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
            ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
            self.ent_coef_optimizer.zero_grad()
            ent_coef_loss.backward()
            self.ent_coef_optimizer.step()
        if self.actor_loss == "awac":
            loss = self._advantage_weighted_loss(batch, actions)
            self.actor.optimizer.zero_grad()
            loss.backward()
            self.actor.optimizer.step()
            return loss.item(), float(ent_coef), None
        q = self.critic.all_q(batch.observations, actions).mean(dim=0)
        loss = (ent_coef * log_prob - q).mean()
        kept = None
        demo_rows = self.demo_rows(batch)
        if self.demo_loss == "qfilter" and demo_rows > 0:
            # TD3+BC's form: the Q term normalised by its scale, the Q-filtered pull to the demonstrations added
            bc, kept = self.filtered_clone_loss(batch, demo_rows)
            loss = self.demo_bc_alpha / q.abs().mean().detach().clamp(min=1e-6) * loss + bc
        self.actor.optimizer.zero_grad()
        loss.backward()
        self.actor.optimizer.step()
        return loss.item(), float(ent_coef), kept

    def _advantage_weighted_loss(self, batch: Any, policy_actions: torch.Tensor) -> torch.Tensor:
        """AWAC's actor loss (Nair et al. 2020): the log-likelihood of the batch's own actions (demonstrated or
        collected), each weighted by exp(advantage / its batch scale * awac_beta), clipped. The actor moves only
        towards actions that were taken, never along the critic's action gradient, which a young critic gets wrong
        in a consistent direction (measured on BinPicking: the clone's actions moved by up to 0.9 of their range in
        1,000 updates at a learning rate of 1e-5, and its success fell from 90% to 0%)."""
        obs = batch.observations
        with torch.no_grad():
            features = self.critic.features(obs)
            q_taken = self.critic.all_q(obs, batch.actions, features).mean(dim=0)
            value = self.critic.all_q(obs, policy_actions.detach(), features).mean(dim=0)
            advantage = q_taken - value
            scale = advantage.std().clamp(min=1e-6)
            weights = torch.exp(self.awac_beta * advantage / scale).clamp(max=AWAC_MAX_WEIGHT)
        mean, log_std, _ = self.actor.get_action_dist_params(obs)
        distribution = self.actor.action_dist.proba_distribution(mean, log_std)
        taken = torch.clamp(batch.actions, -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)
        return -(weights.flatten() * distribution.log_prob(taken)).mean()

    def mean_action(self, obs: Any) -> torch.Tensor:
        """The trained actor's action in the env (with clone proposals: its own proposal, which is what it learns)."""
        action = self.actor(obs, deterministic=True)
        return action if self.policy.clone_proposals else self.policy.env_action(obs, action)

    def demo_rows(self, batch: Any) -> int:
        """How many rows at the end of ``batch`` are demonstrations."""
        return round(self.replay_buffer.demo_fraction * len(batch.actions)) if self.replay_buffer.demo else 0


def rlpd_options(config: TrainConfig, env: Any) -> dict[str, Any]:
    """RLPD's constructor keywords beyond SAC's: the demonstration buffer and the critic updates per vector step
    (``utd_ratio`` per environment step of every simulation)."""
    return {
        "replay_buffer_class": demo_buffer_class(env.observation_space),
        "gradient_steps": config.utd_ratio * config.num_envs * config.train_freq,
    }


def start_rlpd(model: RLPD, demos: Any, env: Any, config: TrainConfig, seed: int) -> None:
    """The demonstrations into the buffer; with ``rlpd_start: clone`` the actor is first cloned from them, or with
    a residual the base actor is the clone and the trained actor starts at a zero correction."""
    if config.rlpd_start == "scratch":
        attach_demonstrations(model, demos, config)
    elif model.policy.clone_proposals:
        model.start_from_demonstrations(demos, env, config, seed)
        model.policy.base_actor.load_state_dict(model.policy.actor.state_dict())
    elif model.policy.residual_scale > 0:
        cloned, _ = train_bc(demos, env.observation_space, env.action_space, config, seed)
        model.policy.base_actor.load_state_dict(cloned.actor.state_dict())
        actor = model.policy.actor
        actor.load_state_dict(cloned.actor.state_dict())  # the clone's features, normalisation and hidden layers
        with torch.no_grad():
            actor.mu.weight.zero_()
            actor.mu.bias.zero_()
        if config.demo_policy_std > 0:
            set_initial_std(actor, config.demo_policy_std)
        attach_demonstrations(model, demos, config)
    else:
        model.start_from_demonstrations(demos, env, config, seed)
