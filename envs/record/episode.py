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

Schema versions: 1 named observations with dots (``obs/robot.tcp_pos``, ``obs/camera.robot/wrist``); 2 names them
as the env does now (``robot_tcp_pos``, ``camera_robot_wrist``). Version 1 files are converted when read.

Reading treats the file as untrusted data. Nothing in it is imported, evaluated or unpickled, and the zip
directory and every ``.npy`` header are checked against the limits below *before* any array is read, so a crafted
or corrupt file costs at most what a real episode would, never what it claims. Every problem is one
``EpisodeFileError`` line naming the file.

Long because the format and its guarded reader belong in one place: every limit the writer keeps to is the one
the reader checks, and a change to one must be seen beside the other.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from embodia.envs.record import npz_writer
from embodia.envs.record.atomic import atomic_file, json_default
from embodia.envs.tasks.base import MAX_EPISODE_STEPS
from embodia.envs.tasks.instructions import MAX_INSTRUCTION_CHARS

FORMAT = "embodia.episode"
SCHEMA_VERSION = 2
#: info entries not stored per step: ``state`` is privileged and fully covered by ``mj_state``
SKIPPED_INFO = ("state", "instruction")  # the instruction is the episode's, in its metadata

# Limits of what an episode file may declare; a real episode is far below each of them.
# the longest episode is the env's own (``TaskConfig.episode_steps``): rows of per-step arrays <= it + 1
#: bytes of one row of a per-step array: the largest image the env makes (4096 x 4096 float32 depth)
MAX_ROW_BYTES = 64 * 2**20
#: bytes of an array that is not per step (``model/``, ``task/``: per-episode values)
MAX_STATIC_BYTES = 64 * 2**20
#: decompressed bytes of all arrays of a file together, and the size of the file itself
MAX_FILE_BYTES = 2 * 2**30
#: a file declaring more than ``RATIO_FLOOR_BYTES`` must be at least 1/``MAX_COMPRESSION_RATIO`` of it on disk:
#: real arrays (states, observations) deflate by 2-10x, a decompression bomb by ~1000x
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR_BYTES = 64 * 2**20
#: arrays in one file (an episode has tens), and the size of the zip's directory of them
MAX_MEMBERS = 4096
MAX_DIRECTORY_BYTES = 2**20
#: a ``.npy`` header is ~128 bytes
MAX_NPY_HEADER_BYTES = 4096
MAX_NDIM = 4
MAX_ACTION_DIM = 64
#: characters of the ``meta`` JSON (a real one has ~500) and nesting depth of any JSON a file holds
MAX_META_CHARS = 2**18
MAX_JSON_DEPTH = 16
MAX_NAME_CHARS = 256
#: zip flag bits this reader refuses: encrypted (0x1), patched data (0x20), strong encryption (0x40), masked
#: directory (0x2000)
REFUSED_ZIP_FLAGS = 0x1 | 0x20 | 0x40 | 0x2000
PER_STEP = ("rewards", "terminated", "truncated")
#: info entries that code reads as one flag or number per row
ONE_PER_ROW_INFO = ("success", "fail", "physics_unstable", "elapsed_steps")


class DataFileError(ValueError):
    """A user's data file (episode, dataset, review file) that cannot be used: one line naming it and the problem."""


class EpisodeFileError(DataFileError):
    """A file that is not a readable embodia episode (corrupt, truncated, crafted, or another format)."""


#: the entry of ``versions`` that names the arm controllers' revision (``CONTROLLER_REVISION``): a change to how an
#: action moves the arm changes every recorded trajectory while the package's version may stay the same
CONTROLLER_VERSION = "controller"
#: what a recording made before its versions held ``CONTROLLER_VERSION`` was recorded with
FIRST_CONTROLLER = "1"


def package_versions() -> dict[str, str]:
    """Versions that decide whether a recording replays bit-exactly (looked up once per process): the packages',
    and the revision of the arm controllers (``controller``)."""
    return dict(_package_versions())


@functools.lru_cache(maxsize=1)
def _package_versions() -> dict[str, str]:
    from embodia.envs.control.controllers import CONTROLLER_REVISION

    versions = {}
    for name in ("embodia", "mujoco", "numpy"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "unknown"
    versions[CONTROLLER_VERSION] = str(CONTROLLER_REVISION)
    return versions


#: the entry of a recording's ``versions`` that names the dense rewards' revision (``REWARD_REVISION``); not one of
#: ``package_versions``: a replay's states do not depend on it, a learner from the recorded rewards does
REWARD_VERSION = "rewards"


def recording_versions() -> dict[str, str]:
    """What a recording writes in its ``versions``: ``package_versions`` and the rewards' revision."""
    from embodia.envs.tasks.base import REWARD_REVISION

    return {**package_versions(), REWARD_VERSION: str(REWARD_REVISION)}


def recorded_versions(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The ``versions`` a recording's metadata names, with the controller revision of a recording made before they
    named it (the first); empty when it names none."""
    recorded = {name: str(value) for name, value in (metadata.get("versions") or {}).items()}
    if recorded:
        recorded.setdefault(CONTROLLER_VERSION, FIRST_CONTROLLER)
    return recorded


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
        "versions": recording_versions(),
        **extra,
    }


def to_json(value: Any) -> str:
    """Compact, key-sorted JSON for metadata stored inside a file."""
    return json.dumps(value, default=json_default, sort_keys=True)


def flatten_info(info: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Scalar info entries (per simulation) as ``<prefix>name`` or ``<prefix>group/name`` arrays; the top level's
    ``SKIPPED_INFO`` entries (``state``, ``instruction``) are left out. The recorder flattens every step's info
    with its ``info/`` prefix in one pass, into one dict."""
    flat: dict[str, np.ndarray] = {}
    _flatten_into(flat, info, prefix, SKIPPED_INFO)
    return flat


def _flatten_into(flat: dict[str, np.ndarray], info: Mapping[str, Any], prefix: str, skipped: tuple) -> None:
    for key, value in info.items():
        if key in skipped:
            continue
        if type(value) is np.ndarray:  # the common cases first: an array, a plain dict (an ABC check costs more)
            flat[prefix + key] = value
        elif type(value) is dict or isinstance(value, Mapping):
            _flatten_into(flat, value, prefix + key + "/", ())
        else:
            flat[prefix + key] = np.asarray(value)


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
        # in name order: the same episode makes the same file in any process (a set's order would not)
        out.update({f"model/{k}": self.model[k] for k in sorted(self.model)})
        out.update({f"task/{k}": self.task_state[k] for k in sorted(self.task_state)})
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
        self.task_state: dict[str, np.ndarray] = {}

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
        task_state: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Start the episode with the reset observation, info and state, and what a replay needs beyond the
        state: the per-simulation model values and the task's draws (``Task.episode_state``)."""
        self._obs, self._info, self._states, self._actions = [], [], [], []
        self._rewards, self._terminated, self._truncated = [], [], []
        self.model = {k: np.array(v) for k, v in (model or {}).items()}
        self.task_state = {k: np.array(v) for k, v in (task_state or {}).items()}
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
            task_state=dict(self.task_state),
        )


class EpisodeLimitWarning(UserWarning):
    """An episode written beyond what ``load_episode`` reads (kept all the same: nothing recorded is dropped)."""


def save_episode(episode: Episode, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``episode`` to ``path`` (``.npz``) crash-safely; an existing file raises unless ``overwrite``.

    An episode beyond the reading limits (e.g. hours of large pixel observations) is written with an
    ``EpisodeLimitWarning``: this embodia will refuse to read it, but the data is kept."""
    path = Path(path)
    arrays = episode.arrays()
    total = sum(a.nbytes for a in arrays.values())
    rows = max((a[:1].nbytes for a in arrays.values() if a.ndim), default=0)
    if total > MAX_FILE_BYTES or rows > MAX_ROW_BYTES or episode.length > MAX_EPISODE_STEPS:
        warnings.warn(
            f"{path}: {episode.length} steps, {total} bytes (rows up to {rows}) exceed what load_episode reads "
            f"({MAX_EPISODE_STEPS} steps, {MAX_FILE_BYTES} bytes, rows of {MAX_ROW_BYTES}); written all the same",
            EpisodeLimitWarning,
            stacklevel=2,
        )
    with atomic_file(path, overwrite=overwrite) as f:
        write_npz(f, arrays)
    return path


#: zlib's fastest level: on recorded episodes (float64 MuJoCo states, mostly) it compresses 1% less than numpy's
#: default (level 6) in three quarters of the time (BinPicking, 200 steps: 182 against 180 kB, 4.9 against 6.5 ms),
#: and the recorder compresses every episode while the env runs
COMPRESS_LEVEL = 1


def write_npz(file: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez_compressed``'s file (a zip of ``.npy`` members, deflated), at ``COMPRESS_LEVEL``."""
    npz_writer.write_npz(file, arrays, COMPRESS_LEVEL)


def load_episode(path: str | os.PathLike) -> Episode:
    """Read an episode file; anything unusable raises a one-line ``EpisodeFileError`` naming the file.

    A missing file raises ``FileNotFoundError``. The zip directory, each array's ``.npy`` header and the metadata
    are checked before any array is read (see the module docstring); version 1 files are converted to version 2.
    """
    path = Path(path)
    with open_data_file(path, "an episode file") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(64)
        if not head.startswith(b"PK\x03\x04"):
            raise not_an_episode(path, head)
        try:
            _check_zip_end(path, f, size)
            with zipfile.ZipFile(f) as archive:
                members = _members(path, archive, size)
                meta = _metadata(path, archive, members["meta"])
                _check_layout(path, members, meta)
                arrays = {name: _read(archive, m) for name, m in members.items() if name != "meta"}
        except DataFileError:
            raise
        except READ_ERRORS as error:
            raise EpisodeFileError(
                f"{path}: not a readable episode file (corrupt or truncated: {one_line(error)})"
            ) from None
    if meta["schema_version"] == 1:
        arrays = _observation_keys_v1_to_v2(path, arrays)
        meta.update(schema_version=SCHEMA_VERSION, converted_from_schema_version=1)

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
    episode.check()  # holds by the layout checks; kept as the format's one definition of consistency
    return episode


#: what can go wrong inside zipfile and numpy's .npy reader on damaged bytes (beyond the checks made here)
READ_ERRORS = (
    OSError,
    ValueError,
    TypeError,
    EOFError,
    KeyError,
    IndexError,
    OverflowError,
    RuntimeError,
    struct.error,
    zipfile.BadZipFile,
    zlib.error,
    UnicodeError,
    Warning,
)


def one_line(error: BaseException | str, limit: int | None = 300) -> str:
    """An error message on one line (numpy and zipfile messages may span several), cut after ``limit`` characters."""
    text = "; ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__
    return text[:limit] + "..." if limit is not None and len(text) > limit else text


def open_data_file(path: Path, what: str, error: type[DataFileError] = EpisodeFileError):
    """``path`` opened for reading when it is a regular file: a folder, a dangling link, a pipe (which would block)
    or a device (which would never end) is a one-line ``error``; a missing file is ``FileNotFoundError``."""
    try:
        if path.is_symlink() and not path.exists():
            raise error(f"{path}: a symbolic link to {os.readlink(path)!r}, which does not exist")
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file; expected {what}")
        if path.is_dir():
            raise error(f"{path}: a folder, not {what}")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (DataFileError, FileNotFoundError):
        raise
    except OSError as failure:
        raise error(f"{path}: cannot be read ({failure.strerror or failure})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path}: not a regular file (a pipe, socket or device), not {what}")
    return os.fdopen(fd, "rb")


#: the JSON files of a run folder, which people pass to ``replay`` in place of an episode
RUN_JSON = {"summary.json": "the run's summary (summary.json)", "meta.json": "the run's metadata (meta.json)"}


def not_an_episode(path: Path, head: bytes) -> EpisodeFileError:
    """Say what the file is instead, and which file to pass."""
    if not head:
        return EpisodeFileError(f"{path}: an empty file (0 bytes), not an episode file")
    sibling = path.with_suffix(".npz")
    hint = f"; pass {sibling} (the episode file beside it)" if sibling != path and sibling.is_file() else ""
    if path.suffix == ".json" or head.lstrip()[:1] in (b"{", b"["):
        what = RUN_JSON.get(path.name, "a JSON file")
        if path.name.startswith("episode_") and path.suffix == ".json":
            what = f"the JSON summary (sidecar) of {sibling.name}"
        if not hint:
            first = next(iter(sorted(path.parent.glob("episode_*.npz"))), None)
            hint = f"; pass an episode file of the run, e.g. {first}" if first else "; pass an episode_XXXX.npz file"
        return EpisodeFileError(f"{path}: {what}, not an episode file{hint}")
    if head.startswith(b"\x93NUMPY"):
        return EpisodeFileError(f"{path}: a single .npy array, not an episode file (an .npz archive of arrays)")
    if path.suffix in (".mp4", ".gif"):
        return EpisodeFileError(f"{path}: a video, not an episode file{hint or '; pass an episode_XXXX.npz file'}")
    return EpisodeFileError(f"{path}: not an episode file (not a zip archive; episode files are .npz){hint}")


def _check_zip_end(path: Path, f: Any, size: int) -> None:
    """The zip's end record, read before ``zipfile`` reads the directory it points to (a huge one costs memory)."""
    if size > MAX_FILE_BYTES:
        raise EpisodeFileError(f"{path}: {size} bytes, more than an episode file may hold ({MAX_FILE_BYTES})")
    tail_size = min(size, 22 + 65535 + 20)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise EpisodeFileError(f"{path}: not a readable episode file (no zip directory at its end: truncated?)")
    entries, directory_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF or tail[max(at - 20, 0) : at].startswith(b"PK\x06\x07"):
        raise EpisodeFileError(f"{path}: a ZIP64 archive; episode files are plain zip archives")
    if entries > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise EpisodeFileError(
            f"{path}: its zip directory lists {entries} entries in {directory_bytes} bytes; an episode file has "
            f"at most {MAX_MEMBERS} entries in {MAX_DIRECTORY_BYTES} bytes"
        )
    f.seek(0)


@dataclass(frozen=True)
class _Member:
    """A zip entry and what its ``.npy`` header declares, known before its data is read."""

    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __str__(self) -> str:
        return f"{self.dtype} {self.shape}"


def _members(path: Path, archive: zipfile.ZipFile, size: int) -> dict[str, _Member]:
    """Every entry's name, compression and header, checked against the limits; nothing is decompressed but headers."""
    infos = archive.infolist()
    if "meta.npy" not in {info.filename for info in infos}:
        raise EpisodeFileError(f"{path}: not an embodia episode file (no 'meta' entry)")
    if len(infos) > MAX_MEMBERS:
        raise EpisodeFileError(f"{path}: {len(infos)} zip entries; an episode file has at most {MAX_MEMBERS}")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_FILE_BYTES:
        raise EpisodeFileError(
            f"{path}: its arrays declare {declared} bytes, more than an episode file may hold ({MAX_FILE_BYTES})"
        )
    if declared > RATIO_FLOOR_BYTES and declared > MAX_COMPRESSION_RATIO * size:
        raise EpisodeFileError(
            f"{path}: its arrays declare {declared} bytes in a {size}-byte file, compressed {declared / size:.0f}x "
            f"(real episodes compress far less than {MAX_COMPRESSION_RATIO}x): refused as a decompression bomb"
        )
    members: dict[str, _Member] = {}
    for info in infos:
        where = f"{path}: zip entry {info.filename!r}"
        if not info.filename.endswith(".npy"):
            raise EpisodeFileError(f"{where} is not a .npy array; an episode file holds only .npy arrays")
        name = info.filename[: -len(".npy")]
        if name in members:
            raise EpisodeFileError(f"{where} appears twice")
        if info.flag_bits & REFUSED_ZIP_FLAGS:
            raise EpisodeFileError(
                f"{where} is encrypted or patched (zip flags {info.flag_bits:#06x}); episode files are not"
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise EpisodeFileError(
                f"{where} uses zip compression method {info.compress_type}; episode files use only stored (0) "
                "or deflate (8)"
            )
        if info.compress_size > size:
            raise EpisodeFileError(f"{where} claims {info.compress_size} bytes, more than the whole file ({size})")
        _check_name(path, name)
        members[name] = _header(path, archive, info, name)
    return members


#: entries every episode file has, and the groups of named entries
FIXED_ENTRIES = ("meta", "actions", "rewards", "terminated", "truncated", "mj_state")
GROUPS = ("obs/", "info/", "model/", "task/")


def _check_name(path: Path, name: str) -> None:
    group = next((g for g in GROUPS if name.startswith(g)), None)
    if name in FIXED_ENTRIES or (group and name != group and len(name) <= MAX_NAME_CHARS and name.isprintable()):
        return
    valid = ", ".join(FIXED_ENTRIES) + ", " + ", ".join(f"{g}<name>" for g in GROUPS)
    raise EpisodeFileError(f"{path}: unexpected entry {name[:MAX_NAME_CHARS]!r}; an episode file holds {valid}")


class _HeaderReader:
    """The first bytes of a zip entry, for numpy's header parser: a header claiming more is an error, not a read."""

    def __init__(self, entry: Any, limit: int) -> None:
        self.entry, self.limit, self.used = entry, limit, 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or self.used + size > self.limit:
            raise ValueError(f"an array header longer than {self.limit} bytes")
        data = self.entry.read(size)
        self.used += len(data)
        return data


#: dtype kinds by what they hold, for messages
DTYPE_WORDS = {
    "b": "booleans",
    "i": "integers",
    "u": "integers",
    "f": "floats",
    "c": "complex numbers",
    "U": "strings",
    "S": "bytes",
    "O": "Python objects (pickled data, never loaded)",
    "M": "datetimes",
    "m": "time deltas",
    "V": "structured records",
}


def _header(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> _Member:
    """The entry's ``.npy`` header (and nothing else), checked: plain numbers of a sane shape, sized as the zip says."""
    where = f"{path}: array {name!r}"
    with archive.open(info) as entry, warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy repairs Python 2 headers with a warning; this format never had them
        reader = _HeaderReader(entry, MAX_NPY_HEADER_BYTES)
        version = npy_format.read_magic(reader)
        if version not in ((1, 0), (2, 0)):
            raise EpisodeFileError(f"{where}: .npy format version {version}; episode files use 1.0 or 2.0")
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        try:
            shape, _, dtype = read_header(reader, max_header_size=MAX_NPY_HEADER_BYTES)
        except READ_ERRORS:
            raise
        except Exception as error:  # numpy parses the header text with Python's own parser: SyntaxError, TokenError
            raise EpisodeFileError(f"{where}: its .npy header is not readable ({one_line(error)})") from None
        header_bytes = reader.used
    expected = "a JSON string" if name == "meta" else "booleans, integers or floats"
    plain = dtype.kind == "U" if name == "meta" else dtype.kind in "biuf"
    if not plain or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise EpisodeFileError(
            f"{where} holds {DTYPE_WORDS.get(dtype.kind, dtype.kind)} ({dtype.str}); expected {expected}"
        )
    if len(shape) > MAX_NDIM or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise EpisodeFileError(f"{where} has shape {shape}; expected at most {MAX_NDIM} non-negative sizes")
    member = _Member(info, dtype, tuple(shape))
    if header_bytes + member.nbytes != info.file_size:
        raise EpisodeFileError(
            f"{where}: its header declares {member.nbytes} bytes ({member}), its zip entry holds "
            f"{info.file_size - header_bytes}"
        )
    return member


def _read(archive: zipfile.ZipFile, member: _Member) -> np.ndarray:
    """One array, of the size its (checked) header declares; zipfile checks the data's CRC at the end."""
    with archive.open(member.info) as entry:
        return npy_format.read_array(entry, allow_pickle=False, max_header_size=MAX_NPY_HEADER_BYTES)


def _metadata(path: Path, archive: zipfile.ZipFile, member: _Member) -> dict[str, Any]:
    if member.shape != () or member.dtype.itemsize > 4 * MAX_META_CHARS:
        raise EpisodeFileError(
            f"{path}: 'meta' must be one JSON string of at most {MAX_META_CHARS} characters, got {member}"
        )
    try:
        meta = parse_json(str(_read(archive, member).item()))
    except JSONError as error:
        raise EpisodeFileError(f"{path}: episode metadata is not usable ({error})") from None
    return check_metadata(path, meta)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def is_option_value(value: Any) -> bool:
    """A JSON number, string, boolean or null, or a list of them (or of such lists): what an env option takes."""
    if isinstance(value, list):
        return all(is_option_value(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def check_metadata(path: Path, meta: Any) -> dict[str, Any]:
    """The metadata's fields, each of its type, so that no reader meets a string where a number goes."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = f"format {meta.get('format')!r}" if isinstance(meta, dict) else f"metadata is a JSON {json_type(meta)}"
        raise EpisodeFileError(f"{path}: not an embodia episode file ({found})")
    version = meta.get("schema_version")
    if not is_int(version) or not 1 <= version <= SCHEMA_VERSION:
        raise EpisodeFileError(
            f"{path}: episode schema version {version!r} is not supported (this embodia reads 1 to {SCHEMA_VERSION})"
        )

    def bad(key: str, expected: str) -> EpisodeFileError:
        value = repr(meta[key]) if not isinstance(meta[key], (dict, list)) else f"a JSON {json_type(meta[key])}"
        return EpisodeFileError(f"{path}: metadata {key!r} must be {expected}, got {value[:80]}")

    env_id = meta.get("env_id")
    if not isinstance(env_id, str) or not 0 < len(env_id) <= MAX_NAME_CHARS:
        raise EpisodeFileError(
            f"{path}: metadata 'env_id' must be a task id such as 'embodia/Reach-v0', got {env_id!r}"
        )
    kwargs = meta.setdefault("env_kwargs", {})
    if not isinstance(kwargs, dict):
        raise bad("env_kwargs", "a JSON object of option: value")
    for name, value in kwargs.items():
        if not is_option_value(value):
            raise EpisodeFileError(
                f"{path}: metadata env_kwargs[{name!r}] must be a number, string, boolean, null or a list of them, "
                f"got a JSON {json_type(value)}"
            )
    checks = {
        "seed": (lambda v: v is None or (is_int(v) and v >= 0), "null or a non-negative integer"),
        "episode": (lambda v: v is None or (is_int(v) and v >= 0), "null or a non-negative integer"),
        "length": (lambda v: is_int(v) and v >= 0, "a non-negative integer"),
        "control_hz": (lambda v: is_number(v) and math.isfinite(v) and v > 0, "a positive number"),
        "policy": (lambda v: isinstance(v, str), "a string"),
        "task": (lambda v: isinstance(v, str), "a string"),
        "instruction": (
            lambda v: isinstance(v, str) and len(v) <= MAX_INSTRUCTION_CHARS,
            f"a string of at most {MAX_INSTRUCTION_CHARS} characters",
        ),
        "versions": (
            lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
            "a JSON object of package: version string",
        ),
    }
    for key, (valid, expected) in checks.items():
        if key in meta and not valid(meta[key]):
            raise bad(key, expected)
    return meta


def _check_layout(path: Path, members: dict[str, _Member], meta: dict[str, Any]) -> None:
    """Shapes and dtypes from the headers: one row per step or per observation, within the limits."""
    missing = [name for name in FIXED_ENTRIES if name not in members]
    if missing:
        raise EpisodeFileError(f"{path}: episode file lacks {', '.join(missing)}")
    actions = members["actions"]
    if len(actions.shape) != 2 or actions.dtype.kind != "f":
        raise EpisodeFileError(f"{path}: 'actions' must be a 2-D float array (steps, action size), got {actions}")
    steps, size = actions.shape
    if steps > MAX_EPISODE_STEPS or size > MAX_ACTION_DIM:
        raise EpisodeFileError(
            f"{path}: 'actions' is {actions.shape}; an episode has at most {MAX_EPISODE_STEPS} steps of at most "
            f"{MAX_ACTION_DIM} values"
        )
    if "length" in meta and meta["length"] != steps:
        raise EpisodeFileError(f"{path}: metadata says {meta['length']} steps, 'actions' has {steps}")
    if not any(name.startswith("obs/") for name in members):
        raise EpisodeFileError(f"{path}: episode file has no observations (obs/<key>)")
    for name, member in members.items():
        rows = steps if name in PER_STEP else steps + 1
        if name in PER_STEP:
            kinds, one_dim = ("b" if name != "rewards" else "iuf"), True
        elif name == "mj_state":
            kinds, one_dim = "f", False
        elif name.startswith(("obs/", "info/")):
            kinds = "biuf"
            one_dim = name.removeprefix("info/") in ONE_PER_ROW_INFO or name.startswith("info/safety/")
        else:  # meta, model/, task/: not per step
            if member.nbytes > MAX_STATIC_BYTES:
                raise EpisodeFileError(f"{path}: array {name!r} is {member.nbytes} bytes, at most {MAX_STATIC_BYTES}")
            continue
        expected = f"({rows},)" if one_dim else f"({rows}, ...)" if name != "mj_state" else f"({rows}, state size)"
        if (
            not member.shape
            or member.shape[0] != rows
            or (one_dim and len(member.shape) != 1)
            or (name == "mj_state" and len(member.shape) != 2)
        ):
            raise EpisodeFileError(f"{path}: array {name!r} is {member}, expected shape {expected}")
        if member.dtype.kind not in kinds:
            wanted = " or ".join(sorted({DTYPE_WORDS[k] for k in kinds}))
            raise EpisodeFileError(f"{path}: array {name!r} holds {DTYPE_WORDS[member.dtype.kind]}, expected {wanted}")
        if math.prod(member.shape[1:]) * member.dtype.itemsize > MAX_ROW_BYTES:
            raise EpisodeFileError(f"{path}: array {name!r} is {member}: rows of more than {MAX_ROW_BYTES} bytes")


def v1_observation_key(key: str) -> str:
    """A version 1 observation key as version 2 names it: ``robot.tcp_pos`` -> ``robot_tcp_pos``,
    ``camera.robot/wrist`` -> ``camera_robot_wrist``."""
    return key.replace(".", "_", 1).replace("/", "_")


def _observation_keys_v1_to_v2(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    renamed: dict[str, np.ndarray] = {}
    for name, values in arrays.items():
        if name.startswith("obs/"):
            name = "obs/" + v1_observation_key(name.removeprefix("obs/"))
            if name in renamed:
                raise EpisodeFileError(f"{path}: two version 1 observations are both {name!r} in version 2")
        renamed[name] = values
    return renamed


# ---------------------------------------------------------------------------------------------- JSON from files
class JSONError(ValueError):
    """JSON text that is invalid or beyond the limits; the message says which (the caller names the file)."""


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str, max_chars: int = MAX_META_CHARS) -> Any:
    """JSON from a file, bounded: at most ``max_chars`` characters and ``MAX_JSON_DEPTH`` levels (checked before
    parsing, so 100,000 nested brackets are one line, not a RecursionError), and no NaN or Infinity."""
    if len(text) > max_chars:
        raise JSONError(f"{len(text)} characters of JSON, more than {max_chars}")
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise JSONError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        elif first in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise JSONError(f"invalid JSON: {one_line(error)}") from None


class JSONFileError(DataFileError):
    """A JSON file whose content is unusable (not UTF-8, invalid or beyond the limits)."""


def read_json_file(path: str | os.PathLike, max_bytes: int = 4 * MAX_META_CHARS, what: str = "a JSON file") -> Any:
    """A JSON file (an episode's summary, a run's meta.json, a review file) read as ``parse_json`` reads text;
    anything unusable is a one-line ``DataFileError`` naming the file (``JSONFileError`` for its content; a missing
    file: ``FileNotFoundError``)."""
    path = Path(path)
    with open_data_file(path, what, DataFileError) as f:
        data = f.read(max_bytes + 1)
    try:
        if len(data) > max_bytes:
            raise JSONError(f"larger than {max_bytes} bytes")
        return parse_json(data.decode("utf-8"), max_chars=max_bytes)
    except UnicodeDecodeError as error:
        raise JSONFileError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except JSONError as error:
        raise JSONFileError(f"{path}: {error}") from None
