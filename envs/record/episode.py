"""The episode file: one compressed ``.npz`` per episode, written atomically, read back without pickle.

Why one file per episode: a crash loses at most the episode in flight, and datasets can be sliced by file.
Arrays (``T`` steps, so ``T + 1`` observations including the reset one):

- ``obs/<key>``        (T+1, ...) observations as returned by the env (``obs/flat`` for a flat observation)
- ``actions``          (T, A) the actions given to ``step`` (before the env clips them)
- ``rewards``, ``terminated``, ``truncated``  (T,)
- ``info/<name>``      (T+1,) info scalars aligned with the observations (row 0: the reset info): ``success``,
  ``fail``, the task predicates, ``physics_unstable``, ``elapsed_steps``, ``reward_terms/<term>``
- ``mj_state``         (T+1, S) the full MuJoCo state (``mjSTATE_INTEGRATION``, which includes ``ctrl``)
- ``model/<field>``    per-simulation model values set at reset (e.g. ``body_mass``), for bit-exact replay
- ``task/<name>``      the task's per-episode draws outside the MuJoCo state (``Task.episode_state_fields``)
- ``meta``             a JSON string: format, schema version, env id and kwargs, seed, versions, policy, control_hz
"""

from __future__ import annotations

import functools
import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from embodia.envs.record.atomic import atomic_write, json_default

FORMAT = "embodia.episode"
SCHEMA_VERSION = 1
#: info entries not stored per step: ``state`` is privileged and fully covered by ``mj_state``
SKIPPED_INFO = ("state",)


class EpisodeFileError(ValueError):
    """A file that is not a readable embodia episode (corrupt, truncated, or another format)."""


def package_versions() -> dict[str, str]:
    """Versions that decide whether a recording replays bit-exactly (looked up once per process)."""
    return dict(_package_versions())


@functools.lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:
    versions = {}
    for name in ("embodia", "mujoco", "numpy"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def episode_metadata(
    env_id: str,
    env_kwargs: Mapping[str, Any],
    seed: int | None,
    policy: str,
    control_hz: float,
    **extra: Any,
) -> dict[str, Any]:
    """The metadata every episode file carries; ``extra`` adds run-specific entries (episode index, ...)."""
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "env_id": env_id,
        "env_kwargs": dict(env_kwargs),
        "seed": seed,
        "policy": policy,
        "control_hz": float(control_hz),
        "versions": package_versions(),
        **extra,
    }


def to_json(value: Any) -> str:
    """Compact, key-sorted JSON for metadata stored inside a file."""
    return json.dumps(value, default=json_default, sort_keys=True)


def flatten_info(info: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Scalar info entries (per simulation) as ``name`` or ``group/name`` arrays; ``state`` is left out."""
    flat: dict[str, np.ndarray] = {}
    for key, value in info.items():
        if not prefix and key in SKIPPED_INFO:
            continue
        if isinstance(value, Mapping):
            flat.update(flatten_info(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = np.asarray(value)
    return flat


@dataclass
class Episode:
    """One recorded episode; see the module docstring for the meaning and shape of each array."""

    observations: dict[str, np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    info: dict[str, np.ndarray]
    mj_state: np.ndarray
    metadata: dict[str, Any]
    model: dict[str, np.ndarray] = field(default_factory=dict)
    task_state: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])

    def check(self) -> None:
        """Raise ValueError when the arrays disagree on the episode length."""
        steps = self.length
        per_step = {"rewards": self.rewards, "terminated": self.terminated, "truncated": self.truncated}
        per_row = {"mj_state": self.mj_state}
        per_row.update({f"obs/{k}": v for k, v in self.observations.items()})
        per_row.update({f"info/{k}": v for k, v in self.info.items()})
        for name, array in per_step.items():
            if array.shape[:1] != (steps,):
                raise ValueError(f"{name} has {array.shape[:1]} rows, expected {steps} (one per step)")
        for name, array in per_row.items():
            if array.shape[:1] != (steps + 1,):
                raise ValueError(f"{name} has {array.shape[:1]} rows, expected {steps + 1} (reset + one per step)")

    def arrays(self) -> dict[str, np.ndarray]:
        """The flat ``name -> array`` mapping stored in the file."""
        self.check()
        out = {f"obs/{k}": v for k, v in self.observations.items()}
        out.update(
            actions=self.actions,
            rewards=self.rewards,
            terminated=self.terminated,
            truncated=self.truncated,
            mj_state=self.mj_state,
        )
        out.update({f"info/{k}": v for k, v in self.info.items()})
        out.update({f"model/{k}": v for k, v in self.model.items()})
        out.update({f"task/{k}": v for k, v in self.task_state.items()})
        out["meta"] = np.array(to_json(self.metadata))
        return out

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        return save_episode(self, path, overwrite=overwrite)


class EpisodeBuffer:
    """Accumulates the steps of one episode of one simulation, in memory until the episode ends.

    Pass per-simulation values (no leading simulation axis): ``take(obs, i)``, ``take(info, i)``.
    """

    def __init__(self, metadata: Mapping[str, Any]) -> None:
        self.metadata = dict(metadata)
        self._obs: list[dict[str, np.ndarray]] = []
        self._info: list[dict[str, np.ndarray]] = []
        self._states: list[np.ndarray] = []
        self._actions: list[np.ndarray] = []
        self._rewards: list[float] = []
        self._terminated: list[bool] = []
        self._truncated: list[bool] = []
        self.model: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._actions)

    @staticmethod
    def _obs_dict(obs: Mapping[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        if isinstance(obs, Mapping):
            return {k: np.array(v) for k, v in obs.items()}
        return {"flat": np.array(obs)}

    def reset(
        self,
        obs: Mapping[str, np.ndarray] | np.ndarray,
        info: Mapping[str, Any],
        mj_state: np.ndarray,
        model: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Start the episode with the reset observation, info and state (and per-simulation model values)."""
        self._obs, self._info, self._states, self._actions = [], [], [], []
        self._rewards, self._terminated, self._truncated = [], [], []
        self.model = {k: np.array(v) for k, v in (model or {}).items()}
        self._obs.append(self._obs_dict(obs))
        self._info.append(flatten_info(info))
        self._states.append(np.array(mj_state, dtype=np.float64))

    def step(
        self,
        action: np.ndarray,
        reward: float,
        terminated: bool,
        truncated: bool,
        obs: Mapping[str, np.ndarray] | np.ndarray,
        info: Mapping[str, Any],
        mj_state: np.ndarray,
    ) -> None:
        """Record one step: the action taken and what the env returned for it."""
        if not self._obs:
            raise RuntimeError("EpisodeBuffer.step called before reset")
        self._actions.append(np.array(action, dtype=np.float64))
        self._rewards.append(float(reward))
        self._terminated.append(bool(terminated))
        self._truncated.append(bool(truncated))
        self._obs.append(self._obs_dict(obs))
        self._info.append(flatten_info(info))
        self._states.append(np.array(mj_state, dtype=np.float64))

    def build(self) -> Episode:
        if not self._obs:
            raise RuntimeError("EpisodeBuffer.build called before reset")
        return Episode(
            observations={k: np.stack([o[k] for o in self._obs]) for k in self._obs[0]},
            actions=np.stack(self._actions) if self._actions else np.zeros((0, 0)),
            rewards=np.array(self._rewards, dtype=np.float64),
            terminated=np.array(self._terminated, dtype=bool),
            truncated=np.array(self._truncated, dtype=bool),
            info={k: np.stack([i[k] for i in self._info]) for k in self._info[0]},
            mj_state=np.stack(self._states),
            metadata={**self.metadata, "length": len(self._actions)},
            model=dict(self.model),
        )


def save_episode(episode: Episode, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``episode`` to ``path`` (``.npz``) crash-safely; an existing file raises unless ``overwrite``."""
    path = Path(path)
    arrays = episode.arrays()
    with atomic_write(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def load_episode(path: str | os.PathLike) -> Episode:
    """Read an episode file; anything unreadable raises a one-line ``EpisodeFileError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such episode file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise EpisodeFileError(f"{path}: not an embodia episode file (a single array, not an archive)")
        with loaded as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        if isinstance(error, EpisodeFileError):
            raise
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise EpisodeFileError(f"{path}: not a readable episode file (corrupt or truncated: {reason})") from None
    if "meta" not in arrays:
        raise EpisodeFileError(f"{path}: not an embodia episode file (no 'meta' entry)")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as error:
        raise EpisodeFileError(f"{path}: episode metadata is not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise EpisodeFileError(f"{path}: not an embodia episode file (format {meta.get('format')!r})")
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise EpisodeFileError(
            f"{path}: episode schema version {version!r} is not supported (this embodia reads <= {SCHEMA_VERSION})"
        )
    missing = [k for k in ("actions", "rewards", "terminated", "truncated", "mj_state") if k not in arrays]
    if missing:
        raise EpisodeFileError(f"{path}: episode file lacks {', '.join(missing)}")

    def group(prefix: str) -> dict[str, np.ndarray]:
        return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

    episode = Episode(
        observations=group("obs/"),
        actions=arrays["actions"],
        rewards=arrays["rewards"],
        terminated=arrays["terminated"],
        truncated=arrays["truncated"],
        info=group("info/"),
        mj_state=arrays["mj_state"],
        metadata=meta,
        model=group("model/"),
        task_state=group("task/"),
    )
    try:
        episode.check()
    except ValueError as error:
        raise EpisodeFileError(f"{path}: inconsistent episode file ({error})") from None
    return episode
