"""One scheduler of episodes over the simulation slots of a batched env, for every caller that runs episodes.

Episode ``k`` is seeded ``seed + k`` and starts in whichever slot frees first, so an episode's result does not
depend on how many slots run side by side, nor on which other episodes run with it: a worker may run any subset
of the indices and get the same episodes. Evaluation, recorded runs, demonstration collection and DAgger differ
only in what they do around the loop, so they hook in as ``EpisodeListener``s, and where the executed action is
not the policy's (DART noise, DAgger's expert/learner mixture) through ``executed``. The loop can be run to the
end (``run``) or advanced one control step at a time (``step``), with actions from the policy or given by the
caller (a person at a teleoperation page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from embodia.agents.policy import Policy
from embodia.envs.core.batched_env import BatchedEnv, check_seed


@dataclass(frozen=True)
class EpisodeResult:
    """One finished episode: its index, seed, outcome and running totals."""

    episode: int
    seed: int
    success: bool
    fail: bool
    physics_unstable: bool
    total_reward: float
    length: int

    def as_dict(self) -> dict[str, Any]:
        """The per-episode row of ``summary.json`` (``return`` for the total reward)."""
        return {
            "episode": self.episode,
            "seed": self.seed,
            "success": self.success,
            "fail": self.fail,
            "physics_unstable": self.physics_unstable,
            "return": self.total_reward,
            "length": self.length,
        }


class EpisodeListener(Protocol):
    """What a caller does around the loop; every method is optional (see ``call``)."""

    def episode_started(self, slot: int, episode: int, seed: int, obs: Any, info: dict[str, Any]) -> None:
        """Episode ``episode`` (seed ``seed``) has just been reset in ``slot``; ``obs``/``info`` are the batch's."""

    def before_step(self, active: np.ndarray, obs: Any, label: np.ndarray, executed: np.ndarray) -> None:
        """About to step: ``label`` is the policy's action, ``executed`` what the env receives (n, action_dim)."""

    def stepped(self, active: np.ndarray, step: StepOutcome) -> None:
        """The env stepped; ``active`` are the slots that were running an episode."""

    def episode_ended(self, slot: int, result: EpisodeResult, info: dict[str, Any]) -> None:
        """The episode in ``slot`` ended (``info`` is the step's, holding its final values)."""


@dataclass(frozen=True)
class StepOutcome:
    """What ``env.step`` returned, with the label and executed actions of that step."""

    label: np.ndarray
    executed: np.ndarray
    obs: Any
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    info: dict[str, Any]


def call(listeners: Iterable[Any], method: str, *args: Any) -> None:
    """Call ``method`` on every listener that defines it."""
    for listener in listeners:
        hook = getattr(listener, method, None)
        if hook is not None:
            hook(*args)


def episode_indices(episodes: int | Sequence[int]) -> list[int]:
    """``episodes`` as a list of distinct non-negative indices (an int n means 0 .. n-1)."""
    if isinstance(episodes, (int, np.integer)) and not isinstance(episodes, bool):
        if episodes < 1:
            raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
        return list(range(int(episodes)))
    listed = isinstance(episodes, Sequence) and not isinstance(episodes, str)
    whole = listed and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in episodes)
    indices = [int(k) for k in episodes] if whole else []
    if not indices or any(k < 0 for k in indices) or len(set(indices)) != len(indices):
        raise ValueError(
            f"episodes={episodes!r}: valid are a positive integer or a non-empty list of distinct episode indices >= 0"
        )
    return indices


def check_first_seed(seed: Any) -> int:
    """A run's first seed (episode ``k`` is seeded ``seed + k``): a non-negative integer, refused with its value
    before a run creates anything (a record folder, a dataset, a training run), not at its first reset."""
    if seed is None:
        raise ValueError("seed=None: a run seeds episode k with seed + k; valid: a non-negative integer")
    check_seed(seed)
    return int(seed)


class EpisodeScheduler:
    """Runs episodes ``indices`` (seeds ``seed + k``) of ``policy`` on ``env``'s slots.

    ``policy_seed(episode_seed)`` is the seed the policy is reset with per episode (None: not reseeded);
    ``executed(label, obs, info, active)`` turns the policy's actions into those the env receives (default: the
    same). The env is not closed here: it belongs to the caller.
    """

    def __init__(
        self,
        env: BatchedEnv,
        policy: Policy | None,
        episodes: int | Sequence[int],
        seed: int = 0,
        listeners: Sequence[Any] = (),
        policy_seed: Callable[[int], int | None] = lambda episode_seed: episode_seed,
        executed: Callable[[np.ndarray, Any, dict[str, Any], np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.env, self.policy, self.seed = env, policy, check_first_seed(seed)
        self.pending = episode_indices(episodes)
        self.order = list(self.pending)  # the indices as given: the order of ``run``'s results
        self.listeners = list(listeners)
        self.policy_seed, self.executed = policy_seed, executed
        n = env.num_sims
        self.slot_episode = np.full(n, -1, dtype=np.int64)  # episode index running in each slot, -1: idle
        self.returns, self.lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
        self.failed, self.unstable = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        self.results: dict[int, EpisodeResult] = {}
        self.obs: Any = None
        self.info: dict[str, Any] = {}
        self._start(list(range(min(n, len(self.pending)))))

    @property
    def running(self) -> bool:
        return bool((self.slot_episode >= 0).any())

    @property
    def active(self) -> np.ndarray:
        return np.flatnonzero(self.slot_episode >= 0)

    def ordered_results(self) -> list[EpisodeResult]:
        """The finished episodes in the order their indices were given."""
        order = {k: i for i, k in enumerate(self.order)}
        return sorted(self.results.values(), key=lambda r: order[r.episode])

    def run(self) -> list[EpisodeResult]:
        """Step until every episode has ended; the results in the order the indices were given."""
        while self.running:
            self.step()
        return self.ordered_results()

    def step(self, action: np.ndarray | None = None) -> list[EpisodeResult]:
        """One control step of every running slot: ``action`` (n, action_dim), or the policy's when None. Returns
        the episodes that ended in it (their slots have started the next pending episodes)."""
        if not self.running:
            raise RuntimeError("every episode has ended; make a new EpisodeScheduler to run more")
        active = self.active
        if action is None:
            if self.policy is None:
                raise ValueError("this scheduler has no policy: step(action) needs an action")
            action = self.policy.act(self.obs, self.info)
        label = np.asarray(action, dtype=np.float64)
        executed = label if self.executed is None else self.executed(label, self.obs, self.info, active)
        call(self.listeners, "before_step", active, self.obs, label, executed)
        obs, reward, terminated, truncated, info = self.env.step(executed)
        self.obs, self.info = obs, info
        self.returns[active] += reward[active]
        self.lengths[active] += 1
        self.failed[active] |= info["fail"][active]
        self.unstable[active] |= info["physics_unstable"][active]
        call(self.listeners, "stepped", active, StepOutcome(label, executed, obs, reward, terminated, truncated, info))
        ended = [int(s) for s in active if terminated[s] or truncated[s]]
        finished = [self._finish(slot, info) for slot in ended]
        if ended and self.pending:
            self._start(ended[: len(self.pending)])
        return finished

    # ------------------------------------------------------------------------------------------------ internals
    def _start(self, slots: list[int]) -> None:
        """Begin the next pending episodes in ``slots`` (no more slots than pending episodes)."""
        indices, self.pending = self.pending[: len(slots)], self.pending[len(slots) :]
        seeds = [self.seed + k for k in indices]
        self.slot_episode[slots] = indices
        self.obs, self.info = self.env.reset(ids=np.array(slots, dtype=np.int64), seeds=seeds)
        for slot, k, episode_seed in zip(slots, indices, seeds, strict=True):
            if self.policy is not None:
                self.policy.reset(np.array([slot]), self.policy_seed(episode_seed))
            self.returns[slot], self.lengths[slot], self.failed[slot], self.unstable[slot] = 0.0, 0, False, False
            call(self.listeners, "episode_started", slot, k, episode_seed, self.obs, self.info)

    def _finish(self, slot: int, info: dict[str, Any]) -> EpisodeResult:
        k = int(self.slot_episode[slot])
        result = EpisodeResult(
            k,
            self.seed + k,
            bool(info["success"][slot]),
            bool(self.failed[slot]),
            bool(self.unstable[slot]),
            float(self.returns[slot]),
            int(self.lengths[slot]),
        )
        self.results[k] = result
        self.slot_episode[slot] = -1  # idle until it starts another episode
        call(self.listeners, "episode_ended", slot, result, info)
        return result
