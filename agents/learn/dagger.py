"""DAgger: behaviour cloning on the states the learner itself visits, labelled by the scripted expert.

A cloned policy drifts off the expert's state distribution and its errors compound (Ross, Gordon and Bagnell,
AISTATS 2011, "A Reduction of Imitation Learning and Structured Prediction to No-Regret Online Learning").
DAgger rolls out a mixture of expert and learner (the expert acts with probability ``beta``, per step and
simulation), asks the expert for the action on every visited state, aggregates those labels with the
demonstrations and refits. The experts are batched phase machines that read ``info["state"]``; running one
alongside the learner gives exact labels as long as its phase follows the state. Their phases advance on
state conditions and fall back to the approach when the object is lost while carried; the one case they do not
catch (believing the object released while it is elsewhere) is reset here, see ``_stale_release``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from embodia.agents.episodes import EpisodeScheduler, StepOutcome
from embodia.agents.experts import make_expert
from embodia.agents.experts.pick_place import RELEASE, PickAndPlace
from embodia.agents.learn.bc import BCHistory, train_bc
from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.dataset import Demonstrations
from embodia.agents.learn.networks import NormalizedExtractor, SB3Policy
from embodia.envs.core.batched_env import make_batched

#: relabelled rollouts are seeded from here (demonstrations use 0.., evaluations 1,000,000..)
ROLLOUT_SEED = 100_000
#: separates the expert/learner mixing stream from the env's
MIX_STREAM = 3
#: an expert that believes it released the object farther than this from the release point starts over
STALE_RELEASE_M = 0.03


@dataclass
class DAggerHistory:
    """Per iteration (0: the demonstrations alone): labelled episodes added, their success rate, BC fits."""

    beta: list[float] = field(default_factory=list)
    rollout_episodes: list[int] = field(default_factory=list)
    rollout_success: list[float] = field(default_factory=list)
    transitions: list[int] = field(default_factory=list)
    bc: list[BCHistory] = field(default_factory=list)


def _stale_release(expert: Any, state: dict[str, np.ndarray]) -> np.ndarray:
    """Simulations whose pick-and-place expert is releasing or retreating although the object is not at the
    release point: the learner dropped or misplaced it, and the expert would otherwise retreat for ever."""
    if not isinstance(expert, PickAndPlace):
        return np.zeros(len(next(iter(state.values()))), dtype=bool)
    goal = expert.goal(state)
    off = np.linalg.norm(goal.object_pos - goal.release_point, axis=1) > STALE_RELEASE_M
    return (expert.phase >= RELEASE) & off


class LabelledMixture:
    """The expert labels every step; the expert (with probability ``beta``, per step and simulation, from a
    per-episode stream) or the learner acts. Keeps each episode's (observation, label) rows and last observation."""

    def __init__(self, expert: Any, learner: Any, beta: float, episodes: int) -> None:
        self.expert, self.learner, self.beta = expert, learner, beta
        self.mix_rngs: dict[int, np.random.Generator] = {}
        self.slot_episode: dict[int, int] = {}
        self.rows: list[list[tuple[dict[str, np.ndarray], np.ndarray]]] = [[] for _ in range(episodes)]
        self.last_obs: list[dict[str, np.ndarray] | None] = [None] * episodes

    # the policy the scheduler asks for labels
    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        self.expert.reset(env_ids, seed)
        self.learner.reset(env_ids, None)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        stale = np.flatnonzero(_stale_release(self.expert, info["state"]))
        if len(stale):
            self.expert.reset(stale)
        return self.expert.act(obs, info)

    def executed(self, label: np.ndarray, obs: Any, info: dict[str, Any], active: np.ndarray) -> np.ndarray:
        own = np.asarray(self.learner.act(obs, info), dtype=np.float64)
        expert_acts = np.zeros(len(label), dtype=bool)
        for slot in active:
            expert_acts[slot] = self.mix_rngs[int(slot)].random() < self.beta
        return np.clip(np.where(expert_acts[:, None], label, own), -1.0, 1.0)

    # listener
    def episode_started(self, slot: int, episode: int, seed: int, obs: Any, info: dict[str, Any]) -> None:
        self.mix_rngs[slot] = np.random.default_rng([seed, MIX_STREAM])
        self.slot_episode[slot] = episode

    def before_step(self, active: np.ndarray, obs: Any, label: np.ndarray, executed: np.ndarray) -> None:
        for slot in active:
            self.rows[self.slot_episode[int(slot)]].append(({k: v[slot].copy() for k, v in obs.items()}, label[slot]))

    def stepped(self, active: np.ndarray, step: StepOutcome) -> None:
        for slot in active:
            self.last_obs[self.slot_episode[int(slot)]] = {k: v[slot].copy() for k, v in step.obs.items()}


def relabelled_rollouts(
    env_id: str,
    policy: Any,
    beta: float,
    episodes: int,
    seed: int,
    num_envs: int = 16,
    env_kwargs: dict[str, Any] | None = None,
) -> tuple[Demonstrations, float]:
    """``episodes`` episodes (seeds ``seed + k``) of the beta-mixture, every step labelled with the expert's
    action; returns them as demonstrations and the episodes' success rate."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta={beta!r} is the probability that the expert acts; valid: 0 <= beta <= 1")
    if episodes < 1:
        raise ValueError(f"episodes={episodes!r} must be a positive integer")
    kwargs = {**(env_kwargs or {}), "obs_mode": "dict"}
    env = make_batched(env_id, max(1, min(num_envs, episodes)), **kwargs)
    learner = policy if hasattr(policy, "act") else SB3Policy(policy)
    labeller = LabelledMixture(make_expert(env_id, env.num_sims), learner, beta, episodes)
    try:
        results = EpisodeScheduler(env, labeller, episodes, seed, [labeller], executed=labeller.executed).run()
    finally:
        env.close()
    success = np.array([r.success for r in results])
    return _as_demonstrations(env_id, labeller.rows, labeller.last_obs), float(success.mean())


def _as_demonstrations(env_id: str, rows: list, last_obs: list) -> Demonstrations:
    keys = sorted(rows[0][0][0])
    obs = {k: np.stack([o[k] for episode in rows for o, _ in episode]).astype(np.float32) for k in keys}
    following = [[o for o, _ in episode[1:]] + [last] for episode, last in zip(rows, last_obs, strict=True)]
    next_obs = {k: np.stack([o[k] for episode in following for o in episode]).astype(np.float32) for k in keys}
    actions = np.concatenate([np.stack([a for _, a in episode]) for episode in rows]).astype(np.float32)
    episode = np.concatenate([np.full(len(ep), k, dtype=np.int64) for k, ep in enumerate(rows)])
    n = len(actions)
    return Demonstrations(env_id, obs, next_obs, actions, np.zeros(n, np.float32), np.zeros(n, bool), episode,
                          len(rows), "dagger")  # fmt: skip


def merge(first: Demonstrations, second: Demonstrations) -> Demonstrations:
    """Both sets of transitions; ``second``'s episodes are numbered after ``first``'s."""
    if set(first.observations) != set(second.observations):
        raise ValueError("cannot merge demonstrations with different observation keys")
    cat = np.concatenate
    return Demonstrations(
        env_id=first.env_id,
        observations={k: cat([v, second.observations[k]]) for k, v in first.observations.items()},
        next_observations={k: cat([v, second.next_observations[k]]) for k, v in first.next_observations.items()},
        actions=cat([first.actions, second.actions]),
        rewards=cat([first.rewards, second.rewards]),
        terminated=cat([first.terminated, second.terminated]),
        episode=cat([first.episode, second.episode + first.num_episodes]),
        num_episodes=first.num_episodes + second.num_episodes,
        source=f"{first.source}+{second.source}",
    )


def train_dagger(
    env_id: str,
    demos: Demonstrations,
    observation_space: spaces.Space,
    action_space: spaces.Box,
    config: TrainConfig,
    seed: int,
    iterations: int,
    episodes_per_iteration: int,
    beta_decay: float = 0.5,
    num_envs: int = 16,
    on_iteration: Any = None,
    extractor_class: type[NormalizedExtractor] = NormalizedExtractor,
) -> tuple[Any, DAggerHistory]:
    """BC on ``demos``, then ``iterations`` rounds of relabelled rollouts (the expert acts with probability
    ``beta_decay ** i`` in round ``i`` >= 1) and refits on everything; ``on_iteration(i, policy, history)``
    reports each fit."""
    if iterations < 0:
        raise ValueError(f"iterations={iterations!r} must be >= 0")
    history = DAggerHistory()
    policy, fit = train_bc(demos, observation_space, action_space, config, seed, extractor_class=extractor_class)
    history.beta.append(1.0)
    history.rollout_episodes.append(demos.num_episodes)
    history.rollout_success.append(float("nan"))
    history.transitions.append(len(demos))
    history.bc.append(fit)
    if on_iteration is not None:
        on_iteration(0, policy, history)
    data = demos
    for i in range(1, iterations + 1):
        beta = beta_decay**i
        rollout_seed = ROLLOUT_SEED + 10_000 * seed + episodes_per_iteration * (i - 1)
        labelled, rate = relabelled_rollouts(env_id, policy, beta, episodes_per_iteration, rollout_seed, num_envs,
                                             config.env_kwargs)  # fmt: skip
        data = merge(data, labelled)
        policy, fit = train_bc(data, observation_space, action_space, config, seed, extractor_class=extractor_class)
        history.beta.append(beta)
        history.rollout_episodes.append(episodes_per_iteration)
        history.rollout_success.append(rate)
        history.transitions.append(len(data))
        history.bc.append(fit)
        if on_iteration is not None:
            on_iteration(i, policy, history)
    return policy, history
