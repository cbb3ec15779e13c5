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

from tqdm.auto import tqdm

from embodia.agents.episodes import EpisodeResult, EpisodeScheduler, check_first_seed
from embodia.agents.experts import expert_class
from embodia.agents.named_policies import POLICIES, make_policy, policy_seed
from embodia.agents.policy import Policy, class_name
from embodia.envs.core.batched_env import make_batched
from embodia.envs.record.recorder import EpisodeRecorder, VideoOptions, signal_name, stop_on_signals
from embodia.envs.record.results import summarize


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
    workers: int = 0,
    ray_address: str | None = None,
    resume: bool = False,
    actor_factory: Callable[[], Policy] | None = None,
) -> dict[str, Any]:
    """Run ``episodes`` episodes of ``policy`` on ``env_id``; return the summary (also ``summary.json``).

    ``num_envs`` simulations run side by side; ``record_dir`` records every episode (``video=False`` skips the
    MP4s, which cost most of the time; ``video_options`` chooses cameras, size, overlay, GIF); ``env_kwargs`` go
    to the env (task config fields and env options). ``actor`` replaces the named policy with a policy object
    (for example a trained one); ``policy`` then only names it in the records, and ``policy_info`` (where it
    came from) goes to ``meta.json``. ``workers``, ``ray_address``, ``resume``, ``actor_factory``: over Ray workers.
    """
    seed = check_first_seed(seed)  # like the episodes, before anything is made
    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if actor is None and actor_factory is None and policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; valid: {', '.join(POLICIES)}")
    if workers or resume:
        return _run_spread(env_id, policy, episodes, seed, num_envs, record_dir, render_camera, render_size,
                           progress, dict(env_kwargs or {}), overwrite, video, video_options, actor, actor_factory,
                           policy_info, max(workers, 1), ray_address, resume)  # fmt: skip
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


def _run_spread(
    env_id: str,
    policy: str,
    episodes: int,
    seed: int,
    num_envs: int,
    record_dir: str | Path | None,
    render_camera: str,
    render_size: tuple[int, int],
    progress: bool,
    kwargs: dict[str, Any],
    overwrite: bool,
    video: bool,
    video_options: VideoOptions | None,
    actor: Policy | None,
    actor_factory: Callable[[], Policy] | None,
    policy_info: dict[str, Any] | None,
    workers: int,
    ray_address: str | None,
    resume: bool,
) -> dict[str, Any]:
    """``run_episodes`` over ``workers`` Ray workers (``agents/distributed.py``; embedded Ray, or the cluster at
    ``ray_address``), each with ``num_envs`` simulations: the same episode files and summary. A trained policy
    comes from ``actor_factory`` (each worker loads its own). ``resume`` keeps the finished episodes of an
    interrupted recording in ``record_dir`` and runs the others. The run's files are written here.

    Long because it is the run's whole life around the workers: the folder (new, overwritten or resumed), the
    run files, the episodes already finished, the progress bar and the summary, in the order a stop must respect.
    """
    from embodia.agents import distributed
    from embodia.envs.record.atomic import write_json
    from embodia.envs.record.recorder import prepare_record_dir, write_run_files

    if actor is not None and actor_factory is None:
        raise ValueError("workers load their own policy: pass actor_factory (a trained policy's loader), not actor")
    record = Path(record_dir) if record_dir is not None else None
    if resume and record is None:
        raise ValueError("resume continues a recording: it needs record_dir")
    indices = all_indices = list(range(episodes))
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    if record is not None:
        probe = make_batched(env_id, 1, **kwargs)
        try:
            if video and video_options is None:
                video_options = VideoOptions(cameras=(render_camera,), size=tuple(render_size),
                                             preset=probe.options.render_preset)  # fmt: skip
            if resume:
                distributed.check_resumable(record, env_id, kwargs, policy)
            else:
                prepare_record_dir(record, overwrite)
            policy_class = class_name(expert_class(env_id)) if policy == "expert" else policy
            seeds = f"seed + episode index ({seed} .. {seed + episodes - 1})"
            run_info = {"policy_class": policy_class, **(policy_info or {}), "seed": seed, "episodes": episodes,
                        "workers": workers, "episode_seeds": seeds}  # fmt: skip
            write_run_files(probe, record, env_id, kwargs, policy, video_options if video else None, run_info)
        finally:
            probe.close()
        done = distributed.finished_episodes(record, indices)
        rows = [distributed.row_from_file(record, k) for k in sorted(done)]
        indices = [k for k in indices if k not in done]
    bar = ProgressBar(episodes, env_id, progress)
    bar.bar.update(len(rows))
    retried, interrupted = 0, None
    try:
        if indices:
            new_rows, retried = distributed.run_distributed(
                env_id, policy, indices, seed, workers, num_envs, record, kwargs,
                video_options if video else None, actor_factory, ray_address, bar.bar.update,
            )  # fmt: skip
            rows = sorted(rows + new_rows, key=lambda row: row["episode"])
    except KeyboardInterrupt as error:
        interrupted = signal_name(error)
        if record is not None:  # the shares stopped mid-way kept their finished episodes: the files say which
            rows = [
                distributed.row_from_file(record, k) for k in sorted(distributed.finished_episodes(record, all_indices))
            ]
        raise
    finally:
        bar.bar.close()
        extra = {"env_id": env_id, "policy": policy, "seed": seed, "num_envs": num_envs, "workers": workers}
        if interrupted is not None:
            extra["interrupted"] = interrupted
        summary = summarize(rows, **extra, wall_time_s=round(time.perf_counter() - started, 3))
        summary["retried_episodes"] = retried
        if record is not None:
            for leftover in record.glob(".episode_*"):  # a dead worker's unfinished temporary files
                leftover.unlink(missing_ok=True)
            summary = {**summary, "record_dir": str(record), "incomplete_episodes_dropped": 0}
            write_json(record / "summary.json", summary, overwrite=True)
    return summary
