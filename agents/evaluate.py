"""Run a policy for N episodes on a batched env: success rate, returns, and optionally a recorded run folder.

Episode ``k`` is always seeded with ``seed + k`` and starts in whichever simulation frees up first, so results
do not depend on how many simulations run side by side. A recorded run folder holds ``meta.json`` (written
first), ``scene.xml``, per episode ``episode_XXXX.mp4``, ``episode_XXXX.json`` and ``episode_XXXX.npz`` (written
last, so its presence means the episode is complete), and ``summary.json`` when the run ends.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np
from mujoco.batch import MODEL_FIELDS
from tqdm.auto import tqdm

from embodia.agents.policy import Policy, RandomPolicy
from embodia.envs.core.batched_env import BatchedEnv, take
from embodia.envs.record.atomic import atomic_write, write_json
from embodia.envs.record.episode import EpisodeBuffer, episode_metadata, package_versions
from embodia.envs.record.video import VideoWriter
from embodia.registration import task_entry

POLICIES = ("expert", "random")
RUN_FORMAT = "embodia.run"
RUN_SCHEMA_VERSION = 1
#: files of a run folder; any of them present means the folder holds a run
RUN_FILE_PATTERNS = ("episode_*.npz", "episode_*.mp4", "episode_*.json", "meta.json", "summary.json", "scene.xml")
#: separates the policy's random stream from the env's, which uses the episode seed itself
POLICY_STREAM = 1


def episode_stem(index: int) -> str:
    return f"episode_{index:04d}"


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
    """The policy and its ``module:Class`` name."""
    if kind == "expert":
        path = task_entry(env_id).expert
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)(num_envs), path
    if kind == "random":
        policies: list[Policy] = [RandomPolicy(1, action_dim) for _ in range(num_envs)]
        return PerSlotPolicy(policies), "embodia.agents.policy:RandomPolicy"
    raise ValueError(f"unknown policy {kind!r}; valid: {', '.join(POLICIES)}")


def policy_seed(episode_seed: int) -> int:
    return int(np.random.SeedSequence([episode_seed, POLICY_STREAM]).generate_state(1)[0])


def prepare_record_dir(record_dir: Path, overwrite: bool) -> None:
    """Refuse a folder that already holds a run, unless ``overwrite``: then remove that run's files first."""
    existing = sorted({p for pattern in RUN_FILE_PATTERNS for p in record_dir.glob(pattern)})
    if existing and not overwrite:
        raise FileExistsError(
            f"{record_dir} already holds a recorded run ({existing[0].name}, ...); "
            "choose another folder or overwrite it (overwrite=True, --overwrite)"
        )
    for path in [*existing, *record_dir.glob(".episode_*"), *record_dir.glob(".summary.json.*")]:
        path.unlink(missing_ok=True)
    record_dir.mkdir(parents=True, exist_ok=True)


def _jsonable(value: Any) -> Any:
    """Dataclasses (configs, options) as dicts; tuples become lists when written."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


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
) -> dict[str, Any]:
    """Run ``episodes`` episodes of ``policy`` on ``env_id``; return the summary (also ``summary.json``).

    ``num_envs`` simulations run side by side; ``record_dir`` records every episode (``video=False`` skips the
    MP4s, which cost most of the time); ``env_kwargs`` go to the env (task config fields and env options).
    """
    if not (isinstance(episodes, int) and episodes >= 1):
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; valid: {', '.join(POLICIES)}")
    entry = task_entry(env_id)
    num_envs = max(1, min(int(num_envs), episodes))
    kwargs = {**(env_kwargs or {}), "render_camera": render_camera, "render_size": tuple(render_size)}
    out = Path(record_dir) if record_dir is not None else None
    env = BatchedEnv(entry.task, num_envs, **kwargs)
    if out is not None:
        prepare_record_dir(out, overwrite)
    actor, policy_class = make_policy(policy, env_id, num_envs, env.controller.action_dim)
    control_hz = float(env.config.control_hz)
    if out is not None:
        write_json(out / "meta.json", run_metadata(env, env_id, kwargs, policy, policy_class, seed, episodes))
        builder = env.task.build_scene()
        builder.build()
        with atomic_write(out / "scene.xml", overwrite=overwrite, suffix=".xml") as tmp:
            tmp.write_text(builder.spec.to_xml())

    slot_episode = np.full(num_envs, -1, dtype=np.int64)  # episode index running in each slot, -1: idle
    returns = np.zeros(num_envs)
    lengths = np.zeros(num_envs, dtype=np.int64)
    failed = np.zeros(num_envs, dtype=bool)
    unstable = np.zeros(num_envs, dtype=bool)
    buffers: list[EpisodeBuffer | None] = [None] * num_envs
    videos: list[VideoWriter | None] = [None] * num_envs
    results: list[dict[str, Any] | None] = [None] * episodes
    next_episode = 0

    def start(slots: list[int]) -> tuple[Any, dict[str, Any]]:
        """Begin the next episodes in ``slots`` (which must not outnumber the episodes left)."""
        nonlocal next_episode
        indices = list(range(next_episode, next_episode + len(slots)))
        next_episode += len(slots)
        slot_episode[slots] = indices
        seeds = [seed + k for k in indices]
        env_obs, env_info = env.reset(ids=np.array(slots, dtype=np.int64), seeds=seeds)
        for slot, episode_seed in zip(slots, seeds, strict=True):
            actor.reset(np.array([slot]), seed=policy_seed(episode_seed) if policy == "random" else episode_seed)
            returns[slot], lengths[slot], failed[slot], unstable[slot] = 0.0, 0, False, False
            if out is not None:
                begin_recording(slot, episode_seed, env_obs, env_info)
        return env_obs, env_info

    def begin_recording(slot: int, episode_seed: int, env_obs: Any, env_info: dict[str, Any]) -> None:
        index = int(slot_episode[slot])
        physics = {"physics_timestep_s": float(env.model.opt.timestep), "substeps": env.sim.substeps}
        meta = episode_metadata(
            env_id, kwargs, episode_seed, policy, control_hz, episode=index, policy_class=policy_class, **physics
        )
        buffers[slot] = EpisodeBuffer(meta)
        buffers[slot].reset(take(env_obs, slot), take(env_info, slot), env.sim.state(slot), per_sim_model(env, slot))
        if video:
            videos[slot] = VideoWriter(out / f"{episode_stem(index)}.mp4", fps=control_hz, overwrite=overwrite)
            videos[slot].append(env.render(slot))

    def finish(slot: int, final_info: dict[str, Any]) -> None:
        index = int(slot_episode[slot])
        result = {
            "episode": index,
            "seed": seed + index,
            "success": bool(final_info["success"][slot]),
            "fail": bool(failed[slot]),
            "physics_unstable": bool(unstable[slot]),
            "return": float(returns[slot]),
            "length": int(lengths[slot]),
        }
        results[index] = result
        if out is not None:
            stem = episode_stem(index)
            if videos[slot] is not None:
                videos[slot].close()
                videos[slot] = None
            write_json(out / f"{stem}.json", result, overwrite=overwrite)
            buffers[slot].build().save(out / f"{stem}.npz", overwrite=overwrite)
            buffers[slot] = None

    started = time.perf_counter()
    bar = tqdm(total=episodes, desc=env_id, unit="episode", disable=not progress, dynamic_ncols=True)
    try:
        obs, info = start(list(range(num_envs)))
        while (slot_episode >= 0).any():
            action = np.asarray(actor.act(obs, info), dtype=np.float64)
            obs, reward, terminated, truncated, info = env.step(action)
            active = np.flatnonzero(slot_episode >= 0)
            returns[active] += reward[active]
            lengths[active] += 1
            failed[active] |= info["fail"][active]
            unstable[active] |= info["physics_unstable"][active]
            if out is not None:
                for slot in active:
                    step = (action[slot], reward[slot], terminated[slot], truncated[slot])
                    buffers[slot].step(*step, take(obs, slot), take(info, slot), env.sim.state(slot))
                    if videos[slot] is not None:
                        videos[slot].append(env.render(slot))
            done = [int(s) for s in active if terminated[s] or truncated[s]]
            for slot in done:
                finish(slot, info)
                slot_episode[slot] = -1  # idle until it starts another episode
            if done:
                bar.update(len(done))
                finished = [r for r in results if r is not None]
                bar.set_postfix(success=f"{np.mean([r['success'] for r in finished]):.0%}")
                restart = done[: episodes - next_episode]
                if restart:
                    obs, info = start(restart)
    finally:
        bar.close()
        for writer in videos:
            if writer is not None:
                writer.abort()
        env.close()

    summary = summarize(env_id, policy, seed, num_envs, results, time.perf_counter() - started)
    if out is not None:
        summary["record_dir"] = str(out)
        write_json(out / "summary.json", summary, overwrite=overwrite)
    return summary


def per_sim_model(env: BatchedEnv, slot: int) -> dict[str, np.ndarray]:
    """Model fields that hold per-simulation values (set at reset), for one simulation."""
    fields = {}
    for name in MODEL_FIELDS:
        values = env.sim.batch.expanded(name)
        if values is not None:
            fields[name] = np.array(values[slot])
    return fields


def run_metadata(
    env: BatchedEnv, env_id: str, env_kwargs: dict[str, Any], policy: str, policy_class: str, seed: int, episodes: int
) -> dict[str, Any]:
    """What ``meta.json`` says about a run: enough to reproduce it."""
    return {
        "format": RUN_FORMAT,
        "schema_version": RUN_SCHEMA_VERSION,
        "env_id": env_id,
        "task": task_entry(env_id).task,
        "env_kwargs": env_kwargs,
        "config": _jsonable(env.config),
        "options": _jsonable(env.options),
        "policy": policy,
        "policy_class": policy_class,
        "seed": seed,
        "episodes": episodes,
        "episode_seeds": f"seed + episode index ({seed} .. {seed + episodes - 1})",
        "num_envs": env.num_sims,
        "control_hz": float(env.config.control_hz),
        "physics_timestep_s": float(env.model.opt.timestep),
        "substeps": env.sim.substeps,
        "versions": package_versions(),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def summarize(
    env_id: str, policy: str, seed: int, num_envs: int, results: list[dict[str, Any] | None], wall_time_s: float
) -> dict[str, Any]:
    """Success rate, mean return and length over the finished episodes, with the per-episode list."""
    finished = [r for r in results if r is not None]

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in finished])) if finished else float("nan")

    return {
        "env_id": env_id,
        "policy": policy,
        "seed": seed,
        "num_envs": num_envs,
        "episodes": len(finished),
        "success_rate": mean("success"),
        "mean_return": mean("return"),
        "mean_length": mean("length"),
        "fail_rate": mean("fail"),
        "physics_unstable": int(sum(r["physics_unstable"] for r in finished)),
        "wall_time_s": round(wall_time_s, 3),
        "per_episode": finished,
    }
