"""One run's episodes spread over Ray workers, written exactly as the single-process run writes them.

Why Ray rather than a pool of our own: it starts embedded on one machine with nothing to set up, joins a cluster
by address when there is one, schedules across nodes and reports a worker that died; our part is only what makes
the output identical.

How the output stays identical: a share of the run is a list of episode indices. Each share runs as a Ray task in
its own batched env (``EpisodeScheduler``: episode k is seeded ``seed + k`` whatever else runs beside it) and
writes its episodes' files straight into the run's folder under the run's own numbers (``EpisodeRecorder`` with
``share_of_run``: numbered by seed). So the episode files are the same, bit for bit, for any number of workers
and any share size; the driver writes ``meta.json``, ``scene.xml`` and ``summary.json`` (episodes in order).

Faults: a share whose worker died (killed, out of memory, its node lost) is submitted again with the episodes it
had not finished (an episode is finished once its ``.npz`` exists: it is renamed into place last); the summary
counts them (``retried_episodes``). A run interrupted as a whole resumes the same way (``resume``): finished
episodes are kept and skipped. Shares are small (a few batches) so that a death costs little and the progress
bar, which counts episodes as shares report, moves steadily.

Multi-node: ``record_dir`` must be a path every node sees (a shared filesystem); each node needs embodia
installed, and MUJOCO_GL set for rendering (``egl`` on headless machines).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from embodia.envs.record.recorder import VideoOptions, episode_stem

#: a share holds this many batches of the worker's simulations at most
BATCHES_PER_SHARE = 4


class DistributedError(RuntimeError):
    """Ray is missing, or a cluster cannot be reached: one line saying what to do."""


def _ray():
    try:
        import ray
    except ImportError:
        raise DistributedError(
            "--workers needs Ray: pip install 'embodia[distributed]' (or pip install 'ray>=2.40')"
        ) from None
    return ray


def run_share(
    env_id: str,
    policy: str,
    actor_factory: Callable[[], Any] | None,
    indices: list[int],
    seed: int,
    num_envs: int,
    record_dir: str | None,
    env_kwargs: dict[str, Any],
    video_options: VideoOptions | None,
) -> list[dict[str, Any]]:
    """Run episodes ``indices`` of the run (in a Ray worker, or here); their summary rows, in index order."""
    from embodia.agents.episodes import EpisodeScheduler
    from embodia.agents.named_policies import make_policy, policy_seed
    from embodia.envs.core.batched_env import make_batched
    from embodia.envs.record.recorder import EpisodeRecorder

    # one physics thread: the task holds one CPU (a plain process takes two); the results do not depend on it, and
    # the recorded options stay the run's
    if record_dir is not None:
        discard_unfinished(Path(record_dir), indices)
    env = make_batched(env_id, max(1, min(num_envs, len(indices))), **{"num_threads": 1, **env_kwargs})
    try:
        if actor_factory is not None:
            actor = actor_factory()
        else:
            actor, _ = make_policy(policy, env_id, env.num_sims, env.controller.action_dim)
        recorder = None
        if record_dir is not None:
            recorder = EpisodeRecorder(env, record_dir, env_id, env_kwargs, policy, video_options, share_of_run=seed)
        reseed = policy_seed if policy == "random" else (lambda episode_seed: episode_seed)
        scheduler = EpisodeScheduler(env, actor, indices, seed, policy_seed=reseed)
        try:
            scheduler.run()
        finally:
            if recorder is not None:
                recorder.close()
        return [result.as_dict() for result in scheduler.ordered_results()]
    finally:
        env.close()


def finished_episodes(record_dir: Path | None, indices: list[int]) -> set[int]:
    """The indices whose episode file is in place (the recorder renames the ``.npz`` into place last)."""
    if record_dir is None:
        return set()
    return {k for k in indices if (record_dir / f"{episode_stem(k)}.npz").is_file()}


def discard_unfinished(record_dir: Path, indices: list[int]) -> None:
    """Remove what an episode about to run again left without its ``.npz`` (a worker that died, a run interrupted
    between an episode's video and its data): the episode was never complete, and running it again writes the same
    bytes. A finished episode (its ``.npz`` in place) is never touched."""
    for k in indices:
        stem = episode_stem(k)
        if (record_dir / f"{stem}.npz").is_file():
            raise FileExistsError(f"{record_dir / stem}.npz is a finished episode; it is not run again")
        for suffix in (".mp4", ".gif", ".json"):
            (record_dir / f"{stem}{suffix}").unlink(missing_ok=True)


def row_from_file(record_dir: Path, index: int) -> dict[str, Any]:
    """The summary row of a finished episode, from its file (one a dead worker finished, or a resumed run's)."""
    from embodia.envs.record.dataset import read_episode
    from embodia.envs.record.results import episode_result

    result = episode_result(read_episode(record_dir / f"{episode_stem(index)}.npz"))
    return {key: result[key] for key in ("episode", "seed", "success", "fail", "physics_unstable", "return", "length")}


def check_resumable(record_dir: Path, env_id: str, env_kwargs: dict[str, Any], policy: str) -> None:
    """A run folder to resume must hold a run of the same task, options and policy."""
    from embodia.envs.record.episode import read_json_file

    meta_path = record_dir / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{record_dir} holds no run to resume (no meta.json); start it without --resume")
    meta = read_json_file(meta_path, what="a run's meta.json")
    recorded = (meta.get("env_id"), meta.get("env_kwargs"), meta.get("policy"))
    if recorded != (env_id, env_kwargs, policy):
        raise ValueError(
            f"{record_dir} holds a run of {recorded[0]} {recorded[1]} by {recorded[2]}, not {env_id} {env_kwargs} "
            f"by {policy}; resume it with the same task, options and policy"
        )


@contextlib.contextmanager
def ray_session(workers: int, address: str | None) -> Iterator[Any]:
    """Ray, started embedded with ``workers`` CPUs or joined to the cluster at ``address``; shut down after if
    this call started it. Local workers inherit this process's environment (MUJOCO_GL); a cluster's are given it."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        if address:
            env_vars = {name: os.environ[name] for name in ("MUJOCO_GL", "PYOPENGL_PLATFORM") if name in os.environ}
            ray.init(address=address, runtime_env={"env_vars": env_vars}, log_to_driver=False)
        else:
            # "local": a new instance of our own, even when `ray start` left a cluster running on this machine
            ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False)
    except ConnectionError as error:
        raise DistributedError(f"cannot reach the Ray cluster at {address!r}: {error}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def share_size(episodes: int, workers: int, num_envs: int) -> int:
    """Episodes per share: at most ``BATCHES_PER_SHARE`` batches, and as many shares of equal size as makes every
    round give each worker one (480 episodes on 2 workers of 8: 16 shares of 30, not 15 of 32 and a last round
    one worker runs alone)."""
    rounds = math.ceil(episodes / (workers * BATCHES_PER_SHARE * num_envs))
    return max(1, math.ceil(episodes / (workers * rounds)))


def run_distributed(
    env_id: str,
    policy: str,
    indices: list[int],
    seed: int,
    workers: int,
    num_envs: int,
    record_dir: Path | None,
    env_kwargs: dict[str, Any],
    video_options: VideoOptions | None,
    actor_factory: Callable[[], Any] | None = None,
    address: str | None = None,
    on_episodes: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Run ``indices`` over at most ``workers`` Ray tasks at a time; (summary rows in index order, episodes
    retried after a worker died). ``on_episodes(n)``: n more episodes finished."""
    with ray_session(workers, address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_share)
        size = share_size(len(indices), workers, num_envs)
        waiting = [indices[start : start + size] for start in range(0, len(indices), size)]
        running: dict[Any, list[int]] = {}
        rows: dict[int, dict[str, Any]] = {}
        retried = 0
        record = str(record_dir) if record_dir is not None else None
        while waiting or running:
            while waiting and len(running) < workers:
                share = waiting.pop(0)
                ref = remote.remote(
                    env_id, policy, actor_factory, share, seed, num_envs, record, env_kwargs, video_options
                )
                running[ref] = share
            done, _ = ray.wait(list(running), num_returns=1)
            share = running.pop(done[0])
            try:
                finished = ray.get(done[0])
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OwnerDiedError):
                kept = finished_episodes(record_dir, share)  # none without a recording: the whole share runs again
                for k in sorted(kept):
                    rows[k] = row_from_file(record_dir, k)
                if on_episodes is not None and kept:
                    on_episodes(len(kept))
                left = [k for k in share if k not in kept]
                retried += len(left)
                if left:
                    waiting.insert(0, left)
                time.sleep(0.5)  # let Ray replace the worker
                continue
            for row in finished:
                rows[row["episode"]] = row
            if on_episodes is not None:
                on_episodes(len(finished))
        return [rows[k] for k in sorted(rows)], retried
