"""Run a policy for N episodes on a batched env: success rate, returns, and optionally a recorded run folder.

Episode ``k`` is always seeded with ``seed + k`` and starts in whichever simulation frees up first, so results
do not depend on how many simulations run side by side. Recording goes through
``embodia.envs.record.recorder.EpisodeRecorder``; see there for the run folder's files.

SIGTERM stops a run as Ctrl-C does (``stop_on_signals``): the episodes in flight are dropped, the finished ones
are kept, ``summary.json`` is written (with ``interrupted``: the signal's name) and the ``KeyboardInterrupt``
(``recorder.Interrupted`` for SIGTERM) propagates to the caller.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from embodia.agents.episodes import EpisodeResult, EpisodeScheduler
from embodia.agents.experts import expert_class
from embodia.agents.policy import Policy, RandomPolicy, class_name
from embodia.envs.core.batched_env import make_batched
from embodia.envs.record.recorder import EpisodeRecorder, VideoOptions, signal_name, stop_on_signals
from embodia.envs.record.results import summarize

POLICIES = ("expert", "random")
#: separates the policy's random stream from the env's, which uses the episode seed itself
POLICY_STREAM = 1


class PerSlotPolicy:
    """One single-simulation policy per slot, each reseeded per episode, so actions ignore the batch size."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = policies

    def reset(self, env_ids: np.ndarray, seed: int | None = None) -> None:
        for slot in np.atleast_1d(env_ids):
            self.policies[int(slot)].reset(np.zeros(1, dtype=np.int64), seed)

    def act(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        return np.concatenate([policy.act(obs, info) for policy in self.policies])


def make_policy(kind: str, env_id: str, num_envs: int, action_dim: int) -> tuple[Policy, str]:
    """The policy and its ``module:Class`` name (recorded in the run's metadata; nothing is imported from it)."""
    if kind == "expert":
        expert = expert_class(env_id)
        return expert(num_envs), class_name(expert)
    if kind == "random":
        policies: list[Policy] = [RandomPolicy(1, action_dim) for _ in range(num_envs)]
        return PerSlotPolicy(policies), class_name(RandomPolicy)
    raise ValueError(f"unknown policy {kind!r}; valid: {', '.join(POLICIES)}")


def policy_seed(episode_seed: int) -> int:
    return int(np.random.SeedSequence([episode_seed, POLICY_STREAM]).generate_state(1)[0])


def _stopping_on_signals(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` run inside ``stop_on_signals()``: SIGTERM unwinds it as Ctrl-C does."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with stop_on_signals():
            return function(*args, **kwargs)

    return wrapper


class ProgressBar:
    """A tqdm bar over the episodes, with the success rate so far."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.bar = tqdm(total=total, desc=label, unit="episode", disable=not enabled, dynamic_ncols=True)
        self.successes = self.ended = 0

    def episode_ended(self, slot: int, result: EpisodeResult, info: dict[str, Any]) -> None:
        self.successes, self.ended = self.successes + result.success, self.ended + 1
        self.bar.update(1)
        self.bar.set_postfix(success=f"{self.successes / self.ended:.0%}")


@_stopping_on_signals
def run_episodes(
    env_id: str,
    policy: str = "expert",
    episodes: int = 10,
    seed: int = 0,
    num_envs: int = 1,
    record_dir: str | Path | None = None,
    render_camera: str = "front",
    render_size: tuple[int, int] = (480, 640),
    progress: bool = True,
    env_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    video: bool = True,
    video_options: VideoOptions | None = None,
    actor: Policy | None = None,
    policy_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``episodes`` episodes of ``policy`` on ``env_id``; return the summary (also ``summary.json``).

    ``num_envs`` simulations run side by side; ``record_dir`` records every episode (``video=False`` skips the
    MP4s, which cost most of the time; ``video_options`` chooses cameras, size, overlay, GIF); ``env_kwargs`` go
    to the env (task config fields and env options). ``actor`` replaces the named policy with a policy object
    (for example a trained one); ``policy`` then only names it in the records, and ``policy_info`` (where it
    came from) goes to ``meta.json``.
    """
    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if actor is None and policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; valid: {', '.join(POLICIES)}")
    num_envs = max(1, min(int(num_envs), episodes))
    kwargs = dict(env_kwargs or {})
    env = make_batched(env_id, num_envs, **kwargs)
    if actor is None:
        actor, policy_class = make_policy(policy, env_id, num_envs, env.controller.action_dim)
    else:
        policy_class = class_name(type(actor))
    recorder = None
    if record_dir is not None:
        if video and video_options is None:
            video_options = VideoOptions(
                cameras=(render_camera,), size=tuple(render_size), preset=env.options.render_preset
            )
        run_info = {"policy_class": policy_class, **(policy_info or {}), "seed": seed, "episodes": episodes}
        run_info["episode_seeds"] = f"seed + episode index ({seed} .. {seed + episodes - 1})"
        try:
            recorder = EpisodeRecorder(
                env, record_dir, env_id, kwargs, policy, video_options if video else None, overwrite, run_info
            )
        except BaseException:
            env.close()
            raise
    started, interrupted, scheduler = time.perf_counter(), None, None
    bar = ProgressBar(episodes, env_id, progress)
    try:
        reseed = policy_seed if policy == "random" else (lambda episode_seed: episode_seed)
        scheduler = EpisodeScheduler(env, actor, episodes, seed, [bar], policy_seed=reseed)
        scheduler.run()
    except KeyboardInterrupt as error:  # Ctrl-C or SIGTERM: keep what finished, say so in the summary
        interrupted = signal_name(error)
        raise
    finally:
        bar.bar.close()
        finished = [r.as_dict() for r in scheduler.ordered_results()] if scheduler is not None else []
        extra = {"env_id": env_id, "policy": policy, "seed": seed, "num_envs": num_envs}
        if interrupted is not None:
            extra["interrupted"] = interrupted
        summary = summarize(finished, **extra, wall_time_s=round(time.perf_counter() - started, 3))
        if recorder is not None:
            summary = recorder.close(summary)
        env.close()
    return summary
