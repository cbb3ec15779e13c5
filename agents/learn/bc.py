"""Behaviour cloning: an MLP policy fitted to demonstrated actions, saved as a stable-baselines3 SAC policy.

The network is SB3's ``SACPolicy`` (its actor: MLP, then a tanh-squashed mean), with the observation
normalisation of ``NormalizedExtractor`` computed from the demonstrations. Fitting the deterministic action
(mean squared error) of that very class is what lets ``sac+demos`` start RL from the cloned policy. Early
stopping keeps the weights with the lowest loss on held-out episodes; with DART demonstrations that loss bottoms
out after a few epochs while success keeps rising (experiments/results/learning_bc_levers.md), so it can be
switched off (``bc_early_stopping: false``: a fixed number of epochs, the last weights kept).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.sac.policies import SACPolicy

from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.dataset import Demonstrations, flatten_observations, is_image_key
from embodia.agents.learn.features import state_features, turn_targets
from embodia.agents.learn.networks import NormalizedExtractor, input_mask, normalisation_stats
from embodia.agents.learn.vision import VisualExtractor

ACTION_TARGET_LIMIT = 0.999  # tanh never reaches +-1; the clipped target keeps the loss finite-gradiented


@dataclass
class BCHistory:
    train_loss: list[float] = field(default_factory=list)
    holdout_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    hidden_state_loss: list[float] = field(default_factory=list)  # bc_aux_state's prediction error, per epoch
    turn_loss: list[float] = field(default_factory=list)  # bc_aux_turn's weighted prediction error, per epoch


def make_policy(
    observation_space: spaces.Space,
    action_space: spaces.Box,
    config: TrainConfig,
    stats: dict[str, list[float]],
    extractor_class: type[NormalizedExtractor] = NormalizedExtractor,
) -> SACPolicy:
    """The network class shared by BC and SAC: an SB3 SAC policy with the normalising extractor (or a subclass
    that appends features, e.g. ``features.YawFeaturesExtractor``)."""
    return SACPolicy(
        observation_space,
        action_space,
        lr_schedule=lambda _: config.learning_rate,
        net_arch=list(config.net_arch),
        features_extractor_class=extractor_class,
        features_extractor_kwargs=dict(stats) | extractor_options(extractor_class, config),
    )


def extractor_options(extractor_class: type, config: TrainConfig) -> dict[str, Any]:
    """The config's settings an extractor class takes besides the statistics: a visual one, its image grid (left
    out at 0, so that a policy saved before the option loads as it was)."""
    return {"grid": config.image_grid} if issubclass(extractor_class, VisualExtractor) and config.image_grid else {}


def policy_inputs(demos: Demonstrations, observation_space: spaces.Space, next_obs: bool = False) -> Any:
    """The demonstrations' observations in the policy's layout: flat (N, D) or a dict of (N, ...) arrays (images
    stay uint8: the policy scales them)."""
    obs = demos.next_observations if next_obs else demos.observations
    if isinstance(observation_space, spaces.Dict):
        return {k: obs[k] if is_image_key(k) else obs[k].astype(np.float32) for k in observation_space.spaces}
    return flatten_observations(obs)


def _rows(inputs: Any, index: np.ndarray) -> Any:
    if isinstance(inputs, dict):
        return {k: torch.as_tensor(v[index]) for k, v in inputs.items()}
    return torch.as_tensor(inputs[index])


def holdout_split(demos: Demonstrations, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of training and held-out episodes (whole episodes, at least one held out when fraction > 0)."""
    held = max(1, round(fraction * demos.num_episodes)) if fraction > 0 else 0
    held_episodes = rng.choice(demos.num_episodes, size=held, replace=False)
    is_held = np.isin(demos.episode, held_episodes)
    return np.flatnonzero(~is_held), np.flatnonzero(is_held)


def demo_stats(
    demos: Demonstrations, config: TrainConfig, observation_space: spaces.Space | None = None
) -> dict[str, list[float]]:
    """Normalisation of the state entries (of ``observation_space`` when given; images are scaled, not
    standardised) from the demonstrations, with the entries of ``config.ignore_obs`` masked out."""
    keys = observation_space.spaces if isinstance(observation_space, spaces.Dict) else demos.observations
    vectors = {k: demos.observations[k] for k in keys if not is_image_key(k)}
    space = spaces.Dict({k: spaces.Box(-np.inf, np.inf, v.shape[1:]) for k, v in vectors.items()})
    return normalisation_stats(flatten_observations(vectors), input_mask(space, list(config.ignore_obs)))


def chunk_targets(demos: Demonstrations, chunk: int) -> np.ndarray:
    """(N, chunk * A): each row's action and the ``chunk - 1`` after it in the same episode (its last action
    repeated past the episode's end: the expert holds still once done)."""
    rows = np.arange(len(demos))
    last_of_episode = np.empty(len(demos), dtype=np.int64)
    for episode in np.unique(demos.episode):
        members = np.flatnonzero(demos.episode == episode)
        last_of_episode[members] = members.max()
    ahead = np.minimum(rows[:, None] + np.arange(chunk)[None, :], last_of_episode[:, None])
    return demos.actions[ahead].reshape(len(demos), -1)


def chunk_space(action_space: spaces.Box, chunk: int) -> spaces.Box:
    """The policy's output space for ``chunk`` actions at once."""
    if chunk == 1:
        return action_space
    return spaces.Box(np.tile(action_space.low, chunk), np.tile(action_space.high, chunk), dtype=action_space.dtype)


def bc_loss(policy: SACPolicy, inputs: Any, actions: torch.Tensor) -> torch.Tensor:
    return torch.mean((policy.actor(inputs, deterministic=True) - actions) ** 2)


def hidden_state_targets(demos: Demonstrations, observation_space: spaces.Space, features: str = "") -> np.ndarray:
    """(N, D) the task's state entries the policy does not see (``task_*``), standardised, and with ``features``
    (``bc_aux_features``) those features of them, standardised too: ``bc_aux_state``'s targets."""
    hidden = sorted(k for k in demos.observations if k.startswith("task_") and k not in observation_space.spaces)
    if not hidden:
        raise ValueError("bc_aux_state needs the task's state in the demonstrations; they hold no task_* entries")
    columns = [demos.observations[k].reshape(len(demos), -1) for k in hidden]
    if features:
        derived = state_features(demos.observations, hidden, features).numpy()
        columns.append(derived.astype(np.result_type(*columns)))  # the entries' own statistics stay as they were
    values = np.concatenate(columns, axis=1)
    return ((values - values.mean(axis=0)) / (values.std(axis=0) + 1e-6)).astype(np.float32)


@dataclass
class Auxiliary:
    """A training-only linear head on the features the actor acts on, its targets (N, D) and optionally a weight
    per target value (mean 1 over the demonstrations, so the loss keeps its scale); the saved policy has no head."""

    head: torch.nn.Linear
    targets: torch.Tensor
    weights: torch.Tensor | None
    loss_weight: float

    def loss(self, features: torch.Tensor, batch: np.ndarray) -> torch.Tensor:
        error = (self.head(features) - self.targets[batch]) ** 2
        return torch.mean(error if self.weights is None else self.weights[batch] * error)


def auxiliaries_for(demos: Demonstrations, observation_space: spaces.Space, config: TrainConfig,
                    features_dim: int) -> dict[str, Auxiliary]:  # fmt: skip
    """The config's auxiliary losses by the history's name for them: ``hidden_state`` (bc_aux_state), ``turn``
    (bc_aux_turn)."""
    auxiliaries = {}
    if config.bc_aux_state > 0:
        hidden = torch.as_tensor(hidden_state_targets(demos, observation_space, config.bc_aux_features))
        head = torch.nn.Linear(features_dim, hidden.shape[1])
        auxiliaries["hidden_state"] = Auxiliary(head, hidden, None, config.bc_aux_state)
    if config.bc_aux_turn > 0:
        targets, weights = turn_targets(demos.observations, config.bc_aux_turn_scale_m)
        head = torch.nn.Linear(features_dim, targets.shape[1])
        auxiliaries["turn"] = Auxiliary(head, targets, weights / weights.mean().clamp_min(1e-12), config.bc_aux_turn)
    return auxiliaries


def losses_with_auxiliaries(
    policy: SACPolicy, auxiliaries: dict[str, Auxiliary], inputs: Any, actions: torch.Tensor, batch: np.ndarray
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The action loss and each auxiliary head's error, from one pass of the actor's features (SAC's deterministic
    action is the tanh of its mean)."""
    actor = policy.actor
    features = actor.extract_features(inputs, actor.features_extractor)
    predicted = torch.tanh(actor.mu(actor.latent_pi(features)))
    losses = {name: auxiliary.loss(features, batch) for name, auxiliary in auxiliaries.items()}
    return torch.mean((predicted - actions) ** 2), losses


def batched_loss(policy: SACPolicy, inputs: Any, targets: np.ndarray, rows: np.ndarray, batch_size: int) -> float:
    """The mean loss over ``rows``, a batch at a time (a CNN over thousands of images at once would not fit)."""
    policy.set_training_mode(False)  # no augmentation for a measurement
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            total += float(bc_loss(policy, _rows(inputs, batch), torch.as_tensor(targets[batch]))) * len(batch)
    policy.set_training_mode(True)
    return total / len(rows)


def bc_optimizer(parameters: list[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or with ``bc_weight_decay`` AdamW decaying the weight matrices and kernels (not biases or norms)."""
    if config.bc_weight_decay == 0:
        return torch.optim.Adam(parameters, lr=config.bc_learning_rate)
    decayed = [p for p in parameters if p.dim() > 1]
    kept = [p for p in parameters if p.dim() <= 1]
    groups = [{"params": decayed, "weight_decay": config.bc_weight_decay}, {"params": kept, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.bc_learning_rate)


def learning_rate_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int) -> Any:
    """``bc_lr_schedule``'s scheduler, stepped once per gradient step; None for a constant rate."""
    if config.bc_lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.bc_epochs * steps_per_epoch)
    return None


class WeightAverage:
    """An exponential moving average of a policy's weights (``bc_ema_decay``), kept in float64 beside it."""

    def __init__(self, policy: SACPolicy, decay: float) -> None:
        self.decay = decay
        self.dtypes = {k: v.dtype for k, v in policy.state_dict().items()}
        self.average = {
            k: v.detach().clone().double() if v.is_floating_point() else v.detach().clone()
            for k, v in policy.state_dict().items()
        }

    def update(self, policy: SACPolicy) -> None:
        with torch.no_grad():
            for key, value in policy.state_dict().items():
                if value.is_floating_point():
                    self.average[key].mul_(self.decay).add_(value.double(), alpha=1.0 - self.decay)
                else:  # counters: the latest
                    self.average[key].copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.to(self.dtypes[k]) for k, v in self.average.items()}


def train_bc(
    demos: Demonstrations,
    observation_space: spaces.Space,
    action_space: spaces.Box,
    config: TrainConfig,
    seed: int,
    on_epoch: Any = None,
    extractor_class: type[NormalizedExtractor] | None = None,
) -> tuple[SACPolicy, BCHistory]:
    """Fit a policy to ``demos``; ``on_epoch(epoch, train_loss, holdout_loss)`` reports progress. The extractor
    is the config's ``policy_features`` unless ``extractor_class`` is given (the RL actor it may seed uses it too)."""
    if extractor_class is None:
        from embodia.agents.learn.features import extractor_for

        extractor_class = extractor_for(config.obs_mode, config.policy_features)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    inputs = policy_inputs(demos, observation_space)
    stats = demo_stats(demos, config, observation_space)
    policy = make_policy(observation_space, chunk_space(action_space, config.bc_chunk), config, stats, extractor_class)
    policy.set_training_mode(True)
    targets = np.clip(chunk_targets(demos, config.bc_chunk), -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)
    targets = targets.astype(np.float32)
    train_rows, held_rows = holdout_split(demos, config.bc_holdout_fraction, rng)
    noise_scale = config.bc_obs_noise * torch.as_tensor(stats["std"], dtype=torch.float32)
    parameters = list(policy.actor.parameters())
    auxiliaries = auxiliaries_for(demos, observation_space, config, policy.actor.features_dim)
    for auxiliary in auxiliaries.values():
        parameters += list(auxiliary.head.parameters())
    optimizer = bc_optimizer(parameters, config)
    schedule = learning_rate_schedule(optimizer, config, -(-len(train_rows) // config.bc_batch_size))
    average = WeightAverage(policy, config.bc_ema_decay) if config.bc_ema_decay > 0 else None
    history = BCHistory()
    best_loss, best_state, stale = np.inf, copy.deepcopy(policy.state_dict()), 0
    for epoch in range(config.bc_epochs):
        order = rng.permutation(train_rows)
        losses, auxiliary_losses = [], {name: [] for name in auxiliaries}
        for start in range(0, len(order), config.bc_batch_size):
            batch = order[start : start + config.bc_batch_size]
            batch_inputs = _rows(inputs, batch)
            if config.bc_obs_noise > 0 and not isinstance(batch_inputs, dict):
                batch_inputs = batch_inputs + noise_scale * torch.randn_like(batch_inputs)
            actions = torch.as_tensor(targets[batch])
            if auxiliaries:
                loss, extra = losses_with_auxiliaries(policy, auxiliaries, batch_inputs, actions, batch)
                for name, value in extra.items():
                    auxiliary_losses[name].append(value.item())
                    loss = loss + auxiliaries[name].loss_weight * value
            else:
                loss = bc_loss(policy, batch_inputs, actions)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
            if average is not None:
                average.update(policy)
            losses.append(loss.item())
        history.train_loss.append(float(np.mean(losses)))
        for name, values in auxiliary_losses.items():
            getattr(history, f"{name}_loss").append(float(np.mean(values)))
        rows = held_rows if len(held_rows) else train_rows
        held_loss = batched_loss(policy, inputs, targets, rows, config.bc_batch_size)
        history.holdout_loss.append(held_loss)
        if on_epoch is not None:
            on_epoch(epoch, history.train_loss[-1], held_loss)
        if not config.bc_early_stopping:
            best_state, history.best_epoch = policy.state_dict(), epoch
        elif held_loss < best_loss:
            best_loss, best_state, stale, history.best_epoch = held_loss, copy.deepcopy(policy.state_dict()), 0, epoch
        else:
            stale += 1
            if stale >= config.bc_patience:
                history.stopped_early = True
                break
    policy.load_state_dict(average.state_dict() if average is not None else best_state)
    policy.set_training_mode(False)
    return policy, history
