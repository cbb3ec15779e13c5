"""Datasets: `embodia collect` makes a Minari dataset Minari itself reads; info, validate and filter; bad files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import embodia  # noqa: F401  (registers the tasks, selects the GL backend)
from embodia.envs.record.episode import EpisodeFileError, load_episode

ENV_ID = "embodia/BinPicking-v0"
DATASET_ID = "embodia/binpicking/test-v0"
EPISODES = 4


def embodia_cli(*args: str, minari_root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MINARI_DATASETS_PATH": str(minari_root)}
    command = [sys.executable, "-m", "embodia.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("minari")
    command = ["collect", ENV_ID, "--episodes", str(EPISODES), "--num-envs", "2", "--out", DATASET_ID, "--quiet"]
    result = embodia_cli(*command, minari_root=root)
    assert result.returncode == 0, result.stderr
    assert f"{DATASET_ID}: {EPISODES} episodes of {ENV_ID} by expert (success rate 100.0%" in result.stdout
    return root


def test_minari_loads_the_collected_dataset_and_recovers_the_env(collected: Path, monkeypatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(collected))
    import minari

    dataset = minari.load_dataset(DATASET_ID)
    assert dataset.total_episodes == EPISODES
    env = dataset.recover_environment()
    obs, _ = env.reset(seed=0)
    assert env.spec.id == ENV_ID and dataset.observation_space.contains(obs)
    episodes = list(dataset.iterate_episodes())
    files = sorted((collected / DATASET_ID / "embodia_episodes").glob("episode_*.npz"))
    assert len(files) == EPISODES
    for data, path in zip(episodes, files, strict=True):
        recorded = load_episode(path)  # the same episode in both formats
        np.testing.assert_array_equal(data.observations["robot_tcp_pos"], recorded.observations["robot_tcp_pos"])
        np.testing.assert_array_equal(data.rewards, recorded.rewards)
        assert data.infos["success"][-1] and data.actions.shape == (recorded.length, 7)
    env.close()


def test_dataset_info_and_validate(collected: Path) -> None:
    result = embodia_cli("dataset", "info", DATASET_ID, "--json", minari_root=collected)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["episodes"] == EPISODES and info["env_ids"] == [ENV_ID] and info["success_rate"] == 1.0
    assert info["minari"]["total_episodes"] == EPISODES and info["shapes"]["actions"] == [7]
    result = embodia_cli("dataset", "validate", DATASET_ID, "--replay-sample", "2", minari_root=collected)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid (4 episodes checked, 2 replayed exactly, 0 problems)" in result.stdout


def test_validate_finds_a_tampered_episode(collected: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(collected / DATASET_ID / "embodia_episodes", folder)
    path = folder / "episode_0001.npz"
    episode = load_episode(path)
    episode.actions[3, 1] += 0.5
    episode.rewards[5] = np.nan
    path.unlink()
    episode.save(path)
    result = embodia_cli("dataset", "validate", str(folder), "--replay-sample", "4", minari_root=collected)
    assert result.returncode == 1
    assert "episode_0001.npz: rewards has a non-finite value at row 5" in result.stdout
    assert "episode_0001.npz: re-simulated states differ from the recording from step 4" in result.stdout


def test_filter_by_review_file_and_by_success(collected: Path, tmp_path: Path) -> None:
    source = collected / DATASET_ID / "embodia_episodes"
    review = tmp_path / "review.json"
    entries = [
        {"path": "embodia_episodes/episode_0000.npz", "verdict": "accepted"},
        {"path": "embodia_episodes/episode_0002.npz", "verdict": "rejected"},
        {"path": "embodia_episodes/episode_0003.npz", "verdict": "accepted"},
    ]
    document = {"format": "embodia.review", "schema_version": 1, "root": str(source.parent), "episodes": entries}
    review.write_text(json.dumps(document))
    out = tmp_path / "accepted"
    result = embodia_cli(
        "dataset", "filter", str(source), "--review", str(review), "--out", str(out), minari_root=collected
    )
    assert result.returncode == 0, result.stderr
    assert "kept 2 of 4 episodes" in result.stdout
    kept = [load_episode(p).metadata["seed"] for p in sorted(out.glob("episode_*.npz"))]
    assert kept == [0, 3]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 2 and summary["filtered_from"] == str(source)
    again = embodia_cli("dataset", "filter", str(source), "--success", "--out", str(out), minari_root=collected)
    assert again.returncode == 2 and "already holds a recorded run" in again.stderr  # nothing overwritten

    result = embodia_cli(
        "dataset", "filter", DATASET_ID, "--success", "--out", "embodia/binpicking/good-v0", minari_root=collected
    )
    assert result.returncode == 0, result.stderr
    assert (collected / "embodia/binpicking/good-v0/data/main_data.hdf5").is_file()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "no such folder and no local Minari dataset"),
        (lambda d: d, "no episode files (episode_*.npz) in this folder"),
        (lambda d: (d / "x.txt").write_text("x") and d / "x.txt", "is a file, not a dataset"),
    ],
)
def test_missing_empty_and_foreign_inputs_are_one_line_errors(tmp_path: Path, collected: Path, make, message) -> None:
    target = make(tmp_path)
    result = embodia_cli("dataset", "info", str(target), minari_root=collected)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_truncated_episode_and_corrupt_minari_data_name_the_file(collected: Path, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(collected / DATASET_ID / "embodia_episodes", folder)
    victim = folder / "episode_0002.npz"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    result = embodia_cli("dataset", "info", str(folder), minari_root=collected)
    assert result.returncode == 2 and f"{victim}: not a readable episode file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    broken_root = tmp_path / "minari"
    shutil.copytree(collected, broken_root)
    data = broken_root / DATASET_ID / "data" / "main_data.hdf5"
    data.write_bytes(data.read_bytes()[:2000])
    result = embodia_cli("dataset", "info", DATASET_ID, minari_root=broken_root)
    assert result.returncode == 2 and "Minari cannot read this dataset" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_episode_files_never_load_pickles(tmp_path: Path) -> None:
    path = tmp_path / "episode_0000.npz"
    np.savez(path, meta=np.array('{"format": "embodia.episode"}'), actions=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(EpisodeFileError, match=r"episode_0000\.npz"):
        load_episode(path)


def test_collect_refuses_to_overwrite_and_checks_the_id(collected: Path) -> None:
    result = embodia_cli("collect", ENV_ID, "--episodes", "1", "--out", DATASET_ID, "--quiet", minari_root=collected)
    assert result.returncode == 2 and "exists" in result.stderr and "--overwrite" in result.stderr
    result = embodia_cli("collect", ENV_ID, "--episodes", "1", "--out", "no version", minari_root=collected)
    assert result.returncode == 2 and "is not a Minari id" in result.stderr
