"""Export recorded episodes in LeRobot's dataset layout (v3.0), for the tools that train on LeRobot datasets.

The layout, as LeRobot's own writer makes it (``lerobot/datasets/utils.py``, codebase v3.0)::

    meta/info.json                                   version, fps, paths, features (dtype, shape, names)
    meta/stats.json                                  per feature: min, max, mean, std, count
    meta/tasks.parquet                               task_index per task (the task string is the index)
    meta/episodes/chunk-000/file-000.parquet         per episode: its task, length, where its rows and videos are
    data/chunk-000/file-000.parquet                  one row per step: state, action, reward, indices, timestamp
    videos/observation.images.<camera>/chunk-000/file-000.mp4   the episodes' frames, one after the other

A frame is the observation before each action: an episode of T steps has T rows. ``observation.state`` holds the
robot's entries (``robot_*``), ``observation.environment_state`` the task's (``task_*``); images are rendered
afresh from the recorded MuJoCo states (exact, at any size and from any camera). The task of an episode is its
instruction. LeRobot itself does not install beside this torch on Python 3.11, so the tests check the files
field by field with pyarrow and PyAV against this layout.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embodia.envs.record import replay
from embodia.envs.record.dataset import read_episode
from embodia.envs.record.episode import Episode
from embodia.envs.record.video import VideoWriter

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder
DATA_FILE_SIZE_IN_MB = 100
VIDEO_FILE_SIZE_IN_MB = 200
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
STATS = ("min", "max", "mean", "std", "count")


class LeRobotExportError(ValueError):
    """An export that cannot be made: one line naming the file or option."""


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise LeRobotExportError(
            "the LeRobot export writes Parquet with pyarrow, which is not installed: pip install 'embodia[lerobot]'"
        ) from None
    return pa, pq


def _state_names(key: str, size: int) -> list[str]:
    return [key] if size == 1 else [f"{key}.{i}" for i in range(size)]


def _numeric_stats(values: np.ndarray) -> dict[str, Any]:
    values = values.reshape(len(values), -1).astype(np.float64)
    return {
        "min": values.min(axis=0).tolist(),
        "max": values.max(axis=0).tolist(),
        "mean": values.mean(axis=0).tolist(),
        "std": values.std(axis=0).tolist(),
        "count": [len(values)],
    }


def _image_stats(frames: np.ndarray) -> dict[str, Any]:
    """Per channel over the frames, in [0, 1], shaped (3, 1, 1) as LeRobot keeps image statistics."""
    pixels = frames.reshape(-1, 3).astype(np.float64) / 255.0

    def per_channel(values: np.ndarray) -> list:
        return [[[float(v)]] for v in values]

    return {
        "min": per_channel(pixels.min(axis=0)),
        "max": per_channel(pixels.max(axis=0)),
        "mean": per_channel(pixels.mean(axis=0)),
        "std": per_channel(pixels.std(axis=0)),
        "count": [len(frames)],
    }


def _merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Dataset statistics from per-episode ones (counts weigh the means and variances)."""
    counts = np.array([p["count"][0] for p in parts], dtype=np.float64)
    means = np.stack([np.asarray(p["mean"], dtype=np.float64) for p in parts])
    stds = np.stack([np.asarray(p["std"], dtype=np.float64) for p in parts])
    weights = (counts / counts.sum()).reshape(-1, *([1] * (means.ndim - 1)))
    mean = (weights * means).sum(axis=0)
    variance = (weights * (stds**2 + (means - mean) ** 2)).sum(axis=0)
    return {
        "min": np.min([np.asarray(p["min"]) for p in parts], axis=0).tolist(),
        "max": np.max([np.asarray(p["max"]) for p in parts], axis=0).tolist(),
        "mean": mean.tolist(),
        "std": np.sqrt(variance).tolist(),
        "count": [int(counts.sum())],
    }


def _pandas_index_metadata(index: str, columns: dict[str, tuple[str, str]]) -> bytes:
    """The schema metadata with which pandas reads ``index`` back as the frame's index (LeRobot reads
    ``meta/tasks.parquet`` with pandas and looks tasks up by that index)."""
    return json.dumps(
        {
            "index_columns": [index],
            "column_indexes": [],
            "columns": [
                {
                    "name": name,
                    "field_name": name,
                    "pandas_type": pandas_type,
                    "numpy_type": numpy_type,
                    "metadata": None,
                }
                for name, (pandas_type, numpy_type) in columns.items()
            ],
            "creator": {"library": "embodia"},
            "pandas_version": "2.2.0",
        }
    ).encode()


@dataclass(frozen=True)
class _Layout:
    """What every episode of the export has: its features and which observations make its state vectors."""

    features: dict[str, dict[str, Any]]
    state_keys: list[str]
    env_keys: list[str]
    video_keys: dict[str, str]  # camera -> feature
    size: tuple[int, int]
    fps: float


def _layout(first: Episode, source: str, cameras: Sequence[str], size: tuple[int, int]) -> _Layout:
    """The features of LeRobot's ``info.json`` from the first episode (the others must match it)."""
    fps = float(first.metadata.get("control_hz", 20.0))
    keys = sorted(first.observations)
    state_keys = [k for k in keys if k.startswith("robot_")]
    env_keys = [k for k in keys if k.startswith("task_")]
    if not state_keys:
        raise LeRobotExportError(f"{source}: no robot_* observations (a flat or pixel-only recording?)")
    features: dict[str, dict[str, Any]] = {}
    for feature, names in (("observation.state", state_keys), ("observation.environment_state", env_keys)):
        if names:
            labels = [
                label for key in names for label in _state_names(key, int(np.prod(first.observations[key].shape[1:])))
            ]
            features[feature] = {"dtype": "float32", "shape": [len(labels)], "names": labels}
    action_dim = int(first.actions.shape[1])
    features["action"] = {"dtype": "float32", "shape": [action_dim],
                          "names": [f"arm_{i}" for i in range(action_dim - 1)] + ["gripper"]}  # fmt: skip
    features["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    features["next.success"] = {"dtype": "bool", "shape": [1], "names": None}
    video_keys = {camera: "observation.images." + camera.replace("/", "_") for camera in cameras}
    height, width = size
    for key in video_keys.values():
        features[key] = {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": height,
                "video.width": width,
                "video.codec": "h264",
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        }
    features["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
    for name in INDEX_FEATURES[1:]:
        features[name] = {"dtype": "int64", "shape": [1], "names": None}
    return _Layout(features, state_keys, env_keys, video_keys, size, fps)


def export_lerobot(
    episode_files: Sequence[str | Path],
    out_dir: str | Path,
    cameras: Sequence[str] = ("front",),
    image_size: tuple[int, int] = (240, 320),
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write the episodes of ``episode_files`` (one task, read one at a time) as a LeRobot v3.0 dataset in
    ``out_dir``.

    ``cameras``: one video feature ``observation.images.<camera>`` each (``robot/wrist`` becomes
    ``robot_wrist``), rendered at ``image_size`` (height, width). The folder is written beside and moved into
    place at the end; an existing ``out_dir`` is refused unless ``overwrite``.
    """
    pa, pq = _pyarrow()
    out = Path(out_dir)
    if not episode_files:
        raise LeRobotExportError("no episodes to export")
    if out.exists() and not overwrite:
        raise LeRobotExportError(f"{out} exists; choose another folder or pass --overwrite")
    height, width = (int(v) for v in image_size)
    if height < 2 or width < 2 or height % 2 or width % 2:
        raise LeRobotExportError(f"image size {image_size!r} is not valid; valid: even height and width >= 2")
    layout = _layout(read_episode(Path(episode_files[0])), str(episode_files[0]), cameras, (height, width))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lerobot-", dir=out.parent))
    try:
        writer = _Writer(pa, pq, staging, layout)
        env_id = None
        for path in episode_files:
            episode = read_episode(Path(path))
            if env_id is not None and episode.metadata.get("env_id") != env_id:
                raise LeRobotExportError(f"{path}: from {episode.metadata.get('env_id')}, the others from {env_id}")
            env_id = episode.metadata.get("env_id")
            writer.add(str(path), episode)
            if progress is not None:
                progress(1)
        writer.finish()
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


class _Writer:
    """Appends episodes to the current data and video files (a new pair past ``DATA_FILE_SIZE_IN_MB``), keeping
    each episode's row of ``meta/episodes`` and statistics, and writes the metadata at the end."""

    def __init__(self, pa: Any, pq: Any, root: Path, layout: _Layout) -> None:
        self.pa, self.pq, self.root, self.layout = pa, pq, root, layout
        self.tasks: dict[str, int] = {}
        self.episode_rows: list[dict[str, Any]] = []
        self.stats: dict[str, list[dict[str, Any]]] = {}
        self.chunk = self.file = self.bytes_in_file = self.total = 0
        self.columns: dict[str, list[np.ndarray]] = {
            name: [] for name, spec in layout.features.items() if spec["dtype"] != "video"
        }
        self.videos: dict[str, VideoWriter] = {}
        self.row_bytes = sum(4 * int(np.prod(f["shape"])) for f in self.columns_specs()) + 40

    def columns_specs(self) -> list[dict[str, Any]]:
        return [self.layout.features[name] for name in self.columns]

    def add(self, source: str, episode: Episode) -> None:
        length = episode.length
        if length < 1:
            raise LeRobotExportError(f"{source}: an episode without steps cannot be exported")
        if episode.actions.shape[1] != self.layout.features["action"]["shape"][0]:
            raise LeRobotExportError(f"{source}: its actions have another size than the first episode's")
        if self.bytes_in_file and self.bytes_in_file + length * self.row_bytes > DATA_FILE_SIZE_IN_MB * 1e6:
            self.flush()
            self.chunk, self.file = (self.chunk + 1, 0) if self.file + 1 == CHUNKS_SIZE else (self.chunk, self.file + 1)
            self.bytes_in_file = 0
        task = str(episode.metadata.get("instruction") or episode.metadata.get("env_id"))
        columns = self.episode_columns(source, episode, self.tasks.setdefault(task, len(self.tasks)))
        for name, values in columns.items():
            self.columns[name].append(values)
        episode_stats = {name: _numeric_stats(values) for name, values in columns.items()}
        row: dict[str, Any] = {
            "episode_index": len(self.episode_rows),
            "tasks": [task],
            "length": length,
            "data/chunk_index": self.chunk,
            "data/file_index": self.file,
            "dataset_from_index": self.total,
            "dataset_to_index": self.total + length,
        }
        if self.layout.video_keys:
            row.update(self.append_videos(source, episode, episode_stats))
        for name, stats in episode_stats.items():
            self.stats.setdefault(name, []).append(stats)
            for stat in STATS:
                row[f"stats/{name}/{stat}"] = stats[stat]
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        self.episode_rows.append(row)
        self.bytes_in_file += length * self.row_bytes
        self.total += length

    def episode_columns(self, source: str, episode: Episode, task_index: int) -> dict[str, np.ndarray]:
        """The episode's data rows: the observation before each action, the action, what followed, indices."""
        length, layout = episode.length, self.layout
        columns: dict[str, np.ndarray] = {}
        for feature, keys in (("observation.state", layout.state_keys), ("observation.environment_state",
                                                                          layout.env_keys)):  # fmt: skip
            missing = [key for key in keys if key not in episode.observations]
            if missing:
                raise LeRobotExportError(f"{source}: no observation {missing[0]} (recorded with other options?)")
            if keys:
                parts = [episode.observations[key][:length].reshape(length, -1) for key in keys]
                columns[feature] = np.concatenate(parts, axis=1)
        success = np.asarray(episode.info.get("success", np.zeros(length + 1, bool)), dtype=bool)[1 : length + 1]
        frame_index = np.arange(length, dtype=np.int64)
        columns.update({
            "action": episode.actions.astype(np.float32),
            "next.reward": episode.rewards.astype(np.float32),
            "next.done": np.asarray(episode.terminated, dtype=bool) | np.asarray(episode.truncated, dtype=bool),
            "next.success": success,
            "timestamp": (frame_index / layout.fps).astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(length, len(self.episode_rows), dtype=np.int64),
            "index": self.total + frame_index,
            "task_index": np.full(length, task_index, dtype=np.int64),
        })  # fmt: skip
        return columns

    def append_videos(self, source: str, episode: Episode, episode_stats: dict[str, Any]) -> dict[str, Any]:
        """Render the episode's recorded states from every camera into the current video files; return the
        episode's video columns (and add its image statistics)."""
        layout, length = self.layout, episode.length
        env = replay.make_replay_env(episode, source, render_size=layout.size, render_preset="fast")
        frames: dict[str, list[np.ndarray]] = {camera: [] for camera in layout.video_keys}
        try:
            for row, images in replay.frames(env, episode, tuple(layout.video_keys)):
                if row < length:
                    for camera, image in zip(layout.video_keys, images, strict=True):
                        frames[camera].append(image)
        finally:
            env.close()
        columns: dict[str, Any] = {}
        for camera, key in layout.video_keys.items():
            writer = self.videos.get(key)
            if writer is None:
                path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=self.chunk, file_index=self.file)
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = self.videos[key] = VideoWriter(path, fps=layout.fps)
            start = writer.frames
            for image in frames[camera]:
                writer.append(image)
            columns[f"videos/{key}/chunk_index"] = self.chunk
            columns[f"videos/{key}/file_index"] = self.file
            columns[f"videos/{key}/from_timestamp"] = start / layout.fps
            columns[f"videos/{key}/to_timestamp"] = (start + length) / layout.fps
            episode_stats[key] = _image_stats(np.stack(frames[camera]))
        return columns

    def flush(self) -> None:
        """Write the current data file and close the current video files."""
        pa = self.pa
        arrays = {}
        for name, parts in self.columns.items():
            values, spec = np.concatenate(parts), self.layout.features[name]
            if spec["dtype"] == "float32" and spec["shape"] != [1]:
                flat = pa.array(values.astype(np.float32).ravel(), type=pa.float32())
                arrays[name] = pa.FixedSizeListArray.from_arrays(flat, spec["shape"][0])
            else:
                dtype = {"float32": np.float32, "int64": np.int64, "bool": np.bool_}[spec["dtype"]]
                arrays[name] = pa.array(values.ravel().astype(dtype))
            parts.clear()
        path = self.root / DATA_PATH.format(chunk_index=self.chunk, file_index=self.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.pq.write_table(pa.table(arrays), path)
        for writer in self.videos.values():
            writer.close()
        self.videos.clear()

    def finish(self) -> None:
        """The last data file, then ``meta/``: episodes, tasks, statistics and ``info.json``."""
        pa, pq, layout = self.pa, self.pq, self.layout
        self.flush()
        meta = self.root / "meta"
        (meta / "episodes" / "chunk-000").mkdir(parents=True, exist_ok=True)
        episodes_path = self.root / EPISODES_PATH.format(chunk_index=0, file_index=0)
        pq.write_table(pa.Table.from_pylist(self.episode_rows), episodes_path)
        task_table = pa.table({"task_index": pa.array(list(self.tasks.values()), pa.int64()),
                               "task": pa.array(list(self.tasks), pa.string())})  # fmt: skip
        pandas_meta = _pandas_index_metadata("task", {"task_index": ("int64", "int64"), "task": ("unicode", "object")})
        pq.write_table(task_table.replace_schema_metadata({b"pandas": pandas_meta}), meta / "tasks.parquet")
        stats = {name: _merge_stats(parts) for name, parts in self.stats.items()}
        (meta / "stats.json").write_text(json.dumps(stats, indent=2))
        episodes = len(self.episode_rows)
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": "panda",
            "total_episodes": episodes,
            "total_frames": self.total,
            "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILE_SIZE_IN_MB,
            "video_files_size_in_mb": VIDEO_FILE_SIZE_IN_MB,
            "fps": round(layout.fps),
            "splits": {"train": f"0:{episodes}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if layout.video_keys else None,
            "features": layout.features,
        }
        (meta / "info.json").write_text(json.dumps(info, indent=4))
