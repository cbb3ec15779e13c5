"""Find recorded episodes under a folder and turn each into what the review site shows: a gallery row and plots.

Every number comes from the episode file itself (read with ``load_episode``, never pickle); the episode's JSON
sidecar adds only what the file does not hold (the ``safety`` figures), and the run's ``meta.json`` only the
policy's names. An unreadable episode file (corrupt, crafted, a folder or a dangling link named like one) is
skipped with a one-line warning, so one bad file does not block reviewing the others; an unusable sidecar is
ignored with a warning. An episode of a task this embodia does not know is an error, because its plots and names
could not be trusted. Sidecars are read with the same bounds as episode metadata (size, depth, no NaN).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embodia.envs.record.episode import DataFileError, Episode, EpisodeFileError, load_episode, read_json_file
from embodia.envs.record.quality import demonstration_quality
from embodia.envs.tasks.registry import TASKS

EPISODE_GLOB = "episode_*.npz"
#: significant digits kept in plot data: far below what a plot shows, and it keeps the data files small
PLOT_DIGITS = 5


class ReviewInputError(DataFileError):
    """A folder that cannot be reviewed (missing, empty, no episodes, an unknown task): one line, what to do."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class Collected:
    """The gallery rows (one per readable episode), their plot data by id, and the files skipped with why."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    plots: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


def episode_id(relative_path: str) -> str:
    """A short, file-name-safe id that stays the same across regenerations of the site."""
    return hashlib.sha1(relative_path.encode("utf-8")).hexdigest()[:16]


def find_episode_files(root: Path, exclude: Path | None = None) -> list[Path]:
    """Every ``episode_*.npz`` under ``root`` at any depth, sorted; ``exclude`` (the site folder) is not entered.

    Folders named like an episode file are listed too, so that they are reported rather than silently missed."""
    found = []
    excluded = exclude.resolve() if exclude is not None else None
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and (here / d).resolve() != excluded)
        found.extend(here / name for name in [*files, *subdirs] if Path(name).match(EPISODE_GLOB))
    return sorted(found)


def check_root(root: Path) -> None:
    if not root.exists():
        raise ReviewInputError(f"{root}: no such folder; pass a folder recorded with 'embodia run TASK --record DIR'")
    if not root.is_dir():
        raise ReviewInputError(f"{root} is not a folder; pass the folder that holds the recorded runs")
    if not any(root.iterdir()):
        raise ReviewInputError(f"{root} is empty; record episodes into it first: embodia run TASK --record {root}")


def collect(root: Path, site_dir: Path | None = None) -> Collected:
    """Read every episode under ``root``; raise ``ReviewInputError`` when there is nothing to review."""
    root = Path(root)
    check_root(root)
    files = find_episode_files(root, exclude=site_dir)
    if not files:
        raise ReviewInputError(
            f"{root} holds no recorded episodes (episode_*.npz at any depth); "
            f"record some with: embodia run TASK --record {root}/RUN"
        )
    collected = Collected()
    run_meta: dict[Path, dict[str, Any]] = {}
    for path in files:
        relative = path.relative_to(root).as_posix()
        try:
            episode = load_episode(path)
        except (EpisodeFileError, FileNotFoundError) as error:  # FileNotFoundError: removed while we looked
            collected.skipped.append(Skipped(relative, str(error).removeprefix(f"{path}: ")))
            continue
        env_id = episode.metadata.get("env_id")
        if env_id not in TASKS:
            raise ReviewInputError(
                f"{path}: episode of unknown task {env_id!r} (this embodia knows {', '.join(TASKS)}); "
                "review it with the embodia version that recorded it, or point DIR at runs of known tasks"
            )
        sidecar, sidecar_problem = read_sidecar(path.with_suffix(".json"))
        if sidecar_problem:
            collected.skipped.append(Skipped(path.with_suffix(".json").relative_to(root).as_posix(), sidecar_problem))
        if path.parent not in run_meta:
            run_meta[path.parent] = read_sidecar(path.parent / "meta.json")[0]
        row = gallery_row(episode, relative, sidecar, run_meta[path.parent])
        collected.rows.append(row)
        collected.plots[row["id"]] = {**plot_data(episode), "safety_detail": nested_numbers(row_safety(sidecar))}
    if not collected.rows:
        raise ReviewInputError(
            f"{root}: none of its {len(files)} episode files is readable (first: {collected.skipped[0].path}: "
            f"{collected.skipped[0].reason}); record the run again"
        )
    return collected


def read_sidecar(path: Path) -> tuple[dict[str, Any], str | None]:
    """A JSON object (episode summary, run meta), or ``{}`` and why it could not be used (absent: nothing to say)."""
    if not (path.exists() or path.is_symlink()):
        return {}, None
    try:
        data = read_json_file(path)
    except (DataFileError, OSError) as error:
        return {}, f"{str(error).removeprefix(f'{path}: ')}; ignored"
    if not isinstance(data, dict):
        return {}, "not a JSON object, ignored"
    return data, None


def finite_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range (JSON integers have no limit)
        return None
    return number if math.isfinite(number) else None


def gallery_row(
    episode: Episode, relative_path: str, sidecar: dict[str, Any], run_meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a gallery card, the filters and the review file need about one episode.

    The episode's own metadata wins; the run's ``meta.json`` fills only the policy's names it lacks (strings).
    """
    run_names = {k: v for k, v in (run_meta or {}).items() if k in ("policy", "policy_class") and isinstance(v, str)}
    meta = {**run_names, **episode.metadata}
    info = episode.info
    success = info.get("success")
    fail = info.get("fail")
    unstable = info.get("physics_unstable")
    safety = row_safety(sidecar)
    run = relative_path.rsplit("/", 1)[0] if "/" in relative_path else "."
    env_id = str(meta["env_id"])
    return {
        "id": episode_id(relative_path),
        "path": relative_path,
        "run": run,
        "env_id": env_id,
        "task": env_id.split("/", 1)[-1],
        "policy": str(meta.get("policy", "unknown")),
        "policy_class": str(meta.get("policy_class", "")),
        "seed": meta.get("seed"),
        "instruction": str(meta.get("instruction", "")),
        "episode": meta.get("episode"),
        # a teleoperated attempt the operator ended: saved, discarded or incomplete (a closed tab)
        "operator": str(meta["operator"]) if isinstance(meta.get("operator"), str) else "",
        "success": bool(success[-1]) if success is not None and len(success) else False,
        "fail": bool(np.any(fail)) if fail is not None else False,
        "physics_unstable": bool(np.any(unstable)) if unstable is not None else False,
        "return": finite_or_none(np.sum(episode.rewards)),
        "length": episode.length,
        "control_hz": float(meta.get("control_hz", 20.0)),
        # the card shows the top-level figures; per-region ones go to the episode page (``nested_numbers``)
        "safety": {k: finite_or_none(v) for k, v in safety.items() if is_number(v)},
        "quality": demonstration_quality(episode),
    }


def row_safety(sidecar: dict[str, Any]) -> dict[str, Any]:
    safety = sidecar.get("safety")
    return safety if isinstance(safety, dict) else {}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nested_numbers(safety: dict[str, Any]) -> dict[str, float | None]:
    """Per-region safety figures (``{"peak_force_n": {"hand": 1.2}}``) as ``{"peak_force_n/hand": 1.2}``."""
    flat = {}
    for key, value in safety.items():
        if isinstance(value, dict):
            flat.update({f"{key}/{k}": finite_or_none(v) for k, v in value.items() if is_number(v)})
    return flat


def rounded(values: np.ndarray) -> list[float | None]:
    """Plot values with ``PLOT_DIGITS`` significant digits; NaN and inf become ``null`` (a gap in the line)."""
    return [float(f"{v:.{PLOT_DIGITS}g}") if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def numeric_series(info: dict[str, np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    """Per-step info entries, one number per row (booleans, such as a reward term for an event, as 0 and 1)."""
    for name in sorted(info):
        values = info[name]
        if values.ndim == 1 and values.dtype.kind in "biuf":
            yield name, values.astype(float)


def unit_of(name: str) -> str | None:
    """The unit suffix of an info name, from its innermost segment that has one.

    ``bottle_to_palm_m`` is in metres; ``safety/force_n/forearm`` in newtons (the unit names the group).
    """
    for segment in reversed(name.split("/")):
        stem, _, unit = segment.rpartition("_")
        if stem and unit in ("m", "n"):
            return unit
    return None


def plot_data(episode: Episode) -> dict[str, Any]:
    """The episode page's plots: reward, reward terms, gripper width, every distance (``_m``), every force (``_n``).

    The x axis is the video frame: frame 0 is the reset, frame ``t`` the state after step ``t``. Rewards belong
    to the step that ends at frame ``t``, so they start at frame 1 (``first_frame``).
    """
    plots = [{"name": "reward", "unit": "", "first_frame": 1, "series": {"reward": rounded(episode.rewards)}}]
    terms, distances, forces = {}, {}, {}
    for name, values in numeric_series(episode.info):
        if name.startswith("reward_terms/"):
            terms[name.removeprefix("reward_terms/")] = rounded(values)
        elif unit_of(name) == "m":
            distances[name] = rounded(values)
        elif unit_of(name) == "n":
            forces[name] = rounded(values)
    if terms:
        plots.append({"name": "reward terms", "unit": "", "first_frame": 0, "series": terms})
    gripper = episode.observations.get("robot_gripper_width")
    if gripper is not None and gripper.ndim in (1, 2):
        width = gripper if gripper.ndim == 1 else gripper[:, 0]
        plots.append(
            {"name": "gripper width", "unit": "m", "first_frame": 0, "series": {"gripper_width_m": rounded(width)}}
        )
    if distances:
        plots.append({"name": "distances", "unit": "m", "first_frame": 0, "series": distances})
    if forces:
        plots.append({"name": "forces", "unit": "N", "first_frame": 0, "series": forces})
    return {
        "frames": episode.length + 1,
        "control_hz": float(episode.metadata.get("control_hz", 20.0)),
        "events": {"success": first_true(episode.info.get("success")), "fail": first_true(episode.info.get("fail"))},
        "plots": plots,
    }


def first_true(values: np.ndarray | None) -> int | None:
    if values is None or not np.any(values):
        return None
    return int(np.argmax(np.asarray(values, dtype=bool)))
