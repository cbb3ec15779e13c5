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


@dataclass
class _Columns:
    """The rows written so far into the current data file."""

    values: dict[str, list[np.ndarray]]
    rows: int = 0

    @classmethod
    def empty(cls, names: Sequence[str]) -> _Columns:
        return cls({name: [] for name in names})


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
    first_name = str(episode_files[0])
    first = read_episode(Path(first_name))
    fps = float(first.metadata.get("control_hz", 20.0))
    keys = sorted(first.observations)
    state_keys = [k for k in keys if k.startswith("robot_")]
    env_keys = [k for k in keys if k.startswith("task_")]
    if not state_keys:
        raise LeRobotExportError(f"{first_name}: no robot_* observations (a flat or pixel-only recording?)")
    video_keys = {camera: "observation.images." + camera.replace("/", "_") for camera in cameras}

    def sizes(names: list[str]) -> list[tuple[str, int]]:
        return [(k, int(np.prod(first.observations[k].shape[1:]))) for k in names]

    features: dict[str, dict[str, Any]] = {}
    for feature, names in (("observation.state", state_keys), ("observation.environment_state", env_keys)):
        if names:
            labels = [label for key, size in sizes(names) for label in _state_names(key, size)]
            features[feature] = {"dtype": "float32", "shape": [len(labels)], "names": labels}
    action_dim = int(first.actions.shape[1])
    features["action"] = {"dtype": "float32", "shape": [action_dim],
                          "names": [f"arm_{i}" for i in range(action_dim - 1)] + ["gripper"]}  # fmt: skip
    features["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    features["next.success"] = {"dtype": "bool", "shape": [1], "names": None}
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
    for name in ("timestamp",):
        features[name] = {"dtype": "float32", "shape": [1], "names": None}
    for name in INDEX_FEATURES[1:]:
        features[name] = {"dtype": "int64", "shape": [1], "names": None}

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lerobot-", dir=out.parent))
    try:
        _write(pa, pq, staging, episode_files, features, state_keys, env_keys, video_keys, (height, width), fps,
               progress)  # fmt: skip
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _write(pa, pq, root: Path, files, features, state_keys, env_keys, video_keys, size, fps, progress) -> None:
    tasks: dict[str, int] = {}
    episode_rows: list[dict[str, Any]] = []
    all_stats: dict[str, list[dict[str, Any]]] = {}
    chunk, file_index, rows_in_file, bytes_in_file, total = 0, 0, 0, 0, 0
    data = _Columns.empty([k for k in features if features[k]["dtype"] != "video"])
    videos: dict[str, VideoWriter] = {}

    def data_path() -> Path:
        return root / DATA_PATH.format(chunk_index=chunk, file_index=file_index)

    def flush() -> None:
        if not data.rows:
            return
        columns = {}
        for name, parts in data.values.items():
            values = np.concatenate(parts)
            spec = features[name]
            if spec["dtype"] == "float32" and spec["shape"] != [1]:
                flat = pa.array(values.astype(np.float32).ravel(), type=pa.float32())
                columns[name] = pa.FixedSizeListArray.from_arrays(flat, spec["shape"][0])
            else:
                columns[name] = pa.array(values.ravel().astype({"float32": np.float32, "int64": np.int64,
                                                                "bool": np.bool_}[spec["dtype"]]))  # fmt: skip
        path = data_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns), path)
        for name in data.values:
            data.values[name] = []
        data.rows = 0
        for writer in videos.values():
            writer.close()
        videos.clear()

    env_id = None
    for episode_index, path in enumerate(files):
        source = str(path)
        episode = read_episode(Path(path))
        if env_id is not None and episode.metadata.get("env_id") != env_id:
            raise LeRobotExportError(f"{source}: from {episode.metadata.get('env_id')}, the others from {env_id}")
        env_id = episode.metadata.get("env_id")
        length = episode.length
        if length < 1:
            raise LeRobotExportError(f"{source}: an episode without steps cannot be exported")
        if episode.actions.shape[1] != features["action"]["shape"][0]:
            raise LeRobotExportError(f"{source}: its actions have another size than the first episode's")
        task = str(episode.metadata.get("instruction") or episode.metadata.get("env_id"))
        task_index = tasks.setdefault(task, len(tasks))
        row_bytes = sum(4 * int(np.prod(f["shape"])) for f in features.values() if f["dtype"] != "video") + 40
        if rows_in_file and bytes_in_file + length * row_bytes > DATA_FILE_SIZE_IN_MB * 1e6:
            flush()
            file_index += 1
            if file_index == CHUNKS_SIZE:
                chunk, file_index = chunk + 1, 0
            rows_in_file = bytes_in_file = 0
        state = {}
        for feature, keys in (("observation.state", state_keys), ("observation.environment_state", env_keys)):
            missing = [key for key in keys if key not in episode.observations]
            if missing:
                raise LeRobotExportError(f"{source}: no observation {missing[0]} (recorded with other options?)")
            if keys:
                parts = [episode.observations[key][:length].reshape(length, -1) for key in keys]
                state[feature] = np.concatenate(parts, axis=1)
        success = np.asarray(episode.info.get("success", np.zeros(length + 1, bool)), dtype=bool)[1 : length + 1]
        done = np.asarray(episode.terminated, dtype=bool) | np.asarray(episode.truncated, dtype=bool)
        frame_index = np.arange(length, dtype=np.int64)
        columns = {
            **state,
            "action": episode.actions.astype(np.float32),
            "next.reward": episode.rewards.astype(np.float32),
            "next.done": done,
            "next.success": success,
            "timestamp": (frame_index / fps).astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(length, episode_index, dtype=np.int64),
            "index": total + frame_index,
            "task_index": np.full(length, task_index, dtype=np.int64),
        }
        for name, values in columns.items():
            data.values[name].append(np.asarray(values))
        data.rows += length
        episode_stats = {name: _numeric_stats(np.asarray(values)) for name, values in columns.items()}
        row: dict[str, Any] = {
            "episode_index": episode_index,
            "tasks": [task],
            "length": length,
            "data/chunk_index": chunk,
            "data/file_index": file_index,
            "dataset_from_index": total,
            "dataset_to_index": total + length,
        }
        if video_keys:
            env = replay.make_replay_env(episode, source, render_size=size, render_preset="fast")
            try:
                frames = {camera: [] for camera in video_keys}
                for row_index, images in replay.frames(env, episode, tuple(video_keys)):
                    if row_index < length:
                        for camera, image in zip(video_keys, images, strict=True):
                            frames[camera].append(image)
            finally:
                env.close()
            for camera, key in video_keys.items():
                writer = videos.get(key)
                if writer is None:
                    path = root / VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file_index)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writer = videos[key] = VideoWriter(path, fps=fps)
                start = writer.frames
                for image in frames[camera]:
                    writer.append(image)
                row[f"videos/{key}/chunk_index"] = chunk
                row[f"videos/{key}/file_index"] = file_index
                row[f"videos/{key}/from_timestamp"] = start / fps
                row[f"videos/{key}/to_timestamp"] = (start + length) / fps
                episode_stats[key] = _image_stats(np.stack(frames[camera]))
        for name, stats in episode_stats.items():
            all_stats.setdefault(name, []).append(stats)
            for stat in STATS:
                row[f"stats/{name}/{stat}"] = stats[stat]
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        episode_rows.append(row)
        rows_in_file += length
        bytes_in_file += length * row_bytes
        total += length
        if progress is not None:
            progress(1)
    flush()

    meta = root / "meta"
    (meta / "episodes" / "chunk-000").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(episode_rows), root / EPISODES_PATH.format(chunk_index=0, file_index=0))
    task_table = pa.table({"task_index": pa.array(list(tasks.values()), pa.int64()),
                           "task": pa.array(list(tasks), pa.string())})  # fmt: skip
    pandas_meta = _pandas_index_metadata("task", {"task_index": ("int64", "int64"), "task": ("unicode", "object")})
    pq.write_table(task_table.replace_schema_metadata({b"pandas": pandas_meta}), meta / "tasks.parquet")
    stats = {name: _merge_stats(parts) for name, parts in all_stats.items()}
    (meta / "stats.json").write_text(json.dumps(stats, indent=2))
    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": "panda",
        "total_episodes": len(episode_rows),
        "total_frames": total,
        "total_tasks": len(tasks),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILE_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILE_SIZE_IN_MB,
        "fps": round(fps),
        "splits": {"train": f"0:{len(episode_rows)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if video_keys else None,
        "features": features,
    }
    (meta / "info.json").write_text(json.dumps(info, indent=4))
