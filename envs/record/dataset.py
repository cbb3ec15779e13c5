"""Datasets of recorded episodes: embodia run folders and Minari datasets (the Farama offline-RL format).

A dataset is named either by a folder (searched recursively for ``episode_*.npz``) or by a local Minari dataset id
(``embodia/handover/expert-v0``). A Minari dataset made here keeps embodia's own episode files beside its data, in
``<dataset>/embodia_episodes``: Minari holds what learners read (observations, actions, rewards, infos), the episode
files hold the exact MuJoCo states that replay and review need. Everything that can go wrong with a user's files
raises ``DatasetError`` with one line naming the file and the problem.

Every figure comes from the episode files themselves (read by ``load_episode``, which checks them as untrusted
data); a JSON sidecar (``episode_XXXX.json``) is a summary for people, never an input to a decision, and
``validate`` reports one that disagrees with its episode. A dataset with an unreadable episode file is refused as a
whole by ``info``, ``validate`` and ``filter`` (one line naming the first such file): a summary or a filtered copy
that silently left episodes out would mislead. Episodes that read but are suspect (non-finite values, a replay that
departs or cannot run, a lying sidecar) are ``validate``'s problems.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embodia.envs.record.atomic import write_json
from embodia.envs.record.episode import DataFileError, Episode, EpisodeFileError, load_episode, read_json_file
from embodia.envs.record.results import episode_result, summarize

#: where a Minari dataset made by embodia keeps the episode files (exact states) it was made from
EPISODES_DIR = "embodia_episodes"
EPISODE_GLOB = "episode_*.npz"


class DatasetError(DataFileError):
    """A dataset that cannot be found or read; the message names it and says what to do."""


@dataclass
class Dataset:
    """Where a dataset's episodes are: episode files (always for embodia data) and, for Minari, its id."""

    name: str
    root: Path
    episode_files: list[Path]
    minari_id: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "minari" if self.minari_id else "episodes"

    def episodes(self) -> Iterator[tuple[Path, Episode]]:
        """Each episode file with its episode; an unreadable file raises ``DatasetError``."""
        for path in self.episode_files:
            yield path, read_episode(path)


def read_episode(path: Path) -> Episode:
    try:
        return load_episode(path)
    except (EpisodeFileError, FileNotFoundError) as error:
        raise DatasetError(str(error)) from None


def minari_root() -> Path:
    """Minari's local dataset folder (``MINARI_DATASETS_PATH``, else its default)."""
    from minari.storage import get_dataset_path

    return Path(get_dataset_path(""))


def minari_path(dataset_id: str) -> Path:
    from minari.storage import get_dataset_path

    return Path(get_dataset_path(dataset_id))


def local_minari_ids() -> list[str]:
    root = minari_root()
    return sorted(str(p.parent.parent.relative_to(root)) for p in root.glob("**/data/metadata.json"))


def find_episode_files(folder: Path) -> list[Path]:
    """Complete episode files under ``folder`` (temporary files of a crashed write start with a dot)."""
    return sorted(p for p in folder.rglob(EPISODE_GLOB) if not p.name.startswith("."))


def open_dataset(name: str | os.PathLike) -> Dataset:
    """A folder of episode files, or a local Minari dataset id; anything else is a ``DatasetError``."""
    path = Path(name)
    if path.is_dir():
        files = find_episode_files(path)
        if not files:
            raise DatasetError(
                f"{path}: no episode files (episode_*.npz) in this folder; record some with "
                "`embodia run TASK --record DIR` or `embodia collect TASK --out NAME`"
            )
        return Dataset(str(path), path, files)
    if path.exists():
        raise DatasetError(f"{path}: is a file, not a dataset; give a folder of episode files or a Minari dataset id")
    dataset_id = str(name)
    folder = minari_path(dataset_id)
    if not (folder / "data" / "metadata.json").is_file():
        known = ", ".join(local_minari_ids()) or "none"
        raise DatasetError(
            f"{dataset_id}: no such folder and no local Minari dataset of that id (local datasets: {known}); "
            "make one with `embodia collect TASK --out NAME`"
        )
    return Dataset(dataset_id, folder, find_episode_files(folder / EPISODES_DIR), minari_id=dataset_id)


def check_minari_files(dataset_id: str) -> None:
    """What ``minari.load_dataset`` would trust, checked first. Minari builds the env named in the metadata
    (``gym.make``, which imports its entry point) when the spaces are missing, so the spaces must be there and any
    env spec must be a registered embodia task's own; the HDF5 file may declare no more than an episode file could.
    """
    import gymnasium as gym
    import h5py

    from embodia.envs.record.episode import MAX_COMPRESSION_RATIO, MAX_FILE_BYTES, RATIO_FLOOR_BYTES, parse_json
    from embodia.envs.tasks.registry import TASKS

    folder = minari_path(dataset_id) / "data"
    meta = read_json_file(folder / "metadata.json", what="a Minari dataset's metadata")
    where = f"{folder / 'metadata.json'}:"
    if not isinstance(meta, dict) or not all(
        isinstance(meta.get(k), str) for k in ("observation_space", "action_space")
    ):
        raise DatasetError(f"{where} lacks the observation and action spaces (Minari would build an env to find them)")
    for key in ("env_spec", "eval_env_spec"):
        if meta.get(key) is None:
            continue
        spec = parse_json(meta[key]) if isinstance(meta[key], str) else None
        env_id = spec.get("id") if isinstance(spec, dict) else None
        registered = gym.spec(env_id) if env_id in TASKS else None
        if (
            registered is None
            or spec.get("entry_point") != registered.entry_point
            or any(spec.get("kwargs", {}).get(k, v) != v for k, v in registered.kwargs.items())
        ):
            raise DatasetError(f"{where} {key} is not a registered embodia task's (id {env_id!r})")
    data = folder / "main_data.hdf5"
    sizes: list[int] = []
    with h5py.File(data, "r") as f:
        f.visititems(
            lambda _, item: sizes.append(item.size * item.dtype.itemsize) if isinstance(item, h5py.Dataset) else None
        )
    declared, on_disk = sum(sizes), data.stat().st_size
    if declared > MAX_FILE_BYTES or (declared > RATIO_FLOOR_BYTES and declared > MAX_COMPRESSION_RATIO * on_disk):
        raise DatasetError(f"{data}: declares {declared} bytes of data in a {on_disk}-byte file; refused")


def load_minari(dataset_id: str) -> Any:
    """``minari.load_dataset`` after ``check_minari_files``, with its failures turned into one line."""
    import minari

    try:
        check_minari_files(dataset_id)
        dataset = minari.load_dataset(dataset_id)
        if dataset.total_episodes:
            next(iter(dataset.iterate_episodes()))  # the metadata alone says nothing of the data file
        return dataset
    except DataFileError:
        raise
    except Exception as error:  # h5py, json and Minari raise many kinds; the user needs the file and the reason
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DatasetError(f"{minari_path(dataset_id)}: Minari cannot read this dataset ({reason})") from None


# ---------------------------------------------------------------------------------------------- Minari export
def minari_buffer(index: int, episode: Episode) -> Any:
    """One episode as Minari's ``EpisodeBuffer`` (info names flattened with dots: HDF5 reads slashes as groups)."""
    from minari.data_collector import EpisodeBuffer

    observations = episode.observations.get("flat") if set(episode.observations) == {"flat"} else None
    infos = {key.replace("/", "."): value for key, value in episode.info.items()}
    instruction = episode.metadata.get("instruction")
    if instruction:  # per row, as Minari keeps nothing per episode but its seed
        infos["instruction"] = np.full(episode.length + 1, str(instruction).encode(), dtype=object)
    return EpisodeBuffer(
        id=index,
        seed=episode.metadata.get("seed"),
        observations=observations if observations is not None else dict(episode.observations),
        actions=episode.actions.astype(np.float32),
        rewards=episode.rewards.tolist(),
        terminations=episode.terminated.tolist(),
        truncations=episode.truncated.tolist(),
        infos=infos,
    )


def export_minari(
    episode_files: Sequence[Path],
    dataset_id: str,
    policy: str,
    description: str = "",
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Make the Minari dataset ``dataset_id`` from episode files of one task; copy the files in beside it."""
    import gymnasium as gym
    import minari

    from embodia.envs.tasks.registry import TASKS

    folder = minari_path(dataset_id)
    if folder.exists() and not overwrite:
        raise DatasetError(f"{dataset_id}: a Minari dataset of that id exists ({folder}); pass --overwrite")
    inside = [p for p in episode_files if folder.resolve() in p.resolve().parents]
    if inside:
        raise DatasetError(
            f"{dataset_id}: its folder {folder} holds the episodes to export ({inside[0]}); choose another id"
        )
    buffers, first = [], None
    for index, path in enumerate(episode_files):
        episode = read_episode(path)
        if first is None:
            first = episode.metadata
        elif episode.metadata.get("env_id") != first.get("env_id"):
            raise DatasetError(f"{path}: from {episode.metadata.get('env_id')}, the others from {first.get('env_id')}")
        buffers.append(minari_buffer(index, episode))
        if progress is not None:
            progress(1)
    if first is None:
        raise DatasetError(f"{dataset_id}: no episodes to export")
    env_id = first["env_id"]
    if env_id not in TASKS:  # an id such as "module:Env" would make Gymnasium import the module
        raise DatasetError(
            f"{episode_files[0]}: episode of unknown task {env_id!r}; this embodia has: {', '.join(TASKS)}"
        )
    from embodia.envs.record import replay

    try:  # the dataset's env spec gets the recorded options, checked as a replay checks them (never "task")
        kwargs = replay.recorded_options(
            read_episode(episode_files[0]), replay.task_class(env_id), str(episode_files[0])
        )
    except replay.ReplayError as error:
        raise DatasetError(str(error)) from None
    spec = gym.spec(env_id)
    if folder.exists():  # replaced only now that every episode has been read
        shutil.rmtree(folder)
    spec = dataclasses.replace(spec, kwargs={**spec.kwargs, **kwargs})
    with warnings.catch_warnings():
        # Minari asks for an author e-mail and an evaluation env; embodia has no e-mail to give, and the
        # collecting env (recorded in the dataset) is the evaluation env
        warnings.filterwarnings("ignore", message=r"`(author_email|eval_env)` is set to None", category=UserWarning)
        minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=spec,
            algorithm_name=policy,
            author="embodia",
            code_permalink="https://github.com/embodia/embodia",
            description=description or f"{len(buffers)} episodes of {env_id} by {policy}, recorded by embodia",
            data_format="hdf5",
        )
    copies = folder / EPISODES_DIR
    copies.mkdir()
    for path in episode_files:
        for sibling in (path, path.with_suffix(".json"), path.with_suffix(".mp4")):
            if sibling.is_file():
                shutil.copy2(sibling, copies / sibling.name)
    meta = path.parent / "meta.json"
    if meta.is_file():
        shutil.copy2(meta, copies / "meta.json")
    return folder


# ---------------------------------------------------------------------------------------------- info, validate
def dataset_info(dataset: Dataset) -> dict[str, Any]:
    """What a dataset holds: task, policies, episodes, steps, success, return, sizes and versions."""
    results, env_ids, policies, versions, spaces = [], set(), set(), set(), {}
    for _, episode in dataset.episodes():
        results.append(episode_result(episode))
        env_ids.add(episode.metadata.get("env_id"))
        policies.add(episode.metadata.get("policy"))
        versions.add(json.dumps(episode.metadata.get("versions"), sort_keys=True))
        spaces = {key: list(value.shape[1:]) for key, value in episode.observations.items()}
        spaces["actions"] = list(episode.actions.shape[1:])
    summary = summarize(results)
    info = {
        "dataset": dataset.name,
        "kind": dataset.kind,
        "env_ids": sorted(map(str, env_ids)),
        "policies": sorted(map(str, policies)),
        "episodes": summary["episodes"],
        "steps": int(sum(r["length"] for r in results)),
        "success_rate": summary["success_rate"],
        "mean_return": summary["mean_return"],
        "mean_length": summary["mean_length"],
        "shapes": spaces,
        "versions": [json.loads(v) for v in sorted(versions)],
        "size_mb": round(sum(p.stat().st_size for p in dataset.root.rglob("*") if p.is_file()) / 1e6, 2),
    }
    if dataset.minari_id:
        minari_dataset = load_minari(dataset.minari_id)
        info["minari"] = {
            "id": dataset.minari_id,
            "total_episodes": int(minari_dataset.total_episodes),
            "total_steps": int(minari_dataset.total_steps),
            "env_spec": minari_dataset.spec.env_spec.id if minari_dataset.spec.env_spec else None,
        }
    return info


def check_episode(path: Path, episode: Episode) -> list[str]:
    """Schema and value problems of one episode (empty: none)."""
    problems = []
    for key in ("env_id", "control_hz", "versions"):
        if key not in episode.metadata:
            problems.append(f"{path}: metadata lacks {key!r}")
    arrays = {"actions": episode.actions, "rewards": episode.rewards, "mj_state": episode.mj_state}
    arrays.update({f"obs/{k}": v for k, v in episode.observations.items()})
    arrays.update({f"info/{k}": v for k, v in episode.info.items()})
    for name, values in arrays.items():
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            row = int(np.argwhere(~np.isfinite(values.reshape(len(values), -1)))[0][0])
            problems.append(f"{path}: {name} has a non-finite value at row {row}")
    if episode.length == 0:
        problems.append(f"{path}: the episode has no steps")
    if episode.length and (episode.terminated[:-1] | episode.truncated[:-1]).any():
        problems.append(f"{path}: the episode ends before its last step")
    return problems + check_sidecar(path, episode)


#: sidecar entries that must equal what the episode file says
SIDECAR_KEYS = ("episode", "seed", "env_id", "policy", "success", "fail", "physics_unstable", "return", "length")


def check_sidecar(path: Path, episode: Episode) -> list[str]:
    """The episode's JSON summary (``episode_XXXX.json``), if there is one, must agree with the episode file."""
    sidecar = path.with_suffix(".json")
    if not (sidecar.exists() or sidecar.is_symlink()):
        return []
    try:
        recorded = read_json_file(sidecar, what="an episode summary")
    except (DataFileError, OSError) as error:
        return [str(error) if str(sidecar) in str(error) else f"{sidecar}: {error}"]
    if not isinstance(recorded, dict):
        return [f"{sidecar}: not a JSON object; expected the summary of {path.name}"]
    expected = episode_result(episode)

    def same(key: str) -> bool:
        a, b = recorded[key], expected[key]
        if key == "return" and isinstance(a, (int, float)) and not isinstance(a, bool):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return type(a) is type(b) and a == b

    differ = [f"{k} {recorded[k]!r} (episode: {expected[k]!r})" for k in SIDECAR_KEYS if k in recorded and not same(k)]
    return [f"{sidecar}: disagrees with {path.name}: {'; '.join(differ)}"] if differ else []


def validate(dataset: Dataset, replay_sample: int = 3, seed: int = 0) -> tuple[int, int, list[str]]:
    """(episodes checked, episodes replayed exactly, problems): schema, finite values, sidecars, one task, and exact
    replay of a sample. Only replays that ran and matched count as replayed; one that cannot run is a problem."""
    from embodia.envs.record import replay

    problems, episodes, env_ids = [], 0, set()
    for path, episode in dataset.episodes():
        episodes += 1
        env_ids.add(episode.metadata.get("env_id"))
        problems += check_episode(path, episode)
    if len(env_ids) > 1:
        problems.append(f"{dataset.name}: episodes from several tasks ({', '.join(sorted(map(str, env_ids)))})")
    replayed = 0
    sample = np.random.default_rng(seed).permutation(len(dataset.episode_files))[: max(replay_sample, 0)]
    for k in sorted(sample):
        path = dataset.episode_files[k]
        episode = read_episode(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", replay.ReplayVersionWarning)
            try:
                env = replay.make_replay_env(episode, str(path))
            except replay.ReplayError as error:
                problems.append(f"{path}: cannot be replayed ({str(error).removeprefix(f'{path}: ')})")
                continue
        problems += [f"{path}: {w.message}" for w in caught]
        try:
            comparisons = [
                ("restored observations", replay.compare_observations(env, episode)),
                ("re-simulated states", replay.resimulate(env, episode)),
            ]
        finally:
            env.close()
        for what, comparison in comparisons:
            if not comparison.identical:
                problems.append(f"{path}: {what} differ from the recording from step {comparison.first_mismatch}")
        replayed += all(comparison.identical for _, comparison in comparisons)
    if dataset.minari_id:
        problems += validate_minari(dataset)
    return episodes, replayed, problems


def validate_minari(dataset: Dataset) -> list[str]:
    """The Minari side: readable, its episodes inside the spaces and finite, as many as the episode files."""
    minari_dataset = load_minari(dataset.minari_id)
    problems = []
    if dataset.episode_files and minari_dataset.total_episodes != len(dataset.episode_files):
        problems.append(
            f"{dataset.name}: Minari holds {minari_dataset.total_episodes} episodes, "
            f"{EPISODES_DIR} {len(dataset.episode_files)}"
        )
    observation_space = minari_dataset.observation_space
    try:
        episodes = list(minari_dataset.iterate_episodes())
    except Exception as error:  # a data file damaged after the first episode
        return [f"{minari_path(dataset.minari_id)}: Minari cannot read every episode ({error})"]
    for data in episodes:
        for t in (0, len(data.actions)):
            row = {k: v[t] for k, v in data.observations.items()} if isinstance(data.observations, dict) else None
            obs = row if row is not None else data.observations[t]
            if not observation_space.contains(obs):
                problems.append(f"{dataset.name}: episode {data.id} observation {t} is outside the observation space")
        if not np.isfinite(data.actions).all() or not np.isfinite(data.rewards).all():
            problems.append(f"{dataset.name}: episode {data.id} has non-finite actions or rewards")
    return problems


# ---------------------------------------------------------------------------------------------- filter
def select(
    dataset: Dataset,
    success: bool | None = None,
    min_return: float | None = None,
    verdicts: dict[Path, str] | None = None,
    verdict: str = "accepted",
) -> list[Path]:
    """Episode files that pass every given condition (``verdicts``: resolved episode path -> review verdict),
    judged from the episode files themselves."""
    kept = []
    for path in dataset.episode_files:
        result = episode_result(read_episode(path))  # the episode decides, never its (editable) JSON sidecar
        if success is not None and bool(result["success"]) != success:
            continue
        if min_return is not None and result["return"] < min_return:
            continue
        if verdicts is not None and verdicts.get(path.resolve()) != verdict:
            continue
        kept.append(path)
    return kept


def review_verdicts(review_path: Path, dataset: Dataset) -> dict[Path, str]:
    """A review file's verdicts keyed by resolved episode path; entries must point into ``dataset``."""
    from embodia.envs.record.review_file import ReviewFileError, read_review_document

    try:
        document = read_review_document(review_path)
    except (ReviewFileError, FileNotFoundError) as error:
        raise DatasetError(str(error)) from None
    root = document.get("root") or review_path.parent
    if not isinstance(root, (str, Path)):
        raise DatasetError(
            f"{review_path}: 'root' must be the reviewed folder's path, got a JSON {type(root).__name__}"
        )
    root = Path(root)
    verdicts = {}
    by_name = {(p.parent.name, p.name): p.resolve() for p in dataset.episode_files}
    for entry in document["episodes"]:
        candidate = (root / entry["path"]).resolve()
        if not candidate.is_file():  # the folder moved since the review: match by run folder and file name
            parts = entry["path"].split("/")
            candidate = by_name.get((parts[-2] if len(parts) > 1 else dataset.root.name, parts[-1]), candidate)
        verdicts[candidate] = entry["verdict"]
    if not set(verdicts) & {p.resolve() for p in dataset.episode_files}:
        raise DatasetError(f"{review_path}: none of its {len(verdicts)} episodes is in {dataset.name}")
    return verdicts


def copy_episodes(files: Sequence[Path], out: Path, source: Dataset, note: dict[str, Any], overwrite: bool) -> Path:
    """A new run folder with the selected episodes (files, videos, summaries from the files), renumbered, and its
    run summary."""
    from embodia.envs.record.recorder import episode_stem, prepare_record_dir

    meta = source.episode_files[0].parent / "meta.json" if source.episode_files else None
    run_meta = read_json_file(meta, what="a run's meta.json") if meta is not None and meta.is_file() else {}
    if not isinstance(run_meta, dict):
        raise DatasetError(f"{meta}: not a JSON object; expected the run's metadata")
    prepare_record_dir(out, overwrite)
    results = []
    for index, path in enumerate(files):
        stem = episode_stem(index)
        # the summary is written afresh from the episode (a copied sidecar could disagree with it, or name the
        # source's video); the source keeps its own
        result = {**episode_result(read_episode(path)), "source": str(path)}
        if path.with_suffix(".mp4").is_file():
            shutil.copy2(path.with_suffix(".mp4"), out / f"{stem}.mp4")
            result["video"] = f"{stem}.mp4"
        write_json(out / f"{stem}.json", result)
        shutil.copy2(path, out / f"{stem}.npz")  # last: its presence means the episode is complete
        results.append(result)
    write_json(out / "meta.json", {**run_meta, "filtered_from": source.name, "filter": note}, overwrite=True)
    write_json(out / "summary.json", summarize(results, filtered_from=source.name, filter=note), overwrite=True)
    return out
