"""Replay a recorded episode exactly: restore its MuJoCo states to re-render or re-observe it, or re-simulate it.

Two checks keep a recording honest. *Restoring* loads each recorded state (with the episode's per-simulation model
values and the task's per-episode draws) and recomputes the observation, which must equal the recorded one bit for
bit; frames can then be rendered from any camera, at any size and preset. *Re-simulating* starts from the first
recorded state and applies the recorded actions through the physics again; every state must come out identical.
Both need the same embodia and MuJoCo versions as the recording; other versions replay with a warning.

An episode file is untrusted data: its task must be a registered one (``TASKS``; nothing the file names is
imported), its recorded options are checked as the env's constructor checks them before anything is built, and its
model values and task draws must be ones this task itself sets, of the shapes it sets them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from mujoco.batch import MODEL_FIELDS

from embodia.envs.core.batched_env import BatchedEnv, EnvOptions, split_options, take
from embodia.envs.record.episode import (
    MAX_EPISODE_STEPS,
    DataFileError,
    Episode,
    one_line,
    package_versions,
    recorded_versions,
)
from embodia.envs.record.frames import draw_overlay, overlay_lines, tile
from embodia.envs.record.video import VideoWriter, write_gif
from embodia.envs.tasks.base import Task
from embodia.envs.tasks.registry import TASKS

#: the replay env's only simulation
SIM = 0
#: env options that change how an episode looks, not what happened; a replay may choose them freely
VIEW_OPTIONS = ("render_preset", "render_size", "render_camera", "num_threads")
#: env options that change what is observed of a state, not the state: a replay may observe the recorded states
#: through other cameras and modes (images for visuomotor learning from episodes recorded with state only)
OBSERVATION_OPTIONS = ("obs_mode", "cameras", "image_size", "depth", "segmentation", "point_cloud_size",
                       "instruction_features")  # fmt: skip


class ReplayVersionWarning(UserWarning):
    """The episode was recorded with other package versions: the replay may not be bit-exact."""


class ReplayError(DataFileError):
    """An episode that cannot be replayed (unknown task, invalid recorded options, states that do not fit)."""


def version_differences(metadata: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``package -> (recorded, installed)`` for the versions that differ (``controller``: the arm controllers'
    revision)."""
    recorded = recorded_versions(metadata)
    installed = package_versions()
    return {
        name: (recorded[name], installed[name])
        for name in installed
        if name in recorded and recorded[name] != installed[name]
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


def task_class(env_id: Any, source: str = "episode") -> type[Task]:
    """The registered task of ``env_id``. Only registered tasks: a file names its task, it never says what to
    import (an unknown id is an error, whatever else the file holds)."""
    # older files of an env made without an id name its task's class path: accepted when it is exactly a
    # registered task's (looked up among the registered classes, nothing is imported)
    paths = {f"{spec.task.__module__}:{spec.task.__name__}": name for name, spec in TASKS.items()}
    env_id = paths.get(env_id, env_id) if isinstance(env_id, str) else env_id
    if not isinstance(env_id, str) or env_id not in TASKS:
        raise ReplayError(f"{source}: episode from unknown task {env_id!r}; this embodia has: {', '.join(TASKS)}")
    return TASKS[env_id].task


def recorded_options(episode: Episode, task_cls: type[Task], source: str = "episode") -> dict[str, Any]:
    """The episode's ``env_kwargs`` without the view options, checked as the env's constructor checks them (and
    before it allocates anything): only the task's own option names, values the options accept, an episode no
    longer than its ``episode_steps``, and that no longer than ``MAX_EPISODE_STEPS``."""
    recorded = episode.metadata.get("env_kwargs", {})
    kwargs = {k: v for k, v in recorded.items() if k not in VIEW_OPTIONS}
    names = {f.name for f in dataclasses.fields(EnvOptions)} | {f.name for f in dataclasses.fields(task_cls.Config)}
    unknown = sorted(set(kwargs) - names - {"max_episode_steps"})
    if unknown:
        raise ReplayError(
            f"{source}: recorded env_kwargs hold unknown option(s) {', '.join(map(repr, unknown))} for "
            f"{task_cls.__name__}; valid: {', '.join(sorted(names))}"
        )
    try:
        _, config = split_options(task_cls, kwargs)
    except (TypeError, ValueError) as error:
        raise ReplayError(f"{source}: recorded env_kwargs are not valid ({one_line(error)})") from None
    if not 1 <= config.episode_steps <= MAX_EPISODE_STEPS:
        raise ReplayError(f"{source}: recorded episode_steps={config.episode_steps} is not 1 to {MAX_EPISODE_STEPS}")
    if episode.length > config.episode_steps:
        raise ReplayError(
            f"{source}: the episode has {episode.length} steps, more than its episode_steps={config.episode_steps}"
        )
    return kwargs


def make_replay_env(episode: Episode, source: str = "episode", **view: Any) -> BatchedEnv:
    """A one-simulation env like the recording's; ``view`` overrides render options (size, preset, camera) and
    observation options (``OBSERVATION_OPTIONS``: e.g. ``obs_mode="pixels"``, ``cameras``, ``image_size``).

    Everything taken from the file is checked first (task, options, finite states and actions, the recorded model
    values and task draws against what this task sets), so a bad file is one ``ReplayError`` naming ``source``.
    """
    unknown = sorted(set(view) - set(VIEW_OPTIONS) - set(OBSERVATION_OPTIONS))
    if unknown:
        valid = ", ".join(VIEW_OPTIONS + OBSERVATION_OPTIONS)
        raise TypeError(f"replay cannot change {', '.join(unknown)}; valid: {valid}")
    task_cls = task_class(episode.metadata.get("env_id"), source)
    kwargs = recorded_options(episode, task_cls, source)
    for name, values in (("mj_state", episode.mj_state), ("actions", episode.actions)):
        if values.size and not np.isfinite(values).all():
            row = int(np.argwhere(~np.isfinite(values.reshape(len(values), -1)))[0][0])
            raise ReplayError(f"{source}: recorded {name} row {row} holds a non-finite value; it cannot be replayed")
    warn_if_versions_differ(episode.metadata, source)
    try:
        env = BatchedEnv(task_cls, 1, **{**kwargs, **view})
    except (TypeError, ValueError) as error:
        raise ReplayError(f"{source}: cannot build its env ({one_line(error)})") from None
    try:
        _restore_episode_values(env, episode, source)
    except BaseException:
        env.close()
        raise
    return env


def _restore_episode_values(env: BatchedEnv, episode: Episode, source: str) -> None:
    """Reset like the recording, then put back its per-simulation model values and the task's draws."""
    if env.sim.batch.state.shape[1] != episode.mj_state.shape[1]:
        raise ReplayError(
            f"{source}: recorded states have {episode.mj_state.shape[1]} values, this model's have "
            f"{env.sim.batch.state.shape[1]}: the task's scene changed since the recording"
        )
    if episode.length and episode.actions.shape[1] != env.controller.action_dim:
        raise ReplayError(
            f"{source}: recorded actions have {episode.actions.shape[1]} values, this env's "
            f"{env.controller.action_dim} ({env.controller.name} layout)"
        )
    seed = episode.metadata.get("seed")
    # the recorded seed redraws what the file does not hold (the person's motion state, the safety monitor's);
    # the recorded model values and task draws are then put over the draws
    env.reset(seeds=[0 if seed is None else int(seed)])
    for name, values in episode.model.items():
        # only fields this task itself varies per simulation: others (addresses, ids) must never come from a file
        expanded = env.sim.batch.expanded(name) if name in MODEL_FIELDS else None
        if expanded is None or expanded.shape[1:] != values.shape or values.dtype.kind not in "biuf":
            raise ReplayError(f"{source}: recorded model field {name!r} {values.shape} is not one this task sets")
        env.sim.per_sim_model_field(name)[SIM] = values
    expected = env.task.episode_state(SIM)
    if set(episode.task_state) != set(expected) or any(
        episode.task_state[k].shape != v.shape for k, v in expected.items()
    ):
        found = {k: v.shape for k, v in episode.task_state.items()}
        raise ReplayError(
            f"{source}: recorded task draws {found} do not fit {type(env.task).__name__}, which draws "
            f"{ {k: v.shape for k, v in expected.items()} }"
        )
    if episode.task_state:
        env.task.restore_episode_state(SIM, episode.task_state)


def observe_episodes(episodes: Iterable[tuple[str, Episode]], **view: Any) -> Iterator[dict[str, np.ndarray]]:
    """Every episode's observations recomputed from its recorded states, (T+1, ...) per key, as an env with the
    ``view`` options observes them (e.g. camera images of episodes recorded with state only). Episodes of one task
    and options share one env: building it is the slow part."""
    env, options = None, None
    try:
        for source, episode in episodes:
            recorded = (episode.metadata.get("env_id"), episode.metadata.get("env_kwargs"))
            if env is None or recorded != options:
                if env is not None:
                    env.close()
                env, options = make_replay_env(episode, source, **view), recorded
            else:
                _restore_episode_values(env, episode, source)
            yield replayed_observations(env, episode)
    finally:
        if env is not None:
            env.close()


def restore(env: BatchedEnv, episode: Episode, row: int) -> None:
    """Load recorded state ``row`` (0: after reset, t: after step t) and compute everything derived from it."""
    env.sim.set_state(SIM, episode.mj_state[row])
    env.sim.forward(np.array([SIM]))


def observe(env: BatchedEnv) -> dict[str, np.ndarray]:
    """The observation of the current state, as the env computes it (single simulation, flat key ``flat``)."""
    obs = env.observation()
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
        if gif_path is not None and gif_frames and gif_frames[-1] is not frame:
            gif_frames.append(frame)  # every other frame, and always the episode's end
    if gif_path is not None:
        write_gif(gif_path, gif_frames, fps=fps / 2, overwrite=overwrite)
    return Path(path)
