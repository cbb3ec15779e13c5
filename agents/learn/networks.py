"""The network pieces every learner shares: an observation-normalising feature extractor, and the adapter that
lets any stable-baselines3 policy act through embodia's batched policy protocol.

Normalisation statistics live inside the policy (as buffers of the extractor), so a saved policy carries them
and behaviour cloning, SAC, TD3 and PPO all see the same inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from embodia.agents.learn.config import ensemble_decay_problem

STD_FLOOR = 1e-2  # inputs that barely vary in the statistics sample are not blown up into noise
CLIP = 10.0


def observation_size(space: spaces.Space) -> int:
    if isinstance(space, spaces.Dict):
        return sum(int(np.prod(s.shape)) for s in space.spaces.values())
    return int(np.prod(space.shape))


def flatten_batch(obs: Any) -> np.ndarray:
    """(n, D) from a Dict observation batch (sorted keys, the env's flat layout) or a flat one."""
    if isinstance(obs, dict):
        keys = sorted(obs)
        n = len(obs[keys[0]])
        return np.concatenate([np.asarray(obs[k]).reshape(n, -1) for k in keys], axis=1)
    return np.asarray(obs).reshape(len(obs), -1)


def normalisation_stats(samples: np.ndarray, mask: np.ndarray | None = None) -> dict[str, list[float]]:
    """Mean and standard deviation (floored) of (N, D) flattened observations, and the input mask (1: used),
    as lists: they are the extractor's constructor arguments, saved with the policy."""
    samples = np.asarray(samples, dtype=np.float64)
    mask = np.ones(samples.shape[1]) if mask is None else np.asarray(mask, dtype=np.float64)
    std = np.maximum(samples.std(axis=0), STD_FLOOR)
    return {"mean": samples.mean(axis=0).tolist(), "std": std.tolist(), "mask": mask.tolist()}


def input_mask(dict_space: spaces.Dict, ignored: list[str]) -> np.ndarray:
    """(D,) 1 for every flat-layout value the policy sees, 0 for the entries named in ``ignored``."""
    unknown = sorted(set(ignored) - set(dict_space.spaces))
    if unknown:
        raise ValueError(f"ignore_obs names unknown observation(s) {unknown}; valid: {sorted(dict_space.spaces)}")
    return np.concatenate(
        [np.full(int(np.prod(dict_space[k].shape)), 0.0 if k in ignored else 1.0) for k in sorted(dict_space.spaces)]
    )


class NormalizedExtractor(BaseFeaturesExtractor):
    """Concatenates the observation (Dict entries in sorted key order) and standardises it with fixed stats.

    ``running``: the stats are those of every observation merged in so far (``merge_statistics``), kept as
    buffers, so a checkpoint resumes from them and a saved policy acts with its last ones. RL from scratch starts
    from a random-action rollout, where a part resting in its bin has a height that does not vary: floored at
    ``STD_FLOOR``, a part lifted 10 cm is at the clip, and every height above looks the same to the policy.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        mean: list[float] | None = None,
        std: list[float] | None = None,
        mask: list[float] | None = None,
        running: bool = False,
    ):
        size = observation_size(observation_space)
        super().__init__(observation_space, features_dim=size)
        self.keys = sorted(observation_space.spaces) if isinstance(observation_space, spaces.Dict) else None
        mean_t = torch.zeros(size) if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.ones(size) if std is None else torch.as_tensor(std, dtype=torch.float32)
        if mean_t.shape != (size,) or std_t.shape != (size,):
            raise ValueError(f"normalisation stats have shape {tuple(mean_t.shape)}, the observation has {size} values")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)
        self.register_buffer("mask", torch.ones(size) if mask is None else torch.as_tensor(mask, dtype=torch.float32))
        self.running = bool(running)
        if self.running:  # count, mean and summed squared deviations of what has been merged, in float64
            self.register_buffer("seen_count", torch.zeros((), dtype=torch.float64))
            self.register_buffer("seen_mean", torch.zeros(size, dtype=torch.float64))
            self.register_buffer("seen_m2", torch.zeros(size, dtype=torch.float64))

    def merge_statistics(self, observations: Any) -> None:
        """Merge a batch of observations ((N, ...) arrays, a Dict's entries or a flat one) into the running stats
        (Chan, Golub and LeVeque's pairwise update) and standardise with them from now on."""
        if not self.running:
            raise RuntimeError("this extractor's statistics are fixed (running=False)")
        if self.keys is not None:
            batch = np.concatenate([np.asarray(observations[k], dtype=np.float64).reshape(len(observations[k]), -1)
                                    for k in self.keys], axis=1)  # fmt: skip
        else:
            batch = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
        n, batch_mean = float(batch.shape[0]), batch.mean(axis=0)
        mean, m2 = torch.as_tensor(batch_mean), torch.as_tensor(((batch - batch_mean) ** 2).sum(axis=0))
        seen = float(self.seen_count)
        total = seen + n
        delta = mean - self.seen_mean
        self.seen_mean += delta * (n / total)
        self.seen_m2 += m2 + delta**2 * (seen * n / total)
        self.seen_count.fill_(total)
        self.mean.copy_(self.seen_mean.float())
        self.std.copy_(torch.clamp(torch.sqrt(self.seen_m2 / total), min=STD_FLOOR).float())

    def forward(self, observations: Any) -> torch.Tensor:
        if self.keys is not None:
            x = torch.cat([observations[k].flatten(1) for k in self.keys], dim=1)
        else:
            x = observations.flatten(1)
        return torch.clamp((x - self.mean) / self.std, -CLIP, CLIP) * self.mask


#: temporal ensembling: the weight of a chunk predicted i steps before the newest one that covers this step is
#: exp(-decay * (k - 1 - i)), the oldest weighing most (ACT's m = 0.01 makes them nearly equal); the default of
#: ``SB3Policy`` and of ``bc_ensemble_decay`` (a negative decay favours the newest chunk)
ENSEMBLE_DECAY = 0.01


class SB3Policy:
    """embodia's batched policy protocol (``reset``, ``act``) around a stable-baselines3 policy, deterministic.

    ``chunk`` > 1: the policy predicts the next ``chunk`` actions at once (``bc_chunk``); each step executes the
    weighted mean of this step's action from every chunk predicted in the last ``chunk`` steps (ACT's temporal
    ensembling), so the executed actions stay smooth and a state the policy meets twice still moves on.
    """

    def __init__(self, policy: Any, chunk: int = 1, ensemble_decay: float = ENSEMBLE_DECAY) -> None:
        self.policy = policy
        self.flat = not isinstance(policy.observation_space, spaces.Dict)
        self.chunk = int(chunk)
        self.ensemble_decay = float(ensemble_decay)
        problem = ensemble_decay_problem(self.ensemble_decay, self.chunk)
        if problem:
            raise ValueError(problem)
        self._chunks: np.ndarray | None = None  # (n, chunk, chunk, A): the last chunk predictions, newest first
        self._age = np.zeros(0, dtype=np.int64)  # (n,) predictions made since the simulation's episode started

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        """Forget the chunks of the simulations starting an episode (an MLP holds nothing else)."""
        if self._chunks is not None:
            self._age[np.asarray(env_ids, dtype=np.int64)] = 0

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        if self.flat and isinstance(obs, dict):
            obs = flatten_batch(obs).astype(np.float32)
        elif isinstance(obs, dict):  # the entries it was trained on (not the task's state, for a robot-only policy)
            obs = {k: obs[k] for k in self.policy.observation_space.spaces}
        action, _ = self.policy.predict(obs, deterministic=True)
        action = np.asarray(action, dtype=np.float64)
        if self.chunk == 1:
            return action
        n, k = len(action), self.chunk
        predicted = action.reshape(n, k, -1)
        if self._chunks is None or len(self._chunks) != n:
            self._chunks = np.zeros((n, k, *predicted.shape[1:]))
            self._age = np.zeros(n, dtype=np.int64)
        self._chunks = np.concatenate([predicted[:, None], self._chunks[:, :-1]], axis=1)
        self._age += 1
        steps_ago = np.arange(k)  # chunk i was predicted i steps ago; its entry i is for this step
        valid = steps_ago[None, :] < self._age[:, None]
        weights = np.exp(-self.ensemble_decay * (k - 1 - steps_ago))[None, :] * valid
        this_step = self._chunks[:, steps_ago, steps_ago]  # (n, k, A)
        return (weights[:, :, None] * this_step).sum(axis=1) / weights.sum(axis=1, keepdims=True)
