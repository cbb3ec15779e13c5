"""Replay a recorded episode exactly: restore its MuJoCo states to re-render or re-observe it, or re-simulate it.

Two checks keep a recording honest. *Restoring* loads each recorded state (with the episode's per-simulation model
values and the task's per-episode draws) and recomputes the observation, which must equal the recorded one bit for
bit; frames can then be rendered from any camera, at any size and preset. *Re-simulating* starts from the first
recorded state and applies the recorded actions through the physics again; every state must come out identical.
Both need the same embodia and MuJoCo versions as the recording; other versions replay with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embodia.envs.core.batched_env import BatchedEnv, take
from embodia.envs.record.episode import Episode, package_versions
from embodia.envs.record.frames import draw_overlay, overlay_lines, tile
from embodia.envs.record.video import VideoWriter, write_gif

#: the replay env's only simulation
SIM = 0
#: env options that change how an episode looks, not what happened; a replay may choose them freely
VIEW_OPTIONS = ("render_preset", "render_size", "render_camera", "num_threads")


class ReplayVersionWarning(UserWarning):
    """The episode was recorded with other package versions: the replay may not be bit-exact."""


class ReplayError(ValueError):
    """An episode that cannot be replayed (unknown task, states that do not fit the model)."""


def version_differences(metadata: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``package -> (recorded, installed)`` for the versions that differ."""
    recorded = metadata.get("versions") or {}
    installed = package_versions()
    return {
        name: (str(recorded[name]), installed[name])
        for name in ("embodia", "mujoco", "numpy")
        if name in recorded and str(recorded[name]) != installed[name]
    }


def warn_if_versions_differ(metadata: dict[str, Any], source: str = "episode") -> None:
    differences = version_differences(metadata)
    if differences:
        listed = ", ".join(f"{name} {old} (now {new})" for name, (old, new) in differences.items())
        warnings.warn(
            f"{source} was recorded with {listed}; the replay may differ from the recording",
            ReplayVersionWarning,
            stacklevel=3,
        )


def task_of(metadata: dict[str, Any]) -> str:
    """The ``module:Class`` that rebuilds the episode's task: from the registry, else as recorded."""
    from embodia.registration import TASKS

    env_id = metadata.get("env_id")
    if env_id in TASKS:
        return TASKS[env_id].task
    if metadata.get("task"):
        return str(metadata["task"])
    raise ReplayError(f"episode from unknown task {env_id!r}; this embodia has: {', '.join(TASKS)}")


def make_replay_env(episode: Episode, source: str = "episode", **view: Any) -> BatchedEnv:
    """A one-simulation env like the recording's; ``view`` overrides render options (size, preset, camera)."""
    unknown = sorted(set(view) - set(VIEW_OPTIONS))
    if unknown:
        raise TypeError(f"replay cannot change {', '.join(unknown)}; valid: {', '.join(VIEW_OPTIONS)}")
    warn_if_versions_differ(episode.metadata, source)
    kwargs = {k: v for k, v in (episode.metadata.get("env_kwargs") or {}).items() if k not in VIEW_OPTIONS}
    try:
        env = BatchedEnv(task_of(episode.metadata), 1, **kwargs, **view)
    except ImportError as error:
        raise ReplayError(f"{source}: its task cannot be loaded ({error})") from None
    if env.sim.batch.state.shape[1] != episode.mj_state.shape[1]:
        env.close()
        raise ReplayError(
            f"{source}: recorded states have {episode.mj_state.shape[1]} values, this model's have "
            f"{env.sim.batch.state.shape[1]}: the task's scene changed since the recording"
        )
    seed = episode.metadata.get("seed")
    env.reset(seeds=[0 if seed is None else int(seed)])  # sizes the task's per-simulation arrays
    for name, values in episode.model.items():
        env.sim.per_sim_model_field(name)[SIM] = values
    if episode.task_state:
        env.task.restore_episode_state(SIM, episode.task_state)
    return env


def restore(env: BatchedEnv, episode: Episode, row: int) -> None:
    """Load recorded state ``row`` (0: after reset, t: after step t) and compute everything derived from it."""
    env.sim.set_state(SIM, episode.mj_state[row])
    env.sim.forward(np.array([SIM]))


def observe(env: BatchedEnv) -> dict[str, np.ndarray]:
    """The observation of the current state, as the env computes it (single simulation, flat key ``flat``)."""
    ev = env.task.evaluate(env.sim)
    obs = env._observe(ev)
    return take(obs, SIM) if isinstance(obs, dict) else {"flat": np.array(obs[SIM])}


def replayed_observations(env: BatchedEnv, episode: Episode) -> dict[str, np.ndarray]:
    """Observations recomputed from every recorded state, (T+1, ...) per key like the recording's."""
    rows = []
    for row in range(episode.length + 1):
        restore(env, episode, row)
        rows.append(observe(env))
    return {key: np.stack([r[key] for r in rows]) for key in rows[0]}


@dataclass(frozen=True)
class Comparison:
    """Where a replay first departs from the recording (``None``: nowhere) and by how much at most."""

    first_mismatch: int | None
    max_abs_difference: float
    what: str

    @property
    def identical(self) -> bool:
        return self.first_mismatch is None


def compare_observations(env: BatchedEnv, episode: Episode) -> Comparison:
    """Restored observations against the recorded ones, bit for bit."""
    replayed = replayed_observations(env, episode)
    first, worst, where = None, 0.0, ""
    for key, recorded in episode.observations.items():
        if key not in replayed or replayed[key].shape != recorded.shape:
            return Comparison(0, float("inf"), f"observation {key!r} is missing or has another shape")
        differs = (replayed[key] != recorded).reshape(len(recorded), -1).any(axis=1)
        if differs.any():
            row = int(np.argmax(differs))
            if first is None or row < first:
                first, where = row, f"observation {key!r}"
            worst = max(worst, float(np.max(np.abs(replayed[key].astype(np.float64) - recorded))))
    return Comparison(first, worst, where)


def resimulate(env: BatchedEnv, episode: Episode) -> Comparison:
    """Step the recorded actions from the first recorded state; compare every state with the recording."""
    restore(env, episode, 0)
    env.controller.reset(env.sim, np.array([SIM]))
    env.elapsed[SIM] = 0
    worst = 0.0
    for step, action in enumerate(episode.actions, start=1):
        env.step(action[None])
        state, recorded = env.sim.batch.state[SIM], episode.mj_state[step]
        if not np.array_equal(state, recorded):
            worst = float(np.max(np.abs(state - recorded)))
            return Comparison(step, worst, f"MuJoCo state after step {step}")
    return Comparison(None, worst, "")


def frames(env: BatchedEnv, episode: Episode, cameras: tuple[str, ...]) -> Iterator[tuple[int, list[np.ndarray]]]:
    """``(row, [one image per camera])`` for every recorded state, rendered with the env's render options."""
    for row in range(episode.length + 1):
        restore(env, episode, row)
        yield row, [env.render(SIM, camera) for camera in cameras]


def write_replay_video(
    env: BatchedEnv,
    episode: Episode,
    path: str | Path,
    cameras: tuple[str, ...],
    overlay: bool = True,
    gif_path: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Render the episode from ``cameras`` (tiled) into an MP4 (and a GIF), with the recorded figures overlaid."""
    fps = float(episode.metadata.get("control_hz", env.config.control_hz))
    gif_frames = []
    episode_return = 0.0
    with VideoWriter(path, fps=fps, overwrite=overwrite) as video:
        for row, images in frames(env, episode, cameras):
            frame = tile(images)
            reward = None if row == 0 else float(episode.rewards[row - 1])
            episode_return += reward or 0.0
            if overlay:
                info = {k: v[row] for k, v in episode.info.items()}
                success = bool(info.get("success", False))
                frame = draw_overlay(frame, overlay_lines(row, reward, success, info, episode_return))
            video.append(frame)
            if gif_path is not None and row % 2 == 0:
                gif_frames.append(frame)
    if gif_path is not None:
        write_gif(gif_path, gif_frames, fps=fps / 2, overwrite=overwrite)
    return Path(path)
